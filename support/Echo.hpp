// Input bytes quoted back in an error message. Data files, checkpoints and
// command lines may hold anything — a 5 MB field, ESC sequences that would
// recolour the user's terminal, malformed UTF-8 — and a message must stay
// one readable line: control bytes, DEL and malformed UTF-8 are shown as
// \xNN, and long text keeps its start, cut with "...".
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

#include "support/Utf8.hpp"

namespace nfc {

// At most about `max_bytes` bytes of `text`, every one printable.
inline std::string echoed(std::string_view text, size_t max_bytes = 60) {
  std::string out;
  size_t i = 0;
  while (i < text.size() && out.size() < max_bytes) {
    const auto c = static_cast<unsigned char>(text[i]);
    const int n = utf8_sequence_length(text, i);
    if (n > 1) {
      out.append(text.substr(i, size_t(n)));
      i += size_t(n);
    } else if (n == 1 && c >= 0x20 && c != 0x7F) {
      out += static_cast<char>(c);
      ++i;
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02X", c);
      out += hex;
      ++i;
    }
  }
  if (i < text.size()) out += "...";
  return out;
}

}  // namespace nfc

// UTF-8 validity, byte by byte: source files may hold any bytes, and
// diagnostics must never echo a malformed sequence or a control byte to the
// user's terminal.
#pragma once

#include <cstddef>
#include <string_view>

namespace nfc {

// Length of the well-formed UTF-8 sequence starting at s[i] (1 for ASCII,
// 2..4 otherwise), or 0 if the bytes there are not one: a stray
// continuation byte, an overlong form, a surrogate, a code point beyond
// U+10FFFF or a truncated sequence (RFC 3629, table 3-7 of Unicode).
inline int utf8_sequence_length(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return k < s.size() ? static_cast<unsigned char>(s[k]) : 0u; };
  const unsigned lead = byte(i);
  if (lead < 0x80) return 1;
  int length = 0;
  unsigned lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) lo = 0xA0;  // overlong
    if (lead == 0xED) hi = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) lo = 0x90;  // overlong
    if (lead == 0xF4) hi = 0x8F;  // beyond U+10FFFF
  } else {
    return 0;
  }
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (int k = 2; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  }
  return length;
}

}  // namespace nfc

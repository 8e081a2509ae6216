// Source files compiled into nfc so the C++ source backend can paste them
// into the code it emits (STYLE: helpers of emitted code are real, tested
// files, not strings). The list is in CMakeLists.txt (NFC_EMBEDDED_FILES);
// CMake turns it into a generated table at configure time.
#pragma once

#include <string>
#include <string_view>

#include "support/InternalError.hpp"

namespace nfc {

// The text of an embedded file by its path in the source tree
// ("runtime/Random.hpp"); throws InternalError for a path not embedded.
std::string_view embedded_file(std::string_view path);

// An embedded file split for pasting into another file: its `#include <>`
// lines, and the rest without them and without its `#include "..."` lines
// (nfc headers, which must be embedded files too, pasted before it), without `#pragma once` and
// without the empty lines they leave behind.
struct EmbeddedParts {
  std::string includes;
  std::string body;
};
EmbeddedParts embeddable(std::string_view path);

}  // namespace nfc

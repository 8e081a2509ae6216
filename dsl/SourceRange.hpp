// A place in a .nf source: what every AST node and diagnostic carries.
#pragma once

namespace nfc {

// 1-based line and column of the first character; `length` columns are
// underlined with '~' after the caret (at least 1).
struct SourceRange {
  int line = 0;
  int col = 0;
  int length = 1;
};

}  // namespace nfc

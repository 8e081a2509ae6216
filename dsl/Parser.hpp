// Tokens to syntax tree, with panic-mode recovery: after a syntax error the
// parser skips to the end of the statement (newline, ';' or the '}' closing
// the current block) and goes on, so one run reports several errors.
#pragma once

#include <string_view>

#include "dsl/Ast.hpp"
#include "dsl/Diagnostics.hpp"

namespace nfc {

// Deepest nesting of blocks, parentheses, lists and unary operators.
inline constexpr int kMaxNesting = 256;
// Tallest expression tree (a sum of n terms is n levels tall). Later passes
// walk expressions recursively; this bounds their stack use.
inline constexpr int kMaxExprHeight = 10000;

// Lexes and parses a whole file. Never throws for bad input: every problem is
// reported to `diags` and the tree holds what could be parsed.
ast::File parse(std::string_view source, Diagnostics& diags);

}  // namespace nfc

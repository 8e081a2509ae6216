// The tokens of a .nf source. Keywords are plain identifiers: the parser
// decides by position, which keeps "did you mean 'coupling'?" hints simple.
#pragma once

#include <string>
#include <string_view>

#include "dsl/SourceRange.hpp"

namespace nfc {

enum class TokenKind {
  identifier,  // [A-Za-z_][A-Za-z0-9_]*
  number,      // 2, 0.5, 1e-3, .5
  string,      // "path/to/file.npy": one line, no escapes; text keeps the quotes
  newline,     // statement separator (suppressed inside ( ) and [ ])
  semicolon,   // statement separator
  lparen,
  rparen,
  lbrace,
  rbrace,
  lbracket,
  rbracket,
  comma,
  equals,
  plus,
  minus,
  star,
  slash,
  caret,
  less,           // <
  less_equal,     // <=
  greater,        // >
  greater_equal,  // >=
  equal_equal,    // ==
  not_equal,      // !=
  error,          // a bad character or malformed number, already reported by the lexer
  eof,
};

struct Token {
  TokenKind kind = TokenKind::eof;
  std::string_view text;  // points into the source
  SourceRange range;
};

// How a token is named in "expected ..., found X" messages.
std::string describe(const Token& token);

}  // namespace nfc

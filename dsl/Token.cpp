// Naming tokens in parser messages.
#include "dsl/Token.hpp"

#include <fmt/format.h>

namespace nfc {

std::string describe(const Token& token) {
  switch (token.kind) {
    case TokenKind::identifier:
      return fmt::format("'{}'", token.text);
    case TokenKind::number:
      return "number '" + std::string(token.text) + "'";
    case TokenKind::string:
      return "string " + std::string(token.text);
    case TokenKind::newline:
      return "end of line";
    case TokenKind::eof:
      return "end of file";
    case TokenKind::semicolon:
    case TokenKind::lparen:
    case TokenKind::rparen:
    case TokenKind::lbrace:
    case TokenKind::rbrace:
    case TokenKind::lbracket:
    case TokenKind::rbracket:
    case TokenKind::comma:
    case TokenKind::equals:
    case TokenKind::plus:
    case TokenKind::minus:
    case TokenKind::star:
    case TokenKind::slash:
    case TokenKind::caret:
    case TokenKind::less:
    case TokenKind::less_equal:
    case TokenKind::greater:
    case TokenKind::greater_equal:
    case TokenKind::equal_equal:
    case TokenKind::not_equal:
    case TokenKind::error:
      return fmt::format("'{}'", token.text);
  }
  return "token";
}

}  // namespace nfc

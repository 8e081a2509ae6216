// The lexer: one pass over the bytes, columns counted in bytes from 1.
#include "dsl/Lexer.hpp"

#include <fmt/format.h>

#include "support/Utf8.hpp"

namespace nfc {

namespace {

bool is_ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_ident_char(char c) {
  return is_ident_start(c) || is_digit(c);
}

// Whether a line ending in `kind` must go on (inside brackets).
bool expects_more(TokenKind kind) {
  switch (kind) {
    case TokenKind::comma:
    case TokenKind::lparen:
    case TokenKind::lbracket:
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
      return true;
    case TokenKind::identifier:
    case TokenKind::number:
    case TokenKind::string:
    case TokenKind::newline:
    case TokenKind::semicolon:
    case TokenKind::rparen:
    case TokenKind::rbrace:
    case TokenKind::lbrace:
    case TokenKind::rbracket:
    case TokenKind::error:
    case TokenKind::eof:
      return false;
  }
  return false;
}

class Lexer {
 public:
  Lexer(std::string_view source, Diagnostics& diags) : src_(source), diags_(diags) {}

  std::vector<Token> run() {
    // Past the error limit nothing more is reported, so stop reading: a
    // file of garbage then costs no more than its first errors.
    while (pos_ < src_.size() && !diags_.saturated()) scan_one();
    add_eof();
    return std::move(tokens_);
  }

 private:
  char peek(size_t ahead = 0) const {
    return pos_ + ahead < src_.size() ? src_[pos_ + ahead] : '\0';
  }

  void emit(TokenKind kind, size_t start, int start_col) {
    const auto length = static_cast<int>(pos_ - start);
    tokens_.push_back(Token{kind, src_.substr(start, pos_ - start), {line_, start_col, length}});
  }

  void scan_one();
  void scan_newline();
  bool continues_line() const;
  void scan_number(size_t start, int start_col);
  void scan_string(size_t start, int start_col);
  void scan_unexpected(size_t start, int start_col);
  void punctuation(TokenKind kind, size_t length = 1);
  void add_eof();

  std::string_view src_;
  Diagnostics& diags_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
  size_t line_start_ = 0;
  int line_ = 1;
  // Open ( and [ (see continues_line). Braces reset it, so one missing ')'
  // cannot reach past a block.
  int bracket_depth_ = 0;
};

void Lexer::scan_one() {
  const char c = peek();
  const size_t start = pos_;
  const int col = static_cast<int>(pos_ - line_start_) + 1;
  if (c == '\n') return scan_newline();
  if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
    ++pos_;
    return;
  }
  if (c == '#') {
    while (pos_ < src_.size() && peek() != '\n') ++pos_;
    return;
  }
  if (is_ident_start(c)) {
    while (is_ident_char(peek())) ++pos_;
    return emit(TokenKind::identifier, start, col);
  }
  if (is_digit(c) || (c == '.' && is_digit(peek(1)))) return scan_number(start, col);
  if (c == '"') return scan_string(start, col);
  switch (c) {
    case ';':
      return punctuation(TokenKind::semicolon);
    case '(':
      ++bracket_depth_;
      return punctuation(TokenKind::lparen);
    case '[':
      ++bracket_depth_;
      return punctuation(TokenKind::lbracket);
    case ')':
      if (bracket_depth_ > 0) --bracket_depth_;
      return punctuation(TokenKind::rparen);
    case ']':
      if (bracket_depth_ > 0) --bracket_depth_;
      return punctuation(TokenKind::rbracket);
    case '{':
      bracket_depth_ = 0;
      return punctuation(TokenKind::lbrace);
    case '}':
      bracket_depth_ = 0;
      return punctuation(TokenKind::rbrace);
    case ',':
      return punctuation(TokenKind::comma);
    case '=':
      return peek(1) == '=' ? punctuation(TokenKind::equal_equal, 2)
                            : punctuation(TokenKind::equals);
    case '<':
      return peek(1) == '=' ? punctuation(TokenKind::less_equal, 2) : punctuation(TokenKind::less);
    case '>':
      return peek(1) == '=' ? punctuation(TokenKind::greater_equal, 2)
                            : punctuation(TokenKind::greater);
    case '!':
      if (peek(1) == '=') return punctuation(TokenKind::not_equal, 2);
      return scan_unexpected(start, col);
    case '+':
      return punctuation(TokenKind::plus);
    case '-':
      return punctuation(TokenKind::minus);
    case '*':
      return punctuation(TokenKind::star);
    case '/':
      return punctuation(TokenKind::slash);
    case '^':
      return punctuation(TokenKind::caret);
    default:
      return scan_unexpected(start, col);
  }
}

void Lexer::punctuation(TokenKind kind, size_t length) {
  const size_t start = pos_;
  const int col = static_cast<int>(pos_ - line_start_) + 1;
  pos_ += length;
  emit(kind, start, col);
}

void Lexer::scan_newline() {
  const size_t start = pos_;
  const int col = static_cast<int>(pos_ - line_start_) + 1;
  ++pos_;
  if (!continues_line()) emit(TokenKind::newline, start, col);
  ++line_;
  line_start_ = pos_;
}

// Inside ( ) or [ ], a line break does not end the statement when the line
// obviously goes on: after ',', an opening bracket, '=' or an operator, or
// before a closing bracket. Anywhere else it does, so a forgotten ')' is
// reported at the end of its own line instead of swallowing the next ones.
bool Lexer::continues_line() const {
  if (bracket_depth_ == 0) return false;
  if (!tokens_.empty() && expects_more(tokens_.back().kind)) return true;
  size_t next = pos_;
  while (next < src_.size() && (src_[next] == ' ' || src_[next] == '\t' || src_[next] == '\r')) {
    ++next;
  }
  return next < src_.size() && (src_[next] == ')' || src_[next] == ']');
}

// number := digits [ '.' digits* ] [ exponent ] | '.' digits [ exponent ]
// exponent := ('e' | 'E') [ '+' | '-' ] digits
void Lexer::scan_number(size_t start, int start_col) {
  while (is_digit(peek())) ++pos_;
  if (peek() == '.') {
    ++pos_;
    while (is_digit(peek())) ++pos_;
  }
  bool malformed = false;
  if (peek() == 'e' || peek() == 'E') {
    ++pos_;
    if (peek() == '+' || peek() == '-') ++pos_;
    malformed = !is_digit(peek());
    while (is_digit(peek())) ++pos_;
  }
  // "1.2.3" or "2x": glue the rest on so the whole word is reported once.
  if (peek() == '.' || is_ident_char(peek())) {
    malformed = true;
    while (peek() == '.' || is_ident_char(peek())) ++pos_;
  }
  emit(malformed ? TokenKind::error : TokenKind::number, start, start_col);
  if (malformed) {
    diags_.error(tokens_.back().range, fmt::format("malformed number '{}'", tokens_.back().text));
  }
}

// string := '"' { any byte but '"' and a line break } '"'
// File paths need no escapes; a string left open at the end of its line is
// reported there, not after swallowing the rest of the file.
void Lexer::scan_string(size_t start, int start_col) {
  ++pos_;
  while (pos_ < src_.size() && peek() != '"' && peek() != '\n') ++pos_;
  if (pos_ < src_.size() && peek() == '"') {
    ++pos_;
    return emit(TokenKind::string, start, start_col);
  }
  emit(TokenKind::error, start, start_col);
  diags_.error(SourceRange{line_, start_col, 1},
               "unterminated string: a string ends with '\"' on its own line");
}

// A byte no token starts with. A well-formed UTF-8 sequence is reported as
// one character; any other byte (control bytes, NUL, malformed UTF-8) alone
// and escaped, so the message itself is always printable text.
void Lexer::scan_unexpected(size_t start, int start_col) {
  const auto lead = static_cast<unsigned char>(peek());
  const int length = utf8_sequence_length(src_, pos_);
  const bool printable = length > 1 || (length == 1 && lead >= 0x20 && lead != 0x7F);
  pos_ += length > 0 ? static_cast<size_t>(length) : 1;
  emit(TokenKind::error, start, start_col);
  const std::string shown =
      printable ? std::string(tokens_.back().text) : fmt::format("\\x{:02x}", lead);
  diags_.error(tokens_.back().range, fmt::format("unexpected character '{}'", shown));
}

void Lexer::add_eof() {
  SourceRange at{1, 1, 1};
  for (auto it = tokens_.rbegin(); it != tokens_.rend(); ++it) {
    if (it->kind == TokenKind::newline) continue;
    at = SourceRange{it->range.line, it->range.col + it->range.length, 1};
    break;
  }
  tokens_.push_back(Token{TokenKind::eof, {}, at});
}

}  // namespace

std::vector<Token> lex(std::string_view source, Diagnostics& diags) {
  return Lexer(source, diags).run();
}

}  // namespace nfc

// Recursive-descent parser for .nf files. Each parse function has its
// grammar production above it. Syntax errors are reported, then thrown as
// SyntaxError to the nearest statement loop, which skips ahead and resumes.
#include "dsl/Parser.hpp"

#include <fmt/format.h>

#include <charconv>
#include <functional>
#include <limits>
#include <utility>

#include "dsl/Lexer.hpp"
#include "dsl/Suggest.hpp"

namespace nfc {

namespace {

// Thrown after an error has been reported; unwinds to a recovery point.
struct SyntaxError {};

// An expression with the height of its tree (see kMaxExprHeight).
struct Parsed {
  ExprPtr expr;
  int height = 1;
};

// The range from the start of `a` to the end of `b` (just `a` if they are on
// different lines: printed ranges never span lines).
SourceRange span(SourceRange a, SourceRange b) {
  if (a.line != b.line || b.col < a.col) return a;
  return SourceRange{a.line, a.col, b.col + b.length - a.col};
}

class Parser {
 public:
  Parser(std::vector<Token> tokens, Diagnostics& diags)
      : tokens_(std::move(tokens)), diags_(diags) {}

  ast::File parse_file();

 private:
  // Token access. The last token is always eof; advance() stays on it.
  const Token& peek() const { return tokens_[pos_]; }
  bool at(TokenKind kind) const { return peek().kind == kind; }
  bool at_word(std::string_view word) const {
    return at(TokenKind::identifier) && peek().text == word;
  }
  // `word` followed by a name: the start of `param NAME` or `let NAME`.
  bool at_declaration(std::string_view word) const {
    return at_word(word) && tokens_[pos_ + 1].kind == TokenKind::identifier;
  }
  const Token& advance() {
    const Token& token = tokens_[pos_];
    if (token.kind != TokenKind::eof) ++pos_;
    return token;
  }

  [[noreturn]] void fail(const Token& at, const std::string& message);
  const Token& expect(TokenKind kind, std::string_view what);
  ast::Name expect_name(std::string_view what);
  void skip_separators();
  void end_statement();
  void synchronize();
  void recover();

  // Counts nesting for the duration of a scope; too deep is an error.
  class Nest {
   public:
    Nest(Parser& p, const Token& at) : p_(p) {
      if (++p_.depth_ > kMaxNesting) {
        --p_.depth_;
        p_.fail(at, fmt::format("nesting too deep (limit {})", kMaxNesting));
      }
    }
    ~Nest() { --p_.depth_; }
    Nest(const Nest&) = delete;
    Nest& operator=(const Nest&) = delete;

   private:
    Parser& p_;
  };

  void parse_block(const std::function<void()>& item);
  void parse_item(ast::File& file);
  void parse_transform(ast::File& file);
  void parse_target(ast::File& file);
  void parse_target_item(ast::Target& target);
  void parse_flow(ast::File& file);
  ast::Layer parse_layer();
  ast::Repeat parse_repeat();
  ast::Coupling parse_coupling();
  void parse_coupling_item(ast::Coupling& coupling);
  ast::Permute parse_permute();
  ast::Map parse_map();
  void parse_map_item(ast::Map& map);
  void parse_assignment(std::vector<ast::Assignment>& into, ast::Name target);
  void parse_params(std::vector<ast::Param>& into);
  void parse_param(ast::Param& p);
  void parse_let(std::vector<ast::Let>& into);

  std::vector<ast::Arg> parse_args();
  ast::Value parse_value();
  ast::Value parse_number_value(SourceRange start, bool negative);
  ast::Value parse_list_value();

  Parsed parse_expr();
  Parsed parse_sum();
  Parsed parse_term();
  Parsed parse_unary();
  Parsed parse_power();
  Parsed parse_primary();
  Parsed parse_call(const Token& name);
  Parsed parse_index(const Token& name);
  Parsed make_binary(const Token& op, Parsed lhs, Parsed rhs);

  std::vector<Token> tokens_;
  Diagnostics& diags_;
  size_t pos_ = 0;
  int depth_ = 0;
  bool eof_reported_ = false;  // "unterminated block" once, at the innermost '{'
};

void Parser::fail(const Token& at, const std::string& message) {
  // Error tokens were reported by the lexer; say nothing more about them.
  if (at.kind != TokenKind::error) diags_.error(at.range, message);
  throw SyntaxError{};
}

const Token& Parser::expect(TokenKind kind, std::string_view what) {
  if (!at(kind)) fail(peek(), fmt::format("expected {}, found {}", what, describe(peek())));
  return advance();
}

ast::Name Parser::expect_name(std::string_view what) {
  const Token& token = expect(TokenKind::identifier, what);
  return ast::Name{std::string(token.text), token.range};
}

// sep := newline | ';'
void Parser::skip_separators() {
  while (at(TokenKind::newline) || at(TokenKind::semicolon)) advance();
}

// A statement ends at a separator, or right before '}' or the end of file.
void Parser::end_statement() {
  if (at(TokenKind::newline) || at(TokenKind::semicolon)) {
    advance();
  } else if (!at(TokenKind::rbrace) && !at(TokenKind::eof)) {
    fail(peek(), fmt::format("expected end of statement, found {}", describe(peek())));
  }
}

// Panic mode: skip to just after the next separator, or to the '}' closing
// the current block, skipping nested { } groups whole.
void Parser::synchronize() {
  int nesting = 0;
  for (;;) {
    switch (peek().kind) {
      case TokenKind::eof:
        return;
      case TokenKind::lbrace:
        ++nesting;
        break;
      case TokenKind::rbrace:
        if (nesting == 0) return;
        --nesting;
        break;
      case TokenKind::newline:
      case TokenKind::semicolon:
        if (nesting == 0) {
          advance();
          return;
        }
        break;
      case TokenKind::identifier:
      case TokenKind::number:
      case TokenKind::string:
      case TokenKind::lparen:
      case TokenKind::rparen:
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
        break;
    }
    advance();
  }
}

// After a syntax error: synchronize, or once no more errors would be
// reported, skip to the end. Each error costs an exception, and megabytes of
// broken lines must not cost millions of them.
void Parser::recover() {
  if (diags_.saturated()) {
    pos_ = tokens_.size() - 1;  // the eof token
  } else {
    synchronize();
  }
}

// block<item> := '{' { sep } [ item { sep { sep } item } ] { sep } '}'
// The '{' must be on the line of the statement it belongs to.
void Parser::parse_block(const std::function<void()>& item) {
  const SourceRange open = peek().range;
  Nest nest(*this, peek());
  expect(TokenKind::lbrace, "'{'");
  for (;;) {
    skip_separators();
    if (at(TokenKind::rbrace)) {
      advance();
      return;
    }
    if (at(TokenKind::eof)) {
      if (!eof_reported_) diags_.error(open, "unterminated block: expected '}'");
      eof_reported_ = true;
      return;
    }
    try {
      item();
      end_statement();
    } catch (const SyntaxError&) {
      recover();
    }
  }
}

// file := { sep } { item { sep } } eof
ast::File Parser::parse_file() {
  ast::File file;
  for (;;) {
    skip_separators();
    if (at(TokenKind::eof)) break;
    if (at(TokenKind::rbrace)) {
      diags_.error(advance().range, "unmatched '}'");
      continue;
    }
    try {
      parse_item(file);
      end_statement();
    } catch (const SyntaxError&) {
      recover();
    }
  }
  file.end = peek().range;
  return file;
}

// item := transform | flow | target
void Parser::parse_item(ast::File& file) {
  if (at_word("transform")) {
    parse_transform(file);
  } else if (at_word("flow")) {
    parse_flow(file);
  } else if (at_word("target")) {
    parse_target(file);
  } else if (at(TokenKind::identifier)) {
    fail(peek(), fmt::format("unknown declaration '{}'{}", peek().text,
                             did_you_mean(peek().text, {"transform", "flow", "target"})));
  } else {
    fail(peek(),
         fmt::format("expected 'transform', 'flow' or 'target', found {}", describe(peek())));
  }
}

// target := 'target' NAME [ '(' args ')' ] block<target_item>
void Parser::parse_target(ast::File& file) {
  ast::Target& target = file.targets.emplace_back();
  target.keyword = advance().range;
  target.name = expect_name("a target name after 'target'");
  if (at(TokenKind::lparen)) {
    advance();
    target.args = parse_args();
  }
  target.header_ok = true;
  parse_block([&] { parse_target_item(target); });
}

// target_item := params | 'let' NAME '=' expr | 'data' NAME '=' STRING | NAME '=' expr
void Parser::parse_target_item(ast::Target& target) {
  if (at_word("param")) return parse_params(target.params);
  if (at_declaration("let")) return parse_let(target.lets);
  if (at_declaration("data")) {
    advance();
    ast::Data& d = target.data.emplace_back();
    d.name = expect_name("a table name after 'data'");
    expect(TokenKind::equals, fmt::format("'=' after '{}'", d.name.text));
    if (!at(TokenKind::string))
      fail(peek(), fmt::format("expected a file name in quotes, found {}", describe(peek())));
    const Token& path = advance();
    d.path = std::string(path.text.substr(1, path.text.size() - 2));
    d.path_loc = path.range;
    return;
  }
  parse_assignment(target.defs, expect_name("'logp', 'let', 'data' or 'param'"));
}

// transform := 'transform' NAME '(' NAME ';' NAME { ',' NAME } ')' '=' expr
// Recorded even if it fails to parse, so uses of its name are not reported
// as unknown transforms.
void Parser::parse_transform(ast::File& file) {
  ast::Transform& t = file.transforms.emplace_back();
  t.keyword = advance().range;
  t.name = expect_name("a transform name after 'transform'");
  expect(TokenKind::lparen, "'(' after the transform name");
  t.input = expect_name("the input variable name");
  expect(TokenKind::semicolon, "';' after the input variable name");
  t.params.push_back(expect_name("a parameter name"));
  while (at(TokenKind::comma)) {
    advance();
    t.params.push_back(expect_name("a parameter name"));
  }
  expect(TokenKind::rparen, "',' or ')' after a parameter name");
  expect(TokenKind::equals, "'=' before the transform body");
  t.header_ok = true;
  t.body = parse_expr().expr;
}

// flow := 'flow' NAME '(' args ')' block<params | layer>
void Parser::parse_flow(ast::File& file) {
  ast::Flow& flow = file.flows.emplace_back();
  flow.keyword = advance().range;
  flow.name = expect_name("a flow name after 'flow'");
  expect(TokenKind::lparen, "'(' after the flow name");
  flow.args = parse_args();
  flow.header_ok = true;
  parse_block([&] {
    if (at_word("param")) {
      parse_params(flow.params);
    } else {
      flow.body.push_back(parse_layer());
    }
  });
}

// layer := repeat | coupling | permute | map | 'actnorm'
ast::Layer Parser::parse_layer() {
  if (!at(TokenKind::identifier)) {
    fail(peek(), fmt::format("expected a layer, found {}", describe(peek())));
  }
  if (at_word("param")) {
    fail(peek(),
         "a 'param' declaration cannot be inside 'repeat'; declare it at the top "
         "level of the flow, or inside a map");
  }
  if (at_word("let")) fail(peek(), "'let' is only allowed inside a map block");
  if (at_word("repeat")) return ast::Layer{parse_repeat()};
  if (at_word("coupling") || at_word("maf") || at_word("iaf") || at_word("elementwise") ||
      at_word("linear") || at_word("dequantize"))
    return ast::Layer{parse_coupling()};
  if (at_word("permute")) return ast::Layer{parse_permute()};
  if (at_word("map")) return ast::Layer{parse_map()};
  if (at_word("actnorm")) {
    const ast::ActNorm a{advance().range};
    if (at(TokenKind::lparen) || at(TokenKind::lbrace))
      fail(peek(), "'actnorm' takes no arguments and no block");
    return ast::Layer{a};
  }
  fail(peek(), fmt::format("unknown layer '{}'{}", peek().text,
                           did_you_mean(peek().text,
                                        {"coupling", "maf", "iaf", "elementwise", "linear",
                                         "dequantize", "actnorm", "permute", "map", "repeat"})));
}

// repeat := 'repeat' value block<layer>
ast::Repeat Parser::parse_repeat() {
  ast::Repeat r;
  r.keyword = advance().range;
  r.count = parse_value();
  parse_block([&] { r.body.push_back(parse_layer()); });
  return r;
}

// coupling := ('coupling' | 'maf' | 'iaf' | 'elementwise') NAME [ '(' args ')' ]
//             [ block<coupling_item> ]
//           | ('linear' | 'dequantize') [ '(' args ')' ]
ast::Coupling Parser::parse_coupling() {
  ast::Coupling c;
  c.kind = std::string(peek().text);
  c.keyword = advance().range;
  if (c.kind != "linear" && c.kind != "dequantize")
    c.transform = expect_name(fmt::format("a transform name after '{}'", c.kind));
  if (at(TokenKind::lparen)) {
    advance();
    c.args = parse_args();
  }
  if (at(TokenKind::lbrace)) parse_block([&] { parse_coupling_item(c); });
  return c;
}

// coupling_item := 'net' '=' value | NAME '=' expr
void Parser::parse_coupling_item(ast::Coupling& coupling) {
  if (at_declaration("param")) {
    fail(peek(), fmt::format("a {} block cannot declare parameters (its network provides them); "
                             "declare 'param' at the top level of the flow or inside a map",
                             coupling.kind));
  }
  if (at_declaration("let")) fail(peek(), "'let' is only allowed inside a map block");
  ast::Name target = expect_name("'net = ...' or a parameter rewrite 'P = ...'");
  if (target.text == "net") {
    expect(TokenKind::equals, "'=' after 'net'");
    coupling.nets.push_back(ast::Arg{std::move(target), parse_value()});
    return;
  }
  parse_assignment(coupling.rewrites, std::move(target));
}

// permute := 'permute' value
ast::Permute Parser::parse_permute() {
  ast::Permute p;
  p.keyword = advance().range;
  p.spec = parse_value();
  return p;
}

// map := 'map' block<map_item>
ast::Map Parser::parse_map() {
  ast::Map m;
  m.keyword = advance().range;
  parse_block([&] { parse_map_item(m); });
  return m;
}

// map_item := params | 'let' NAME '=' expr | NAME '=' expr
void Parser::parse_map_item(ast::Map& map) {
  if (at_word("param")) return parse_params(map.params);
  if (at_declaration("let")) return parse_let(map.lets);
  parse_assignment(map.defs, expect_name("an output name like 'z0', 'let' or 'param'"));
}

// params := 'param' param { ',' param }
void Parser::parse_params(std::vector<ast::Param>& into) {
  advance();  // 'param'
  for (;;) {
    ast::Param& p = into.emplace_back();
    p.name = expect_name("a parameter name");
    try {
      parse_param(p);
    } catch (const SyntaxError&) {
      p.broken = true;  // keep the name: its uses are not unknown names
      throw;
    }
    if (!at(TokenKind::comma)) return;
    advance();
  }
}

// param := NAME [ '[' value ']' ] '=' value [ NAME | '(' value ',' value ')' ]
// (called after NAME)
void Parser::parse_param(ast::Param& p) {
  if (at(TokenKind::lbracket)) {
    advance();
    p.has_size = true;
    p.size = parse_value();
    expect(TokenKind::rbracket, "']' after the vector size");
  }
  expect(TokenKind::equals, fmt::format("'=' and an initial value after '{}'", p.name.text));
  p.init = parse_value();
  // (an identifier is never the last token: eof is)
  if (at(TokenKind::identifier) && (tokens_[pos_ + 1].kind == TokenKind::equals ||
                                    tokens_[pos_ + 1].kind == TokenKind::lbracket)) {
    fail(peek(),
         fmt::format("expected ',' between parameter declarations, found {}", describe(peek())));
  }
  if (at(TokenKind::identifier)) {
    p.constraint = ast::Param::Constraint::word;
    const Token& word = advance();
    p.word = ast::Name{std::string(word.text), word.range};
    p.constraint_loc = word.range;
  } else if (at(TokenKind::lparen)) {
    const SourceRange open = advance().range;
    p.constraint = ast::Param::Constraint::interval;
    p.lo = parse_value();
    expect(TokenKind::comma, "',' between the bounds of the interval");
    p.hi = parse_value();
    p.constraint_loc = span(open, expect(TokenKind::rparen, "')' after the interval").range);
  }
}

// let := 'let' NAME '=' expr
void Parser::parse_let(std::vector<ast::Let>& into) {
  advance();  // 'let'
  ast::Name name = expect_name("a name after 'let'");
  expect(TokenKind::equals, fmt::format("'=' after '{}'", name.text));
  ast::Let& let = into.emplace_back(ast::Let{std::move(name), nullptr});
  let.expr = parse_expr().expr;
}

// The '=' expr part of an assignment. A definition whose expression does not
// parse is still recorded (with a null expression): it was written.
void Parser::parse_assignment(std::vector<ast::Assignment>& into, ast::Name target) {
  expect(TokenKind::equals, fmt::format("'=' after '{}'", target.text));
  try {
    ExprPtr expr = parse_expr().expr;
    into.push_back(ast::Assignment{std::move(target), std::move(expr)});
  } catch (const SyntaxError&) {
    into.push_back(ast::Assignment{std::move(target), nullptr});
    throw;
  }
}

// args := [ arg { ',' arg } ] ')'      arg := NAME '=' value
// (called after the opening '(')
std::vector<ast::Arg> Parser::parse_args() {
  std::vector<ast::Arg> args;
  if (at(TokenKind::rparen)) {
    advance();
    return args;
  }
  for (;;) {
    ast::Name key = expect_name("an argument name");
    expect(TokenKind::equals, fmt::format("'=' after '{}'", key.text));
    args.push_back(ast::Arg{std::move(key), parse_value()});
    if (at(TokenKind::rparen)) break;
    expect(TokenKind::comma, "',' or ')' after an argument");
  }
  advance();
  return args;
}

// value := [ '-' ] NUMBER | NAME [ '(' args ')' ] | '[' [ value { ',' value } ] ']'
ast::Value Parser::parse_value() {
  Nest nest(*this, peek());
  if (at(TokenKind::minus)) {
    const SourceRange minus = advance().range;
    if (!at(TokenKind::number)) {
      fail(peek(), fmt::format("expected a number after '-', found {}", describe(peek())));
    }
    return parse_number_value(minus, true);
  }
  if (at(TokenKind::number)) return parse_number_value(peek().range, false);
  if (at(TokenKind::lbracket)) return parse_list_value();
  if (!at(TokenKind::identifier)) {
    fail(peek(), fmt::format("expected a value, found {}", describe(peek())));
  }
  const Token& name = advance();
  ast::Value v;
  v.kind = ast::Value::Kind::name;
  v.loc = name.range;
  v.text = std::string(name.text);
  if (at(TokenKind::lparen)) {
    advance();
    v.kind = ast::Value::Kind::call;
    v.args = parse_args();
    v.loc = span(name.range, tokens_[pos_ - 1].range);
  }
  return v;
}

ast::Value Parser::parse_number_value(SourceRange start, bool negative) {
  const Token& number = advance();
  ast::Value v;
  v.kind = ast::Value::Kind::number;
  v.loc = span(start, number.range);
  v.text = fmt::format("{}{}", negative ? "-" : "", number.text);
  v.is_integer = number.text.find_first_of(".eE") == std::string_view::npos;
  const auto [end, ec] = std::from_chars(v.text.data(), v.text.data() + v.text.size(), v.number);
  if (ec != std::errc() || end != v.text.data() + v.text.size()) {
    diags_.error(v.loc, fmt::format("number '{}' is out of range", v.text));
    v.kind = ast::Value::Kind::error;
  }
  return v;
}

ast::Value Parser::parse_list_value() {
  const SourceRange open = advance().range;
  ast::Value v;
  v.kind = ast::Value::Kind::list;
  if (!at(TokenKind::rbracket)) {
    for (;;) {
      v.items.push_back(parse_value());
      if (at(TokenKind::rbracket)) break;
      expect(TokenKind::comma, "',' or ']' in a list");
    }
  }
  v.loc = span(open, advance().range);
  return v;
}

bool is_comparison(TokenKind kind) {
  switch (kind) {
    case TokenKind::less:
    case TokenKind::less_equal:
    case TokenKind::greater:
    case TokenKind::greater_equal:
    case TokenKind::equal_equal:
    case TokenKind::not_equal:
      return true;
    default:
      return false;
  }
}

// The Expr::op of a comparison token: '<' '>' 'l' (<=) 'g' (>=) '=' (==) '!' (!=).
char comparison_op(TokenKind kind) {
  switch (kind) {
    case TokenKind::less:
      return '<';
    case TokenKind::less_equal:
      return 'l';
    case TokenKind::greater:
      return '>';
    case TokenKind::greater_equal:
      return 'g';
    case TokenKind::equal_equal:
      return '=';
    default:
      return '!';
  }
}

// expr := sum [ ('<' | '<=' | '>' | '>=' | '==' | '!=') sum ]
// Comparisons bind loosest and do not chain. Any expression may parse as
// one; sema allows it only as the condition of where(cond, a, b).
Parsed Parser::parse_expr() {
  Parsed lhs = parse_sum();
  if (!is_comparison(peek().kind)) return lhs;
  const Token& op = advance();
  Parsed rhs = parse_sum();
  if (is_comparison(peek().kind)) {
    fail(peek(), "comparisons do not chain: 'a < b < c' is not allowed");
  }
  Parsed out = make_binary(op, std::move(lhs), std::move(rhs));
  auto e = std::make_shared<Expr>(*out.expr);
  e->kind = Expr::Kind::compare;
  e->op = comparison_op(op.kind);
  out.expr = std::move(e);
  return out;
}

// sum := term { ('+' | '-') term }
Parsed Parser::parse_sum() {
  Parsed lhs = parse_term();
  while (at(TokenKind::plus) || at(TokenKind::minus)) {
    const Token& op = advance();
    lhs = make_binary(op, std::move(lhs), parse_term());
  }
  return lhs;
}

// term := unary { ('*' | '/') unary }
Parsed Parser::parse_term() {
  Parsed lhs = parse_unary();
  while (at(TokenKind::star) || at(TokenKind::slash)) {
    const Token& op = advance();
    lhs = make_binary(op, std::move(lhs), parse_unary());
  }
  return lhs;
}

// unary := '-' unary | power
// Every recursion of the expression grammar passes through here, so this is
// where nesting depth is limited.
Parsed Parser::parse_unary() {
  Nest nest(*this, peek());
  if (!at(TokenKind::minus)) return parse_power();
  const Token& minus = advance();
  Parsed operand = parse_unary();
  auto e = std::make_shared<Expr>();
  e->kind = Expr::Kind::neg;
  e->loc = span(minus.range, operand.expr->loc);
  e->args = {operand.expr};
  return Parsed{std::move(e), operand.height + 1};
}

// power := primary [ '^' unary ]      (right-associative; -x^2 is -(x^2))
Parsed Parser::parse_power() {
  Parsed base = parse_primary();
  if (!at(TokenKind::caret)) return base;
  const Token& op = advance();
  return make_binary(op, std::move(base), parse_unary());
}

// primary := NUMBER | NAME | call | index | '(' expr ')'
Parsed Parser::parse_primary() {
  if (at(TokenKind::number)) {
    const Token& number = advance();
    auto e = std::make_shared<Expr>();
    e->kind = Expr::Kind::number;
    e->loc = number.range;
    const std::string text(number.text);
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), e->value);
    if (ec != std::errc() || end != text.data() + text.size()) {
      fail(number, fmt::format("number '{}' is out of range", text));
    }
    return Parsed{std::move(e), 1};
  }
  if (at(TokenKind::identifier)) {
    const Token& name = advance();
    if (at(TokenKind::lparen)) return parse_call(name);
    if (at(TokenKind::lbracket)) return parse_index(name);
    auto e = std::make_shared<Expr>();
    e->kind = Expr::Kind::name;
    e->loc = name.range;
    e->name = std::string(name.text);
    return Parsed{std::move(e), 1};
  }
  if (at(TokenKind::lparen)) {
    advance();
    Parsed inner = parse_expr();
    expect(TokenKind::rparen, "')'");
    return inner;
  }
  fail(peek(), fmt::format("expected an expression, found {}", describe(peek())));
}

// call := NAME '(' [ expr { ',' expr } ] ')'
// Any number of arguments parses; sema checks the function and its arity.
Parsed Parser::parse_call(const Token& name) {
  advance();  // '('
  auto e = std::make_shared<Expr>();
  e->kind = Expr::Kind::call;
  e->name = std::string(name.text);
  int height = 1;
  if (!at(TokenKind::rparen)) {
    for (;;) {
      Parsed arg = parse_expr();
      height = std::max(height, arg.height + 1);
      e->args.push_back(std::move(arg.expr));
      if (at(TokenKind::rparen)) break;
      expect(TokenKind::comma, "',' or ')' in a function call");
    }
  }
  e->loc = span(name.range, advance().range);
  return Parsed{std::move(e), height};
}

// index := NAME '[' [ '-' ] INT ']'
// (called at '['). Sema checks that NAME is a vector and the index in range.
Parsed Parser::parse_index(const Token& name) {
  advance();  // '['
  const bool negative = at(TokenKind::minus);
  if (negative) advance();
  const Token& number = peek();
  if (!at(TokenKind::number)) {
    fail(number, fmt::format("expected an integer index, found {}", describe(number)));
  }
  advance();
  const std::string text = fmt::format("{}{}", negative ? "-" : "", number.text);
  auto e = std::make_shared<Expr>();
  e->kind = Expr::Kind::index;
  e->name = std::string(name.text);
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), e->value);
  const bool integer = number.text.find_first_of(".eE") == std::string_view::npos;
  if (!integer || ec != std::errc() || end != text.data() + text.size()) {
    // Reported here, not thrown: the rest of the expression is still checked.
    // NaN tells sema the index is already reported.
    diags_.error(number.range, fmt::format("an index must be an integer, found {}", text));
    e->value = std::numeric_limits<double>::quiet_NaN();
  }
  e->loc = span(name.range, expect(TokenKind::rbracket, "']' after the index").range);
  return Parsed{std::move(e), 1};
}

Parsed Parser::make_binary(const Token& op, Parsed lhs, Parsed rhs) {
  const int height = std::max(lhs.height, rhs.height) + 1;
  if (height > kMaxExprHeight) {
    fail(op, fmt::format("expression too deep (limit {} levels)", kMaxExprHeight));
  }
  auto e = std::make_shared<Expr>();
  e->kind = Expr::Kind::binary;
  e->op = op.text[0];
  e->loc = span(lhs.expr->loc, rhs.expr->loc);
  e->args = {std::move(lhs.expr), std::move(rhs.expr)};
  return Parsed{std::move(e), height};
}

}  // namespace

ast::File parse(std::string_view source, Diagnostics& diags) {
  return Parser(lex(source, diags), diags).parse_file();
}

}  // namespace nfc

// The scalar expression AST shared by transforms, coupling rewrites and map
// layers. Immutable once parsed, shared by pointer (repeat blocks reuse it).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "dsl/SourceRange.hpp"

namespace nfc {

struct Expr;
using ExprPtr = std::shared_ptr<const Expr>;

struct Expr {
  enum class Kind {
    number,   // value
    name,     // name
    neg,      // -args[0]
    binary,   // args[0] op args[1], op one of + - * / ^
    call,     // name(args...)
    compare,  // args[0] op args[1], op one of '<' '>' 'l' (<=) 'g' (>=) '=' (==) '!' (!=);
              // only as the condition of where(cond, a, b)
    index,    // name[value]: element `value` (an integer) of a vector parameter
  };
  Kind kind = Kind::number;
  SourceRange loc;
  double value = 0;
  std::string name;
  char op = 0;
  std::vector<ExprPtr> args;
};

// The functions an expression may call, with their arity. The compiler maps
// each to graph ops with evaluation, derivative and (where one exists)
// inverse. where(cond, a, b) is a if cond holds, else b; cond must be a
// comparison. clamp(x, lo, hi) = min(max(x, lo), hi). logaddexp(a, b) =
// log(exp(a) + exp(b)) without overflow. On vectors (targets): sum(v) adds
// its values, dot(u, v) = sum(u * v), and dot(X, v) with a table X is one
// value per row of X.
struct ExprFunction {
  const char* name;
  int arity;
};
inline constexpr ExprFunction kExprFunctions[] = {
    {"exp", 1},   {"log", 1},       {"log1p", 1}, {"expm1", 1},    {"sqrt", 1}, {"tanh", 1},
    {"atanh", 1}, {"sigmoid", 1},   {"logit", 1}, {"softplus", 1}, {"sinh", 1}, {"asinh", 1},
    {"sin", 1},   {"cos", 1},       {"abs", 1},   {"cosh", 1},     {"atan", 1}, {"asin", 1},
    {"acos", 1},  {"acosh", 1},     {"cbrt", 1},  {"log2", 1},     {"erf", 1},  {"erfc", 1},
    {"tan", 1},   {"erfinv", 1},    {"sign", 1},  {"min", 2},      {"max", 2},  {"clamp", 3},
    {"where", 3}, {"logaddexp", 2}, {"sum", 1},   {"dot", 2},
};

}  // namespace nfc

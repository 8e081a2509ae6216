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
    number,  // value
    name,    // name
    neg,     // -args[0]
    binary,  // args[0] op args[1], op one of + - * / ^
    call,    // name(args...)
  };
  Kind kind = Kind::number;
  SourceRange loc;
  double value = 0;
  std::string name;
  char op = 0;
  std::vector<ExprPtr> args;
};

// The functions an expression may call. All take one argument.
// The compiler maps each to a graph op with evaluation, derivative and inverse.
inline constexpr const char* kExprFunctions[] = {
    "exp",   "log",     "log1p", "expm1",    "sqrt", "tanh",
    "atanh", "sigmoid", "logit", "softplus", "sinh", "asinh",
};

}  // namespace nfc

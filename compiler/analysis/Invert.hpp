// Analytic inversion of a transformer: solve expr(wrt) = target for wrt.
#pragma once

#include <string>

#include "compiler/ir/Graph.hpp"

namespace nfc {

struct Inversion {
  NodeId value = -1;    // the solution, or -1
  std::string failure;  // why there is none, for a diagnostic
  bool ok() const { return value >= 0; }
};

// Works when `wrt` occurs once in `expr`, along a chain of invertible
// operations: + - * / by terms free of wrt, neg, exp/log, log1p/expm1,
// tanh/atanh, sigmoid/logit, sinh/asinh, softplus, sqrt, odd integer
// powers. The inverse is
// built by peeling the outermost operation off both sides until `wrt` is
// alone.
Inversion solve_for(Graph& g, NodeId expr, NodeId wrt, NodeId target);

// The inverse of unary `op` applied to `y` (on the op's domain: tan for
// atan, sin for asin), or -1 if `op` has none. On a constant `y` the graph
// folds it to a constant: the inverse at a number.
NodeId invert_unary(Graph& g, Op op, NodeId y);

}  // namespace nfc

// Source expressions (dsl/Expr.hpp) into graph nodes.
#pragma once

#include <string>
#include <unordered_map>

#include "compiler/ir/Graph.hpp"
#include "dsl/Expr.hpp"

namespace nfc {

using NameEnv = std::unordered_map<std::string, NodeId>;

// Every name in `e` must be bound in `env` (sema guarantees it). Names may be
// bound to vectors: the result is then elementwise over them.
NodeId lower_expr(Graph& g, const Expr& e, const NameEnv& env);

// min(a, b) and max(a, b) as select_pos: the derivative is the selected one's.
NodeId min_of(Graph& g, NodeId a, NodeId b);
NodeId max_of(Graph& g, NodeId a, NodeId b);

}  // namespace nfc

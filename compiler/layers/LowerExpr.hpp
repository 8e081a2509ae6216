// Source expressions (dsl/Expr.hpp) into graph nodes.
#pragma once

#include <string>
#include <unordered_map>

#include "compiler/ir/Graph.hpp"
#include "dsl/Expr.hpp"

namespace nfc {

using NameEnv = std::unordered_map<std::string, NodeId>;

// A target's data table of more than one column: a rows x cols matrix
// (row-major) that dot(NAME, v) multiplies.
struct TableNode {
  NodeId matrix = -1;
  int rows = 0, cols = 0;
};
using TableEnv = std::unordered_map<std::string, TableNode>;

// Every name in `e` must be bound in `env` (sema guarantees it). Names may be
// bound to vectors: the result is then elementwise over them. A name in
// `tables` may only be dot's first argument (Target.cpp checks shapes).
NodeId lower_expr(Graph& g, const Expr& e, const NameEnv& env, const TableEnv* tables = nullptr);

// min(a, b) and max(a, b) as select_pos: the derivative is the selected one's.
NodeId min_of(Graph& g, NodeId a, NodeId b);
NodeId max_of(Graph& g, NodeId a, NodeId b);

}  // namespace nfc

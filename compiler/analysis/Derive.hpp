// Symbolic differentiation and substitution on the graph.
#pragma once

#include <unordered_map>

#include "compiler/ir/Graph.hpp"

namespace nfc {

// True if `wrt` occurs in the expression below `expr`.
bool depends_on(const Graph& g, NodeId expr, NodeId wrt);

// d expr / d wrt, lane by lane, for an expression that is elementwise in
// `wrt` (lane k of the result depends only on lane k of wrt): this is the
// Jacobian diagonal of a transformer. Other leaves are held constant.
NodeId derivative(Graph& g, NodeId expr, NodeId wrt);

// d node / d operand for an elementwise node, the other operands held
// constant (the same rule table as derivative(), read one operand at a time:
// what reverse mode needs).
NodeId elementwise_partial(Graph& g, NodeId node, NodeId operand);

// `expr` with every node in `replace` swapped for its image, rebuilt through
// the factory (so the result is simplified and interned like any graph).
NodeId substitute(Graph& g, NodeId expr, const std::unordered_map<NodeId, NodeId>& replace);

}  // namespace nfc

// Symbolic differentiation and substitution on the graph.
#pragma once

#include <unordered_map>

#include "compiler/Graph.hpp"

namespace nfc {

// True if `wrt` occurs in the expression below `expr`.
bool depends_on(const Graph& g, NodeId expr, NodeId wrt);

// d expr / d wrt, lane by lane, for an expression that is elementwise in
// `wrt` (lane k of the result depends only on lane k of wrt): this is the
// Jacobian diagonal of a transformer. Other leaves are held constant.
NodeId derivative(Graph& g, NodeId expr, NodeId wrt);

// `expr` with every node in `replace` swapped for its image, rebuilt through
// the factory (so the result is simplified and interned like any graph).
NodeId substitute(Graph& g, NodeId expr, const std::unordered_map<NodeId, NodeId>& replace);

}  // namespace nfc

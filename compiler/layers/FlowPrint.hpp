// Readable forms of a whole flow (compiler/ir/Print.hpp prints graphs).
#pragma once

#include <ostream>

#include "compiler/layers/FlowGraph.hpp"

namespace nfc {

// The derived rules of every transform, each layer, and every entry point
// built so far (after a stage, those whose outputs later stages build are
// left out).
void print_flow_graph(std::ostream& out, const FlowGraph& fg);

// For `--explain`: how each transformer and map output is inverted
// (closed form, or Newton-bisection and why) and what is proved of its
// monotonicity.
void print_inversions(std::ostream& out, const FlowGraph& fg);

}  // namespace nfc

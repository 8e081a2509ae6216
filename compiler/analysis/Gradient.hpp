// Reverse-mode differentiation as a graph transform: the gradient of a
// per-sample scalar with respect to every parameter tensor.
#pragma once

#include <vector>

#include "compiler/ir/Graph.hpp"
#include "compiler/ir/Program.hpp"

namespace nfc {

// The adjoint of `loss` (a length-1 node) with respect to each parameter
// tensor it reaches, as accumulation terms for a mean_gradient entry point
// (Program.hpp): value terms for tensors used elementwise, outer products
// for matrices used by matvec. Every adjoint is built through the factory,
// so it is simplified and shares subexpressions with the forward graph.
std::vector<Accumulation> parameter_gradient(Graph& g, NodeId loss);

}  // namespace nfc

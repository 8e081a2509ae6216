// Declared parameters of hand-written maps in the graph. A constraint is a
// reparameterisation, not a clamp: the stored tensor is an unconstrained raw
// value and the model sees softplus(raw) (positive) or lo + (hi - lo)
// sigmoid(raw) (interval), so gradients flow everywhere and the constraint
// holds by construction.
#pragma once

#include <string>

#include "compiler/ir/Graph.hpp"
#include "compiler/sema/FlowSpec.hpp"

namespace nfc {

// Adds the raw tensor `tensor_name` (initialised so the constrained value
// equals the declared initial value) and returns the constrained value:
// length 1 for scalars, length n for vectors.
NodeId declare_param(Graph& g, const ParamDecl& p, const std::string& tensor_name);

}  // namespace nfc

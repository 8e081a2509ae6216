// What the compiler derives for one elementwise transformer z = h(x; p)
// (a `.nf` transform or the built-in spline), and how a layer binds its
// parameters to a conditioner's outputs.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "compiler/ir/Graph.hpp"
#include "compiler/sema/FlowSpec.hpp"

namespace nfc {

// What the compiler derived for one elementwise transformer z = h(x; p),
// over placeholder vars (length 1) that layers substitute with vectors.
struct TransformRules {
  std::string name;
  NodeId x = -1, z = -1;       // placeholders for the input and the output
  std::vector<NodeId> params;  // placeholders for the parameters
  NodeId body = -1;            // z as a function of x
  NodeId dzdx = -1;            // the Jacobian diagonal
  NodeId logabs = -1;          // log|dz/dx|
  NodeId inverse = -1;         // x as a function of z (a solve node without a closed form)
  bool analytic_inverse = true;
  std::string inverse_failure;            // why there is no closed form
  bool monotone_by_construction = false;  // built increasing (the spline): nothing to prove
  std::string summary;  // printed instead of formulas too large to print as trees (the spline)
};

// The transformer's parameter placeholders bound to a conditioner's raw
// outputs (one node per parameter, in the order of rules.params), after the
// layer's rewrites, which name the parameters as the placeholders do.
std::unordered_map<NodeId, NodeId> bind_transformer(Graph& g, const TransformRules& rules,
                                                    const std::vector<NodeId>& raw,
                                                    const std::vector<ParamRewrite>& rewrites);

}  // namespace nfc

// The whole flow as one graph: every layer in both directions, the log-dets
// and the log-density, all derived from the layers' forward definitions.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "compiler/ActNorm.hpp"
#include "compiler/FlowSpec.hpp"
#include "compiler/Graph.hpp"
#include "compiler/LayerMaps.hpp"
#include "compiler/Program.hpp"
#include "dsl/Diagnostics.hpp"

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

struct LayerInfo {
  std::string label;
  SourceRange loc;
  int64_t param_count = 0;
  NodeId forward_in = -1, forward_out = -1;
  NodeId forward_logdet = -1;  // log|det f_l'| at forward_in (length 1)
  std::vector<int> order;      // the declared triangular ordering
};

struct FlowGraph {
  std::string name;
  int dim = 0;
  int context_dim = 0;  // conditional flows: entry rows are (x, c), (z, c) of dim + context_dim
  BaseSpec base;
  Graph graph;
  std::deque<TransformRules> transforms;  // only those the flow uses; deque: layers keep pointers
  std::vector<LayerInfo> layers;
  std::vector<InversionReport> inversions;  // per transform and map output, for --explain
  // Entry inputs: data for forward/log_prob, latent for inverse; each row
  // followed by the context when the flow has one.
  NodeId x = -1, z = -1;
  NodeId forward_z = -1, forward_logdet = -1;
  NodeId inverse_x = -1, inverse_logdet = -1;  // logdet = log|det g'(z)| = -log|det f'(x)|
  NodeId log_prob = -1;
  NodeId nll = -1;                     // -log_prob, the per-sample training loss
  std::vector<Accumulation> gradient;  // d nll / d params, by reverse mode
  // ActNorm layers in order: their tensors, and the concatenation of their
  // inputs at x (length actnorms.size() * dim) for data initialisation.
  std::vector<ActNormTensors> actnorms;
  NodeId actnorm_inputs = -1;

  // Entry points "forward" (x -> z, logdet), "inverse" (z -> x, logdet),
  // "log_prob" (x -> log p(x)) and the mean_gradient entry "nll_grad"
  // (batch -> mean NLL and its gradient), in this order; then, if the flow
  // has ActNorm layers, "actnorm_inputs" (x -> actnorm_inputs). The program
  // points into this object.
  Program program() const;
};

// Bounds on the work a model may ask for, each a located error. JIT compile
// time grows with the graph, faster than linearly (O2 runs over one function
// per entry point: ~1 min for 10000 nodes, 100 coupling layers); training
// memory with the parameters (several copies: values, gradient, Adam's
// moments, the best so far).
inline constexpr size_t kMaxGraphNodes = 100000;
inline constexpr int64_t kMaxParams = int64_t{1} << 25;

// Builds, derives and checks (triangularity, invertibility). Returns null
// after reporting to `diags` if the flow cannot be compiled.
std::unique_ptr<FlowGraph> build_flow_graph(const FlowSpec& spec, Diagnostics& diags);

}  // namespace nfc

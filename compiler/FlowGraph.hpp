// The whole flow as one graph: every layer in both directions, the log-dets
// and the log-density, all derived from the layers' forward definitions.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

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
  std::string inverse_failure;  // why there is no closed form
};

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
  BaseDistribution base = BaseDistribution::standard_normal;
  Graph graph;
  std::deque<TransformRules> transforms;  // only those the flow uses; deque: layers keep pointers
  std::vector<LayerInfo> layers;
  std::vector<InversionReport> inversions;  // per transform and map output, for --explain
  NodeId x = -1, z = -1;  // entry inputs: data for forward/log_prob, latent for inverse
  NodeId forward_z = -1, forward_logdet = -1;
  NodeId inverse_x = -1, inverse_logdet = -1;  // logdet = log|det g'(z)| = -log|det f'(x)|
  NodeId log_prob = -1;
  NodeId nll = -1;                     // -log_prob, the per-sample training loss
  std::vector<Accumulation> gradient;  // d nll / d params, by reverse mode

  // Entry points "forward" (x -> z, logdet), "inverse" (z -> x, logdet),
  // "log_prob" (x -> log p(x)) and the mean_gradient entry "nll_grad"
  // (batch -> mean NLL and its gradient). The program points into this object.
  Program program() const;
};

// Bounds on the work a model may ask for, each a located error. JIT compile
// time grows with the graph, faster than linearly (O2 runs over one function
// per entry point: ~1 min for 10000 nodes, 100 coupling layers); training
// memory with the parameters (several copies: values, gradient, Adam's
// moments, the best so far).
inline constexpr size_t kMaxGraphNodes = 50000;
inline constexpr int64_t kMaxParams = int64_t{1} << 25;

// Builds, derives and checks (triangularity, invertibility). Returns null
// after reporting to `diags` if the flow cannot be compiled.
std::unique_ptr<FlowGraph> build_flow_graph(const FlowSpec& spec, Diagnostics& diags);

}  // namespace nfc

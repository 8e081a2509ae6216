// The whole flow as one graph: every layer in both directions, the log-dets
// and the log-density, all derived from the layers' forward definitions.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "compiler/ir/Graph.hpp"
#include "compiler/ir/Program.hpp"
#include "compiler/layers/LayerBuilder.hpp"
#include "compiler/layers/TransformRules.hpp"
#include "compiler/sema/FlowSpec.hpp"
#include "dsl/Diagnostics.hpp"

namespace nfc {

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
  BaseSettings base;
  bool conditional_base = false;  // diag_normal(net = ...): N(0, I) behind the last layer
  DataFormat format;
  Graph graph;
  std::deque<TransformRules> transforms;  // only those the flow uses; deque: layers keep pointers
  std::vector<LayerInfo> layers;
  std::vector<InversionReport> inversions;  // per transform and map output, for --explain
  // Where the density is positive: per data column, an open interval (ℝ for
  // most), from the domain of the first layers that read the data.
  std::vector<Interval> support;
  bool support_known = true;  // false where a formula's domain is no box (a warning said so)
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
  // Variational training (a target selected; -1 otherwise): log p~(x) at
  // x, and per base noise row eps the reverse-KL loss
  //   kl = log q(x) - log p~(x),  x = g(z(eps))
  // (z = eps but for a diag_normal base, reparameterised) with its gradient.
  std::string target;
  NodeId target_log_prob = -1;
  NodeId eps = -1, kl = -1;
  std::vector<Accumulation> kl_gradient;

  // Entry points "forward" (x -> z, logdet), "inverse" (z -> x, logdet),
  // "log_prob" (x -> log p(x)) and the mean_gradient entry "nll_grad"
  // (batch -> mean NLL and its gradient), in this order; then, if the flow
  // has ActNorm layers, "actnorm_inputs" (x -> actnorm_inputs); with a
  // target, "target_log_prob" (x -> log p~(x)) and the mean_gradient entry
  // "kl_grad" (noise batch -> mean kl and its gradient). The program points
  // into this object.
  Program program() const;
};

// Bounds on the work a model may ask for, each a located error. JIT compile
// time grows with the graph, faster than linearly (O2 runs over one function
// per entry point: ~1 min for 10000 nodes, 100 coupling layers); training
// memory with the parameters (several copies: values, gradient, Adam's
// moments, the best so far).
inline constexpr size_t kMaxGraphNodes = 100000;
inline constexpr int64_t kMaxParams = int64_t{1} << 25;

// The flow graph is built in stages, each adding nodes to the one interned
// Graph (driver/Pipeline.cpp runs them as part of the compiler's pipeline
// and can print the graph after each). They run in this order, each once:
//   layers    every layer's forward map, its transformer's rules (dz/dx,
//             log|dz/dx|, inverse) derived on first use, monotonicity and the
//             structural proof per layer; the forward, log_prob and
//             actnorm_inputs outputs
//   gradient  the training loss nll = -log_prob and its parameter gradient
//             by reverse mode (the nll_grad entry point)
//   inverse   the layers' inverses, last layer first (the inverse entry
//             point); the bounds on the whole graph
//   target    with a target selected (select_target), its log-density and
//             the reverse-KL loss through the inverse with its gradient;
//             nothing otherwise
enum class GraphStage { layers, gradient, inverse, target };

class FlowBuilder;

class FlowGraphBuilder {
 public:
  // Builds into `fg`; `spec` and `fg` must outlive the builder.
  FlowGraphBuilder(const FlowSpec& spec, Diagnostics& diags, FlowGraph& fg);
  ~FlowGraphBuilder();
  FlowGraphBuilder(const FlowGraphBuilder&) = delete;
  FlowGraphBuilder& operator=(const FlowGraphBuilder&) = delete;

  // Runs the next stage (an internal error if `stage` is not the next one in
  // the order above, or after a stage failed). False after reporting to
  // `diags` if the flow cannot be compiled; later stages must not run then.
  bool run(GraphStage stage);

  // The target the target stage builds, its problems reported to `diags`
  // (its own file's, when it has one). Both must outlive the builder.
  void select_target(const TargetSpec& target, Diagnostics& diags);

 private:
  std::unique_ptr<FlowBuilder> impl_;
  int done_ = 0;  // stages run
  bool failed_ = false;
};

}  // namespace nfc

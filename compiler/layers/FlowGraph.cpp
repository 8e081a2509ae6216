// Building the flow graph: each layer kind says only how its forward map is
// computed; log-dets come from derivative(), inverses from solve_for(), and
// triangularity from the structural pass, for every kind alike.
#include "compiler/layers/FlowGraph.hpp"

#include <fmt/format.h>

#include <cmath>
#include <functional>
#include <numeric>
#include <optional>

#include "abi/EntryPoints.hpp"
#include "compiler/analysis/Derive.hpp"
#include "compiler/analysis/Domain.hpp"
#include "compiler/analysis/Gradient.hpp"
#include "compiler/analysis/Invert.hpp"
#include "compiler/analysis/Structure.hpp"
#include "compiler/ir/Print.hpp"
#include "compiler/layers/ActNorm.hpp"
#include "compiler/layers/Autoregressive.hpp"
#include "compiler/layers/BaseDensity.hpp"
#include "compiler/layers/Coupling.hpp"
#include "compiler/layers/Elementwise.hpp"
#include "compiler/layers/LinearLayer.hpp"
#include "compiler/layers/LowerExpr.hpp"
#include "compiler/layers/MapLayer.hpp"
#include "compiler/layers/Mlp.hpp"
#include "compiler/layers/Params.hpp"
#include "compiler/layers/Permute.hpp"
#include "compiler/layers/Target.hpp"
#include "compiler/layers/TransformerCache.hpp"
#include "compiler/sema/Permutations.hpp"
#include "support/InternalError.hpp"

namespace nfc {

Program FlowGraph::program() const {
  Program p;
  p.graph = &graph;
  p.entries = {{abi::kForward, x, {forward_z, forward_logdet}},
               {abi::kInverse, z, {inverse_x, inverse_logdet}},
               {abi::kLogProb, x, {log_prob}},
               {abi::kNllGrad, x, {nll}, EntryKind::mean_gradient, gradient}};
  if (!actnorms.empty()) p.entries.push_back({abi::kActNormInputs, x, {actnorm_inputs}});
  if (kl >= 0) {
    p.entries.push_back({abi::kTargetLogProb, x, {target_log_prob}});
    p.entries.push_back({abi::kKlGrad, eps, {kl}, EntryKind::mean_gradient, kl_gradient});
  }
  return p;
}

// The builder behind FlowGraphBuilder: what the stages share (the layers'
// maps, the context placeholder, the base density, the transformers' rules);
// each layer kind is built by its own build_layer overload.
class FlowBuilder {
 public:
  FlowBuilder(const FlowSpec& spec, Diagnostics& diags, FlowGraph& fg)
      : spec_(spec),
        diags_(diags),
        fg_(fg),
        g_(fg.graph),
        transformers_(fg.graph, diags, spec.transforms, fg.transforms) {}

  bool build_layers();
  bool track_ranges(size_t l, const BuiltLayer& built);
  bool image_covers_base();
  bool build_gradient();
  bool build_inverse();
  bool build_target();
  void select_target(const TargetSpec& t, Diagnostics& d) {
    target_ = &t;
    target_diags_ = &d;
  }

 private:
  bool samples_differentiably();
  std::pair<NodeId, NodeId> differentiable_inverse(NodeId z);
  bool within_limits(SourceRange at);
  void declare_flow_params();
  std::optional<BuiltLayer> build(int index);
  bool check_structure(const LayerSpec& layer, const LayerInfo& info, NodeId in, NodeId out);
  NodeId differentiable_log_prob(const std::vector<LayerMaps>& maps);
  NodeId bind_context(NodeId v, NodeId row);
  bool embed_context();

  const FlowSpec& spec_;
  Diagnostics& diags_;
  FlowGraph& fg_;
  Graph& g_;
  TransformerCache transformers_;
  NameEnv flow_params_;  // flow-level parameters and the context values c0.., by name
  // The context (conditional flows; -1 otherwise): a placeholder every layer
  // reads, bound per entry point to the context columns of its input row.
  NodeId context_ = -1;
  // What conditioners read: the context, or its embedding by `context_net`.
  NodeId conditioner_context_ = -1;
  std::optional<BaseDensity> base_;  // declared before the layers
  std::vector<LayerMaps> maps_;      // each layer in both directions, in order
  // Each coordinate between layers (track_ranges): an enclosure of its
  // values, the layer whose output `output` narrowed it last (-1: none),
  // and the data column it still is while only permutations came before.
  struct Coordinate {
    Interval values;
    int narrowed_by = -1, output = -1;
    int column = -1;
    std::optional<NumericImage> shown;  // a tighter image shown numerically, by narrowed_by
  };
  std::vector<Coordinate> coords_;
  const TargetSpec* target_ = nullptr;
  Diagnostics* target_diags_ = nullptr;
};

// Layer `index` built by its kind's builder (LayerBuilder.hpp).
std::optional<BuiltLayer> FlowBuilder::build(int index) {
  const LayerSpec& layer = spec_.layers[static_cast<size_t>(index)];
  LayerEnv env{g_,         diags_,       spec_,         layer,         index, conditioner_context_,
               kMaxParams, flow_params_, transformers_, fg_.inversions};
  auto built = std::visit([&env](const auto& kind) { return build_layer(env, kind); }, layer.kind);
  if (!env.domain_known) fg_.support_known = false;
  return built;
}

bool FlowBuilder::check_structure(const LayerSpec& layer, const LayerInfo& info, NodeId in,
                                  NodeId out) {
  // L U x is not triangular as a whole; each factor is, by construction.
  if (std::holds_alternative<LinearSpec>(layer.kind)) return true;
  const DependencyMatrix deps = dependency_matrix(g_, out, in);
  if (const auto* p = std::get_if<PermuteSpec>(&layer.kind)) {
    if (is_permutation_of(deps, p->perm)) return true;
    throw InternalError("permutation layer does not permute");
  }
  const TriangularityFailure f = check_triangular(deps, info.order);
  if (f.kind == TriangularityFailure::Kind::none) return true;
  const auto* m = std::get_if<MapSpec>(&layer.kind);
  const SourceRange at = m ? m->output_locs[size_t(f.output)] : layer.loc;
  const std::string zj = "z" + std::to_string(f.output), xi = "x" + std::to_string(f.input);
  if (f.kind == TriangularityFailure::Kind::no_diagonal)
    diags_.error(at, "layer is not invertible: " + zj + " does not depend on " + xi);
  else
    diags_.error(at,
                 "layer is not triangular: " + zj + " depends on " + xi + ", which comes after it");
  return false;
}

// log_prob again where a layer's forward map is not differentiable (an IAF's
// loop): the same map from differentiable ops. Shared prefixes are the same
// nodes (interning), so only the layers from the first such one are new.
NodeId FlowBuilder::differentiable_log_prob(const std::vector<LayerMaps>& maps) {
  bool needed = false;
  for (const LayerMaps& m : maps) needed = needed || bool(m.forward_for_gradient);
  if (!needed) return fg_.log_prob;
  NodeId cur = spec_.context_dim > 0 ? g_.gather(fg_.x, iota(spec_.dim)) : fg_.x;
  NodeId logdet = g_.constant(0);
  for (const LayerMaps& m : maps) {
    const auto [out, ld] = m.forward_for_gradient ? m.forward_for_gradient(cur) : m.forward(cur);
    cur = out;
    logdet = g_.binary(Op::add, logdet, ld);
  }
  return g_.binary(Op::add, base_->log_density(cur), logdet);
}

void FlowBuilder::declare_flow_params() {
  for (const ParamDecl& p : spec_.params) flow_params_[p.name] = declare_param(g_, p, p.name);
  for (int k = 0; k < spec_.context_dim; ++k)
    flow_params_["c" + std::to_string(k)] = g_.gather(context_, {k});
}

// Stage "layers": every layer's forward map (its transformer's rules derived
// on first use) with the structural proof on each; then the forward and
// log_prob outputs.

// Between layers each coordinate takes values in an enclosure, narrowed by
// maps and elementwise transforms (exp onto (0, inf)) and widened again by
// layers that compute ℝ (a coupling, a log). A layer defined on part of ℝ
// (logit on (0, 1)) either reads the data directly — then its domain is
// the flow's support — or must receive values inside its domain. What
// reaches the base must cover the base's support: sampling inverts the
// layers at draws from it, and where the image misses them the inverse is
// undefined (`map { z0 = exp(x0) }` under a normal base printed -nan rows
// with exit 0). An enclosure that misses the support proves the image does.
bool FlowBuilder::track_ranges(size_t l, const BuiltLayer& built) {
  const LayerSpec& layer = spec_.layers[l];
  const size_t D = size_t(spec_.dim);
  std::vector<Interval> input(D);
  for (size_t k = 0; k < D; ++k) {
    Coordinate& c = coords_[k];
    const Interval domain = built.domain.empty() ? Interval::all() : built.domain[k];
    if (c.column >= 0) {  // still a column of the data: the domain restricts the support
      fg_.support[size_t(c.column)] = intersect(fg_.support[size_t(c.column)], domain);
      c.values = intersect(c.values, domain);
    } else if (!domain.contains(c.values)) {
      diags_.error(layer.loc,
                   fmt::format("this layer is defined only for x{0} in {1}, but its input x{0} "
                               "takes values in {2}: the layers before it can map data outside "
                               "its domain",
                               k, to_string(domain), to_string(c.values)));
      return false;
    }
    input[k] = c.values;
  }
  if (const auto* p = std::get_if<PermuteSpec>(&layer.kind)) {
    std::vector<Coordinate> permuted;
    for (int from : p->perm) permuted.push_back(coords_[size_t(from)]);
    coords_ = std::move(permuted);
    return true;
  }
  const std::vector<Interval> image =
      built.image ? built.image(input) : std::vector<Interval>(D, Interval::all());
  for (size_t k = 0; k < D; ++k) {
    const std::optional<NumericImage> shown =
        k < built.shown_image.size() ? built.shown_image[k] : std::nullopt;
    coords_[k] = {image[k], image[k].is_all() && !shown ? -1 : int(l), int(k), -1, shown};
  }
  return true;
}

bool FlowBuilder::image_covers_base() {
  const bool uniform = spec_.base.kind == BaseKind::uniform;
  const double lo = uniform ? spec_.base.low : -INFINITY, hi = uniform ? spec_.base.high : INFINITY;
  for (const Coordinate& c : coords_) {
    if (c.narrowed_by < 0) continue;
    // The enclosure proves, the numeric image shows (at some values of the
    // other inputs and the initial parameters, with the note saying which).
    const bool enclosed = !c.values.covers(lo, hi);
    if (!enclosed && (!c.shown || c.shown->values.covers(lo, hi))) continue;
    const Interval& values = enclosed ? c.values : c.shown->values;
    const LayerSpec& layer = spec_.layers[size_t(c.narrowed_by)];
    const bool last = size_t(c.narrowed_by) + 1 == spec_.layers.size();
    const std::string who = last ? "the last layer" : fmt::format("layer {}", c.narrowed_by);
    const std::string output = std::holds_alternative<ElementwiseSpec>(layer.kind)
                                   ? "output"
                                   : fmt::format("z{}", c.output);
    const std::string support = uniform ? fmt::format("[{:g}, {:g}]", lo, hi) : "(-inf, inf)";
    diags_.error(layer.loc, fmt::format("{}'s {} takes values in {} only, which does not "
                                        "cover the base's support {}: samples there have no "
                                        "inverse",
                                        who, output, to_string(values), support));
    if (!enclosed) diags_.note(layer.loc, c.shown->shown_by);
    return false;
  }
  return true;
}

bool FlowBuilder::build_layers() {
  fg_.name = spec_.name;
  fg_.dim = spec_.dim;
  fg_.context_dim = spec_.context_dim;
  fg_.base = spec_.base;
  fg_.conditional_base = spec_.conditional_base;
  fg_.format = spec_.format;
  const int D = spec_.dim, C = spec_.context_dim;
  // Entry rows are (x, c) and (z, c): the ABI stays one input per entry.
  fg_.x = g_.input(0, D + C);
  fg_.z = g_.input(1, D + C);
  if (C > 0) context_ = conditioner_context_ = g_.var(g_.add_var_name("context"), C);
  if (spec_.context_net && !embed_context()) return false;
  declare_flow_params();
  base_.emplace(g_, spec_.base, spec_.dim);
  std::vector<NodeId> actnorm_inputs;
  NodeId cur = C > 0 ? g_.gather(fg_.x, iota(D)) : fg_.x, logdet = g_.constant(0);
  bool ok = true;
  fg_.support.assign(size_t(D), Interval::all());
  for (int k = 0; k < D; ++k) coords_.push_back({Interval::all(), -1, -1, k, std::nullopt});
  for (size_t l = 0; l < spec_.layers.size(); ++l) {
    const LayerSpec& layer = spec_.layers[l];
    LayerInfo info{layer.label, layer.loc, 0, cur, -1, -1, iota(spec_.dim)};
    const int64_t params_before = g_.param_count();
    std::optional<BuiltLayer> built = build(static_cast<int>(l));
    if (built && !built->order.empty()) info.order = built->order;
    if (built && built->actnorm) {
      fg_.actnorms.push_back(*built->actnorm);
      actnorm_inputs.push_back(cur);
    }
    info.param_count = g_.param_count() - params_before;
    if (!within_limits(layer.loc)) return false;
    if (!built) {
      ok = false;
      continue;
    }
    LayerMaps& m = built->maps;
    // The structure is proved on the layer alone, applied to a placeholder
    // input: once applied to the previous layer's output, simplification
    // may route lanes around the layer boundary (gather of a concat).
    const NodeId probe = g_.var(g_.add_var_name("layer" + std::to_string(l) + "_in"), spec_.dim);
    if (!check_structure(layer, info, probe, m.forward(probe).first)) {
      ok = false;
      continue;
    }
    if (!track_ranges(l, *built)) {
      ok = false;
      continue;
    }
    std::tie(info.forward_out, info.forward_logdet) = m.forward(cur);
    cur = info.forward_out;
    logdet = g_.binary(Op::add, logdet, info.forward_logdet);
    fg_.layers.push_back(info);
    maps_.push_back(std::move(m));
  }
  if (!ok || !image_covers_base()) return false;
  fg_.forward_z = bind_context(cur, fg_.x);
  fg_.forward_logdet = bind_context(logdet, fg_.x);
  if (!actnorm_inputs.empty()) fg_.actnorm_inputs = bind_context(g_.concat(actnorm_inputs), fg_.x);
  fg_.log_prob = bind_context(g_.binary(Op::add, base_->log_density(cur), logdet), fg_.x);
  return true;
}

// Stage "gradient": the training loss nll = -log_prob and its parameter
// gradient by reverse mode.
bool FlowBuilder::build_gradient() {
  fg_.nll = g_.unary(Op::neg, bind_context(differentiable_log_prob(maps_), fg_.x));
  fg_.gradient = parameter_gradient(g_, fg_.nll);
  return true;
}

// Stage "inverse": the layers' inverses, last layer first; then the bounds
// on the whole graph.
bool FlowBuilder::build_inverse() {
  const int D = spec_.dim, C = spec_.context_dim;
  NodeId back = C > 0 ? g_.gather(fg_.z, iota(D)) : fg_.z, inv_logdet = g_.constant(0);
  for (auto it = maps_.rbegin(); it != maps_.rend(); ++it) {
    const auto step = it->inverse(back);
    if (!step) return false;
    back = step->first;
    inv_logdet = g_.binary(Op::add, inv_logdet, step->second);
  }
  fg_.inverse_x = bind_context(back, fg_.z);
  fg_.inverse_logdet = bind_context(inv_logdet, fg_.z);
  return within_limits(spec_.loc);
}

// Variational training differentiates the sampling direction (z -> x) and
// the base's draws: a mixture's component choice has no gradient. (A MAF's
// sequential loop is replaced by its per-position graph:
// differentiable_inverse.)
bool FlowBuilder::samples_differentiably() {
  bool ok = true;
  if (spec_.context_dim > 0) {
    diags_.error(spec_.loc,
                 "variational training fits an unconditional flow; this one has a "
                 "context");
    ok = false;
  }
  if (spec_.base.kind == BaseKind::mixture) {
    diags_.error(spec_.loc,
                 "variational training differentiates the base's draws, and a "
                 "mixture's choice of component has no gradient: use base = normal or "
                 "diag_normal");
    ok = false;
  }
  return ok;
}

// x = g(z) and log|det g'(z)| from ops reverse mode can differentiate: each
// layer's inverse, or its per-position graph where the inverse is a loop.
// Interning makes the layers whose inverse is differentiable the nodes the
// inverse stage built.
std::pair<NodeId, NodeId> FlowBuilder::differentiable_inverse(NodeId z) {
  NodeId back = z, logdet = g_.constant(0);
  for (auto it = maps_.rbegin(); it != maps_.rend(); ++it) {
    const std::pair<NodeId, NodeId> step =
        it->inverse_for_gradient ? it->inverse_for_gradient(back) : *it->inverse(back);
    back = step.first;
    logdet = g_.binary(Op::add, logdet, step.second);
  }
  return {back, logdet};
}

// Stage "target": log p~ at x, and the reverse-KL loss at z = z(eps).
bool FlowBuilder::build_target() {
  if (!target_) return true;
  if (!samples_differentiably()) return false;
  const int D = spec_.dim;
  const std::optional<TargetDensity> density =
      build_target_density(g_, *target_, fg_.x, D, *target_diags_);
  if (!density) return false;
  // The flow samples its whole support: the target must be defined there;
  // where the support is narrower, the target's mass outside is never fitted.
  for (int k = 0; k < D; ++k) {
    const Interval& defined = density->domain[size_t(k)];
    const Interval& sampled = fg_.support[size_t(k)];
    const std::string xk = "x" + std::to_string(k);
    if (!defined.contains(sampled)) {
      target_diags_->error(
          target_->loc,
          fmt::format("target '{}' is defined only for {}, but the flow samples "
                      "{}: give the flow that support (a first layer such as "
                      "'elementwise log' makes it (0, inf))",
                      target_->name, describe_domain(xk, defined), describe_domain(xk, sampled)));
      return false;
    }
    if (!(sampled == defined))
      target_diags_->warning(
          target_->loc,
          fmt::format("the flow samples only {}, but target '{}' is defined "
                      "for {}: its mass outside is never fitted, and log Z is "
                      "estimated without it",
                      describe_domain(xk, sampled), target_->name, describe_domain(xk, defined)));
  }
  const NodeId logp = density->logp;
  fg_.target = target_->name;
  fg_.target_log_prob = logp;
  fg_.eps = g_.input(2, D);
  const NodeId z = *base_->reparameterize(fg_.eps);
  const auto [x, inverse_logdet] = differentiable_inverse(z);
  const NodeId log_q = g_.binary(Op::sub, base_->log_density(z), inverse_logdet);
  fg_.kl = g_.binary(Op::sub, log_q, substitute(g_, logp, {{fg_.x, x}}));
  fg_.kl_gradient = parameter_gradient(g_, fg_.kl);
  return within_limits(spec_.loc);
}

// Checked after every layer, so a huge flow stops at the layer that crosses
// a limit instead of being built whole, and once more for the whole graph
// (gradient and inverse included).
bool FlowBuilder::within_limits(SourceRange at) {
  if (g_.param_count() > kMaxParams) {
    // Building stops at the first tensor over the limit: a lower bound.
    diags_.error(at, fmt::format("flow has too many parameters: at least {} (limit {})",
                                 g_.param_count(), kMaxParams));
    return false;
  }
  if (g_.size() > kMaxGraphNodes) {
    diags_.error(at, fmt::format("flow is too large to compile: {} graph nodes (limit {})",
                                 g_.size(), kMaxGraphNodes));
    return false;
  }
  return true;
}

// The context's embedding `context_net.*`, declared before every layer's
// parameters; false (reported by the caller) over the parameter limit.
bool FlowBuilder::embed_context() {
  std::vector<int> widths = spec_.context_net->hidden;
  widths.push_back(spec_.context_net_out);
  const std::vector<DenseLayer> dense =
      declare_dense_layers(g_, "context_net.", spec_.context_dim, widths, kMaxParams);
  if (dense.empty()) {
    within_limits(spec_.loc);  // reports the limit
    return false;
  }
  conditioner_context_ =
      apply_dense_layers(g_, dense, activation_op(spec_.context_net->act), context_);
  return true;
}

// `v` with the context placeholder replaced by the context columns of the
// entry's input row (x, c) or (z, c).
NodeId FlowBuilder::bind_context(NodeId v, NodeId row) {
  if (context_ < 0) return v;
  return substitute(g_, v, {{context_, g_.gather(row, iota(spec_.context_dim, spec_.dim))}});
}

FlowGraphBuilder::FlowGraphBuilder(const FlowSpec& spec, Diagnostics& diags, FlowGraph& fg)
    : impl_(std::make_unique<FlowBuilder>(spec, diags, fg)) {}

FlowGraphBuilder::~FlowGraphBuilder() = default;

void FlowGraphBuilder::select_target(const TargetSpec& target, Diagnostics& diags) {
  impl_->select_target(target, diags);
}

bool FlowGraphBuilder::run(GraphStage stage) {
  internal_check(!failed_ && static_cast<int>(stage) == done_,
                 "flow graph stages run out of order or after a failure");
  bool ok = false;
  switch (stage) {
    case GraphStage::layers:
      ok = impl_->build_layers();
      break;
    case GraphStage::gradient:
      ok = impl_->build_gradient();
      break;
    case GraphStage::inverse:
      ok = impl_->build_inverse();
      break;
    case GraphStage::target:
      ok = impl_->build_target();
      break;
  }
  failed_ = !ok;
  ++done_;
  return ok;
}

}  // namespace nfc

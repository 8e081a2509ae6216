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
#include "compiler/analysis/Gradient.hpp"
#include "compiler/analysis/Invert.hpp"
#include "compiler/analysis/Structure.hpp"
#include "compiler/ir/Print.hpp"
#include "compiler/layers/Autoregressive.hpp"
#include "compiler/layers/BaseDensity.hpp"
#include "compiler/layers/LinearLayer.hpp"
#include "compiler/layers/LowerExpr.hpp"
#include "compiler/layers/MapLayer.hpp"
#include "compiler/layers/Mlp.hpp"
#include "compiler/layers/Params.hpp"
#include "compiler/layers/Spline.hpp"
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
  return p;
}

// The builder behind FlowGraphBuilder: what the stages share (the layers'
// maps, the context placeholder, the base density) and how each layer kind
// is built.
class FlowBuilder {
 public:
  FlowBuilder(const FlowSpec& spec, Diagnostics& diags, FlowGraph& fg)
      : spec_(spec), diags_(diags), fg_(fg), g_(fg.graph) {}

  bool build_layers();
  bool build_gradient();
  bool build_inverse();

 private:
  bool within_limits(SourceRange at);
  const TransformRules* rules_for(const TransformerSpec& t);
  bool derive_rules(const TransformDef& def, TransformRules& r);
  std::optional<LayerMaps> coupling(int index, const CouplingSpec& c);
  void declare_flow_params();
  void check_transform_monotonicity(int index, const TransformRules& rules, NodeId dzdx);
  std::optional<LayerMaps> autoregressive(int index, const AutoregressiveSpec& a);
  std::optional<LayerMaps> elementwise(int index, const ElementwiseSpec& e);
  InversionReport& report_inversion(int index, const TransformRules& rules);
  void report_by_construction(int index, const TransformRules& rules);
  LayerMaps permute(const PermuteSpec& p);
  bool check_structure(const LayerSpec& layer, const LayerInfo& info, NodeId in, NodeId out);
  NodeId sum_lanes(NodeId v, int lanes);
  NodeId differentiable_log_prob(const std::vector<LayerMaps>& maps);
  NodeId bind_context(NodeId v, NodeId row);

  const FlowSpec& spec_;
  Diagnostics& diags_;
  FlowGraph& fg_;
  Graph& g_;
  std::vector<int> rules_index_;  // transform -> index into fg_.transforms, -1 unbuilt, -2 failed
  std::vector<std::pair<SplineSpec, int>> spline_index_;  // splines built, by settings
  NameEnv flow_params_;  // flow-level parameters and the context values c0.., by name
  // The context (conditional flows; -1 otherwise): a placeholder every layer
  // reads, bound per entry point to the context columns of its input row.
  NodeId context_ = -1;
  std::optional<BaseDensity> base_;  // declared before the layers
  std::vector<LayerMaps> maps_;      // each layer in both directions, in order
};

// Sum of a per-lane quantity over `lanes` lanes; a length-1 value stands for
// the same value in every lane.
NodeId FlowBuilder::sum_lanes(NodeId v, int lanes) {
  if (g_.len(v) == 1) return g_.binary(Op::mul, g_.constant(lanes), v);
  return g_.sum(v);
}

bool FlowBuilder::derive_rules(const TransformDef& def, TransformRules& r) {
  r.name = def.name;
  NameEnv env;
  r.x = g_.var(g_.add_var_name(def.input));
  env[def.input] = r.x;
  for (const auto& p : def.params) {
    r.params.push_back(g_.var(g_.add_var_name(p)));
    env[p] = r.params.back();
  }
  r.z = g_.var(g_.add_var_name("z"));
  r.body = lower_expr(g_, *def.body, env);
  r.dzdx = derivative(g_, r.body, r.x);
  if (g_.is_constant(r.dzdx, 0)) {
    diags_.error(def.loc, "transform '" + def.name + "' has a zero derivative in '" + def.input +
                              "' and cannot be inverted");
    return false;
  }
  r.logabs = g_.unary(Op::log, g_.unary(Op::abs, r.dzdx));
  const Inversion inv = solve_for(g_, r.body, r.x, r.z);
  // Without a closed form the inverse is found numerically (Newton-bisection).
  r.analytic_inverse = inv.ok();
  r.inverse_failure = inv.failure;
  r.inverse = inv.ok() ? inv.value : g_.solve(r.z, r.body, r.dzdx, r.x);
  return true;
}

// The derived rules of a layer's transformer, built once per transform (or
// per spline setting) and shared by every layer that uses it.
const TransformRules* FlowBuilder::rules_for(const TransformerSpec& t) {
  if (t.spline) {
    for (const auto& [settings, slot] : spline_index_)
      if (settings == *t.spline) return &fg_.transforms[static_cast<size_t>(slot)];
    spline_index_.emplace_back(*t.spline, static_cast<int>(fg_.transforms.size()));
    fg_.transforms.push_back(spline_rules(g_, *t.spline));
    return &fg_.transforms.back();
  }
  const int transform = t.transform;
  int& slot = rules_index_[static_cast<size_t>(transform)];
  if (slot == -1) {
    TransformRules r;
    if (derive_rules(spec_.transforms[static_cast<size_t>(transform)], r)) {
      slot = static_cast<int>(fg_.transforms.size());
      fg_.transforms.push_back(std::move(r));
    } else {
      slot = -2;
    }
  }
  return slot >= 0 ? &fg_.transforms[static_cast<size_t>(slot)] : nullptr;
}

std::optional<LayerMaps> FlowBuilder::coupling(int index, const CouplingSpec& c) {
  const TransformRules* rules = rules_for(c.transformer);
  if (!rules) return std::nullopt;
  const int n_id = static_cast<int>(c.identity_dims.size());
  const int n_t = static_cast<int>(c.transformed_dims.size());
  const int n_out = n_t * static_cast<int>(rules->params.size());
  // Parameters once per layer, shared by both directions.
  std::vector<int> widths = c.net.hidden;
  widths.push_back(n_out);
  const std::vector<DenseLayer> dense = declare_dense_layers(
      g_, "layer" + std::to_string(index) + ".net.", n_id + spec_.context_dim, widths, kMaxParams);
  // Over the limit, stop before making nodes: a 65536 x 65536 weight matrix
  // would not even fit a node's length. build() reports it.
  if (dense.empty()) return std::nullopt;
  const Op act = activation_op(c.net.act);
  // The conditioner: raw MLP outputs split per transform parameter, then the
  // user's rewrites (e.g. soft clamps) in order. It reads the identity part,
  // then the context.
  auto conditioner = [this, dense, act, rules, n_t, &c](NodeId identity_part) {
    NodeId h = context_ < 0 ? identity_part : g_.concat({identity_part, context_});
    for (size_t k = 0; k < dense.size(); ++k) {
      h = g_.binary(Op::add, g_.matvec(dense[k].w, h, dense[k].rows, dense[k].cols), dense[k].b);
      if (k + 1 < dense.size()) h = g_.unary(act, h);
    }
    std::vector<NodeId> raw;
    for (size_t p = 0; p < rules->params.size(); ++p)
      raw.push_back(g_.gather(h, iota(n_t, int(p) * n_t)));
    return bind_transformer(g_, *rules, raw, c.rewrites);
  };
  if (rules->monotone_by_construction) {
    report_by_construction(index, *rules);
  } else {  // Monotonicity with this layer's rewrites applied: a soft clamp or a
            // softplus can be what makes it provable.
    const NodeId probe = g_.var(g_.add_var_name("layer_input"), spec_.dim);
    const NodeId d = substitute(g_, rules->dzdx, conditioner(g_.gather(probe, c.identity_dims)));
    check_transform_monotonicity(index, *rules, d);
  }
  // out[identity_dims] = identity part, out[transformed_dims] = transformed part
  std::vector<int> order = c.identity_dims;
  order.insert(order.end(), c.transformed_dims.begin(), c.transformed_dims.end());
  const std::vector<int> assemble = inverse_permutation(order);
  LayerMaps maps;
  maps.forward = [=, this](NodeId in) {
    auto bind = conditioner(g_.gather(in, c.identity_dims));
    bind[rules->x] = g_.gather(in, c.transformed_dims);
    const NodeId zt = substitute(g_, rules->body, bind);
    const NodeId ld = sum_lanes(substitute(g_, rules->logabs, bind), n_t);
    return std::pair{g_.gather(g_.concat({g_.gather(in, c.identity_dims), zt}), assemble), ld};
  };
  maps.inverse = [=, this](NodeId in) -> std::optional<std::pair<NodeId, NodeId>> {
    auto bind = conditioner(g_.gather(in, c.identity_dims));
    bind[rules->z] = g_.gather(in, c.transformed_dims);
    const NodeId xt = substitute(g_, rules->inverse, bind);
    bind[rules->x] = xt;
    const NodeId ld = sum_lanes(substitute(g_, rules->logabs, bind), n_t);
    return std::pair{g_.gather(g_.concat({g_.gather(in, c.identity_dims), xt}), assemble),
                     g_.unary(Op::neg, ld)};
  };
  return maps;
}

std::optional<LayerMaps> FlowBuilder::autoregressive(int index, const AutoregressiveSpec& a) {
  const TransformRules* rules = rules_for(a.transformer);
  if (!rules) return std::nullopt;
  // Over the parameter limit nothing is built; build() reports it.
  return build_autoregressive(g_, a, *rules, index, spec_.dim, context_, kMaxParams,
                              [&](NodeId dzdx) {
                                if (rules->monotone_by_construction)
                                  report_by_construction(index, *rules);
                                else
                                  check_transform_monotonicity(index, *rules, dzdx);
                              });
}

std::optional<LayerMaps> FlowBuilder::elementwise(int index, const ElementwiseSpec& e) {
  const TransformRules* rules = rules_for(TransformerSpec{e.transform, std::nullopt});
  if (!rules) return std::nullopt;
  const TransformDef& def = spec_.transforms[static_cast<size_t>(e.transform)];
  const int dim = spec_.dim;
  std::unordered_map<NodeId, NodeId> bind;  // parameters: learnable vectors
  for (size_t p = 0; p < def.params.size(); ++p) {
    const int t = g_.add_param("layer" + std::to_string(index) + "." + def.params[p], {dim});
    g_.set_param_init(t, std::vector<double>(static_cast<size_t>(dim), e.init[p]));
    bind[rules->params[p]] = g_.param(t);
  }
  {
    auto probe = bind;
    probe[rules->x] = g_.var(g_.add_var_name("layer_input"), dim);
    check_transform_monotonicity(index, *rules, substitute(g_, rules->dzdx, probe));
  }
  LayerMaps maps;
  maps.forward = [this, bind, rules, dim](NodeId in) {
    auto b = bind;
    b[rules->x] = in;
    return std::pair{substitute(g_, rules->body, b),
                     sum_lanes(substitute(g_, rules->logabs, b), dim)};
  };
  maps.inverse = [this, bind, rules, dim](NodeId in) -> std::optional<std::pair<NodeId, NodeId>> {
    auto b = bind;
    b[rules->z] = in;
    const NodeId x = substitute(g_, rules->inverse, b);
    b[rules->x] = x;
    return std::pair{x, g_.unary(Op::neg, sum_lanes(substitute(g_, rules->logabs, b), dim))};
  };
  return maps;
}

LayerMaps FlowBuilder::permute(const PermuteSpec& p) {
  const std::vector<int> inv = inverse_permutation(p.perm);
  LayerMaps maps;
  maps.forward = [this, p](NodeId in) { return std::pair{g_.gather(in, p.perm), g_.constant(0)}; };
  maps.inverse = [this, inv](NodeId in) -> std::optional<std::pair<NodeId, NodeId>> {
    return std::pair{g_.gather(in, inv), g_.constant(0)};
  };
  return maps;
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

// The --explain entry of a layer's transformer, its monotonicity unknown.
InversionReport& FlowBuilder::report_inversion(int index, const TransformRules& rules) {
  InversionReport& r = fg_.inversions.emplace_back();
  const LayerSpec& layer = spec_.layers[static_cast<size_t>(index)];
  r.what = fmt::format("layer {} {}", index, layer.label);
  r.loc = layer.loc;
  r.analytic = rules.analytic_inverse;
  if (!rules.summary.empty())
    r.why = rules.summary;
  else
    r.why = rules.analytic_inverse
                ? fmt::format("{} = {}", to_infix(g_, rules.x), to_infix(g_, rules.inverse))
                : rules.inverse_failure + ", so no closed form";
  return r;
}

void FlowBuilder::check_transform_monotonicity(int index, const TransformRules& rules,
                                               NodeId dzdx) {
  InversionReport& r = report_inversion(index, rules);
  r.monotonicity = monotonicity(g_, dzdx);
  if (r.monotonicity == Monotonicity::unproved)
    diags_.warning(r.loc, fmt::format("cannot prove that transform '{}' is strictly monotone "
                                      "here: dz/dx = {} may be 0",
                                      rules.name, to_infix(g_, rules.dzdx)));
}

// A transformer increasing by construction (the spline: positive knot
// derivatives and bin sizes) needs no proof, and its derivative is too
// large an expression for interval arithmetic to bound usefully.
void FlowBuilder::report_by_construction(int index, const TransformRules& rules) {
  InversionReport& r = report_inversion(index, rules);
  r.monotonicity = Monotonicity::increasing;
  r.by_construction = true;
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
bool FlowBuilder::build_layers() {
  fg_.name = spec_.name;
  fg_.dim = spec_.dim;
  fg_.context_dim = spec_.context_dim;
  rules_index_.assign(spec_.transforms.size(), -1);
  fg_.base = spec_.base;
  const int D = spec_.dim, C = spec_.context_dim;
  // Entry rows are (x, c) and (z, c): the ABI stays one input per entry.
  fg_.x = g_.input(0, D + C);
  fg_.z = g_.input(1, D + C);
  if (C > 0) context_ = g_.var(g_.add_var_name("context"), C);
  declare_flow_params();
  base_.emplace(g_, spec_.base, spec_.dim);
  std::vector<NodeId> actnorm_inputs;
  NodeId cur = C > 0 ? g_.gather(fg_.x, iota(D)) : fg_.x, logdet = g_.constant(0);
  bool ok = true;
  for (size_t l = 0; l < spec_.layers.size(); ++l) {
    const LayerSpec& layer = spec_.layers[l];
    LayerInfo info{layer.label, layer.loc, 0, cur, -1, -1, iota(spec_.dim)};
    const int64_t params_before = g_.param_count();
    std::optional<LayerMaps> m;
    if (const auto* c = std::get_if<CouplingSpec>(&layer.kind)) {
      m = coupling(static_cast<int>(l), *c);
      info.order = c->identity_dims;
      info.order.insert(info.order.end(), c->transformed_dims.begin(), c->transformed_dims.end());
    } else if (const auto* a = std::get_if<AutoregressiveSpec>(&layer.kind)) {
      m = autoregressive(static_cast<int>(l), *a);
      info.order = a->order;
    } else if (const auto* e = std::get_if<ElementwiseSpec>(&layer.kind)) {
      m = elementwise(static_cast<int>(l), *e);
    } else if (std::holds_alternative<LinearSpec>(layer.kind)) {
      m = build_linear_layer(g_, static_cast<int>(l), spec_.dim);
    } else if (const auto* p = std::get_if<PermuteSpec>(&layer.kind)) {
      m = permute(*p);
    } else if (std::holds_alternative<ActNormSpec>(layer.kind)) {
      m = build_actnorm(g_, static_cast<int>(l), spec_.dim, fg_.actnorms.emplace_back());
      actnorm_inputs.push_back(cur);
    } else {
      auto built = build_map_layer(g_, diags_, std::get<MapSpec>(layer.kind), spec_.dim,
                                   static_cast<int>(l), flow_params_, fg_.inversions);
      if (built) {
        m = std::move(built->maps);
        info.order = built->order;
      }
    }
    info.param_count = g_.param_count() - params_before;
    if (!within_limits(layer.loc)) return false;
    if (!m) {
      ok = false;
      continue;
    }
    // The structure is proved on the layer alone, applied to a placeholder
    // input: once applied to the previous layer's output, simplification
    // may route lanes around the layer boundary (gather of a concat).
    const NodeId probe = g_.var(g_.add_var_name("layer" + std::to_string(l) + "_in"), spec_.dim);
    if (!check_structure(layer, info, probe, m->forward(probe).first)) {
      ok = false;
      continue;
    }
    std::tie(info.forward_out, info.forward_logdet) = m->forward(cur);
    cur = info.forward_out;
    logdet = g_.binary(Op::add, logdet, info.forward_logdet);
    fg_.layers.push_back(info);
    maps_.push_back(std::move(*m));
  }
  if (!ok) return false;
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

// `v` with the context placeholder replaced by the context columns of the
// entry's input row (x, c) or (z, c).
NodeId FlowBuilder::bind_context(NodeId v, NodeId row) {
  if (context_ < 0) return v;
  return substitute(g_, v, {{context_, g_.gather(row, iota(spec_.context_dim, spec_.dim))}});
}

FlowGraphBuilder::FlowGraphBuilder(const FlowSpec& spec, Diagnostics& diags, FlowGraph& fg)
    : impl_(std::make_unique<FlowBuilder>(spec, diags, fg)) {}

FlowGraphBuilder::~FlowGraphBuilder() = default;

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
  }
  failed_ = !ok;
  ++done_;
  return ok;
}

}  // namespace nfc

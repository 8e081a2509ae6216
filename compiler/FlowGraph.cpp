// Building the flow graph: each layer kind says only how its forward map is
// computed; log-dets come from derivative(), inverses from solve_for(), and
// triangularity from the structural pass, for every kind alike.
#include "compiler/FlowGraph.hpp"

#include <fmt/format.h>

#include <cmath>
#include <functional>
#include <numeric>
#include <optional>

#include "compiler/Derive.hpp"
#include "compiler/Gradient.hpp"
#include "compiler/Invert.hpp"
#include "compiler/LowerExpr.hpp"
#include "compiler/MapLayer.hpp"
#include "compiler/Params.hpp"
#include "compiler/Print.hpp"
#include "compiler/Structure.hpp"

namespace nfc {

Program FlowGraph::program() const {
  Program p;
  p.graph = &graph;
  p.entries = {{"forward", x, {forward_z, forward_logdet}},
               {"inverse", z, {inverse_x, inverse_logdet}},
               {"log_prob", x, {log_prob}},
               {"nll_grad", x, {nll}, EntryKind::mean_gradient, gradient}};
  return p;
}

namespace {

Op activation_op(Activation a) {
  switch (a) {
    case Activation::relu:
      return Op::relu;
    case Activation::tanh:
      return Op::tanh;
    case Activation::elu:
      return Op::elu;
    case Activation::gelu:
      return Op::gelu;
    case Activation::sigmoid:
      return Op::sigmoid;
    case Activation::softplus:
      return Op::softplus;
  }
  return Op::relu;
}

std::vector<int> iota(int n, int start = 0) {
  std::vector<int> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), start);
  return v;
}

std::vector<int> inverse_permutation(const std::vector<int>& perm) {
  std::vector<int> inv(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) inv[static_cast<size_t>(perm[i])] = int(i);
  return inv;
}

class FlowBuilder {
 public:
  FlowBuilder(const FlowSpec& spec, Diagnostics& diags, FlowGraph& fg)
      : spec_(spec), diags_(diags), fg_(fg), g_(fg.graph) {}

  bool build();
  bool within_limits(SourceRange at);

 private:
  const TransformRules* rules_for(int transform);
  bool derive_rules(const TransformDef& def, TransformRules& r);
  std::optional<LayerMaps> coupling(int index, const CouplingSpec& c);
  void declare_flow_params();
  void check_transform_monotonicity(int index, const TransformRules& rules, NodeId dzdx);
  LayerMaps permute(const PermuteSpec& p);
  NodeId base_log_density(NodeId z);
  bool check_structure(const LayerSpec& layer, const LayerInfo& info, NodeId in, NodeId out);
  NodeId sum_lanes(NodeId v, int lanes);

  const FlowSpec& spec_;
  Diagnostics& diags_;
  FlowGraph& fg_;
  Graph& g_;
  std::vector<int> rules_index_;  // transform -> index into fg_.transforms, -1 unbuilt, -2 failed
  NameEnv flow_params_;           // flow-level parameters, by name
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

const TransformRules* FlowBuilder::rules_for(int transform) {
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
  const TransformRules* rules = rules_for(c.transform);
  if (!rules) return std::nullopt;
  const int n_id = static_cast<int>(c.identity_dims.size());
  const int n_t = static_cast<int>(c.transformed_dims.size());
  const int n_out = n_t * static_cast<int>(rules->params.size());
  // Parameters once per layer, shared by both directions. PyTorch's Linear
  // initialisation: uniform in +-1/sqrt(fan_in).
  struct Dense {
    NodeId w, b;
    int rows, cols;
  };
  std::vector<Dense> dense;
  int fan_in = n_id;
  std::vector<int> widths = c.net.hidden;
  widths.push_back(n_out);
  for (size_t k = 0; k < widths.size(); ++k) {
    const std::string prefix = "layer" + std::to_string(index) + ".net.";
    const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
    const int w = g_.add_param(prefix + "w" + std::to_string(k + 1), {widths[k], fan_in}, bound);
    const int b = g_.add_param(prefix + "b" + std::to_string(k + 1), {widths[k]}, bound);
    // Over the limit, stop before making nodes: a 65536 x 65536 weight
    // matrix would not even fit a node's length. build() reports it.
    if (g_.param_count() > kMaxParams) return std::nullopt;
    dense.push_back({g_.param(w), g_.param(b), widths[k], fan_in});
    fan_in = widths[k];
  }
  const Op act = activation_op(c.net.act);
  // The conditioner: raw MLP outputs split per transform parameter, then the
  // user's rewrites (e.g. soft clamps) in order.
  auto conditioner = [this, dense, act, rules, n_t, &c](NodeId identity_part) {
    NodeId h = identity_part;
    for (size_t k = 0; k < dense.size(); ++k) {
      h = g_.binary(Op::add, g_.matvec(dense[k].w, h, dense[k].rows, dense[k].cols), dense[k].b);
      if (k + 1 < dense.size()) h = g_.unary(act, h);
    }
    const auto& def = spec_.transforms[static_cast<size_t>(c.transform)];
    NameEnv values;
    for (size_t p = 0; p < def.params.size(); ++p)
      values[def.params[p]] = g_.gather(h, iota(n_t, int(p) * n_t));
    for (const ParamRewrite& rw : c.rewrites) values[rw.param] = lower_expr(g_, *rw.expr, values);
    std::unordered_map<NodeId, NodeId> bind;
    for (size_t p = 0; p < def.params.size(); ++p)
      bind[rules->params[p]] = values.at(def.params[p]);
    return bind;
  };
  {  // Monotonicity with this layer's rewrites applied: a soft clamp or a
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

void FlowBuilder::check_transform_monotonicity(int index, const TransformRules& rules,
                                               NodeId dzdx) {
  InversionReport r;
  const LayerSpec& layer = spec_.layers[static_cast<size_t>(index)];
  r.what = fmt::format("layer {} {}", index, layer.label);
  r.loc = layer.loc;
  r.analytic = rules.analytic_inverse;
  r.why = rules.analytic_inverse
              ? fmt::format("{} = {}", to_infix(g_, rules.x), to_infix(g_, rules.inverse))
              : rules.inverse_failure + ", so no closed form";
  r.monotonicity = monotonicity(g_, dzdx);
  if (r.monotonicity == Monotonicity::unproved)
    diags_.warning(layer.loc, fmt::format("cannot prove that transform '{}' is strictly monotone "
                                          "here: dz/dx = {} may be 0",
                                          rules.name, to_infix(g_, rules.dzdx)));
  fg_.inversions.push_back(std::move(r));
}

// log q(z): N(0, I) gives -|z|^2 / 2 - D/2 log(2 pi); uniform on [0, 1]^D
// gives 0 inside and -inf outside (z (1 - z) > 0 exactly inside).
NodeId FlowBuilder::base_log_density(NodeId z) {
  switch (spec_.base) {
    case BaseDistribution::standard_normal:
      return (-0.5 * Ex{&g_, g_.sum(g_.binary(Op::mul, z, z))} -
              0.5 * spec_.dim * std::log(2 * M_PI))
          .id;
    case BaseDistribution::uniform: {
      const NodeId inside = g_.binary(Op::mul, z, g_.binary(Op::sub, g_.constant(1), z));
      const NodeId per_dim = g_.select_pos(inside, g_.constant(0), g_.constant(-INFINITY));
      return g_.len(per_dim) == 1 ? per_dim : g_.sum(per_dim);
    }
  }
  throw InternalError("unknown base distribution");
}

void FlowBuilder::declare_flow_params() {
  for (const ParamDecl& p : spec_.params) flow_params_[p.name] = declare_param(g_, p, p.name);
}

bool FlowBuilder::build() {
  fg_.name = spec_.name;
  fg_.dim = spec_.dim;
  rules_index_.assign(spec_.transforms.size(), -1);
  fg_.base = spec_.base;
  fg_.x = g_.input(0, spec_.dim);
  fg_.z = g_.input(1, spec_.dim);
  declare_flow_params();
  std::vector<LayerMaps> maps;
  NodeId cur = fg_.x, logdet = g_.constant(0);
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
    } else if (const auto* p = std::get_if<PermuteSpec>(&layer.kind)) {
      m = permute(*p);
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
    maps.push_back(std::move(*m));
  }
  if (!ok) return false;
  fg_.forward_z = cur;
  fg_.forward_logdet = logdet;
  fg_.log_prob = g_.binary(Op::add, base_log_density(cur), logdet);
  fg_.nll = g_.unary(Op::neg, fg_.log_prob);
  fg_.gradient = parameter_gradient(g_, fg_.nll);
  NodeId back = fg_.z, inv_logdet = g_.constant(0);
  for (auto it = maps.rbegin(); it != maps.rend(); ++it) {
    const auto step = it->inverse(back);
    if (!step) return false;
    back = step->first;
    inv_logdet = g_.binary(Op::add, inv_logdet, step->second);
  }
  fg_.inverse_x = back;
  fg_.inverse_logdet = inv_logdet;
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

}  // namespace

std::unique_ptr<FlowGraph> build_flow_graph(const FlowSpec& spec, Diagnostics& diags) {
  auto fg = std::make_unique<FlowGraph>();
  FlowBuilder builder(spec, diags, *fg);
  if (!builder.build()) return nullptr;
  return fg;
}

}  // namespace nfc

#include "compiler/layers/Elementwise.hpp"

#include <optional>
#include <unordered_map>

#include "compiler/analysis/Derive.hpp"
#include "compiler/analysis/Interval.hpp"
#include "compiler/layers/Mlp.hpp"
#include "compiler/layers/TransformRules.hpp"
#include "compiler/sema/Permutations.hpp"

namespace nfc {

namespace {

using Binding = std::unordered_map<NodeId, NodeId>;

// T's parameters as learnable vectors `layerK.P` of length dim.
Binding learnable_parameters(LayerEnv& env, const TransformRules& rules, const TransformDef& def,
                             const ElementwiseSpec& e) {
  Graph& g = env.g;
  const int dim = env.flow.dim;
  Binding bind;
  for (size_t p = 0; p < def.params.size(); ++p) {
    const int t = g.add_param(env.param_prefix() + def.params[p], {dim});
    g.set_param_init(t, std::vector<double>(static_cast<size_t>(dim), e.init[p]));
    bind[rules.params[p]] = g.param(t);
  }
  return bind;
}

// T's parameters as outputs of the layer's network `layerK.net.*` of the
// (embedded) context: P x dim raw values, parameter by parameter, then the
// block's rewrites. Nothing over the parameter limit.
std::optional<Binding> conditioned_parameters(LayerEnv& env, const TransformRules& rules,
                                              const ElementwiseSpec& e) {
  Graph& g = env.g;
  const int dim = env.flow.dim, count = static_cast<int>(rules.params.size());
  std::vector<int> widths = e.net->hidden;
  widths.push_back(count * dim);
  const std::vector<DenseLayer> dense = declare_dense_layers(
      g, env.param_prefix() + "net.", g.len(env.context), widths, env.max_params);
  if (dense.empty()) return std::nullopt;
  const NodeId h = apply_dense_layers(g, dense, activation_op(e.net->act), env.context);
  std::vector<NodeId> raw;
  for (int p = 0; p < count; ++p) raw.push_back(g.gather(h, iota(dim, p * dim)));
  return bind_transformer(g, rules, raw, e.rewrites);
}

// What the summary and the range analysis know of the layer's outputs with
// learnable vectors for parameters.
void describe_image(Graph& g, const TransformRules* rules, const Binding& bind,
                    const Interval& domain, int dim, BuiltLayer& built) {
  // With the parameters at their initial values, like the sign search.
  const NodeId body_at_init = substitute(g, rules->body, bind);
  built.shown_image.assign(size_t(dim), numeric_image(g, body_at_init, {rules->x}, {},
                                                      {{rules->x, domain}}, "the output", "x"));
  // Lane by lane, the parameters unbounded (they are learnable).
  built.image = [&g, rules, domain](const std::vector<Interval>& input) {
    std::vector<Interval> image;
    for (size_t k = 0; k < input.size(); ++k)
      image.push_back(k > 0 && input[k] == input[k - 1]
                          ? image.back()
                          : enclose(g, rules->body, {{rules->x, intersect(input[k], domain)}}));
    return image;
  };
}

}  // namespace

std::optional<BuiltLayer> build_layer(LayerEnv& env, const ElementwiseSpec& e) {
  const TransformRules* rules = env.rules_for(TransformerSpec{e.transform, std::nullopt});
  if (!rules) return std::nullopt;
  Graph& g = env.g;
  const TransformDef& def = env.flow.transforms[static_cast<size_t>(e.transform)];
  const int dim = env.flow.dim;
  std::optional<Binding> parameters =
      e.net ? conditioned_parameters(env, *rules, e) : learnable_parameters(env, *rules, def, e);
  if (!parameters) return std::nullopt;
  const Binding bind = std::move(*parameters);
  std::optional<Binding> probe;  // made when a proof is needed
  auto bound = [&](NodeId of) {
    if (!probe) {
      probe = bind;
      (*probe)[rules->x] = g.var(g.add_var_name("layer_input"), dim);
    }
    return substitute(g, of, *probe);
  };
  std::optional<Interval> domain = env.check_monotone(
      *rules, [&] { return bound(rules->dzdx); }, [&] { return bound(rules->body); });
  if (!domain) return std::nullopt;
  domain = intersect(*domain, Interval{e.lo, e.hi, true, true});
  BuiltLayer built;
  if (!domain->is_all()) built.domain.assign(size_t(dim), *domain);
  // A network's outputs depend on the context: no image is stated (ℝ).
  if (!e.net) describe_image(g, rules, bind, *domain, dim, built);
  built.maps.forward = [&g, bind, rules, dim](NodeId in) {
    auto b = bind;
    b[rules->x] = in;
    return std::pair{substitute(g, rules->body, b),
                     sum_lanes(g, substitute(g, rules->logabs, b), dim)};
  };
  built.maps.inverse = [&g, bind, rules,
                        dim](NodeId in) -> std::optional<std::pair<NodeId, NodeId>> {
    auto b = bind;
    b[rules->z] = in;
    const NodeId x = substitute(g, rules->inverse, b);
    b[rules->x] = x;
    return std::pair{x, g.unary(Op::neg, sum_lanes(g, substitute(g, rules->logabs, b), dim))};
  };
  return built;
}

}  // namespace nfc

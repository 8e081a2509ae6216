#include "compiler/layers/Elementwise.hpp"

#include <optional>
#include <unordered_map>

#include "compiler/analysis/Derive.hpp"
#include "compiler/analysis/Interval.hpp"
#include "compiler/layers/TransformRules.hpp"

namespace nfc {

std::optional<BuiltLayer> build_layer(LayerEnv& env, const ElementwiseSpec& e) {
  const TransformRules* rules = env.rules_for(TransformerSpec{e.transform, std::nullopt});
  if (!rules) return std::nullopt;
  Graph& g = env.g;
  const TransformDef& def = env.flow.transforms[static_cast<size_t>(e.transform)];
  const int dim = env.flow.dim;
  std::unordered_map<NodeId, NodeId> bind;  // parameters: learnable vectors
  for (size_t p = 0; p < def.params.size(); ++p) {
    const int t = g.add_param(env.param_prefix() + def.params[p], {dim});
    g.set_param_init(t, std::vector<double>(static_cast<size_t>(dim), e.init[p]));
    bind[rules->params[p]] = g.param(t);
  }
  std::optional<std::unordered_map<NodeId, NodeId>> probe;  // made when a proof is needed
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
  // With the parameters at their initial values, like the sign search.
  const NodeId body_at_init = substitute(g, rules->body, bind);
  built.shown_image.assign(size_t(dim), numeric_image(g, body_at_init, {rules->x}, {},
                                                      {{rules->x, *domain}}, "the output", "x"));
  // Lane by lane, the parameters unbounded (they are learnable).
  built.image = [&g, rules, domain = *domain](const std::vector<Interval>& input) {
    std::vector<Interval> image;
    for (size_t k = 0; k < input.size(); ++k)
      image.push_back(k > 0 && input[k] == input[k - 1]
                          ? image.back()
                          : enclose(g, rules->body, {{rules->x, intersect(input[k], domain)}}));
    return image;
  };
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

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
  const bool monotone = env.check_monotone(
      *rules, [&] { return bound(rules->dzdx); }, [&] { return bound(rules->body); });
  if (!monotone) return std::nullopt;
  BuiltLayer built;
  built.image = {enclose(g, rules->body)};  // x and the parameters unbounded
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

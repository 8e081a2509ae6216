#include "compiler/layers/Coupling.hpp"

#include "compiler/analysis/Derive.hpp"
#include "compiler/layers/Mlp.hpp"
#include "compiler/layers/TransformRules.hpp"
#include "compiler/sema/Permutations.hpp"

namespace nfc {

std::optional<BuiltLayer> build_layer(LayerEnv& env, const CouplingSpec& c) {
  const TransformRules* rules = env.rules_for(c.transformer);
  if (!rules) return std::nullopt;
  Graph& g = env.g;
  const NodeId context = env.context;
  const int n_id = static_cast<int>(c.identity_dims.size());
  const int n_t = static_cast<int>(c.transformed_dims.size());
  const int n_out = n_t * static_cast<int>(rules->params.size());
  // Parameters once per layer, shared by both directions.
  std::vector<int> widths = c.net.hidden;
  widths.push_back(n_out);
  const std::vector<DenseLayer> dense =
      declare_dense_layers(g, env.param_prefix() + "net.",
                           n_id + (context < 0 ? 0 : g.len(context)), widths, env.max_params);
  // Over the limit, stop before making nodes: a 65536 x 65536 weight matrix
  // would not even fit a node's length. The flow builder reports it.
  if (dense.empty()) return std::nullopt;
  const Op act = activation_op(c.net.act);
  // The conditioner: raw MLP outputs split per transform parameter, then the
  // user's rewrites (e.g. soft clamps) in order. It reads the identity part,
  // then the context.
  auto conditioner = [&g, context, dense, act, rules, n_t, &c](NodeId identity_part) {
    const NodeId h = apply_dense_layers(
        g, dense, act, context < 0 ? identity_part : g.concat({identity_part, context}));
    std::vector<NodeId> raw;
    for (size_t p = 0; p < rules->params.size(); ++p)
      raw.push_back(g.gather(h, iota(n_t, int(p) * n_t)));
    return bind_transformer(g, *rules, raw, c.rewrites);
  };
  // Monotonicity with this layer's rewrites applied: a soft clamp or a
  // softplus can be what makes it provable.
  // The probe is made only when a proof is needed: a new var renumbers
  // the graph's later nodes, and with them the emitted code's order.
  NodeId probe = -1;
  auto bound = [&](NodeId of) {
    if (probe < 0) probe = g.var(g.add_var_name("layer_input"), env.flow.dim);
    return substitute(g, of, conditioner(g.gather(probe, c.identity_dims)));
  };
  const std::optional<Interval> domain = env.check_monotone(
      *rules, [&] { return bound(rules->dzdx); }, [&] { return bound(rules->body); });
  if (!domain) return std::nullopt;
  // out[identity_dims] = identity part, out[transformed_dims] = transformed part
  BuiltLayer built;
  if (!domain->is_all()) {
    built.domain.assign(size_t(env.flow.dim), Interval::all());
    for (int k : c.transformed_dims) built.domain[size_t(k)] = *domain;
  }
  built.order = c.identity_dims;
  built.order.insert(built.order.end(), c.transformed_dims.begin(), c.transformed_dims.end());
  const std::vector<int> assemble = inverse_permutation(built.order);
  built.maps.forward = [=, &g](NodeId in) {
    auto bind = conditioner(g.gather(in, c.identity_dims));
    bind[rules->x] = g.gather(in, c.transformed_dims);
    const NodeId zt = substitute(g, rules->body, bind);
    const NodeId ld = sum_lanes(g, substitute(g, rules->logabs, bind), n_t);
    return std::pair{g.gather(g.concat({g.gather(in, c.identity_dims), zt}), assemble), ld};
  };
  built.maps.inverse = [=, &g](NodeId in) -> std::optional<std::pair<NodeId, NodeId>> {
    auto bind = conditioner(g.gather(in, c.identity_dims));
    bind[rules->z] = g.gather(in, c.transformed_dims);
    const NodeId xt = substitute(g, rules->inverse, bind);
    bind[rules->x] = xt;
    const NodeId ld = sum_lanes(g, substitute(g, rules->logabs, bind), n_t);
    return std::pair{g.gather(g.concat({g.gather(in, c.identity_dims), xt}), assemble),
                     g.unary(Op::neg, ld)};
  };
  return built;
}

}  // namespace nfc

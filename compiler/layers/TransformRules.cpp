// Binding a transformer's parameter placeholders to a layer's values.
#include "compiler/layers/TransformRules.hpp"

#include "compiler/layers/LowerExpr.hpp"

namespace nfc {

std::unordered_map<NodeId, NodeId> bind_transformer(Graph& g, const TransformRules& rules,
                                                    const std::vector<NodeId>& raw,
                                                    const std::vector<ParamRewrite>& rewrites) {
  // Rewrites name the parameters as the placeholders do.
  std::vector<std::string> names;
  for (NodeId p : rules.params) names.push_back(g.var_name(g.node(p).index));
  NameEnv values;
  for (size_t p = 0; p < names.size(); ++p) values[names[p]] = raw.at(p);
  for (const ParamRewrite& rw : rewrites) values[rw.param] = lower_expr(g, *rw.expr, values);
  std::unordered_map<NodeId, NodeId> bind;
  for (size_t p = 0; p < names.size(); ++p) bind[rules.params[p]] = values.at(names[p]);
  return bind;
}

}  // namespace nfc

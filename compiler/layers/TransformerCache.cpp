#include "compiler/layers/TransformerCache.hpp"

#include "compiler/analysis/Derive.hpp"
#include "compiler/analysis/Invert.hpp"
#include "compiler/layers/LowerExpr.hpp"
#include "compiler/layers/Spline.hpp"

namespace nfc {

TransformerCache::TransformerCache(Graph& g, Diagnostics& diags,
                                   const std::vector<TransformDef>& defs,
                                   std::deque<TransformRules>& store)
    : g_(g), diags_(diags), defs_(defs), store_(store), index_(defs.size(), -1) {}

bool TransformerCache::derive(const TransformDef& def, TransformRules& r) {
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

const TransformRules* TransformerCache::rules_for(const TransformerSpec& t) {
  if (t.spline) {
    for (const auto& [settings, slot] : spline_index_)
      if (settings == *t.spline) return &store_[static_cast<size_t>(slot)];
    spline_index_.emplace_back(*t.spline, static_cast<int>(store_.size()));
    store_.push_back(spline_rules(g_, *t.spline));
    return &store_.back();
  }
  int& slot = index_[static_cast<size_t>(t.transform)];
  if (slot == -1) {
    TransformRules r;
    if (derive(defs_[static_cast<size_t>(t.transform)], r)) {
      slot = static_cast<int>(store_.size());
      store_.push_back(std::move(r));
    } else {
      slot = -2;
    }
  }
  return slot >= 0 ? &store_[static_cast<size_t>(slot)] : nullptr;
}

}  // namespace nfc

#include "compiler/layers/LayerBuilder.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "compiler/analysis/Domain.hpp"
#include "compiler/analysis/Interval.hpp"
#include "compiler/analysis/ParamRanges.hpp"
#include "compiler/analysis/SignChange.hpp"
#include "compiler/ir/Print.hpp"
#include "compiler/ir/Program.hpp"
#include "compiler/layers/TransformerCache.hpp"

namespace nfc {

const TransformRules* LayerEnv::rules_for(const TransformerSpec& t) {
  return transformers.rules_for(t);
}

namespace {

// The transformer's domain in its input x; ℝ (with a warning) where it is
// no interval nfc can state, nothing (after an error) where it is empty.
std::optional<Interval> transformer_domain(LayerEnv& env, const TransformRules& rules) {
  const DomainInference domain = infer_domain(env.g, {rules.body});
  if (domain.empty >= 0) {
    env.diags.error(env.layer.loc, fmt::format("transform '{}' is defined for no value of its "
                                               "input: the domains of its functions do not overlap",
                                               rules.name));
    return std::nullopt;
  }
  if (domain.undetermined >= 0) {
    env.domain_known = false;
    const Node& n = env.g.node(domain.undetermined);
    env.diags.warning(env.layer.loc,
                      fmt::format("cannot tell where transform '{}' is defined: the argument of "
                                  "{}, {}, may leave {}; inputs there give NaN",
                                  rules.name, op_spelling(n.op), to_infix(env.g, n.args[0]),
                                  to_string(op_domain(env.g, n))));
  }
  const auto it = domain.of_var.find(rules.x);
  return it == domain.of_var.end() ? Interval::all() : it->second;
}

}  // namespace

std::optional<Interval> LayerEnv::check_monotone(const TransformRules& rules,
                                                 const std::function<NodeId()>& dzdx,
                                                 const std::function<NodeId()>& body) {
  InversionReport& r = inversions.emplace_back();
  r.what = fmt::format("layer {} {}", index, layer.label);
  r.loc = layer.loc;
  r.analytic = rules.analytic_inverse;
  if (!rules.summary.empty())
    r.why = rules.summary;
  else
    r.why = rules.analytic_inverse
                ? fmt::format("{} = {}", to_infix(g, rules.x), to_infix(g, rules.inverse))
                : rules.inverse_failure + ", so no closed form";
  // A transformer increasing by construction (the spline: positive knot
  // derivatives and bin sizes) needs no proof, and its derivative is too
  // large an expression for interval arithmetic to bound usefully.
  if (rules.monotone_by_construction) {
    r.monotonicity = Monotonicity::increasing;
    r.by_construction = true;
    return Interval::all();
  }
  const std::optional<Interval> domain = transformer_domain(*this, rules);
  if (!domain) return std::nullopt;
  if (!domain->is_all()) r.domain = describe_domain("x", *domain);
  const NodeId d = dzdx();
  // The layer's input, in every lane: the transformer's x itself, or the
  // probe a layer put in its place (named layer_input); other vars (a
  // conditional flow's context) are unbounded.
  auto is_input = [&](NodeId v) {
    return v == rules.x || g.var_name(g.node(v).index) == "layer_input";
  };
  std::unordered_map<NodeId, Interval> on_domain;
  for (NodeId v : vars_of(g, d))
    if (is_input(v)) on_domain[v] = *domain;
  r.monotonicity = monotonicity(g, d, on_domain);
  if (r.monotonicity == Monotonicity::unproved) {
    const RangedProof held = prove_keeping_ranges(g, d, on_domain);
    if (held.verdict != Monotonicity::unproved) {
      r.monotonicity = held.verdict;
      r.condition = keep_ranges(g, held, r.what);
    }
  }
  // The layer's input moves in all its lanes at once; parameters stay at
  // their initial values; a net's output is undecidable, so in a coupling
  // only a derivative the net does not enter can be decided.
  // (body() makes a coupling's probe: only when it is needed.)
  const bool may_jump = std::ranges::any_of(topological_order(g, {rules.body}), [&](NodeId id) {
    return g.node(id).op == Op::sign || g.node(id).op == Op::select_pos;
  });
  const bool unproved = r.monotonicity == Monotonicity::unproved;
  const NodeId z = body && (unproved || may_jump) ? body() : -1;
  std::vector<NodeId> inputs = vars_of(g, d);  // the layer's input, in every lane
  if (z >= 0 && may_jump) {  // a jump is invisible to the derivative, proved or not
    std::vector<NodeId> z_inputs;
    for (NodeId v : vars_of(g, z))
      if (is_input(v)) z_inputs.push_back(v);
    if (const auto w = find_jump(g, z, z_inputs, {}, on_domain)) {
      diags.error(r.loc, fmt::format("transform '{}' is not a bijection here: {}", rules.name,
                                     jump_message(*w, "z", "x")));
      return std::nullopt;
    }
  }
  if (r.monotonicity != Monotonicity::unproved) return domain;
  if (const auto w =
          z < 0 ? std::nullopt : find_sign_change(g, z, d, inputs, {}, false, on_domain)) {
    diags.error(r.loc, fmt::format("transform '{}' is not a bijection here: {}", rules.name,
                                   not_monotone_message(*w, "z", "x", "dz/dx")));
    return std::nullopt;
  }
  diags.warning(r.loc, fmt::format("cannot prove that transform '{}' is strictly monotone "
                                   "here: dz/dx = {} may be 0",
                                   rules.name, to_infix(g, rules.dzdx)));
  return domain;
}

}  // namespace nfc

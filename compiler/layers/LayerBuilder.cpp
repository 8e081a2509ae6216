#include "compiler/layers/LayerBuilder.hpp"

#include <fmt/format.h>

#include "compiler/analysis/Interval.hpp"
#include "compiler/analysis/SignChange.hpp"
#include "compiler/ir/Print.hpp"
#include "compiler/layers/TransformerCache.hpp"

namespace nfc {

const TransformRules* LayerEnv::rules_for(const TransformerSpec& t) {
  return transformers.rules_for(t);
}

bool LayerEnv::check_monotone(const TransformRules& rules, const std::function<NodeId()>& dzdx,
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
    return true;
  }
  const NodeId d = dzdx();
  r.monotonicity = monotonicity(g, d);
  if (r.monotonicity != Monotonicity::unproved) return true;
  // The layer's input moves in all its lanes at once; parameters stay at
  // their initial values; a net's output is undecidable, so in a coupling
  // only a derivative the net does not enter can be decided.
  const NodeId z = body ? body() : -1;
  std::vector<NodeId> inputs = vars_of(g, d);  // the layer's input, in every lane
  if (const auto w = z < 0 ? std::nullopt : find_sign_change(g, z, d, inputs, {}, false)) {
    diags.error(r.loc, fmt::format("transform '{}' is not a bijection here: {}", rules.name,
                                   not_monotone_message(*w, "z", "x", "dz/dx")));
    return false;
  }
  diags.warning(r.loc, fmt::format("cannot prove that transform '{}' is strictly monotone "
                                   "here: dz/dx = {} may be 0",
                                   rules.name, to_infix(g, rules.dzdx)));
  return true;
}

}  // namespace nfc

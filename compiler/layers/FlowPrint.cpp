// Printing a whole flow for people: its derived rules, layers and entry
// points (`nfc compile --dump=graph`), and how each transformer is inverted
// (`--explain`).
#include "compiler/layers/FlowPrint.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "compiler/ir/Print.hpp"

namespace nfc {

void print_flow_graph(std::ostream& out, const FlowGraph& fg) {
  const Graph& g = fg.graph;
  for (const TransformRules& r : fg.transforms) {
    std::vector<std::string> params;
    for (NodeId p : r.params) params.push_back(to_infix(g, p));
    out << fmt::format("transform {}({}; {})\n", r.name, to_infix(g, r.x), fmt::join(params, ", "));
    if (!r.summary.empty()) {  // shared subexpressions: as trees, exponential in the bins
      out << "  " << r.summary << "\n";
      continue;
    }
    out << fmt::format("  z          = {}\n", to_infix(g, r.body));
    out << fmt::format("  dz/dx      = {}\n", to_infix(g, r.dzdx));
    out << fmt::format("  log|dz/dx| = {}\n", to_infix(g, r.logabs));
    out << fmt::format("  inverse: x = {}\n", to_infix(g, r.inverse));
  }
  for (size_t l = 0; l < fg.layers.size(); ++l) {
    const LayerInfo& info = fg.layers[l];
    out << fmt::format("layer {}: {}  order {}  params {}\n", l, info.label,
                       fmt::format("[{}]", fmt::join(info.order, ", ")), info.param_count);
  }
  for (const EntryPoint& e : fg.program().entries) {
    // Between stages (--dump=graph:STAGE) later stages' outputs are still -1.
    const bool built = std::ranges::all_of(e.outputs, [](NodeId o) { return o >= 0; });
    if (built) print_listing(out, g, e);
  }
}

namespace {

const char* monotonicity_text(Monotonicity m) {
  switch (m) {
    case Monotonicity::increasing:
      return "increasing (dz/dx > 0 proved)";
    case Monotonicity::decreasing:
      return "decreasing (dz/dx < 0 proved)";
    case Monotonicity::unproved:
      return "monotonicity not proved (see the warning)";
    case Monotonicity::constant_zero:
      return "dz/dx is zero";
  }
  return "";
}

}  // namespace

void print_inversions(std::ostream& out, const FlowGraph& fg) {
  out << "inverses and monotonicity:\n";
  for (const InversionReport& r : fg.inversions) {
    const std::string method =
        r.analytic ? "closed form: " + r.why : "Newton-bisection at run time (" + r.why + ")";
    std::string on = r.domain.empty() ? "" : " on " + r.domain;
    if (!r.condition.empty()) on += " " + r.condition;
    out << fmt::format(
        "  {:<26} {}\n  {:<26} {}{}\n", r.what, method, "",
        r.by_construction ? "increasing (by construction)" : monotonicity_text(r.monotonicity), on);
  }
}

}  // namespace nfc

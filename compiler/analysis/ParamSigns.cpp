#include "compiler/analysis/ParamSigns.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "compiler/ir/Program.hpp"

namespace nfc {

SignedProof prove_keeping_signs(const Graph& g, NodeId d,
                                std::unordered_map<NodeId, Interval> leaves) {
  // Parameter nodes with declared initial values of one strict sign (a
  // net's weights are drawn at random: never held).
  std::vector<std::pair<NodeId, int>> candidates;
  for (NodeId id : topological_order(g, {d})) {
    const Node& n = g.node(id);
    if (n.op != Op::param || leaves.contains(id)) continue;
    const std::vector<double>& init = g.params()[size_t(n.index)].init;
    if (init.empty()) continue;
    const bool positive = std::ranges::all_of(init, [](double v) { return v > 0; });
    const bool negative = std::ranges::all_of(init, [](double v) { return v < 0; });
    if (positive || negative) candidates.push_back({id, positive ? 1 : -1});
  }
  auto held = [](int sign) {
    return sign > 0 ? Interval{0, INFINITY, true, true} : Interval{-INFINITY, 0, true, true};
  };
  for (const auto& [id, sign] : candidates) leaves[id] = held(sign);
  SignedProof proof;
  proof.verdict = monotonicity(g, d, leaves);
  if (proof.verdict == Monotonicity::unproved || proof.verdict == Monotonicity::constant_zero)
    return {};
  // Free every parameter the proof does not need.
  for (const auto& [id, sign] : candidates) {
    leaves.erase(id);
    if (monotonicity(g, d, leaves) == proof.verdict) continue;
    leaves[id] = held(sign);
    proof.kept.push_back({g.node(id).index, sign});
  }
  return proof;
}

std::string keep_signs(Graph& g, const SignedProof& proof, const std::string& what) {
  std::vector<std::string> parts;
  for (const auto& [tensor, sign] : proof.kept) {
    g.keep_param_sign(tensor, sign, what + " is monotone");
    parts.push_back(
        fmt::format("'{}' {} 0", g.params()[size_t(tensor)].name, sign > 0 ? ">" : "<"));
  }
  return fmt::format("while {} (training keeps it so)", fmt::join(parts, " and "));
}

}  // namespace nfc

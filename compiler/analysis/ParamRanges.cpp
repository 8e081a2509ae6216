#include "compiler/analysis/ParamRanges.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

#include "abi/Support.hpp"
#include "compiler/ir/Program.hpp"

namespace nfc {
namespace {

struct Candidate {
  NodeId node;
  int tensor;
  Interval range;  // the values it may take; starts at its initial values
};

// `v` rounded to `digits` significant digits, away from `towards`.
double round_away(double v, double towards, int digits) {
  if (v == 0) return 0;
  const double scale = std::pow(10.0, digits - 1 - std::floor(std::log10(std::fabs(v))));
  return v < towards ? std::floor(v * scale) / scale : std::ceil(v * scale) / scale;
}

class RangeSearch {
 public:
  RangeSearch(const Graph& g, NodeId d, std::unordered_map<NodeId, Interval> leaves,
              std::vector<Candidate> candidates)
      : g_(g), d_(d), leaves_(std::move(leaves)), candidates_(std::move(candidates)) {}

  Monotonicity verdict() {
    for (const Candidate& c : candidates_) leaves_[c.node] = c.range;
    return monotonicity(g_, d_, leaves_);
  }

  // Widens candidate k's range on one side as far as `want` still holds;
  // false if it cannot be widened at all (the proof pins the parameter).
  bool widen(size_t k, bool lower, Monotonicity want) {
    Candidate& c = candidates_[k];
    const double start = lower ? c.range.lo : c.range.hi, dir = lower ? -1 : 1;
    auto holds = [&](double bound) {
      const Interval saved = c.range;
      c.range = lower ? Interval{bound, c.range.hi, true, c.range.hi_open}
                      : Interval{c.range.lo, bound, c.range.lo_open, true};
      const bool ok = verdict() == want;
      if (!ok) c.range = saved;
      return ok;
    };
    if (holds(dir * INFINITY)) return true;
    // Bisection on the distance from the start, in log scale.
    const double unit = 1 + std::fabs(start);
    double good = 1e-9 * unit, bad = 1e12 * unit;
    if (!holds(start + dir * good)) return false;
    for (int i = 0; i < 60 && bad / good > 1 + 1e-9; ++i) {
      const double mid = std::sqrt(good * bad);
      if (holds(start + dir * mid))
        good = mid;
      else
        bad = mid;
    }
    // A short number just beyond, where it still proves: 0 (the sign), or
    // -1, not -0.9999999.
    const double found = start + dir * good;
    if ((0 - found) * dir > 0 && (0 - start) * dir < bad && holds(0)) return true;
    for (int digits = 1; digits <= 3; ++digits) {
      const double nice = round_away(found, start, digits);
      if ((nice - found) * dir > 0 && (nice - start) * dir < bad && holds(nice)) return true;
    }
    return true;
  }

  // Frees candidate k (all of ℝ) if the proof holds without it.
  bool try_free(size_t k, Monotonicity want) {
    const Interval saved = candidates_[k].range;
    candidates_[k].range = Interval::all();
    if (verdict() == want) return true;
    candidates_[k].range = saved;
    return false;
  }

  const std::vector<Candidate>& candidates() const { return candidates_; }

 private:
  const Graph& g_;
  NodeId d_;
  std::unordered_map<NodeId, Interval> leaves_;
  std::vector<Candidate> candidates_;
};

}  // namespace

RangedProof prove_keeping_ranges(const Graph& g, NodeId d,
                                 std::unordered_map<NodeId, Interval> leaves) {
  // Declared, unconstrained parameters, starting at the hull of their
  // initial values (a net's weights are drawn at random: never held).
  std::vector<Candidate> candidates;
  for (NodeId id : topological_order(g, {d})) {
    const Node& n = g.node(id);
    if (n.op != Op::param || leaves.contains(id)) continue;
    const ParamTensor& p = g.params()[size_t(n.index)];
    if (p.init.empty() || p.constrained) continue;
    const auto [lo, hi] = std::minmax_element(p.init.begin(), p.init.end());
    candidates.push_back({id, n.index, {*lo, *hi, false, false}});
  }
  if (candidates.empty()) return {};
  RangeSearch search(g, d, std::move(leaves), std::move(candidates));
  const Monotonicity want = search.verdict();
  if (want == Monotonicity::unproved || want == Monotonicity::constant_zero) return {};
  for (size_t k = 0; k < search.candidates().size(); ++k)
    if (!search.widen(k, true, want) || !search.widen(k, false, want)) return {};
  RangedProof proof;
  proof.verdict = want;
  for (size_t k = 0; k < search.candidates().size(); ++k) {
    if (search.try_free(k, want)) continue;
    const Interval& r = search.candidates()[k].range;
    proof.kept.push_back({search.candidates()[k].tensor, r.lo, r.hi});
  }
  return proof;
}

std::string keep_ranges(Graph& g, const RangedProof& proof, const std::string& what) {
  std::vector<std::string> parts;
  for (const KeptRange& k : proof.kept) {
    g.keep_param_range(k.tensor, k.lo, k.hi, what + " is monotone");
    parts.push_back(
        fmt::format("'{}' is {}", g.params()[size_t(k.tensor)].name, range_words(k.lo, k.hi)));
  }
  return fmt::format("while {} (training keeps it so)", fmt::join(parts, " and "));
}

}  // namespace nfc

#include "compiler/analysis/Domain.hpp"

#include <fmt/format.h>

#include <cmath>
#include <optional>

#include "compiler/analysis/Invert.hpp"

namespace nfc {
namespace {

Interval open(double lo, double hi) {
  return {lo, hi, true, true};
}

// The inverse of unary `op` at `v` (Invert.cpp's rule, folded on a
// constant), NaN where it has none.
double inverse_at(Op op, double v) {
  Graph scratch;
  const NodeId r = invert_unary(scratch, op, scratch.constant(v));
  return r >= 0 && scratch.is_constant(r) ? scratch.node(r).value : NAN;
}

// A point of the open interval `v`, at fraction t of it (or beside its
// finite end, or t itself when it is all of ℝ).
double interior(const Interval& v, double t) {
  if (std::isfinite(v.lo) && std::isfinite(v.hi)) return v.lo + t * (v.hi - v.lo);
  if (std::isfinite(v.lo)) return v.lo + t;
  if (std::isfinite(v.hi)) return v.hi - 1 + t;
  return t;
}

// The set of u with op(u) in `allowed`, for a monotone unary op with an
// inverse: `allowed` within the op's image, mapped back end by end. An end
// of the image comes back as the end of the domain it comes from (the
// inverse of tan at pi/2 is 1.6e16 in double, not inf).
std::optional<Interval> unary_preimage(const Graph& g, const Node& n, const Interval& allowed) {
  if (std::isnan(inverse_at(n.op, 0.5))) return std::nullopt;  // none: abs, cosh, sin, ...
  const Interval domain = op_domain(g, n), image = apply_unary(n.op, Interval::all());
  const bool increasing = eval_elementwise(n.op, interior(domain, 0.25)) <
                          eval_elementwise(n.op, interior(domain, 0.75));
  const Interval a = intersect(allowed, image);
  auto back = [&](double v, bool low) {
    if (v == (low ? image.lo : image.hi)) return low == increasing ? domain.lo : domain.hi;
    return inverse_at(n.op, v);
  };
  const double from = back(a.lo, true), to = back(a.hi, false);
  return increasing ? Interval{from, to, a.lo_open, a.hi_open}
                    : Interval{to, from, a.hi_open, a.lo_open};
}

// `a` scaled by 1 / c (c != 0): the set of u with c u in a.
Interval divide_by(const Interval& a, double c) {
  if (c > 0) return {a.lo / c, a.hi / c, a.lo_open, a.hi_open};
  return {a.hi / c, a.lo / c, a.hi_open, a.lo_open};
}

Interval shift(const Interval& a, double c) {
  return {a.lo + c, a.hi + c, a.lo_open, a.hi_open};
}

Interval negated(const Interval& a) {
  return {-a.hi, -a.lo, a.hi_open, a.lo_open};
}

// One step of the chain back from `node` (whose values must lie in
// `allowed`) towards a var: the argument and the set it must lie in, or
// nothing where the step is not invertible.
std::optional<std::pair<NodeId, Interval>> step_back(const Graph& g, NodeId node,
                                                     const Interval& allowed) {
  const Node& n = g.node(node);
  auto constant = [&](size_t k) -> std::optional<double> {
    const Node& a = g.node(n.args[k]);
    if (a.op != Op::constant) return std::nullopt;
    return a.value;
  };
  switch (n.op) {
    case Op::neg:
      return std::pair{n.args[0], negated(allowed)};
    case Op::add:
      if (auto c = constant(1)) return std::pair{n.args[0], shift(allowed, -*c)};
      if (auto c = constant(0)) return std::pair{n.args[1], shift(allowed, -*c)};
      return std::nullopt;
    case Op::sub:
      if (auto c = constant(1)) return std::pair{n.args[0], shift(allowed, *c)};
      if (auto c = constant(0)) return std::pair{n.args[1], shift(negated(allowed), *c)};
      return std::nullopt;
    case Op::mul:
      if (auto c = constant(1); c && *c != 0) return std::pair{n.args[0], divide_by(allowed, *c)};
      if (auto c = constant(0); c && *c != 0) return std::pair{n.args[1], divide_by(allowed, *c)};
      return std::nullopt;
    case Op::div:
      if (auto c = constant(1); c && *c != 0)
        return std::pair{n.args[0], divide_by(allowed, 1 / *c)};
      return std::nullopt;
    case Op::pow: {  // odd powers: u^k in a iff u in the k-th root of a
      const auto k = constant(1);
      if (!k || *k <= 0 || std::floor(*k) != *k || std::fmod(*k, 2) == 0) return std::nullopt;
      auto root = [k](double v) { return std::copysign(std::pow(std::fabs(v), 1 / *k), v); };
      return std::pair{n.args[0], Interval{root(allowed.lo), root(allowed.hi), allowed.lo_open,
                                           allowed.hi_open}};
    }
    default:
      break;
  }
  if (elementwise_arity(n.op) != 1) return std::nullopt;
  const auto pre = unary_preimage(g, n, allowed);
  if (!pre) return std::nullopt;
  return std::pair{n.args[0], *pre};
}

// The var and its values where `node` lies in `allowed`, when the chain
// from it to a var is invertible step by step (at most 64 steps: longer
// chains are left to the enclosure check).
std::optional<std::pair<NodeId, Interval>> preimage(const Graph& g, NodeId node, Interval allowed) {
  for (int steps = 0; steps < 64; ++steps) {
    if (g.node(node).op == Op::var) return std::pair{node, allowed};
    auto back = step_back(g, node, allowed);
    if (!back) return std::nullopt;
    std::tie(node, allowed) = *back;
  }
  return std::nullopt;
}

// Where a node is evaluated: everywhere (no guard), or only where the
// where/select above it picks its branch — a set of one var, when the
// condition is an invertible chain of it (where(x0 < 1, log(x0), x0 - 1)
// evaluates log only for x0 < 1).
struct Guard {
  NodeId var = -1;  // -1: no guard
  Interval active;
};

struct GuardedNode {
  NodeId node;
  Guard guard;
};

// The nodes `roots` compute, each with the guard it is evaluated under; a
// node under a condition nfc cannot read (or conditions on two vars) is
// left out: guarding it is the formula's own business. A node reached
// both ways is listed with each guard (at most 4 per node).
std::vector<GuardedNode> guarded_nodes(const Graph& g, const std::vector<NodeId>& roots) {
  std::vector<GuardedNode> out, stack;
  std::unordered_map<NodeId, std::vector<Guard>> seen;
  auto push = [&](NodeId id, const Guard& guard) {
    std::vector<Guard>& guards = seen[id];
    for (const Guard& s : guards)
      if (s.var == guard.var && s.active == guard.active) return;
    if (guards.size() >= 4) return;
    guards.push_back(guard);
    stack.push_back({id, guard});
  };
  for (NodeId r : roots) push(r, {});
  while (!stack.empty()) {
    const GuardedNode at = stack.back();
    stack.pop_back();
    out.push_back(at);
    const Node& n = g.node(at.node);
    if (n.op != Op::select_pos) {
      for (NodeId a : n.args) push(a, at.guard);
      continue;
    }
    push(n.args[0], at.guard);
    // Branch 1 where the condition is > 0, branch 2 where it is <= 0.
    const Interval where[2] = {{0, INFINITY, true, true}, {-INFINITY, 0, true, false}};
    for (int branch = 0; branch < 2; ++branch) {
      const auto pre = preimage(g, n.args[0], where[branch]);
      if (!pre || (at.guard.var >= 0 && at.guard.var != pre->first)) continue;
      const Interval active =
          at.guard.var >= 0 ? intersect(at.guard.active, pre->second) : pre->second;
      push(n.args[size_t(branch) + 1], {pre->first, active});
    }
  }
  return out;
}

// The values of a var where a function needing `needed` of it is defined,
// when the function is evaluated only on `active`: everything but active
// minus needed. An interval if what is cut off reaches infinity on its
// side (or is a single point, which has probability 0); else nothing.
std::optional<Interval> allowed_under(const Interval& needed, const Interval& active) {
  // What is cut off: the part of `active` left of `needed`, and right of it.
  const Interval left = intersect(active, {-INFINITY, needed.lo, true, !needed.lo_open});
  const Interval right = intersect(active, {needed.hi, INFINITY, !needed.hi_open, true});
  auto matters = [](const Interval& v) { return !v.empty() && v.lo < v.hi; };
  Interval allowed = Interval::all();
  if (matters(left)) {
    if (left.lo != -INFINITY) return std::nullopt;  // a hole: no interval
    allowed.lo = left.hi;
    allowed.lo_open = true;
  }
  if (matters(right)) {
    if (right.hi != INFINITY) return std::nullopt;
    allowed.hi = right.lo;
    allowed.hi_open = true;
  }
  return allowed;
}

}  // namespace

Interval op_domain(const Graph& g, const Node& n) {
  switch (n.op) {
    case Op::log:
    case Op::log2:
    case Op::sqrt:
      return open(0, INFINITY);
    case Op::log1p:
      return open(-1, INFINITY);
    case Op::logit:
      return open(0, 1);
    case Op::atanh:
    case Op::asin:
    case Op::acos:
    case Op::erfinv:
      return open(-1, 1);
    case Op::tan:  // its principal branch: nfc's tan is a bijection there
      return open(-M_PI / 2, M_PI / 2);
    case Op::acosh:
      return open(1, INFINITY);
    case Op::pow: {
      // An integer exponent is defined for every base (but 0 for a negative
      // one: a point); any other needs a positive base.
      const Node& k = g.node(n.args[1]);
      if (k.op == Op::constant && std::floor(k.value) == k.value) return Interval::all();
      return open(0, INFINITY);
    }
    default:
      return Interval::all();
  }
}

DomainInference infer_domain(const Graph& g, const std::vector<NodeId>& roots) {
  DomainInference result;
  std::vector<NodeId> unresolved;
  for (const GuardedNode& at : guarded_nodes(g, roots)) {
    const NodeId id = at.node;
    const Node& n = g.node(id);
    if (elementwise_arity(n.op) < 1) continue;
    const Interval domain = op_domain(g, n);
    if (domain.is_all()) continue;
    auto pre = preimage(g, n.args[0], domain);
    if (pre && at.guard.var >= 0) {
      // Evaluated only where its branch is taken: only there must it be
      // defined. A guard on another var than the argument's: no box.
      const auto allowed =
          at.guard.var == pre->first ? allowed_under(pre->second, at.guard.active) : std::nullopt;
      if (!allowed) {
        if (result.undetermined < 0) result.undetermined = id;
        continue;
      }
      pre->second = *allowed;
    }
    if (!pre) {
      if (at.guard.var < 0) unresolved.push_back(id);
      continue;
    }
    auto [it, fresh] = result.of_var.try_emplace(pre->first, pre->second);
    if (!fresh) it->second = intersect(it->second, pre->second);
    if (it->second.empty() && result.empty < 0) result.empty = pre->first;
  }
  if (unresolved.empty()) return result;
  // The others may still be defined wherever the vars are in their domains
  // (log(1 + x0^2)): proved by enclosure. An end of the op's domain counts:
  // acosh(1 + x0^2) is defined at x0 = 0, log(x0^2) is -inf at one point.
  const auto enclosures = enclose_all(g, roots, result.of_var);
  for (NodeId id : unresolved) {
    const Node& n = g.node(id);
    Interval closure = op_domain(g, n);
    closure.lo_open = closure.hi_open = false;
    if (closure.contains(enclosures.at(n.args[0]))) continue;
    result.undetermined = id;
    break;
  }
  return result;
}

std::string describe_domain(const std::string& var, const Interval& domain) {
  return fmt::format("{} in {}", var, to_string(domain));
}

}  // namespace nfc

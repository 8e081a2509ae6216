// Sign analysis by interval arithmetic over the graph: a sound enclosure of
// every value a node can take, used to prove a transformer's diagonal
// derivative positive (or negative) everywhere. Endpoints carry whether they
// are attained, so softplus(r) is (0, inf) — strictly positive — not [0, inf).
#pragma once

#include <cmath>
#include <string>
#include <unordered_map>
#include <vector>

#include "compiler/ir/Graph.hpp"

namespace nfc {

struct Interval {
  double lo = -INFINITY, hi = INFINITY;
  bool lo_open = true, hi_open = true;  // infinite endpoints are never attained

  bool operator==(const Interval&) const = default;
  static Interval point(double v) { return {v, v, false, false}; }
  static Interval all() { return {}; }
  bool positive() const { return lo > 0 || (lo == 0 && lo_open); }
  bool negative() const { return hi < 0 || (hi == 0 && hi_open); }
  bool zero() const { return lo == 0 && hi == 0; }
  // Whether every point of (a, b) lies inside: a support's ends have
  // probability 0, so sigmoid's (0, 1) covers a uniform base on [0, 1].
  bool covers(double a, double b) const { return lo <= a && hi >= b; }
  bool is_all() const { return lo == -INFINITY && hi == INFINITY; }
  // Whether every value of `v` lies in this set.
  bool contains(const Interval& v) const {
    return (v.lo > lo || (v.lo == lo && (lo_open <= v.lo_open))) &&
           (v.hi < hi || (v.hi == hi && (hi_open <= v.hi_open)));
  }
  bool empty() const { return lo > hi || (lo == hi && (lo_open || hi_open)); }
};

// The values in both.
Interval intersect(const Interval& a, const Interval& b);

// The enclosure of a unary elementwise op over `a` (its rule in enclose).
Interval apply_unary(Op op, const Interval& a);

// "(0, inf)", "[-1, 1]", "(-inf, inf)"
std::string to_string(const Interval& v);

// Encloses `id` over all values of its leaves: inputs, vars and parameters
// are unbounded unless `leaves` says otherwise.
Interval enclose(const Graph& g, NodeId id,
                 const std::unordered_map<NodeId, Interval>& leaves = {});
// The enclosures of every node `roots` reach, in one pass.
std::unordered_map<NodeId, Interval> enclose_all(
    const Graph& g, const std::vector<NodeId>& roots,
    const std::unordered_map<NodeId, Interval>& leaves = {});

enum class Monotonicity { increasing, decreasing, unproved, constant_zero };

// The verdict for a diagonal derivative, its leaves (the inputs on a
// formula's domain, parameters within a sign) bounded by `leaves`.
Monotonicity monotonicity(const Graph& g, NodeId derivative,
                          const std::unordered_map<NodeId, Interval>& leaves = {});

}  // namespace nfc

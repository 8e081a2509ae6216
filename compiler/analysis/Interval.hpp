// Sign analysis by interval arithmetic over the graph: a sound enclosure of
// every value a node can take, used to prove a transformer's diagonal
// derivative positive (or negative) everywhere. Endpoints carry whether they
// are attained, so softplus(r) is (0, inf) — strictly positive — not [0, inf).
#pragma once

#include <cmath>
#include <string>
#include <unordered_map>

#include "compiler/ir/Graph.hpp"

namespace nfc {

struct Interval {
  double lo = -INFINITY, hi = INFINITY;
  bool lo_open = true, hi_open = true;  // infinite endpoints are never attained

  static Interval point(double v) { return {v, v, false, false}; }
  static Interval all() { return {}; }
  bool positive() const { return lo > 0 || (lo == 0 && lo_open); }
  bool negative() const { return hi < 0 || (hi == 0 && hi_open); }
  bool zero() const { return lo == 0 && hi == 0; }
  // Whether every point of (a, b) lies inside: a support's ends have
  // probability 0, so sigmoid's (0, 1) covers a uniform base on [0, 1].
  bool covers(double a, double b) const { return lo <= a && hi >= b; }
};

// "(0, inf)", "[-1, 1]", "(-inf, inf)"
std::string to_string(const Interval& v);

// Encloses `id` over all values of its leaves: inputs, vars and parameters
// are unbounded unless `leaves` says otherwise.
Interval enclose(const Graph& g, NodeId id,
                 const std::unordered_map<NodeId, Interval>& leaves = {});

enum class Monotonicity { increasing, decreasing, unproved, constant_zero };

// The verdict for a diagonal derivative.
Monotonicity monotonicity(const Graph& g, NodeId derivative);

}  // namespace nfc

// Deciding what interval arithmetic leaves open. When the enclosure of a
// diagonal derivative d = dz/dx straddles 0, d is evaluated on a grid: at
// each point by the same interval rules with every leaf a point, so a sign
// found there is proved, not rounded. Two points where d is provably of
// opposite signs (with the other leaves equal) mean z is not monotone in
// x: by the intermediate value theorem d vanishes between them and z takes
// some value twice — the layer is not a bijection. A derivative exactly 0
// at consecutive grid points is reported too (z is flat there). Only a case
// the grid cannot decide stays a warning.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "compiler/analysis/Interval.hpp"
#include "compiler/ir/Graph.hpp"

namespace nfc {

struct SignWitness {
  bool flat = false;        // d == 0 at x_a and x_b (and between on the grid)
  double x_a = 0, x_b = 0;  // values of x, x_a < x_b
  double d_a = 0, d_b = 0;  // d there (the enclosures' midpoints)
  // The other leaves at the witness, as "name = value" (vars by their
  // names), empty when d depends on x alone.
  std::vector<std::string> others;
  bool at_initial_parameters = false;  // d reads parameters
};

// Searches d over x in [-100, 100] (dense near 0; every node of `x` takes
// the same value: a vector input moves in all its lanes), every var in
// `others` at each of a few values, and parameters at their initial values
// (a vector parameter at the hull of its values).
// Only points where the function `z` itself is defined count (its point
// enclosure is not NaN): log's derivative 1/x is negative at x = -1, where
// log is not defined.
// Where `domains` restricts a var (the formula's domain, Domain.hpp), its
// values are taken inside: x on a grid spanning the domain, the others at
// a point of theirs when the usual values lie outside.
std::optional<SignWitness> find_sign_change(
    const Graph& g, NodeId z, NodeId d, const std::vector<NodeId>& x,
    const std::vector<NodeId>& others, bool report_flat,
    const std::unordered_map<NodeId, Interval>& domains = {});

// "z0 is not monotone in x0: dz0/dx0 = +0.16 at x0 = -1, -0.21 at x0 =
// -0.75 (x1 = 0.7, parameters at their initial values)", or for a flat
// witness "z0 is constant in x0 between x0 = -3 and -2.5 (dz0/dx0 = 0)".
std::string not_monotone_message(const SignWitness& w, const std::string& z, const std::string& x,
                                 const std::string& derivative);

// A jump of z in x: sign and select_pos (where, min, max, clamp) make
// formulas that the derivative does not see jump (x0 + sign(x0) has dz/dx
// = 1 everywhere it is defined, but skips (-1, 1): its image has a gap,
// and a jump down takes values twice). Found by locating each point on
// the grid where a selector's sign changes (bisection) and comparing z just
// left and right of it with z's change beside it; the other leaves as in
// find_sign_change.
struct JumpWitness {
  double x = 0;                // where
  double left = 0, right = 0;  // z just before and after
  std::vector<std::string> others;
};
std::optional<JumpWitness> find_jump(const Graph& g, NodeId z, const std::vector<NodeId>& x,
                                     const std::vector<NodeId>& others,
                                     const std::unordered_map<NodeId, Interval>& domains = {});

// "z0 jumps at x0 = 0 from -1 to 1"
std::string jump_message(const JumpWitness& w, const std::string& z, const std::string& x);

// The image of z in x where interval arithmetic is too loose to bound it
// (x / (1 + abs(x)) encloses to ℝ, yet takes values in (-1, 1) only): a
// monotone z's image is the interval between its limits at the ends of
// its domain, and z evaluated at x = ±1e10, ±1e20, ... ±1e300 shows a
// finite limit where it stops moving. Returns that image, with what shows it
// ("z0 tends to 1 as x0 -> inf (x1 = 0.7)"), for the first values of the
// other leaves (as in find_sign_change) where an infinite end of the
// domain has a finite limit; nothing where none has. Evidence, not an
// enclosure: it may refuse a flow, never accept one.
struct NumericImage {
  Interval values;
  std::string shown_by;
};
std::optional<NumericImage> numeric_image(const Graph& g, NodeId z, const std::vector<NodeId>& x,
                                          const std::vector<NodeId>& others,
                                          const std::unordered_map<NodeId, Interval>& domains,
                                          const std::string& z_name, const std::string& x_name);

// The var nodes `d` reads.
std::vector<NodeId> vars_of(const Graph& g, NodeId d);

}  // namespace nfc

// Where a formula is defined. log, sqrt, logit, asin, ... are defined on part
// of ℝ only; a map or transform using them is a bijection from that part,
// not from ℝ, and its monotonicity is to be proved there (elementwise logit
// is increasing on (0, 1), and nowhere else defined). Each such op's
// argument must lie in the op's domain; where the argument is an invertible
// function of one var (through + and - of constants, * and / by nonzero
// constants, negation, odd powers and increasing functions with a known
// inverse: exp, log, sqrt, tanh, ...) the condition is an interval of that
// var, carried back through the chain exactly. The formula's domain is the
// intersection of these intervals, one per var: a box.
//
// Domains are open: a flow's density is indifferent to the boundary (a set
// of probability 0), and there derivatives are often infinite (sqrt at 0)
// or the formula itself is (logit at 0 and 1).
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "compiler/analysis/Interval.hpp"
#include "compiler/ir/Graph.hpp"

namespace nfc {

struct DomainInference {
  // The vars whose values are restricted, each to an open interval.
  std::unordered_map<NodeId, Interval> of_var;
  // A node defined on part of ℝ whose argument is no such chain of one var
  // and may leave the op's domain even with the vars within of_var (log(x1
  // - x0), log(x0 - a) for a parameter a): the domain is not a box nfc can
  // state. -1 if there is none.
  NodeId undetermined = -1;
  // A var whose conditions leave no value (log(x0) + log(-x0)), or -1.
  NodeId empty = -1;
};

// The domain of everything `roots` compute.
DomainInference infer_domain(const Graph& g, const std::vector<NodeId>& roots);

// The interior of the set where node `n`'s op is defined, for its first
// argument (pow: for its base, given a constant exponent); all of ℝ for an
// op defined everywhere.
Interval op_domain(const Graph& g, const Node& n);

// "x0 in (0, 1)"
std::string describe_domain(const std::string& var, const Interval& domain);

}  // namespace nfc

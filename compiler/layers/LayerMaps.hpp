// A layer in both directions, as the flow builder assembles it.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "compiler/analysis/Interval.hpp"
#include "compiler/ir/Graph.hpp"
#include "dsl/SourceRange.hpp"

namespace nfc {

// Each direction maps an input node to (output, log-det of that direction),
// the log-det a length-1 node. The inverse may fail (after reporting why)
// when an output cannot be solved for its input.
struct LayerMaps {
  std::function<std::pair<NodeId, NodeId>(NodeId)> forward;
  std::function<std::optional<std::pair<NodeId, NodeId>>(NodeId)> inverse;
  // The same forward map built from ops reverse mode can differentiate,
  // where `forward` uses one that it cannot (an IAF's made_sequence): the
  // training loss is built with it. Empty: `forward` is differentiable.
  std::function<std::pair<NodeId, NodeId>(NodeId)> forward_for_gradient;
  // The same for the inverse (a MAF's made_sequence): variational training
  // differentiates the sampling direction with it.
  std::function<std::pair<NodeId, NodeId>(NodeId)> inverse_for_gradient;
};

// How one output's inverse was obtained and what is known of its
// monotonicity: what `nfc compile --explain` prints.
struct InversionReport {
  std::string what;  // "layer 2 z1", "transform affine"
  SourceRange loc;
  bool analytic = true;  // else: safeguarded Newton-bisection at run time
  std::string why;       // the inverse formula, or why none exists
  Monotonicity monotonicity = Monotonicity::unproved;
  bool by_construction = false;  // monotone as built (the spline), not proved
  std::string domain;            // "x0 in (0, 1)" where proved on a domain; empty: on ℝ
  std::string condition;         // "while 'layer0.a' is positive (...)": parameters the proof holds
};

}  // namespace nfc

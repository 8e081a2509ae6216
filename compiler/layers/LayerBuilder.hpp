// The one signature every layer kind is built with:
//
//   std::optional<BuiltLayer> build_layer(LayerEnv& env, const XSpec& spec);
//
// one overload per alternative of LayerSpec::kind, each in its layer's
// file, so FlowGraph.cpp dispatches with std::visit and a new layer kind is
// a new overload (CONTRIBUTING.md). A builder declares its parameters
// (`layerN.*`), reports what it proves for `--explain`, and returns its
// maps; nothing (after reporting, or over env.max_params, which the flow
// builder reports) when the layer cannot be built.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "compiler/analysis/Interval.hpp"
#include "compiler/analysis/SignChange.hpp"
#include "compiler/ir/Graph.hpp"
#include "compiler/layers/LayerMaps.hpp"
#include "compiler/layers/LowerExpr.hpp"
#include "compiler/sema/FlowSpec.hpp"
#include "dsl/Diagnostics.hpp"

namespace nfc {

struct TransformRules;
class TransformerCache;

// What a layer may read and where it reports.
struct LayerEnv {
  Graph& g;
  Diagnostics& diags;
  const FlowSpec& flow;    // dim, context_dim, the transforms
  const LayerSpec& layer;  // its label and location, for reports
  int index;               // position in the flow: parameters are named layer<index>.*
  NodeId context;          // the context placeholder of a conditional flow, else -1
  int64_t max_params;
  const NameEnv& flow_params;  // flow-level parameters and c0.., by name
  TransformerCache& transformers;
  std::vector<InversionReport>& inversions;  // what `--explain` prints
  // Cleared where a formula's domain is no box nfc can state (after a
  // warning): the flow's support is then unknown.
  bool domain_known = true;

  std::string param_prefix() const { return "layer" + std::to_string(index) + "."; }
  // The transformer's rules, derived on first use; null after an error.
  const TransformRules* rules_for(const TransformerSpec& t);
  // Records the transformer's monotonicity for this layer: by construction
  // (the spline; `dzdx` is not called) or proved from dz/dx with the
  // layer's parameters bound; a sign change found instead is an error
  // (returns false), an undecided case a warning.
  // `body` (optional) is z in the same variables: the search counts only
  // points where it is defined; without it only the proof is tried. The
  // proof is over the transformer's domain, which is returned (ℝ when it
  // is defined everywhere); nothing after an error.
  [[nodiscard]] std::optional<Interval> check_monotone(const TransformRules& rules,
                                                       const std::function<NodeId()>& dzdx,
                                                       const std::function<NodeId()>& body = {});
};

// ActNorm's tensors, which data-dependent initialisation sets.
struct ActNormTensors {
  int log_scale = -1, shift = -1;  // indices into the graph's parameter table
};

struct BuiltLayer {
  LayerMaps maps;
  std::vector<int> order;  // the declared triangular ordering; empty: 0, 1, .., dim-1
  std::optional<ActNormTensors> actnorm;
  // Where the layer is defined, per input coordinate (open intervals; empty:
  // everywhere). The first layer's is the flow's support.
  std::vector<Interval> domain;
  // Enclosures of the values each output takes when each input coordinate
  // takes values in the given interval (dim of each); empty when not known
  // (ℝ is then assumed). What reaches the base must cover its support.
  std::function<std::vector<Interval>(const std::vector<Interval>&)> image;
  // Per output (empty: none known): an image shown numerically where the
  // enclosure is too loose (SignChange.hpp: numeric_image). It can refuse
  // a flow whose base it does not cover, never accept one.
  std::vector<std::optional<NumericImage>> shown_image;
};

// Sum of a per-lane quantity over `lanes` lanes; a length-1 value stands for
// the same value in every lane.
inline NodeId sum_lanes(Graph& g, NodeId v, int lanes) {
  if (g.len(v) == 1) return g.binary(Op::mul, g.constant(lanes), v);
  return g.sum(v);
}

}  // namespace nfc

// The derived rules of each transformer a flow uses (a `.nf` transform or a
// spline setting), built on first use and shared by every layer using it.
#pragma once

#include <deque>
#include <utility>
#include <vector>

#include "compiler/ir/Graph.hpp"
#include "compiler/layers/TransformRules.hpp"
#include "compiler/sema/FlowSpec.hpp"
#include "dsl/Diagnostics.hpp"

namespace nfc {

class TransformerCache {
 public:
  // `store` keeps the rules (a deque: layers keep pointers into it).
  TransformerCache(Graph& g, Diagnostics& diags, const std::vector<TransformDef>& defs,
                   std::deque<TransformRules>& store);

  // Null after reporting when the transform cannot be a transformer.
  const TransformRules* rules_for(const TransformerSpec& t);

 private:
  bool derive(const TransformDef& def, TransformRules& r);

  Graph& g_;
  Diagnostics& diags_;
  const std::vector<TransformDef>& defs_;
  std::deque<TransformRules>& store_;
  std::vector<int> index_;  // transform -> index into store_, -1 unbuilt, -2 failed
  std::vector<std::pair<SplineSpec, int>> spline_index_;  // splines built, by settings
};

}  // namespace nfc

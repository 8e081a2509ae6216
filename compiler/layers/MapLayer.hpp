// Hand-written triangular maps (Knothe-Rosenblatt layers): z_j = e_j(x),
// with parameters, let bindings, a proved (or found) triangular order, a
// monotonicity verdict per output, and the inverse solved output by output.
#pragma once

#include <optional>
#include <vector>

#include "compiler/layers/LayerMaps.hpp"
#include "compiler/layers/LowerExpr.hpp"
#include "compiler/sema/FlowSpec.hpp"
#include "dsl/Diagnostics.hpp"

namespace nfc {

struct MapLayer {
  LayerMaps maps;
  std::vector<int> order;  // outputs in solving order: each uses only inputs before it
};

// `flow_params` binds the flow-level parameter names. Reports to `diags`
// and returns nothing when the map is not triangular in any order or an
// output does not depend on its own input. `reports` receives one entry
// per output.
std::optional<MapLayer> build_map_layer(Graph& g, Diagnostics& diags, const MapSpec& m, int dim,
                                        int layer_index, const NameEnv& flow_params,
                                        std::vector<InversionReport>& reports);

}  // namespace nfc

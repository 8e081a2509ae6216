// Hand-written triangular maps (Knothe-Rosenblatt layers): z_j = e_j(x),
// with parameters, let bindings, a proved (or found) triangular order, a
// monotonicity verdict per output, and the inverse solved output by output.
#pragma once

#include "compiler/layers/LayerBuilder.hpp"

namespace nfc {

// The outputs may read env.flow_params. Reports and returns nothing when
// the map is not triangular in any order or an output does not depend on
// its own input; one inversion report per output. The order is the solving
// order: each output uses only the inputs of outputs before it.
std::optional<BuiltLayer> build_layer(LayerEnv& env, const MapSpec& m);

}  // namespace nfc

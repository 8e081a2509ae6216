// Elementwise layers: one transformer per dimension, its parameters
// learnable vectors of the layer (no conditioner).
#pragma once

#include "compiler/layers/LayerBuilder.hpp"

namespace nfc {

std::optional<BuiltLayer> build_layer(LayerEnv& env, const ElementwiseSpec& e);

}  // namespace nfc

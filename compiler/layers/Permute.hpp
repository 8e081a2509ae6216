// Permutation layers: a fixed reordering of the dimensions, log-det 0.
#pragma once

#include "compiler/layers/LayerBuilder.hpp"

namespace nfc {

std::optional<BuiltLayer> build_layer(LayerEnv& env, const PermuteSpec& p);

}  // namespace nfc

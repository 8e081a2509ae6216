// The ActNorm layer (Kingma & Dhariwal 2018, Glow; nflows' ActNorm):
// z = x * exp(log_scale) + shift per dimension, log|det| = sum(log_scale).
// Its tensors start at the identity (0, 0); the runtime sets them from the
// first training batch (data-dependent initialisation) through the
// `actnorm_inputs` entry point, which is why the flow graph records each
// ActNorm layer's input.
#pragma once

#include "compiler/layers/LayerBuilder.hpp"

namespace nfc {

// Declares the tensors `layerK.log_scale`, `layerK.shift` ([dim], initialised
// to 0), returned in BuiltLayer::actnorm with the layer's maps.
std::optional<BuiltLayer> build_layer(LayerEnv& env, const ActNormSpec& spec);

}  // namespace nfc

// Coupling layers (RealNVP, Glow, neural spline flows): the identity part
// feeds an MLP conditioner (and the context), whose outputs parameterise an
// elementwise transformer applied to the transformed part.
#pragma once

#include "compiler/layers/LayerBuilder.hpp"

namespace nfc {

std::optional<BuiltLayer> build_layer(LayerEnv& env, const CouplingSpec& c);

}  // namespace nfc

// The ActNorm layer (Kingma & Dhariwal 2018, Glow; nflows' ActNorm):
// z = x * exp(log_scale) + shift per dimension, log|det| = sum(log_scale).
// Its tensors start at the identity (0, 0); the runtime sets them from the
// first training batch (data-dependent initialisation) through the
// `actnorm_inputs` entry point, which is why the flow graph records each
// ActNorm layer's input.
#pragma once

#include <string>

#include "compiler/layers/LayerMaps.hpp"

namespace nfc {

struct ActNormTensors {
  int log_scale = -1, shift = -1;  // indices into the graph's parameter table
};

// Declares layer `index`'s tensors `layerK.log_scale`, `layerK.shift` ([dim],
// initialised to 0) into `tensors` and returns the layer's maps.
LayerMaps build_actnorm(Graph& g, int index, int dim, ActNormTensors& tensors);

}  // namespace nfc

// Masked autoregressive layers, MAF and IAF, with MADE conditioners.
//
// A MADE (Germain et al. 2015) is an MLP whose weight masks make output k
// depend only on inputs 0..k-1 (in the layer's order). nfc sorts the hidden
// units by degree, so every mask is a staircase (each row reads a prefix of
// its input): the one-pass direction is one masked matvec per layer that
// skips the zeros, and the sequential direction evaluates, at step k, only
// the hidden units of degree k and the outputs of position k — each unit
// once, so the whole sequential pass costs about one network evaluation
// instead of D of them.
#pragma once

#include <vector>

#include "compiler/layers/LayerBuilder.hpp"

namespace nfc {

// Degrees of a hidden layer of `width` units for `dim` inputs: unit j has
// degree 1 + floor(j (dim - 1) / width), non-decreasing in j (0 for every
// unit when dim = 1). Inputs in position k have degree k + 1; an output of
// position k may read the hidden units of degree <= k.
std::vector<int> made_hidden_degrees(int dim, int width);

// Declares the layer's MADE parameters (`layerN.net.w1`, `b1`, ...) and
// returns its maps. The flow's context is extra MADE inputs of degree 0,
// first in w1's columns. Monotonicity is checked on the transformer's
// derivative with the MADE's outputs bound. Nothing when the MADE's tensors
// would take the graph past env.max_params: declaring stops at the tensor
// that crosses it, before any node is made, and the flow builder reports
// the count.
std::optional<BuiltLayer> build_layer(LayerEnv& env, const AutoregressiveSpec& spec);

}  // namespace nfc

// The LU-parameterised invertible linear layer (`linear`): z = L U x + b.
#pragma once

#include "compiler/layers/LayerBuilder.hpp"

namespace nfc {

// Declares `layerK.lower` (the strict lower triangle of L, row by row:
// row i holds L[i, 0..i-1]), `layerK.upper` (the strict upper triangle of
// U, row by row: row i holds U[i, i+1..D-1]), `layerK.log_diag` (U's
// diagonal is exp(log_diag)) and `layerK.bias`, and returns the layer:
// forward y = U x, z = L y + b (log-det sum(log_diag)); inverse by forward
// then back substitution.
std::optional<BuiltLayer> build_layer(LayerEnv& env, const LinearSpec& spec);

}  // namespace nfc

// The LU-parameterised invertible linear layer (`linear`): z = L U x + b.
#pragma once

#include "compiler/ir/Graph.hpp"
#include "compiler/layers/LayerMaps.hpp"

namespace nfc {

// Declares `layerK.lower` (the strict lower triangle of L, row by row:
// row i holds L[i, 0..i-1]), `layerK.upper` (the strict upper triangle of
// U, row by row: row i holds U[i, i+1..D-1]), `layerK.log_diag` (U's
// diagonal is exp(log_diag)) and `layerK.bias`, and returns the layer:
// forward y = U x, z = L y + b (log-det sum(log_diag)); inverse by forward
// then back substitution.
LayerMaps build_linear_layer(Graph& g, int layer_index, int dim);

}  // namespace nfc

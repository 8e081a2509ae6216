// Conditioner networks: the dense layers of an MLP (or MADE) as graph
// parameters, initialised like PyTorch's nn.Linear.
#pragma once

#include <string>
#include <vector>

#include "compiler/ir/Graph.hpp"
#include "compiler/sema/FlowSpec.hpp"

namespace nfc {

struct DenseLayer {
  int w_tensor = -1;  // rows x cols, row-major
  NodeId w = -1, b = -1;
  int rows = 0, cols = 0;
};

// Layers `prefix`w1/b1, w2/b2, ... mapping `inputs` values through `widths`
// (the hidden widths, then the output width). Weights and biases are
// uniform in +-1/sqrt(fan_in), PyTorch's Linear default. Returns nothing
// once the graph's parameter count passes `max_params`, before making a
// node for a tensor that large (the caller reports the limit).
std::vector<DenseLayer> declare_dense_layers(Graph& g, const std::string& prefix, int inputs,
                                             const std::vector<int>& widths, int64_t max_params);

// The network's output for `input`: each dense layer, `act` between them,
// the last one linear.
NodeId apply_dense_layers(Graph& g, const std::vector<DenseLayer>& dense, Op act, NodeId input);

Op activation_op(Activation a);

}  // namespace nfc

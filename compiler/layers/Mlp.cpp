#include "compiler/layers/Mlp.hpp"

#include <cmath>

namespace nfc {

std::vector<DenseLayer> declare_dense_layers(Graph& g, const std::string& prefix, int inputs,
                                             const std::vector<int>& widths, int64_t max_params) {
  std::vector<DenseLayer> layers;
  int fan_in = inputs;
  for (size_t k = 0; k < widths.size(); ++k) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
    DenseLayer d;
    d.rows = widths[k];
    d.cols = fan_in;
    d.w_tensor = g.add_param(prefix + "w" + std::to_string(k + 1), {d.rows, d.cols}, bound);
    const int b = g.add_param(prefix + "b" + std::to_string(k + 1), {d.rows}, bound);
    if (g.param_count() > max_params) return {};
    d.w = g.param(d.w_tensor);
    d.b = g.param(b);
    layers.push_back(d);
    fan_in = widths[k];
  }
  return layers;
}

NodeId apply_dense_layers(Graph& g, const std::vector<DenseLayer>& dense, Op act, NodeId input) {
  NodeId h = input;
  for (size_t k = 0; k < dense.size(); ++k) {
    h = g.binary(Op::add, g.matvec(dense[k].w, h, dense[k].rows, dense[k].cols), dense[k].b);
    if (k + 1 < dense.size()) h = g.unary(act, h);
  }
  return h;
}

Op activation_op(Activation a) {
  switch (a) {
    case Activation::relu:
      return Op::relu;
    case Activation::tanh:
      return Op::tanh;
    case Activation::elu:
      return Op::elu;
    case Activation::gelu:
      return Op::gelu;
    case Activation::sigmoid:
      return Op::sigmoid;
    case Activation::softplus:
      return Op::softplus;
  }
  return Op::relu;
}

}  // namespace nfc

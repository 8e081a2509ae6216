// ActNorm in both directions; the log-dets are written out rather than
// derived: the layer is one affine map whose log-diagonal is its parameter.
#include "compiler/layers/ActNorm.hpp"

namespace nfc {

std::optional<BuiltLayer> build_layer(LayerEnv& env, const ActNormSpec&) {
  Graph& g = env.g;
  const int dim = env.flow.dim;
  const std::string prefix = env.param_prefix();
  ActNormTensors tensors;
  tensors.log_scale = g.add_param(prefix + "log_scale", {dim});
  tensors.shift = g.add_param(prefix + "shift", {dim});
  g.set_param_init(tensors.log_scale, std::vector<double>(static_cast<size_t>(dim), 0));
  g.set_param_init(tensors.shift, std::vector<double>(static_cast<size_t>(dim), 0));
  const Ex ls{&g, g.param(tensors.log_scale)}, shift{&g, g.param(tensors.shift)};
  const NodeId logdet = g.sum(ls.id);
  BuiltLayer built;
  built.actnorm = tensors;
  built.maps.forward = [&g, ls, shift, logdet](NodeId in) {
    return std::pair{(Ex{&g, in} * apply(Op::exp, ls) + shift).id, logdet};
  };
  built.maps.inverse = [&g, ls, shift,
                        logdet](NodeId in) -> std::optional<std::pair<NodeId, NodeId>> {
    return std::pair{((Ex{&g, in} - shift) * apply(Op::exp, -ls)).id, g.unary(Op::neg, logdet)};
  };
  return built;
}

}  // namespace nfc

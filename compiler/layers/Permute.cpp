#include "compiler/layers/Permute.hpp"

#include "compiler/sema/Permutations.hpp"

namespace nfc {

std::optional<BuiltLayer> build_layer(LayerEnv& env, const PermuteSpec& p) {
  Graph& g = env.g;
  const std::vector<int> perm = p.perm, inv = inverse_permutation(p.perm);
  BuiltLayer built;
  built.maps.forward = [&g, perm](NodeId in) {
    return std::pair{g.gather(in, perm), g.constant(0)};
  };
  built.maps.inverse = [&g, inv](NodeId in) -> std::optional<std::pair<NodeId, NodeId>> {
    return std::pair{g.gather(in, inv), g.constant(0)};
  };
  return built;
}

}  // namespace nfc

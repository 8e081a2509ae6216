// The named fixed permutations (conventions in Permutations.hpp; changing
// them changes every trained model).
#include "compiler/sema/Permutations.hpp"

#include <algorithm>
#include <cstddef>
#include <numeric>
#include <utility>

namespace nfc {

uint64_t SplitMix64::next() {
  state_ += 0x9e3779b97f4a7c15ULL;
  uint64_t z = state_;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::vector<int> reverse_permutation(int dim) {
  std::vector<int> perm(static_cast<std::size_t>(dim));
  for (int i = 0; i < dim; ++i) perm[static_cast<std::size_t>(i)] = dim - 1 - i;
  return perm;
}

std::vector<int> identity_permutation(int dim) {
  return iota(std::max(dim, 0));
}

std::vector<int> inverse_permutation(const std::vector<int>& perm) {
  std::vector<int> inv(perm.size());
  for (std::size_t i = 0; i < perm.size(); ++i) inv[static_cast<std::size_t>(perm[i])] = int(i);
  return inv;
}

std::vector<int> random_permutation(int dim, uint64_t seed) {
  std::vector<int> perm(static_cast<std::size_t>(dim));
  std::iota(perm.begin(), perm.end(), 0);
  SplitMix64 rng(seed);
  for (int i = dim - 1; i > 0; --i) {
    const uint64_t j = rng.next() % static_cast<uint64_t>(i + 1);
    std::swap(perm[static_cast<std::size_t>(i)], perm[j]);
  }
  return perm;
}

}  // namespace nfc

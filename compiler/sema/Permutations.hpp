// The named fixed permutations. A permutation `perm` maps z[i] = x[perm[i]].
#pragma once

#include <cstdint>
#include <vector>

#include "support/Iota.hpp"

namespace nfc {

// perm[i] = i.
std::vector<int> identity_permutation(int dim);

// inv[perm[i]] = i.
std::vector<int> inverse_permutation(const std::vector<int>& perm);

// perm[i] = dim - 1 - i.
std::vector<int> reverse_permutation(int dim);

// A pseudo-random permutation that is the same on every machine and in every
// version of nfc (trained parameters depend on it): splitmix64 seeded with
// `seed`, then Fisher-Yates from the last index down, swapping perm[i] with
// perm[next() % (i + 1)], starting from the identity.
std::vector<int> random_permutation(int dim, uint64_t seed);

// splitmix64 (Steele, Lea, Flood 2014): the generator behind
// random_permutation, exposed so tests and docs can reproduce it.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next();

 private:
  uint64_t state_;
};

}  // namespace nfc

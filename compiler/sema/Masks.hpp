// The named coupling masks. A mask is one flag per dimension: 1 = the coupling
// layer transforms that dimension, 0 = it passes through unchanged and feeds
// the conditioner. `k` is the index of the coupling layer among all coupling
// layers of the flow (from 0, in unrolled order), so consecutive couplings
// alternate which half they transform.
#pragma once

#include <vector>

namespace nfc {

// Transforms dims i with (i + k) % 2 == 1: the first coupling transforms the
// odd dims, the second the even dims, and so on.
std::vector<int> alternate_mask(int dim, int k);

// k even: transforms the last floor(dim / 2) dims; k odd: the first
// floor(dim / 2).
std::vector<int> halves_mask(int dim, int k);

}  // namespace nfc

// Uniform dequantisation (Theis et al. 2016; RealNVP, Glow, MAF): integer
// data x in 0..L-1 are modelled by a density p over [0, L)^D, and
// log P(x) = log ∫_{[0,1)^D} p(x + u) du >= E_u log p(x + u), u ~ U(0, 1)^D.
// The flow's first layer `dequantize(levels = L)` maps x + u onto [0, 1)
// with its log-det -D log L counted, so log p is a density in pixel space
// and -log p(x + u) / (D ln 2) is an honest bound on the discrete
// bits/dim. Training draws a fresh u per step; evaluation draws one per
// row, seeded. Sampling rounds x down: floor(x) is distributed as P.
#pragma once

#include <cstdint>
#include <string>

#include "runtime/Random.hpp"
#include "runtime/RowTable.hpp"

namespace nfc {

// "row 3, column 7: 2.5 is not an integer in 0..255" for the first of the
// first `dim` values of each row that is not a level; empty if all are.
std::string first_non_level(const RowTable& rows, int dim, int levels);

// Adds u ~ U(0, 1) (open: never 0, so a logit after `dequantize` is finite
// with alpha = 0) to the first `dim` values of each row. With `positions`
// the n rows are the rows at those (ascending) positions of a batch of
// `batch` rows, and each gets the noise it would get in the whole batch:
// a rank of a group adds to its share of a batch what one process adds.
template <class T>
void add_dequantization_noise(T* rows, int64_t n, int row, int dim, Random& rng,
                              const int64_t* positions = nullptr, int64_t batch = 0);

// floor(x), clamped to 0..levels-1 (samples of the continuous density
// outside [0, L) belong to the edge levels' cells by no rule, and a sample
// must be a level).
void quantize(double* x, int64_t n, int levels);

// bits/dim of a mean NLL in nats over dim-dimensional rows.
double bits_per_dim(double nll, int dim);

}  // namespace nfc

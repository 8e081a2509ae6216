#include "runtime/Dequantize.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>

namespace nfc {

std::string first_non_level(const RowTable& rows, int dim, int levels) {
  std::string where;
  rows.for_each_block([&](const double* values, int64_t first, int64_t n) {
    for (int64_t i = 0; i < n; ++i)
      for (int d = 0; d < dim; ++d) {
        const double v = values[i * rows.cols + d];
        if (v >= 0 && v <= levels - 1 && v == std::floor(v)) continue;
        where = fmt::format("row {}, column {}: {:g} is not an integer in 0..{}", first + i, d, v,
                            levels - 1);
        return false;
      }
    return true;
  });
  return where;
}

template <class T>
void add_dequantization_noise(T* rows, int64_t n, int row, int dim, Random& rng,
                              const int64_t* positions, int64_t batch) {
  if (!positions) batch = n;
  int64_t i = 0;  // the next of the n rows
  for (int64_t p = 0; p < batch; ++p) {
    // Row p of the batch draws its noise whether or not it is one of ours.
    const bool ours = i < n && (!positions || positions[i] == p);
    for (int d = 0; d < dim; ++d) {
      // (k + 0.5) / 2^53 for k in 0 .. 2^53 - 1: in (0, 1), symmetric.
      const double u = (static_cast<double>(rng.next() >> 11) + 0.5) * 0x1.0p-53;
      if (!ours) continue;
      T& v = rows[i * row + d];
      const T level = v;
      v = static_cast<T>(double(level) + u);
      // In f32, 255 + u rounds to 256 for u near 1: stay inside the cell.
      if (v >= level + 1) v = std::nextafter(static_cast<T>(level + 1), T(0));
    }
    if (ours) ++i;
  }
}

void quantize(double* x, int64_t n, int levels) {
  for (int64_t i = 0; i < n; ++i) x[i] = std::clamp(std::floor(x[i]), 0.0, double(levels - 1));
}

double bits_per_dim(double nll, int dim) {
  return nll / (dim * std::numbers::ln2);
}

template void add_dequantization_noise<float>(float*, int64_t, int, int, Random&, const int64_t*,
                                              int64_t);
template void add_dequantization_noise<double>(double*, int64_t, int, int, Random&, const int64_t*,
                                               int64_t);

}  // namespace nfc

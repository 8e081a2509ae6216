#include "compiler/backend/llvm/SmallBatch.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <vector>

namespace nfc {
namespace {

template <class T>
int64_t measure(void* block_entry, void* small_entry, int64_t params, int64_t row, int width) {
  using Entry = void (*)(const T*, const T*, T*, int64_t);
  const std::vector<T> p(static_cast<size_t>(std::max<int64_t>(params, 1)), T(0));
  const std::vector<T> x(static_cast<size_t>(std::max<int64_t>(row, 1)), T(0));
  T out = 0;
  // Fastest of `calls` timed calls, after one untimed (first touch of code
  // and data).
  auto fastest_s = [&](Entry entry, int calls) {
    entry(p.data(), x.data(), &out, 1);
    double best = std::numeric_limits<double>::infinity();
    for (int i = 0; i < calls; ++i) {
      const auto start = std::chrono::steady_clock::now();
      entry(p.data(), x.data(), &out, 1);
      best = std::min(
          best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    return best;
  };
  // A block costs the same for 1 live row as for `width`: time it with one.
  const double block = fastest_s(reinterpret_cast<Entry>(block_entry), 5);
  const double one = fastest_s(reinterpret_cast<Entry>(small_entry), 9);
  const double rows = one > 0 ? std::ceil(block / one) : double(width);
  return std::clamp<int64_t>(static_cast<int64_t>(std::min(rows, double(width))), 2, width);
}

}  // namespace

int64_t measure_small_batch_rows(void* block_entry, void* small_entry, int64_t params, int64_t row,
                                 Precision precision, int width) {
  return precision == Precision::f32
             ? measure<float>(block_entry, small_entry, params, row, width)
             : measure<double>(block_entry, small_entry, params, row, width);
}

}  // namespace nfc

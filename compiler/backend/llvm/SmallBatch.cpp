#include "compiler/backend/llvm/SmallBatch.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <vector>

namespace nfc {
namespace {

// Each entry point gets about this much time: a 784-D flow's block takes
// milliseconds, and its compile is a few hundred.
constexpr double kBudgetSeconds = 2e-3;

template <class T>
int64_t measure(void* block_entry, void* small_entry, int64_t params, int64_t row, int width) {
  using Entry = void (*)(const T*, const T*, T*, int64_t);
  // calloc: untouched zero pages, read without a write fault each.
  const std::unique_ptr<T, decltype(&std::free)> p(
      static_cast<T*>(std::calloc(static_cast<size_t>(std::max<int64_t>(params, 1)), sizeof(T))),
      &std::free);
  const std::vector<T> x(static_cast<size_t>(std::max<int64_t>(row, 1)), T(0));
  if (!p) return std::clamp<int64_t>(5, 2, width);  // no memory to measure: Zen 5's figure
  T out = 0;
  auto seconds = [&](Entry entry) {
    const auto start = std::chrono::steady_clock::now();
    entry(p.get(), x.data(), &out, 1);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  // The fastest of a first call (which touches code and data first, so it
  // is the slowest and sets how many more fit in the budget) and up to
  // `calls` more.
  auto fastest_s = [&](Entry entry, int calls) {
    double best = seconds(entry);
    const int affordable = static_cast<int>(kBudgetSeconds / std::max(best, 1e-9));
    for (int i = 0; i < std::clamp(affordable, 1, calls); ++i)
      best = std::min(best, seconds(entry));
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

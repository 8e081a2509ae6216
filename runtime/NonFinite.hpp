// Where a table of numbers first holds a NaN or an infinity, said as NumPy
// would index it: data files and the C++ API's training rows are refused
// with the same words.
#pragma once

#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

namespace nfc {

// Whether every one of the n values is finite: one pass without an early
// exit, which vectorises (an early-exit loop does not): the C++ API checks
// every batch it is given and the trainer every gradient, and nearly all
// are clean.
template <class T>
bool all_finite(const T* values, int64_t n) {
  unsigned bad = 0;
  for (int64_t i = 0; i < n; ++i) bad |= !(std::fabs(values[i]) <= std::numeric_limits<T>::max());
  return bad == 0;
}

// "row 12, column 1: NaN" for the first non-finite value of the row-major
// [rows, cols] table at `values` (0-based, counted from `first_row`: the
// table may be a block of a larger one), or empty if there is none.
template <class T>
std::string first_non_finite(const T* values, int64_t rows, int cols, int64_t first_row = 0) {
  if (all_finite(values, rows * cols)) return {};
  for (int64_t i = 0; i < rows * cols; ++i) {
    const T v = values[i];
    if (std::isfinite(v)) continue;
    return fmt::format("row {}, column {}: {}", first_row + i / cols, i % cols,
                       std::isnan(v) ? "NaN"
                       : v > 0       ? "inf"
                                     : "-inf");
  }
  return {};
}

}  // namespace nfc

// The interval a numeric option must lie in. Each training option's bound
// is stated once (Trainer.hpp) and used twice: the Trainer refuses values
// outside it for every caller of the C++ API, and the CLI checks its flags
// against it before any work, as usage errors.
#pragma once

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <string>

namespace nfc {

struct NumberBound {
  double lo = 0;
  double hi = std::numeric_limits<double>::infinity();
  bool lo_open = false;  // (lo, hi] rather than [lo, hi]
  bool integer = false;  // only for the description: the type decides

  // NaN and the infinities are outside every bound (CLI11's Range lets NaN
  // through, and an infinite rate or clip norm is never meant).
  bool admits(double v) const {
    return std::isfinite(v) && (lo_open ? v > lo : v >= lo) && v <= hi;
  }

  // "an integer of at least 1", "a finite number above 0", "a number in [0, 0.9]"
  std::string describe() const {
    if (std::isfinite(hi)) return fmt::format("a number in [{}, {}]", lo, hi);
    if (integer) return fmt::format("an integer of at least {}", lo);
    return fmt::format("a finite number {} {}", lo_open ? "above" : "of at least", lo);
  }
};

}  // namespace nfc

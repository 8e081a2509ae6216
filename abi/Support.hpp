// Where a flow's density is positive: the compiler infers it from the
// domains of the layers that read the data (elementwise logit: every column
// in (0, 1)), the runtime answers data outside it with a located count
// instead of NaN losses, and log_prob there is -inf (density 0).
#pragma once

#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace nfc {

// One column's values: an interval, open at its ends (a support's boundary
// has probability 0, and there formulas are often infinite: logit at 0).
struct ColumnRange {
  double lo = -INFINITY, hi = INFINITY;
  bool lo_open = true, hi_open = true;

  bool operator==(const ColumnRange&) const = default;
  bool is_all() const { return lo == -INFINITY && hi == INFINITY; }
  bool contains(double v) const {
    return (v > lo || (v == lo && !lo_open)) && (v < hi || (v == hi && !hi_open));
  }
};

// One range per data column; empty or all ℝ: no restriction.
using Support = std::vector<ColumnRange>;

// "(0, inf)", "[-1, 1]"
inline std::string interval_text(double lo, double hi, bool lo_open, bool hi_open) {
  // + 0.0: -0 (the negation of 0: log(-x0) needs x0 in (-inf, 0)) reads 0.
  return fmt::format("{}{:g}, {:g}{}", lo_open ? "(" : "[", lo + 0.0, hi + 0.0,
                     hi_open ? ")" : "]");
}

// A parameter's kept range (open ends) in words: "positive", "negative",
// "above -1", "below 3", "in (-1, 3)".
inline std::string range_words(double lo, double hi) {
  if (lo == 0 && hi == INFINITY) return "positive";
  if (lo == -INFINITY && hi == 0) return "negative";
  if (hi == INFINITY) return fmt::format("above {:g}", lo + 0.0);
  if (lo == -INFINITY) return fmt::format("below {:g}", hi + 0.0);
  return "in " + interval_text(lo, hi, true, true);
}

inline bool restricted(const Support& s) {
  for (const ColumnRange& c : s)
    if (!c.is_all()) return true;
  return false;
}

// "x0 in (0, 1), x2..x5 in (0, inf)": the restricted columns, runs of equal
// ranges merged; empty when nothing is restricted.
inline std::string describe_support(const Support& s) {
  std::string out;
  for (size_t k = 0; k < s.size();) {
    size_t end = k + 1;
    while (end < s.size() && s[end] == s[k]) ++end;
    if (!s[k].is_all()) {
      if (!out.empty()) out += ", ";
      out += end - k == 1 ? fmt::format("x{}", k) : fmt::format("x{}..x{}", k, end - 1);
      out += " in " + interval_text(s[k].lo, s[k].hi, s[k].lo_open, s[k].hi_open);
    }
    k = end;
  }
  return out;
}

// Rows of a row-major table (rows of `row_dim` values, the data columns
// first) that lie outside the support: how many, and the first one's row,
// column and value.
struct OutsideSupport {
  int64_t rows = 0;
  int64_t first_row = -1;
  int first_column = -1;
  double value = 0;
};

template <class T>
OutsideSupport rows_outside(const Support& s, const T* values, int64_t rows, int row_dim) {
  OutsideSupport out;
  if (!restricted(s)) return out;
  for (int64_t r = 0; r < rows; ++r)
    for (size_t k = 0; k < s.size(); ++k) {
      const double v = double(values[r * row_dim + int64_t(k)]);
      if (s[k].contains(v)) continue;
      if (out.rows++ == 0) out = {1, r, int(k), v};
      break;
    }
  return out;
}

// "12 rows of x.npy lie outside the support x0 in (0, 1): first at row 3
// (x0 = 1.5)"; empty when none does.
inline std::string outside_support_message(const OutsideSupport& o, const std::string& source,
                                           const Support& s) {
  if (o.rows == 0) return {};
  if (o.rows == 1)
    return fmt::format("1 row of {} lies outside the support {}: first at row {} (x{} = {:g})",
                       source, describe_support(s), o.first_row, o.first_column, o.value);
  return fmt::format("{} rows of {} lie outside the support {}: first at row {} (x{} = {:g})",
                     o.rows, source, describe_support(s), o.first_row, o.first_column, o.value);
}

}  // namespace nfc

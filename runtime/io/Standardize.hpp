// Per-column standardisation: flows train best on data with zero mean and
// unit scale, and users should not have to do it by hand. The flow then
// models u = (x - mean) / scale, and densities of x follow from
//   log p_x(x) = log p_u((x - mean) / scale) - sum_j log scale_j.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/io/Dataset.hpp"

namespace nfc {

struct Standardizer {
  std::vector<double> mean, scale;

  // Column means and population standard deviations (divide by n). A
  // constant column gets scale 1, so it maps to 0 instead of dividing by 0.
  static Standardizer fit(const Dataset& data);

  // Replaces the table by its standardised values (doubles in memory).
  void apply(Dataset& data) const;
  void apply(double* rows, int64_t n) const;  // n rows of mean.size() values
  void unapply(double* rows, int64_t n) const;

  // sum_j log scale_j: subtract it from log p_u to get log p_x.
  double log_det_correction() const;
};

}  // namespace nfc

// Per-column standardisation: flows train best on data with zero mean and
// unit scale, and users should not have to do it by hand. The flow then
// models u = (x - mean) / scale, and densities of x follow from
//   log p_x(x) = log p_u((x - mean) / scale) - sum_j log scale_j.
// A conditional flow's rows are (x, c): the context columns are
// standardised too, separately, and take no part in the log-det (the
// density is of x given c).
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/Communicator.hpp"
#include "runtime/io/Dataset.hpp"

namespace nfc {

struct Standardizer {
  std::vector<double> mean, scale;  // per row column: x, then the context
  int x_columns = -1;               // x's columns (the flow's dim), the rest context; -1: all are x

  int x_count() const { return x_columns < 0 ? int(mean.size()) : x_columns; }

  // Column means and population standard deviations (divide by n) of rows
  // whose first x_columns are x. A constant column gets scale 1, so it
  // maps to 0 instead of dividing by 0.
  // With a group, `data` is this rank's shard and the statistics are the
  // whole data set's (collective).
  static Standardizer fit(const Dataset& data, int x_columns, Communicator* group = nullptr);

  // Replaces the table by its standardised values (doubles in memory).
  void apply(Dataset& data) const;
  void apply(double* rows, int64_t n) const;  // n rows of mean.size() values
  // n rows of x alone (x_columns values each) back to data coordinates.
  void unapply_x(double* x, int64_t n) const;
  // n rows of context alone (the other columns) into the flow's coordinates.
  void apply_context(double* c, int64_t n) const;

  // sum of log scale_j over x's columns: subtract it from log p_u to get log p_x.
  double log_det_correction() const;
};

}  // namespace nfc

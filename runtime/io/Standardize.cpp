#include "runtime/io/Standardize.hpp"

#include <cmath>
#include <stdexcept>

namespace nfc {

Standardizer Standardizer::fit(const Dataset& data, int x_columns, Communicator* group) {
  const int d = data.cols;
  Standardizer s{std::vector<double>(d, 0.0), std::vector<double>(d, 0.0), x_columns};
  // With a group each sum covers every rank's shard: mean[j] then the row
  // count, summed over the group.
  std::vector<double> sums(size_t(d) + 1, 0.0);
  data.for_each_block([&](const double* values, int64_t, int64_t n) {
    for (int64_t r = 0; r < n; ++r)
      for (int j = 0; j < d; ++j) sums[size_t(j)] += values[r * d + j];
    return true;
  });
  sums[size_t(d)] = double(data.rows);
  if (group) group->sum(sums.data(), int64_t(sums.size()));
  const double rows = sums[size_t(d)];
  if (rows <= 0) throw std::invalid_argument("Standardizer::fit: no rows");
  for (int j = 0; j < d; ++j) s.mean[j] = sums[size_t(j)] / rows;
  // Two passes: the one-pass sum-of-squares formula cancels catastrophically
  // for data far from the origin.
  data.for_each_block([&](const double* values, int64_t, int64_t n) {
    for (int64_t r = 0; r < n; ++r)
      for (int j = 0; j < d; ++j) {
        const double dev = values[r * d + j] - s.mean[j];
        s.scale[j] += dev * dev;
      }
    return true;
  });
  if (group) group->sum(s.scale.data(), d);
  for (int j = 0; j < d; ++j) {
    const double sd = std::sqrt(s.scale[j] / rows);
    s.scale[j] = sd > 0 ? sd : 1.0;
  }
  return s;
}

void Standardizer::apply(Dataset& data) const {
  if (static_cast<size_t>(data.cols) != mean.size())
    throw std::invalid_argument("Standardizer::apply: column count differs from the fit");
  std::vector<double> values = data.to_vector();
  apply(values.data(), data.rows);
  static_cast<RowTable&>(data) = RowTable(data.rows, data.cols, std::move(values));
}

void Standardizer::apply(double* rows, int64_t n) const {
  const size_t d = mean.size();
  for (int64_t r = 0; r < n; ++r)
    for (size_t j = 0; j < d; ++j) rows[r * d + j] = (rows[r * d + j] - mean[j]) / scale[j];
}

void Standardizer::unapply_x(double* x, int64_t n) const {
  const size_t d = size_t(x_count());
  for (int64_t r = 0; r < n; ++r)
    for (size_t j = 0; j < d; ++j) x[r * d + j] = x[r * d + j] * scale[j] + mean[j];
}

void Standardizer::apply_context(double* c, int64_t n) const {
  const size_t first = size_t(x_count()), d = mean.size() - first;
  for (int64_t r = 0; r < n; ++r)
    for (size_t k = 0; k < d; ++k)
      c[r * d + k] = (c[r * d + k] - mean[first + k]) / scale[first + k];
}

double Standardizer::log_det_correction() const {
  double sum = 0;
  for (int j = 0; j < x_count(); ++j) sum += std::log(scale[size_t(j)]);
  return sum;
}

}  // namespace nfc

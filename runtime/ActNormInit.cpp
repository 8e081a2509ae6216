// ActNorm's data-dependent initialisation (Kingma & Dhariwal 2018): each
// ActNorm layer is set so that its output on the first training batch has
// zero mean and unit variance per dimension. The compiled `actnorm_inputs`
// entry gives every ActNorm layer's input; it runs once per layer because a
// layer's input depends on the ActNorm layers before it.
#include <cmath>

#include "runtime/Flow.hpp"

namespace nfc {

template <class T>
void Flow<T>::init_from_data(const T* x, int64_t n) {
  if (actnorm_.empty() || n <= 0) return;
  const int64_t width = static_cast<int64_t>(actnorm_.size()) * dim_;
  std::vector<T> inputs(static_cast<size_t>(n * width));
  for (size_t k = 0; k < actnorm_.size(); ++k) {
    entries_.actnorm_inputs(params_.data(), x, inputs.data(), n);
    for (int d = 0; d < dim_; ++d) {
      const T* column = inputs.data() + int64_t(k) * dim_ + d;
      double mean = 0, var = 0;  // two passes: no cancellation for large means
      for (int64_t i = 0; i < n; ++i) mean += double(column[i * width]);
      mean /= double(n);
      for (int64_t i = 0; i < n; ++i) var += std::pow(double(column[i * width]) - mean, 2);
      const double sd = std::sqrt(var / double(n) + kActNormEpsilon);
      // z = x exp(-log sd) - mean / sd = (x - mean) / sd
      params_[size_t(actnorm_[k].log_scale + d)] = static_cast<T>(-std::log(sd));
      params_[size_t(actnorm_[k].shift + d)] = static_cast<T>(-mean / sd);
    }
  }
}

template void Flow<float>::init_from_data(const float*, int64_t);
template void Flow<double>::init_from_data(const double*, int64_t);

}  // namespace nfc

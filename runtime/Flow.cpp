// Flow: parameters plus calls through the compiled entry points.
#include "runtime/Flow.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "runtime/Random.hpp"

namespace nfc {

template <class T>
Flow<T>::Flow(std::string name, int dim, std::vector<ParamInfo> table, EntryPoints<T> entries,
              std::shared_ptr<const void> code, BaseSettings base, int context_dim)
    : name_(std::move(name)),
      dim_(dim),
      context_dim_(context_dim),
      table_(std::move(table)),
      entries_(entries),
      code_(std::move(code)),
      base_(base) {
  int64_t total = 0;
  for (const auto& p : table_) total += p.size;
  params_.assign(static_cast<size_t>(total), T(0));
  std::vector<std::string> names;
  std::vector<int64_t> offsets;
  for (const auto& p : table_) {
    names.push_back(p.name);
    offsets.push_back(p.offset);
  }
  base_tensors_ = BaseTensors::find(names, offsets);
}

template <class T>
void Flow<T>::init_params(uint64_t seed) {
  Random rng(seed);
  for (const auto& p : table_)
    for (int64_t k = 0; k < p.size; ++k)
      params_[static_cast<size_t>(p.offset + k)] =
          p.init.empty() ? static_cast<T>(rng.uniform(-p.init_bound, p.init_bound))
                         : static_cast<T>(p.init[static_cast<size_t>(k)]);
  zero_structural(table_, params_.data());
}

template <class T>
void zero_structural(const std::vector<ParamInfo>& table, T* values) {
  for (const auto& p : table) {
    if (p.row_lengths.empty()) continue;
    const int64_t cols = p.shape.at(1);
    for (size_t r = 0; r < p.row_lengths.size(); ++r)
      std::fill(values + p.offset + int64_t(r) * cols + p.row_lengths[r],
                values + p.offset + int64_t(r + 1) * cols, T(0));
  }
}

template void zero_structural(const std::vector<ParamInfo>&, float*);
template void zero_structural(const std::vector<ParamInfo>&, double*);

template <class T>
void Flow<T>::forward(const T* x, T* z, T* logdet, int64_t n) const {
  entries_.forward(params_.data(), x, z, logdet, n);
}

template <class T>
void Flow<T>::inverse(const T* z, T* x, T* logdet, int64_t n) const {
  entries_.inverse(params_.data(), z, x, logdet, n);
}

template <class T>
void Flow<T>::log_prob(const T* x, T* out, int64_t n) const {
  entries_.log_prob(params_.data(), x, out, n);
}

template <class T>
T Flow<T>::nll_grad(const T* x, int64_t n, T* grad) const {
  return entries_.nll_grad(params_.data(), x, n, grad);
}

template <class T>
T Flow<T>::nll_grad(const T* params, const T* x, int64_t n, T* grad) const {
  return entries_.nll_grad(params, x, n, grad);
}

namespace {

// Rows (z, c) from latent rows z ([n, dim]) and the context: one row of C
// values for all, or n rows.
template <class T>
std::vector<T> with_context(const std::vector<T>& z, int64_t n, int dim,
                            const std::vector<T>& context, int C) {
  const auto rows = static_cast<size_t>(n), D = static_cast<size_t>(dim), c = size_t(C);
  if (C == 0 && context.empty()) return z;
  if (C == 0 || (context.size() != c && context.size() != rows * c))
    throw std::invalid_argument("sample: the context has " + std::to_string(context.size()) +
                                " values; the flow needs " + std::to_string(C) +
                                " per sample (one row for all samples, or one per sample)");
  const bool shared = context.size() == c;
  std::vector<T> out(rows * (D + c));
  for (size_t i = 0; i < rows; ++i) {
    std::copy_n(&z[i * D], D, &out[i * (D + c)]);
    std::copy_n(&context[shared ? 0 : i * c], c, &out[i * (D + c) + D]);
  }
  return out;
}

}  // namespace

template <class T>
typename Flow<T>::Samples Flow<T>::sample(int64_t n, uint64_t seed,
                                          const std::vector<T>& context) const {
  Random rng(seed);
  const size_t count = static_cast<size_t>(n) * static_cast<size_t>(dim_);
  std::vector<T> z(count);
  std::vector<double> log_q(static_cast<size_t>(n));
  sample_base(base_, base_tensors_, params_.data(), dim_, n, rng, z.data(), log_q.data());
  Samples s{std::vector<T>(count), std::vector<T>(static_cast<size_t>(n))};
  inverse(with_context(z, n, dim_, context, context_dim_).data(), s.x.data(), s.log_prob.data(), n);
  // log p(x) = log q(z) - log|det g'(z)|
  for (size_t i = 0; i < size_t(n); ++i)
    s.log_prob[i] = static_cast<T>(log_q[i] - double(s.log_prob[i]));
  return s;
}

template class Flow<float>;
template class Flow<double>;

}  // namespace nfc

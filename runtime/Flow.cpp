// Flow: parameters plus calls through the compiled entry points.
#include "runtime/Flow.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "runtime/Random.hpp"

namespace nfc {

template <class T>
Flow<T>::Flow(std::string name, int dim, std::vector<ParamTensor> table, EntryPoints<T> entries,
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
  trainable_ = total;
  for (const auto& p : table_)
    if (p.data) trainable_ = std::min(trainable_, p.offset);
  trained_ = nfc::trained_ranges(table_);
  for (const auto& p : table_)
    if (int64_t* slot = base_tensors_.slot(p.name.c_str())) *slot = p.offset;
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
void zero_structural(const std::vector<ParamTensor>& table, T* values) {
  for (const auto& p : table) {
    if (p.row_lengths.empty()) continue;
    const int64_t cols = p.shape.at(1);
    for (size_t r = 0; r < p.row_lengths.size(); ++r)
      std::fill(values + p.offset + int64_t(r) * cols + p.row_lengths[r],
                values + p.offset + int64_t(r + 1) * cols, T(0));
  }
}

template void zero_structural(const std::vector<ParamTensor>&, float*);
template void zero_structural(const std::vector<ParamTensor>&, double*);

template <class T>
void Flow<T>::set_threads(int threads) {
  if (threads == this->threads()) return;
  parallel_ = threads > 1 ? std::make_shared<Parallel>(threads) : nullptr;
}

// Slices start at multiples of 16 rows, so every slice but the last fills
// whole SIMD blocks (16 lanes at most).
constexpr int64_t kSliceAlign = 16;

template <class T>
template <class F>
void Flow<T>::for_slices(int64_t n, F&& body) const {
  const int threads = this->threads();
  if (!splits(n)) return body(int64_t{0}, n);
  const std::lock_guard<std::mutex> lock(parallel_->call);
  parallel_->pool.run([&](int t) {
    const Slice s = slice_of(n, threads, t, kSliceAlign);
    if (s.end > s.begin) body(s.begin, s.end);
  });
}

template <class T>
void Flow<T>::forward(const T* x, T* z, T* logdet, int64_t n) const {
  const int64_t row = row_dim(), d = dim_;
  for_slices(n, [&](int64_t b, int64_t e) {
    entries_.forward(params_.data(), x + b * row, z + b * d, logdet + b, e - b);
  });
}

template <class T>
void Flow<T>::inverse(const T* z, T* x, T* logdet, int64_t n) const {
  const int64_t row = row_dim(), d = dim_;
  for_slices(n, [&](int64_t b, int64_t e) {
    entries_.inverse(params_.data(), z + b * row, x + b * d, logdet + b, e - b);
  });
}

template <class T>
void Flow<T>::log_prob(const T* x, T* out, int64_t n) const {
  const int64_t row = row_dim();
  for_slices(n, [&](int64_t b, int64_t e) {
    const bool small = entries_.log_prob_small != nullptr && e - b < entries_.small_batch;
    (small ? entries_.log_prob_small : entries_.log_prob)(params_.data(), x + b * row, out + b,
                                                          e - b);
    // The density is 0 off the support, where the compiled formulas give
    // NaN (logit beyond 1) or a number that means nothing.
    if (!restricted_support_) return;
    for (int64_t i = b; i < e; ++i)
      for (size_t k = 0; k < support_.size(); ++k)
        if (!support_[k].contains(double(x[i * row + int64_t(k)]))) {
          out[i] = -std::numeric_limits<T>::infinity();
          break;
        }
  });
}

template <class T>
T Flow<T>::nll_grad(const T* x, int64_t n, T* grad) const {
  return nll_grad(params_.data(), x, n, grad);
}

namespace {

// y = a y + b x, over restrict pointers so that it vectorises.
template <class T>
void scale_add(T* __restrict y, T a, const T* __restrict x, T b, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = a * y[i] + b * x[i];
}

}  // namespace

// Each slice's gradient is the mean over its rows: the batch's is their
// sum weighted by rows / n. Slice 0 writes into `grad`, the others into
// buffers of their own; then every thread combines a range of parameters.
template <class T>
void* Flow<T>::Parallel::workspace(int thread, int64_t bytes) {
  if (work.size() <= size_t(thread)) work.resize(size_t(thread) + 1);
  work[size_t(thread)].resize(static_cast<size_t>(bytes));
  return work[size_t(thread)].data();
}

template <class T>
T Flow<T>::nll_grad(const T* params, const T* x, int64_t n, T* grad) const {
  return mean_gradient(entries_.nll_grad, entries_.gradient_workspace, params, x, row_dim(), n,
                       grad);
}

template <class T>
T Flow<T>::kl_grad(const T* eps, int64_t n, T* grad) const {
  if (!has_target()) throw std::logic_error("kl_grad: the flow was compiled without a target");
  return mean_gradient(entries_.kl_grad, entries_.kl_workspace, params_.data(), eps, dim_, n, grad);
}

template <class T>
void Flow<T>::target_log_prob(const T* x, T* out, int64_t n) const {
  if (!has_target())
    throw std::logic_error("target_log_prob: the flow was compiled without a target");
  for_slices(n, [&](int64_t b, int64_t e) {
    entries_.target_log_prob(params_.data(), x + b * dim_, out + b, e - b);
  });
}

template <class T>
void Flow<T>::draw_noise(int64_t n, Random& rng, T* eps) const {
  std::vector<double> log_q(static_cast<size_t>(n));
  // A diag_normal base is reparameterised inside kl_grad: its noise is N(0, I).
  BaseSettings noise = base_;
  if (noise.kind == BaseKind::diag_normal) noise.kind = BaseKind::standard_normal;
  sample_base(noise, base_tensors_, params_.data(), dim_, n, rng, eps, log_q.data());
}

template <class T>
std::vector<T> Flow<T>::samples_of_noise(const T* eps, int64_t n) const {
  const auto D = static_cast<size_t>(dim_), rows = static_cast<size_t>(n);
  std::vector<T> z(eps, eps + rows * D), x(rows * D), logdet(rows);
  if (base_.kind == BaseKind::diag_normal)  // z = mean + exp(log_scale) eps
    for (size_t i = 0; i < rows; ++i)
      for (size_t k = 0; k < D; ++k)
        z[i * D + k] = static_cast<T>(
            double(params_[size_t(base_tensors_.mean) + k]) +
            std::exp(double(params_[size_t(base_tensors_.log_scale) + k])) * double(z[i * D + k]));
  inverse(z.data(), x.data(), logdet.data(), n);
  return x;
}

template <class T>
T Flow<T>::mean_gradient(typename EntryPoints<T>::Gradient entry, int64_t work, const T* params,
                         const T* x, int64_t row, int64_t n, T* grad) const {
  const int threads = this->threads();
  if (!splits(n)) {
    const std::lock_guard<std::mutex> lock(workspace_->call);
    workspace_->bytes.resize(static_cast<size_t>(work));
    return entry(params, x, n, grad, workspace_->bytes.data());
  }
  const std::lock_guard<std::mutex> lock(parallel_->call);
  const int64_t size = static_cast<int64_t>(params_.size());
  auto& buffers = parallel_->grads;  // slice t > 0 writes buffers[t - 1]
  buffers.resize(static_cast<size_t>(threads - 1));
  for (auto& b : buffers) b.resize(static_cast<size_t>(size));
  std::vector<T> loss(static_cast<size_t>(threads)), share(static_cast<size_t>(threads));
  for (int t = 0; t < threads; ++t) {
    const Slice s = slice_of(n, threads, t, kSliceAlign);
    share[size_t(t)] = static_cast<T>(s.end - s.begin) / static_cast<T>(n);
  }
  std::vector<void*> workspaces;
  for (int t = 0; t < threads; ++t) workspaces.push_back(parallel_->workspace(t, work));
  parallel_->pool.run([&](int t) {
    const Slice s = slice_of(n, threads, t, kSliceAlign);
    T* out = t == 0 ? grad : buffers[size_t(t - 1)].data();
    loss[size_t(t)] = entry(params, x + s.begin * row, s.end - s.begin, out, workspaces[size_t(t)]);
  });
  // Structural zeros are 0 in every slice's gradient: only the trained
  // ranges are combined (a MADE's masked half is not read).
  parallel_->pool.run([&](int t) {
    for_share(trained_, threads, t, [&](int64_t b, int64_t e) {
      for (int u = 1; u < threads; ++u)
        scale_add(grad + b, u == 1 ? share[0] : T(1), buffers[size_t(u - 1)].data() + b,
                  share[size_t(u)], e - b);
    });
  });
  T total = 0;
  for (int t = 0; t < threads; ++t) total += share[size_t(t)] * loss[size_t(t)];
  return total;
}

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

template <class T>
typename Flow<T>::Samples Flow<T>::sample(int64_t n, uint64_t seed, const std::vector<T>& context,
                                          double temperature) const {
  Random rng(seed);
  return sample(n, rng, context, temperature);
}

template <class T>
typename Flow<T>::Samples Flow<T>::sample(int64_t n, Random& rng, const std::vector<T>& context,
                                          double temperature) const {
  const size_t count = static_cast<size_t>(n) * static_cast<size_t>(dim_);
  std::vector<T> z(count);
  std::vector<double> log_q(static_cast<size_t>(n));
  sample_base(base_, base_tensors_, params_.data(), dim_, n, rng, z.data(), log_q.data(),
              temperature);
  // Rows [z, context] for a conditional flow; z itself otherwise (no copy).
  if (context_dim_ > 0 || !context.empty()) z = with_context(z, n, dim_, context, context_dim_);
  Samples s{std::vector<T>(count), std::vector<T>(static_cast<size_t>(n))};
  inverse(z.data(), s.x.data(), s.log_prob.data(), n);
  // log p(x) = log q(z) - log|det g'(z)|
  for (size_t i = 0; i < size_t(n); ++i)
    s.log_prob[i] = static_cast<T>(log_q[i] - double(s.log_prob[i]));
  return s;
}

template class Flow<float>;
template class Flow<double>;
template std::vector<float> with_context(const std::vector<float>&, int64_t, int,
                                         const std::vector<float>&, int);
template std::vector<double> with_context(const std::vector<double>&, int64_t, int,
                                          const std::vector<double>&, int);

}  // namespace nfc

// A compiled flow at run time: its parameters and its entry points. The
// runtime knows nothing of text, graphs or LLVM: it receives a parameter
// table and C function pointers (the ABI of abi/EntryPoints.hpp) and keeps
// whatever owns the code alive through an opaque handle.
//
// Directions: forward = f (x -> z, log|det f'(x)|), inverse = g = f^-1
// (z -> x, log|det g'(z)| = -log|det f'(x)|). Batches are row-major [n, dim].
// A conditional flow (context_dim() = C > 0) models p(x | c): every input
// row carries its context after the data, (x, c) for forward, log_prob and
// nll_grad and (z, c) for inverse, rows of dim() + C; outputs stay [n, dim].
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "abi/DataFormat.hpp"
#include "abi/EntryPoints.hpp"
#include "abi/ParamTensor.hpp"
#include "abi/Support.hpp"
#include "runtime/Base.hpp"
#include "runtime/ParamRanges.hpp"
#include "runtime/Random.hpp"
#include "runtime/ThreadPool.hpp"

namespace nfc {

// Sets every structural zero of `values` (laid out by `table`) to 0.
template <class T>
void zero_structural(const std::vector<ParamTensor>& table, T* values);

template <class T>
struct EntryPoints {
  using Map = abi::Map<T>;
  using Density = abi::Density<T>;
  // Returns the batch's mean NLL; overwrites grad with its gradient. `work`
  // is gradient_workspace bytes of scratch, one per concurrent call.
  using Gradient = abi::MeanGradient<T>;
  Map forward = nullptr;
  Map inverse = nullptr;
  Density log_prob = nullptr;
  // log_prob compiled for small batches (fewer than small_batch rows), where
  // log_prob's wider blocks would compute mostly dead lanes; may be null.
  Density log_prob_small = nullptr;
  int64_t small_batch = 0;
  Gradient nll_grad = nullptr;
  int64_t gradient_workspace = 0;
  // x -> the inputs of every ActNorm layer, concatenated (width layers * dim);
  // null if the flow has none.
  Density actnorm_inputs = nullptr;
  // With a target (variational training; null otherwise): x -> log p~(x),
  // and noise rows eps -> the mean reverse-KL loss and its gradient.
  Density target_log_prob = nullptr;
  Gradient kl_grad = nullptr;
  int64_t kl_workspace = 0;
};

// Where an ActNorm layer's tensors sit in the parameter buffer.
struct ActNormSlot {
  int64_t log_scale = 0, shift = 0;
};

// Added to the variance in ActNorm's initialisation: a dimension constant
// over the batch gets scale 1e6 rather than a division by zero.
inline constexpr double kActNormEpsilon = 1e-12;

template <class T>
class Flow {
 public:
  Flow(std::string name, int dim, std::vector<ParamTensor> table, EntryPoints<T> entries,
       std::shared_ptr<const void> code, BaseSettings base = {}, int context_dim = 0);

  const std::string& name() const { return name_; }
  int dim() const { return dim_; }
  int context_dim() const { return context_dim_; }
  int row_dim() const { return dim_ + context_dim_; }  // an input row: (x, c) or (z, c)
  // log_prob takes batches of fewer rows than this one sample at a time
  // (EntryPoints::log_prob_small); 0: never.
  int64_t small_batch_rows() const {
    return entries_.log_prob_small != nullptr ? entries_.small_batch : 0;
  }
  const std::vector<ParamTensor>& param_table() const { return table_; }
  std::vector<T>& params() { return params_; }
  const std::vector<T>& params() const { return params_; }

  // Every tensor uniform in +-init_bound (PyTorch's Linear default), seeded;
  // tensors with declared initial values (map parameters) get those.
  void init_params(uint64_t seed);
  BaseKind base() const { return base_.kind; }
  const BaseSettings& base_settings() const { return base_; }
  const BaseTensors& base_tensors() const { return base_tensors_; }

  // Where the density is positive (make_flow sets it from the compiler's
  // inference; empty: everywhere). log_prob is -inf outside.
  void set_support(Support s) {
    support_ = std::move(s);
    restricted_support_ = restricted(support_);
  }
  const Support& support() const { return support_; }

  // What the data rows are (make_flow sets it from the model): integer
  // levels a first `dequantize` layer spreads out (runtime/Dequantize.hpp:
  // training and evaluation add the noise, not log_prob), an image shape.
  void set_format(DataFormat f) { format_ = std::move(f); }
  const DataFormat& format() const { return format_; }

  // The flow's ActNorm layers, in order (make_flow sets them).
  void set_actnorm_layers(std::vector<ActNormSlot> slots) { actnorm_ = std::move(slots); }
  const std::vector<ActNormSlot>& actnorm_layers() const { return actnorm_; }
  // ActNorm's data-dependent initialisation on the batch x ([n, dim]): layer
  // by layer in order, log_scale = -log(std) and shift = -mean / std of the
  // layer's input over the batch (per dimension, std = sqrt(variance +
  // kActNormEpsilon), variance over n), so its output on x has mean 0 and
  // variance 1. Later layers see the earlier ones already initialised.
  void init_from_data(const T* x, int64_t n);

  // Threads that run each batch (default 1). With more, a batch of at least
  // kMinSliceRows rows per thread is cut into contiguous slices run
  // concurrently: forward, inverse, log_prob and sample give the same
  // numbers as on one thread (samples are independent); nll_grad sums the
  // slices' mean gradients weighted by their share of the batch, which
  // changes the rounding only (and is the same for the same thread count).
  // Calls on one flow from several threads are serialised while threads > 1,
  // and nll_grad calls always (they share the gradient's workspace).
  void set_threads(int threads);
  int threads() const { return parallel_ ? parallel_->pool.size() : 1; }
  // The flow's workers (null with one thread): the optimizer splits its update over them.
  ThreadPool* pool() const { return parallel_ ? &parallel_->pool : nullptr; }
  static constexpr int64_t kMinSliceRows = 64;

  void forward(const T* x, T* z, T* logdet, int64_t n) const;
  void inverse(const T* z, T* x, T* logdet, int64_t n) const;
  void log_prob(const T* x, T* out, int64_t n) const;  // -inf off the support
  // Mean over the batch of -log p(x) and its gradient w.r.t. params()
  // (grad has params().size() entries). `params` defaults to params().
  T nll_grad(const T* x, int64_t n, T* grad) const;
  T nll_grad(const T* params, const T* x, int64_t n, T* grad) const;

  // Variational training (compiled with a target; has_target()): log p~(x)
  // of the target, and the batch mean over base noise rows eps ([n, dim];
  // N(0, I) for a diag_normal base, the base's own draws otherwise: see
  // draw_noise) of log q(x) - log p~(x) at x = g(z(eps)), with its gradient.
  bool has_target() const { return entries_.kl_grad != nullptr; }
  void target_log_prob(const T* x, T* out, int64_t n) const;
  T kl_grad(const T* eps, int64_t n, T* grad) const;
  // n rows of the noise kl_grad takes, from `rng`.
  void draw_noise(int64_t n, Random& rng, T* eps) const;
  // The samples x = g(z(eps)) ([n, dim]) that noise rows stand for.
  std::vector<T> samples_of_noise(const T* eps, int64_t n) const;
  // Parameters before the first data tensor (ParamTensor::data): the ones
  // training may change.
  int64_t trainable_size() const { return trainable_; }
  // The trainable parameters less their structural zeros (ParamRanges.hpp):
  // what the Adam update and the gradient's reduction over threads walk.
  const std::vector<ParamRange>& trained_ranges() const { return trained_; }

  // n samples x = g(z), z ~ q from `seed`; also returns log p(x) =
  // log q(z) - log|det g'(z)|, which costs nothing extra. A conditional
  // flow samples x ~ p(x | c) with `context` one row of C values for every
  // sample, or n rows (row-major [n, C]); throws std::invalid_argument for
  // another size.
  struct Samples {
    std::vector<T> x;
    std::vector<T> log_prob;
  };
  // `temperature`: the base's noise scaled by it (sample_base; 1 = none).
  Samples sample(int64_t n, uint64_t seed, const std::vector<T>& context = {},
                 double temperature = 1) const;
  // The same from a generator that continues: n samples drawn as blocks
  // n1, n2, ... from one Random equal n samples from Random(seed) — which
  // lets a caller stream any number of samples in constant memory.
  Samples sample(int64_t n, Random& rng, const std::vector<T>& context = {},
                 double temperature = 1) const;

 private:
  std::string name_;
  int dim_;
  int context_dim_;
  std::vector<ParamTensor> table_;
  EntryPoints<T> entries_;
  std::shared_ptr<const void> code_;
  BaseSettings base_;
  BaseTensors base_tensors_;
  std::vector<ActNormSlot> actnorm_;
  Support support_;
  bool restricted_support_ = false;
  DataFormat format_;
  std::vector<T> params_;
  int64_t trainable_ = 0;
  std::vector<ParamRange> trained_;
  // Workers, the per-slice gradient buffers they fill and the gradient's
  // workspaces (one per thread). Shared by copies of the flow; `call`
  // serialises the calls that use them.
  struct Parallel {
    explicit Parallel(int threads) : pool(threads) {}
    ThreadPool pool;
    std::mutex call;
    std::vector<std::vector<T>> grads;
    std::vector<std::vector<unsigned char>> work;
    void* workspace(int thread, int64_t bytes);
  };
  std::shared_ptr<Parallel> parallel_;
  // One thread's gradient workspace (threads() == 1).
  struct Workspace {
    std::mutex call;
    std::vector<unsigned char> bytes;
  };
  std::shared_ptr<Workspace> workspace_ = std::make_shared<Workspace>();
  // Whether a batch of n rows is cut over the threads: more than one, and
  // at least kMinSliceRows rows each.
  bool splits(int64_t n) const { return threads() > 1 && n >= kMinSliceRows * threads(); }
  // Runs body(begin, end) over slices of [0, n) on the workers, or on the
  // calling thread when the batch is too small to split.
  template <class F>
  void for_slices(int64_t n, F&& body) const;
  // A mean_gradient entry over rows of `row` values, sliced over the threads.
  T mean_gradient(typename EntryPoints<T>::Gradient entry, int64_t work, const T* params,
                  const T* rows, int64_t row, int64_t n, T* grad) const;
};

// Rows (z, c) from n rows z of `dim` values and a context of C values:
// one row for all, or n rows. Throws std::invalid_argument for another
// count.
template <class T>
std::vector<T> with_context(const std::vector<T>& z, int64_t n, int dim,
                            const std::vector<T>& context, int C);

extern template class Flow<float>;
extern template class Flow<double>;

}  // namespace nfc

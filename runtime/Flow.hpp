// A compiled flow at run time: its parameters and its entry points. The
// runtime knows nothing of text, graphs or LLVM: it receives a parameter
// table and C function pointers (the ABI of compiler/Program.hpp) and keeps
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
#include <string>
#include <vector>

namespace nfc {

struct ParamInfo {
  std::string name;
  std::vector<int> shape;
  int64_t offset = 0;
  int64_t size = 0;
  double init_bound = 0;     // uniform in [-init_bound, init_bound] ...
  std::vector<double> init;  // ... unless these exact values are given
  // A matrix {rows, cols} whose element (r, c) with c >= row_lengths[r] is a
  // structural zero (a MADE mask): compiled code may read it as 0, so it
  // must stay 0. Empty: every element is free.
  std::vector<int> row_lengths;
};

// Sets every structural zero of `values` (laid out by `table`) to 0.
template <class T>
void zero_structural(const std::vector<ParamInfo>& table, T* values);

// The base distribution q(z) of the latent space.
enum class BaseKind { standard_normal, uniform };

template <class T>
struct EntryPoints {
  using Map = void (*)(const T* params, const T* in, T* out, T* logdet, int64_t n);
  using Density = void (*)(const T* params, const T* x, T* log_prob, int64_t n);
  // Returns the batch's mean NLL; overwrites grad with its gradient.
  using Gradient = T (*)(const T* params, const T* x, int64_t n, T* grad);
  Map forward = nullptr;
  Map inverse = nullptr;
  Density log_prob = nullptr;
  Gradient nll_grad = nullptr;
};

template <class T>
class Flow {
 public:
  Flow(std::string name, int dim, std::vector<ParamInfo> table, EntryPoints<T> entries,
       std::shared_ptr<const void> code, BaseKind base = BaseKind::standard_normal,
       int context_dim = 0);

  const std::string& name() const { return name_; }
  int dim() const { return dim_; }
  int context_dim() const { return context_dim_; }
  int row_dim() const { return dim_ + context_dim_; }  // an input row: (x, c) or (z, c)
  const std::vector<ParamInfo>& param_table() const { return table_; }
  std::vector<T>& params() { return params_; }
  const std::vector<T>& params() const { return params_; }

  // Every tensor uniform in +-init_bound (PyTorch's Linear default), seeded;
  // tensors with declared initial values (map parameters) get those.
  void init_params(uint64_t seed);
  BaseKind base() const { return base_; }

  void forward(const T* x, T* z, T* logdet, int64_t n) const;
  void inverse(const T* z, T* x, T* logdet, int64_t n) const;
  void log_prob(const T* x, T* out, int64_t n) const;
  // Mean over the batch of -log p(x) and its gradient w.r.t. params()
  // (grad has params().size() entries). `params` defaults to params().
  T nll_grad(const T* x, int64_t n, T* grad) const;
  T nll_grad(const T* params, const T* x, int64_t n, T* grad) const;

  // n samples x = g(z), z ~ q from `seed`; also returns log p(x) =
  // log q(z) - log|det g'(z)|, which costs nothing extra. A conditional
  // flow samples x ~ p(x | c) with `context` one row of C values for every
  // sample, or n rows (row-major [n, C]); throws std::invalid_argument for
  // another size.
  struct Samples {
    std::vector<T> x;
    std::vector<T> log_prob;
  };
  Samples sample(int64_t n, uint64_t seed, const std::vector<T>& context = {}) const;

 private:
  std::string name_;
  int dim_;
  int context_dim_;
  std::vector<ParamInfo> table_;
  EntryPoints<T> entries_;
  std::shared_ptr<const void> code_;
  BaseKind base_;
  std::vector<T> params_;
};

extern template class Flow<float>;
extern template class Flow<double>;

}  // namespace nfc

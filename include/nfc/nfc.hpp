// nfc's C++ API: compile a flow described in the .nf language (JIT, in
// process), initialise or load its parameters, train it, evaluate its
// density, sample from it, save it. Self-contained: the standard library
// only; link the CMake target nfc::nfc. Documented in docs/api.md.
//
// Directions: forward = f (x -> z, with log|det f'(x)|), inverse =
// g = f^-1 (z -> x, with log|det g'(z)| = -log|det f'(x)|). Data are
// row-major [n, dim] arrays of double, whatever precision the flow runs in.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "Error.hpp"
#include "Precision.hpp"

namespace nfc {

// Rows of a built-in data set (`nfc train --data builtin:NAME`), row-major
// with builtin_columns(name) values each (a conditional set's context
// last); "moons", "8gaussians", ...: the list `nfc train --help` prints.
// Throws DataError for an unknown name or rows < 1.
std::vector<double> builtin_data(const std::string& name, int64_t rows, uint64_t seed = 0);
int builtin_columns(const std::string& name);

struct TrainConfig {
  int64_t steps = 2000;
  int64_t eval_samples = 4096;  // fit_target: draws per ELBO, log Z and ESS estimate
  int64_t batch = 256;
  double lr = 1e-3;          // Adam, cosine schedule
  double val_frac = 0.1;     // share of rows held out for validation (0 = none)
  int64_t eval_every = 100;  // steps between validations and progress records
  int64_t patience = 0;      // validations without improvement before stopping; 0 = never
  uint64_t seed = 0;         // the split and the batches
};

// What a training callback sees. Return false from it to stop training.
struct TrainProgress {
  int64_t step = 0;    // steps completed
  int64_t total = 0;   // steps planned
  double loss = 0;     // mean training NLL (of the step, or since the last record)
  double val_nll = 0;  // NaN unless this is an evaluation with a validation set
  double lr = 0;
  bool evaluation = false;  // a record: every eval_every steps and at the end
  // fit_target's evaluations (NaN otherwise): the ELBO, the importance-
  // sampling estimate of log Z with its standard error, and ESS / draws.
  double elbo = std::numeric_limits<double>::quiet_NaN();
  double log_z = std::numeric_limits<double>::quiet_NaN();
  double log_z_se = std::numeric_limits<double>::quiet_NaN();
  double ess = std::numeric_limits<double>::quiet_NaN();
};

struct TrainResult {
  int64_t steps = 0;
  double best_val_nll = 0;     // NaN without a validation set
  int64_t best_step = -1;      // whose parameters the model now holds
  bool stopped_early = false;  // patience ran out, or the callback said stop
  // Not a fit: non-finite steps in a row stopped it, or the result NLL is
  // not finite or orders of magnitude above the first step's loss.
  bool diverged = false;
  // fit_target: the estimates at the parameters the model holds (NaN otherwise).
  double elbo = std::numeric_limits<double>::quiet_NaN();
  double log_z = std::numeric_limits<double>::quiet_NaN();
  double log_z_se = std::numeric_limits<double>::quiet_NaN();
  double ess = std::numeric_limits<double>::quiet_NaN();
};

// A context for the pointer forms of Model's functions: `rows` rows of
// context_dim() values at `values`.
template <class T>
struct Context {
  const T* values = nullptr;
  int64_t rows = 0;
};

// Model::emit_cpp's choices: the namespace and file names (the flow's name
// if empty), and whether to add nll_grad() (as `nfc emit-cpp --with-grad`).
struct EmitCppOptions {
  std::string ns;
  bool with_grad = false;
};

class Model {
 public:
  // Compiles .nf source text or a .nf file; throws CompileError. `name`
  // labels the diagnostics. Parameters start initialised from seed 0.
  // `target` selects a `target` for fit_target: NAME in the source, FILE.nf
  // (the only target of a file of targets) or FILE.nf:NAME; its data paths
  // are relative to the file it is written in (`name`'s folder for the
  // source).
  static Model compile(std::string_view source, Precision precision = Precision::f64,
                       const std::string& name = "model.nf", const std::string& target = "");
  static Model compile_file(const std::string& path, Precision precision = Precision::f64,
                            const std::string& target = "");

  const std::string& name() const;  // the flow's name in the source
  int dim() const;
  // The context's length of a conditional flow p(x | c) (`context = C`); 0
  // otherwise. Every function that reads rows takes the context as a last
  // argument: C values for all rows, or [n, C] (row i's context in row i).
  // A conditional model without one, or an unconditional one with one,
  // throws Error.
  int context_dim() const;
  Precision precision() const;
  // Threads that run each batch and the optimizer update (default 1). Maps
  // and sampling give the same numbers on any count; gradients differ in
  // rounding only.
  void set_threads(int threads);
  int threads() const;

  // Parameters: flat, in the order of param_names() (each tensor row-major).
  void init_params(uint64_t seed);  // as nfc train: PyTorch-like uniform, declared values
  std::vector<double> params() const;
  void set_params(const std::vector<double>& values);
  std::vector<std::string> param_names() const;
  // Each tensor's shape, in the order of param_names().
  std::vector<std::vector<int64_t>> param_shapes() const;
  // .safetensors, one tensor per parameter, as `nfc train` writes them.
  void save(const std::string& path) const;
  void load(const std::string& path);

  // Fits the flow to `rows` ([n, dim]) with Adam; the model then holds the
  // best validated parameters. `on_progress` (may be empty) is called
  // after every step; returning false stops training. A conditional flow
  // trains on rows (x, c) of dim + context_dim values, or on x and its
  // context apart (the second form).
  TrainResult train(const std::vector<double>& rows, const TrainConfig& config = {},
                    const std::function<bool(const TrainProgress&)>& on_progress = {});
  TrainResult train(const std::vector<double>& x, const std::vector<double>& context,
                    const TrainConfig& config = {},
                    const std::function<bool(const TrainProgress&)>& on_progress = {});

  // Fits the flow to the target it was compiled with by reverse KL
  // (variational inference): fresh base draws each step, the parameters of
  // the best ELBO kept. Throws Error for a model compiled without a target.
  TrainResult fit_target(const TrainConfig& config = {},
                         const std::function<bool(const TrainProgress&)>& on_progress = {});
  // The target's unnormalised log-density log p~(x) for every row of x.
  std::vector<double> target_log_prob(const std::vector<double>& x) const;

  // log p(x) (or log p(x | c)) for every row of x ([n, dim]).
  std::vector<double> log_prob(const std::vector<double>& x,
                               const std::vector<double>& context = {}) const;
  // z = f(x) into z ([n, dim]), log|det f'(x)| into logdet ([n]).
  void forward(const std::vector<double>& x, std::vector<double>& z, std::vector<double>& logdet,
               const std::vector<double>& context = {}) const;
  // x = g(z) into x, log|det g'(z)| into logdet.
  void inverse(const std::vector<double>& z, std::vector<double>& x, std::vector<double>& logdet,
               const std::vector<double>& context = {}) const;

  struct Samples {
    std::vector<double> x;         // [n, dim]
    std::vector<double> log_prob;  // [n]
  };
  // n samples from base draws seeded by `seed` (as `nfc sample --seed`),
  // at the context given for a conditional flow.
  Samples sample(int64_t n, uint64_t seed, const std::vector<double>& context = {}) const;

  // The mean of -log p(x) (or -log p(x | c)) over the rows of x and its
  // gradient with respect to params() (grad is resized to their count):
  // for an optimiser of the caller's own. The rows are taken as given
  // (no dequantisation noise).
  double nll_and_grad(const std::vector<double>& x, std::vector<double>& grad,
                      const std::vector<double>& context = {}) const;

  // The same functions over the caller's memory, for T = float or double:
  // no copy when T is the model's precision (and, for a conditional flow,
  // the context comes inside the rows, (x, c)), one conversion otherwise.
  // `x` is n rows of dim() values, row-major; `context` null, or
  // `context_rows` rows (1: for every row; n: one per row) of
  // context_dim() values. Outputs hold n values (out, logdet, log_prob;
  // log_prob may be null) or n rows of dim() (z, x), and grad
  // params().size(). Throws DataError for a value that is not finite.
  template <class T>
  void log_prob(const T* x, int64_t n, T* out, Context<T> context = {}) const;
  template <class T>
  void forward(const T* x, int64_t n, T* z, T* logdet, Context<T> context = {}) const;
  template <class T>
  void inverse(const T* z, int64_t n, T* x, T* logdet, Context<T> context = {}) const;
  template <class T>
  void sample(int64_t n, uint64_t seed, T* x, T* log_prob, Context<T> context = {}) const;
  template <class T>
  double nll_and_grad(const T* x, int64_t n, T* grad, Context<T> context = {}) const;
  // Trains on n rows (x, c) of dim() + context_dim() values in place (never
  // copied: the rows must stay unchanged until train returns), holding
  // out config.val_frac of them for validation, or, if n_val > 0,
  // validating on the n_val rows at `val` instead (config.val_frac unused).
  template <class T>
  TrainResult train(const T* rows, int64_t n, const T* val, int64_t n_val,
                    const TrainConfig& config = {},
                    const std::function<bool(const TrainProgress&)>& on_progress = {});

  // Writes the flow with its current parameters as standalone C++17
  // (`nfc emit-cpp`): NS.hpp and NS.cpp in `dir` (created if missing), NS
  // the namespace (the flow's name if empty); `with_grad` adds
  // nll_grad(). Returns the two files' paths.
  std::vector<std::string> emit_cpp(const std::string& dir,
                                    const EmitCppOptions& options = {}) const;

  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;
  ~Model();

  struct Impl;

 private:
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace nfc

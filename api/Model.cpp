// The public API (include/nfc/nfc.hpp) over the compiler driver, the
// runtime Flow and the Trainer: a Flow<float> or Flow<double> behind one
// double-valued interface, and internal errors turned into nfc::Error.
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <tuple>
#include <variant>

#include "compiler/backend/cpp/CppModule.hpp"
#include "driver/Compile.hpp"
#include "driver/JitCache.hpp"
#include "include/nfc/nfc.hpp"
#include "runtime/Builtin.hpp"
#include "runtime/DataError.hpp"
#include "runtime/Hash.hpp"
#include "runtime/KeptRanges.hpp"
#include "runtime/NonFinite.hpp"
#include "runtime/Trainer.hpp"
#include "runtime/io/Checkpoint.hpp"
#include "support/Echo.hpp"
#include "support/InternalError.hpp"

namespace nfc {

struct Model::Impl {
  std::unique_ptr<CompiledModel> compiled;
  std::string source_hash;
  std::variant<Flow<float>, Flow<double>> flow;

  // Calls f(flow) with the flow of the model's precision.
  template <class F>
  decltype(auto) visit(F&& f) {
    return std::visit(std::forward<F>(f), flow);
  }
  template <class F>
  decltype(auto) visit(F&& f) const {
    return std::visit(std::forward<F>(f), flow);
  }
};

namespace {

std::variant<Flow<float>, Flow<double>> make_any_flow(const CompiledModel& m) {
  if (m.precision == Precision::f32) return make_flow<float>(m);
  return make_flow<double>(m);
}

// Runs f, turning every exception into nfc::Error: the header promises a
// host program that nothing else escapes (a std::length_error from an
// empty vector once aborted one).
template <class F>
decltype(auto) guarded(F&& f) {
  try {
    return f();
  } catch (const Error&) {  // DataError among them
    throw;
  } catch (const InternalError& e) {
    throw Error(std::string("internal error in nfc: ") + e.what());
  } catch (const std::bad_alloc&) {
    throw Error("out of memory");
  } catch (const std::exception& e) {
    throw Error(std::string("internal error in nfc: ") + e.what());
  }
}

template <class T>
std::vector<double> doubles(const std::vector<T>& v) {
  return {v.begin(), v.end()};
}

void check_rows(const std::vector<double>& x, int dim, const char* what) {
  if (x.size() % static_cast<size_t>(dim) != 0)
    throw DataError(std::string(what) + ": " + std::to_string(x.size()) +
                    " values are not whole rows of dim " + std::to_string(dim));
}

// A context vector's rows (C values for all rows, or n x C) after
// checking that it is one of the two for model m, n rows of x.
int64_t context_rows(const Model& m, const char* what, int64_t n,
                     const std::vector<double>& context) {
  const int C = m.context_dim();
  if (C == 0 && context.empty()) return 0;
  if (C == 0)
    throw DataError(
        fmt::format("{}: '{}' has no context; a context needs a flow declared with "
                    "context = N",
                    what, m.name()));
  if (context.size() != size_t(C) && context.size() != size_t(n) * size_t(C))
    throw DataError(
        fmt::format("{}: '{}' is conditional (context {}): the context has {} values, "
                    "give {} (one for all rows) or {} x {} (one per row)",
                    what, m.name(), C, context.size(), C, n, C));
  return int64_t(context.size()) / C;
}

// The same check for the pointer forms, which count the context in rows.
template <class T>
void check_context(const Model& m, const char* what, int64_t n, Context<T> context) {
  const int C = m.context_dim();
  if (C == 0 && !context.values) return;
  if (C == 0)
    throw DataError(
        fmt::format("{}: '{}' has no context; a context needs a flow declared with "
                    "context = N",
                    what, m.name()));
  if (!context.values)
    throw DataError(
        fmt::format("{}: '{}' is conditional (context {}): give its context", what, m.name(), C));
  if (context.rows != 1 && context.rows != n)
    throw DataError(
        fmt::format("{}: '{}' is conditional (context {}): the context has {} rows, give 1 "
                    "(for all rows) or {} (one per row)",
                    what, m.name(), C, context.rows, n));
}

template <class T>
void check_finite(const T* values, int64_t rows, int cols, const char* what, const char* name) {
  if (const std::string where = first_non_finite(values, rows, cols); !where.empty())
    throw DataError(fmt::format("{}: {} at {}", what, name, where));
}

// The flow's precision (a Flow<float> or Flow<double>).
template <class F>
using Real = std::decay_t<decltype(std::declval<F>().params()[0])>;

// The n input rows of an entry point in the flow's precision U, from the
// caller's x (n rows of dim values) and context, after checking them:
// x itself when U is T and there is no context, else `copy` filled with
// rows (x, c).
template <class U, class T>
const U* input_rows(const Model& m, const char* what, const char* name, const T* x, int64_t n,
                    Context<T> context, std::vector<U>& copy) {
  const int D = m.dim(), C = m.context_dim();
  if (n < 0) throw DataError(fmt::format("{}: {} rows", what, n));
  if (n > 0 && !x) throw DataError(fmt::format("{}: {} is null", what, name));
  check_context(m, what, n, context);
  check_finite(x, n, D, what, name);
  if (C > 0) check_finite(context.values, context.rows, C, what, "context");
  if constexpr (std::is_same_v<T, U>)
    if (C == 0) return x;
  const int W = D + C;
  copy.resize(size_t(n) * size_t(W));
  for (int64_t i = 0; i < n; ++i) {
    U* row = &copy[size_t(i * W)];
    for (int j = 0; j < D; ++j) row[j] = static_cast<U>(x[i * D + j]);
    const T* c = context.values + (context.rows == 1 ? 0 : i * C);
    for (int k = 0; k < C; ++k) row[D + k] = static_cast<U>(c[k]);
  }
  return copy.data();
}

// compute(o) writes `count` values of U; they land in out (of T), written
// in place when U is T.
template <class U, class T, class F>
void into(T* out, int64_t count, F&& compute) {
  if constexpr (std::is_same_v<T, U>) {
    compute(out);
  } else {
    std::vector<U> values(static_cast<size_t>(count));
    compute(values.data());
    std::copy(values.begin(), values.end(), out);
  }
}

// Calls f(flow, rows) with the model's flow and its n input rows (see
// input_rows), every failure as an nfc::Error.
template <class T, class F>
decltype(auto) on_rows(const Model::Impl& impl, const Model& m, const char* what, const char* name,
                       const T* x, int64_t n, Context<T> context, F&& f) {
  return guarded([&] {
    return impl.visit([&](const auto& flow) {
      using U = Real<decltype(flow)>;
      std::vector<U> copy;
      return f(flow, input_rows<U>(m, what, name, x, n, context, copy));
    });
  });
}

}  // namespace

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;
Model::~Model() = default;

namespace {

// What compile and compile_file share: source (and a target file's) to a
// compiled model, or CompileError with every diagnostic.
std::unique_ptr<CompiledModel> compile_checked(std::string_view source, Precision precision,
                                               const std::string& name,
                                               std::optional<TargetSelection> target) {
  Diagnostics diags(name, source);
  const bool in_file = target && target->file_source;
  Diagnostics target_diags(in_file ? target->file_name : "", in_file ? *target->file_source : "");
  if (target && target->file_source) target->file_diags = &target_diags;
  JitOptions options;
  options.precision = precision;
  options.cache = default_object_store();  // NFC_CACHE_DIR=off: none
  auto compiled = compile_model(source, diags, options, target);
  if (!compiled) {
    std::ostringstream text;
    diags.print(text);
    target_diags.print(text);
    // The first error's place, for callers that show it themselves (an
    // editor, Python's nfc.CompileError).
    const Diagnostics& first = diags.has_errors() ? diags : target_diags;
    Diagnostic d;
    if (first.has_errors()) d = first.errors().front();
    throw CompileError(text.str(), first.file_name(), d.at.line, d.at.col, d.message);
  }
  return compiled;
}

// The model behind a Model: compiled, its flow made.
std::unique_ptr<Model::Impl> compiled_impl(std::string_view source, Precision precision,
                                           const std::string& name, const std::string& target) {
  return guarded([&] {
    std::optional<TargetSelection> selection;
    if (!target.empty()) selection = parse_target_selection(target, name);
    auto compiled = compile_checked(source, precision, name, std::move(selection));
    auto flow = make_any_flow(*compiled);
    return std::unique_ptr<Model::Impl>(
        new Model::Impl{std::move(compiled), hex64(fnv1a64(source)), std::move(flow)});
  });
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open '" + path + "'");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

Model Model::compile(std::string_view source, Precision precision, const std::string& name,
                     const std::string& target) {
  Model model(compiled_impl(source, precision, name, target));
  model.init_params(0);
  return model;
}

Model Model::compile_file(const std::string& path, Precision precision, const std::string& target) {
  return compile(read_text(path), precision, path, target);
}

const std::string& Model::name() const {
  return impl_->compiled->graph->name;
}
int Model::dim() const {
  return impl_->compiled->graph->dim;
}
int Model::context_dim() const {
  return impl_->compiled->graph->context_dim;
}
Precision Model::precision() const {
  return impl_->compiled->precision;
}
void Model::set_threads(int threads) {
  if (threads < 1 || threads > kMaxThreads)
    throw Error(
        fmt::format("set_threads: the thread count must be 1 to {}, not {}", kMaxThreads, threads));
  impl_->visit([&](auto& f) { f.set_threads(threads); });
}
int Model::threads() const {
  return impl_->visit([](const auto& f) { return f.threads(); });
}

void Model::init_params(uint64_t seed) {
  impl_->visit([&](auto& f) { f.init_params(seed); });
}

std::vector<double> Model::params() const {
  return impl_->visit([](const auto& f) { return doubles(f.params()); });
}

void Model::set_params(const std::vector<double>& values) {
  impl_->visit([&](auto& f) {
    if (values.size() != f.params().size())
      throw Error("set_params: " + std::to_string(values.size()) + " values for " +
                  std::to_string(f.params().size()) + " parameters");
    if (const std::string problem = kept_range_problem(f.param_table(), values.data());
        !problem.empty())
      throw Error("set_params: " + problem);
    for (size_t i = 0; i < values.size(); ++i)
      f.params()[i] = static_cast<std::decay_t<decltype(f.params()[0])>>(values[i]);
  });
}

std::vector<std::string> Model::param_names() const {
  std::vector<std::string> names;
  impl_->visit([&](const auto& f) {
    for (const ParamTensor& p : f.param_table()) names.push_back(p.name);
  });
  return names;
}

void Model::save(const std::string& path) const {
  guarded([&] {
    impl_->visit([&](const auto& f) {
      const bool f32 = precision() == Precision::f32;
      save_params(path, f.param_table(), doubles(f.params()),
                  f32 ? TensorDType::f32 : TensorDType::f64, {f.name(), impl_->source_hash},
                  std::nullopt);
    });
  });
}

void Model::load(const std::string& path) {
  guarded([&] {
    impl_->visit([&](const auto& f) {
      const SavedParams saved = load_params(path, f.param_table(), f.dim(), f.context_dim());
      if (saved.standardizer)
        throw Error(path +
                    ": the parameters were trained on standardised data, which this "
                    "API does not apply; use nfc sample/eval, or emit-cpp");
      set_params(saved.values);
    });
  });
}

namespace {

TrainOptions options_of(const TrainConfig& config) {
  TrainOptions o;
  o.steps = config.steps;
  o.batch = config.batch;
  o.val_frac = config.val_frac;
  o.eval_every = config.eval_every;
  o.patience = config.patience;
  o.seed = config.seed;
  o.eval_samples = config.eval_samples;
  o.optimizer.lr = config.lr;
  return o;
}

// Runs the trainer `make(flow)` builds, reporting to `on_progress`; the
// model then holds the best parameters, also after a stop by the callback.
template <class Make>
TrainResult run_training(Model::Impl& impl,
                         const std::function<bool(const TrainProgress&)>& on_progress, Make make) {
  TrainState state;
  bool stopped_by_callback = false;
  VariationalStats final_stats;
  guarded([&] {
    impl.visit([&](auto& f) {
      auto trainer = make(f);
      trainer.run(state, [&](const TrainEvent& e) {
        if (!on_progress || e.kind == TrainEvent::Kind::done) return true;
        const bool evaluation = e.kind == TrainEvent::Kind::evaluation;
        TrainProgress p{e.step, e.total, e.loss, e.val_nll, e.lr, evaluation};
        if (evaluation && trainer.variational()) {
          const VariationalStats& v = e.state.history.back().variational;
          std::tie(p.elbo, p.log_z, p.log_z_se, p.ess) =
              std::tie(v.elbo, v.log_z, v.log_z_se, v.ess);
        }
        const bool go_on = on_progress(p);
        stopped_by_callback |= !go_on;
        return go_on;
      });
      if (stopped_by_callback && !state.best_params.empty())
        for (size_t i = 0; i < f.params().size(); ++i)
          f.params()[i] = static_cast<std::decay_t<decltype(f.params()[0])>>(state.best_params[i]);
      if (trainer.variational()) final_stats = trainer.variational_stats();
    });
  });
  TrainResult r;
  r.steps = state.step;
  r.best_val_nll =
      std::isfinite(state.best_val) ? state.best_val : std::numeric_limits<double>::quiet_NaN();
  r.best_step = state.best_step;
  r.stopped_early = state.stopped_early || stopped_by_callback;
  r.diverged = state.diverged;
  std::tie(r.elbo, r.log_z, r.log_z_se, r.ess) =
      std::tie(final_stats.elbo, final_stats.log_z, final_stats.log_z_se, final_stats.ess);
  return r;
}

}  // namespace

TrainResult Model::train(const std::vector<double>& rows, const TrainConfig& config,
                         const std::function<bool(const TrainProgress&)>& on_progress) {
  const int width = dim() + context_dim();
  if (context_dim() > 0 && rows.size() % size_t(width) != 0)
    throw DataError(
        fmt::format("train: {} values are not whole rows of {} (dim {}, then context {})",
                    rows.size(), width, dim(), context_dim()));
  check_rows(rows, width, "train");
  return train(rows.data(), int64_t(rows.size()) / width, static_cast<const double*>(nullptr), 0,
               config, on_progress);
}

TrainResult Model::train(const std::vector<double>& x, const std::vector<double>& context,
                         const TrainConfig& config,
                         const std::function<bool(const TrainProgress&)>& on_progress) {
  check_rows(x, dim(), "train");
  const int64_t n = int64_t(x.size()) / dim();
  const int64_t c_rows = context_rows(*this, "train", n, context);
  std::vector<double> rows;
  input_rows<double>(*this, "train", "x", x.data(), n, Context<double>{context.data(), c_rows},
                     rows);
  return train(rows.empty() ? x : rows, config, on_progress);
}

template <class T>
TrainResult Model::train(const T* rows, int64_t n, const T* val, int64_t n_val,
                         const TrainConfig& config,
                         const std::function<bool(const TrainProgress&)>& on_progress) {
  const int width = dim() + context_dim();
  if (n < 0 || n_val < 0) throw DataError(fmt::format("train: {} rows", std::min(n, n_val)));
  if ((n > 0 && !rows) || (n_val > 0 && !val)) throw DataError("train: the rows are null");
  const ElementType element{'f', int(sizeof(T))};
  // Read in place, whatever the flow's precision: the table converts each
  // batch as the trainer gathers it.
  RowTable table(n, width, element, rows, nullptr), validation;
  if (n_val > 0) validation = RowTable(n_val, width, element, val, nullptr);
  const TrainOptions o = options_of(config);
  return run_training(*impl_, on_progress,
                      [&]<class U>(Flow<U>& f) { return Trainer<U>(f, table, validation, o); });
}

TrainResult Model::fit_target(const TrainConfig& config,
                              const std::function<bool(const TrainProgress&)>& on_progress) {
  if (impl_->compiled->graph->kl < 0)
    throw Error("fit_target: the model was compiled without a target (Model::compile's target)");
  const TrainOptions o = options_of(config);
  return run_training(*impl_, on_progress, [&]<class T>(Flow<T>& f) { return Trainer<T>(f, o); });
}

std::vector<double> Model::target_log_prob(const std::vector<double>& x) const {
  if (impl_->compiled->graph->kl < 0)
    throw Error("target_log_prob: the model was compiled without a target");
  check_rows(x, dim(), "target_log_prob");
  const int64_t n = int64_t(x.size()) / dim();
  std::vector<double> out(static_cast<size_t>(n));
  on_rows(*impl_, *this, "target_log_prob", "x", x.data(), n, Context<double>{},
          [&]<class U>(const Flow<U>& f, const U* rows) {
            into<U>(out.data(), n, [&](U* o) { f.target_log_prob(rows, o, n); });
          });
  return out;
}

std::vector<double> Model::log_prob(const std::vector<double>& x,
                                    const std::vector<double>& context) const {
  check_rows(x, dim(), "log_prob");
  const int64_t n = int64_t(x.size()) / dim();
  std::vector<double> out(static_cast<size_t>(n));
  log_prob(x.data(), n, out.data(),
           Context<double>{context.data(), context_rows(*this, "log_prob", n, context)});
  return out;
}

void Model::forward(const std::vector<double>& x, std::vector<double>& z,
                    std::vector<double>& logdet, const std::vector<double>& context) const {
  check_rows(x, dim(), "forward");
  const int64_t n = int64_t(x.size()) / dim();
  const Context<double> c{context.data(), context_rows(*this, "forward", n, context)};
  z.resize(x.size());
  logdet.resize(size_t(n));
  forward(x.data(), n, z.data(), logdet.data(), c);
}

void Model::inverse(const std::vector<double>& z, std::vector<double>& x,
                    std::vector<double>& logdet, const std::vector<double>& context) const {
  check_rows(z, dim(), "inverse");
  const int64_t n = int64_t(z.size()) / dim();
  const Context<double> c{context.data(), context_rows(*this, "inverse", n, context)};
  x.resize(z.size());
  logdet.resize(size_t(n));
  inverse(z.data(), n, x.data(), logdet.data(), c);
}

Model::Samples Model::sample(int64_t n, uint64_t seed, const std::vector<double>& context) const {
  if (n < 0) throw DataError("sample: n must not be negative");
  const Context<double> c{context.data(), context_rows(*this, "sample", n, context)};
  Samples s{std::vector<double>(size_t(n) * size_t(dim())), std::vector<double>(size_t(n))};
  sample(n, seed, s.x.data(), s.log_prob.data(), c);
  return s;
}

double Model::nll_and_grad(const std::vector<double>& x, std::vector<double>& grad,
                           const std::vector<double>& context) const {
  check_rows(x, dim(), "nll_and_grad");
  const int64_t n = int64_t(x.size()) / dim();
  const Context<double> c{context.data(), context_rows(*this, "nll_and_grad", n, context)};
  grad.resize(impl_->visit([](const auto& f) { return f.params().size(); }));
  return nll_and_grad(x.data(), n, grad.data(), c);
}

template <class T>
void Model::log_prob(const T* x, int64_t n, T* out, Context<T> context) const {
  on_rows(*impl_, *this, "log_prob", "x", x, n, context,
          [&]<class U>(const Flow<U>& f, const U* rows) {
            into<U>(out, n, [&](U* o) { f.log_prob(rows, o, n); });
          });
}

template <class T>
void Model::forward(const T* x, int64_t n, T* z, T* logdet, Context<T> context) const {
  on_rows(*impl_, *this, "forward", "x", x, n, context,
          [&]<class U>(const Flow<U>& f, const U* rows) {
            into<U>(z, n * dim(),
                    [&](U* zz) { into<U>(logdet, n, [&](U* ld) { f.forward(rows, zz, ld, n); }); });
          });
}

template <class T>
void Model::inverse(const T* z, int64_t n, T* x, T* logdet, Context<T> context) const {
  on_rows(*impl_, *this, "inverse", "z", z, n, context,
          [&]<class U>(const Flow<U>& f, const U* rows) {
            into<U>(x, n * dim(),
                    [&](U* xx) { into<U>(logdet, n, [&](U* ld) { f.inverse(rows, xx, ld, n); }); });
          });
}

template <class T>
void Model::sample(int64_t n, uint64_t seed, T* x, T* log_prob, Context<T> context) const {
  if (n < 0) throw DataError("sample: n must not be negative");
  if (n > 0 && !x) throw DataError("sample: x is null");
  check_context(*this, "sample", n, context);
  const int C = context_dim();
  if (C > 0) check_finite(context.values, context.rows, C, "sample", "context");
  guarded([&] {
    impl_->visit([&](const auto& f) {
      using U = Real<decltype(f)>;
      const std::vector<U> c(context.values, context.values + context.rows * C);
      const auto s = f.sample(n, seed, c);
      std::copy(s.x.begin(), s.x.end(), x);
      if (log_prob) std::copy(s.log_prob.begin(), s.log_prob.end(), log_prob);
    });
  });
}

template <class T>
double Model::nll_and_grad(const T* x, int64_t n, T* grad, Context<T> context) const {
  if (n < 1) throw DataError("nll_and_grad: no rows");
  return on_rows(*impl_, *this, "nll_and_grad", "x", x, n, context,
                 [&]<class U>(const Flow<U>& f, const U* rows) {
                   double loss = 0;
                   into<U>(grad, int64_t(f.params().size()),
                           [&](U* g) { loss = double(f.nll_grad(rows, n, g)); });
                   return loss;
                 });
}

std::vector<std::vector<int64_t>> Model::param_shapes() const {
  std::vector<std::vector<int64_t>> shapes;
  impl_->visit([&](const auto& f) {
    for (const ParamTensor& p : f.param_table())
      shapes.emplace_back(p.shape.begin(), p.shape.end());
  });
  return shapes;
}

std::vector<std::string> Model::emit_cpp(const std::string& dir, const EmitCppOptions& o) const {
  return guarded([&] {
    CppModuleOptions options;
    options.ns = o.ns.empty() ? name() : o.ns;
    if (!is_cpp_namespace_name(options.ns))
      throw Error("emit_cpp: '" + echoed(options.ns) + "' cannot name a C++ namespace" +
                  (o.ns.empty() ? "; choose one with EmitCppOptions::ns" : ""));
    options.precision = precision();
    options.with_grad = o.with_grad;
    options.source_hash = impl_->source_hash;
    const CppFiles files = emit_cpp_module(*impl_->compiled->graph, params(), options);
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw Error("emit_cpp: cannot create '" + dir + "': " + ec.message());
    std::vector<std::string> written;
    for (const auto& [file, text] : {std::pair{files.header_name, &files.header},
                                     std::pair{files.source_name, &files.source}}) {
      const std::string path = (std::filesystem::path(dir) / file).string();
      std::ofstream out(path, std::ios::binary);
      out << *text;
      if (!out.flush()) throw Error("emit_cpp: cannot write '" + path + "'");
      written.push_back(path);
    }
    return written;
  });
}

std::vector<double> builtin_data(const std::string& name, int64_t rows, uint64_t seed) {
  return guarded([&] { return generate_builtin(name, rows, seed); });
}

int builtin_columns(const std::string& name) {
  return guarded([&] {
    generate_builtin(name, 1, 0);  // DataError for an unknown name
    return builtin_dim(name);
  });
}

// The pointer forms exist for float and double.
#define NFC_MODEL_POINTER_FORMS(T)                                                               \
  template void Model::log_prob<T>(const T*, int64_t, T*, Context<T>) const;                     \
  template void Model::forward<T>(const T*, int64_t, T*, T*, Context<T>) const;                  \
  template void Model::inverse<T>(const T*, int64_t, T*, T*, Context<T>) const;                  \
  template void Model::sample<T>(int64_t, uint64_t, T*, T*, Context<T>) const;                   \
  template double Model::nll_and_grad<T>(const T*, int64_t, T*, Context<T>) const;               \
  template TrainResult Model::train<T>(const T*, int64_t, const T*, int64_t, const TrainConfig&, \
                                       const std::function<bool(const TrainProgress&)>&);
NFC_MODEL_POINTER_FORMS(float)
NFC_MODEL_POINTER_FORMS(double)
#undef NFC_MODEL_POINTER_FORMS

}  // namespace nfc

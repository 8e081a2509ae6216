// The public API (include/nfc/nfc.hpp) over the compiler driver, the
// runtime Flow and the Trainer: a Flow<float> or Flow<double> behind one
// double-valued interface, and internal errors turned into nfc::Error.
#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <tuple>
#include <variant>

#include "driver/Compile.hpp"
#include "include/nfc/nfc.hpp"
#include "runtime/DataError.hpp"
#include "runtime/Hash.hpp"
#include "runtime/KeptRanges.hpp"
#include "runtime/Trainer.hpp"
#include "runtime/io/Checkpoint.hpp"
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
  } catch (const Error&) {
    throw;
  } catch (const DataError& e) {
    throw Error(e.what());
  } catch (const InternalError& e) {
    throw Error(std::string("internal error in nfc: ") + e.what());
  } catch (const std::bad_alloc&) {
    throw Error("out of memory");
  } catch (const std::exception& e) {
    throw Error(std::string("internal error in nfc: ") + e.what());
  }
}

template <class T>
std::vector<T> converted(const std::vector<double>& v) {
  return {v.begin(), v.end()};
}

template <class T>
std::vector<double> doubles(const std::vector<T>& v) {
  return {v.begin(), v.end()};
}

void check_rows(const std::vector<double>& x, int dim, const char* what) {
  if (x.size() % static_cast<size_t>(dim) != 0)
    throw Error(std::string(what) + ": " + std::to_string(x.size()) +
                " values are not whole rows of dim " + std::to_string(dim));
}

// Rows of x (whole rows of dim) followed by their context, as the entry
// points read them: the context is C values for every row or n x C. x
// itself for a flow without context, which then must get none.
std::vector<double> with_context_rows(const Model& m, const char* what,
                                      const std::vector<double>& x,
                                      const std::vector<double>& context) {
  check_rows(x, m.dim(), what);
  const int C = m.context_dim();
  const size_t n = x.size() / size_t(m.dim());
  if (C == 0 && context.empty()) return x;
  if (C == 0)
    throw Error(
        fmt::format("{}: '{}' has no context; a context needs a flow declared with "
                    "context = N",
                    what, m.name()));
  if (context.size() != size_t(C) && context.size() != n * size_t(C))
    throw Error(
        fmt::format("{}: '{}' is conditional (context {}): the context has {} values, "
                    "give {} (one for all rows) or {} x {} (one per row)",
                    what, m.name(), C, context.size(), C, n, C));
  return with_context(x, int64_t(n), m.dim(), context, C);
}

// A density (`call`: log_prob, target_log_prob) of whole rows of `dim`
// (with their context), one value per row, converted to and from T.
template <class Call>
std::vector<double> density_rows(const Model::Impl& impl, int dim, const char* what,
                                 const std::vector<double>& x, Call call) {
  check_rows(x, dim, what);
  const auto n = static_cast<int64_t>(x.size()) / dim;
  return guarded([&] {
    return impl.visit([&](const auto& f) {
      using T = std::decay_t<decltype(f.params()[0])>;
      const std::vector<T> in = converted<T>(x);
      std::vector<T> out(static_cast<size_t>(n));
      call(f, in.data(), out.data(), n);
      return doubles(out);
    });
  });
}

// forward or inverse (`call`) on whole rows of `row_dim` (x or z, then the
// context), converted to and from T; out has the rows' first `dim` columns.
template <class Call>
void map_rows(const Model::Impl& impl, int row_dim, int dim, const char* what,
              const std::vector<double>& in, std::vector<double>& out, std::vector<double>& logdet,
              Call call) {
  check_rows(in, row_dim, what);
  const auto n = static_cast<int64_t>(in.size()) / row_dim;
  guarded([&] {
    impl.visit([&](const auto& f) {
      using T = std::decay_t<decltype(f.params()[0])>;
      const std::vector<T> a = converted<T>(in);
      std::vector<T> b(size_t(n) * size_t(dim)), ld(static_cast<size_t>(n));
      call(f, a.data(), b.data(), ld.data(), n);
      out = doubles(b);
      logdet = doubles(ld);
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
  auto compiled = compile_model(source, diags, options, target);
  if (!compiled) {
    std::ostringstream text;
    diags.print(text);
    target_diags.print(text);
    throw CompileError(text.str());
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
  if (threads < 1) throw Error("set_threads: the thread count must be at least 1");
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
    throw Error(fmt::format("train: {} values are not whole rows of {} (dim {}, then context {})",
                            rows.size(), width, dim(), context_dim()));
  check_rows(rows, width, "train");
  const TrainOptions o = options_of(config);
  const auto n = static_cast<int64_t>(rows.size()) / width;
  return run_training(*impl_, on_progress,
                      [&]<class T>(Flow<T>& f) { return Trainer<T>(f, rows, n, o); });
}

TrainResult Model::train(const std::vector<double>& x, const std::vector<double>& context,
                         const TrainConfig& config,
                         const std::function<bool(const TrainProgress&)>& on_progress) {
  return train(with_context_rows(*this, "train", x, context), config, on_progress);
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
  return density_rows(
      *impl_, dim(), "target_log_prob", x,
      [](const auto& f, const auto* in, auto* out, int64_t n) { f.target_log_prob(in, out, n); });
}

std::vector<double> Model::log_prob(const std::vector<double>& x,
                                    const std::vector<double>& context) const {
  return density_rows(
      *impl_, dim() + context_dim(), "log_prob", with_context_rows(*this, "log_prob", x, context),
      [](const auto& f, const auto* in, auto* out, int64_t n) { f.log_prob(in, out, n); });
}

void Model::forward(const std::vector<double>& x, std::vector<double>& z,
                    std::vector<double>& logdet, const std::vector<double>& context) const {
  map_rows(*impl_, dim() + context_dim(), dim(), "forward",
           with_context_rows(*this, "forward", x, context), z, logdet,
           [](const auto& f, const auto* in, auto* out, auto* ld, int64_t n) {
             f.forward(in, out, ld, n);
           });
}

void Model::inverse(const std::vector<double>& z, std::vector<double>& x,
                    std::vector<double>& logdet, const std::vector<double>& context) const {
  map_rows(*impl_, dim() + context_dim(), dim(), "inverse",
           with_context_rows(*this, "inverse", z, context), x, logdet,
           [](const auto& f, const auto* in, auto* out, auto* ld, int64_t n) {
             f.inverse(in, out, ld, n);
           });
}

Model::Samples Model::sample(int64_t n, uint64_t seed, const std::vector<double>& context) const {
  if (n < 0) throw Error("sample: n must not be negative");
  // Checked as the context of n rows of x would be.
  with_context_rows(*this, "sample", std::vector<double>(size_t(n) * size_t(dim())), context);
  return guarded([&] {
    return impl_->visit([&](const auto& f) {
      using T = std::decay_t<decltype(f.params()[0])>;
      const auto s = f.sample(n, seed, converted<T>(context));
      return Samples{doubles(s.x), doubles(s.log_prob)};
    });
  });
}

}  // namespace nfc

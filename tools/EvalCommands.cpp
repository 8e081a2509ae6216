// `nfc sample`, `nfc eval` and `nfc logprob`: using a (trained) flow.
#include <fmt/format.h>
#include <fmt/ostream.h>

#include <cmath>
#include <functional>
#include <iostream>

#include "runtime/Builtin.hpp"
#include "tools/FlowIO.hpp"

namespace nfc::cli {

namespace {

struct UseOptions {
  ModelOptions model;
  std::string params;
  uint64_t init_seed = 0;
  std::string data;
  uint64_t data_seed = 0;
  int64_t data_rows = 10000;
  std::string out;
  int64_t n = 10;
  uint64_t seed = 1;
  std::vector<double> context;  // sample: --context
  std::string context_file;     // sample: --context-file
  bool bits_per_dim = false;
  double temperature = 1;          // sample
  CLI::Option* n_given = nullptr;  // sample: whether -n was given
};

void add_params_option(CLI::App* cmd, UseOptions& o, bool required) {
  auto* opt = cmd->add_option("--params", o.params, "trained parameters (.safetensors)");
  if (required) opt->required();
}

void add_data_options(CLI::App* cmd, UseOptions& o) {
  cmd->add_option("--data", o.data, "data: FILE.npy, FILE.csv, FILE.idx[.gz] or builtin:NAME")
      ->required();
  cmd->add_option("--seed", o.seed, "dequantised flows: seed of the noise per row (default 1)");
  cmd->add_option("--context-file", o.context_file,
                  "conditional flows: the context of each data row, from the same row of this "
                  "file (e.g. IDX labels)");
  cmd->add_option("--data-seed", o.data_seed, "seed of a builtin dataset (default 0)");
  cmd->add_option("--data-rows", o.data_rows, "rows of a builtin dataset (default 10000)");
}

std::vector<std::string> column_names(int dim, bool with_log_prob) {
  std::vector<std::string> names;
  for (int d = 0; d < dim; ++d) names.push_back("x" + std::to_string(d));
  if (with_log_prob) names.push_back("log_prob");
  return names;
}

void print_sample(const double* x, int dim, double log_prob) {
  for (int d = 0; d < dim; ++d) fmt::print("{:.6g},", x[d]);
  fmt::print("{:.6g}\n", log_prob);
}

// Finite parameters can still overflow (float32 at large weights), and an
// inverse without a closed form is NaN where it finds no root (a draw
// outside an image nfc could not bound): a NaN sample is not a sample, and
// its mean log p(x) printed "-nan", exit 0.
// Checked per block, before it is written; the message counts the block's.
// A dequantised flow's continuous density leaks a little mass outside its
// support (0, L)^D (a squeezed logit inverts onto a wider interval): such a
// draw has log p = -inf and is clamped to the edge levels, as RealNVP clips
// its samples; only its x must be finite (`levels`).
void refuse_non_finite(const std::vector<double>& x, const std::vector<double>& lp, int dim,
                       int64_t first, int64_t total, bool f32, bool levels) {
  int64_t bad = 0;
  for (size_t i = 0; i < lp.size(); ++i) {
    bool finite = levels || std::isfinite(lp[i]);
    for (int d = 0; d < dim; ++d) finite = finite && std::isfinite(x[i * size_t(dim) + size_t(d)]);
    bad += !finite;
  }
  if (bad == 0) return;
  throw UserError(fmt::format(
      "{} of {} samples{} have a non-finite value or log p(x): the flow overflows at these "
      "parameters{}, or has no inverse at those draws; nothing was written",
      bad, int64_t(lp.size()),
      int64_t(lp.size()) == total ? "" : fmt::format(" (from sample {} of {})", first, total),
      f32 ? " in f32 (try --precision f64)" : ""));
}

// Samples a PNG grid holds at most (a 100 x 100 grid of 28 x 28 images is
// 5600 pixels wide at zoom 2).
constexpr int64_t kMaxGrid = 10000;

template <class T>
void sample(UseOptions o) {
  const LoadedModel m = compile_model_file(o.model);
  const auto r = ready_flow<T>(m, o.params, o.init_seed, o.model.threads);
  const SampleContext context =
      sample_context(r.flow.name(), r.flow.context_dim(), o.context, o.context_file);
  // A context file gives one sample per row unless -n says otherwise.
  if (context.rows > 1 && o.n_given->count() == 0) o.n = context.rows;
  if (o.n < 1) throw CLI::ValidationError("-n", "must be at least 1");  // usage: exit 2
  if (!(o.temperature > 0) || !std::isfinite(o.temperature))
    throw CLI::ValidationError("--temperature", "must be a finite number > 0");
  if (o.temperature != 1 && !tempers(r.flow.base()))
    throw UserError(
        "--temperature needs a base with a scale (normal, diag_normal, student_t or "
        "mixture); '" +
        r.flow.name() + "' samples a uniform base");
  if (context.rows > 1 && context.rows != o.n)
    throw UserError(fmt::format("{} has {} rows of context, but -n asks for {} samples",
                                o.context_file, context.rows, o.n));
  const int dim = r.flow.dim();
  const int context_dim = r.flow.context_dim();
  // Drawn in blocks from one generator (the same samples as one draw of n),
  // so -n 100000000 streams to the file in constant memory.
  constexpr int64_t kBlock = 1 << 16;
  Random rng(o.seed);
  double mean = 0;
  int64_t shown = 0, inside = 0;
  const bool levels = r.flow.format().dequantized();
  auto draw_all = [&](const std::function<void(const double* x, int64_t n)>& take) {
    for (int64_t first = 0; first < o.n; first += kBlock) {
      const int64_t n = std::min(kBlock, o.n - first);
      std::vector<double> block_context = context.values;
      if (context.rows > 1)
        block_context.assign(context.values.begin() + first * context_dim,
                             context.values.begin() + (first + n) * context_dim);
      const auto [x, lp] = data_samples(r, n, rng, block_context, o.temperature);
      refuse_non_finite(x, lp, dim, first, o.n, std::is_same_v<T, float>, levels);
      for (double v : lp) {
        if (std::isfinite(v)) {
          mean += v;
          ++inside;
        }
      }
      take(x.data(), n);
      for (int64_t i = 0; shown < 20 && i < n; ++i, ++shown)
        if (o.out.empty()) print_sample(&x[size_t(i * dim)], dim, lp[size_t(i)]);
    }
  };
  if (ends_with(o.out, ".png")) {  // a grid of images, all in memory
    if (o.n > kMaxGrid)
      throw UserError(fmt::format("-n {} is too many for a PNG grid (at most {})", o.n, kMaxGrid));
    std::vector<double> all;
    draw_all([&](const double* x, int64_t n) { all.insert(all.end(), x, x + n * dim); });
    write_image_grid(o.out, image_rows(r.flow, all, "a PNG of samples"));
    fmt::print(std::cerr, "wrote a grid of {} samples to {}\n", o.n, o.out);
  } else if (!o.out.empty()) {
    write_table_streamed(o.out, column_names(dim, false), o.n, dim, std::is_same_v<T, float>,
                         [&](const AppendRows& append) { draw_all(append); });
    fmt::print(std::cerr, "wrote {} samples to {}\n", o.n, o.out);
  } else {
    fmt::print("{}\n", fmt::join(column_names(dim, true), ","));
    draw_all([](const double*, int64_t) {});
    if (o.n > 20) fmt::print("... ({} more; use -o FILE.npy|.csv for all)\n", o.n - 20);
  }
  fmt::print(std::cerr, "{} samples from {}: mean log p(x) = {:.4f}{}\n", o.n, r.flow.name(),
             mean / double(std::max<int64_t>(inside, 1)),
             inside == o.n ? ""
                           : fmt::format(" over the {} drawn inside (0, {})^{}; {} fell outside "
                                         "and were clamped to the edge levels",
                                         inside, r.flow.format().levels, dim, o.n - inside));
}

template <class T>
void eval(const UseOptions& o) {
  const LoadedModel m = compile_model_file(o.model);
  const auto r = ready_flow<T>(m, o.params, o.init_seed, o.model.threads);
  const Dataset data = load_flow_data(r.flow, o.data, o.data_seed, o.data_rows, o.context_file);
  // Off the support the density is 0: the mean NLL would be inf.
  if (const std::string outside = outside_support(r, data, o.data); !outside.empty())
    throw UserError(outside);
  const auto lp = data_log_prob(r, data, o.seed);
  double nll = 0;
  for (double v : lp) nll -= v / double(data.rows);
  fmt::print("{}: {} rows, mean NLL {:.6f} nats", o.data, data.rows, nll);
  if (o.bits_per_dim || r.flow.format().dequantized())
    fmt::print(", {:.6f} bits/dim", bits_per_dim(nll, r.flow.dim()));
  if (is_builtin(o.data)) {
    if (auto truth = builtin_log_density(o.data.substr(8))) {
      double kl = 0;
      data.for_each_block([&](const double* values, int64_t first, int64_t n) {
        for (int64_t i = 0; i < n; ++i)
          kl += ((*truth)(&values[size_t(i * data.cols)]) - lp[size_t(first + i)]) /
                double(data.rows);
        return true;
      });
      fmt::print(", KL(true || model) {:.6f}", kl);
    }
  }
  fmt::print("\n");
}

template <class T>
void logprob(const UseOptions& o) {
  const LoadedModel m = compile_model_file(o.model);
  const auto r = ready_flow<T>(m, o.params, o.init_seed, o.model.threads);
  const Dataset data = load_flow_data(r.flow, o.data, o.data_seed, o.data_rows, o.context_file);
  const auto lp = data_log_prob(r, data, o.seed);
  if (const std::string outside = outside_support(r, data, o.data); !outside.empty())
    fmt::print(std::cerr, "nfc: note: {}; log p is -inf there\n", outside);
  write_table(o.out, {"log_prob"}, lp, data.rows, 1, std::is_same_v<T, float>);
  fmt::print(std::cerr, "wrote {} log-densities to {}\n", data.rows, o.out);
}

}  // namespace

void register_sample(CLI::App& app) {
  auto o = std::make_shared<UseOptions>();
  auto* cmd =
      app.add_subcommand("sample", "draw samples from a flow (trained or freshly initialised)");
  add_model_options(cmd, o->model);
  add_params_option(cmd, *o, false);
  cmd->add_option("--init-seed", o->init_seed, "without --params: seed of the initialisation");
  o->n_given = cmd->add_option("-n", o->n, "number of samples (default 10)");
  cmd->add_option("--context", o->context,
                  "conditional flows: the context of every sample, V,V,...")
      ->delimiter(',');
  cmd->add_option("--context-file", o->context_file,
                  "conditional flows: one context row per sample (FILE.npy or FILE.csv)");
  cmd->add_option("--seed", o->seed, "seed of the base draws (default 1)");
  cmd->add_option("-o,--out", o->out,
                  "write the samples to FILE.npy or FILE.csv, or an image flow's as a FILE.png "
                  "grid");
  cmd->add_option("--temperature", o->temperature,
                  "scale the base's noise by T (default 1; < 1 gives smoother samples)");
  cmd->callback([o] { with_precision(o->model, [&]<class T>() { sample<T>(*o); }); });
}

void register_eval(CLI::App& app) {
  auto o = std::make_shared<UseOptions>();
  auto* cmd = app.add_subcommand("eval", "mean negative log-likelihood of data under a flow");
  add_model_options(cmd, o->model);
  add_params_option(cmd, *o, true);
  add_data_options(cmd, *o);
  cmd->add_flag("--bits-per-dim", o->bits_per_dim, "also report NLL / (dim ln 2)");
  cmd->callback([o] { with_precision(o->model, [&]<class T>() { eval<T>(*o); }); });
}

void register_logprob(CLI::App& app) {
  auto o = std::make_shared<UseOptions>();
  auto* cmd = app.add_subcommand("logprob", "log-density of every data row, to a file");
  add_model_options(cmd, o->model);
  add_params_option(cmd, *o, true);
  add_data_options(cmd, *o);
  cmd->add_option("-o,--out", o->out, "FILE.npy or FILE.csv")->required();
  cmd->callback([o] { with_precision(o->model, [&]<class T>() { logprob<T>(*o); }); });
}

}  // namespace nfc::cli

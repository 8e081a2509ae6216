// The nfc command line: check, compile and sample .nf models.
//
// Exit codes: 0 success, 1 the input has errors (diagnostics printed),
// 2 bad command line, 70 an internal compiler error (a bug in nfc).
#include <fmt/format.h>
#include <fmt/ostream.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "compiler/Check.hpp"
#include "compiler/Print.hpp"
#include "compiler/driver/Compile.hpp"

namespace {

struct UserError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UserError(fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

struct ModelOptions {
  std::string path;
  std::string precision = "f64";
  int opt_level = 2;
  std::vector<std::string> dump;
};

nfc::JitOptions jit_options(const ModelOptions& o) {
  nfc::JitOptions j;
  j.precision = o.precision == "f32" ? nfc::Precision::f32 : nfc::Precision::f64;
  j.opt_level = o.opt_level;
  for (const auto& d : o.dump) j.keep_ir |= d == "ir";
  return j;
}

// Compiles the model or throws after printing its diagnostics.
std::unique_ptr<nfc::CompiledModel> compile(const ModelOptions& o, const std::string& source) {
  nfc::Diagnostics diags(o.path, source);
  auto model = nfc::compile_model(source, diags, jit_options(o));
  diags.print(std::cerr);
  if (!model)
    throw UserError(
        fmt::format("{}: {} error(s); nothing compiled", o.path, diags.errors().size()));
  return model;
}

void print_summary(const nfc::CompiledModel& m, const ModelOptions& o) {
  const nfc::FlowGraph& fg = *m.graph;
  fmt::print("flow {} (dim {}, base normal, {})\n", fg.name, fg.dim, o.precision);
  for (size_t l = 0; l < fg.layers.size(); ++l)
    fmt::print("  layer {:>3}  {:<28} {:>10} params\n", l, fg.layers[l].label,
               fg.layers[l].param_count);
  fmt::print("parameters: {}\n", fg.graph.param_count());
  fmt::print("graph: {} nodes; entry points: forward, inverse, log_prob; SIMD width {}\n",
             fg.graph.size(), m.jit->vector_width());
  const auto& t = m.times;
  fmt::print(
      "compile time: check {:.1f} ms, graph+derive {:.1f} ms, lower {:.1f} ms, O{} {:.1f} ms, "
      "codegen {:.1f} ms, total {:.1f} ms\n",
      t.check_ms, t.graph_ms, t.jit.lower_ms, o.opt_level, t.jit.optimize_ms, t.jit.codegen_ms,
      t.check_ms + t.graph_ms + t.jit.lower_ms + t.jit.optimize_ms + t.jit.codegen_ms);
}

int run_compile(const ModelOptions& o) {
  const std::string source = read_file(o.path);
  auto model = compile(o, source);
  for (const auto& d : o.dump) {
    if (d == "graph") nfc::print_flow_graph(std::cout, *model->graph);
    if (d == "ir") std::cout << model->jit->ir();
  }
  print_summary(*model, o);
  return 0;
}

template <class T>
int sample_with(const nfc::CompiledModel& model, int64_t n, uint64_t seed, uint64_t init_seed,
                const std::string& out_path) {
  nfc::Flow<T> flow = nfc::make_flow<T>(model);
  flow.init_params(init_seed);
  const auto s = flow.sample(n, seed);
  // The density of the samples two ways: from the inverse pass (log N(z) -
  // log|det g'|) and from log_prob(x); they agree when inverse and forward do.
  std::vector<T> lp(static_cast<size_t>(n));
  flow.log_prob(s.x.data(), lp.data(), n);
  double mean = 0, worst = 0;
  for (int64_t i = 0; i < n; ++i) {
    mean += s.log_prob[size_t(i)] / double(n);
    worst = std::max(worst, std::fabs(double(s.log_prob[size_t(i)]) - lp[size_t(i)]));
  }
  const int dim = flow.dim();
  std::ofstream file;
  std::ostream* out = &std::cout;
  if (!out_path.empty()) {
    file.open(out_path);
    if (!file) throw UserError(fmt::format("cannot write '{}'", out_path));
    out = &file;
  }
  for (int d = 0; d < dim; ++d) *out << "x" << d << ",";
  *out << "log_prob\n";
  const int64_t shown = out_path.empty() ? std::min<int64_t>(n, 10) : n;
  for (int64_t i = 0; i < shown; ++i) {
    for (int d = 0; d < dim; ++d) *out << fmt::format("{:.6g},", s.x[size_t(i * dim + d)]);
    *out << fmt::format("{:.6g}\n", s.log_prob[size_t(i)]);
  }
  if (shown < n) *out << fmt::format("... ({} more; use -o FILE for all)\n", n - shown);
  fmt::print(std::cerr,
             "{} samples from {} (init seed {}): mean log p(x) = {:.4f}; "
             "max |log p via inverse - log_prob(x)| = {:.3g}\n",
             n, flow.name(), init_seed, mean, worst);
  return 0;
}

int run_sample(const ModelOptions& o, int64_t n, uint64_t seed, uint64_t init_seed,
               const std::string& out_path) {
  if (n < 1) throw UserError("-n must be at least 1");
  const std::string source = read_file(o.path);
  auto model = compile(o, source);
  if (model->precision == nfc::Precision::f32)
    return sample_with<float>(*model, n, seed, init_seed, out_path);
  return sample_with<double>(*model, n, seed, init_seed, out_path);
}

void add_model_options(CLI::App* cmd, ModelOptions& o) {
  cmd->add_option("model", o.path, "the .nf model")->required();
  cmd->add_option("--precision", o.precision, "f32 or f64")->check(CLI::IsMember({"f32", "f64"}));
  cmd->add_option("-O", o.opt_level, "LLVM optimisation level")->check(CLI::Range(0, 3));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"nfc: a normalizing-flow compiler"};
  app.require_subcommand(1);
  ModelOptions o;

  auto* check = app.add_subcommand("check", "parse and check a model; no code generation");
  check->add_option("model", o.path, "the .nf model")->required();

  auto* comp = app.add_subcommand("compile", "check, derive and JIT-compile; print a summary");
  add_model_options(comp, o);
  comp->add_option("--dump", o.dump, "print stages: graph, ir")
      ->delimiter(',')
      ->check(CLI::IsMember({"graph", "ir"}));

  auto* samp = app.add_subcommand("sample", "draw samples from a freshly initialised flow");
  add_model_options(samp, o);
  int64_t n = 10;
  uint64_t seed = 1, init_seed = 0;
  std::string out_path;
  samp->add_option("-n", n, "number of samples");
  samp->add_option("--seed", seed, "seed of the base draws");
  samp->add_option("--init-seed", init_seed, "seed of the parameter initialisation");
  samp->add_option("-o", out_path, "write all samples as CSV to this file");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  try {
    if (*check) return nfc::check_file(o.path, o.path, std::cerr);
    if (*comp) return run_compile(o);
    return run_sample(o, n, seed, init_seed, out_path);
  } catch (const UserError& e) {
    fmt::print(std::cerr, "nfc: error: {}\n", e.what());
    return 1;
  } catch (const nfc::InternalError& e) {
    fmt::print(std::cerr, "nfc: internal compiler error: {}\n", e.what());
    return 70;
  }
}

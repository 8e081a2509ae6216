// What every nfc subcommand shares: user errors with exit codes, reading
// the model, compiling it with the common options, and dispatching on the
// model's precision.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "driver/Compile.hpp"
#include "runtime/NumberBound.hpp"

namespace nfc::cli {

// A user-facing failure: printed as "nfc: error: <what>", exit code 1.
struct UserError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A failure whose message was already printed (e.g. diagnostics).
struct Failure {
  int exit_code = 1;
};

std::string read_file(const std::string& path);

// Checks a numeric flag against its bound: "--lr: -1 is not a finite number
// above 0", a usage error (exit 2).
CLI::Validator within(const NumberBound& bound);

struct ModelOptions {
  std::string path;
  std::string precision = "f64";
  int opt_level = 2;
  int threads = 1;  // threads that run each batch (Flow::set_threads)
  std::vector<std::string> dump;
  // --target: NAME (a target in the model's file), FILE.nf (the one target
  // of a target file) or FILE.nf:NAME; empty: none (docs/cli.md).
  std::string target;
  bool no_cache = false;  // --no-cache: compile afresh, leave the JIT cache alone
};

// The model argument, --precision, -O and, for commands that run the flow,
// --threads and --target (a flow fitted to a target with learnable
// parameters is loaded with its target; `nfc plot` draws it beside the fit).
void add_model_options(CLI::App* cmd, ModelOptions& o, bool runs_flow = true,
                       bool takes_target = true);

JitOptions jit_options(const ModelOptions& o);

struct LoadedModel {
  std::string source;
  std::unique_ptr<CompiledModel> compiled;
  std::string source_hash;  // fnv1a64 of the source text, hex
  std::string target_hash;  // of a separate target file's text; empty without one
};

// Reads and compiles the model; prints diagnostics and throws Failure if it
// has errors.
LoadedModel compile_model_file(const ModelOptions& o);

// Calls f.template operator()<float>() or <double>() per the precision.
template <class F>
decltype(auto) with_precision(const ModelOptions& o, F&& f) {
  if (o.precision == "f32") return f.template operator()<float>();
  return f.template operator()<double>();
}

// Subcommand registration; each adds itself to `app` with its callback.
void register_check(CLI::App& app);
void register_compile(CLI::App& app);
void register_train(CLI::App& app);
void register_sample(CLI::App& app);
void register_eval(CLI::App& app);
void register_logprob(CLI::App& app);
void register_plot(CLI::App& app);
void register_emit_cpp(CLI::App& app);

}  // namespace nfc::cli

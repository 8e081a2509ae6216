// `nfc emit-cpp`: a trained flow as standalone C++ (compiler/cpp/).
#include <fmt/format.h>
#include <fmt/ostream.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "compiler/backend/cpp/CppModule.hpp"
#include "runtime/Hash.hpp"
#include "runtime/io/Checkpoint.hpp"
#include "support/Echo.hpp"
#include "tools/Cli.hpp"

namespace nfc::cli {

namespace {

struct EmitOptions {
  std::string model;
  std::string params;
  std::string out_dir;
  std::string precision = "f64";
  std::string ns;
  bool load_weights = false;
  bool with_grad = false;
};

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out.flush()) throw UserError("cannot write '" + path.string() + "'");
}

void emit(const EmitOptions& o) {
  const std::string source = read_file(o.model);
  Diagnostics diags(o.model, source);
  const auto model = analyze_model(source, diags);  // no JIT needed
  diags.print(std::cerr);
  if (!model) throw Failure{1};
  const FlowGraph& flow = *model->graph;
  CppModuleOptions options;
  options.ns = o.ns.empty() ? flow.name : o.ns;
  if (!is_cpp_namespace_name(options.ns))
    throw UserError("'" + echoed(options.ns) + "' cannot name a C++ namespace" +
                    (o.ns.empty() ? "; choose one with --namespace" : ""));
  const SavedParams saved = load_params(o.params, flow.graph.params(), flow.dim, flow.context_dim);

  options.precision = o.precision == "f32" ? Precision::f32 : Precision::f64;
  options.load_weights = o.load_weights;
  options.with_grad = o.with_grad;
  options.source_hash = hex64(fnv1a64(source));
  options.params_file = std::filesystem::path(o.params).filename().string();
  if (!saved.source_hash.empty() && saved.source_hash != options.source_hash)
    fmt::print(std::cerr,
               "nfc: note: '{}' was trained from a different version of the model source "
               "(its tensors match, so it is used)\n",
               o.params);
  if (const auto& st = saved.standardizer) {  // x's columns, then the context's
    const size_t d = size_t(flow.dim);
    options.mean.assign(st->mean.begin(), st->mean.begin() + long(d));
    options.scale.assign(st->scale.begin(), st->scale.begin() + long(d));
    options.context_mean.assign(st->mean.begin() + long(d), st->mean.end());
    options.context_scale.assign(st->scale.begin() + long(d), st->scale.end());
  }
  const CppFiles files = emit_cpp_module(flow, saved.values, options);
  std::error_code ec;
  std::filesystem::create_directories(o.out_dir, ec);
  if (ec) throw UserError("cannot create '" + o.out_dir + "': " + ec.message());
  const std::filesystem::path dir(o.out_dir);
  write_text(dir / files.header_name, files.header);
  write_text(dir / files.source_name, files.source);
  fmt::print(std::cerr, "wrote {} and {} ({}, {} parameters{})\n",
             (dir / files.header_name).string(), (dir / files.source_name).string(), o.precision,
             flow.graph.param_count(), o.load_weights ? " read at run time" : " embedded");
}

}  // namespace

void register_emit_cpp(CLI::App& app) {
  auto o = std::make_shared<EmitOptions>();
  auto* cmd = app.add_subcommand(
      "emit-cpp", "write a trained flow as standalone C++17 (a header and a source file)");
  cmd->add_option("model", o->model, "the .nf model")->required();
  cmd->add_option("--params", o->params, "trained parameters (.safetensors)")->required();
  cmd->add_option("-o,--out", o->out_dir, "output directory (created if missing)")->required();
  cmd->add_option("--precision", o->precision, "f32 or f64 (default f64)")
      ->check(CLI::IsMember({"f32", "f64"}));
  cmd->add_option("--namespace", o->ns, "namespace and file names (default: the flow's name)");
  cmd->add_flag("--load-weights", o->load_weights,
                "read the parameters from a .safetensors file at run time instead of embedding");
  cmd->add_flag("--with-grad", o->with_grad,
                "also emit nll_grad(): the mean NLL and its gradient, for fine-tuning");
  cmd->callback([o] { emit(*o); });
}

}  // namespace nfc::cli

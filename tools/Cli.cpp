// Shared pieces of the command line.
#include "tools/Cli.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "driver/JitCache.hpp"
#include "runtime/Hash.hpp"
#include "runtime/ThreadPool.hpp"
#include "tools/Group.hpp"

namespace nfc::cli {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UserError("cannot open '" + path + "': " + std::strerror(errno));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

CLI::Validator within(const NumberBound& bound) {
  return CLI::Validator(
      [bound](const std::string& text) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);
        if (end == text.c_str() || *end != '\0') return {};  // CLI11's conversion says it
        return bound.admits(v) ? "" : text + " is not " + bound.describe();
      },
      bound.describe());
}

void add_model_options(CLI::App* cmd, ModelOptions& o, bool runs_flow, bool takes_target) {
  cmd->add_option("model", o.path, "the .nf model")->required();
  cmd->add_option("--precision", o.precision, "f32 or f64 (default f64)")
      ->check(CLI::IsMember({"f32", "f64"}));
  cmd->add_option("-O", o.opt_level, "LLVM optimisation level (default 2)")
      ->check(CLI::Range(0, 3));
  cmd->add_flag("--no-cache", o.no_cache,
                "compile afresh: neither read nor write the JIT cache (NFC_CACHE_DIR, default "
                "~/.cache/nfc)");
  if (!runs_flow) return;
  cmd->add_option("--threads", o.threads,
                  "threads that run each batch and the optimizer update (default 1; results "
                  "depend on the count only through the rounding of summed gradients)")
      ->check(CLI::Range(1, kMaxThreads));
  if (takes_target)
    cmd->add_option("--target", o.target,
                    "compile with this target (NAME, FILE.nf or FILE.nf:NAME): what the flow was "
                    "fitted to by nfc train --target");
}

JitOptions jit_options(const ModelOptions& o) {
  JitOptions j;
  j.precision = o.precision == "f32" ? Precision::f32 : Precision::f64;
  j.opt_level = o.opt_level;
  for (const auto& d : o.dump) j.keep_ir |= d == "ir";
  if (!o.no_cache) j.cache = default_object_store();
  return j;
}

LoadedModel compile_model_file(const ModelOptions& o) {
  LoadedModel m;
  m.source = read_file(o.path);
  m.source_hash = hex64(fnv1a64(m.source));
  Diagnostics diags(o.path, m.source);
  std::optional<TargetSelection> target;
  if (!o.target.empty()) target = parse_target_selection(o.target, o.path);
  const bool in_file = target && target->file_source;
  Diagnostics target_diags(in_file ? target->file_name : "", in_file ? *target->file_source : "");
  if (in_file) {
    target->file_diags = &target_diags;
    m.target_hash = hex64(fnv1a64(*target->file_source));
  }
  m.compiled = compile_model(m.source, diags, jit_options(o), target);
  if (speaks()) {  // every rank of a group compiles the same text
    diags.print(std::cerr);
    target_diags.print(std::cerr);
  }
  if (!m.compiled) throw Failure{1};
  return m;
}

}  // namespace nfc::cli

// The compiler driver: .nf text to a runtime Flow. The stages (check, the
// graph's, JIT compilation) and their order are in Pipeline.hpp; these run
// them, with the time each took.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "compiler/backend/llvm/Jit.hpp"
#include "compiler/layers/FlowGraph.hpp"
#include "dsl/Diagnostics.hpp"
#include "runtime/Flow.hpp"

namespace nfc {

// The target variational training fits: `name` among the targets of the
// model's file, or of a separate target file when `file_source` is set
// (named `file_name`; its problems go to `file_diags`, which must outlive
// the run). An empty name picks the only target there is. Relative data
// paths start at `data_dir`.
struct TargetSelection {
  std::string name;
  std::optional<std::string> file_source;
  Diagnostics* file_diags = nullptr;
  std::string data_dir;
  std::string file_name;
};

// The selection a user writes (`--target`, Model::compile's `target`): NAME
// (a target of the model file at `model_path`), FILE.nf (the only target
// of that file) or FILE.nf:NAME; a target file is read here. Throws
// DataError if it cannot be opened.
TargetSelection parse_target_selection(const std::string& spec, const std::string& model_path);

struct StageTimes {
  double check_ms = 0;  // lexing, parsing, semantic checks
  double graph_ms = 0;  // the graph stages: layers, gradient, inverse
  JitTimings jit;
};

struct CompiledModel {
  std::unique_ptr<FlowGraph> graph;
  std::shared_ptr<JitModule> jit;  // null when only analysed
  Precision precision = Precision::f64;
  StageTimes times;
};

// Front end and graph only (what `nfc check` needs). Null after reporting
// to `diags` if the model is invalid.
std::unique_ptr<CompiledModel> analyze_model(std::string_view source, Diagnostics& diags);

// Everything, including JIT compilation of forward, inverse and log_prob;
// with a target (Pipeline.hpp), also its entry points for variational
// training.
std::unique_ptr<CompiledModel> compile_model(std::string_view source, Diagnostics& diags,
                                             const JitOptions& options,
                                             std::optional<TargetSelection> target = {});

// A runtime Flow over the model's compiled entry points; T must match the
// precision it was compiled for. Parameters start at zero: call init_params.
template <class T>
Flow<T> make_flow(const CompiledModel& model);

// The flow's support as the runtime holds it.
Support flow_support(const FlowGraph& fg);

}  // namespace nfc

// The compiler driver: .nf text to a runtime Flow. The stages (check, the
// graph's, JIT compilation) and their order are in Pipeline.hpp; these run
// them, with the time each took.
#pragma once

#include <memory>
#include <string_view>

#include "compiler/backend/llvm/Jit.hpp"
#include "compiler/layers/FlowGraph.hpp"
#include "dsl/Diagnostics.hpp"
#include "runtime/Flow.hpp"

namespace nfc {

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

// Everything, including JIT compilation of forward, inverse and log_prob.
std::unique_ptr<CompiledModel> compile_model(std::string_view source, Diagnostics& diags,
                                             const JitOptions& options);

// A runtime Flow over the model's compiled entry points; T must match the
// precision it was compiled for. Parameters start at zero: call init_params.
template <class T>
Flow<T> make_flow(const CompiledModel& model);

// The flow's support as the runtime holds it.
Support flow_support(const FlowGraph& fg);

}  // namespace nfc

// The compiler's stages in order, from .nf text to JIT-compiled entry points
// (as Halide's Lower.cpp lists its passes). The table in Pipeline.cpp is the
// one place the order is written: analyze_model and compile_model run it,
// and `nfc compile --dump=graph:STAGE` prints the graph after a stage.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "driver/Compile.hpp"

namespace nfc {

struct PipelineStage {
  std::string_view name;
  std::string_view summary;  // what it does, in a line
  bool has_graph;            // the flow graph exists once this stage has run
};

// Every stage, in the order they run.
std::span<const PipelineStage> pipeline_stages();
std::vector<std::string> pipeline_stage_names();

// The stage called `name`, or null.
const PipelineStage* find_pipeline_stage(std::string_view name);

// Called after each stage that succeeded, with the model so far: no graph
// after "check"; the parts of the graph later stages build (entry-point
// outputs still -1) not yet there.
using StageObserver = std::function<void(const PipelineStage& stage, const CompiledModel& model)>;

struct PipelineOptions {
  std::optional<JitOptions> jit;          // unset: stop before code generation ("jit")
  StageObserver after_stage;              // may be empty
  std::optional<TargetSelection> target;  // unset: no target stage work
};

// Runs the stages in order, timing them into the model's `times`. Null
// after reporting to `diags` if the model is invalid.
std::unique_ptr<CompiledModel> run_pipeline(std::string_view source, Diagnostics& diags,
                                            const PipelineOptions& options);

}  // namespace nfc

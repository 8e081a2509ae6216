// The pipeline: one table of stages, run in order, each timed.
#include "driver/Pipeline.hpp"

#include <fmt/format.h>

#include <array>
#include <chrono>
#include <filesystem>

#include "compiler/sema/Frontend.hpp"
#include "driver/JitCache.hpp"
#include "runtime/DataError.hpp"
#include "runtime/Hash.hpp"
#include "runtime/io/Dataset.hpp"

namespace nfc {

namespace {

// What the stages hand on to each other during one run.
struct PipelineRun {
  std::string_view source;
  Diagnostics& diags;
  const PipelineOptions& options;
  std::optional<FlowSpec> spec;               // after "check"
  std::vector<TargetSpec> file_targets;       // a separate target file's
  std::unique_ptr<FlowGraphBuilder> builder;  // during the graph stages
  std::unique_ptr<CompiledModel> model;
  // Besides the source: what else decides the program (the JIT cache's
  // key): the selected target's text and data tables.
  std::string target_identity;
};

bool run_check(PipelineRun& r) {
  r.spec = check_source(r.source, r.diags);
  return r.spec && !r.diags.has_errors();
}

template <GraphStage S>
bool run_graph_stage(PipelineRun& r) {
  if (!r.builder) {
    r.model->graph = std::make_unique<FlowGraph>();
    r.builder = std::make_unique<FlowGraphBuilder>(*r.spec, r.diags, *r.model->graph);
  }
  return r.builder->run(S);
}

// The selected target among `targets` (reported to `diags` if there is no
// such target, or several and no name).
TargetSpec* choose_target(std::vector<TargetSpec>& targets, const std::string& name,
                          Diagnostics& diags) {
  std::string known;
  for (const TargetSpec& t : targets) known += (known.empty() ? "'" : ", '") + t.name + "'";
  for (TargetSpec& t : targets)
    if (t.name == name || (name.empty() && targets.size() == 1)) return &t;
  if (targets.empty())
    diags.error({}, "the file declares no target: add 'target NAME { logp = ... }'");
  else if (name.empty())
    diags.error({},
                fmt::format("the file declares several targets ({}): choose one by name", known));
  else
    diags.error({}, fmt::format("no target '{}' in the file; it declares {}", name, known));
  return nullptr;
}

// Each table of `t` read from its file, located errors for files that do
// not read.
bool read_tables(TargetSpec& t, const std::string& data_dir, Diagnostics& diags) {
  bool ok = true;
  for (DataTable& d : t.data) {
    const std::filesystem::path path(d.path);
    const std::string resolved =
        path.is_absolute() || data_dir.empty() ? d.path : (data_dir / path).string();
    try {
      Dataset data = load_dataset(resolved, 0);
      d.rows = data.rows;
      d.cols = data.cols;
      d.values = data.to_vector();
    } catch (const DataError& e) {
      diags.error(d.path_loc, fmt::format("cannot read data table '{}': {}", d.name, e.what()));
      ok = false;
    }
  }
  return ok;
}

// Stage "target": the selected target, its tables read, into the graph.
bool run_target(PipelineRun& r) {
  if (!r.options.target) return true;
  const TargetSelection& sel = *r.options.target;
  Diagnostics& diags = sel.file_source ? *sel.file_diags : r.diags;
  std::vector<TargetSpec>* targets = &r.spec->targets;
  if (sel.file_source) {
    auto checked = check_target_source(*sel.file_source, r.spec->dim, diags);
    if (!checked) return false;
    r.file_targets = std::move(*checked);
    targets = &r.file_targets;
  }
  TargetSpec* t = choose_target(*targets, sel.name, diags);
  if (!t) return false;
  if (t->dim != 0 && t->dim != r.spec->dim) {
    diags.error(t->dim_loc, fmt::format("target '{}' has dim {}, but the flow has dim {}", t->name,
                                        t->dim, r.spec->dim));
    return false;
  }
  if (!read_tables(*t, sel.data_dir, diags)) return false;
  r.target_identity = "target " + t->name + "\n" + sel.file_source.value_or("");
  for (const DataTable& d : t->data)
    r.target_identity += fmt::format("\ntable {} {}x{} {}", d.name, d.rows, d.cols,
                                     hex64(fnv1a64({reinterpret_cast<const char*>(d.values.data()),
                                                    d.values.size() * sizeof(double)})));
  r.builder->select_target(*t, diags);
  return r.builder->run(GraphStage::target);
}

// Code is generated only for a model without errors.
bool run_jit(PipelineRun& r) {
  if (r.diags.has_errors()) return false;
  JitOptions options = *r.options.jit;
  r.model->precision = options.precision;
  // The compiler is deterministic: the same text (and target) compiled by
  // the same nfc is the same program.
  if (options.cache)
    options.cache_key = jit_cache_key(std::string(r.source) + "\n" + r.target_identity, options);
  r.model->jit = JitModule::compile(r.model->graph->program(), options);
  r.model->times.jit = r.model->jit->timings();
  return true;
}

struct StageRow {
  PipelineStage stage;
  bool (*run)(PipelineRun&);
  double StageTimes::* time;  // where its wall time is added, or null (the JIT times itself)
};

// The compiler, stage by stage.
const std::array<StageRow, 6> kStages = {{
    {{"check", "lex, parse, prelude, semantic checks: the checked model (no graph yet)", false},
     run_check,
     &StageTimes::check_ms},
    {{"layers",
      "each layer's forward map, its transformer derived on first use, proved triangular; the "
      "forward and log_prob outputs",
      true},
     run_graph_stage<GraphStage::layers>,
     &StageTimes::graph_ms},
    {{"gradient", "the loss -log_prob and its parameter gradient by reverse mode (nll_grad)", true},
     run_graph_stage<GraphStage::gradient>,
     &StageTimes::graph_ms},
    {{"inverse", "the layers' inverses, last layer first; the bounds on the whole graph", true},
     run_graph_stage<GraphStage::inverse>,
     &StageTimes::graph_ms},
    {{"target",
      "with a target selected: its log-density and the reverse-KL loss through the sampling "
      "direction with its gradient (kl_grad)",
      true},
     run_target,
     &StageTimes::graph_ms},
    {{"jit", "lower, optimise and compile every entry point to machine code (compile only)", true},
     run_jit,
     nullptr},
}};

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

}  // namespace

std::span<const PipelineStage> pipeline_stages() {
  static const std::array<PipelineStage, kStages.size()> stages = [] {
    std::array<PipelineStage, kStages.size()> s{};
    for (size_t i = 0; i < kStages.size(); ++i) s[i] = kStages[i].stage;
    return s;
  }();
  return stages;
}

std::vector<std::string> pipeline_stage_names() {
  std::vector<std::string> names;
  for (const PipelineStage& s : pipeline_stages()) names.emplace_back(s.name);
  return names;
}

const PipelineStage* find_pipeline_stage(std::string_view name) {
  for (const PipelineStage& s : pipeline_stages())
    if (s.name == name) return &s;
  return nullptr;
}

std::unique_ptr<CompiledModel> run_pipeline(std::string_view source, Diagnostics& diags,
                                            const PipelineOptions& options) {
  PipelineRun r{
      source, diags, options, std::nullopt, {}, nullptr, std::make_unique<CompiledModel>(), {}};
  const std::span<const PipelineStage> stages = pipeline_stages();
  for (size_t i = 0; i < kStages.size(); ++i) {
    const StageRow& row = kStages[i];
    if (row.run == run_jit && !options.jit) break;
    const auto start = std::chrono::steady_clock::now();
    const bool ok = row.run(r);
    if (row.time) r.model->times.*row.time += ms_since(start);
    if (!ok) return nullptr;
    if (options.after_stage) options.after_stage(stages[i], *r.model);
  }
  if (diags.has_errors()) return nullptr;
  return std::move(r.model);
}

}  // namespace nfc

// `nfc check` and `nfc compile`.
#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <sstream>
#include <string_view>

#include "compiler/layers/FlowPrint.hpp"
#include "driver/Check.hpp"
#include "driver/Pipeline.hpp"
#include "tools/Cli.hpp"

namespace nfc::cli {

namespace {

std::string describe_base(const BaseSettings& b) {
  switch (b.kind) {
    case BaseKind::standard_normal:
      return "normal";
    case BaseKind::diag_normal:
      return "diag_normal";
    case BaseKind::uniform:
      return b.low == 0 && b.high == 1
                 ? "uniform"
                 : fmt::format("uniform(low = {:g}, high = {:g})", b.low, b.high);
    case BaseKind::mixture:
      return fmt::format("mixture(components = {})", b.components);
    case BaseKind::student_t:
      return fmt::format("student_t(df = {:g})", b.df);
  }
  return "?";
}

void print_summary(const CompiledModel& m, const ModelOptions& o) {
  const FlowGraph& fg = *m.graph;
  fmt::print("flow {} (dim {}, base {}, {})\n", fg.name, fg.dim,
             fg.conditional_base ? "diag_normal(net)" : describe_base(fg.base), o.precision);
  size_t width = 28;  // the label column: as wide as the longest label
  for (const LayerInfo& layer : fg.layers) width = std::max(width, layer.label.size());
  int64_t embedding = 0;  // the context's network, outside every layer
  for (const ParamTensor& p : fg.graph.params())
    if (p.name.starts_with("context_net.")) embedding += p.size;
  if (embedding > 0)
    fmt::print("  {:<11}{:<{}} {:>10} params\n", "context", "context_net mlp", width, embedding);
  for (size_t l = 0; l < fg.layers.size(); ++l)
    fmt::print("  layer {:>3}  {:<{}} {:>10} params\n", l, fg.layers[l].label, width,
               fg.layers[l].param_count);
  fmt::print("parameters: {}\n", fg.graph.param_count());
  const Support support = flow_support(fg);
  if (!fg.support_known)
    fmt::print("support: not determined (see the warning)\n");
  else
    fmt::print("support: {}\n", restricted(support) ? describe_support(support)
                                                    : fmt::format("all of R^{}", fg.dim));
  fmt::print(
      "graph: {} nodes; entry points: forward, inverse, log_prob, nll_grad{}; SIMD width {}\n",
      fg.graph.size(), fg.actnorms.empty() ? "" : ", actnorm_inputs", m.jit->vector_width());
  const auto& t = m.times;
  if (t.jit.from_cache)
    fmt::print(
        "compile time: check {:.1f} ms, graph+derive {:.1f} ms, machine code from the JIT cache "
        "{:.1f} ms, total {:.1f} ms\n",
        t.check_ms, t.graph_ms, t.jit.codegen_ms, t.check_ms + t.graph_ms + t.jit.codegen_ms);
  else
    fmt::print(
        "compile time: check {:.1f} ms, graph+derive {:.1f} ms, lower {:.1f} ms, O{} {:.1f} ms, "
        "codegen {:.1f} ms, total {:.1f} ms\n",
        t.check_ms, t.graph_ms, t.jit.lower_ms, o.opt_level, t.jit.optimize_ms, t.jit.codegen_ms,
        t.check_ms + t.graph_ms + t.jit.lower_ms + t.jit.optimize_ms + t.jit.codegen_ms);
}

constexpr std::string_view kGraphAfter = "graph:";

// A --dump item: graph (the final graph), graph:STAGE (the graph after a
// stage of the pipeline) or ir. The error CLI11 prints after "--dump: ".
std::string check_dump_item(const std::string& item) {
  if (item == "graph" || item == "ir") return "";
  if (!item.starts_with(kGraphAfter)) return item + " is not graph, graph:STAGE or ir";
  const std::string stage = item.substr(kGraphAfter.size());
  const PipelineStage* s = find_pipeline_stage(stage);
  if (!s)
    return fmt::format("unknown stage '{}' in '{}'; the stages are {}", stage, item,
                       fmt::join(pipeline_stage_names(), ", "));
  if (!s->has_graph) {
    const auto all = pipeline_stages();
    const auto first =
        std::ranges::find_if(all, [](const PipelineStage& p) { return p.has_graph; });
    return fmt::format("there is no graph after stage '{}' yet; it is built from stage '{}' on",
                       stage, first->name);
  }
  return "";
}

// compile_model_file, keeping the graph as printed after each stage a
// --dump=graph:STAGE names (later stages add to it).
struct CompileResult {
  std::unique_ptr<CompiledModel> model;
  std::map<std::string, std::string, std::less<>> graph_after;  // by stage name
};

CompileResult compile_with_dumps(const ModelOptions& o) {
  CompileResult result;
  for (const std::string& d : o.dump)
    if (d.starts_with(kGraphAfter)) result.graph_after[d.substr(kGraphAfter.size())];
  PipelineOptions options{jit_options(o),
                          [&](const PipelineStage& stage, const CompiledModel& m) {
                            const auto it = result.graph_after.find(stage.name);
                            if (it == result.graph_after.end()) return;
                            std::ostringstream text;
                            print_flow_graph(text, *m.graph);
                            it->second = text.str();
                          },
                          {}};
  const std::string source = read_file(o.path);
  Diagnostics diags(o.path, source);
  result.model = run_pipeline(source, diags, options);
  diags.print(std::cerr);
  if (!result.model) throw Failure{1};
  return result;
}

}  // namespace

void register_check(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("check", "parse and check a model; no code generation");
  cmd->add_option("model", *path, "the .nf model")->required();
  cmd->callback([path] {
    if (check_file(*path, *path, std::cerr) != 0) throw Failure{1};
  });
}

void register_compile(CLI::App& app) {
  auto o = std::make_shared<ModelOptions>();
  auto* cmd = app.add_subcommand("compile", "check, derive and JIT-compile; print a summary");
  add_model_options(cmd, *o, /*runs_flow=*/false);
  cmd->add_option("--dump", o->dump,
                  fmt::format("print: graph (the final graph), graph:STAGE (the graph after a "
                              "stage: {}), ir (the optimised LLVM IR)",
                              fmt::join(pipeline_stage_names(), ", ")))
      ->delimiter(',')
      ->check(CLI::Validator(check_dump_item, "graph, graph:STAGE or ir"));
  auto explain = std::make_shared<bool>(false);
  cmd->add_flag("--explain", *explain,
                "say how each transformer and map output is inverted and what is proved "
                "of its monotonicity");
  cmd->callback([o, explain] {
    const CompileResult r = compile_with_dumps(*o);
    if (*explain) print_inversions(std::cout, *r.model->graph);
    for (const auto& d : o->dump) {
      if (d == "graph") print_flow_graph(std::cout, *r.model->graph);
      if (d == "ir") std::cout << r.model->jit->ir();
      if (d.starts_with(kGraphAfter)) std::cout << r.graph_after.at(d.substr(kGraphAfter.size()));
    }
    print_summary(*r.model, *o);
  });
}

}  // namespace nfc::cli

// `nfc check` and `nfc compile`.
#include <fmt/format.h>

#include <iostream>

#include "driver/Check.hpp"
#include "compiler/layers/FlowPrint.hpp"
#include "tools/Cli.hpp"

namespace nfc::cli {

namespace {

std::string describe_base(const BaseSpec& b) {
  switch (b.kind) {
    case BaseDistribution::standard_normal:
      return "normal";
    case BaseDistribution::diag_normal:
      return "diag_normal";
    case BaseDistribution::uniform:
      return b.low == 0 && b.high == 1
                 ? "uniform"
                 : fmt::format("uniform(low = {:g}, high = {:g})", b.low, b.high);
    case BaseDistribution::mixture:
      return fmt::format("mixture(components = {})", b.components);
    case BaseDistribution::student_t:
      return fmt::format("student_t(df = {:g})", b.df);
  }
  return "?";
}

void print_summary(const CompiledModel& m, const ModelOptions& o) {
  const FlowGraph& fg = *m.graph;
  fmt::print("flow {} (dim {}, base {}, {})\n", fg.name, fg.dim, describe_base(fg.base),
             o.precision);
  for (size_t l = 0; l < fg.layers.size(); ++l)
    fmt::print("  layer {:>3}  {:<28} {:>10} params\n", l, fg.layers[l].label,
               fg.layers[l].param_count);
  fmt::print("parameters: {}\n", fg.graph.param_count());
  fmt::print(
      "graph: {} nodes; entry points: forward, inverse, log_prob, nll_grad{}; SIMD width {}\n",
      fg.graph.size(), fg.actnorms.empty() ? "" : ", actnorm_inputs", m.jit->vector_width());
  const auto& t = m.times;
  fmt::print(
      "compile time: check {:.1f} ms, graph+derive {:.1f} ms, lower {:.1f} ms, O{} {:.1f} ms, "
      "codegen {:.1f} ms, total {:.1f} ms\n",
      t.check_ms, t.graph_ms, t.jit.lower_ms, o.opt_level, t.jit.optimize_ms, t.jit.codegen_ms,
      t.check_ms + t.graph_ms + t.jit.lower_ms + t.jit.optimize_ms + t.jit.codegen_ms);
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
  cmd->add_option("--dump", o->dump, "print stages: graph, ir")
      ->delimiter(',')
      ->check(CLI::IsMember({"graph", "ir"}));
  auto explain = std::make_shared<bool>(false);
  cmd->add_flag("--explain", *explain,
                "say how each transformer and map output is inverted and what is proved "
                "of its monotonicity");
  cmd->callback([o, explain] {
    const LoadedModel m = compile_model_file(*o);
    if (*explain) print_inversions(std::cout, *m.compiled->graph);
    for (const auto& d : o->dump) {
      if (d == "graph") print_flow_graph(std::cout, *m.compiled->graph);
      if (d == "ir") std::cout << m.compiled->jit->ir();
    }
    print_summary(*m.compiled, *o);
  });
}

}  // namespace nfc::cli

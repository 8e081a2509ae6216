// The compiler's pipeline: its stages in order, what each adds to the
// graph, and `nfc compile --dump=graph:STAGE` printing the graph after one.
#include <catch2/catch.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "compiler/layers/FlowPrint.hpp"
#include "driver/Pipeline.hpp"
#include "tests/Shell.hpp"

namespace {

using nfc::CompiledModel;
using nfc::PipelineStage;

// One affine coupling on two dimensions, its conditioner one matvec.
const std::string kSource = R"(flow tiny(dim = 2) {
  coupling affine(mask = alternate) { net = mlp(hidden = [], act = relu) }
}
)";

// What the graph holds after a stage.
struct Seen {
  std::string stage;
  bool has_graph = false;
  size_t nodes = 0;
  std::vector<std::string> entries;  // "entry NAME(INPUT)" lines of the dump
};

std::vector<std::string> entry_lines(const std::string& dump) {
  std::vector<std::string> lines;
  std::istringstream in(dump);
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("entry ")) lines.push_back(line);
  return lines;
}

std::vector<Seen> run_and_watch(const std::optional<nfc::JitOptions>& jit) {
  std::vector<Seen> seen;
  nfc::Diagnostics diags("tiny.nf", kSource);
  nfc::PipelineOptions options{jit,
                               [&](const PipelineStage& stage, const CompiledModel& m) {
                                 Seen s{std::string(stage.name), m.graph != nullptr, 0, {}};
                                 if (m.graph) {
                                   s.nodes = m.graph->graph.size();
                                   std::ostringstream dump;
                                   nfc::print_flow_graph(dump, *m.graph);
                                   s.entries = entry_lines(dump.str());
                                 }
                                 seen.push_back(s);
                               },
                               {}};
  const auto model = nfc::run_pipeline(kSource, diags, options);
  std::ostringstream errors;
  diags.print(errors);
  INFO(errors.str());
  REQUIRE(model != nullptr);
  CHECK((model->jit != nullptr) == jit.has_value());
  return seen;
}

nfc::test::ShellRun run(const std::string& args) {
  return nfc::test::run_nfc(args);
}

const std::string kSkew = std::string(NFC_SOURCE_DIR) + "/tests/models/skew.nf";

// The --dump output of `nfc compile`: everything before the summary.
std::string dump_part(const std::string& output) {
  return output.substr(0, output.find("flow skew (dim 1"));
}

}  // namespace

TEST_CASE("pipeline: the stages in order", "[pipeline]") {
  CHECK(nfc::pipeline_stage_names() ==
        std::vector<std::string>{"check", "layers", "gradient", "inverse", "target", "jit"});
  REQUIRE(nfc::find_pipeline_stage("check") != nullptr);
  CHECK_FALSE(nfc::find_pipeline_stage("check")->has_graph);
  CHECK(nfc::find_pipeline_stage("layers")->has_graph);
  CHECK(nfc::find_pipeline_stage("derive") == nullptr);
}

TEST_CASE("pipeline: what each stage adds to the graph", "[pipeline]") {
  const std::vector<Seen> analyzed = run_and_watch(std::nullopt);  // analyze_model's run
  REQUIRE(analyzed.size() == 5);
  CHECK(analyzed[0].stage == "check");
  CHECK_FALSE(analyzed[0].has_graph);
  CHECK(analyzed[1].stage == "layers");
  CHECK(analyzed[1].nodes == 52);
  CHECK(analyzed[1].entries == std::vector<std::string>{"entry forward(x)", "entry log_prob(x)"});
  CHECK(analyzed[2].stage == "gradient");
  CHECK(analyzed[2].nodes == 63);
  CHECK(analyzed[2].entries ==
        std::vector<std::string>{"entry forward(x)", "entry log_prob(x)", "entry nll_grad(x)"});
  CHECK(analyzed[3].stage == "inverse");
  CHECK(analyzed[3].nodes == 74);
  CHECK(analyzed[3].entries == std::vector<std::string>{"entry forward(x)", "entry inverse(z)",
                                                        "entry log_prob(x)", "entry nll_grad(x)"});
  // Without a target selected the target stage adds nothing.
  CHECK(analyzed[4].stage == "target");
  CHECK(analyzed[4].nodes == 74);
  CHECK(analyzed[4].entries == analyzed[3].entries);

  const std::vector<Seen> compiled = run_and_watch(nfc::JitOptions{});  // compile_model's run
  REQUIRE(compiled.size() == 6);
  CHECK(compiled[5].stage == "jit");
  CHECK(compiled[5].nodes == 74);  // code generation reads the graph, adds nothing
  CHECK(compiled[5].entries == analyzed[3].entries);
}

TEST_CASE("nfc compile --dump=graph:STAGE prints the graph after that stage", "[pipeline][cli]") {
  const auto layers = run("compile " + kSkew + " --dump=graph:layers");
  const auto gradient = run("compile " + kSkew + " --dump=graph:gradient");
  const auto jit = run("compile " + kSkew + " --dump=graph:jit");
  const auto plain = run("compile " + kSkew + " --dump=graph");
  REQUIRE(layers.exit_code == 0);
  REQUIRE(gradient.exit_code == 0);
  REQUIRE(jit.exit_code == 0);
  REQUIRE(plain.exit_code == 0);
  CHECK(entry_lines(layers.output) ==
        std::vector<std::string>{"entry forward(x)", "entry log_prob(x)"});
  CHECK(entry_lines(gradient.output) ==
        std::vector<std::string>{"entry forward(x)", "entry log_prob(x)", "entry nll_grad(x)"});
  CHECK(gradient.output.find("  %75 = neg(%74)  [1]\n  return %75\n") != std::string::npos);
  CHECK(layers.output.find("neg(") == std::string::npos);
  CHECK(entry_lines(plain.output) ==
        std::vector<std::string>{"entry forward(x)", "entry inverse(z)", "entry log_prob(x)",
                                 "entry nll_grad(x)"});
  CHECK(plain.output.find("  %92 = -(-0.4, %90)  [1]\n  return %82, %92\n") != std::string::npos);
  // The graph after the last stage is the final graph.
  CHECK(dump_part(jit.output) == dump_part(plain.output));
  CHECK(dump_part(layers.output).starts_with("layer 0: map  order [0]  params 0\n"));
  // Several at once print in the order given.
  const auto both = run("compile " + kSkew + " --dump=graph:gradient,graph:layers");
  REQUIRE(both.exit_code == 0);
  CHECK(dump_part(both.output) == dump_part(gradient.output) + dump_part(layers.output));
}

TEST_CASE("nfc compile --dump=graph:STAGE: unknown stages and stages without a graph",
          "[pipeline][cli]") {
  const auto unknown = run("compile " + kSkew + " --dump=graph:derive");
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.output ==
        "--dump: unknown stage 'derive' in 'graph:derive'; the stages are check, layers, "
        "gradient, inverse, target, jit\nRun with --help for more information.\n");
  const auto check = run("compile " + kSkew + " --dump=graph:check");
  CHECK(check.exit_code == 2);
  CHECK(check.output ==
        "--dump: there is no graph after stage 'check' yet; it is built from stage 'layers' on\n"
        "Run with --help for more information.\n");
  const auto other = run("compile " + kSkew + " --dump=graphs");
  CHECK(other.exit_code == 2);
  CHECK(other.output ==
        "--dump: graphs is not graph, graph:STAGE or ir\nRun with --help for more information.\n");
}

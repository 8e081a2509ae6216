// A map monotone only while a parameter stays in a range (z0 = a * x0 with
// an unconstrained, learnable a: a > 0; x0 + a * tanh(x0): a > -1):
// compiled without a warning, with the parameter marked; training holds it
// there however large the steps, and parameter files or set_params values
// outside are refused.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>

#include "include/nfc/nfc.hpp"
#include "runtime/DataError.hpp"
#include "runtime/Trainer.hpp"
#include "runtime/io/Checkpoint.hpp"
#include "tests/TestSupport.hpp"

using namespace nfc;

namespace {

const std::string kSource = R"(flow s(dim = 2) {
  map {
    param a = 1.0, b = 0.3
    z0 = a * x0 + b
    z1 = x1 * exp(b) - a * x0
  }
}
)";

const ParamTensor& tensor(const Flow<double>& flow, const std::string& name) {
  for (const ParamTensor& p : flow.param_table())
    if (p.name == name) return p;
  FAIL("no tensor " << name);
  throw;
}

}  // namespace

TEST_CASE("a parameter the proof needs at its sign is marked, and the map compiles cleanly",
          "[kept_ranges]") {
  Diagnostics diags("test.nf", kSource);
  auto model = compile_model(kSource, diags, JitOptions{});
  REQUIRE(model != nullptr);
  CHECK(diags.all().empty());
  Flow<double> flow = make_flow<double>(*model);
  CHECK(tensor(flow, "layer0.a").keep_lo == 0);
  CHECK(tensor(flow, "layer0.a").keep_hi == INFINITY);
  CHECK(tensor(flow, "layer0.a").kept_for == "layer 0 z0 is monotone");
  // b enters dz1/dx1 = exp(b) > 0 for every b: free.
  CHECK_FALSE(tensor(flow, "layer0.b").kept());
}

TEST_CASE("a parameter is kept in the widest range the proof allows, rounded to a short number",
          "[kept_ranges]") {
  struct Case {
    std::string body;
    double lo, hi;
  };
  const Case cases[] = {
      // 1 + a (1 - tanh^2): positive for a > -1 (the bisection's -0.9999... rounds to -1).
      {"param a = -0.5\n z0 = x0 + a * tanh(x0)", -1, INFINITY},
      {"param a = 0.5\n z0 = x0 + a * tanh(x0)", -1, INFINITY},
      // 2 - a cos: positive for a in (-2, 2).
      {"param a = 0.5\n z0 = 2 * x0 - a * sin(x0)", -2, 2},
      {"param a = -3\n z0 = a * x0", -INFINITY, 0},
  };
  for (const Case& c : cases) {
    INFO(c.body);
    const std::string source = "flow s(dim = 1) {\n  map {\n" + c.body + "\n  }\n}\n";
    Diagnostics diags("test.nf", source);
    auto model = compile_model(source, diags, JitOptions{});
    REQUIRE(model != nullptr);
    CHECK(diags.all().empty());
    Flow<double> flow = make_flow<double>(*model);
    CHECK(tensor(flow, "layer0.a").keep_lo == c.lo);
    CHECK(tensor(flow, "layer0.a").keep_hi == c.hi);
  }
  // A constrained parameter holds its constraint's argument: never kept;
  // where its constraint allows non-monotone values, a warning.
  Diagnostics diags("test.nf", "");
  const std::string constrained =
      "flow s(dim = 1) {\n  map {\n param a = 0.5 (-1, 3)\n z0 = x0 - a * tanh(x0)\n  }\n}\n";
  Diagnostics d2("test.nf", constrained);
  auto model = compile_model(constrained, d2, JitOptions{});
  REQUIRE(model != nullptr);
  REQUIRE(d2.all().size() == 1);
  CHECK_FALSE(make_flow<double>(*model).param_table()[0].kept());
}

TEST_CASE("training holds a kept parameter at its sign", "[kept_ranges]") {
  auto model = test::compile_or_fail(kSource);
  Flow<double> flow = make_flow<double>(*model);
  flow.init_params(0);
  // x0 with standard deviation 10: the fit wants a = 0.1, and Adam's first
  // steps of size lr = 0.5 overshoot across 0 from a = 1.
  Random rng(4);
  std::vector<double> rows;
  for (int i = 0; i < 500; ++i) {
    rows.push_back(10 * rng.normal());
    rows.push_back(rng.normal());
  }
  TrainOptions o;
  o.steps = 200;
  o.batch = 100;
  o.optimizer.lr = 0.5;
  Trainer<double> run(flow, rows, 500, o);
  TrainState state;
  double smallest = INFINITY;
  run.run(state, [&](const TrainEvent&) {
    smallest = std::min(smallest, flow.params()[size_t(tensor(flow, "layer0.a").offset)]);
    return true;
  });
  CHECK(smallest > 0);
  CHECK_FALSE(state.diverged);
  const auto notes = run.held_range_notes();
  REQUIRE(notes.size() == 1);
  CHECK_THAT(notes[0], Catch::Matches("parameter 'layer0.a' was held positive at [0-9]+ steps "
                                      "\\(layer 0 z0 is monotone only while it is\\)"));
  // The fit: a close to 1/10 (the data's scale), so the log-density is right.
  CHECK(flow.params()[size_t(tensor(flow, "layer0.a").offset)] == Approx(0.1).epsilon(0.3));
}

TEST_CASE("parameters that leave a kept sign are refused when loaded or set", "[kept_ranges]") {
  auto model = test::compile_or_fail(kSource);
  Flow<double> flow = make_flow<double>(*model);
  const std::string path =
      (std::filesystem::temp_directory_path() / "nfc_kept_signs.safetensors").string();
  std::vector<double> values = {-0.5, 0.3};  // layer0.a, layer0.b
  save_params(path, flow.param_table(), values, TensorDType::f64, ModelIdentity{"s", "h"},
              std::nullopt);
  try {
    load_params(path, flow.param_table(), flow.dim());
    FAIL("loaded");
  } catch (const DataError& e) {
    CHECK(std::string(e.what()) == path +
                                       ": tensor 'layer0.a' holds -0.5 at index 0, but layer 0 z0 "
                                       "is monotone only while it is positive");
  }
  Model m = Model::compile(kSource);
  CHECK_THROWS_WITH(m.set_params({0.0, 0.3}),
                    "set_params: tensor 'layer0.a' holds 0 at index 0, but layer 0 z0 is monotone "
                    "only while it is positive");
  m.set_params({0.25, 0.3});
  CHECK(m.params()[0] == 0.25);
}

// A map monotone only while a parameter keeps its sign (z0 = a * x0 with an
// unconstrained, learnable a): compiled without a warning, with the
// parameter marked; training holds it at its sign however large the steps,
// and parameter files or set_params values that leave it are refused.
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
          "[kept_signs]") {
  Diagnostics diags("test.nf", kSource);
  auto model = compile_model(kSource, diags, JitOptions{});
  REQUIRE(model != nullptr);
  CHECK(diags.all().empty());
  Flow<double> flow = make_flow<double>(*model);
  CHECK(tensor(flow, "layer0.a").keep_sign == 1);
  CHECK(tensor(flow, "layer0.a").kept_for == "layer 0 z0 is monotone");
  // b enters dz1/dx1 = exp(b) > 0 for every b: free.
  CHECK(tensor(flow, "layer0.b").keep_sign == 0);
}

TEST_CASE("training holds a kept parameter at its sign", "[kept_signs]") {
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
  const auto notes = run.held_sign_notes();
  REQUIRE(notes.size() == 1);
  CHECK_THAT(notes[0], Catch::Matches("parameter 'layer0.a' was held positive at [0-9]+ steps "
                                      "\\(layer 0 z0 is monotone only while it is\\)"));
  // The fit: a close to 1/10 (the data's scale), so the log-density is right.
  CHECK(flow.params()[size_t(tensor(flow, "layer0.a").offset)] == Approx(0.1).epsilon(0.3));
}

TEST_CASE("parameters that leave a kept sign are refused when loaded or set", "[kept_signs]") {
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

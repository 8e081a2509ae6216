// Training end to end through the JIT: a seeded run on 8gaussians must
// reach a small ground-truth KL; runs are bit-for-bit deterministic; a run
// interrupted and resumed from its saved state ends with exactly the
// parameters of an uninterrupted one; checkpoints round-trip.
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <sstream>

#include "driver/Compile.hpp"
#include "runtime/Builtin.hpp"
#include "runtime/DataError.hpp"
#include "runtime/Trainer.hpp"
#include "runtime/io/Checkpoint.hpp"
#include "runtime/io/Dataset.hpp"
#include "runtime/io/Npy.hpp"
#include "runtime/io/Safetensors.hpp"
#include "tests/TestSupport.hpp"

using namespace nfc;

namespace {

const char* kRealNvp = R"(
flow gaussians(dim = 2) {
  repeat 6 {
    coupling affine(mask = alternate) {
      net = mlp(hidden = [32, 32], act = relu)
      s = 2 * tanh(s / 2)
    }
  }
}
)";

template <class T>
std::unique_ptr<CompiledModel> compile(const char* source) {
  return test::compile_or_fail(source, test::precision_of<T>());
}

TrainOptions short_run(int64_t steps) {
  TrainOptions o;
  o.steps = steps;
  o.batch = 128;
  o.eval_every = 50;
  o.seed = 7;
  o.optimizer.lr = 3e-3;
  return o;
}

template <class T>
std::vector<T> train_once(const CompiledModel& m, const std::vector<double>& data, TrainOptions o) {
  Flow<T> flow = make_flow<T>(m);
  flow.init_params(o.seed);
  Trainer<T> trainer(flow, data, static_cast<int64_t>(data.size() / 2), o);
  TrainState state;
  trainer.run(state, [](const TrainEvent&) { return true; });
  return flow.params();
}

std::filesystem::path temp_dir() {
  auto dir = std::filesystem::temp_directory_path() / "nfc_test_training";
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace

TEST_CASE("training on 8gaussians reaches a small ground-truth KL", "[training]") {
  auto m = compile<float>(kRealNvp);
  Flow<float> flow = make_flow<float>(*m);
  const TrainOptions o = [] {
    TrainOptions t = short_run(2000);
    t.batch = 256;
    t.optimizer.lr = 1e-2;
    return t;
  }();
  flow.init_params(o.seed);
  const auto data = generate_builtin("8gaussians", 20000, 1);
  Trainer<float> trainer(flow, data, 20000, o);
  TrainState state;
  trainer.run(state, [](const TrainEvent&) { return true; });
  // KL(p || q) = E_p[log p - log q] on fresh samples from the generator.
  const auto held_out = generate_builtin("8gaussians", 20000, 99);
  const auto truth = builtin_log_density("8gaussians");
  REQUIRE(truth.has_value());
  std::vector<float> x(held_out.begin(), held_out.end()), lp(20000);
  flow.log_prob(x.data(), lp.data(), 20000);
  double kl = 0;
  for (int i = 0; i < 20000; ++i)
    kl += ((*truth)(&held_out[size_t(2 * i)]) - lp[size_t(i)]) / 20000;
  INFO("KL after 2000 steps: " << kl << ", best val NLL " << state.best_val);
  // A unit Gaussian is at KL ~ 4.2 from this mixture (variance ~4 per axis);
  // 2000 steps of this 6-layer RealNVP reach 0.24 (measured). The
  // bound leaves room for rounding differences between machines while still
  // failing for a broken gradient, optimizer or data pipeline.
  CHECK(kl < 0.35);
  CHECK(kl > -0.05);  // an estimate of a non-negative number: far below 0 means a bug
  CHECK(state.skipped_steps == 0);
}

TEST_CASE("the same seed gives bit-identical parameters", "[training]") {
  auto m = compile<double>(kRealNvp);
  const auto data = generate_builtin("moons", 2000, 3);
  const auto a = train_once<double>(*m, data, short_run(120));
  const auto b = train_once<double>(*m, data, short_run(120));
  CHECK(a == b);
  TrainOptions other = short_run(120);
  other.seed = 8;
  CHECK(train_once<double>(*m, data, other) != a);
}

// A trainer reads its batches from the table it is given (a mapped .npy
// file) exactly as from rows it copied.
TEST_CASE("training from a mapped .npy file equals training from rows in memory", "[training]") {
  auto m = compile<float>(kRealNvp);
  const auto data = generate_builtin("moons", 2000, 3);
  const std::vector<float> floats(data.begin(), data.end());
  const std::string path = (temp_dir() / "moons.npy").string();
  write_npy(path, {2000, 2}, floats.data());
  const auto in_memory = train_once<float>(*m, {floats.begin(), floats.end()}, short_run(120));
  Flow<float> flow = make_flow<float>(*m);
  flow.init_params(7);
  Trainer<float> trainer(flow, load_dataset(path, 0), short_run(120));
  TrainState state;
  trainer.run(state, [](const TrainEvent&) { return true; });
  CHECK(flow.params() == in_memory);
}

// ActNorm's data initialisation happens in the first half only: the
// resumed half must not repeat it.
TEST_CASE("a resumed run ends where an uninterrupted run ends", "[training]") {
  const std::string source = GENERATE(as<std::string>{}, kRealNvp, test::kActNormMixture);
  auto m = compile<float>(source.c_str());
  const auto data = generate_builtin("moons", 3000, 5);
  const int64_t n = 3000;
  TrainOptions o = short_run(300);
  o.optimizer.weight_decay = 1e-4;
  o.optimizer.kind = OptimizerKind::adamw;
  o.optimizer.clip_norm = 5;
  const auto uninterrupted = train_once<float>(*m, data, o);

  // First half: stop at the evaluation at step 150 and save the state.
  const auto dir = temp_dir();
  const std::string state_file = (dir / "resume.state.safetensors").string();
  {
    Flow<float> flow = make_flow<float>(*m);
    flow.init_params(o.seed);
    Trainer<float> trainer(flow, data, n, o);
    TrainState state;
    trainer.run(state, [&](const TrainEvent& e) {
      if (e.kind != TrainEvent::Kind::evaluation || e.step < 150) return true;
      std::vector<double> current(flow.params().begin(), flow.params().end());
      save_train_state(state_file, e.state, current, "{}");
      return false;
    });
    CHECK(state.step == 150);
  }
  // A new process would start here: fresh flow, state from the file.
  Flow<float> flow = make_flow<float>(*m);
  ResumeInfo info = load_train_state(state_file, flow.params().size());
  for (size_t i = 0; i < info.current_params.size(); ++i)
    flow.params()[i] = static_cast<float>(info.current_params[i]);
  Trainer<float> trainer(flow, data, n, o);
  trainer.run(info.state, [](const TrainEvent&) { return true; });
  CHECK(info.state.step == 300);
  CHECK(flow.params() == uninterrupted);
}

TEST_CASE("parameters round-trip through safetensors bit-exactly", "[training]") {
  auto m = compile<float>(kRealNvp);
  Flow<float> flow = make_flow<float>(*m);
  flow.init_params(11);
  const std::string path = (temp_dir() / "p.safetensors").string();
  const std::vector<double> values(flow.params().begin(), flow.params().end());
  const Standardizer st{{0.5, -1}, {2, 3}};
  save_params(path, flow.param_table(), values, TensorDType::f32, {"gaussians", "abc"}, st);
  const SavedParams back = load_params(path, flow.param_table(), flow.dim());
  CHECK(back.values == values);
  CHECK(back.source_hash == "abc");
  REQUIRE(back.standardizer.has_value());
  CHECK(back.standardizer->mean == st.mean);
  CHECK(back.standardizer->scale == st.scale);

  // A checkpoint of another architecture is refused, naming the tensor.
  auto other = compile<float>(R"(
flow gaussians(dim = 2) {
  repeat 6 { coupling affine(mask = alternate) { net = mlp(hidden = [16, 32]) } }
})");
  Flow<float> small = make_flow<float>(*other);
  try {
    load_params(path, small.param_table(), small.dim());
    FAIL("a mismatched checkpoint was accepted");
  } catch (const DataError& e) {
    CHECK(std::string(e.what()) ==
          path + ": tensor 'layer0.net.w1' has shape [32, 1], the model needs [16, 1]");
  }
}

// A checkpoint is data from disk: values that would give NaN densities with
// exit 0 (and emit-cpp would embed as infinity()) are refused, naming the
// tensor and index or the metadata column.
TEST_CASE("validation defaults follow the data's size", "[training]") {
  TrainOptions o;  // batch 256, val_frac 0.1
  auto plan = [&](int64_t n) {
    const ValidationPlan p = default_validation(n, o);
    return std::pair{p.eval_every, p.patience};
  };
  CHECK(plan(150) == std::pair<int64_t, int64_t>{10, 20});    // iris: 1 step per epoch
  CHECK(plan(1000) == std::pair<int64_t, int64_t>{30, 20});   // 900 / 256 = 3 steps per epoch
  CHECK(plan(10000) == std::pair<int64_t, int64_t>{100, 0});  // 35 per epoch: every 100 steps
  CHECK(plan(1000000) == std::pair<int64_t, int64_t>{100, 0});
}

TEST_CASE("checkpoints with unusable values or metadata are refused", "[training]") {
  auto m = compile<float>(kRealNvp);
  Flow<float> flow = make_flow<float>(*m);
  flow.init_params(3);
  const std::string path = (temp_dir() / "unusable.safetensors").string();
  const std::vector<double> values(flow.params().begin(), flow.params().end());
  save_params(path, flow.param_table(), values, TensorDType::f64, {"gaussians", "abc"},
              Standardizer{{0.5, -1}, {2, 3}});
  const SafetensorsFile good = read_safetensors(path);
  const std::string first = good.tensors[0].name;
  auto error_with = [&](auto change) -> std::string {
    SafetensorsFile f = good;
    change(f);
    write_safetensors(path, f.tensors, f.dtype, f.metadata);
    try {
      load_params(path, flow.param_table(), flow.dim());
    } catch (const DataError& e) {
      return e.what();
    }
    return "(accepted)";
  };
  CHECK(error_with([](auto&) {}) == "(accepted)");
  CHECK(error_with([](auto& f) { f.tensors[0].values[3] = NAN; }) ==
        path + ": tensor '" + first + "' holds nan at index 3");
  CHECK(error_with([](auto& f) { f.tensors[0].values[0] = -INFINITY; }) ==
        path + ": tensor '" + first + "' holds -inf at index 0");
  CHECK(error_with([](auto& f) { f.tensors[0].values[1] = 1e308; }) ==
        path + ": tensor '" + first + "' holds 1e+308 at index 1");
  CHECK(error_with([](auto& f) { f.tensors[0].values[1] = 1e29; }) == "(accepted)");
  auto standardize = [](const char* json) {
    return [json](auto& f) { f.metadata["nfc.standardize"] = json; };
  };
  const std::string st = path + ": metadata 'nfc.standardize' ";
  CHECK(error_with(standardize(R"({"mean":[0,1],"scale":[1,0]})")) ==
        st + "column 1: mean 1, scale 0 (a finite mean and a finite scale above 0 are needed)");
  CHECK(error_with(standardize(R"({"mean":[0,1],"scale":[-2,1]})")) ==
        st + "column 0: mean 0, scale -2 (a finite mean and a finite scale above 0 are needed)");
  CHECK(error_with(standardize(R"({"mean":[0,1e999],"scale":[1,1]})")) ==
        path + ": metadata 'nfc.standardize' is not valid");
  CHECK(error_with(standardize(R"({"mean":[0,1,2],"scale":[1,1,1]})")) ==
        st + "has 3 means and 3 scales, the model has dim 2");
  CHECK(error_with(standardize(R"({"mean":[0,1],"scale":[1]})")) ==
        st + "has 2 means and 1 scales, the model has dim 2");
  CHECK(error_with([](auto& f) { f.metadata["nfc.format_version"] = "2"; }) ==
        path + ": nfc.format_version '2' is not one this nfc reads (1)");
  // Echoed bytes are escaped: no escape sequence reaches the terminal.
  CHECK(error_with([](auto& f) { f.metadata["nfc.format_version"] = "\033[31m9"; }) ==
        path + ": nfc.format_version '\\x1B[31m9' is not one this nfc reads (1)");
  // Other writers' files have no nfc metadata at all: welcome.
  CHECK(error_with([](auto& f) { f.metadata.clear(); }) == "(accepted)");
}

TEST_CASE("non-finite steps are skipped, halve the learning rate, and stop a divergence",
          "[training]") {
  auto m = compile<float>(kRealNvp);
  // Rows of 1e30: z^2 overflows float32, so every batch has an infinite loss.
  std::vector<double> hopeless(2 * 400, 1e30);
  {
    Flow<float> flow = make_flow<float>(*m);
    flow.init_params(1);
    const std::vector<float> before = flow.params();
    TrainOptions o = short_run(100);
    o.max_bad_steps = 7;
    Trainer<float> trainer(flow, hopeless, 400, o);
    TrainState state;
    trainer.run(state, [](const TrainEvent&) { return true; });
    CHECK(state.diverged);
    CHECK(state.step == 7);
    CHECK(state.skipped_steps == 7);
    CHECK(state.lr_scale == std::ldexp(1.0, -7));
    CHECK(flow.params() == before);  // nothing non-finite reached the parameters
  }
  // One bad row: the one batch per epoch that holds it is skipped, the rest
  // train normally.
  auto data = generate_builtin("moons", 2000, 2);
  data[2 * 777] = 1e30;
  Flow<float> flow = make_flow<float>(*m);
  flow.init_params(1);
  TrainOptions o = short_run(200);
  o.val_frac = 0;
  Trainer<float> trainer(flow, data, 2000, o);
  TrainState state;
  trainer.run(state, [](const TrainEvent&) { return true; });
  CHECK_FALSE(state.diverged);
  CHECK(state.step == 200);
  CHECK(state.skipped_steps > 0);
  CHECK(state.skipped_steps < 200);
  for (float p : flow.params()) CHECK(std::isfinite(p));
}

// A run can end with finite steps and still be no fit: a learning rate far
// too large throws the parameters where the loss is astronomically large
// (--lr 1e3 reached 7e35 and exited 0), or the validation NLL is infinite.
TEST_CASE("a result orders of magnitude above the first loss, or not finite, is a divergence",
          "[training]") {
  auto m = compile<double>(kRealNvp);
  const auto data = generate_builtin("moons", 2000, 2);
  auto train = [&](double lr, const std::vector<double>& rows, double val_frac) {
    Flow<double> flow = make_flow<double>(*m);
    flow.init_params(1);
    TrainOptions o = short_run(200);
    o.optimizer.lr = lr;
    o.val_frac = val_frac;
    Trainer<double> trainer(flow, rows, int64_t(rows.size() / 2), o);
    TrainState state;
    trainer.run(state, [](const TrainEvent&) { return true; });
    return std::pair{state, trainer.result_problem(state)};
  };
  const auto [good, good_problem] = train(1e-3, data, 0.1);
  CHECK_FALSE(good.diverged);
  CHECK(good_problem.empty());
  CHECK(std::isfinite(good.initial_loss));
  CHECK(good.best_val < good.initial_loss);

  const auto [wild, wild_problem] = train(10, data, 0.1);
  CHECK(wild.diverged);
  REQUIRE(std::isfinite(wild.initial_loss));
  CHECK(wild.best_val > wild.initial_loss + 100 * std::max(1.0, std::abs(wild.initial_loss)));
  CHECK(wild_problem.starts_with("the best validation NLL is "));
  CHECK(wild_problem.ends_with(
      fmt::format(", orders of magnitude above the first step's {:.4g}", wild.initial_loss)));
  // Without a validation set the last training record is the result.
  const auto [wild_train, wild_train_problem] = train(10, data, 0);
  CHECK(wild_train.diverged);
  CHECK(wild_train_problem.starts_with("the final training NLL is "));
}

TEST_CASE("a training state whose options are not JSON is a DataError", "[training]") {
  // The CLI parses the options to compare them on --resume; unparsable ones
  // escaped from there as an internal error.
  const auto path =
      (std::filesystem::temp_directory_path() / "nfc_bad_options.safetensors").string();
  TrainState state;
  save_train_state(path, state, {0.5, 1.5}, "{\"lr\": ");
  CHECK_THROWS_WITH(load_train_state(path, 2),
                    Catch::Matchers::Contains("training state metadata is not valid"));
  save_train_state(path, state, {0.5, 1.5}, "[1]");
  CHECK_THROWS_WITH(load_train_state(path, 2),
                    path + ": 'nfc.train_options' metadata is not a JSON object");
  save_train_state(path, state, {0.5, 1.5}, "{}");
  CHECK(load_train_state(path, 2).current_params == std::vector<double>{0.5, 1.5});
  std::filesystem::remove(path);
}

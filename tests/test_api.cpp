// The public C++ API (include/nfc/nfc.hpp): compile errors as exceptions,
// parameters through safetensors, training with a callback that stops it,
// the host example, and an outside CMake project against an installed nfc.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <nfc/nfc.hpp>

#include "tests/Shell.hpp"

namespace fs = std::filesystem;

namespace {

const char* const kModel = R"(
flow pair(dim = 2) {
  coupling affine(mask = alternate) { net = mlp(hidden = [8], act = tanh) }
  coupling affine(mask = alternate) { net = mlp(hidden = [8], act = tanh) }
})";

fs::path scratch(const std::string& name) {
  return nfc::test::scratch_dir("nfc_test_api", name);
}

std::vector<double> gaussian_rows(int n) {
  std::vector<double> rows;
  for (int i = 0; i < n; ++i) {  // deterministic, spread out, correlated
    const double t = std::sin(i * 12.9898) * 43758.5453;
    const double u = t - std::floor(t) - 0.5, v = std::cos(i * 78.233) * 0.7;
    rows.push_back(2 * u + 0.5 * v);
    rows.push_back(v - u);
  }
  return rows;
}

}  // namespace

TEST_CASE("a model that does not compile throws its diagnostics", "[api]") {
  try {
    nfc::Model::compile("flow f(dim = 2) { coupl affine(mask = alternate) }", nfc::Precision::f64,
                        "bad.nf");
    FAIL("no exception");
  } catch (const nfc::CompileError& e) {
    CHECK(std::string(e.what()).find("bad.nf:1:19: error: unknown layer 'coupl'; did you mean "
                                     "'coupling'?") != std::string::npos);
  }
  CHECK_THROWS_AS(nfc::Model::compile_file("/nonexistent.nf"), nfc::Error);
}

TEST_CASE("a compile error carries its first error's place and message", "[api]") {
  try {
    nfc::Model::compile("flow f(dim = 2) {\n  coupl affine(mask = alternate)\n  bogus\n}",
                        nfc::Precision::f64, "bad.nf");
    FAIL("no exception");
  } catch (const nfc::CompileError& e) {
    CHECK(e.file == "bad.nf");
    CHECK(e.line == 2);
    CHECK(e.col == 3);
    CHECK(e.message == "unknown layer 'coupl'; did you mean 'coupling'?");
  }
}

TEST_CASE("the zero-copy forms give the vector forms' numbers, in either type", "[api]") {
  for (const nfc::Precision precision : {nfc::Precision::f64, nfc::Precision::f32}) {
    nfc::Model m = nfc::Model::compile(kModel, precision);
    m.init_params(5);
    const std::vector<double> x = gaussian_rows(300);
    const int64_t n = 300;
    const std::vector<double> lp = m.log_prob(x);
    std::vector<double> z, ld;
    m.forward(x, z, ld);
    // double in and out: in place for f64, converted for f32; the same values
    std::vector<double> lp_d(n), z_d(2 * n), ld_d(n);
    m.log_prob(x.data(), n, lp_d.data());
    m.forward(x.data(), n, z_d.data(), ld_d.data());
    CHECK(lp_d == lp);
    CHECK(z_d == z);
    CHECK(ld_d == ld);
    // float in and out: the f32 model's own numbers exactly when the input
    // is exactly float; rounding of the input and output otherwise
    std::vector<float> xf(x.begin(), x.end()), lp_f(n), back(2 * n), ld_f(n);
    m.log_prob(xf.data(), n, lp_f.data());
    const std::vector<double> lp_of_xf = m.log_prob(std::vector<double>(xf.begin(), xf.end()));
    for (int64_t i = 0; i < n; ++i) CHECK(lp_f[size_t(i)] == float(lp_of_xf[size_t(i)]));
    std::vector<float> zf(z.begin(), z.end());
    m.inverse(zf.data(), n, back.data(), ld_f.data());
    for (size_t i = 0; i < xf.size(); ++i) CHECK(back[i] == Approx(xf[i]).margin(1e-5));
    // samples: the vector form's, in the pointer's type
    const nfc::Model::Samples s = m.sample(50, 9);
    std::vector<double> sx(100), slp(50);
    m.sample(50, 9, sx.data(), slp.data());
    CHECK(sx == s.x);
    CHECK(slp == s.log_prob);
  }
}

TEST_CASE("nll_and_grad is the mean NLL and its gradient", "[api][gradient]") {
  nfc::Model m = nfc::Model::compile(kModel, nfc::Precision::f64);
  m.init_params(2);
  const std::vector<double> x = gaussian_rows(64);
  std::vector<double> grad;
  const double loss = m.nll_and_grad(x, grad);
  const std::vector<double> lp = m.log_prob(x);
  double mean = 0;
  for (const double v : lp) mean -= v / double(lp.size());
  CHECK(loss == Approx(mean).epsilon(1e-14));
  REQUIRE(grad.size() == m.params().size());
  const std::vector<double> theta = m.params();
  const double h = 1e-6;
  for (size_t k = 0; k < theta.size(); k += 7) {  // central differences, f64
    auto nll_at = [&](double delta) {
      std::vector<double> t = theta;
      t[k] += delta;
      m.set_params(t);
      double sum = 0;
      for (const double v : m.log_prob(x)) sum -= v;
      return sum / double(x.size() / 2);
    };
    const double fd = (nll_at(h) - nll_at(-h)) / (2 * h);
    CHECK(grad[k] == Approx(fd).margin(1e-7).epsilon(1e-6));
  }
  m.set_params(theta);
  std::vector<double> none;
  CHECK_THROWS_WITH(m.nll_and_grad(none, grad), "nll_and_grad: no rows");
}

TEST_CASE("any input that is not finite is a DataError that says where", "[api]") {
  nfc::Model m = nfc::Model::compile(kModel, nfc::Precision::f32);
  std::vector<double> x = gaussian_rows(10);
  x[2 * 6 + 1] = NAN;
  CHECK_THROWS_AS(m.log_prob(x), nfc::DataError);
  CHECK_THROWS_WITH(m.log_prob(x), "log_prob: x at row 6, column 1: NaN");
  std::vector<double> z, ld;
  x[2 * 6 + 1] = INFINITY;
  CHECK_THROWS_WITH(m.inverse(x, z, ld), "inverse: z at row 6, column 1: inf");
}

TEST_CASE("training validates on a set of its own when given one", "[api][training]") {
  nfc::Model m = nfc::Model::compile(kModel, nfc::Precision::f64);
  const std::vector<double> rows = gaussian_rows(800), val = gaussian_rows(1000);
  nfc::TrainConfig config;
  config.steps = 200;
  config.eval_every = 50;
  config.val_frac = 0.5;  // unused: the validation set is given
  std::vector<double> val_nlls;
  const nfc::TrainResult r = m.train(rows.data(), 800, val.data() + 2 * 800, 200, config,
                                     [&](const nfc::TrainProgress& p) {
                                       if (p.evaluation) val_nlls.push_back(p.val_nll);
                                       return true;
                                     });
  REQUIRE(val_nlls.size() == 4);
  CHECK(r.best_val_nll == *std::min_element(val_nlls.begin(), val_nlls.end()));
  // the model holds the best step's parameters: its NLL on the set is the record's
  const std::vector<double> held(val.begin() + 2 * 800, val.end());
  double nll = 0;
  for (const double v : m.log_prob(held)) nll -= v / 200.0;
  CHECK(nll == Approx(r.best_val_nll).epsilon(1e-12));
  std::vector<double> bad = held;
  bad[5] = NAN;
  CHECK_THROWS_WITH(m.train(rows.data(), 800, bad.data(), 200, config),
                    "validation data: row 2, column 1: NaN");
}

TEST_CASE("parameters round-trip through safetensors; densities and samples agree", "[api]") {
  const fs::path dir = scratch("params");
  nfc::Model a = nfc::Model::compile(kModel, nfc::Precision::f64);
  a.init_params(3);
  CHECK(a.name() == "pair");
  CHECK(a.dim() == 2);
  CHECK(a.param_names().front() == "layer0.net.w1");
  a.save((dir / "p.safetensors").string());
  nfc::Model b = nfc::Model::compile(kModel, nfc::Precision::f64);
  b.load((dir / "p.safetensors").string());
  CHECK(b.params() == a.params());
  const auto s = a.sample(20, 5);
  const auto lp = b.log_prob(s.x);  // by the forward direction; samples' by the inverse
  for (size_t i = 0; i < lp.size(); ++i) CHECK(lp[i] == Approx(s.log_prob[i]).margin(1e-12));
  std::vector<double> z, ld, back, ldi;
  b.forward(s.x, z, ld);
  b.inverse(z, back, ldi);
  for (size_t i = 0; i < back.size(); ++i) CHECK(back[i] == Approx(s.x[i]).margin(1e-12));
  CHECK_THROWS_AS(b.log_prob({1, 2, 3}), nfc::Error);  // not whole rows
  // Two threads: the same densities (each sample is computed alone).
  const auto many = a.sample(500, 6);
  const auto lp1 = b.log_prob(many.x);
  b.set_threads(2);
  CHECK(b.threads() == 2);
  CHECK(b.log_prob(many.x) == lp1);
  CHECK_THROWS_AS(b.set_threads(0), nfc::Error);
  CHECK_THROWS_AS(b.load((dir / "missing.safetensors").string()), nfc::Error);
}

TEST_CASE("training reports progress and stops when the callback says so", "[api]") {
  nfc::Model m = nfc::Model::compile(kModel, nfc::Precision::f32);
  m.init_params(1);
  const auto data = gaussian_rows(2000);
  nfc::TrainConfig config;
  config.steps = 400;
  config.eval_every = 20;
  int64_t evaluations = 0;
  const nfc::TrainResult r = m.train(data, config, [&](const nfc::TrainProgress& p) {
    evaluations += p.evaluation;
    return p.step < 100;
  });
  CHECK(r.steps == 100);
  CHECK(r.stopped_early);
  CHECK(evaluations == 5);
  CHECK(std::isfinite(r.best_val_nll));
  const nfc::TrainResult full = m.train(data, config);
  CHECK(full.steps == 400);
  CHECK_FALSE(full.stopped_early);
  CHECK(full.best_val_nll < r.best_val_nll);
}

// A host program validates nothing itself: the API refuses what the CLI
// refuses, with the same bounds, and throws nfc::Error only (empty rows once
// escaped as std::length_error and aborted the host).
TEST_CASE("training through the API validates data and options as the CLI does", "[api]") {
  nfc::Model m = nfc::Model::compile(kModel, nfc::Precision::f64);
  const std::vector<double> params = m.params();
  auto error_of = [&](const std::vector<double>& rows, const nfc::TrainConfig& c) -> std::string {
    try {
      m.train(rows, c);
    } catch (const nfc::Error& e) {
      return e.what();
    }
    return "(no error)";
  };
  const std::vector<double> rows = gaussian_rows(64);
  auto with = [](auto set) {
    nfc::TrainConfig c;
    c.steps = 5;
    set(c);
    return c;
  };
  CHECK(error_of({}, with([](auto&) {})) == "training data: no rows");
  std::vector<double> nan_rows = rows;
  nan_rows[2 * 7 + 1] = NAN;
  CHECK(error_of(nan_rows, with([](auto&) {})) == "training data: row 7, column 1: NaN");
  nan_rows[2 * 7 + 1] = -INFINITY;
  CHECK(error_of(nan_rows, with([](auto&) {})) == "training data: row 7, column 1: -inf");
  CHECK(error_of({1, 2, 3}, with([](auto&) {})) == "train: 3 values are not whole rows of dim 2");
  CHECK(error_of(rows, with([](auto& c) { c.batch = 0; })) ==
        "training options: batch is 0, not an integer of at least 1");
  CHECK(error_of(rows, with([](auto& c) { c.steps = 0; })) ==
        "training options: steps is 0, not an integer of at least 1");
  CHECK(error_of(rows, with([](auto& c) { c.lr = NAN; })) ==
        "training options: lr is nan, not a finite number above 0");
  CHECK(error_of(rows, with([](auto& c) { c.lr = -1e-3; })) ==
        "training options: lr is -0.001, not a finite number above 0");
  CHECK(error_of(rows, with([](auto& c) { c.val_frac = 1; })) ==
        "training options: val_frac is 1, not a number in [0, 0.9]");
  CHECK(error_of(rows, with([](auto& c) { c.eval_every = -2; })) ==
        "training options: eval_every is -2, not an integer of at least 1");
  CHECK(error_of(rows, with([](auto& c) { c.patience = -1; })) ==
        "training options: patience is -1, not an integer of at least 0");
  CHECK(m.params() == params);  // nothing was touched
  // The same rows and options, valid, train.
  CHECK(error_of(rows, with([](auto&) {})) == "(no error)");
  // A learning rate far too large trains without an error but is no fit:
  // the result says so, as the CLI's exit code does.
  nfc::TrainConfig wild;
  wild.steps = 200;
  wild.eval_every = 50;
  wild.lr = 10;
  CHECK(m.train(gaussian_rows(400), wild).diverged);
  m.init_params(0);
  CHECK_FALSE(m.train(gaussian_rows(400), with([](auto& c) { c.steps = 200; })).diverged);
}

// A conditional flow through the API: the context after the rows, one for
// all rows or one per row, in every call.
TEST_CASE("a conditional model takes its context in every call", "[api][conditional]") {
  nfc::Model m = nfc::Model::compile(R"(
flow cond(dim = 2, context = 1, context_net = mlp(hidden = [8], out = 3, act = tanh),
          base = diag_normal(net = mlp(hidden = [8], act = tanh))) {
  coupling affine(mask = alternate) { net = mlp(hidden = [8], act = tanh) }
  maf affine { net = made(hidden = [8], act = tanh) }
})");
  CHECK(m.context_dim() == 1);
  const std::vector<double> x = gaussian_rows(50);
  std::vector<double> c(50);
  for (int i = 0; i < 50; ++i) c[size_t(i)] = x[size_t(2 * i)] > 0 ? 1.0 : -1.0;
  nfc::TrainConfig config;
  config.steps = 60;
  config.eval_every = 30;
  const nfc::TrainResult r = m.train(x, c, config);
  CHECK(std::isfinite(r.best_val_nll));
  // x and c apart equal the rows (x, c) joined.
  std::vector<double> joined;
  for (int i = 0; i < 50; ++i)
    joined.insert(joined.end(), {x[size_t(2 * i)], x[size_t(2 * i + 1)], c[size_t(i)]});
  nfc::Model same = nfc::Model::compile(R"(
flow cond(dim = 2, context = 1, context_net = mlp(hidden = [8], out = 3, act = tanh),
          base = diag_normal(net = mlp(hidden = [8], act = tanh))) {
  coupling affine(mask = alternate) { net = mlp(hidden = [8], act = tanh) }
  maf affine { net = made(hidden = [8], act = tanh) }
})");
  same.train(joined, config);
  CHECK(same.params() == m.params());
  // One context for all rows is that context repeated.
  const std::vector<double> lp = m.log_prob(x, std::vector<double>(50, 1.0));
  CHECK(m.log_prob(x, {1.0}) == lp);
  CHECK(m.log_prob(x, {-1.0}) != lp);
  // forward then inverse at the same contexts: back to x, log-dets opposite.
  std::vector<double> z, back, ld, ldi;
  m.forward(x, z, ld, c);
  m.inverse(z, back, ldi, c);
  for (size_t i = 0; i < x.size(); ++i) CHECK(back[i] == Approx(x[i]).margin(1e-10));
  for (size_t i = 0; i < ld.size(); ++i) CHECK(ldi[i] == Approx(-ld[i]).margin(1e-10));
  // Samples at a context carry log p(x | c).
  const nfc::Model::Samples s = m.sample(20, 3, {0.5});
  const std::vector<double> again = m.log_prob(s.x, {0.5});
  for (size_t i = 0; i < again.size(); ++i) CHECK(s.log_prob[i] == Approx(again[i]).margin(1e-9));
  // A missing or misshapen context, or one given to a flow without.
  auto message = [](const auto& call) {
    try {
      call();
    } catch (const nfc::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(message([&] { m.log_prob(x); }) ==
        "log_prob: 'cond' is conditional (context 1): the context has 0 values, give 1 (one for "
        "all rows) or 50 x 1 (one per row)");
  CHECK(message([&] { m.sample(4, 1, {1, 2}); }) ==
        "sample: 'cond' is conditional (context 1): the context has 2 values, give 1 (one for all "
        "rows) or 4 x 1 (one per row)");
  CHECK(message([&] { m.train(x, config); }) ==
        "train: 100 values are not whole rows of 3 (dim 2, then context 1)");
  nfc::Model plain = nfc::Model::compile(kModel);
  CHECK(message([&] { plain.log_prob(x, {1.0}); }) ==
        "log_prob: 'pair' has no context; a context needs a flow declared with context = N");
}

TEST_CASE("the host example trains a flow through the API", "[api]") {
  const fs::path dir = scratch("host");
  const auto r = nfc::test::run_shell(std::string(NFC_HOST_EXAMPLE) + " " +
                                      (dir / "ring.safetensors").string());
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK(r.output.find("trained 600 steps") != std::string::npos);
  CHECK(r.output.find("bad.nf:1:21: error: unknown layer 'coupl'") != std::string::npos);
  CHECK(fs::exists(dir / "ring.safetensors"));
}

TEST_CASE("an outside CMake project finds and links an installed nfc", "[api][install]") {
  const fs::path dir = scratch("install");
  const std::string prefix = (dir / "prefix").string();
  auto run = [](const std::string& command) {
    const auto r = nfc::test::run_shell(command);
    INFO(command << "\n" << r.output);
    REQUIRE(r.exit_code == 0);
    return r.output;
  };
  run("cmake --install " + std::string(NFC_BUILD_DIR) + " --prefix " + prefix);
  CHECK(fs::exists(dir / "prefix/bin/nfc"));
  CHECK(fs::exists(dir / "prefix/include/nfc/nfc.hpp"));
  run("cmake -S " + std::string(NFC_SOURCE_DIR) + "/tests/install -B " + (dir / "build").string() +
      " -G Ninja -DCMAKE_PREFIX_PATH=" + prefix);
  run("cmake --build " + (dir / "build").string());
  CHECK(run((dir / "build/app").string()).find("line: mass 1.0000") != std::string::npos);
}

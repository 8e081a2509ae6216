// Integer data: the `dequantize(levels = L)` layer, the squeezed logit,
// the noise that training and evaluation add, honest bits/dim and samples
// that are levels again; image flows: PNG grids, temperature, plots.
#include <fmt/format.h>
#include <stb/stb_image.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <sstream>

#include "plot/ImageGrid.hpp"
#include "runtime/DataError.hpp"
#include "runtime/Dequantize.hpp"
#include "runtime/Trainer.hpp"
#include "runtime/io/Dataset.hpp"
#include "tests/Shell.hpp"
#include "tests/TestSupport.hpp"

using namespace nfc;
using nfc::test::compile_or_fail;

namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string& name) {
  return nfc::test::scratch_dir("nfc_test_dequantize", name);
}

void write_text(const fs::path& p, const std::string& text) {
  std::ofstream(p) << text;
}

// n rows of 4 levels in 0..3 with x1 = x0: 6 bits of entropy per row.
std::string levels_csv(int64_t n, uint64_t seed) {
  Random rng(seed);
  std::string csv = "a,b,c,d\n";
  for (int64_t i = 0; i < n; ++i) {
    const int a = int(rng.next() % 4), c = int(rng.next() % 4), d = int(rng.next() % 4);
    csv += fmt::format("{},{},{},{}\n", a, a, c, d);
  }
  return csv;
}

const char* kLevelsModel = R"(
flow levels(dim = 4, image = [2, 2, 1]) {
  dequantize(levels = 4)
  elementwise logit(alpha = 0.05)
  repeat 2 { maf affine(order = natural) { net = made(hidden = [16]) }; permute reverse }
}
)";

}  // namespace

TEST_CASE("dequantize and the squeezed logit: exact log-det, inverse and support", "[dequantize]") {
  const double alpha = 0.05, levels = 256;
  auto model = compile_or_fail(R"(
flow q(dim = 3) {
  dequantize(levels = 256)
  elementwise logit(alpha = 0.05)
  elementwise affine(s = 0, t = 0)
}
)");
  Flow<double> flow = make_flow<double>(*model);
  flow.init_params(0);
  CHECK(flow.format().levels == 256);
  REQUIRE(flow.support().size() == 3);
  for (const ColumnRange& c : flow.support()) CHECK(c == ColumnRange{0, 256, true, true});
  // Levels at both ends and between, plus noise: what training feeds in.
  std::vector<double> x = {0, 255, 17, 128, 3, 254, 255, 0, 64};
  Random rng(3);
  add_dequantization_noise(x.data(), 3, 3, 3, rng);
  std::vector<double> z(9), back(9), ld(3), ld_inv(3), lp(3);
  flow.forward(x.data(), z.data(), ld.data(), 3);
  flow.inverse(z.data(), back.data(), ld_inv.data(), 3);
  flow.log_prob(x.data(), lp.data(), 3);
  for (int r = 0; r < 3; ++r) {
    double expect_ld = 0, log_normal = 0;
    for (int d = 0; d < 3; ++d) {
      const double v = x[size_t(r * 3 + d)], p = alpha + (1 - 2 * alpha) * v / levels;
      CHECK(z[size_t(r * 3 + d)] == Approx(std::log(p / (1 - p))).epsilon(1e-13));
      // d/dx logit(alpha + (1 - 2 alpha) x / L) = (1 - 2 alpha) / (L p (1 - p))
      expect_ld += std::log((1 - 2 * alpha) / (levels * p * (1 - p)));
      CHECK(back[size_t(r * 3 + d)] == Approx(v).epsilon(1e-13));
      const double zz = z[size_t(r * 3 + d)];
      log_normal += -0.5 * zz * zz - 0.5 * std::log(2 * std::numbers::pi);
    }
    CHECK(ld[size_t(r)] == Approx(expect_ld).epsilon(1e-13));
    CHECK(ld_inv[size_t(r)] == Approx(-expect_ld).epsilon(1e-13));
    CHECK(lp[size_t(r)] == Approx(log_normal + expect_ld).epsilon(1e-13));
    // And against the central-difference Jacobian (entries good to ~1e-9).
    const double fd = std::log(std::fabs(test::fd_jacobian(flow, &x[size_t(r * 3)]).determinant()));
    CHECK(ld[size_t(r)] == Approx(fd).margin(1e-6));
  }
}

TEST_CASE("a uniform density over the levels has exactly log2(levels) bits/dim", "[dequantize]") {
  auto model = compile_or_fail("flow u(dim = 3, base = uniform) { dequantize(levels = 4) }");
  Flow<double> flow = make_flow<double>(*model);
  std::vector<double> x = {0, 1, 2, 3, 3, 3, 0, 0, 0};
  Random rng(1);
  add_dequantization_noise(x.data(), 3, 3, 3, rng);
  std::vector<double> lp(3);
  flow.log_prob(x.data(), lp.data(), 3);
  for (double v : lp) CHECK(v == Approx(-3 * std::log(4.0)).epsilon(1e-15));
  CHECK(bits_per_dim(3 * std::log(4.0), 3) == Approx(2.0).epsilon(1e-15));
  CHECK(bits_per_dim(784 * std::log(256.0), 784) == Approx(8.0).epsilon(1e-15));
}

TEST_CASE("dequantisation noise stays inside each level's cell, also in f32 at 255",
          "[dequantize]") {
  // In f32, 255 + u rounds up to 256 for u > 1 - 2^-17 (and down to 255,
  // inside the cell, below 2^-17): about 8 of 10^6 draws each.
  std::vector<float> x(1000000, 255.0f);
  Random rng(7);
  add_dequantization_noise(x.data(), int64_t(x.size()), 1, 1, rng);
  int64_t inside = 0, at_top = 0;
  for (float v : x) {
    inside += v >= 255.0f && v < 256.0f;
    at_top += v == std::nextafter(256.0f, 0.0f);
  }
  CHECK(inside == int64_t(x.size()));
  CHECK(at_top > 0);  // the rounding this guards against happened
  // At level 0 the noise is never 0 (a logit with alpha = 0 stays finite).
  std::vector<float> zeros(100000, 0.0f);
  add_dequantization_noise(zeros.data(), int64_t(zeros.size()), 1, 1, rng);
  CHECK(std::count_if(zeros.begin(), zeros.end(), [](float v) { return v > 0.0f; }) ==
        int64_t(zeros.size()));
  // Only the first `dim` values of each row: a context stays as it is.
  std::vector<double> rows = {2, 7.5, 1, 7.5};
  add_dequantization_noise(rows.data(), 2, 2, 1, rng);
  CHECK(rows[0] > 2);
  CHECK(rows[0] < 3);
  CHECK(rows[1] == 7.5);
  CHECK(rows[3] == 7.5);
  std::vector<double> samples = {-0.5, 0.2, 3.999, 4.5, 2.7};
  quantize(samples.data(), 5, 4);
  CHECK(samples == std::vector<double>{0, 0, 3, 3, 2});
}

TEST_CASE("the trainer refuses data that are not levels of the dequantize layer", "[dequantize]") {
  auto model = compile_or_fail(kLevelsModel);
  Flow<double> flow = make_flow<double>(*model);
  flow.init_params(0);
  std::vector<double> rows = {0, 0, 1, 2, 1, 1, 2.5, 3};
  try {
    Trainer<double> t(flow, rows, 2, TrainOptions{});
    FAIL("no error");
  } catch (const DataError& e) {
    CHECK(std::string(e.what()) ==
          "training data: row 1, column 2: 2.5 is not an integer in 0..3 (the model's "
          "'dequantize(levels = 4)')");
  }
  rows[6] = 4;
  CHECK_THROWS_WITH(Trainer<double>(flow, rows, 2, TrainOptions{}),
                    "training data: row 1, column 2: 4 is not an integer in 0..3 (the model's "
                    "'dequantize(levels = 4)')");
}

TEST_CASE("nfc: bits/dim of a dequantised flow, from eval and from logprob, and level samples",
          "[dequantize][cli]") {
  const fs::path dir = scratch("cli");
  write_text(dir / "m.nf", kLevelsModel);
  write_text(dir / "train.csv", levels_csv(2000, 1));
  write_text(dir / "test.csv", levels_csv(500, 2));
  const std::string model = (dir / "m.nf").string(), params = (dir / "p.safetensors").string();
  const auto train =
      test::run_nfc(fmt::format("train {} --data {} --steps 300 --seed 2 -q --out {}", model,
                                (dir / "train.csv").string(), params));
  INFO(train.output);
  REQUIRE(train.exit_code == 0);
  CHECK(train.output.find(" bits/dim) at step ") != std::string::npos);
  const auto eval = test::run_nfc(fmt::format("eval {} --params {} --data {} --seed 5", model,
                                              params, (dir / "test.csv").string()));
  INFO(eval.output);
  REQUIRE(eval.exit_code == 0);
  const size_t at = eval.output.find("mean NLL ");
  REQUIRE(at != std::string::npos);
  double nll = 0, bits = 0;
  REQUIRE(std::sscanf(eval.output.c_str() + at, "mean NLL %lf nats, %lf bits/dim", &nll, &bits) ==
          2);
  // The same noise (seed 5) under logprob: its rows reproduce the mean.
  const auto lp =
      test::run_nfc(fmt::format("logprob {} --params {} --data {} --seed 5 -o {}", model, params,
                                (dir / "test.csv").string(), (dir / "lp.npy").string()));
  REQUIRE(lp.exit_code == 0);
  const Dataset rows = load_dataset((dir / "lp.npy").string(), 0);
  double mean = 0;
  for (double v : rows.to_vector()) mean -= v / double(rows.rows);
  CHECK(mean == Approx(nll).epsilon(1e-6));
  CHECK(bits == Approx(mean / (4 * std::numbers::ln2)).epsilon(1e-6));
  // A bound on the discrete data's cross-entropy, which is at least their
  // entropy: 6 bits per row of 4 values (the trained flow is far from it).
  CHECK(bits > 1.5 - 0.05);
  CHECK(bits < 2.0);
  // Samples are levels.
  const auto sample = test::run_nfc(
      fmt::format("sample {} --params {} -n 300 -o {}", model, params, (dir / "s.csv").string()));
  REQUIRE(sample.exit_code == 0);
  const Dataset s = load_dataset((dir / "s.csv").string(), 0);
  REQUIRE(s.cols == 4);
  int64_t levels = 0;
  const std::vector<double> sampled = s.to_vector();
  for (double v : sampled) levels += v >= 0 && v <= 3 && v == std::floor(v);
  CHECK(levels == int64_t(sampled.size()));
  // Data that are not levels, and standardisation, are refused.
  write_text(dir / "bad.csv", "a,b,c,d\n0,1,2,3\n1,1,2.5,3\n");
  const auto bad = test::run_nfc(
      fmt::format("eval {} --params {} --data {}", model, params, (dir / "bad.csv").string()));
  CHECK(bad.exit_code == 1);
  CHECK(bad.output == fmt::format("nfc: error: {}: row 1, column 2: 2.5 is not an integer in "
                                  "0..3 (the model's 'dequantize(levels = 4)')\n",
                                  (dir / "bad.csv").string()));
  const auto standardized =
      test::run_nfc(fmt::format("train {} --data {} --steps 5 --standardize -q --out {}", model,
                                (dir / "train.csv").string(), (dir / "p2.safetensors").string()));
  CHECK(standardized.exit_code == 1);
  CHECK(standardized.output ==
        "nfc: error: --standardize cannot be used with 'levels': its first layer dequantises "
        "integer levels, which must reach it as they are\n");
}

TEST_CASE("sampling at a temperature scales the base's noise; log p stays the model's",
          "[dequantize][images]") {
  // At its initial parameters (s = t = 0) the flow is the identity: x = z.
  auto model = compile_or_fail("flow t(dim = 2) { elementwise affine(s = 0, t = 0) }");
  Flow<double> flow = make_flow<double>(*model);
  flow.init_params(0);
  const auto one = flow.sample(50, 9), cool = flow.sample(50, 9, {}, 0.5);
  for (size_t i = 0; i < one.x.size(); ++i) CHECK(cool.x[i] == 0.5 * one.x[i]);
  for (size_t i = 0; i < cool.log_prob.size(); ++i) {
    const double a = cool.x[2 * i], b = cool.x[2 * i + 1];
    CHECK(cool.log_prob[i] ==
          Approx(-0.5 * (a * a + b * b) - std::log(2 * std::numbers::pi)).epsilon(1e-14));
  }
  auto uniform = compile_or_fail("flow u(dim = 2, base = uniform) { permute reverse }");
  Flow<double> u = make_flow<double>(*uniform);
  CHECK_THROWS_WITH(u.sample(5, 1, {}, 0.5),
                    "sampling at a temperature needs a base with a scale (normal, diag_normal, "
                    "student_t or mixture); a uniform base has none");
}

TEST_CASE("an image grid shows each value at its intensity, tiles in rows", "[images]") {
  const fs::path dir = scratch("grid");
  const std::vector<double> rows = {0, 1, 2, 3, 3, 3, 0, 0};  // two 2 x 2 grey images
  write_image_grid((dir / "g.png").string(), ImageRows{rows.data(), 2, {2, 2, 1}, 3}, 1);
  int w = 0, h = 0, channels = 0;
  unsigned char* rgb = stbi_load((dir / "g.png").c_str(), &w, &h, &channels, 3);
  REQUIRE(rgb != nullptr);
  // 2 columns of 2-pixel tiles with 2-pixel gaps around them; one row.
  CHECK(w == 10);
  CHECK(h == 6);
  auto grey = [&](int x, int y) { return int(rgb[(y * w + x) * 3]); };
  CHECK(grey(2, 2) == 0);
  CHECK(grey(3, 2) == 85);
  CHECK(grey(2, 3) == 170);
  CHECK(grey(3, 3) == 255);
  CHECK(grey(6, 2) == 255);
  CHECK(grey(6, 3) == 0);
  CHECK(grey(0, 0) == 128);  // the gap
  stbi_image_free(rgb);
}

TEST_CASE("nfc sample writes a PNG grid of level images; plot shows data and samples",
          "[images][cli]") {
  const fs::path dir = scratch("png");
  write_text(dir / "m.nf", kLevelsModel);
  write_text(dir / "train.csv", levels_csv(500, 1));
  const std::string model = (dir / "m.nf").string(), params = (dir / "p.safetensors").string();
  REQUIRE(test::run_nfc(fmt::format("train {} --data {} --steps 50 -q --out {}", model,
                                    (dir / "train.csv").string(), params))
              .exit_code == 0);
  const auto grid = test::run_nfc(fmt::format("sample {} --params {} -n 9 --temperature 0.8 -o {}",
                                              model, params, (dir / "s.png").string()));
  INFO(grid.output);
  REQUIRE(grid.exit_code == 0);
  int w = 0, h = 0, channels = 0;
  unsigned char* rgb = stbi_load((dir / "s.png").c_str(), &w, &h, &channels, 3);
  REQUIRE(rgb != nullptr);
  CHECK(w == 2 + 3 * (4 + 2));  // 3 x 3 tiles of 2 x 2 pixels at zoom 2
  CHECK(h == w);
  int levels = 0;
  for (int y = 2; y < 6; ++y)
    for (int x = 2; x < 6; ++x) {
      const int v = rgb[(y * w + x) * 3];
      levels += v == 0 || v == 85 || v == 170 || v == 255;
    }
  CHECK(levels == 16);
  stbi_image_free(rgb);
  const auto plot = test::run_nfc(
      fmt::format("plot {} --params {} -o {}", model, params, (dir / "plot.png").string()));
  INFO(plot.output);
  CHECK(plot.exit_code == 0);
  CHECK(fs::file_size(dir / "plot.png") > 1000);
  // A flow without an image shape has no PNG of samples.
  write_text(dir / "flat.nf", "flow flat(dim = 4) { permute reverse }");
  const auto flat = test::run_nfc(
      fmt::format("sample {} -n 4 -o {}", (dir / "flat.nf").string(), (dir / "f.png").string()));
  CHECK(flat.exit_code == 1);
  CHECK(flat.output ==
        "nfc: error: a PNG of samples needs an image flow: declare the shape of 'flat' in its "
        "header, e.g. image = [28, 28, 1]\n");
  write_text(dir / "m4.nf", "flow m4(dim = 4) { elementwise affine(s = 0, t = 0) }");
  REQUIRE(test::run_nfc(fmt::format("train {} --data {} --steps 2 -q --out {}",
                                    (dir / "m4.nf").string(), (dir / "train.csv").string(),
                                    (dir / "m4.safetensors").string()))
              .exit_code == 0);
  const auto flat_plot =
      test::run_nfc(fmt::format("plot {} --params {} -o {}", (dir / "m4.nf").string(),
                                (dir / "m4.safetensors").string(), (dir / "f.png").string()));
  CHECK(flat_plot.exit_code == 1);
  CHECK(flat_plot.output ==
        fmt::format("nfc: error: plot draws 1-D and 2-D flows and image flows; '{}' has dim 4 and "
                    "no image shape\n",
                    (dir / "m4.nf").string()));
  write_text(dir / "u.nf", "flow u(dim = 2, base = uniform) { permute reverse }");
  const auto uniform =
      test::run_nfc(fmt::format("sample {} -n 4 --temperature 0.5", (dir / "u.nf").string()));
  CHECK(uniform.exit_code == 1);
  CHECK(uniform.output ==
        "nfc: error: --temperature needs a base with a scale (normal, diag_normal, student_t or "
        "mixture); 'u' samples a uniform base\n");
}

TEST_CASE("a conditional flow reads its context from a file beside the data (images, labels)",
          "[dequantize][cli]") {
  const fs::path dir = scratch("context");
  write_text(dir / "c.nf", R"(
flow labelled(dim = 4, context = 1, image = [2, 2, 1]) {
  dequantize(levels = 4)
  elementwise logit(alpha = 0.05)
  maf affine(order = natural) { net = made(hidden = [8]) }
}
)");
  write_text(dir / "x.csv", levels_csv(400, 3));
  std::string labels = "label\n";
  for (int i = 0; i < 400; ++i) labels += std::to_string(i % 10) + "\n";
  write_text(dir / "y.csv", labels);
  const std::string model = (dir / "c.nf").string(), params = (dir / "p.safetensors").string();
  const std::string x = (dir / "x.csv").string(), y = (dir / "y.csv").string();
  const auto train = test::run_nfc(fmt::format(
      "train {} --data {} --context-file {} --steps 20 -q --out {}", model, x, y, params));
  INFO(train.output);
  REQUIRE(train.exit_code == 0);
  const auto eval = test::run_nfc(
      fmt::format("eval {} --params {} --data {} --context-file {}", model, params, x, y));
  INFO(eval.output);
  CHECK(eval.exit_code == 0);
  CHECK(eval.output.find("400 rows, mean NLL ") != std::string::npos);
  // Without it the data file lacks the context's column.
  const auto bare = test::run_nfc(fmt::format("eval {} --params {} --data {}", model, params, x));
  CHECK(bare.exit_code == 1);
  CHECK(bare.output == fmt::format("nfc: error: {}: the data have 4 columns, the model needs 5 "
                                   "(dim 4, then context 1)\n",
                                   x));
  write_text(dir / "short.csv", "label\n1\n2\n");
  const auto rows = test::run_nfc(fmt::format("eval {} --params {} --data {} --context-file {}",
                                              model, params, x, (dir / "short.csv").string()));
  CHECK(rows.exit_code == 1);
  CHECK(rows.output == fmt::format("nfc: error: {}: 2 rows of context for the 400 rows of {}\n",
                                   (dir / "short.csv").string(), x));
  write_text(dir / "flat.nf", "flow flat(dim = 4) { elementwise affine(s = 0, t = 0) }");
  const auto flat = test::run_nfc(
      fmt::format("train {} --data {} --context-file {} --steps 2 -q --out {}",
                  (dir / "flat.nf").string(), x, y, (dir / "f.safetensors").string()));
  CHECK(flat.exit_code == 1);
  CHECK(flat.output ==
        "nfc: error: 'flat' has no context; --context-file needs a flow declared "
        "with context = N\n");
}

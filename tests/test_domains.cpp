// Formulas defined on part of ℝ: the compiler infers the flow's support from
// the domains of the layers that read the data, proves monotonicity there,
// and the flow's density integrates to 1 over it; the runtime gives -inf
// off the support and refuses training data there with a located count.
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "runtime/DataError.hpp"
#include "runtime/Trainer.hpp"
#include "tests/Shell.hpp"
#include "tests/TestSupport.hpp"

using namespace nfc;
using nfc::test::compile_or_fail;

namespace {

std::string flow_of(int dim, const std::string& layers) {
  return fmt::format("flow f(dim = {}) {{\n{}\n}}\n", dim, layers);
}

// The model compiles with no diagnostic at all (no monotonicity warning)
// and its support reads `support`.
Flow<double> accepted(const std::string& source, const std::string& support) {
  Diagnostics diags("test.nf", source);
  auto model = compile_model(source, diags, JitOptions{});
  std::ostringstream printed;
  diags.print(printed);
  INFO(source << printed.str());
  REQUIRE(model != nullptr);
  CHECK(printed.str().empty());
  Flow<double> flow = make_flow<double>(*model);
  flow.init_params(1);
  CHECK(describe_support(flow.support()) == support);
  return flow;
}

// ∫ p over the support of a 1-D flow, in a variable u that maps ℝ onto it
// (x = u on ℝ, lo + e^u on (lo, ∞), hi - e^u on (-∞, hi), lo + (hi - lo)
// sigmoid(u) on (lo, hi)),
// by the midpoint rule on u in [-60, 60]: the integrands decay like
// Gaussians in log x or logit x, so the tails cut off are below 1e-12.
double total_mass(const Flow<double>& flow) {
  const ColumnRange s = flow.support().at(0);
  const double h = 1e-3;
  double mass = 0;
  std::vector<double> x, dxdu;
  for (double u = -60 + h / 2; u < 60; u += h) {
    if (!std::isfinite(s.hi) && !std::isfinite(s.lo)) {
      x.push_back(u);
      dxdu.push_back(1);
    } else if (std::isfinite(s.hi) && !std::isfinite(s.lo)) {
      x.push_back(s.hi - std::exp(u));
      dxdu.push_back(std::exp(u));
    } else if (std::isfinite(s.hi)) {
      const double sig = 1 / (1 + std::exp(-u));
      x.push_back(s.lo + (s.hi - s.lo) * sig);
      dxdu.push_back((s.hi - s.lo) * sig * (1 - sig));
    } else {
      x.push_back(s.lo + std::exp(u));
      dxdu.push_back(std::exp(u));
    }
  }
  std::vector<double> lp(x.size());
  flow.log_prob(x.data(), lp.data(), int64_t(x.size()));
  for (size_t i = 0; i < x.size(); ++i)
    if (std::isfinite(lp[i])) mass += std::exp(lp[i]) * dxdu[i] * h;
  return mass;
}

}  // namespace

TEST_CASE("a flow's support is inferred from the domains of the layers that read the data",
          "[domains]") {
  struct Case {
    std::string layers, support;
  };
  const Case cases[] = {
      {"elementwise logit", "x0..x1 in (0, 1)"},
      {"map { z0 = log(x0); z1 = x1 + log(x0 + 2) }", "x0 in (0, inf)"},
      {"map { z0 = logit(x0 / 4); z1 = x1 }", "x0 in (0, 4)"},
      {"map { z0 = log(log(x0)); z1 = x1 }", "x0 in (1, inf)"},
      {"map { z0 = atanh(2 * x0 - 1); z1 = sqrt(x1) + log(x1) }", "x0 in (0, 1), x1 in (0, inf)"},
      {"map { z0 = x0; z1 = log(3 - x1) }", "x1 in (-inf, 3)"},
      {"map { z0 = asin(x0) + log(x0 + 1) * 2 + atanh(x0); z1 = x1 }", "x0 in (-1, 1)"},
      // The permutation moves the column the domain applies to.
      {"permute reverse\n map { z0 = log(x0); z1 = x1 }", "x1 in (0, inf)"},
      // exp then log: the second layer's domain is the first one's image.
      {"elementwise exp\n elementwise log", ""},
      // A where's branch guards its own function: no restriction.
      {"map { z0 = x0; z1 = x1 + where(x0 > 0, log(x0), 0) }", ""},
  };
  for (const Case& c : cases) {
    INFO(c.layers);
    accepted(flow_of(2, c.layers), c.support);
  }
}

TEST_CASE("flows on a domain integrate to 1 over their support, round-trip, and are -inf off it",
          "[domains]") {
  struct Case {
    std::string layers, support;
    std::vector<double> outside;
  };
  const Case cases[] = {
      {"elementwise logit", "x0 in (0, 1)", {0, 1, -0.5, 1.5}},
      {"map { z0 = log(x0) }", "x0 in (0, inf)", {0, -1}},
      {"map { z0 = logit(x0 / 4) }", "x0 in (0, 4)", {0, 4, 5}},
      {"map { z0 = 2 * log(x0 - 1) }", "x0 in (1, inf)", {1, 0.5}},
      {"map { z0 = atanh(2 * x0 - 1) }", "x0 in (0, 1)", {0, 1, 2}},
      {"map { z0 = sqrt(x0) + log(x0) }", "x0 in (0, inf)", {0, -2}},
      {"map { z0 = log(3 - x0) }", "x0 in (-inf, 3)", {3, 4}},
      // A where evaluates a branch only where it is taken: log is needed
      // for x0 < 1 only, log(x0 + 1) for x0 <= 0 only.
      {"map { z0 = where(x0 < 1, log(x0), x0 - 1) }", "x0 in (0, inf)", {0, -1}},
      {"map { z0 = where(x0 > 0, x0, log(x0 + 1)) }", "x0 in (-1, inf)", {-1, -2}},
      // On ℝ: kinks and odd extensions are continuous, and accepted.
      {"map { z0 = x0 + 0.5 * sign(x0) * log1p(abs(x0)) }", "", {}},
      {"map { z0 = max(x0, 2 * x0) }", "", {}},
      {"map { z0 = x0 + 0.5 * abs(x0) }", "", {}},
      {"map { z0 = x0 + tan(0.5 * atan(x0)) }", "", {}},
      {"map { z0 = x0 + erfinv(0.9 * tanh(x0)) }", "", {}},
      {"map { z0 = x0 ^ 3 + x0 }", "", {}},
  };
  for (const Case& c : cases) {
    INFO(c.layers);
    const Flow<double> flow = accepted(flow_of(1, c.layers), c.support);
    if (flow.support().at(0).is_all()) REQUIRE(c.outside.empty());
    // The midpoint rule's error is h^2/24 times the integral of p'' in u:
    // ~1e-8 for these smooth integrands.
    CHECK(total_mass(flow) == Approx(1).margin(1e-6));
    std::vector<double> lp(c.outside.size());
    flow.log_prob(c.outside.data(), lp.data(), int64_t(c.outside.size()));
    for (double v : lp) CHECK(v == -INFINITY);
    // Samples lie in the support and come back through the forward map.
    const auto s = flow.sample(200, 7);
    std::vector<double> z(200), ld(200), back(200), ld_back(200);
    flow.forward(s.x.data(), z.data(), ld.data(), 200);
    flow.inverse(z.data(), back.data(), ld_back.data(), 200);
    for (size_t i = 0; i < 200; ++i) {
      CHECK(flow.support()[0].contains(s.x[i]));
      CHECK(back[i] == Approx(s.x[i]).epsilon(1e-12).margin(1e-12));
    }
    // log_prob of the samples is the sampler's: the two directions agree.
    std::vector<double> lp_samples(200);
    flow.log_prob(s.x.data(), lp_samples.data(), 200);
    for (size_t i = 0; i < 200; ++i) CHECK(lp_samples[i] == Approx(s.log_prob[i]).margin(1e-10));
  }
}

TEST_CASE("monotonicity is proved on the domain: no warning for logit or log", "[domains]") {
  // Both drew "cannot prove ... monotone" before the domain was inferred.
  accepted(flow_of(2, "elementwise logit"), "x0..x1 in (0, 1)");
  accepted(flow_of(2, "map { z0 = log(x0); z1 = x1 }"), "x0 in (0, inf)");
  accepted(flow_of(2, "map { z0 = log(x0) + x0; z1 = acosh(x1) + log(x1 - 1) }"),
           "x0 in (0, inf), x1 in (1, inf)");
}

TEST_CASE("training data off the support is refused with a count and the first row", "[domains]") {
  Flow<double> flow = accepted(flow_of(2, "elementwise logit"), "x0..x1 in (0, 1)");
  std::vector<double> rows;
  for (int i = 0; i < 100; ++i) {
    rows.push_back(0.5);
    rows.push_back(0.25);
  }
  rows[2 * 3 + 1] = 1.5;  // row 3, column 1
  rows[2 * 40] = 0;       // row 40, column 0: the boundary is outside
  try {
    Trainer<double> t(flow, rows, 100, TrainOptions{});
    FAIL("the rows were accepted");
  } catch (const DataError& e) {
    CHECK(std::string(e.what()) ==
          "2 rows of the training data lie outside the support x0..x1 in (0, 1): first at row 3 "
          "(x1 = 1.5)");
  }
}

TEST_CASE("nfc train, eval and logprob on data off the support", "[domains][cli]") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "nfc_test_domains";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string model = (dir / "logit.nf").string(), data = (dir / "x.csv").string();
  std::ofstream(model) << flow_of(2,
                                  "elementwise logit\n coupling affine(mask = alternate) { "
                                  "net = mlp(hidden = [4]) }");
  std::string text, clean;
  for (int i = 0; i < 60; ++i) {
    text += i == 7 ? "0.5,-0.25\n" : "0.5,0.25\n";
    clean += fmt::format("{},{}\n", 0.1 + i / 100.0, 0.9 - i / 100.0);
  }
  std::ofstream(data) << text;
  std::ofstream(dir / "clean.csv") << clean;
  const std::string nfc = std::string(NFC_EXECUTABLE) + " ";
  const std::string message =
      "1 row of " + data +
      " lies outside the support x0..x1 in (0, 1): first at row 7 (x1 = -0.25)";
  auto r = test::run_shell(nfc + "train " + model + " --data " + data + " -q --steps 5 --out " +
                           (dir / "p.safetensors").string());
  CHECK(r.exit_code == 1);
  CHECK(r.output == "nfc: error: " + message + "\n");
  const std::string params = (dir / "p.safetensors").string();
  r = test::run_shell(nfc + "train " + model + " --data " + (dir / "clean.csv").string() +
                      " -q --steps 5 --out " + params);
  REQUIRE(r.exit_code == 0);
  r = test::run_shell(nfc + "eval " + model + " --params " + params + " --data " + data);
  CHECK(r.exit_code == 1);
  CHECK(r.output == "nfc: error: " + message + "\n");
  r = test::run_shell(nfc + "logprob " + model + " --params " + params + " --data " + data +
                      " -o " + (dir / "lp.csv").string());
  CHECK(r.exit_code == 0);
  CHECK(r.output.find("nfc: note: " + message + "; log p is -inf there\n") != std::string::npos);
  r = test::run_shell(nfc + "compile " + model);
  CHECK(r.output.find("support: x0..x1 in (0, 1)\n") != std::string::npos);
}

// Base distributions and ActNorm: each base's log density against an
// independent formula, densities that integrate to one, gradients of base
// parameters against finite differences, sample moments against the
// distributions; ActNorm's round trip and log-det, its data-dependent
// initialisation, and a flow with ActNorm layers training from the CLI.
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "runtime/Base.hpp"
#include "runtime/Trainer.hpp"
#include "tests/TestSupport.hpp"

using namespace nfc;

namespace {

constexpr double kPi = 3.14159265358979323846;

Flow<double> flow_of(const std::string& source, uint64_t seed = 1) {
  auto model = test::compile_or_fail(source);
  Flow<double> flow = make_flow<double>(*model);
  flow.init_params(seed);
  return flow;  // keeps the compiled code alive
}

const ParamTensor& tensor(const Flow<double>& f, const std::string& name) {
  for (const ParamTensor& p : f.param_table())
    if (p.name == name) return p;
  FAIL("no tensor " << name);
  throw std::logic_error("unreachable");
}

void set_tensor(Flow<double>& f, const std::string& name, const std::vector<double>& v) {
  const ParamTensor& p = tensor(f, name);
  REQUIRE(p.size == static_cast<int64_t>(v.size()));
  std::copy(v.begin(), v.end(), f.params().begin() + p.offset);
}

std::vector<double> get_tensor(const Flow<double>& f, const std::string& name) {
  const ParamTensor& p = tensor(f, name);
  return {f.params().begin() + p.offset, f.params().begin() + p.offset + p.size};
}

// Every ActNorm layer away from the identity: log-scales and shifts in +-0.5.
void randomize_actnorm(Flow<double>& f, uint64_t seed) {
  Random rng(seed);
  for (const ActNormSlot& s : f.actnorm_layers())
    for (int d = 0; d < f.dim(); ++d) {
      f.params()[size_t(s.log_scale + d)] = rng.uniform(-0.5, 0.5);
      f.params()[size_t(s.shift + d)] = rng.uniform(-0.5, 0.5);
    }
}

double normal_pdf(double x, double mean, double sd) {
  const double e = (x - mean) / sd;
  return std::exp(-0.5 * e * e) / (sd * std::sqrt(2 * kPi));
}

double student_t_pdf(double x, double nu) {
  return std::tgamma((nu + 1) / 2) / (std::sqrt(nu * kPi) * std::tgamma(nu / 2)) *
         std::pow(1 + x * x / nu, -(nu + 1) / 2);
}

// A 2-D mixture of 3 components with unequal weights and scales.
const std::vector<double> kLogits = {0.3, -0.4, 1.1};
const std::vector<double> kMeans = {-1.5, 0.5, 1.0, -1.0, 0.2, 2.0};
const std::vector<double> kLogScales = {-0.2, 0.3, 0.1, -0.5, 0.4, 0.0};

void set_mixture(Flow<double>& f) {
  set_tensor(f, "base.logits", kLogits);
  set_tensor(f, "base.means", kMeans);
  set_tensor(f, "base.log_scales", kLogScales);
}

// sum_k w_k prod_d N(z_d; mu_kd, sigma_kd), w = softmax(logits), directly.
double mixture_pdf(const double* z) {
  double total = 0, norm = 0;
  for (double l : kLogits) norm += std::exp(l);
  for (int k = 0; k < 3; ++k) {
    double p = std::exp(kLogits[k]) / norm;
    for (int d = 0; d < 2; ++d)
      p *= normal_pdf(z[d], kMeans[2 * k + d], std::exp(kLogScales[2 * k + d]));
    total += p;
  }
  return total;
}

std::vector<double> log_prob(const Flow<double>& f, const std::vector<double>& x) {
  std::vector<double> lp(x.size() / size_t(f.dim()));
  f.log_prob(x.data(), lp.data(), int64_t(lp.size()));
  return lp;
}

}  // namespace

TEST_CASE("each base's log density matches its formula", "[base]") {
  const int64_t n = 37;
  const auto z = test::normal_batch(n, 2, 11, 2.0);
  SECTION("normal") {
    Flow<double> f = flow_of("flow f(dim = 2, base = normal) {}");
    const auto lp = log_prob(f, z);
    for (int64_t i = 0; i < n; ++i)
      CHECK(lp[i] == Approx(std::log(normal_pdf(z[2 * i], 0, 1) * normal_pdf(z[2 * i + 1], 0, 1)))
                         .epsilon(0)
                         .margin(1e-12));
  }
  SECTION("diag_normal") {
    Flow<double> f = flow_of("flow f(dim = 2, base = diag_normal) {}");
    CHECK(get_tensor(f, "base.mean") == std::vector<double>{0, 0});  // N(0, I) at first
    CHECK(get_tensor(f, "base.log_scale") == std::vector<double>{0, 0});
    set_tensor(f, "base.mean", {0.7, -1.2});
    set_tensor(f, "base.log_scale", {0.4, -0.6});
    const auto lp = log_prob(f, z);
    for (int64_t i = 0; i < n; ++i)
      CHECK(lp[i] == Approx(std::log(normal_pdf(z[2 * i], 0.7, std::exp(0.4)) *
                                     normal_pdf(z[2 * i + 1], -1.2, std::exp(-0.6))))
                         .epsilon(0)
                         .margin(1e-12));
  }
  SECTION("uniform on a box") {
    Flow<double> f = flow_of("flow f(dim = 2, base = uniform(low = -1, high = 2.5)) {}");
    const auto lp = log_prob(f, z);
    for (int64_t i = 0; i < n; ++i) {
      const bool inside =
          z[2 * i] > -1 && z[2 * i] < 2.5 && z[2 * i + 1] > -1 && z[2 * i + 1] < 2.5;
      if (inside)
        CHECK(lp[i] == Approx(-2 * std::log(3.5)).epsilon(0).margin(1e-12));
      else
        CHECK(lp[i] == -INFINITY);
    }
    const auto edge = log_prob(f, {-1, 0, 0, 2.5, 2.4999, -0.9999});
    CHECK(edge[0] == -INFINITY);  // the boundary counts as outside
    CHECK(edge[1] == -INFINITY);
    CHECK(edge[2] == Approx(-2 * std::log(3.5)).epsilon(0).margin(1e-12));
  }
  SECTION("mixture") {
    Flow<double> f = flow_of("flow f(dim = 2, base = mixture(components = 3)) {}");
    CHECK(get_tensor(f, "base.logits") == std::vector<double>{0, 0, 0});
    CHECK(get_tensor(f, "base.log_scales") == std::vector<double>(6, 0));
    for (double m : get_tensor(f, "base.means")) CHECK(std::fabs(m) <= 2);
    set_mixture(f);
    const auto lp = log_prob(f, z);
    for (int64_t i = 0; i < n; ++i)
      CHECK(lp[i] == Approx(std::log(mixture_pdf(&z[2 * i]))).epsilon(0).margin(1e-12));
    // Far out every component's density underflows in double; the
    // max-subtracted log-sum-exp stays finite, within log K of the largest
    // component term a_k = log w_k + log N_k(z).
    const std::vector<double> far = {300, -400};
    const double lp_far = log_prob(f, far)[0];
    double norm = 0, a_max = -INFINITY;
    for (double l : kLogits) norm += std::exp(l);
    for (int k = 0; k < 3; ++k) {
      double a = kLogits[k] - std::log(norm) - std::log(2 * kPi);
      for (int d = 0; d < 2; ++d) {
        const double e = (far[d] - kMeans[2 * k + d]) * std::exp(-kLogScales[2 * k + d]);
        a -= 0.5 * e * e + kLogScales[2 * k + d];
      }
      a_max = std::max(a_max, a);
    }
    CHECK(std::isfinite(lp_far));
    CHECK(lp_far >= a_max - 1e-9);
    CHECK(lp_far <= a_max + std::log(3.0) + 1e-9);
  }
  SECTION("student_t") {
    Flow<double> f = flow_of("flow f(dim = 2, base = student_t(df = 3.5)) {}");
    const auto lp = log_prob(f, z);
    for (int64_t i = 0; i < n; ++i)
      CHECK(lp[i] ==
            Approx(std::log(student_t_pdf(z[2 * i], 3.5) * student_t_pdf(z[2 * i + 1], 3.5)))
                .epsilon(0)
                .margin(1e-12));
  }
}

TEST_CASE("bases are checked in the flow header", "[base]") {
  auto errors = [](const std::string& source) {
    Diagnostics diags("test.nf", source);
    analyze_model(source, diags);
    std::ostringstream out;
    diags.print(out);
    return out.str();
  };
  CHECK_THAT(errors("flow f(dim = 1, base = uniform(low = 2, high = 1)) {}"),
             Catch::Contains("uniform base needs low < high, found low = 2, high = 1"));
  CHECK_THAT(errors("flow f(dim = 1, base = mixture) {}"),
             Catch::Contains("missing argument 'components' for 'mixture'"));
  CHECK_THAT(errors("flow f(dim = 1, base = mixture(components = 0)) {}"),
             Catch::Contains("'components' must be an integer >= 1"));
  CHECK_THAT(errors("flow f(dim = 1, base = student_t(df = -1)) {}"),
             Catch::Contains("'df' must be a number > 0, found number -1"));
  CHECK_THAT(errors("flow f(dim = 1, base = student(df = 3)) {}"),
             Catch::Contains("did you mean 'student_t'?"));
  CHECK_THAT(errors("flow f(dim = 1, base = diag_normal(scale = 2)) {}"),
             Catch::Contains("unknown argument 'scale' for 'diag_normal'"));
}

namespace {

// The integral of exp(log_prob) over the real line by the trapezoid rule in
// u with x = sinh(u), dx = cosh(u) du: the integrand in u is smooth and
// decays at least like e^(-|u|) times a power of the density's tail, so the
// rule converges geometrically, and |u| <= 40 (|x| <= 1e17) leaves out a
// negligible mass even for a Student-t with 3 degrees of freedom.
double mass_1d(const Flow<double>& f) {
  const int64_t n = 400001;
  const double u_max = 40, h = 2 * u_max / double(n - 1);
  std::vector<double> x(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) x[size_t(i)] = std::sinh(-u_max + h * double(i));
  const auto lp = log_prob(f, x);
  double mass = 0;
  for (int64_t i = 0; i < n; ++i)
    mass += std::exp(lp[size_t(i)]) * std::cosh(-u_max + h * double(i));
  return mass * h;  // the end points carry nothing
}

// The same in 2-D with x_i = s sinh(u_i) on the midpoint rule: m^2 cells.
double mass_2d(const Flow<double>& f, double s, double u_max, int m) {
  const double h = 2 * u_max / m;
  std::vector<double> x(static_cast<size_t>(2 * m * m)), w(static_cast<size_t>(m));
  for (int i = 0; i < m; ++i) w[size_t(i)] = s * std::cosh(-u_max + (i + 0.5) * h) * h;
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < m; ++j) {
      x[size_t(2 * (i * m + j))] = s * std::sinh(-u_max + (i + 0.5) * h);
      x[size_t(2 * (i * m + j) + 1)] = s * std::sinh(-u_max + (j + 0.5) * h);
    }
  const auto lp = log_prob(f, x);
  double mass = 0;
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < m; ++j)
      mass += std::exp(lp[size_t(i * m + j)]) * w[size_t(i)] * w[size_t(j)];
  return mass;
}

// A 1-D flow on `base`: ActNorm and a sinh-arcsinh map.
std::string flow_1d(const std::string& base) {
  return "flow f(dim = 1, base = " + base +
         ") {\n  actnorm\n  map { z0 = sinh(1.2 * asinh(x0) - 0.3) }\n}\n";
}

}  // namespace

TEST_CASE("densities on every base integrate to one", "[base]") {
  SECTION("1-D, diag_normal") {
    Flow<double> f = flow_of(flow_1d("diag_normal"));
    randomize_actnorm(f, 3);
    set_tensor(f, "base.mean", {0.8});
    set_tensor(f, "base.log_scale", {-0.7});
    CHECK(mass_1d(f) == Approx(1).epsilon(0).margin(1e-9));
  }
  SECTION("1-D, mixture") {
    Flow<double> f = flow_of(flow_1d("mixture(components = 4)"), 5);
    randomize_actnorm(f, 4);
    set_tensor(f, "base.logits", {0.5, -1, 0, 2});
    set_tensor(f, "base.log_scales", {-1, 0.5, 0, -0.3});
    CHECK(mass_1d(f) == Approx(1).epsilon(0).margin(1e-9));
  }
  SECTION("1-D, student_t") {
    Flow<double> f = flow_of(flow_1d("student_t(df = 3)"));
    randomize_actnorm(f, 5);
    CHECK(mass_1d(f) == Approx(1).epsilon(0).margin(1e-9));
  }
  SECTION("1-D, uniform on a box") {
    // The density jumps at the support's ends, so integrate exactly between
    // them (found with the inverse) by the midpoint rule, which never
    // evaluates the ends: error ~ h^2 (b - a) max|p''| / 24 ~ 1e-12 here.
    Flow<double> f = flow_of(flow_1d("uniform(low = -2, high = 0.5)"));
    randomize_actnorm(f, 6);
    double ends[2], z[2] = {-2, 0.5}, ld[2];
    f.inverse(z, ends, ld, 2);
    const int64_t n = 200000;
    const double h = (ends[1] - ends[0]) / double(n);
    std::vector<double> x(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) x[size_t(i)] = ends[0] + h * (double(i) + 0.5);
    double mass = 0;
    for (double lp : log_prob(f, x)) mass += std::exp(lp) * h;
    CHECK(mass == Approx(1).epsilon(0).margin(1e-9));
  }
  // Smooth activations: a ReLU network's kinks would slow the rule down.
  const std::string coupling = R"(
  actnorm
  repeat 2 {
    coupling affine(mask = alternate) {
      net = mlp(hidden = [16], act = tanh)
      s = 2 * tanh(s / 2)
    }
  }
  actnorm
}
)";
  // Midpoint rule in u on 400^2 cells of [-8, 8]^2 (|x| < 1490): the
  // clamped couplings keep every scale within e^+-2 per layer, so the tails
  // stay those of the base, and the integrand in u is smooth (analytic), so
  // the rule converges geometrically: measured, the error is ~1e-14 with
  // 400^2 cells and stays so with 800^2 and 1600^2.
  SECTION("2-D, mixture") {
    Flow<double> f = flow_of("flow f(dim = 2, base = mixture(components = 3)) {\n" + coupling, 7);
    randomize_actnorm(f, 7);
    set_mixture(f);
    CHECK(mass_2d(f, 1, 8, 400) == Approx(1).epsilon(0).margin(1e-10));
  }
  SECTION("2-D, diag_normal") {
    Flow<double> f = flow_of("flow f(dim = 2, base = diag_normal) {\n" + coupling, 8);
    randomize_actnorm(f, 8);
    set_tensor(f, "base.mean", {0.5, -0.5});
    set_tensor(f, "base.log_scale", {0.3, -0.4});
    CHECK(mass_2d(f, 1, 8, 400) == Approx(1).epsilon(0).margin(1e-10));
  }
  SECTION("2-D, student_t") {
    Flow<double> f = flow_of("flow f(dim = 2, base = student_t(df = 4)) {\n" + coupling, 9);
    randomize_actnorm(f, 9);
    // Polynomial tails: |u| <= 12 reaches |x| ~ 8e4, where the t_4 tail
    // beyond holds ~1e-19 of the mass. Measured error ~1e-13.
    CHECK(mass_2d(f, 1, 12, 500) == Approx(1).epsilon(0).margin(1e-10));
  }
}

TEST_CASE("gradients of base parameters match finite differences", "[base]") {
  const std::string layers =
      "  actnorm\n  coupling affine(mask = alternate) { net = mlp(hidden = [8]); s = 2 * tanh(s / "
      "2) }\n"
      "  actnorm\n}\n";
  SECTION("diag_normal") {
    test::check_gradient("flow f(dim = 2, base = diag_normal) {\n" + layers, 3,
                         [](Flow<double>& f) {
                           randomize_actnorm(f, 1);
                           set_tensor(f, "base.mean", {0.3, -0.2});
                           set_tensor(f, "base.log_scale", {0.2, -0.3});
                         });
  }
  SECTION("mixture") {
    test::check_gradient("flow f(dim = 2, base = mixture(components = 3)) {\n" + layers, 4,
                         [](Flow<double>& f) {
                           randomize_actnorm(f, 2);
                           set_mixture(f);
                         });
  }
  SECTION("student_t") {
    test::check_gradient("flow f(dim = 2, base = student_t(df = 2.5)) {\n" + layers, 5,
                         [](Flow<double>& f) { randomize_actnorm(f, 3); });
  }
  SECTION("uniform") {  // inside the box the base is constant: only the log-det counts
    test::check_gradient("flow f(dim = 2, base = uniform(low = -20, high = 20)) {\n" + layers, 6,
                         [](Flow<double>& f) { randomize_actnorm(f, 4); });
  }
}

namespace {

// Sample mean and variance of column d against the distribution's. The
// tolerance is 5 standard errors: sqrt(var / n) for the mean and
// sqrt((m4 - v^2) / n) for the variance, m4 the sample's fourth central
// moment (the variance of the sample variance, to O(1/n^2)). A correct
// sampler fails one such check with probability ~6e-7.
void check_moments(const std::vector<double>& z, int dim, int d, double mean, double var) {
  const auto n = static_cast<int64_t>(z.size()) / dim;
  double m = 0, v = 0, m4 = 0;
  for (int64_t i = 0; i < n; ++i) m += z[size_t(i * dim + d)] / double(n);
  for (int64_t i = 0; i < n; ++i) {
    const double e = z[size_t(i * dim + d)] - m;
    v += e * e / double(n);
    m4 += e * e * e * e / double(n);
  }
  INFO("dimension " << d);
  CHECK(std::fabs(m - mean) <= 5 * std::sqrt(var / double(n)));
  CHECK(std::fabs(v - var) <= 5 * std::sqrt((m4 - v * v) / double(n)));
}

// 5 binomial standard errors for a frequency of n draws.
void check_frequency(int64_t hits, int64_t n, double p) {
  CHECK(std::fabs(double(hits) / double(n) - p) <= 5 * std::sqrt(p * (1 - p) / double(n)));
}

constexpr int64_t kSamples = 20000;

}  // namespace

TEST_CASE("samples follow each base distribution", "[base]") {
  SECTION("normal") {
    const auto s = flow_of("flow f(dim = 2) {}").sample(kSamples, 1);
    for (int d = 0; d < 2; ++d) check_moments(s.x, 2, d, 0, 1);
  }
  SECTION("diag_normal with its current parameters") {
    Flow<double> f = flow_of("flow f(dim = 2, base = diag_normal) {}");
    set_tensor(f, "base.mean", {1, -2});
    set_tensor(f, "base.log_scale", {0.5, -0.3});
    const auto s = f.sample(kSamples, 2);
    check_moments(s.x, 2, 0, 1, std::exp(1.0));
    check_moments(s.x, 2, 1, -2, std::exp(-0.6));
  }
  SECTION("uniform on a box") {
    const auto s =
        flow_of("flow f(dim = 2, base = uniform(low = -1, high = 3)) {}").sample(kSamples, 3);
    for (int d = 0; d < 2; ++d) check_moments(s.x, 2, d, 1, 16.0 / 12);
    for (double v : s.x) CHECK((v >= -1 && v < 3));
  }
  SECTION("mixture") {
    Flow<double> f = flow_of("flow f(dim = 2, base = mixture(components = 3)) {}");
    set_mixture(f);
    const auto s = f.sample(kSamples, 4);
    double norm = 0;
    for (double l : kLogits) norm += std::exp(l);
    for (int d = 0; d < 2; ++d) {  // E z = sum w mu, E z^2 = sum w (sigma^2 + mu^2)
      double mean = 0, second = 0;
      for (int k = 0; k < 3; ++k) {
        const double w = std::exp(kLogits[k]) / norm, mu = kMeans[2 * k + d];
        mean += w * mu;
        second += w * (std::exp(2 * kLogScales[2 * k + d]) + mu * mu);
      }
      check_moments(s.x, 2, d, mean, second - mean * mean);
    }
  }
  SECTION("mixture weights: components far apart are counted") {
    Flow<double> f = flow_of("flow f(dim = 1, base = mixture(components = 3)) {}");
    set_tensor(f, "base.logits", {0.3, -0.4, 1.1});
    set_tensor(f, "base.means", {-20, 0, 20});
    const auto s = f.sample(kSamples, 5);
    int64_t count[3] = {0, 0, 0};
    for (double v : s.x) ++count[v < -10 ? 0 : v < 10 ? 1 : 2];
    double norm = 0;
    for (double l : kLogits) norm += std::exp(l);
    for (int k = 0; k < 3; ++k) check_frequency(count[k], kSamples, std::exp(kLogits[k]) / norm);
  }
  SECTION("student_t") {
    // nu = 10: variance nu / (nu - 2) = 1.25, and a finite eighth moment, so
    // the sample variance's standard error is meaningful.
    const auto s = flow_of("flow f(dim = 2, base = student_t(df = 10)) {}").sample(kSamples, 6);
    for (int d = 0; d < 2; ++d) check_moments(s.x, 2, d, 0, 1.25);
    // nu = 3: P(|t| < 1) = 2 F(1) - 1 with F(t) = 1/2 + (t / (sqrt3 (1 + t^2/3)) + atan(t / sqrt3))
    // / pi.
    const auto t3 = flow_of("flow f(dim = 1, base = student_t(df = 3)) {}").sample(kSamples, 7);
    int64_t inside = 0;
    for (double v : t3.x) inside += std::fabs(v) < 1;
    check_frequency(inside, kSamples,
                    2 * (1 / (std::sqrt(3.0) * (4.0 / 3)) + std::atan(1 / std::sqrt(3.0))) / kPi);
    // nu = 1, the Cauchy (gamma shape 1/2 < 1: the boosted branch): P(|t| < 1) = 1/2.
    const auto t1 = flow_of("flow f(dim = 1, base = student_t(df = 1)) {}").sample(kSamples, 8);
    inside = 0;
    for (double v : t1.x) inside += std::fabs(v) < 1;
    check_frequency(inside, kSamples, 0.5);
  }
  SECTION("gamma variates: mean and variance equal the shape") {
    for (double shape : {0.3, 1.0, 4.5}) {
      Random rng(9);
      std::vector<double> g(kSamples);
      for (auto& v : g) v = gamma_variate(rng, shape);
      INFO("shape " << shape);
      check_moments(g, 1, 0, shape, shape);
    }
  }
}

TEST_CASE("a sample's log density is the compiled log_prob", "[base]") {
  // The runtime evaluates log q at its draws; the graph builds it
  // independently. Through a flow they must agree.
  for (const char* base : {"normal", "diag_normal", "uniform(low = -3, high = 3)",
                           "mixture(components = 3)", "student_t(df = 1.5)"}) {
    INFO(base);
    Flow<double> f = flow_of(
        std::string("flow f(dim = 2, base = ") + base +
            ") {\n  actnorm\n  coupling affine(mask = alternate) { s = 2 * tanh(s / 2) }\n}\n",
        2);
    randomize_actnorm(f, 10);
    if (f.base() == BaseKind::mixture) set_mixture(f);
    if (f.base() == BaseKind::diag_normal) {
      set_tensor(f, "base.mean", {0.4, 0.1});
      set_tensor(f, "base.log_scale", {-0.2, 0.3});
    }
    const auto s = f.sample(500, 3);
    const auto lp = log_prob(f, s.x);
    for (size_t i = 0; i < lp.size(); ++i)
      CHECK(s.log_prob[i] == Approx(lp[i]).epsilon(0).margin(1e-10));
  }
}

TEST_CASE("ActNorm: round trip, log-det and a base of its own", "[actnorm]") {
  const std::string layers =
      "  actnorm\n  coupling affine(mask = alternate) { net = mlp(hidden = [16]); s = 2 * tanh(s / "
      "2) }\n"
      "  permute reverse\n  actnorm\n}\n";
  test::NumericsOptions o;
  o.prepare = [](Flow<double>& f) { randomize_actnorm(f, 21); };
  test::check_flow_numerics("flow f(dim = 3) {\n" + layers, 4, o);
  // log|det| of a lone ActNorm is sum(log_scale), whatever x.
  Flow<double> f = flow_of("flow f(dim = 3) { actnorm }");
  randomize_actnorm(f, 22);
  CHECK(f.param_table()[0].name == "layer0.log_scale");
  CHECK(f.param_table()[1].name == "layer0.shift");
  const auto ls = get_tensor(f, "layer0.log_scale"), shift = get_tensor(f, "layer0.shift");
  const std::vector<double> x = {0.5, -1, 2};
  double z[3], ld;
  f.forward(x.data(), z, &ld, 1);
  CHECK(ld == Approx(ls[0] + ls[1] + ls[2]).epsilon(0).margin(1e-15));
  for (int d = 0; d < 3; ++d)
    CHECK(z[d] == Approx(x[d] * std::exp(ls[d]) + shift[d]).epsilon(0).margin(1e-15));
}

TEST_CASE("ActNorm's data initialisation standardises each layer's input", "[actnorm]") {
  Flow<double> f = flow_of(R"(
flow f(dim = 3) {
  actnorm
  coupling affine(mask = alternate) { net = mlp(hidden = [16]); s = 2 * tanh(s / 2) }
  permute reverse
  actnorm
}
)",
                           3);
  REQUIRE(f.actnorm_layers().size() == 2);
  // Correlated, shifted and scaled data; 1001 rows (no multiple of a SIMD width).
  const int64_t n = 1001;
  auto x = test::normal_batch(n, 3, 12);
  for (int64_t i = 0; i < n; ++i) {
    double* r = &x[size_t(3 * i)];
    r[2] = 5 + 0.1 * r[2] + 2 * r[0];
    r[0] = -3 + 4 * r[0];
    r[1] = 0.01 * r[1];
  }
  f.init_from_data(x.data(), n);
  // Output columns of mean 0 and (population) standard deviation 1, up to
  // rounding and the epsilon: with log_scale = -log sqrt(var + eps) the
  // output's variance is var / (var + eps) = 1 - eps exp(2 log_scale)
  // (1 - 1e-8 for the column of variance 1e-4).
  auto check_standard = [&](const std::vector<double>& out, const std::vector<double>& ls) {
    for (int d = 0; d < 3; ++d) {
      double m = 0, v = 0;
      for (int64_t i = 0; i < n; ++i) m += out[size_t(3 * i + d)] / double(n);
      for (int64_t i = 0; i < n; ++i) v += std::pow(out[size_t(3 * i + d)] - m, 2) / double(n);
      INFO("dimension " << d);
      CHECK(std::fabs(m) < 1e-12);
      CHECK(std::fabs(std::sqrt(v) - std::sqrt(1 - kActNormEpsilon * std::exp(2 * ls[d]))) < 1e-12);
    }
  };
  const auto ls = get_tensor(f, "layer0.log_scale"), shift = get_tensor(f, "layer0.shift");
  std::vector<double> first(x.size());
  for (size_t k = 0; k < x.size(); ++k) first[k] = x[k] * std::exp(ls[k % 3]) + shift[k % 3];
  check_standard(first, ls);
  // The last layer is an ActNorm: the flow's output is its output.
  std::vector<double> z(x.size()), ld(static_cast<size_t>(n));
  f.forward(x.data(), z.data(), ld.data(), n);
  check_standard(z, get_tensor(f, "layer3.log_scale"));
  // Idempotent: each layer is set from its input, which the earlier layers
  // already determine.
  const std::vector<double> once = f.params();
  f.init_from_data(x.data(), n);
  for (size_t i = 0; i < once.size(); ++i)
    CHECK(f.params()[i] == Approx(once[i]).epsilon(0).margin(1e-12));
}

TEST_CASE("a fresh Trainer initialises ActNorm from data, a resumed one does not", "[actnorm]") {
  auto model = test::compile_or_fail("flow f(dim = 2) { actnorm }");
  Flow<double> f = make_flow<double>(*model);
  f.init_params(1);
  std::vector<double> rows = test::normal_batch(300, 2, 4, 3.0);
  TrainOptions o;
  o.steps = 1;  // initialisation, and one step that moves log_scale by at most lr = 1e-3
  Trainer<double> trainer(f, rows, 300, o);
  TrainState resumed;
  resumed.step = 5;
  trainer.run(resumed, [](const TrainEvent&) { return true; });
  CHECK(get_tensor(f, "layer0.log_scale") == std::vector<double>{0, 0});
  TrainState fresh;
  trainer.run(fresh, [](const TrainEvent&) { return true; });
  // Data of standard deviation 3: log_scale near -log 3 (a batch of 256).
  for (double v : get_tensor(f, "layer0.log_scale"))
    CHECK(v == Approx(-std::log(3.0)).epsilon(0).margin(0.15));
}

TEST_CASE("a flow with ActNorm layers trains from the command line", "[actnorm][cli]") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "nfc_test_actnorm";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "model.nf") << R"(
flow glowish(dim = 2, base = diag_normal) {
  repeat 4 {
    actnorm
    coupling affine(mask = alternate) { net = mlp(hidden = [32, 32]); s = 2 * tanh(s / 2) }
  }
}
)";
  const std::string cmd = std::string(NFC_EXECUTABLE) + " train " + (dir / "model.nf").string() +
                          " --data builtin:moons --data-rows 2000 --steps 1000 --batch 128 "
                          "--eval-every 100 --seed 2 -q --out " +
                          (dir / "p.safetensors").string() + " --json " +
                          (dir / "m.json").string() + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  char buf[4096];
  while (size_t k = fread(buf, 1, sizeof buf, pipe)) out.append(buf, k);
  INFO(out);
  REQUIRE(pclose(pipe) == 0);
  const auto metrics = nlohmann::json::parse(std::ifstream(dir / "m.json"));
  const auto& h = metrics.at("history");
  REQUIRE(h.size() == 10);
  const double first = h.front().at("val_nll"), last = h.back().at("val_nll");
  INFO("validation NLL " << first << " -> " << last);
  // Measured: 2.24 after 100 steps, 1.74 after 1000 (the same flow without
  // ActNorm: 2.24 and 1.76).
  CHECK(last < first - 0.3);
  CHECK(last < 1.8);
}

TEST_CASE("float32 flows sample and initialise on every base", "[base][actnorm]") {
  for (const char* base : {"diag_normal", "uniform(low = -3, high = 3)", "mixture(components = 3)",
                           "student_t(df = 1.5)"}) {
    INFO(base);
    auto model = test::compile_or_fail(std::string("flow f(dim = 2, base = ") + base +
                                           ") {\n  actnorm\n  coupling affine(mask = alternate) "
                                           "{ s = 2 * tanh(s / 2) }\n  actnorm\n}\n",
                                       Precision::f32);
    Flow<float> f = make_flow<float>(*model);
    f.init_params(4);
    const auto data = test::normal_batch(300, 2, 6, 3.0);
    const std::vector<float> x(data.begin(), data.end());
    f.init_from_data(x.data(), 300);
    for (float v : f.params()) CHECK(std::isfinite(v));
    const auto s = f.sample(300, 5);
    std::vector<float> lp(300);
    f.log_prob(s.x.data(), lp.data(), 300);
    // float32: ~7 digits through two affine layers and the base's formula.
    for (size_t i = 0; i < lp.size(); ++i)
      CHECK(s.log_prob[i] == Approx(lp[i]).epsilon(1e-5).margin(1e-4));
  }
}

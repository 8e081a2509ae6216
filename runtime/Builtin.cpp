#include "runtime/Builtin.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "runtime/DataError.hpp"
#include "runtime/Random.hpp"
#include "support/Echo.hpp"

namespace nfc {
namespace {

constexpr double kPi = std::numbers::pi;
constexpr std::string_view kPrefix = "builtin:";

// Gaussian widths; see Builtin.hpp for the full definitions.
constexpr double kMoonNoise = 0.1;
constexpr double kGaussianSigma = 0.2;
constexpr double kRingSigma = 0.08;

double log_normal_pdf(double x, double mean, double sigma) {
  const double z = (x - mean) / sigma;
  return -0.5 * z * z - std::log(sigma) - 0.5 * std::log(2 * kPi);
}

double log_sum_exp(const double* terms, int n) {
  const double top = *std::max_element(terms, terms + n);
  if (std::isinf(top)) return top;
  double sum = 0;
  for (int i = 0; i < n; ++i) sum += std::exp(terms[i] - top);
  return top + std::log(sum);
}

void sample_moons(Random& rng, double* out) {
  const bool upper = rng.uniform() < 0.5;
  const double t = kPi * rng.uniform();
  const double mx = upper ? std::cos(t) : 1 - std::cos(t);
  const double my = upper ? std::sin(t) : 0.5 - std::sin(t);
  const double n1 = rng.normal(), n2 = rng.normal();
  out[0] = 4.0 / 3.0 * (mx + kMoonNoise * n1 - 0.5);
  out[1] = 4.0 / 3.0 * (my + kMoonNoise * n2 - 0.25);
}

void gaussian_centre(int k, double* c) {
  c[0] = 2 * std::cos(k * kPi / 4);
  c[1] = 2 * std::sin(k * kPi / 4);
}

void sample_8gaussians(Random& rng, double* out) {
  const int k = std::min(7, static_cast<int>(8 * rng.uniform()));
  double c[2];
  gaussian_centre(k, c);
  const double n1 = rng.normal(), n2 = rng.normal();
  out[0] = c[0] + kGaussianSigma * n1;
  out[1] = c[1] + kGaussianSigma * n2;
}

double log_density_8gaussians(const double* x) {
  double terms[8];
  for (int k = 0; k < 8; ++k) {
    double c[2];
    gaussian_centre(k, c);
    terms[k] = log_normal_pdf(x[0], c[0], kGaussianSigma) +
               log_normal_pdf(x[1], c[1], kGaussianSigma) - std::log(8.0);
  }
  return log_sum_exp(terms, 8);
}

// Column i uniform in 0..3, row j of the same parity, so i + j is even.
void sample_checkerboard(Random& rng, double* out) {
  const int i = std::min(3, static_cast<int>(4 * rng.uniform()));
  const int j = 2 * std::min(1, static_cast<int>(2 * rng.uniform())) + i % 2;
  out[0] = -2 + i + rng.uniform();
  out[1] = -2 + j + rng.uniform();
}

double log_density_checkerboard(const double* x) {
  const double i = std::floor(x[0] + 2), j = std::floor(x[1] + 2);
  const bool on_board = i >= 0 && i <= 3 && j >= 0 && j <= 3;
  if (!on_board || std::fmod(i + j, 2.0) != 0) return -std::numeric_limits<double>::infinity();
  return -std::log(8.0);  // 8 unit squares
}

// Ring k (1..4) has radius k/2 and weight k/10.
void sample_rings(Random& rng, double* out) {
  const double u = rng.uniform();
  const int k = u < 0.1 ? 1 : u < 0.3 ? 2 : u < 0.6 ? 3 : 4;
  const double theta = 2 * kPi * rng.uniform();
  const double rho = 0.5 * k + kRingSigma * rng.normal();
  out[0] = rho * std::cos(theta);
  out[1] = rho * std::sin(theta);
}

// Change of variables from (rho, theta) on R x [0, 2 pi): both preimages of
// x, each with Jacobian |rho| = |x| and angle density 1/(2 pi).
double log_density_rings(const double* x) {
  const double r = std::hypot(x[0], x[1]);
  if (r == 0) return std::numeric_limits<double>::infinity();
  double terms[8];
  for (int k = 1; k <= 4; ++k) {
    const double log_w = std::log(k / 10.0);
    terms[2 * k - 2] = log_w + log_normal_pdf(r, 0.5 * k, kRingSigma);
    terms[2 * k - 1] = log_w + log_normal_pdf(-r, 0.5 * k, kRingSigma);
  }
  return log_sum_exp(terms, 8) - std::log(2 * kPi * r);
}

// 1-D, for flows with dim 1 (e.g. learning a CDF): two Gaussians,
// 0.35 N(-1.2, 0.35^2) + 0.65 N(1.0, 0.5^2).
void sample_bimodal1d(Random& rng, double* out) {
  const bool left = rng.uniform() < 0.35;
  const double n = rng.normal();
  out[0] = left ? -1.2 + 0.35 * n : 1.0 + 0.5 * n;
}

double log_density_bimodal1d(const double* x) {
  double terms[2] = {std::log(0.35) + log_normal_pdf(x[0], -1.2, 0.35),
                     std::log(0.65) + log_normal_pdf(x[0], 1.0, 0.5)};
  return log_sum_exp(terms, 2);
}

// Conditional, rows (x0, x1, c): c = -1 + 2U, then x | c a 2-D Gaussian
// with mean (1.5 c, c^2 - 0.5), standard deviations 0.5 and correlation
// 0.8 c, drawn as x0 = m0 + 0.5 N1, x1 = m1 + 0.5 (r N1 + sqrt(1 - r^2) N2).
constexpr double kCondSigma = 0.5;

void cond_gaussian_params(double c, double* mean, double* rho) {
  mean[0] = 1.5 * c;
  mean[1] = c * c - 0.5;
  *rho = 0.8 * c;
}

void sample_cond_gaussians(Random& rng, double* out) {
  const double c = -1 + 2 * rng.uniform();
  const double n1 = rng.normal(), n2 = rng.normal();
  double mean[2], rho;
  cond_gaussian_params(c, mean, &rho);
  out[0] = mean[0] + kCondSigma * n1;
  out[1] = mean[1] + kCondSigma * (rho * n1 + std::sqrt(1 - rho * rho) * n2);
  out[2] = c;
}

// log p(x | c) of the bivariate normal, from the row (x0, x1, c).
double log_density_cond_gaussians(const double* row) {
  double mean[2], rho;
  cond_gaussian_params(row[2], mean, &rho);
  const double u = (row[0] - mean[0]) / kCondSigma, v = (row[1] - mean[1]) / kCondSigma;
  const double one_minus = 1 - rho * rho;
  return -std::log(2 * kPi * kCondSigma * kCondSigma * std::sqrt(one_minus)) -
         (u * u - 2 * rho * u * v + v * v) / (2 * one_minus);
}

struct Builtin {
  BuiltinInfo info;
  void (*sample)(Random&, double*);
  double (*log_density)(const double*);  // null: no closed form
  int dim = 2;                           // columns, the context's included
  int context = 0;                       // conditional: the last columns are the context
};

const std::vector<Builtin>& builtins() {
  static const std::vector<Builtin> table = {
      {{"moons", "two interleaving half circles with Gaussian noise"}, sample_moons, nullptr},
      {{"8gaussians", "8 Gaussians (sigma 0.2) on a circle of radius 2"},
       sample_8gaussians,
       log_density_8gaussians},
      {{"checkerboard", "uniform on the 8 dark squares of a 4x4 board on [-2, 2]^2"},
       sample_checkerboard,
       log_density_checkerboard},
      {{"rings", "4 concentric rings of radii 0.5, 1, 1.5, 2 with radial noise 0.08"},
       sample_rings,
       log_density_rings},
      {{"bimodal1d", "1-D: 0.35 N(-1.2, 0.35^2) + 0.65 N(1.0, 0.5^2)"},
       sample_bimodal1d,
       log_density_bimodal1d,
       1},
      {{"cond_gaussians",
        "conditional: c ~ U(-1, 1), x | c ~ N((1.5c, c^2 - 0.5), 0.5^2 [1, 0.8c; 0.8c, 1]); rows "
        "(x0, x1, c)"},
       sample_cond_gaussians,
       log_density_cond_gaussians,
       3,
       1},
  };
  return table;
}

const Builtin& find_builtin(std::string_view name) {
  if (name.starts_with(kPrefix)) name.remove_prefix(kPrefix.size());
  for (const Builtin& b : builtins())
    if (b.info.name == name) return b;
  std::vector<std::string> known;
  for (const Builtin& b : builtins()) known.push_back(b.info.name);
  throw DataError(fmt::format("unknown built-in dataset '{}' (known: {})", echoed(name),
                              fmt::join(known, ", ")));
}

}  // namespace

const std::vector<BuiltinInfo>& list_builtins() {
  static const std::vector<BuiltinInfo> infos = [] {
    std::vector<BuiltinInfo> out;
    for (const Builtin& b : builtins()) out.push_back(b.info);
    return out;
  }();
  return infos;
}

bool is_builtin(const std::string& spec) {
  return spec.starts_with(kPrefix);
}

std::vector<double> generate_builtin(const std::string& name, int64_t rows, uint64_t seed) {
  const Builtin& b = find_builtin(name);
  if (rows <= 0)
    throw DataError(
        fmt::format("builtin:{}: the number of rows must be positive, not {}", b.info.name, rows));
  Random rng(seed);
  std::vector<double> values(static_cast<size_t>(b.dim * rows));
  for (int64_t r = 0; r < rows; ++r) b.sample(rng, &values[static_cast<size_t>(b.dim * r)]);
  return values;
}

int builtin_dim(const std::string& name) {
  return find_builtin(name).dim;
}

int builtin_context_dim(const std::string& name) {
  return find_builtin(name).context;
}

std::optional<LogDensity> builtin_log_density(const std::string& name) {
  const Builtin& b = find_builtin(name);
  if (!b.log_density) return std::nullopt;
  return LogDensity(b.log_density);
}

}  // namespace nfc

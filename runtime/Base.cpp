// Sampling the base distributions, and log q at the samples.
#include "runtime/Base.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>

namespace nfc {

namespace {

constexpr double kLog2Pi = 1.8378770664093454835606594728112353;

// log sum_k exp(a_k) without overflow: the largest term is factored out.
double log_sum_exp(const std::vector<double>& a) {
  const double m = *std::max_element(a.begin(), a.end());
  double s = 0;
  for (double v : a) s += std::exp(v - m);
  return m + std::log(s);
}

// The mixture: pick component k with probability softmax(logits)_k, then
// z = means_k + exp(log_scales_k) * N(0, I); log q by log-sum-exp over all
// components at the stored z.
template <class T>
void sample_mixture(const BaseSettings& base, const BaseTensors& t, const T* params, int dim,
                    int64_t n, Random& rng, T* z, double* log_q, double temperature) {
  const int k_count = base.components;
  std::vector<double> log_w(static_cast<size_t>(k_count)), a(log_w.size());
  for (int k = 0; k < k_count; ++k) log_w[size_t(k)] = params[t.logits + k];
  const double norm = log_sum_exp(log_w);
  for (double& v : log_w) v -= norm;
  auto mean = [&](int k, int d) { return double(params[t.means + int64_t(k) * dim + d]); };
  auto log_scale = [&](int k, int d) {
    return double(params[t.log_scales + int64_t(k) * dim + d]);
  };
  for (int64_t i = 0; i < n; ++i) {
    T* row = z + i * dim;
    const double u = rng.uniform();
    int pick = k_count - 1;  // rounding may leave the cumulative sum just below 1
    double cumulative = 0;
    for (int k = 0; k < k_count - 1; ++k) {
      cumulative += std::exp(log_w[size_t(k)]);
      if (u < cumulative) {
        pick = k;
        break;
      }
    }
    for (int d = 0; d < dim; ++d)
      row[d] =
          static_cast<T>(mean(pick, d) + std::exp(log_scale(pick, d)) * temperature * rng.normal());
    for (int k = 0; k < k_count; ++k) {
      double s = log_w[size_t(k)] - 0.5 * dim * kLog2Pi;
      for (int d = 0; d < dim; ++d) {
        const double e = (double(row[d]) - mean(k, d)) * std::exp(-log_scale(k, d));
        s -= 0.5 * e * e + log_scale(k, d);
      }
      a[size_t(k)] = s;
    }
    log_q[i] = log_sum_exp(a);
  }
}

// Draw one value per element, then log q per row from a per-element density.
template <class T, class Draw, class LogDensity>
void sample_independent(int dim, int64_t n, T* z, double* log_q, Draw draw, LogDensity log_p) {
  for (int64_t i = 0; i < n; ++i) {
    double s = 0;
    for (int d = 0; d < dim; ++d) {
      T& v = z[i * dim + d];
      v = static_cast<T>(draw(d));
      s += log_p(d, double(v));
    }
    log_q[i] = s;
  }
}

}  // namespace

double gamma_variate(Random& rng, double shape) {
  if (shape < 1) {  // gamma(a) = gamma(a + 1) U^(1/a); 1 - U is in (0, 1]
    const double boost = std::pow(1 - rng.uniform(), 1 / shape);
    return gamma_variate(rng, shape + 1) * boost;
  }
  const double d = shape - 1.0 / 3, c = 1 / std::sqrt(9 * d);
  for (;;) {
    const double x = rng.normal();
    double v = 1 + c * x;
    if (v <= 0) continue;
    v = v * v * v;
    const double u = 1 - rng.uniform();
    if (std::log(u) < 0.5 * x * x + d - d * v + d * std::log(v)) return d * v;
  }
}

BaseTensors BaseTensors::find(const std::vector<std::string>& names,
                              const std::vector<int64_t>& offsets) {
  BaseTensors t;
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string& s = names[i];
    int64_t* slot = s == "base.mean"         ? &t.mean
                    : s == "base.log_scale"  ? &t.log_scale
                    : s == "base.logits"     ? &t.logits
                    : s == "base.means"      ? &t.means
                    : s == "base.log_scales" ? &t.log_scales
                                             : nullptr;
    if (slot) *slot = offsets[i];
  }
  return t;
}

template <class T>
void sample_base(const BaseSettings& base, const BaseTensors& t, const T* params, int dim,
                 int64_t n, Random& rng, T* z, double* log_q, double temperature) {
  if (temperature != 1 && !tempers(base.kind))
    throw std::invalid_argument(
        "sampling at a temperature needs a base with a scale (normal, "
        "diag_normal, student_t or mixture); a uniform base has none");
  switch (base.kind) {
    case BaseKind::standard_normal:
      return sample_independent(
          dim, n, z, log_q, [&](int) { return temperature * rng.normal(); },
          [](int, double v) { return -0.5 * v * v - 0.5 * kLog2Pi; });
    case BaseKind::diag_normal:  // z = mean + exp(log_scale) N(0, 1)
      return sample_independent(
          dim, n, z, log_q,
          [&](int d) {
            return params[t.mean + d] +
                   std::exp(double(params[t.log_scale + d])) * temperature * rng.normal();
          },
          [&](int d, double v) {
            const double ls = params[t.log_scale + d];
            const double e = (v - params[t.mean + d]) * std::exp(-ls);
            return -0.5 * e * e - ls - 0.5 * kLog2Pi;
          });
    case BaseKind::uniform: {
      const double log_width = std::log(base.high - base.low);
      return sample_independent(
          dim, n, z, log_q, [&](int) { return rng.uniform(base.low, base.high); },
          [&](int, double) { return -log_width; });
    }
    case BaseKind::mixture:
      return sample_mixture(base, t, params, dim, n, rng, z, log_q, temperature);
    case BaseKind::student_t: {  // N(0, 1) / sqrt(chi2_nu / nu), chi2_nu = 2 gamma(nu / 2)
      const double nu = base.df;
      const double log_norm =
          std::lgamma((nu + 1) / 2) - std::lgamma(nu / 2) - 0.5 * std::log(nu * std::numbers::pi);
      return sample_independent(
          dim, n, z, log_q,
          [&](int) {
            return temperature * rng.normal() / std::sqrt(2 * gamma_variate(rng, nu / 2) / nu);
          },
          [&](int, double v) { return log_norm - 0.5 * (nu + 1) * std::log1p(v * v / nu); });
    }
  }
}

template void sample_base(const BaseSettings&, const BaseTensors&, const float*, int, int64_t,
                          Random&, float*, double*, double);
template void sample_base(const BaseSettings&, const BaseTensors&, const double*, int, int64_t,
                          Random&, double*, double*, double);

}  // namespace nfc

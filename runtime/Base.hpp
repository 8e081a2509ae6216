// Sampling the base distribution q(z), and log q at the samples, for
// Flow::sample and for emitted C++ (which embeds this file, so it stays
// header-only, standard C++17 and allocation-free). The compiled log_prob
// builds log q(z) in the graph (compiler/layers/BaseDensity); this file
// draws from the same distributions. Formulas: docs/language.md, "Base
// distributions".
#pragma once

#include <cmath>
#include <cstdint>
#include <stdexcept>

#include "abi/BaseDistribution.hpp"
#include "runtime/Random.hpp"

namespace nfc {

namespace base_detail {

constexpr double kLog2Pi = 1.8378770664093454835606594728112353;  // log(2 pi)
constexpr double kLogPi = 1.1447298858494001741434273513530587;   // log(pi)

// log sum_k exp(a(k)) over k < count, in one pass without overflow: the
// running sum is kept relative to the largest term so far.
template <class Term>
double log_sum_exp(int count, Term a) {
  double m = -INFINITY, s = 0;
  for (int k = 0; k < count; ++k) {
    const double v = a(k);
    if (v == -INFINITY) continue;
    if (v > m) {
      s = s * std::exp(m - v) + 1;
      m = v;
    } else {
      s += std::exp(v - m);
    }
  }
  return m + std::log(s);
}

// log N(z_row; means_k, diag(exp(log_scales_k))^2) of mixture component k.
template <class T>
double component_log_density(const BaseTensors& t, const T* params, int dim, int k,
                             const T* z_row) {
  double s = -0.5 * dim * kLog2Pi;
  for (int d = 0; d < dim; ++d) {
    const double ls = double(params[t.log_scales + std::int64_t(k) * dim + d]);
    const double e =
        (double(z_row[d]) - double(params[t.means + std::int64_t(k) * dim + d])) * std::exp(-ls);
    s -= 0.5 * e * e + ls;
  }
  return s;
}

}  // namespace base_detail

// Whether sampling from a base of this kind takes a temperature.
inline bool tempers(BaseKind kind) {
  return kind != BaseKind::uniform;
}

// A gamma(shape, 1) variate, shape > 0 (Marsaglia & Tsang 2000; for shape
// < 1 the boost gamma(shape + 1) U^(1/shape)).
inline double gamma_variate(Random& rng, double shape) {
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

// log q(z) of one row z_row[dim], in double. `params` is the flow's
// parameter buffer, where a learnable base finds its tensors.
template <class T>
double base_log_density(const BaseSettings& base, const BaseTensors& t, const T* params, int dim,
                        const T* z_row) {
  using namespace base_detail;
  double s = 0;
  switch (base.kind) {
    case BaseKind::standard_normal:
      for (int d = 0; d < dim; ++d) s -= 0.5 * double(z_row[d]) * double(z_row[d]);
      return s - 0.5 * dim * kLog2Pi;
    case BaseKind::diag_normal:
      for (int d = 0; d < dim; ++d) {
        const double ls = double(params[t.log_scale + d]);
        const double e = (double(z_row[d]) - double(params[t.mean + d])) * std::exp(-ls);
        s -= 0.5 * e * e + ls;
      }
      return s - 0.5 * dim * kLog2Pi;
    case BaseKind::uniform:
      for (int d = 0; d < dim; ++d)
        if (!(z_row[d] >= base.low && z_row[d] <= base.high)) return -INFINITY;
      return -dim * std::log(base.high - base.low);
    case BaseKind::mixture: {  // log sum_k softmax(logits)_k N_k(z)
      const int count = base.components;
      const double norm = log_sum_exp(count, [&](int k) { return double(params[t.logits + k]); });
      return log_sum_exp(count, [&](int k) {
        return double(params[t.logits + k]) - norm +
               component_log_density(t, params, dim, k, z_row);
      });
    }
    case BaseKind::student_t: {
      const double nu = base.df;
      const double log_norm =
          std::lgamma((nu + 1) / 2) - std::lgamma(nu / 2) - 0.5 * (std::log(nu) + kLogPi);
      for (int d = 0; d < dim; ++d)
        s += log_norm - 0.5 * (nu + 1) * std::log1p(double(z_row[d]) * double(z_row[d]) / nu);
      return s;
    }
  }
  return NAN;
}

// One draw z_row[dim] ~ q from `rng`. At a temperature T != 1 (Glow's
// "temperature"; Kingma & Dhariwal 2018) the base's standard noise is
// scaled by T: z = mean + T scale eps.
template <class T>
void draw_base(const BaseSettings& base, const BaseTensors& t, const T* params, int dim,
               Random& rng, T* z_row, double temperature = 1) {
  switch (base.kind) {
    case BaseKind::standard_normal:
      for (int d = 0; d < dim; ++d) z_row[d] = static_cast<T>(temperature * rng.normal());
      return;
    case BaseKind::diag_normal:  // z = mean + exp(log_scale) N(0, 1)
      for (int d = 0; d < dim; ++d)
        z_row[d] =
            static_cast<T>(double(params[t.mean + d]) +
                           std::exp(double(params[t.log_scale + d])) * temperature * rng.normal());
      return;
    case BaseKind::uniform:
      for (int d = 0; d < dim; ++d) z_row[d] = static_cast<T>(rng.uniform(base.low, base.high));
      return;
    case BaseKind::mixture: {  // component k with probability softmax(logits)_k
      const int count = base.components;
      const double norm =
          base_detail::log_sum_exp(count, [&](int k) { return double(params[t.logits + k]); });
      const double u = rng.uniform();
      int pick = count - 1;  // rounding may leave the cumulative sum just below 1
      double cumulative = 0;
      for (int k = 0; k < count - 1; ++k) {
        cumulative += std::exp(double(params[t.logits + k]) - norm);
        if (u < cumulative) {
          pick = k;
          break;
        }
      }
      const std::int64_t at = std::int64_t(pick) * dim;
      for (int d = 0; d < dim; ++d)
        z_row[d] = static_cast<T>(double(params[t.means + at + d]) +
                                  std::exp(double(params[t.log_scales + at + d])) * temperature *
                                      rng.normal());
      return;
    }
    case BaseKind::student_t:  // N(0, 1) / sqrt(chi2_nu / nu), chi2_nu = 2 gamma(nu / 2)
      for (int d = 0; d < dim; ++d) {
        const double eps = rng.normal();  // drawn first: the order is part of the seed's meaning
        z_row[d] = static_cast<T>(temperature * eps /
                                  std::sqrt(2 * gamma_variate(rng, base.df / 2) / base.df));
      }
      return;
  }
}

// n draws z ~ q, row-major [n, dim], with log q(z) of each row (evaluated
// in double at the stored z) in log_q. log_q stays the untempered density.
// Throws std::invalid_argument for a temperature and a base without a
// scale (tempers()).
template <class T>
void sample_base(const BaseSettings& base, const BaseTensors& t, const T* params, int dim,
                 std::int64_t n, Random& rng, T* z, double* log_q, double temperature = 1) {
  if (temperature != 1 && !tempers(base.kind))
    throw std::invalid_argument(
        "sampling at a temperature needs a base with a scale (normal, "
        "diag_normal, student_t or mixture); a uniform base has none");
  for (std::int64_t i = 0; i < n; ++i) {
    draw_base(base, t, params, dim, rng, z + i * dim, temperature);
    log_q[i] = base_log_density(base, t, params, dim, z + i * dim);
  }
}

}  // namespace nfc

// log q(z) of each base distribution, built from graph ops.
#include "compiler/layers/BaseDensity.hpp"

#include <cmath>
#include <numbers>

#include "support/InternalError.hpp"

namespace nfc {

namespace {

constexpr double kLog2Pi = 1.8378770664093454835606594728112353;  // log(2 pi)

NodeId param_with_init(Graph& g, const std::string& name, std::vector<int> shape, double value) {
  int64_t size = 1;
  for (int s : shape) size *= s;
  const int t = g.add_param(name, std::move(shape));
  g.set_param_init(t, std::vector<double>(static_cast<size_t>(size), value));
  return g.param(t);
}

// max over the lanes of v, as a chain of selects (the graph has no max op).
NodeId max_lanes(Graph& g, NodeId v) {
  NodeId m = g.gather(v, {0});
  for (int k = 1; k < g.len(v); ++k) {
    const NodeId vk = g.gather(v, {k});
    m = g.select_pos(g.binary(Op::sub, vk, m), vk, m);
  }
  return m;
}

// log sum_k exp(v_k) = m + log sum_k exp(v_k - m) with m = max_k v_k: no
// overflow, and the largest term is exp(0) = 1, so no underflow to log(0).
NodeId log_sum_exp(Graph& g, NodeId v) {
  const NodeId m = max_lanes(g, v);
  return (Ex{&g, m} + apply(Op::log, Ex{&g, g.sum(apply(Op::exp, Ex{&g, v} - Ex{&g, m}).id)})).id;
}

}  // namespace

BaseDensity::BaseDensity(Graph& g, const BaseSettings& spec, int dim)
    : g_(g), spec_(spec), dim_(dim) {
  const int k = spec.components;
  switch (spec.kind) {
    case BaseKind::diag_normal:
      mean_ = param_with_init(g, kBaseMean, {dim}, 0);
      log_scale_ = param_with_init(g, kBaseLogScale, {dim}, 0);
      break;
    case BaseKind::mixture: {
      logits_ = param_with_init(g, kBaseLogits, {k}, 0);
      // Equal initial means would give equal gradients to every component,
      // which would then never separate: spread them out at random.
      const int means = g.add_param(kBaseMeans, {k, dim}, kMixtureMeanSpread);
      means_ = g.param(means);
      log_scales_ = param_with_init(g, kBaseLogScales, {k, dim}, 0);
      break;
    }
    case BaseKind::standard_normal:
    case BaseKind::uniform:
    case BaseKind::student_t:
      break;
  }
}

NodeId BaseDensity::log_density(NodeId z) const {
  switch (spec_.kind) {
    case BaseKind::standard_normal:
      return normal(z);
    case BaseKind::diag_normal:
      return diag_normal(z);
    case BaseKind::uniform:
      return uniform(z);
    case BaseKind::mixture:
      return mixture(z);
    case BaseKind::student_t:
      return student_t(z);
  }
  throw InternalError("unknown base distribution");
}

// -|z|^2 / 2 - D/2 log(2 pi)
NodeId BaseDensity::normal(NodeId z) const {
  return (-0.5 * Ex{&g_, g_.sum(g_.binary(Op::mul, z, z))} - 0.5 * dim_ * kLog2Pi).id;
}

// With e = (z - mean) exp(-log_scale):
// sum_d (-e_d^2 / 2 - log_scale_d) - D/2 log(2 pi)
std::optional<NodeId> BaseDensity::reparameterize(NodeId eps) const {
  switch (spec_.kind) {
    case BaseKind::diag_normal:
      return (Ex{&g_, mean_} + apply(Op::exp, Ex{&g_, log_scale_}) * Ex{&g_, eps}).id;
    case BaseKind::mixture:
      return std::nullopt;
    case BaseKind::standard_normal:
    case BaseKind::uniform:
    case BaseKind::student_t:
      return eps;
  }
  return std::nullopt;
}

NodeId BaseDensity::diag_normal(NodeId z) const {
  const Ex ls{&g_, log_scale_};
  const Ex e = (Ex{&g_, z} - Ex{&g_, mean_}) * apply(Op::exp, -ls);
  const Ex per_dim = -0.5 * (e * e) - ls;
  return (Ex{&g_, g_.sum(per_dim.id)} - 0.5 * dim_ * kLog2Pi).id;
}

// -D log(high - low) inside the box, -inf outside: (z - low)(high - z) > 0
// holds exactly inside (the boundary, of measure zero, counts as outside).
NodeId BaseDensity::uniform(NodeId z) const {
  const Ex zz{&g_, z};
  const NodeId inside = ((zz - spec_.low) * (spec_.high - zz)).id;
  const NodeId per_dim = g_.select_pos(inside, g_.constant(0), g_.constant(-INFINITY));
  const double log_volume = dim_ * std::log(spec_.high - spec_.low);
  return (Ex{&g_, g_.sum(per_dim)} - log_volume).id;
}

// log sum_k pi_k N(z; mu_k, diag(sigma_k)^2), pi = softmax(logits),
// sigma_k = exp(log_scales_k), as a log-sum-exp over components of
//   a_k = log pi_k + sum_d (-e_kd^2 / 2 - log_scales_kd) - D/2 log(2 pi),
//   e_kd = (z_d - means_kd) exp(-log_scales_kd).
NodeId BaseDensity::mixture(NodeId z) const {
  const int k_count = spec_.components;
  std::vector<int> tile;  // z repeated once per component: lanes k D + d
  for (int k = 0; k < k_count; ++k)
    for (int d = 0; d < dim_; ++d) tile.push_back(d);
  const Ex ls{&g_, log_scales_};
  const Ex e = (Ex{&g_, g_.gather(z, tile)} - Ex{&g_, means_}) * apply(Op::exp, -ls);
  const NodeId per_lane = (-0.5 * (e * e) - ls).id;
  std::vector<NodeId> per_component;
  for (int k = 0; k < k_count; ++k) {
    std::vector<int> block(static_cast<size_t>(dim_));
    for (int d = 0; d < dim_; ++d) block[size_t(d)] = k * dim_ + d;
    per_component.push_back(g_.sum(g_.gather(per_lane, block)));
  }
  const Ex logits{&g_, logits_};
  const Ex log_weights = logits - Ex{&g_, log_sum_exp(g_, logits_)};
  const Ex a = Ex{&g_, g_.concat(per_component)} + log_weights - 0.5 * dim_ * kLog2Pi;
  return log_sum_exp(g_, a.id);
}

// sum_d log t_nu(z_d) with
// log t_nu(x) = lgamma((nu + 1)/2) - lgamma(nu/2) - log(nu pi)/2 - (nu + 1)/2 log1p(x^2 / nu)
NodeId BaseDensity::student_t(NodeId z) const {
  const double nu = spec_.df;
  const double log_norm =
      std::lgamma((nu + 1) / 2) - std::lgamma(nu / 2) - 0.5 * std::log(nu * std::numbers::pi);
  const Ex zz{&g_, z};
  const NodeId per_dim = apply(Op::log1p, zz * zz / nu).id;
  return (-0.5 * (nu + 1) * Ex{&g_, g_.sum(per_dim)} + dim_ * log_norm).id;
}

}  // namespace nfc

// Helpers shared by the tests that compile models from source text.
#pragma once

#include <Eigen/Dense>
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <functional>
#include <sstream>
#include <string>

#include "compiler/backend/interp/Interpreter.hpp"
#include "driver/Compile.hpp"
#include "runtime/Random.hpp"
#include "runtime/io/Safetensors.hpp"

namespace nfc::test {

// Compiles `source` (all entry points) or fails the test with the
// diagnostics.
inline std::unique_ptr<CompiledModel> compile_or_fail(const std::string& source,
                                                      const JitOptions& options) {
  Diagnostics diags("test.nf", source);
  auto model = compile_model(source, diags, options);
  std::ostringstream errors;
  diags.print(errors);
  INFO(errors.str());
  REQUIRE(model != nullptr);
  return model;
}

inline std::unique_ptr<CompiledModel> compile_or_fail(const std::string& source,
                                                      Precision precision = Precision::f64) {
  JitOptions options;
  options.precision = precision;
  return compile_or_fail(source, options);
}

template <class T>
constexpr Precision precision_of() {
  return std::is_same_v<T, float> ? Precision::f32 : Precision::f64;
}

// Round trip inverse(forward(x)) = x, log-dets against the determinant of a
// central-difference Jacobian, log_prob against base + log-det, and the JIT
// against the interpreter, on 37 samples (not a multiple of any SIMD width).
// Gradients (nll_grad) against central differences of the mean NLL, and the
// JIT against the interpreter's reduction. For a conditional flow every row
// is (x, c), the context drawn like x and held fixed by the Jacobian.
inline std::vector<double> normal_batch(int64_t n, int dim, uint64_t seed, double scale = 1) {
  Random rng(seed);
  std::vector<double> v(static_cast<size_t>(n * dim));
  for (auto& x : v) x = scale * rng.normal();
  return v;
}

// dz/dx at the row x (x, then the context, which stays fixed).
inline Eigen::MatrixXd fd_jacobian(const Flow<double>& flow, const double* x) {
  const int d = flow.dim();
  Eigen::MatrixXd J(d, d);
  std::vector<double> xp(x, x + flow.row_dim()), zp(d), zm(d);
  double ld;
  for (int i = 0; i < d; ++i) {
    // Central differences: truncation ~h^2 = 1e-12, rounding ~1e-16/h = 1e-10.
    const double h = 1e-6 * (1 + std::fabs(x[i]));
    xp[i] = x[i] + h;
    flow.forward(xp.data(), zp.data(), &ld, 1);
    xp[i] = x[i] - h;
    flow.forward(xp.data(), zm.data(), &ld, 1);
    xp[i] = x[i];
    for (int j = 0; j < d; ++j) J(j, i) = (zp[j] - zm[j]) / (2 * h);
  }
  return J;
}

// log N(z; 0, I), the default base of check_flow_numerics.
inline double standard_normal_log_density(const double* z, int d) {
  double sq = 0;
  for (int k = 0; k < d; ++k) sq += z[k] * z[k];
  return -0.5 * sq - 0.5 * d * std::log(2 * M_PI);
}

// What check_flow_numerics needs beyond the source: the base's log density
// (computed independently by the test) and a hook that sets parameters
// after init_params (e.g. ActNorm's, which start at the identity).
struct NumericsOptions {
  std::function<double(const double* z, int d)> log_base = standard_normal_log_density;
  std::function<void(Flow<double>&)> prepare;
};

inline void check_flow_numerics(const std::string& source, uint64_t init_seed,
                                const NumericsOptions& o = {}) {
  auto model = compile_or_fail(source, Precision::f64);
  Flow<double> flow = make_flow<double>(*model);
  flow.init_params(init_seed);
  if (o.prepare) o.prepare(flow);
  const int d = flow.dim(), row = flow.row_dim();
  const int64_t n = 37;  // not a multiple of any SIMD width: exercises the tail
  const auto x = normal_batch(n, row, 5);
  std::vector<double> z(size_t(n * d)), back(z.size()), ld_f(n), ld_i(n), lp(n);
  flow.forward(x.data(), z.data(), ld_f.data(), n);
  std::vector<double> zc = x;  // (z, c): the context of each row kept
  for (int64_t r = 0; r < n; ++r) std::copy_n(&z[r * d], d, &zc[r * row]);
  flow.inverse(zc.data(), back.data(), ld_i.data(), n);
  flow.log_prob(x.data(), lp.data(), n);
  for (int64_t r = 0; r < n; ++r) {
    INFO("sample " << r);
    for (int k = 0; k < d; ++k) {
      // Round trip: a handful of exp/log/sinh/asinh per layer, each within
      // a few ulps, amplified by at most the flow's condition: 1e-12 is ample.
      CHECK(back[r * d + k] ==
            Approx(x[r * row + k]).margin(1e-12 * (1 + std::fabs(x[r * row + k]))));
    }
    CHECK(ld_i[r] == Approx(-ld_f[r]).margin(1e-12));
    CHECK(lp[r] == Approx(o.log_base(&z[r * d], d) + ld_f[r]).margin(1e-12));
    // log|det| of the central-difference Jacobian: entries good to ~1e-10.
    const double fd = std::log(std::fabs(fd_jacobian(flow, &x[r * row]).determinant()));
    CHECK(ld_f[r] == Approx(fd).margin(1e-7));
  }
  // The JIT against the reference interpreter on the same batch.
  const Program program = model->graph->program();
  const auto ref = interpret_batch(model->graph->graph, program.entries[2], flow.params(), x, n);
  for (int64_t r = 0; r < n; ++r) CHECK(lp[r] == Approx(ref[0][r]).epsilon(1e-12).margin(1e-12));
  // One sample at a time (the one-sample entry, rows as vectors) agrees
  // with the batch entry up to the order of the sums.
  for (int64_t r = 0; r < n; r += 5) {
    double one = 0;
    flow.log_prob(&x[r * row], &one, 1);
    CHECK(one == Approx(lp[r]).epsilon(1e-12).margin(1e-12));
  }
}

// Whether flat parameter i is a structural zero (a masked MADE weight): not a
// free parameter, so finite differences do not apply to it.
inline bool is_structural_zero(const std::vector<ParamTensor>& table, size_t i) {
  for (const ParamTensor& p : table) {
    const auto k = static_cast<int64_t>(i) - p.offset;
    if (k < 0 || k >= p.size || p.row_lengths.empty()) continue;
    const int64_t cols = p.shape.at(1);
    return k % cols >= p.row_lengths[static_cast<size_t>(k / cols)];
  }
  return false;
}

inline double mean_nll(const Flow<double>& flow, const std::vector<double>& params,
                       const std::vector<double>& x, int64_t n) {
  std::vector<double> grad(params.size());
  return flow.nll_grad(params.data(), x.data(), n, grad.data());
}

// Every parameter's derivative by central differences. The step keeps the
// truncation error (~h^2 |f'''| ~ 1e-10) and the rounding error
// (~1e-16 |f| / h ~ 1e-11) of the difference far below the 1e-6 relative
// tolerance of the check.
// `prepare`, if given, sets parameters after init_params (as in NumericsOptions).
inline void check_gradient(const std::string& source, uint64_t seed,
                           const std::function<void(Flow<double>&)>& prepare = {}) {
  auto model = test::compile_or_fail(source);
  Flow<double> flow = make_flow<double>(*model);
  flow.init_params(seed);
  if (prepare) prepare(flow);
  const int d = flow.row_dim();
  const int64_t n = 13;  // a partial SIMD block: dead lanes must not leak
  Random rng(seed + 100);
  std::vector<double> x(static_cast<size_t>(n * d));
  for (auto& v : x) v = rng.normal();
  std::vector<double> params = flow.params(), grad(params.size());
  const double loss = flow.nll_grad(params.data(), x.data(), n, grad.data());
  CHECK(std::isfinite(loss));
  // The loss is the mean NLL that log_prob gives.
  std::vector<double> lp(static_cast<size_t>(n));
  flow.log_prob(x.data(), lp.data(), n);
  double mean = 0;
  for (double v : lp) mean -= v / double(n);
  CHECK(loss == Approx(mean).epsilon(1e-13));
  for (size_t i = 0; i < params.size(); ++i) {
    if (is_structural_zero(flow.param_table(), i)) {
      CHECK(grad[i] == 0);
      continue;
    }
    const double h = 1e-5 * (1 + std::fabs(params[i]));
    std::vector<double> p = params;
    p[i] = params[i] + h;
    const double up = mean_nll(flow, p, x, n);
    p[i] = params[i] - h;
    const double down = mean_nll(flow, p, x, n);
    const double fd = (up - down) / (2 * h);
    INFO("parameter " << i << " of " << params.size());
    CHECK(std::fabs(grad[i] - fd) <= 1e-6 * std::fabs(fd) + 1e-9);
  }
  // The JIT against the interpreter's reference reduction.
  const Program program = model->graph->program();
  std::vector<double> ref(params.size());
  const double ref_loss =
      interpret_mean_gradient(model->graph->graph, program.entries[3], params, x, n, ref);
  CHECK(loss == Approx(ref_loss).epsilon(1e-13));
  for (size_t i = 0; i < params.size(); ++i) CHECK(grad[i] == Approx(ref[i]).margin(1e-13));
}

// A flow with ActNorm (initialised from the first batch) and a mixture
// base: what the training tests use to check data-dependent initialisation.
inline constexpr const char* kActNormMixture = R"(
flow gaussians(dim = 2, base = mixture(components = 2)) {
  repeat 2 {
    actnorm
    coupling affine(mask = alternate) { net = mlp(hidden = [16]); s = 2 * tanh(s / 2) }
  }
}
)";

// Every parameter of a .safetensors file, tensor after tensor.
inline std::vector<double> params_of(const std::filesystem::path& p) {
  std::vector<double> all;
  for (const auto& t : read_safetensors(p.string()).tensors)
    all.insert(all.end(), t.values.begin(), t.values.end());
  return all;
}

// The largest |a - b| / max(|a|, 1e-3): relative where the values are not
// near 0 (a parameter at 1e-9 carries no relative meaning).
inline double max_relative_difference(const std::vector<double>& a, const std::vector<double>& b) {
  REQUIRE(a.size() == b.size());
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i)
    worst = std::max(worst, std::abs(a[i] - b[i]) / std::max(std::abs(a[i]), 1e-3));
  return worst;
}

// What a compiled model computes on n fixed rows under the parameters of
// init_params(seed), in f64: forward's z and log-det, log_prob, the mean
// NLL and its gradient, one after another. Two compiles of one model that
// should agree compare equal here, bit for bit.
inline std::vector<double> model_outputs(const CompiledModel& model, uint64_t seed, int64_t n) {
  Flow<double> flow = make_flow<double>(model);
  flow.init_params(seed);
  const auto x = normal_batch(n, flow.row_dim(), seed + 1);
  std::vector<double> z(static_cast<size_t>(n * flow.dim())), logdet(static_cast<size_t>(n)),
      log_prob(static_cast<size_t>(n)), grad(flow.params().size());
  flow.forward(x.data(), z.data(), logdet.data(), n);
  flow.log_prob(x.data(), log_prob.data(), n);
  std::vector<double> out = z;
  out.insert(out.end(), logdet.begin(), logdet.end());
  out.insert(out.end(), log_prob.begin(), log_prob.end());
  out.push_back(flow.nll_grad(x.data(), n, grad.data()));
  out.insert(out.end(), grad.begin(), grad.end());
  return out;
}

// How many times `part` occurs in `text` (overlaps counted).
inline int occurrences(const std::string& text, const std::string& part) {
  int n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

}  // namespace nfc::test

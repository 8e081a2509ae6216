// Conditional flows, p(x | c): every layer kind reading the context (coupling
// and MADE conditioners, maps through c0..), checked like unconditional ones
// (round trip, log-det against the Jacobian in x, gradients, JIT against the
// interpreter) plus what the context adds: the documented MADE layout with
// context columns first, sampling with a context, the built-in conditional
// data set and its exact density, and training on it. The command line
// with a context is tested in test_cli.cpp.
#include <catch2/catch.hpp>
#include <cmath>

#include "compiler/backend/interp/Interpreter.hpp"
#include "driver/Compile.hpp"
#include "runtime/Builtin.hpp"
#include "runtime/Trainer.hpp"
#include "tests/TestSupport.hpp"

using namespace nfc;
using test::check_flow_numerics;
using test::check_gradient;
using test::compile_or_fail;
using test::normal_batch;

namespace {

// Every layer kind reads the context: a coupling (MLP on identity dims then
// context), MAF and IAF (MADE with the context as degree-0 inputs, one with
// no hidden layer), and a map using c0 and c1.
const char* kEveryKind = R"(
flow cond(dim = 3, context = 2) {
  coupling affine(mask = [0, 1, 1]) { net = mlp(hidden = [6], act = tanh); s = 2 * tanh(s / 2) }
  maf affine(order = reverse) { net = made(hidden = [5, 5], act = tanh); s = tanh(s) }
  permute [2, 0, 1]
  iaf affine(order = [1, 2, 0]) { net = made(hidden = [7], act = tanh); s = tanh(s) }
  maf additive { net = made(hidden = []) }
  map {
    param a = 0.5 positive
    z0 = x0 * exp(0.3 * tanh(c0)) + c1
    z1 = x1 + a * c0 * x0
    z2 = x2 * (1 + a) - c1 * x1
  }
}
)";

// The sequential pass without a loop form (a transformer inverted by
// Newton-bisection: a graph per position) and a map output without a
// closed-form inverse, whose solver reads the context.
const char* kNumericInverses = R"(
transform cubic(x; a, b) = x + softplus(a) * x^3 / 3 + x * tanh(b) / 2
flow cond(dim = 2, context = 1) {
  maf cubic { net = made(hidden = [6]) }
  iaf cubic(order = reverse) { net = made(hidden = [4, 4], act = tanh) }
  map {
    z0 = x0 + 0.5 * tanh(x0 + c0)
    z1 = x1
  }
}
)";

// The spline transformer's conditioners read the context like any other.
const char* kSplines = R"(
flow cond(dim = 2, context = 1) {
  coupling spline(mask = alternate, bins = 4, bound = 2) { net = mlp(hidden = [5], act = tanh) }
  maf spline(order = reverse, bins = 3) { net = made(hidden = [4], act = tanh) }
  iaf spline(bins = 3) { net = made(hidden = [4]) }
}
)";

// The context embedded by a network every conditioner reads, an
// elementwise layer whose parameters are a network of it, and a diagonal
// normal base whose mean and log-scale are one.
const char* kContextNetworks = R"(
flow cond(dim = 3, context = 2, context_net = mlp(hidden = [5], out = 3, act = tanh),
          base = diag_normal(net = mlp(hidden = [4], act = tanh))) {
  coupling affine(mask = [0, 1, 1]) { net = mlp(hidden = [6], act = tanh); s = 2 * tanh(s / 2) }
  maf affine(order = reverse) { net = made(hidden = [5, 5], act = tanh); s = tanh(s) }
  iaf affine(order = [1, 2, 0]) { net = made(hidden = [7], act = tanh); s = tanh(s) }
  elementwise affine { net = mlp(hidden = [4], act = tanh); s = tanh(s) }
}
)";

const double* tensor(const Flow<double>& flow, const std::vector<double>& params,
                     const std::string& name) {
  for (const ParamTensor& p : flow.param_table())
    if (p.name == name) return params.data() + p.offset;
  FAIL("no tensor " << name);
  return nullptr;
}

// Both map entries of the JIT against the interpreter on rows of (x or z, c).
void check_jit_against_interpreter(const CompiledModel& model, const Flow<double>& flow) {
  const int64_t n = 11;
  const auto rows = normal_batch(n, flow.row_dim(), 17);
  std::vector<double> out(size_t(n * flow.dim())), ld(n);
  const Program program = model.graph->program();
  for (int e : {0, 1}) {
    INFO(program.entries[size_t(e)].name);
    (e == 0 ? flow.forward(rows.data(), out.data(), ld.data(), n)
            : flow.inverse(rows.data(), out.data(), ld.data(), n));
    const auto ref =
        interpret_batch(model.graph->graph, program.entries[size_t(e)], flow.params(), rows, n);
    for (size_t i = 0; i < out.size(); ++i) CHECK(out[i] == Approx(ref[0][i]).margin(1e-12));
    for (int64_t r = 0; r < n; ++r) CHECK(ld[r] == Approx(ref[1][r]).margin(1e-12));
  }
}

}  // namespace

TEST_CASE("conditional layers: round trip, log-det against the Jacobian in x, JIT",
          "[conditional]") {
  check_flow_numerics(kEveryKind, 3);
  check_flow_numerics(kNumericInverses, 4);
  check_flow_numerics(kSplines, 6);
  check_flow_numerics(kContextNetworks, 10);
  for (const char* source : {kEveryKind, kNumericInverses, kSplines, kContextNetworks}) {
    auto model = compile_or_fail(source);
    Flow<double> flow = make_flow<double>(*model);
    flow.init_params(5);
    check_jit_against_interpreter(*model, flow);
  }
}

TEST_CASE("conditional gradients against finite differences, context weights included",
          "[conditional][gradient]") {
  check_gradient(kEveryKind, 7);
  check_gradient(kNumericInverses, 8);
  check_gradient(kSplines, 9);
  check_gradient(kContextNetworks, 11);
  // The context columns of the first layers do get gradient: they are free
  // weights (column 1.. of the coupling's w1 after its one identity input;
  // columns 0, 1 of a MADE's w1).
  auto model = compile_or_fail(kEveryKind);
  Flow<double> flow = make_flow<double>(*model);
  flow.init_params(7);
  const auto x = normal_batch(13, flow.row_dim(), 3);
  std::vector<double> grad(flow.params().size());
  flow.nll_grad(x.data(), 13, grad.data());
  const double* g0 = tensor(flow, grad, "layer0.net.w1");  // [6, 1 + 2]
  const double* g1 = tensor(flow, grad, "layer1.net.w1");  // [5, 2 + 3]
  CHECK(g0[1] != 0);
  CHECK(g0[2] != 0);
  CHECK(g1[0] != 0);
  CHECK(g1[1] != 0);
}

TEST_CASE("context networks: every conditioner reads the embedding, every network learns",
          "[conditional][gradient]") {
  auto model = compile_or_fail(kContextNetworks);
  Flow<double> flow = make_flow<double>(*model);
  flow.init_params(12);
  auto shape = [&](const std::string& name) {
    for (const ParamTensor& p : flow.param_table())
      if (p.name == name) return p.shape;
    FAIL("no tensor " << name);
    return std::vector<int>{};
  };
  CHECK(shape("context_net.w1") == std::vector<int>{5, 2});
  CHECK(shape("context_net.w2") == std::vector<int>{3, 5});
  CHECK(shape("layer0.net.w1") == std::vector<int>{6, 1 + 3});  // identity, embedding
  CHECK(shape("layer1.net.w1") == std::vector<int>{5, 3 + 3});  // embedding, x
  CHECK(shape("layer3.net.w2") == std::vector<int>{2 * 3, 4});  // s and t per dimension
  CHECK(shape("layer4.net.w2") == std::vector<int>{2 * 3, 4});  // the base: mean, log-scale
  const auto x = normal_batch(13, flow.row_dim(), 3);
  std::vector<double> grad(flow.params().size());
  flow.nll_grad(x.data(), 13, grad.data());
  for (const char* name : {"context_net.w1", "layer3.net.w1", "layer4.net.w2", "layer4.net.b2"}) {
    INFO(name);
    const double* g = tensor(flow, grad, name);
    CHECK(std::any_of(g, g + 6, [](double v) { return v != 0; }));
  }
}

TEST_CASE("a diag_normal base with a network is N(mean(c), exp(log_scale(c))^2)", "[conditional]") {
  auto model = compile_or_fail(R"(
flow cond(dim = 2, context = 1, base = diag_normal(net = mlp(hidden = [3], act = tanh))) {
  permute reverse
}
)");
  Flow<double> flow = make_flow<double>(*model);
  flow.init_params(4);
  const std::vector<double>& p = flow.params();
  const double *w1 = tensor(flow, p, "layer1.net.w1"), *b1 = tensor(flow, p, "layer1.net.b1"),
               *w2 = tensor(flow, p, "layer1.net.w2"), *b2 = tensor(flow, p, "layer1.net.b2");
  const auto rows = normal_batch(9, flow.row_dim(), 8);
  std::vector<double> lp(9);
  flow.log_prob(rows.data(), lp.data(), 9);
  for (int r = 0; r < 9; ++r) {
    const double x[2] = {rows[size_t(3 * r)], rows[size_t(3 * r + 1)]}, c = rows[size_t(3 * r + 2)];
    double h[3], out[4];
    for (int j = 0; j < 3; ++j) h[j] = std::tanh(w1[j] * c + b1[j]);
    for (int k = 0; k < 4; ++k)
      out[k] = b2[k] + w2[3 * k] * h[0] + w2[3 * k + 1] * h[1] + w2[3 * k + 2] * h[2];
    double want = 0;
    for (int d = 0; d < 2;
         ++d) {  // the base sees y = (x1, x0); mean = out[0..1], log-scale out[2..3]
      const double u = (x[1 - d] - out[d]) * std::exp(-out[2 + d]);
      want += -0.5 * u * u - out[2 + d] - 0.5 * std::log(2 * M_PI);
    }
    CHECK(lp[size_t(r)] == Approx(want).epsilon(1e-13));
  }
}

TEST_CASE("the density depends on the context", "[conditional]") {
  auto model = compile_or_fail(kEveryKind);
  Flow<double> flow = make_flow<double>(*model);
  flow.init_params(2);
  std::vector<double> rows = {0.3, -0.2, 0.9, 0.0, 0.0,  // one x, three contexts
                              0.3, -0.2, 0.9, 1.0, 0.0,  //
                              0.3, -0.2, 0.9, 0.0, -1.5};
  std::vector<double> lp(3);
  flow.log_prob(rows.data(), lp.data(), 3);
  CHECK(std::fabs(lp[0] - lp[1]) > 1e-3);
  CHECK(std::fabs(lp[0] - lp[2]) > 1e-3);
  CHECK(std::fabs(lp[1] - lp[2]) > 1e-3);
}

TEST_CASE("sampling with a context: one for all or one per sample", "[conditional]") {
  auto model = compile_or_fail(kEveryKind);
  Flow<double> flow = make_flow<double>(*model);
  flow.init_params(4);
  const int64_t n = 9;
  const auto shared = flow.sample(n, 3, {0.4, -0.7});
  std::vector<double> per_sample;
  for (int64_t i = 0; i < n; ++i) per_sample.insert(per_sample.end(), {0.4, -0.7});
  const auto each = flow.sample(n, 3, per_sample);
  CHECK(shared.x == each.x);
  CHECK(shared.log_prob == each.log_prob);
  // The returned log-density is log_prob at (x, c).
  std::vector<double> rows, lp(n);
  for (int64_t i = 0; i < n; ++i) {
    rows.insert(rows.end(), &shared.x[size_t(i * 3)], &shared.x[size_t(i * 3 + 3)]);
    rows.insert(rows.end(), {0.4, -0.7});
  }
  flow.log_prob(rows.data(), lp.data(), n);
  for (int64_t i = 0; i < n; ++i) CHECK(shared.log_prob[size_t(i)] == Approx(lp[size_t(i)]));
  // Another context, another distribution.
  CHECK(flow.sample(n, 3, {1.0, 1.0}).x != shared.x);
  CHECK_THROWS_AS(flow.sample(n, 3, {0.4}), std::invalid_argument);
  CHECK_THROWS_AS(flow.sample(n, 3), std::invalid_argument);
}

// docs/language.md: a MADE's first layer reads (c, u), context first, with
// degree 0 (every unit reads it); w1 row j has C + (inputs of degree <=
// degree j) columns. Evaluated directly from the documented layout.
TEST_CASE("conditional MAF equals a direct evaluation of the documented layout", "[conditional]") {
  const int D = 3, C = 2, H = 4;
  auto model = compile_or_fail(R"(
flow f(dim = 3, context = 2) { maf affine(order = [1, 2, 0]) { net = made(hidden = [4], act = tanh) } }
)");
  Flow<double> flow = make_flow<double>(*model);
  flow.init_params(12);
  const std::vector<double>& p = flow.params();
  const double *w1 = tensor(flow, p, "layer0.net.w1"), *b1 = tensor(flow, p, "layer0.net.b1");
  const double *w2 = tensor(flow, p, "layer0.net.w2"), *b2 = tensor(flow, p, "layer0.net.b2");
  const std::vector<int> order = {1, 2, 0};
  const auto rows = normal_batch(7, D + C, 8);
  std::vector<double> lp(7);
  flow.log_prob(rows.data(), lp.data(), 7);
  for (int s = 0; s < 7; ++s) {
    const double* row = &rows[size_t(s * (D + C))];
    std::vector<double> in = {row[3], row[4]};  // (c, u)
    for (int k = 0; k < D; ++k) in.push_back(row[order[k]]);
    std::vector<double> h(H);
    for (int j = 0; j < H; ++j) {
      const int degree = 1 + j * (D - 1) / H;
      double a = b1[j];
      for (int i = 0; i < C + D; ++i) {
        const int in_degree = i < C ? 0 : i - C + 1;
        if (in_degree <= degree) a += w1[j * (C + D) + i] * in[size_t(i)];
      }
      h[size_t(j)] = std::tanh(a);
    }
    double logdet = 0, sq = 0;
    for (int k = 0; k < D; ++k) {
      double st[2];
      for (int q = 0; q < 2; ++q) {
        const int r = 2 * k + q;
        st[q] = b2[r];
        for (int j = 0; j < H; ++j)
          if (1 + j * (D - 1) / H <= k) st[q] += w2[r * H + j] * h[size_t(j)];
      }
      const double z = in[size_t(C + k)] * std::exp(st[0]) + st[1];
      logdet += st[0];
      sq += z * z;
    }
    CHECK(lp[size_t(s)] ==
          Approx(-0.5 * sq - 0.5 * D * std::log(2 * M_PI) + logdet).epsilon(1e-13).margin(1e-13));
  }
  // The structural zeros of w1 are exactly the masked entries past C + m_j.
  for (const ParamTensor& t : flow.param_table())
    if (t.name == "layer0.net.w1") CHECK(t.row_lengths == std::vector<int>{3, 3, 4, 4});
}

// cond_gaussians: log p(. | c) integrates to 1 for every c, and its samples
// agree with it (mean log p against -H(x | c) averaged over c by quadrature).
TEST_CASE("cond_gaussians: a normalised conditional density that matches its samples",
          "[conditional][data]") {
  const LogDensity log_p = *builtin_log_density("cond_gaussians");
  CHECK(builtin_dim("cond_gaussians") == 3);
  CHECK(builtin_context_dim("cond_gaussians") == 1);
  for (double c : {-0.95, -0.3, 0.0, 0.6, 0.99}) {
    INFO("c = " << c);
    const double h = 0.01;
    double mass = 0;
    for (double x0 = -5 + h / 2; x0 < 5; x0 += h)
      for (double x1 = -5 + h / 2; x1 < 5; x1 += h) {
        const double row[3] = {x0, x1, c};
        mass += std::exp(log_p(row)) * h * h;
      }
    CHECK(std::fabs(mass - 1) < 1e-6);
  }
  const int64_t n = 100000;
  const auto rows = generate_builtin("cond_gaussians", n, 5);
  double sum = 0, sum2 = 0, mean_c = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double lp = log_p(&rows[size_t(3 * i)]);
    sum += lp;
    sum2 += lp * lp;
    mean_c += rows[size_t(3 * i + 2)] / double(n);
    REQUIRE(std::fabs(rows[size_t(3 * i + 2)]) <= 1);
  }
  // -H(x | c) = -log(2 pi e 0.25 sqrt(1 - 0.64 c^2)), c uniform on [-1, 1].
  double neg_entropy = 0;
  const int m = 100000;
  for (int k = 0; k < m; ++k) {
    const double c = -1 + (k + 0.5) * 2.0 / m;
    neg_entropy -= std::log(2 * M_PI * M_E * 0.25 * std::sqrt(1 - 0.64 * c * c)) / m;
  }
  const double mean = sum / double(n);
  const double se = std::sqrt((sum2 / double(n) - mean * mean) / double(n));
  CHECK(std::fabs(mean - neg_entropy) < 5 * se);
  CHECK(std::fabs(mean_c) < 0.01);  // se of the mean: 0.577 / sqrt(n) = 0.0018
}

TEST_CASE("a conditional flow trained on cond_gaussians reduces its loss and its KL",
          "[conditional][training]") {
  auto model = compile_or_fail(R"(
flow cond(dim = 2, context = 1) {
  repeat 2 {
    maf affine { net = made(hidden = [32, 32], act = tanh) }
    permute reverse
  }
}
)",
                               Precision::f32);
  Flow<float> flow = make_flow<float>(*model);
  TrainOptions o;
  o.steps = 1500;
  o.batch = 256;
  o.eval_every = 100;
  o.seed = 3;
  o.optimizer.lr = 3e-3;
  flow.init_params(o.seed);
  const auto data = generate_builtin("cond_gaussians", 10000, 1);
  const auto held_out = generate_builtin("cond_gaussians", 20000, 99);
  const LogDensity truth = *builtin_log_density("cond_gaussians");
  // On fresh rows: the mean NLL, and KL(p(. | c) || q(. | c)) averaged over
  // c ~ U(-1, 1) (the NLL minus the exact conditional entropy, per row).
  auto nll_and_kl = [&] {
    const std::vector<float> rows(held_out.begin(), held_out.end());
    std::vector<float> lp(rows.size() / 3);
    flow.log_prob(rows.data(), lp.data(), int64_t(lp.size()));
    double nll = 0, kl = 0;
    for (size_t i = 0; i < lp.size(); ++i) {
      nll -= lp[i] / double(lp.size());
      kl += (truth(&held_out[3 * i]) - lp[i]) / double(lp.size());
    }
    return std::pair{nll, kl};
  };
  const auto [nll_before, kl_before] = nll_and_kl();
  Trainer<float> trainer(flow, data, 10000, o);
  TrainState state;
  trainer.run(state, [](const TrainEvent&) { return true; });
  const auto [nll_after, kl_after] = nll_and_kl();
  WARN("cond_gaussians: held-out NLL " << nll_before << " -> " << nll_after << ", KL " << kl_before
                                       << " -> " << kl_after);
  REQUIRE(state.history.size() >= 2);
  CHECK(state.history.back().train_nll < state.history.front().train_nll);
  CHECK(nll_after < nll_before - 0.5);
  CHECK(kl_after < 0.05);
  CHECK(kl_after < kl_before / 10);
}

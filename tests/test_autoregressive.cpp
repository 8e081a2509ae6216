// MAF and IAF layers with MADE conditioners: numerics of both directions,
// gradients, the documented parameter layout against an independent
// implementation, structural zeros, and the cost of the sequential pass.
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <numeric>

#include "compiler/backend/interp/Interpreter.hpp"
#include "compiler/layers/Autoregressive.hpp"
#include "driver/Compile.hpp"
#include "runtime/Optimizer.hpp"
#include "runtime/io/Checkpoint.hpp"
#include "tests/TestSupport.hpp"

using namespace nfc;
using test::check_flow_numerics;
using test::check_gradient;
using test::compile_or_fail;
using test::normal_batch;

namespace {

const char* kMafIaf = R"(
transform sas(x; a, b) = sinh(b * asinh(x) - a)
flow mixed(dim = 5) {
  maf affine(order = reverse) { net = made(hidden = [12, 12], act = tanh); s = 2 * tanh(s / 2) }
  permute random(seed = 4)
  iaf affine(order = random(seed = 9)) { net = made(hidden = [7]); s = tanh(s) }
  maf sas { net = made(hidden = [9, 9], act = elu, residual = true); b = softplus(b) + 0.5 }
  iaf additive(order = [2, 0, 4, 1, 3]) { net = made(hidden = [], act = tanh) }
  iaf affine { net = made(hidden = [10, 10, 10], residual = true); s = tanh(s) }
}
)";

}  // namespace

TEST_CASE("MADE hidden degrees are sorted and cover 1..D-1", "[autoregressive]") {
  CHECK(made_hidden_degrees(4, 6) == std::vector<int>{1, 1, 2, 2, 3, 3});
  CHECK(made_hidden_degrees(5, 3) == std::vector<int>{1, 2, 3});
  CHECK(made_hidden_degrees(1, 3) == std::vector<int>{0, 0, 0});
  CHECK(made_hidden_degrees(2, 2) == std::vector<int>{1, 1});
}

TEST_CASE("MAF and IAF: round trip, log-det against the Jacobian, JIT against interpreter",
          "[autoregressive]") {
  check_flow_numerics(kMafIaf, 3);
}

TEST_CASE("MAF with a transformer inverted numerically, and dim 1", "[autoregressive]") {
  check_flow_numerics(R"(
transform cubic(x; a, b) = x + softplus(a) * x^3 / 3 + x * tanh(b) / 2
flow f(dim = 3) {
  maf cubic { net = made(hidden = [8]) }
  iaf cubic(order = reverse) { net = made(hidden = [6, 6]) }
}
)",
                      5);
  check_flow_numerics(R"(
flow f(dim = 1) {
  maf affine { net = made(hidden = [4]) }
  iaf affine
}
)",
                      6);
}

TEST_CASE("MAF and IAF gradients against finite differences", "[autoregressive][gradient]") {
  check_gradient(kMafIaf, 7);
}

// The layout documented in docs/language.md, evaluated directly: weights
// [out, in] row-major with mask M[r, c] = (row threshold >= input degree),
// hidden degrees 1 + floor(j (D-1) / H), output row k * P + p.
TEST_CASE("MAF log_prob equals a direct MADE evaluation of the documented layout",
          "[autoregressive]") {
  const int D = 4, H = 6;
  auto model = compile_or_fail(R"(
flow f(dim = 4) {
  maf affine(order = [2, 0, 3, 1]) { net = made(hidden = [6, 6], act = tanh) }
}
)");
  Flow<double> flow = make_flow<double>(*model);
  flow.init_params(11);
  std::vector<double> params = flow.params();
  // Make the masked entries non-zero in a copy: the reference masks them itself.
  auto tensor = [&](const std::string& name) {
    for (const ParamTensor& p : flow.param_table())
      if (p.name == name) return params.data() + p.offset;
    FAIL("no tensor " << name);
    return static_cast<double*>(nullptr);
  };
  const std::vector<int> order = {2, 0, 3, 1};
  std::vector<int> hdeg(H);
  for (int j = 0; j < H; ++j) hdeg[j] = 1 + j * (D - 1) / H;
  const auto x = normal_batch(9, D, 21);
  std::vector<double> lp(9);
  flow.log_prob(x.data(), lp.data(), 9);
  for (int s = 0; s < 9; ++s) {
    std::vector<double> u(D);
    for (int k = 0; k < D; ++k) u[k] = x[s * D + order[k]];
    // Layer 1: input k has degree k + 1.
    std::vector<double> h1(H), h2(H), out(2 * D);
    const double *w1 = tensor("layer0.net.w1"), *b1 = tensor("layer0.net.b1");
    const double *w2 = tensor("layer0.net.w2"), *b2 = tensor("layer0.net.b2");
    const double *w3 = tensor("layer0.net.w3"), *b3 = tensor("layer0.net.b3");
    for (int j = 0; j < H; ++j) {
      double a = b1[j];
      for (int k = 0; k < D; ++k) a += (hdeg[j] >= k + 1 ? w1[j * D + k] : 0) * u[k];
      h1[j] = std::tanh(a);
    }
    for (int j = 0; j < H; ++j) {
      double a = b2[j];
      for (int i = 0; i < H; ++i) a += (hdeg[j] >= hdeg[i] ? w2[j * H + i] : 0) * h1[i];
      h2[j] = std::tanh(a);
    }
    for (int r = 0; r < 2 * D; ++r) {
      const int k = r / 2;  // output row k * P + p, P = 2 (s, t)
      double a = b3[r];
      for (int i = 0; i < H; ++i) a += (k + 1 > hdeg[i] ? w3[r * H + i] : 0) * h2[i];
      out[r] = a;
    }
    double logdet = 0, sq = 0;
    for (int k = 0; k < D; ++k) {
      const double sk = out[2 * k], tk = out[2 * k + 1];
      const double z = u[k] * std::exp(sk) + tk;
      logdet += sk;
      sq += z * z;
    }
    const double ref = -0.5 * sq - 0.5 * D * std::log(2 * M_PI) + logdet;
    CHECK(lp[s] == Approx(ref).epsilon(1e-13).margin(1e-13));
  }
}

TEST_CASE("masked MADE weights are zero after init and after loading any file",
          "[autoregressive]") {
  auto model = compile_or_fail("flow f(dim = 3) { maf affine { net = made(hidden = [5]) } }");
  Flow<double> flow = make_flow<double>(*model);
  flow.init_params(2);
  const auto& table = flow.param_table();
  int zeros = 0;
  for (size_t i = 0; i < flow.params().size(); ++i)
    if (test::is_structural_zero(table, i)) {
      CHECK(flow.params()[i] == 0);
      ++zeros;
    }
  // w1: 5 x 3, degrees {1, 1, 1, 2, 2}: 3 * 2 + 2 * 1 = 8 masked; w2: 6 x 5,
  // outputs of positions 0, 1, 2 read 0, 3, 5 units: 2 * 5 + 2 * 2 = 14.
  CHECK(zeros == 8 + 14);
  std::vector<double> noisy = flow.params();
  for (double& v : noisy) v += 0.5;
  const std::string path =
      (std::filesystem::temp_directory_path() / "nfc_autoregressive_masked.safetensors").string();
  save_params(path, table, noisy, TensorDType::f64, ModelIdentity{"f", "h"}, std::nullopt);
  const SavedParams back = load_params(path, table, flow.dim());
  for (size_t i = 0; i < noisy.size(); ++i)
    CHECK(back.values[i] == (test::is_structural_zero(table, i) ? 0.0 : noisy[i]));
}

// A training step's per-parameter passes walk Flow::trained_ranges, which
// leave out the structural zeros: the ranges are exactly the free elements,
// thread shares partition them, the gradient combined over threads is 0 at
// every structural zero, and an Adam step over the ranges equals one over
// the whole buffer.
TEST_CASE("training steps skip the structural zeros and change no number", "[autoregressive]") {
  auto model = compile_or_fail(kMafIaf);
  Flow<double> flow = make_flow<double>(*model);
  flow.init_params(3);
  flow.set_threads(2);
  const auto& table = flow.param_table();
  const std::vector<ParamRange>& ranges = flow.trained_ranges();
  std::vector<char> covered(flow.params().size(), 0);
  for (const ParamRange& r : ranges)
    for (int64_t i = r.begin; i < r.end; ++i) covered[size_t(i)] = 1;
  int64_t free = 0;
  for (size_t i = 0; i < covered.size(); ++i) {
    CHECK(bool(covered[i]) == !test::is_structural_zero(table, i));
    free += !test::is_structural_zero(table, i);
  }
  CHECK(element_count(ranges) == free);
  for (int shares : {1, 2, 3, 7}) {
    std::vector<int> hits(covered.size(), 0);
    for (int t = 0; t < shares; ++t)
      for_share(ranges, shares, t, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) ++hits[size_t(i)];
      });
    for (size_t i = 0; i < hits.size(); ++i) CHECK(hits[i] == covered[i]);
  }
  const auto x = normal_batch(64, flow.dim(), 8);  // two threads' slices
  std::vector<double> grad(flow.params().size());
  flow.nll_grad(x.data(), 64, grad.data());
  for (size_t i = 0; i < grad.size(); ++i)
    if (!covered[i]) CHECK(grad[i] == 0);
  OptimizerOptions adam;
  OptimizerState whole, skipping;
  std::vector<double> a = flow.params(), b = flow.params();
  for (int step = 0; step < 3; ++step) {
    optimizer_step(a, grad, 1e-2, adam, whole);
    optimizer_step(b, grad, 1e-2, adam, skipping, nullptr, &ranges);
  }
  CHECK(a == b);
  CHECK(whole.m == skipping.m);
  CHECK(whole.v == skipping.v);
}

// The sequential direction evaluates each hidden unit once: its multiply-adds
// match the one-pass direction's (the masked matvec skips the same zeros),
// instead of D times as many; and it is one loop (made_sequence), so its
// code does not grow with D.
TEST_CASE("the sequential MAF pass costs about one MADE evaluation", "[autoregressive]") {
  auto model = compile_or_fail(R"(
flow f(dim = 16) {
  maf affine { net = made(hidden = [64, 64]) }
}
)");
  const Graph& g = model->graph->graph;
  auto multiply_adds = [&](NodeId root) {
    int64_t total = 0;
    for (NodeId id : topological_order(g, {root})) {
      const Node& n = g.node(id);
      if (n.op == Op::made_sequence)  // every row of every layer once
        for (const MadeSequence::Layer& layer : g.made_sequence_info(n.index).layers)
          for (int len : layer.row_lengths) total += len;
      if (n.op != Op::matvec) continue;
      for (int r = 0; r < n.rows; ++r) total += n.indices.empty() ? n.cols : n.indices[size_t(r)];
    }
    return total;
  };
  const int64_t one_pass = multiply_adds(model->graph->log_prob);
  const int64_t sequential = multiply_adds(model->graph->inverse_x);
  INFO("log_prob " << one_pass << ", inverse " << sequential);
  CHECK(sequential == one_pass);
  int loops = 0;
  for (NodeId id : topological_order(g, {model->graph->inverse_x}))
    loops += g.node(id).op == Op::made_sequence;
  CHECK(loops == 1);
}

// An IAF's training loss runs its sequential direction (made_sequence);
// reverse mode runs that loop backwards (made_adjoint), so the gradient's
// graph is one position's worth: the same node count at D = 8 and 64 (a
// graph per position grew with D and took 13.5 s to compile at D = 64).
TEST_CASE("an IAF's maximum-likelihood gradient graph does not grow with D",
          "[autoregressive][gradient]") {
  auto gradient_nodes = [](int dim) {
    auto model = compile_or_fail(fmt::format(
        "flow f(dim = {}) {{ iaf affine {{ net = made(hidden = [16, 16], residual = true) }} }}",
        dim));
    const FlowGraph& flow = *model->graph;
    std::vector<NodeId> roots{flow.nll};
    for (const Accumulation& a : flow.gradient)
      for (NodeId id : {a.value, a.outer_a, a.outer_b})
        if (id >= 0) roots.push_back(id);
    int adjoints = 0;
    const std::vector<NodeId> order = topological_order(flow.graph, roots);
    for (NodeId id : order) adjoints += flow.graph.node(id).op == Op::made_adjoint;
    CHECK(adjoints == 1);
    return order.size();
  };
  CHECK(gradient_nodes(64) == gradient_nodes(8));
}

// An IAF's density direction solves the transformer numerically here: its
// gradient comes from the implicit function theorem (Gradient.cpp).
TEST_CASE("gradients through a numerically inverted transformer (IAF density)",
          "[autoregressive][gradient]") {
  check_gradient(R"(
transform cubic(x; a, b) = x + softplus(a) * x^3 / 3 + x * tanh(b) / 2
flow f(dim = 3) { iaf cubic(order = reverse) { net = made(hidden = [5]) } }
)",
                 8);
}

// Neural spline flows, autoregressive (Durkan et al. 2019, NSF-AR): the
// spline's 3K - 1 parameters per position come from the MADE.
const char* kSplineAr = R"(
flow f(dim = 3) {
  maf spline(order = reverse, bins = 5, bound = 2.5) { net = made(hidden = [8, 8]) }
  iaf spline(bins = 4) { net = made(hidden = [6], act = tanh) }
}
)";

TEST_CASE("autoregressive splines: round trip, log-det, JIT against interpreter",
          "[autoregressive][spline]") {
  check_flow_numerics(kSplineAr, 12);
}

TEST_CASE("autoregressive splines: gradients against finite differences",
          "[autoregressive][spline][gradient]") {
  check_gradient(kSplineAr, 13);
}

// Far outside the spline's interval, on its knots' edges and at zero, the
// log-density and every gradient entry stay finite in both layer kinds.
TEST_CASE("autoregressive splines never produce NaN on extreme inputs",
          "[autoregressive][spline]") {
  auto model = compile_or_fail(kSplineAr);
  Flow<double> flow = make_flow<double>(*model);
  flow.init_params(14);
  const std::vector<double> values = {1e30, -1e30, 2.5, -2.5, 0, 1e6, -4, 2.4999999999};
  std::vector<double> x;
  for (double a : values)
    for (double b : values) x.insert(x.end(), {a, b, -a});
  const auto n = static_cast<int64_t>(x.size() / 3);
  std::vector<double> lp(static_cast<size_t>(n)), grad(flow.params().size());
  flow.log_prob(x.data(), lp.data(), n);
  for (double v : lp) CHECK(std::isfinite(v));
  CHECK(std::isfinite(flow.nll_grad(x.data(), n, grad.data())));
  for (double g : grad) CHECK(std::isfinite(g));
}

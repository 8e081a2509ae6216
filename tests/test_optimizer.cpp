// Adam and AdamW (runtime/Optimizer): the update against the algorithm as
// PyTorch's torch.optim.Adam/AdamW state it, computed independently in long
// double; moments held in the flow's precision; the same numbers on any
// number of threads; moments through a checkpoint exactly.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <limits>
#include <type_traits>
#include <vector>

#include "runtime/Optimizer.hpp"
#include "runtime/ThreadPool.hpp"
#include "runtime/Trainer.hpp"
#include "runtime/io/Checkpoint.hpp"

using namespace nfc;

namespace {

// PyTorch's Adam (weight_decay added to the gradient) and AdamW (decoupled
// decay), bias corrections as in its non-fused implementation, unrounded.
struct ReferenceAdam {
  OptimizerOptions o;
  std::vector<long double> p, m, v;
  int t = 0;

  void step(const std::vector<long double>& grad, long double lr) {
    ++t;
    const long double c1 = 1 - std::pow((long double)o.beta1, t);
    const long double c2 = 1 - std::pow((long double)o.beta2, t);
    for (size_t i = 0; i < p.size(); ++i) {
      long double g = grad[i];
      if (o.kind == OptimizerKind::adam)
        g += o.weight_decay * p[i];
      else
        p[i] *= 1 - lr * o.weight_decay;
      m[i] = o.beta1 * m[i] + (1 - o.beta1) * g;
      v[i] = o.beta2 * v[i] + (1 - o.beta2) * g * g;
      p[i] -= lr / c1 * m[i] / (std::sqrt(v[i]) / std::sqrt(c2) + o.eps);
    }
  }
};

// Gradients of mixed signs and magnitudes (1e-4 .. 10), a different set at
// each step.
std::vector<long double> gradient_at(int step, size_t n) {
  std::vector<long double> g(n);
  for (size_t i = 0; i < n; ++i)
    g[i] = std::sin(1.7L * (long double)(i + 3 * step)) *
           std::pow(10.0L, (long double)((i + step) % 6) - 4);
  return g;
}

template <class T>
void check_against_reference(OptimizerKind kind, double weight_decay) {
  constexpr size_t n = 37;  // vector bodies and a scalar tail
  constexpr int steps = 6;
  OptimizerOptions o;
  o.kind = kind;
  o.weight_decay = weight_decay;
  ReferenceAdam ref{o, {}, std::vector<long double>(n), std::vector<long double>(n)};
  std::vector<T> params(n);
  for (size_t i = 0; i < n; ++i) {
    params[i] = static_cast<T>(0.5 - 0.03 * double(i));
    ref.p.push_back(params[i]);
  }
  OptimizerState state;
  const double lr = 1e-2;
  for (int s = 0; s < steps; ++s) {
    const std::vector<long double> g = gradient_at(s, n);
    std::vector<T> grad(g.begin(), g.end());
    ref.step(std::vector<long double>(grad.begin(), grad.end()), lr);
    optimizer_step(params, grad, lr, o, state);
  }
  // Each step rounds p, m, v and the step's few operations in T: a few
  // units of T's epsilon a step, relative to p (the update is lr = 1e-2,
  // so a wrong formula is off by far more). m and v: relative.
  const double eps = std::numeric_limits<T>::epsilon();
  const std::vector<T>& m = state.m.as<T>();
  const std::vector<T>& v = state.v.as<T>();
  CHECK(state.t == steps);
  for (size_t i = 0; i < n; ++i) {
    INFO("parameter " << i);
    CHECK(std::fabs(double(params[i]) - double(ref.p[i])) <= 8 * steps * eps);
    CHECK(std::fabs(double(m[i]) - double(ref.m[i])) <=
          8 * steps * eps * std::fabs(double(ref.m[i])));
    CHECK(std::fabs(double(v[i]) - double(ref.v[i])) <= 8 * steps * eps * double(ref.v[i]));
  }
}

}  // namespace

TEMPLATE_TEST_CASE("Adam and AdamW steps follow PyTorch's algorithm", "[optimizer]", float,
                   double) {
  SECTION("adam") {
    check_against_reference<TestType>(OptimizerKind::adam, 0);
  }
  SECTION("adam, L2 weight decay") {
    check_against_reference<TestType>(OptimizerKind::adam, 0.1);
  }
  SECTION("adamw") {
    check_against_reference<TestType>(OptimizerKind::adamw, 0.1);
  }
}

TEMPLATE_TEST_CASE("Adam's moments are held in the flow's precision", "[optimizer]", float,
                   double) {
  std::vector<TestType> params(10, TestType(1)), grad(10, TestType(0.5));
  OptimizerState state;
  optimizer_step(params, grad, 1e-3, OptimizerOptions{}, state);
  state.m.visit([](const auto& m) {
    CHECK(std::is_same_v<typename std::decay_t<decltype(m)>::value_type, TestType>);
    CHECK(m.size() == 10);
  });
  // m = (1 - beta1) g after one step from zero, (1 - beta1) rounded to T.
  CHECK(state.m.as<TestType>()[0] == static_cast<TestType>(1 - 0.9) * TestType(0.5));
}

// 2 threads share the update from 8192 parameters each: 40,000 parameters
// in three ranges, stepped with and without a pool, give the same bits.
TEST_CASE("an Adam step on two threads equals one on one thread", "[optimizer][threads]") {
  const size_t n = 40000;
  std::vector<float> a(n), grad(n);
  for (size_t i = 0; i < n; ++i) {
    a[i] = std::cos(float(i));
    grad[i] = std::sin(0.3f * float(i));
  }
  std::vector<float> b = a;
  const std::vector<ParamRange> ranges = {{0, 1000}, {5000, 25000}, {30000, 40000}};
  OptimizerState one, two;
  ThreadPool pool(2);
  for (int step = 0; step < 3; ++step) {
    optimizer_step(a, grad, 1e-2, OptimizerOptions{}, one, nullptr, &ranges);
    optimizer_step(b, grad, 1e-2, OptimizerOptions{}, two, &pool, &ranges);
  }
  CHECK(a == b);
  CHECK(one.m == two.m);
  CHECK(one.v == two.v);
  CHECK(a[2000] == std::cos(2000.0f));  // outside the ranges: untouched
  CHECK(a[500] != std::cos(500.0f));
}

// The trainer's check of a gradient, split over two threads from 65536
// values each: a NaN or an infinity anywhere (either end of either
// thread's share, or inside one) is found, a value past n is not read, and
// the pool's answer is the serial one.
TEST_CASE("a gradient's finiteness is checked on two threads", "[optimizer][threads]") {
  const int64_t n = 400000;
  std::vector<double> grad(n + 1, 0.5);
  grad[n] = std::nan("");  // past the n checked
  ThreadPool pool(2);
  CHECK(all_finite(grad.data(), n, &pool));
  CHECK(all_finite(grad.data(), n, nullptr));
  for (size_t at : {0, 999, 170000, 199999, 200000, 300000, 399999}) {
    for (double bad : {std::nan(""), std::numeric_limits<double>::infinity()}) {
      INFO("at " << at << ": " << bad);
      grad[at] = bad;
      CHECK_FALSE(all_finite(grad.data(), n, &pool));
      CHECK_FALSE(all_finite(grad.data(), n, nullptr));
      grad[at] = 0.5;
    }
  }
  grad[2000] = -std::numeric_limits<double>::infinity();
  CHECK_FALSE(all_finite(grad.data(), 2100, &pool));  // below the threads' minimum: serial
  CHECK(all_finite(grad.data(), 2000, &pool));
}

// A float flow's moments are written as doubles (exact) and read back as
// doubles; the next step converts them back to the same floats, so a
// resumed run continues bit-for-bit (test_training.cpp runs one).
TEST_CASE("float moments go through a training state file exactly", "[optimizer][training]") {
  const size_t n = 12;
  std::vector<float> params(n), grad(n);
  for (size_t i = 0; i < n; ++i) {
    params[i] = 0.1f * float(i);
    grad[i] = 1.0f / float(i + 1);
  }
  TrainState state;
  optimizer_step(params, grad, 1e-3, OptimizerOptions{}, state.optimizer);
  state.step = 1;
  const auto path = std::filesystem::temp_directory_path() / "nfc_test_optimizer.state.safetensors";
  save_train_state(path.string(), state, std::vector<double>(params.begin(), params.end()), "{}");
  ResumeInfo info = load_train_state(path.string(), n);
  std::filesystem::remove(path);
  CHECK(info.state.optimizer.t == 1);
  CHECK(info.state.optimizer.m.as<float>() == state.optimizer.m.as<float>());
  CHECK(info.state.optimizer.v.as<float>() == state.optimizer.v.as<float>());
  std::vector<float> resumed = params;
  optimizer_step(params, grad, 1e-3, OptimizerOptions{}, state.optimizer);
  optimizer_step(resumed, grad, 1e-3, OptimizerOptions{}, info.state.optimizer);
  CHECK(resumed == params);
}

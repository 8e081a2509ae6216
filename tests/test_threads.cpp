// Batches over threads: the pool itself, slicing, and a flow on two threads
// against the same flow on one — maps sample by sample identical, the
// gradient equal up to the rounding of a differently split sum, training
// reproducible. Also the small-batch log_prob against the wide one.
#include <atomic>
#include <catch2/catch.hpp>
#include <cmath>
#include <stdexcept>

#include "driver/Compile.hpp"
#include "runtime/ThreadPool.hpp"
#include "runtime/Trainer.hpp"
#include "tests/TestSupport.hpp"

using namespace nfc;

namespace {

// A coupling stack and a MAF: both kinds of conditioner, a tail block at
// any width for the batch sizes below.
const char* kModel = R"(
flow mixed(dim = 4) {
  coupling affine(mask = alternate) { net = mlp(hidden = [16, 16], act = relu); s = 2 * tanh(s / 2) }
  maf affine { net = made(hidden = [24, 24], act = tanh) }
  permute reverse
  coupling affine(mask = halves) { net = mlp(hidden = [8], act = elu) }
}
)";

}  // namespace

TEST_CASE("thread pool runs every task once and rethrows a task's exception", "[threads]") {
  ThreadPool pool(3);
  REQUIRE(pool.size() == 3);
  for (int round = 0; round < 50; ++round) {  // reuse: every job sees all workers
    std::atomic<int> sum{0}, calls{0};
    pool.run([&](int t) {
      sum += t;
      ++calls;
    });
    CHECK(calls == 3);
    CHECK(sum == 0 + 1 + 2);
  }
  CHECK_THROWS_WITH(pool.run([](int t) {
    if (t == 2) throw std::runtime_error("task 2 failed");
  }),
                    "task 2 failed");
  std::atomic<int> after{0};
  pool.run([&](int) { ++after; });  // the pool survives a failed job
  CHECK(after == 3);
  ThreadPool single(1);
  int ran = 0;
  single.run([&](int t) { ran += 1 + t; });
  CHECK(ran == 1);
}

TEST_CASE("slices partition a range at aligned boundaries", "[threads]") {
  for (int64_t n : {0, 1, 15, 16, 17, 100, 512, 1000}) {
    for (int slices : {1, 2, 3, 7}) {
      int64_t next = 0;
      for (int t = 0; t < slices; ++t) {
        const Slice s = slice_of(n, slices, t, 16);
        CHECK(s.begin == next);
        CHECK(s.end >= s.begin);
        if (t + 1 < slices) CHECK(s.end % 16 == 0);
        next = s.end;
      }
      CHECK(next == n);
    }
  }
}

TEST_CASE("a flow on two threads computes what it computes on one", "[threads]") {
  auto model = test::compile_or_fail(kModel, Precision::f64);
  Flow<double> one = make_flow<double>(*model), two = make_flow<double>(*model);
  one.init_params(3);
  two.params() = one.params();
  two.set_threads(2);
  REQUIRE(two.threads() == 2);
  REQUIRE(one.threads() == 1);
  const int d = one.dim();
  // 1001 rows: split 496 + 505 (aligned to 16), neither a multiple of any width.
  for (int64_t n : {int64_t{1001}, int64_t{100}}) {
    const auto x = test::normal_batch(n, d, 7);
    std::vector<double> z1(size_t(n * d)), z2(z1.size()), l1(static_cast<size_t>(n)), l2(l1.size());
    one.forward(x.data(), z1.data(), l1.data(), n);
    two.forward(x.data(), z2.data(), l2.data(), n);
    CHECK(z1 == z2);  // samples are independent: bit for bit
    CHECK(l1 == l2);
    one.inverse(x.data(), z1.data(), l1.data(), n);
    two.inverse(x.data(), z2.data(), l2.data(), n);
    CHECK(z1 == z2);
    CHECK(l1 == l2);
    one.log_prob(x.data(), l1.data(), n);
    two.log_prob(x.data(), l2.data(), n);
    CHECK(l1 == l2);
    const auto s1 = one.sample(n, 11), s2 = two.sample(n, 11);
    CHECK(s1.x == s2.x);
    CHECK(s1.log_prob == s2.log_prob);

    // The mean gradient: two slice means weighted by their sizes. Only the
    // order of additions differs, so f64 agrees to ~1e-15 relative; 1e-12
    // leaves room for cancellation in small components.
    std::vector<double> g1(one.params().size()), g2(g1.size());
    const double nll1 = one.nll_grad(x.data(), n, g1.data());
    const double nll2 = two.nll_grad(x.data(), n, g2.data());
    CHECK(std::abs(nll1 - nll2) <= 1e-12 * std::abs(nll1));
    double scale = 0;
    for (double g : g1) scale = std::max(scale, std::abs(g));
    REQUIRE(scale > 0);
    for (size_t i = 0; i < g1.size(); ++i) CHECK(std::abs(g1[i] - g2[i]) <= 1e-12 * scale);
  }
}

TEST_CASE("training on two threads is reproducible and close to one thread", "[threads]") {
  auto model = test::compile_or_fail(kModel, Precision::f64);
  const int64_t rows = 2000;
  const auto data = test::normal_batch(rows, 4, 21, 0.7);
  TrainOptions o;
  o.steps = 30;
  o.batch = 256;
  o.eval_every = 10;
  auto train = [&](int threads) {
    Flow<double> flow = make_flow<double>(*model);
    flow.init_params(5);
    flow.set_threads(threads);
    Trainer<double> trainer(flow, data, rows, o);
    TrainState state;
    trainer.run(state, [](const TrainEvent&) { return true; });
    return flow.params();
  };
  const auto a = train(2), b = train(2), c = train(1);
  CHECK(a == b);  // same split, same sums: bit-identical runs
  double moved = 0, apart = 0;
  Flow<double> init = make_flow<double>(*model);
  init.init_params(5);
  for (size_t i = 0; i < a.size(); ++i) {
    moved = std::max(moved, std::abs(a[i] - init.params()[i]));
    apart = std::max(apart, std::abs(a[i] - c[i]));
  }
  // 30 Adam steps move parameters by ~1e-2; one and two threads differ by
  // rounding, amplified a little by Adam's normalisation, far below that.
  CHECK(moved > 1e-3);
  CHECK(apart < 1e-8);
}

// `cpu`: code for that CPU (JitOptions::target_cpu), "" for this one. The
// one-sample entry's dense 16 x 16 matvec takes whole groups of rows on
// every target (16, 8, 4 or 2 lanes a vector).
template <class T>
void check_small_batches(const char* cpu) {
  JitOptions options;
  options.precision = test::precision_of<T>();
  options.target_cpu = cpu;
  INFO("cpu '" << cpu << "'");
  auto model = test::compile_or_fail(kModel, options);
  REQUIRE(model->jit->find("log_prob.small") != nullptr);
  Flow<T> flow = make_flow<T>(*model);
  flow.init_params(2);
  const int64_t n = 3 * model->jit->vector_width() + 5;
  const auto x64 = test::normal_batch(n, 4, 9);
  const std::vector<T> x(x64.begin(), x64.end());
  std::vector<T> all(static_cast<size_t>(n));
  flow.log_prob(x.data(), all.data(), n);
  // The one-sample entry sums each matrix row in vectors, a different order
  // than the batch entry's column by column: rounding of sums of <= 24
  // products, ~1e-15 relative in f64 and ~1e-6 in f32 (10x margin).
  const double tol = std::is_same_v<T, double> ? 1e-14 : 1e-5;
  for (int64_t i = 0; i < n; i += 7) {  // one row at a time: the small entry
    T one = 0;
    flow.log_prob(x.data() + i * 4, &one, 1);
    CHECK(one == Approx(all[size_t(i)]).epsilon(tol).margin(tol));
  }
  REQUIRE(flow.small_batch_rows() >= 2);  // measured on this machine (SmallBatch.hpp)
  for (int64_t rows = 2; rows < flow.small_batch_rows(); ++rows) {  // a few rows: the small entry
    std::vector<T> some(static_cast<size_t>(rows));
    flow.log_prob(x.data(), some.data(), rows);
    for (int64_t i = 0; i < rows; ++i)
      CHECK(some[size_t(i)] == Approx(all[size_t(i)]).epsilon(tol).margin(tol));
  }
}

TEST_CASE("small batches use the one-sample log_prob and agree with the batch one", "[threads]") {
  for (const char* cpu : {"", "haswell", "x86-64"}) {
    check_small_batches<double>(cpu);
    check_small_batches<float>(cpu);
  }
}

TEST_CASE("without the one-sample entry every batch runs the block entry", "[threads]") {
  JitOptions options;
  options.small_batch_entry = false;
  auto model = test::compile_or_fail(kModel, options);
  CHECK(model->jit->find("log_prob.small") == nullptr);
  CHECK(model->jit->small_batch_rows() == 0);
  CHECK(make_flow<double>(*model).small_batch_rows() == 0);
}

// Run-time throughput of compiled flows: samples/s of log_prob, sample
// (base draws + the inverse map), nll_grad and a whole training step
// (nll_grad + Adam), the median latency of log_prob on one sample, and
// compile time.
//
// Usage: nfc_bench_throughput [--f64] [--batch N] [--train-batch N] [--no-vector-math]
//                             [--threads N] [--json] [-O0..3] [--map-vectors N]
//                             [--gradient-vectors N]
//                             [--cpu LLVM_CPU] [model.nf ...]
//        nfc_bench_throughput --fma-peak   (one core's float32 FMA ceiling, JSON)
// (default: examples/moons.nf and bench/models/coupling64.nf, f32, batch
// 4096, training batch 512). Each throughput is the best of 5 rounds of at
// least 0.2 s each.
//
// --threads N: N threads compile the entry points and the flow runs each
// batch and the Adam update on N threads (Flow::set_threads, as
// `nfc train --threads N`). Default 1 run thread and one compile thread per
// core.
//
// --json prints one JSON object per model (bench/run.sh reads them).
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/BestOf.hpp"
#include "driver/Compile.hpp"
#include "runtime/Optimizer.hpp"

#ifndef NFC_SOURCE_DIR
#define NFC_SOURCE_DIR "."
#endif

namespace {

struct Settings {
  int64_t batch = 4096;
  int64_t train_batch = 512;
  bool vector_math = true;
  int compile_threads = 0;
  int run_threads = 1;
  int opt_level = 2;
  bool json = false;
  bool compile_only = false;  // report the compile time and stop
  int map_vectors = 0;        // 0: JitOptions' default
  int gradient_vectors = 0;   // 0: per target (gradient_vectors())
  std::string target_cpu;     // empty: the host
};

// This process's peak resident memory in MB: VmHWM of /proc/self/status,
// the high-water mark of its own address space (getrusage's ru_maxrss also
// counts what the parent held when it forked us, exec or not).
double peak_resident_mb() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024;
  return -1;
}

template <class F>
double samples_per_second(int64_t batch, F&& call) {
  return static_cast<double>(batch) / nfc::bench::best_seconds_per_call(call);
}

// The float32 FMA ceiling of one core: independent accumulators (more than
// the FMA latency x pipes) updated in a loop, so nothing but the FMA units
// limits it. The GEMM of a BLAS can sit well below it (Debian's OpenBLAS
// has no Zen 5 kernel), and a GFLOP/s figure needs the hardware's ceiling.
template <int Lanes>
using FloatVec [[gnu::vector_size(Lanes * 4)]] = float;

// One timed run of `rounds` x 12 independent FMAs (12 named accumulators
// so that they stay in registers; inlined into the target-specific callers
// below, as a lambda would not inherit their target).
template <int Lanes>
[[gnu::always_inline]] inline double fma_seconds(long rounds) {
  FloatVec<Lanes> a, b;
  for (int l = 0; l < Lanes; ++l) a[l] = 0.999999f, b[l] = 1e-7f;
  FloatVec<Lanes> c0 = a, c1 = a, c2 = a, c3 = a, c4 = a, c5 = a, c6 = a, c7 = a, c8 = a, c9 = a,
                  c10 = a, c11 = a;
  const auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < rounds; ++i) {
    c0 = c0 * a + b, c1 = c1 * a + b, c2 = c2 * a + b, c3 = c3 * a + b;
    c4 = c4 * a + b, c5 = c5 * a + b, c6 = c6 * a + b, c7 = c7 * a + b;
    c8 = c8 * a + b, c9 = c9 * a + b, c10 = c10 * a + b, c11 = c11 * a + b;
    // Keeps the loop from being folded into a closed form.
    asm("" : "+v"(c0), "+v"(c1), "+v"(c2), "+v"(c3), "+v"(c4), "+v"(c5));
    asm("" : "+v"(c6), "+v"(c7), "+v"(c8), "+v"(c9), "+v"(c10), "+v"(c11));
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const FloatVec<Lanes> sum = c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11;
  if (sum[0] == 12345.f) std::puts("");
  return s;
}

template <int Lanes>
[[gnu::always_inline]] inline double fma_gflops_impl() {
  const long rounds = 20'000'000;
  double best = 1e300;
  for (int i = 0; i < 5; ++i) best = std::min(best, fma_seconds<Lanes>(rounds));
  return 2.0 * Lanes * 12 * rounds / best / 1e9;
}

[[gnu::target("avx512f,fma")]] double fma_gflops_avx512() {
  return fma_gflops_impl<16>();
}
[[gnu::target("avx2,fma")]] double fma_gflops_avx2() {
  return fma_gflops_impl<8>();
}

double fma_gflops() {
  if (__builtin_cpu_supports("avx512f")) return fma_gflops_avx512();
  if (__builtin_cpu_supports("fma")) return fma_gflops_avx2();
  return 0;
}

// The median round trip of a cache line between two threads pinned to the
// first two CPUs this process may run on, in ns; -1 with fewer than two.
// On a VM the host may place the two vCPUs near each other or far apart,
// and move them while a run goes on: on the 2-vCPU Zen 4 of docs/bench.md
// it measured 100-120 ns at some times and 200-470 ns at others, and some
// runs' 2-thread training was 20-25% slower with the same code, often (not
// always) with far round trips (docs/bench.md: "A slow state of the VM").
// Printed with each run so that 2-thread numbers can be read with it.
double core_round_trip_ns() {
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return -1;
  int cpus[2], found = 0;
  for (int c = 0; c < CPU_SETSIZE && found < 2; ++c)
    if (CPU_ISSET(c, &allowed)) cpus[found++] = c;
  if (found < 2) return -1;
  auto pin = [](int cpu) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    pthread_setaffinity_np(pthread_self(), sizeof one, &one);
  };
  constexpr int kTrips = 100000;
  alignas(64) std::atomic<int> turn{0};
  std::thread other([&] {
    pin(cpus[1]);
    for (int i = 0; i < kTrips; ++i) {
      while (turn.load(std::memory_order_acquire) != 2 * i + 1) {
      }
      turn.store(2 * i + 2, std::memory_order_release);
    }
  });
  pin(cpus[0]);
  std::vector<double> trips(kTrips);
  for (int i = 0; i < kTrips; ++i) {
    const auto start = std::chrono::steady_clock::now();
    turn.store(2 * i + 1, std::memory_order_release);
    while (turn.load(std::memory_order_acquire) != 2 * i + 2) {
    }
    trips[size_t(i)] =
        std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
  }
  other.join();
  sched_setaffinity(0, sizeof allowed, &allowed);
  std::nth_element(trips.begin(), trips.begin() + kTrips / 2, trips.end());
  return trips[kTrips / 2];
}

template <class T>
int run(const std::string& path, const Settings& s) {
  std::ifstream file(path);
  if (!file) {
    std::cerr << "cannot read " << path << "\n";
    return 1;
  }
  std::stringstream text;
  text << file.rdbuf();
  const std::string source = text.str();
  nfc::Diagnostics diags(path, source);
  nfc::JitOptions options;
  options.precision = std::is_same_v<T, float> ? nfc::Precision::f32 : nfc::Precision::f64;
  options.vector_math = s.vector_math;
  options.threads = s.compile_threads;
  options.opt_level = s.opt_level;
  if (s.map_vectors > 0) options.map_vectors = s.map_vectors;
  options.gradient_vectors = s.gradient_vectors;
  options.target_cpu = s.target_cpu;
  // Compile time is the wall time of everything from text to callable code
  // (all entry points), what a user waits for.
  const auto compile_start = std::chrono::steady_clock::now();
  auto model = nfc::compile_model(source, diags, options);
  if (!model) {
    diags.print(std::cerr);
    return 1;
  }
  nfc::Flow<T> flow = nfc::make_flow<T>(*model);
  const double compile_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - compile_start)
          .count();
  if (s.compile_only) {  // for distributions of cold compile times (a shell loop)
    std::printf("%s compile %.1f ms\n", path.c_str(), compile_ms);
    return 0;
  }
  flow.init_params(1);
  flow.set_threads(std::max(1, s.run_threads));
  const int dim = flow.dim();
  const int64_t batch = s.batch;
  std::mt19937_64 rng(42);
  std::normal_distribution<double> normal;
  std::vector<T> in(static_cast<size_t>(batch * dim));
  for (T& v : in) v = static_cast<T>(normal(rng));
  std::vector<T> lp(static_cast<size_t>(batch));
  const size_t n_params = flow.params().size();

  const double log_prob =
      samples_per_second(batch, [&] { flow.log_prob(in.data(), lp.data(), batch); });
  const double sample = samples_per_second(batch, [&] {
    volatile T sink = flow.sample(batch, 7).x[0];
    (void)sink;
  });
  // A training step on the first train_batch rows as runtime/Trainer takes
  // it: the mean NLL gradient, the check that it is finite and one Adam
  // update, all on the flow's threads. The parameters move, as in training.
  const int64_t tb = std::min(s.train_batch, batch);
  std::vector<T> grad(n_params);
  nfc::OptimizerOptions adam;
  adam.schedule = nfc::Schedule::constant;
  nfc::OptimizerState state;
  const std::vector<T> initial = flow.params();
  const double nll_grad =
      samples_per_second(tb, [&] { flow.nll_grad(in.data(), tb, grad.data()); });
  const double train = samples_per_second(tb, [&] {
    flow.nll_grad(in.data(), tb, grad.data());
    if (nfc::all_finite(grad.data(), int64_t(grad.size()), flow.pool()))
      nfc::optimizer_step(flow.params(), grad, adam.lr, adam, state, flow.pool(),
                          &flow.trained_ranges());
  });
  // What the Adam update alone costs (runtime/Optimizer), for the report:
  // with many parameters it is a large share of a training step.
  const double adam_ms = 1e3 * nfc::bench::best_seconds_per_call([&] {
                           nfc::optimizer_step(flow.params(), grad, adam.lr, adam, state,
                                               flow.pool(), &flow.trained_ranges());
                         });
  flow.params() = initial;

  // Batch-1 latency: every call timed on its own, the median of many (a
  // mean would be dominated by the machine's other tenants). Also the
  // latency of small_batch_rows() rows, the smallest batch the block-wide
  // entry runs (what one row would cost without log_prob.small).
  auto median_latency_us = [&](int64_t rows) {
    std::vector<T> out(static_cast<size_t>(rows));
    auto at = [&](size_t i) { return in.data() + int64_t(i % size_t(batch - rows)) * dim; };
    // Warm-up of about 0.2 s (at most 1000 calls), then as many timed calls
    // as fit in about 2 s (20000 rows-1 / 5000 block calls at most, 50 at
    // least): a 784-D flow takes milliseconds a call.
    const auto warm_start = std::chrono::steady_clock::now();
    size_t warm = 0;
    while (warm < 1000 && (warm < 10 || std::chrono::steady_clock::now() - warm_start <
                                            std::chrono::milliseconds(200)))
      flow.log_prob(at(warm++), out.data(), rows);
    const double per_call_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - warm_start).count() /
        double(warm);
    const size_t most = rows == 1 ? 20000 : 5000;
    std::vector<double> times(std::clamp<size_t>(size_t(2.0 / per_call_s), 50, most));
    for (size_t i = 0; i < times.size(); ++i) {
      const auto a = std::chrono::steady_clock::now();
      flow.log_prob(at(i), out.data(), rows);
      times[i] =
          std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - a).count();
    }
    std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
    return times[times.size() / 2];
  };
  const double latency_us = median_latency_us(1);
  const int64_t block_rows = std::max<int64_t>(flow.small_batch_rows(), 1);
  const double block_latency_us = median_latency_us(block_rows);

  const auto& t = model->times.jit;
  if (s.json) {
    std::printf(
        "{\"model\": \"%s\", \"precision\": \"%s\", \"dim\": %d, \"params\": %zu, "
        "\"vector_width\": %d, \"threads\": %d, \"batch\": %lld, \"train_batch\": %lld, "
        "\"log_prob_per_s\": %.6g, \"sample_per_s\": %.6g, \"nll_grad_per_s\": %.6g, "
        "\"train_per_s\": %.6g, \"adam_ms\": %.4g, \"latency_us\": %.6g, "
        "\"block_latency_us\": %.6g, \"compile_ms\": %.6g, "
        "\"compile_check_ms\": %.4g, \"compile_graph_ms\": %.4g, \"compile_lower_ms\": %.4g, "
        "\"compile_o2_ms\": %.4g, \"compile_codegen_ms\": %.4g, \"peak_mb\": %.1f}\n",
        path.c_str(), std::is_same_v<T, float> ? "f32" : "f64", dim, n_params,
        model->jit->vector_width(), flow.threads(), static_cast<long long>(batch),
        static_cast<long long>(tb), log_prob, sample, nll_grad, train, adam_ms, latency_us,
        block_latency_us, compile_ms, model->times.check_ms, model->times.graph_ms, t.lower_ms,
        t.optimize_ms, t.codegen_ms, peak_resident_mb());
    std::fflush(stdout);
    return 0;
  }
  std::printf(
      "%-28s %s W=%-2d %d thr  log_prob %10.3g/s  sample %10.3g/s  nll_grad %10.3g/s"
      "  train %10.3g/s  batch-1 %.2f us (%lld rows %.2f us)\n    compile wall %.0f ms: lower %.0f "
      "ms, O2 %.0f ms,"
      " codegen %.0f ms; work on %d threads: O2 %.0f ms, codegen %.0f ms\n",
      path.c_str(), std::is_same_v<T, float> ? "f32" : "f64", model->jit->vector_width(),
      flow.threads(), log_prob, sample, nll_grad, train, latency_us,
      static_cast<long long>(block_rows), block_latency_us, compile_ms, t.lower_ms, t.optimize_ms,
      t.codegen_ms, t.threads, t.optimize_cpu_ms, t.codegen_cpu_ms);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  bool f64 = false;
  Settings s;
  std::vector<std::string> models;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--f64") == 0)
      f64 = true;
    else if (std::strcmp(argv[i], "--no-vector-math") == 0)
      s.vector_math = false;
    else if (std::strcmp(argv[i], "--fma-peak") == 0) {
      std::printf("{\"fma_gflops_per_core\": %.6g}\n", fma_gflops());
      return 0;
    } else if (std::strcmp(argv[i], "--core-round-trip") == 0) {
      std::printf("{\"core_round_trip_ns\": %.6g}\n", core_round_trip_ns());
      return 0;
    } else if (std::strcmp(argv[i], "--compile-only") == 0)
      s.compile_only = true;
    else if (std::strcmp(argv[i], "--json") == 0)
      s.json = true;
    else if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
      s.compile_threads = s.run_threads = std::stoi(argv[++i]);
    else if (std::strncmp(argv[i], "-O", 2) == 0 && argv[i][2] >= '0' && argv[i][2] <= '3')
      s.opt_level = argv[i][2] - '0';
    else if (std::strcmp(argv[i], "--map-vectors") == 0 && i + 1 < argc)
      s.map_vectors = std::stoi(argv[++i]);
    else if (std::strcmp(argv[i], "--gradient-vectors") == 0 && i + 1 < argc)
      s.gradient_vectors = std::stoi(argv[++i]);
    else if (std::strcmp(argv[i], "--cpu") == 0 && i + 1 < argc)
      s.target_cpu = argv[++i];
    else if (std::strcmp(argv[i], "--batch") == 0 && i + 1 < argc)
      s.batch = std::stoll(argv[++i]);
    else if (std::strcmp(argv[i], "--train-batch") == 0 && i + 1 < argc)
      s.train_batch = std::stoll(argv[++i]);
    else
      models.emplace_back(argv[i]);
  }
  if (models.empty())
    models = {NFC_SOURCE_DIR "/examples/moons.nf", NFC_SOURCE_DIR "/bench/models/coupling64.nf"};
  int status = 0;
  for (const std::string& m : models) status |= f64 ? run<double>(m, s) : run<float>(m, s);
  return status;
}

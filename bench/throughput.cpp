// Run-time throughput of compiled flows: samples/s of log_prob, sample
// (the inverse map) and nll_grad on one batch, one thread.
//
// Usage: nfc_bench_throughput [--f64] [--batch N] [--no-vector-math] [--threads N]
//                             [model.nf ...]
// (default: examples/moons.nf and bench/models/coupling64.nf, f32, batch
// 4096). Each figure is the best of 5 rounds of at least 0.2 s each.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "bench/BestOf.hpp"
#include "compiler/driver/Compile.hpp"

#ifndef NFC_SOURCE_DIR
#define NFC_SOURCE_DIR "."
#endif

namespace {

template <class F>
double samples_per_second(int64_t batch, F&& call) {
  return static_cast<double>(batch) / nfc::bench::best_seconds_per_call(call);
}

template <class T>
int run(const std::string& path, int64_t batch, bool vector_math, int threads) {
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
  options.vector_math = vector_math;
  options.threads = threads;
  auto model = nfc::compile_model(source, diags, options);
  if (!model) {
    diags.print(std::cerr);
    return 1;
  }
  nfc::Flow<T> flow = nfc::make_flow<T>(*model);
  flow.init_params(1);
  const int dim = flow.dim();
  std::mt19937_64 rng(42);
  std::normal_distribution<double> normal;
  std::vector<T> in(static_cast<size_t>(batch * dim));
  for (T& v : in) v = static_cast<T>(normal(rng));
  std::vector<T> out(in.size()), logdet(static_cast<size_t>(batch)), lp(static_cast<size_t>(batch));
  std::vector<T> grad(flow.params().size());

  const double log_prob =
      samples_per_second(batch, [&] { flow.log_prob(in.data(), lp.data(), batch); });
  const double sample =
      samples_per_second(batch, [&] { flow.inverse(in.data(), out.data(), logdet.data(), batch); });
  const double nll_grad =
      samples_per_second(batch, [&] { flow.nll_grad(in.data(), batch, grad.data()); });
  const auto& t = model->times.jit;
  std::printf(
      "%-28s %s W=%-2d  log_prob %10.3g/s  sample %10.3g/s  nll_grad %10.3g/s"
      "\n    compile wall: lower %.0f ms, O2 %.0f ms, codegen %.0f ms, total %.0f ms;"
      " work on %d threads: O2 %.0f ms, codegen %.0f ms\n",
      path.c_str(), std::is_same_v<T, float> ? "f32" : "f64", model->jit->vector_width(), log_prob,
      sample, nll_grad, t.lower_ms, t.optimize_ms, t.codegen_ms,
      t.lower_ms + t.optimize_ms + t.codegen_ms, t.threads, t.optimize_cpu_ms, t.codegen_cpu_ms);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  bool f64 = false, vector_math = true;
  int threads = 0;
  int64_t batch = 4096;
  std::vector<std::string> models;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--f64") == 0)
      f64 = true;
    else if (std::strcmp(argv[i], "--no-vector-math") == 0)
      vector_math = false;
    else if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
      threads = std::stoi(argv[++i]);
    else if (std::strcmp(argv[i], "--batch") == 0 && i + 1 < argc)
      batch = std::stoll(argv[++i]);
    else
      models.emplace_back(argv[i]);
  }
  if (models.empty())
    models = {NFC_SOURCE_DIR "/examples/moons.nf", NFC_SOURCE_DIR "/bench/models/coupling64.nf"};
  int status = 0;
  for (const std::string& m : models)
    status |= f64 ? run<double>(m, batch, vector_math, threads)
                  : run<float>(m, batch, vector_math, threads);
  return status;
}

// Run-time cost of emitted C++ (nfc emit-cpp): the latency of one batch-1
// log_prob call, and samples/s of log_prob and sample at a batch of 4096,
// one thread, best of 5 rounds of at least 0.2 s. Built by
// bench/emit_cpp.sh against one emitted flow: -include its header and
// -DNFC_NS=its namespace.
#include <cstdio>
#include <vector>

#include "bench/BestOf.hpp"

namespace flow = NFC_NS;

int main() {
  const long n = 4096;
  std::vector<flow::Real> x(n * flow::kDim), lp(n);
  flow::Generator rng(1);
  flow::sample(rng, x.data(), lp.data(), n);
  volatile flow::Real sink = 0;
  long i = 0;
  const double latency = nfc::bench::best_seconds_per_call([&] {
    sink = flow::log_prob(&x[(i++ % n) * flow::kDim]);  // a different row each call
  });
  const double batch_lp =
      nfc::bench::best_seconds_per_call([&] { flow::log_prob(x.data(), lp.data(), n); });
  const double batch_sample =
      nfc::bench::best_seconds_per_call([&] { flow::sample(rng, x.data(), lp.data(), n); });
  std::printf(
      "%s (%s): batch-1 log_prob %.0f ns; batch %ld: log_prob %.2fM samples/s, "
      "sample %.2fM samples/s\n",
      flow::kModel, sizeof(flow::Real) == 4 ? "f32" : "f64", latency * 1e9, n, n / batch_lp / 1e6,
      n / batch_sample / 1e6);
  return 0;
}

// How the benches time a call: after a warm-up call (pages, caches), the
// best of 5 rounds of at least 0.2 s each. Standard library only, because
// bench/emitted.cpp is built against emitted code without the rest of nfc.
#pragma once

#include <algorithm>
#include <chrono>

namespace nfc::bench {

template <class F>
double best_seconds_per_call(F&& call) {
  using clock = std::chrono::steady_clock;
  call();
  double best = 1e300;
  for (int round = 0; round < 5; ++round) {
    long calls = 0;
    const auto start = clock::now();
    double seconds = 0;
    do {
      call();
      ++calls;
      seconds = std::chrono::duration<double>(clock::now() - start).count();
    } while (seconds < 0.2);
    best = std::min(best, seconds / static_cast<double>(calls));
  }
  return best;
}

}  // namespace nfc::bench

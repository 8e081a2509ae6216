// The moons flow without nfc: trained by `make demo`, written out by
// `nfc emit-cpp`, compiled with the C++ standard library alone.
#include <cstdio>

#include "moons.hpp"

int main() {
  moons::Generator rng(2024);  // the generator of `nfc sample --seed 2024`
  moons::Real x[moons::kDim];
  std::printf("samples x = g(z), z ~ N(0, I), and their log-density:\n");
  for (int i = 0; i < 5; ++i) {
    const moons::Real lp = moons::sample(rng, x);
    std::printf("  x = (%+.3f, %+.3f)  log p(x) = %.3f\n", x[0], x[1], lp);
  }
  std::printf("log-densities at three points:\n");
  const moons::Real points[3][moons::kDim] = {{0.0f, 1.0f}, {0.5f, 0.25f}, {3.0f, 3.0f}};
  for (const auto& p : points)
    std::printf("  log p(%+.2f, %+.2f) = %.3f\n", p[0], p[1], moons::log_prob(p));

  static moons::Real batch[10000 * moons::kDim], lps[10000];
  moons::sample(rng, batch, lps, 10000);  // a batch: row-major [n, kDim]
  double mean = 0;
  for (moons::Real lp : lps) mean += lp / 10000.0;
  std::printf("mean log p over 10000 samples: %.4f (model %s, source hash %s)\n", mean,
              moons::kModel, moons::kSourceHash);
  return 0;
}

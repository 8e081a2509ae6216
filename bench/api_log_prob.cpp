// The C++ API's log_prob on a batch, timed as bench/python_api.py times
// nfc's Python module on the same model and batch: the overhead of
// `import nfc` is the ratio of the two (issue 17: under 5% at 4096 rows).
// Prints the best seconds per call.
//   nfc_bench_api MODEL.nf f32|f64 THREADS ROWS
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "bench/BestOf.hpp"
#include "nfc/nfc.hpp"

namespace {

template <class T>
double seconds_per_call(const nfc::Model& model, int64_t rows) {
  std::mt19937_64 rng(0);
  std::normal_distribution<double> normal;
  std::vector<T> x(static_cast<size_t>(rows * model.dim())), out(static_cast<size_t>(rows));
  for (T& v : x) v = static_cast<T>(normal(rng));
  // The zero-copy form: what the Python module calls on a C-contiguous
  // array of the model's dtype.
  return nfc::bench::best_seconds_per_call([&] { model.log_prob(x.data(), rows, out.data()); });
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: nfc_bench_api MODEL.nf f32|f64 THREADS ROWS\n");
    return 2;
  }
  try {
    const bool f32 = std::string(argv[2]) == "f32";
    nfc::Model model =
        nfc::Model::compile_file(argv[1], f32 ? nfc::Precision::f32 : nfc::Precision::f64);
    model.set_threads(std::atoi(argv[3]));
    const int64_t rows = std::atoll(argv[4]);
    std::printf("%.9g\n",
                f32 ? seconds_per_call<float>(model, rows) : seconds_per_call<double>(model, rows));
  } catch (const nfc::Error& e) {
    std::fprintf(stderr, "nfc_bench_api: %s\n", e.what());
    return 1;
  }
  return 0;
}

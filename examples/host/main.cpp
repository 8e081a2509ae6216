// Training a flow from C++ through nfc's API (docs/api.md): compile a model
// from a string, train it on data the program makes, with a progress
// callback that also stops early, then evaluate, sample and save.
//
//   build/nfc_host_example [OUT.safetensors]
#include <cmath>
#include <cstdio>
#include <nfc/nfc.hpp>
#include <random>

// A 2-D data set: a noisy ring of radius 2.
std::vector<double> ring(int n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> angle(0, 2 * M_PI);
  std::normal_distribution<double> noise(0, 0.2);
  std::vector<double> rows;
  for (int i = 0; i < n; ++i) {
    const double a = angle(rng);
    rows.push_back(2 * std::cos(a) + noise(rng));
    rows.push_back(2 * std::sin(a) + noise(rng));
  }
  return rows;
}

int main(int argc, char** argv) {
  const char* model_text = R"(
    flow ring(dim = 2, base = normal) {
      repeat 4 {
        coupling affine(mask = alternate) {
          net = mlp(hidden = [32, 32], act = tanh)
          s = 2 * tanh(s / 2)
        }
      }
    })";
  try {
    nfc::Model model = nfc::Model::compile(model_text, nfc::Precision::f32, "ring.nf");
    model.init_params(1);
    const std::vector<double> data = ring(4000, 7);
    auto mean_nll = [&] {
      double nll = 0;
      for (double lp : model.log_prob(data)) nll -= lp / double(data.size() / 2);
      return nll;
    };
    const double before = mean_nll();

    nfc::TrainConfig config;
    config.steps = 600;
    config.lr = 3e-3;
    config.eval_every = 100;
    const nfc::TrainResult result = model.train(data, config, [](const nfc::TrainProgress& p) {
      if (p.evaluation)
        std::printf("step %lld/%lld  loss %.4f  val %.4f\n", static_cast<long long>(p.step),
                    static_cast<long long>(p.total), p.loss, p.val_nll);
      return std::isfinite(p.loss);  // stop on a non-finite loss
    });
    std::printf("trained %lld steps; best val NLL %.4f at step %lld\n",
                static_cast<long long>(result.steps), result.best_val_nll,
                static_cast<long long>(result.best_step));

    const nfc::Model::Samples s = model.sample(5, 42);
    for (size_t i = 0; i < 5; ++i)
      std::printf("sample %zu: (%+.3f, %+.3f)  log p = %.3f\n", i, s.x[2 * i], s.x[2 * i + 1],
                  s.log_prob[i]);
    std::printf("mean NLL of the data: %.3f before training, %.3f after\n", before, mean_nll());
    if (argc > 1) {
      model.save(argv[1]);
      std::printf("saved %s\n", argv[1]);
    }
    // A model with an error: the exception carries the diagnostics.
    try {
      nfc::Model::compile("flow bad(dim = 2) { coupl affine(mask = alternate) }",
                          nfc::Precision::f64, "bad.nf");
    } catch (const nfc::CompileError& e) {
      std::printf("as expected, bad.nf does not compile:\n%s", e.what());
    }
    return result.diverged ? 1 : 0;
  } catch (const nfc::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}

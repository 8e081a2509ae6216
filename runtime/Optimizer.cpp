// Adam/AdamW, schedules, clipping.
#include "runtime/Optimizer.hpp"

#include <cmath>
#include <numbers>

namespace nfc {

double learning_rate(const OptimizerOptions& o, int64_t step, int64_t total_steps) {
  if (step < o.warmup_steps) return o.lr * static_cast<double>(step + 1) / double(o.warmup_steps);
  if (o.schedule == Schedule::constant) return o.lr;
  const double span = static_cast<double>(std::max<int64_t>(1, total_steps - o.warmup_steps));
  const double progress = std::min(1.0, static_cast<double>(step - o.warmup_steps) / span);
  return o.lr * 0.5 * (1 + std::cos(std::numbers::pi * progress));
}

template <class T>
double clip_gradient(std::vector<T>& grad, double clip_norm) {
  double sq = 0;
  for (T g : grad) sq += double(g) * double(g);
  const double norm = std::sqrt(sq);
  if (clip_norm > 0 && norm > clip_norm) {
    const double scale = clip_norm / norm;
    for (T& g : grad) g = static_cast<T>(g * scale);
  }
  return norm;
}

namespace {

// One Adam(W) update over n parameters. Restrict pointers, no branch in the
// loop and sqrt without errno (this file is built with -fno-math-errno) let
// the compiler vectorise it: for the 1.8M parameters of a 64-D MAF the
// scalar loop took longer than the gradient. Every operation is still an
// IEEE one (no reassociation), so results are bit-identical either way.
// The bias corrections are applied as PyTorch's Adam does, outside the
// loop: p -= (lr / c1) m / (sqrt(v) / sqrt(c2) + eps), one square root and
// one division per parameter (they bound the loop).
template <class T, bool decoupled>
void adam_update(T* __restrict params, const T* __restrict grad, double* __restrict m,
                 double* __restrict v, size_t n, double lr, double c1, double c2,
                 const OptimizerOptions& o) {
  const double b1 = o.beta1, b2 = o.beta2, eps = o.eps, wd = o.weight_decay;
  // The moments accumulate in double; the step itself is computed in T,
  // as PyTorch does for float parameters (a float square root and division
  // are twice as wide per instruction as double ones).
  const T step = static_cast<T>(lr / c1), inv_sqrt_c2 = static_cast<T>(1 / std::sqrt(c2));
  const T epsilon = static_cast<T>(eps), decay = static_cast<T>(lr * wd);
  for (size_t i = 0; i < n; ++i) {
    T p = params[i];
    double g = grad[i];
    if constexpr (!decoupled) g += wd * p;
    m[i] = b1 * m[i] + (1 - b1) * g;
    v[i] = b2 * v[i] + (1 - b2) * g * g;
    if constexpr (decoupled) p -= decay * p;
    p -= step * static_cast<T>(m[i]) / (std::sqrt(static_cast<T>(v[i])) * inv_sqrt_c2 + epsilon);
    params[i] = p;
  }
}

}  // namespace

template <class T>
void optimizer_step(std::vector<T>& params, const std::vector<T>& grad, double lr,
                    const OptimizerOptions& o, OptimizerState& s, ThreadPool* pool,
                    const std::vector<ParamRange>* ranges) {
  if (s.m.size() != params.size()) {
    s.m.assign(params.size(), 0);
    s.v.assign(params.size(), 0);
  }
  ++s.t;
  const double c1 = 1 - std::pow(o.beta1, double(s.t)), c2 = 1 - std::pow(o.beta2, double(s.t));
  auto* update = o.kind == OptimizerKind::adamw ? &adam_update<T, true> : &adam_update<T, false>;
  const std::vector<ParamRange> all = {{0, int64_t(params.size())}};
  const std::vector<ParamRange>& live = ranges ? *ranges : all;
  auto range = [&](int64_t b, int64_t e) {
    update(params.data() + b, grad.data() + b, s.m.data() + b, s.v.data() + b, size_t(e - b), lr,
           c1, c2, o);
  };
  // Threads pay off only for large models (a wake-up costs microseconds).
  constexpr int64_t kMinPerThread = 1 << 15;
  if (pool == nullptr || element_count(live) < kMinPerThread * pool->size()) {
    for (const ParamRange& r : live) range(r.begin, r.end);
    return;
  }
  pool->run([&](int t) { for_share(live, pool->size(), t, range); });
}

const char* to_string(OptimizerKind k) {
  return k == OptimizerKind::adam ? "adam" : "adamw";
}
const char* to_string(Schedule s) {
  return s == Schedule::constant ? "constant" : "cosine";
}

template double clip_gradient<float>(std::vector<float>&, double);
template double clip_gradient<double>(std::vector<double>&, double);
template void optimizer_step<float>(std::vector<float>&, const std::vector<float>&, double,
                                    const OptimizerOptions&, OptimizerState&, ThreadPool*,
                                    const std::vector<ParamRange>*);
template void optimizer_step<double>(std::vector<double>&, const std::vector<double>&, double,
                                     const OptimizerOptions&, OptimizerState&, ThreadPool*,
                                     const std::vector<ParamRange>*);

}  // namespace nfc

// Adam and AdamW (Kingma & Ba 2015; Loshchilov & Hutter 2019), the
// learning-rate schedules and gradient-norm clipping: the update half of
// training.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "runtime/ParamRanges.hpp"
#include "runtime/ThreadPool.hpp"

namespace nfc {

enum class OptimizerKind { adam, adamw };
enum class Schedule { constant, cosine };

struct OptimizerOptions {
  OptimizerKind kind = OptimizerKind::adam;
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  // adam: L2 penalty added to the gradient (PyTorch's Adam weight_decay);
  // adamw: decoupled decay p -= lr * weight_decay * p.
  double weight_decay = 0;
  Schedule schedule = Schedule::cosine;
  int64_t warmup_steps = 0;  // linear ramp from 0 to lr
  double clip_norm = 0;      // rescale gradients whose L2 norm exceeds this; 0 = off
};

// One of Adam's moments: a value per parameter, kept in the flow's
// precision as PyTorch keeps it (its Adam state has the parameters' dtype).
// The update streams every parameter's moments at every step: in float a
// float32 flow's update moves 28 bytes a parameter where double moments
// moved 44 (docs/bench.md, "Adam's moments in the flow's precision").
// A state read from a checkpoint holds the file's doubles until the first
// update converts them, exactly for moments that were float.
class Moments {
 public:
  Moments() = default;
  template <class T>
  explicit Moments(std::vector<T> values) : values_(std::move(values)) {}

  size_t size() const {
    return std::visit([](const auto& v) { return v.size(); }, values_);
  }
  bool empty() const { return size() == 0; }
  // f(values) with the values as the std::vector<float> or <double> they are.
  template <class F>
  decltype(auto) visit(F&& f) const {
    return std::visit(std::forward<F>(f), values_);
  }
  // The values as T, converted in place if they are held in the other
  // precision.
  template <class T>
  std::vector<T>& as() {
    if (auto* held = std::get_if<std::vector<T>>(&values_)) return *held;
    std::vector<T> converted;
    visit([&](const auto& v) { converted.assign(v.begin(), v.end()); });
    return values_.template emplace<std::vector<T>>(std::move(converted));
  }
  bool operator==(const Moments&) const = default;

 private:
  std::variant<std::vector<double>, std::vector<float>> values_;
};

struct OptimizerState {
  int64_t t = 0;  // updates taken (Adam's bias-correction step)
  Moments m, v;
};

// The learning rate at `step` (0-based) of `total_steps`: constant, or a
// cosine decay from lr to 0 over the steps after warm-up.
double learning_rate(const OptimizerOptions& o, int64_t step, int64_t total_steps);

// Scales `grad` in place to L2 norm <= clip_norm (if set); returns the norm
// before clipping.
template <class T>
double clip_gradient(std::vector<T>& grad, double clip_norm);

// One Adam/AdamW update of `params` with `grad` at learning rate `lr`,
// split over `pool`'s threads when given (each parameter's update is
// independent, so the result does not depend on the thread count). Only
// the parameters in `ranges` change (null: all; Flow::trained_ranges leaves
// out a target's data tables and the structural zeros).
template <class T>
void optimizer_step(std::vector<T>& params, const std::vector<T>& grad, double lr,
                    const OptimizerOptions& o, OptimizerState& s, ThreadPool* pool = nullptr,
                    const std::vector<ParamRange>* ranges = nullptr);

const char* to_string(OptimizerKind k);
const char* to_string(Schedule s);

}  // namespace nfc

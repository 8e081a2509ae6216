// The training loop.
#include "runtime/Trainer.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <string>

#include "runtime/DataError.hpp"
#include "runtime/Dequantize.hpp"
#include "runtime/KeptRanges.hpp"
#include "runtime/NonFinite.hpp"
#include "runtime/Random.hpp"

namespace nfc {

namespace {

// Fisher-Yates with the runtime's generator: the same order on every machine.
std::vector<int64_t> shuffled(int64_t n, uint64_t seed) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  Random rng(seed);
  for (int64_t i = n - 1; i > 0; --i)
    std::swap(order[size_t(i)], order[size_t(rng.next() % uint64_t(i + 1))]);
  return order;
}

// Rows held out for validation: at least none, at most all but one.
int64_t validation_rows(int64_t n, double val_frac) {
  return std::clamp<int64_t>(std::llround(val_frac * double(n)), 0, n - 1);
}

}  // namespace

int64_t steps_per_epoch(int64_t n, const TrainOptions& o) {
  const int64_t train = n - validation_rows(n, o.val_frac);
  return std::max<int64_t>(1, train / std::clamp<int64_t>(o.batch, 1, train));
}

ValidationPlan default_validation(int64_t n, const TrainOptions& o) {
  const int64_t every = std::clamp<int64_t>(10 * steps_per_epoch(n, o), 10, 100);
  return {every, every < 100 ? 20 : 0};
}

std::string train_options_problem(const TrainOptions& o) {
  auto check = [](const char* name, double value, const NumberBound& bound) -> std::string {
    if (bound.admits(value)) return {};
    return fmt::format("{} is {}, not {}", name, value, bound.describe());
  };
  namespace b = train_bounds;
  for (std::string problem :
       {check("steps", double(o.steps), b::steps), check("batch", double(o.batch), b::batch),
        check("val_frac", o.val_frac, b::val_frac),
        check("eval_every", double(o.eval_every), b::eval_every),
        check("patience", double(o.patience), b::patience),
        check("max_bad_steps", double(o.max_bad_steps), b::max_bad_steps),
        check("lr", o.optimizer.lr, b::lr),
        check("weight_decay", o.optimizer.weight_decay, b::weight_decay),
        check("warmup_steps", double(o.optimizer.warmup_steps), b::warmup_steps),
        check("clip_norm", o.optimizer.clip_norm, b::clip_norm),
        check("eval_samples", double(o.eval_samples), b::eval_samples)})
    if (!problem.empty()) return problem;
  return {};
}

VariationalStats variational_stats(const std::vector<double>& log_w) {
  VariationalStats v;
  const double m = double(log_w.size());
  double top = -INFINITY, mean = 0;
  for (double l : log_w) {
    if (!std::isfinite(l)) return {l, l, NAN, NAN};  // NaN or -inf: every estimate is
    top = std::max(top, l);
    mean += l;
  }
  v.elbo = mean / m;
  // Weights relative to the largest: w_i = exp(l_i - top) in (0, 1].
  double sum = 0, sum_sq = 0;
  for (double l : log_w) {
    const double w = std::exp(l - top);
    sum += w;
    sum_sq += w * w;
  }
  const double w_mean = sum / m;
  v.log_z = top + std::log(w_mean);
  // se(log Zhat) = se(mean w) / mean w, se(mean w)^2 = sample variance / M.
  const double var = std::max(0.0, (sum_sq - m * w_mean * w_mean) / (m - 1));
  v.log_z_se = std::sqrt(var / m) / w_mean;
  v.ess = sum * sum / (m * sum_sq);
  return v;
}

template <class T>
void Trainer<T>::check_parameters() {
  for (const ParamTensor& p : flow_.param_table()) keeps_ranges_ = keeps_ranges_ || p.kept();
  if (const std::string problem = kept_range_problem(flow_.param_table(), flow_.params().data());
      !problem.empty())
    throw DataError("parameters: " + problem);
  batch_.resize(size_t(o_.batch * dim_));
  grad_.resize(flow_.params().size());
}

template <class T>
Trainer<T>::Trainer(Flow<T>& flow, TrainOptions o)
    : flow_(flow), o_(o), dim_(flow.dim()), variational_(true) {
  if (const std::string problem = train_options_problem(o_); !problem.empty())
    throw DataError("training options: " + problem);
  if (!flow.has_target())
    throw DataError("variational training: the flow was compiled without a target");
  o_.data_init = false;  // no data: ActNorm layers start at the identity
  check_parameters();
}

template <class T>
VariationalStats Trainer<T>::variational_stats() const {
  // The same draws at every evaluation: a fixed seed apart from training's.
  const typename Flow<T>::Samples s =
      flow_.sample(o_.eval_samples, o_.seed * 0x2545f4914f6cdd1dULL + 0xe7a1);
  std::vector<T> log_p(size_t(o_.eval_samples));
  flow_.target_log_prob(s.x.data(), log_p.data(), o_.eval_samples);
  std::vector<double> log_w(log_p.size());
  for (size_t i = 0; i < log_w.size(); ++i) log_w[i] = double(log_p[i]) - double(s.log_prob[i]);
  return nfc::variational_stats(log_w);
}

namespace {

// The C++ API's rows as a table in the training precision, after checking
// they are the n rows they claim to be.
template <class T>
RowTable training_table(const std::vector<double>& rows, int64_t n, int dim) {
  if (n < 1) throw DataError("training data: no rows");
  if (rows.size() != size_t(n) * size_t(dim))
    throw DataError(
        fmt::format("training data: {} values are not {} rows of {}", rows.size(), n, dim));
  return RowTable(n, dim, std::vector<T>(rows.begin(), rows.end()));
}

}  // namespace

template <class T>
Trainer<T>::Trainer(Flow<T>& flow, const std::vector<double>& rows, int64_t n, TrainOptions o)
    : Trainer(flow, training_table<T>(rows, n, flow.row_dim()), o) {}

template <class T>
Trainer<T>::Trainer(Flow<T>& flow, RowTable rows, TrainOptions o)
    : Trainer(flow, std::move(rows), RowTable(), o) {}

template <class T>
Trainer<T>::Trainer(Flow<T>& flow, RowTable rows, RowTable validation, TrainOptions o)
    : flow_(flow),
      o_(o),
      dim_(flow.row_dim()),
      data_(std::move(rows)),
      val_(std::move(validation)) {
  // Checked for every caller: the CLI has checked its flags and files
  // already, a host program of the C++ API has not.
  if (const std::string problem = train_options_problem(o_); !problem.empty())
    throw DataError("training options: " + problem);
  int64_t n = data_.rows;
  shard_ = {0, n};
  if (grouped()) {  // data_ is this rank's shard of group_rows rows
    n = o_.group_rows;
    if (n < o_.group->size())
      throw DataError(fmt::format(
          "training data: {} rows for {} processes; each needs one at least", n, o_.group->size()));
    shard_ = shard_of(n, o_.group->rank(), o_.group->size());
    if (data_.rows != shard_.end - shard_.first)
      throw DataError(fmt::format("training data: a shard of {} rows where rank {} holds {}",
                                  data_.rows, o_.group->rank(), shard_.end - shard_.first));
  }
  check_table(data_, "training data");
  if (val_.rows > 0) {  // the given rows validate; none of data_ is held out
    if (grouped()) throw DataError("validation data: a group validates on held-out rows only");
    check_table(val_, "validation data");
    split_.resize(size_t(n));
    for (int64_t i = 0; i < n; ++i) split_[size_t(i)] = i;
    n_val_ = val_.rows;
    n_train_ = n;
  } else {
    split_ = shuffled(n, o_.seed ^ 0x5eed5b1175ULL);
    held_out_ = n_val_ = validation_rows(n, o_.val_frac);
    n_train_ = n - n_val_;
  }
  o_.batch = std::clamp<int64_t>(o_.batch, 1, n_train_);
  check_parameters();
}

template <class T>
void Trainer<T>::check_table(const RowTable& t, const char* what) const {
  if (t.rows < 1 && t.first_row() == 0) throw DataError(fmt::format("{}: no rows", what));
  if (t.cols != dim_)
    throw DataError(
        fmt::format("{}: rows of {} values, the flow's rows have {}", what, t.cols, dim_));
  if (const std::string where = first_non_finite(t); !where.empty())
    throw DataError(fmt::format("{}: {}", what, where));
  const int levels = flow_.format().levels;
  if (levels > 0) {  // the support is judged on the dequantised rows, in (0, L)
    if (const std::string where = first_non_level(t, flow_.dim(), levels); !where.empty())
      throw DataError(
          fmt::format("{}: {} (the model's 'dequantize(levels = {})')", what, where, levels));
  } else if (const std::string outside = outside_support_message(
                 rows_outside(flow_.support(), t), fmt::format("the {}", what), flow_.support());
             !outside.empty()) {
    throw DataError(outside);
  }
}

template <class T>
void Trainer<T>::fill_batch(int64_t step) {
  batch_rows_ = o_.batch;
  if (variational_) {  // fresh noise, a pure function of (seed, step)
    Random rng(o_.seed * 0x9e3779b97f4a7c15ULL + uint64_t(step) * 0xbf58476d1ce4e5b9ULL + 7);
    flow_.draw_noise(o_.batch, rng, batch_.data());
    if (grouped()) {  // this rank's contiguous share of the noise rows
      const Shard part = shard_of(o_.batch, o_.group->rank(), o_.group->size());
      std::copy(batch_.begin() + part.first * dim_, batch_.begin() + part.end * dim_,
                batch_.begin());
      batch_rows_ = part.end - part.first;
    }
    return;
  }
  const int64_t per_epoch = n_train_ / o_.batch;
  const int64_t epoch = step / per_epoch, first = (step % per_epoch) * o_.batch;
  if (epoch != order_epoch_) {
    order_ = shuffled(n_train_, o_.seed * 0x9e3779b97f4a7c15ULL + uint64_t(epoch) + 1);
    order_epoch_ = epoch;
  }
  positions_.clear();
  int64_t rows = 0;
  for (int64_t r = 0; r < o_.batch; ++r) {
    const int64_t row = split_[size_t(held_out_ + order_[size_t(first + r)])];
    if (row < shard_.first || row >= shard_.end) continue;  // another rank's
    data_.read_rows(row - shard_.first, 1, &batch_[size_t(rows * dim_)]);
    positions_.push_back(r);
    ++rows;
  }
  batch_rows_ = rows;
  if (flow_.format().dequantized()) {  // fresh noise, a pure function of (seed, step)
    Random rng(o_.seed * 0x94d049bb133111ebULL + uint64_t(step) * 0x9e3779b97f4a7c15ULL + 3);
    add_dequantization_noise(batch_.data(), rows, dim_, flow_.dim(), rng,
                             grouped() ? positions_.data() : nullptr, o_.batch);
  }
}

template <class T>
double Trainer<T>::batch_gradient(bool& stop) {
  auto local = [&](int64_t n) -> double {
    if (n == 0) {  // none of the batch is in this shard
      std::fill(grad_.begin(), grad_.end(), T(0));
      return 0;
    }
    return variational_ ? flow_.kl_grad(batch_.data(), n, grad_.data())
                        : flow_.nll_grad(batch_.data(), n, grad_.data());
  };
  if (!grouped()) {
    stop = false;
    return local(o_.batch);
  }
  // Sums of the shares' means weighted by their rows, then / batch: the
  // batch mean, as threads combine their slices.
  const double loss = local(batch_rows_), w = double(batch_rows_);
  const size_t P = grad_.size();
  fused_.resize(P + 2);
  for (size_t i = 0; i < P; ++i) fused_[i] = w == 0 ? 0.0 : double(grad_[i]) * w;
  fused_[P] = w == 0 ? 0.0 : loss * w;
  fused_[P + 1] = stop ? 1 : 0;
  const auto start = std::chrono::steady_clock::now();
  o_.group->sum(fused_.data(), int64_t(P + 2));
  communication_seconds_ +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double B = double(o_.batch);
  for (size_t i = 0; i < P; ++i) grad_[i] = static_cast<T>(fused_[i] / B);
  stop = fused_[P + 1] > 0;
  return fused_[P] / B;
}

template <class T>
std::vector<T> Trainer<T>::whole_first_batch() {
  fill_batch(0);
  if (!grouped()) return {batch_.begin(), batch_.begin() + o_.batch * dim_};
  // Each rank adds its rows at their positions to zeros: the sum is the
  // batch, exactly.
  std::vector<double> whole(size_t(o_.batch * dim_), 0.0);
  for (int64_t i = 0; i < batch_rows_; ++i)
    for (int k = 0; k < dim_; ++k)
      whole[size_t(positions_[size_t(i)] * dim_ + k)] = double(batch_[size_t(i * dim_ + k)]);
  o_.group->sum(whole.data(), int64_t(whole.size()));
  return {whole.begin(), whole.end()};
}

template <class T>
double Trainer<T>::validation_nll() const {
  if (variational_) return -variational_stats().elbo;
  if (n_val_ == 0) return std::numeric_limits<double>::quiet_NaN();
  // In blocks read from the table, not a copy of every validation row; a
  // dequantised flow's noise is one fixed draw, the same at every
  // evaluation: evaluations compare parameters.
  // With a group each rank takes the validation rows of its shard, and the
  // sum of their NLLs is summed over the group.
  constexpr int64_t kBlock = 4096;
  Random rng(o_.seed * 0xd1b54a32d192ed03ULL + 0xde9);
  std::vector<T> rows(size_t(std::min(kBlock, n_val_) * dim_)),
      lp(size_t(std::min(kBlock, n_val_)));
  std::vector<int64_t> ours;
  double sum = 0;
  for (int64_t first = 0; first < n_val_; first += kBlock) {
    const int64_t n = std::min(kBlock, n_val_ - first);
    int64_t m = 0;
    ours.clear();
    if (val_.rows > 0) {
      val_.read_rows(first, n, rows.data());
      m = n;
    } else {
      for (int64_t r = 0; r < n; ++r) {
        const int64_t row = split_[size_t(first + r)];
        if (row < shard_.first || row >= shard_.end) continue;
        data_.read_rows(row - shard_.first, 1, &rows[size_t(m++ * dim_)]);
        ours.push_back(r);
      }
    }
    if (flow_.format().dequantized())
      add_dequantization_noise(rows.data(), m, dim_, flow_.dim(), rng,
                               grouped() ? ours.data() : nullptr, n);
    flow_.log_prob(rows.data(), lp.data(), m);
    for (int64_t r = 0; r < m; ++r) sum -= lp[size_t(r)];
  }
  if (grouped()) o_.group->sum(&sum, 1);
  return sum / double(n_val_);
}

// Records the steps since the last record, validates, keeps the best
// parameters. Returns false when training should stop.
template <class T>
bool Trainer<T>::evaluate(TrainState& s, double lr,
                          const std::function<bool(const TrainEvent&)>& cb, bool& asked) {
  TrainRecord rec;
  rec.step = s.step;
  rec.train_nll = s.running_count ? s.running_loss / double(s.running_count)
                                  : std::numeric_limits<double>::quiet_NaN();
  if (variational_) {
    rec.variational = variational_stats();
    rec.val_nll = -rec.variational.elbo;
  } else {
    rec.val_nll = validation_nll();
  }
  rec.lr = lr;
  s.running_loss = 0;
  s.running_count = 0;
  s.history.push_back(rec);
  if (validates()) {
    if (rec.val_nll < s.best_val) {
      s.best_val = rec.val_nll;
      s.best_step = s.step;
      s.best_params.assign(flow_.params().begin(), flow_.params().end());
      s.evals_since_best = 0;
    } else {
      ++s.evals_since_best;
    }
  }
  asked = cb({TrainEvent::Kind::evaluation, s.step, o_.steps, rec.train_nll, rec.val_nll, lr, s}) &&
          asked;
  bool go_on = true;
  // A validation NLL of -inf is an infinite density at a data point: the
  // flow has collapsed onto it (duplicated rows, a discrete column), and
  // nothing after this step is a fit. Stop and say so (result_problem).
  if (std::isinf(rec.val_nll) && rec.val_nll < 0) {
    s.diverged = true;
    go_on = false;
  }
  if (o_.patience > 0 && s.evals_since_best >= o_.patience) {
    s.stopped_early = true;
    go_on = false;
  }
  return go_on;
}

template <class T>
void Trainer<T>::run(TrainState& s, const std::function<bool(const TrainEvent&)>& cb) {
  auto& params = flow_.params();
  double lr = learning_rate(o_.optimizer, s.step, o_.steps);
  bool go_on = !s.finished;
  if (s.step == 0 && o_.data_init) {
    const std::vector<T> first = whole_first_batch();
    flow_.init_from_data(first.data(), o_.batch);
  }
  stop_vote_ = false;
  while (go_on && s.step < o_.steps) {
    lr = learning_rate(o_.optimizer, s.step, o_.steps) * s.lr_scale;
    fill_batch(s.step);
    bool stop = stop_vote_;
    const double loss = batch_gradient(stop);
    // A group stops together: a callback's stop (Ctrl-C on some ranks)
    // is voted in the next step's sum, and that step is not taken.
    if (stop) break;
    if (s.step == 0) s.initial_loss = loss;
    // The whole gradient, split over the flow's threads (a 784-D MAF's 48
    // MB: 1.8-2.3 ms on one thread, 1.1 ms on two). Not only its trained
    // ranges: half the values of a MAF, but one piece per weight row, and
    // reading those pieces took longer than the whole (3.4-3.7 ms, 1 thread).
    if (std::isfinite(loss) && all_finite(grad_.data(), int64_t(grad_.size()), flow_.pool())) {
      if (o_.optimizer.clip_norm > 0) clip_gradient(grad_, o_.optimizer.clip_norm);
      const std::vector<T> before =
          keeps_ranges_ ? kept_values(flow_.param_table(), params.data()) : std::vector<T>{};
      optimizer_step(params, grad_, lr, o_.optimizer, s.optimizer, flow_.pool(),
                     &flow_.trained_ranges());
      if (keeps_ranges_) hold_kept_ranges(flow_.param_table(), params.data(), before, held_);
      s.running_loss += loss;
      ++s.running_count;
      s.bad_in_a_row = 0;
    } else {
      // Parameters untouched: a bad batch cannot poison them. A smaller
      // step size is the usual cure for a divergence, so halve it.
      if (variational_ && first_bad_point_.empty()) first_bad_point_ = bad_point(s.step);
      ++s.skipped_steps;
      ++s.bad_in_a_row;
      s.lr_scale *= 0.5;
    }
    ++s.step;
    if (s.bad_in_a_row >= o_.max_bad_steps) {
      s.diverged = true;
      break;
    }
    bool asked = cb({TrainEvent::Kind::step, s.step, o_.steps, loss, NAN, lr, s});
    // Evaluations stop on values every rank shares (patience, a collapse).
    if (s.step % o_.eval_every == 0 || s.step == o_.steps) go_on = evaluate(s, lr, cb, asked);
    if (grouped())
      stop_vote_ = !asked;  // said at the next step's sum
    else
      go_on = go_on && asked;
  }
  if (s.step >= o_.steps || s.stopped_early || s.diverged) {
    s.finished = true;
    s.diverged = s.diverged || !result_problem(s).empty();
    if (!s.best_params.empty())
      for (size_t i = 0; i < params.size(); ++i) params[i] = static_cast<T>(s.best_params[i]);
  }
  cb({TrainEvent::Kind::done, s.step, o_.steps, NAN, s.best_val, lr, s});
}

namespace {

template <class T>
std::string point_text(const T* x, int dim) {
  std::string out = "(";
  for (int k = 0; k < dim; ++k) out += fmt::format("{}{:.6g}", k ? ", " : "", double(x[k]));
  return out + ")";
}

}  // namespace

// The batch's first sample where the target or the flow is not finite.
template <class T>
std::string Trainer<T>::bad_point(int64_t step) const {
  const std::vector<T> x = flow_.samples_of_noise(batch_.data(), batch_rows_);
  std::vector<T> log_p(static_cast<size_t>(batch_rows_));
  flow_.target_log_prob(x.data(), log_p.data(), batch_rows_);
  for (int64_t i = 0; i < batch_rows_; ++i) {
    const T* xi = &x[size_t(i * dim_)];
    bool finite_x = true;
    for (int k = 0; k < dim_; ++k) finite_x = finite_x && std::isfinite(xi[k]);
    if (!finite_x)
      return fmt::format("at step {} the flow maps base noise to x = {}", step + 1,
                         point_text(xi, dim_));
    if (!std::isfinite(log_p[size_t(i)]))
      return fmt::format("at step {} the target's log-density is {} at x = {}", step + 1,
                         double(log_p[size_t(i)]), point_text(xi, dim_));
  }
  return fmt::format(
      "at step {} the loss or its gradient is not finite, though the target is "
      "finite at every sample",
      step + 1);
}

template <class T>
std::string Trainer<T>::result_problem(const TrainState& s) const {
  if (s.history.empty()) return {};
  const bool validated = validates();
  const double result = !validated         ? s.history.back().train_nll
                        : s.best_step >= 0 ? s.best_val
                                           : s.history.back().val_nll;
  const char* what = variational_       ? "the best -ELBO"
                     : !validated       ? "the final training NLL"
                     : s.best_step >= 0 ? "the best validation NLL"
                                        : "the last validation NLL";
  if (!std::isfinite(result)) return fmt::format("{} is {}", what, result);
  // A hundred times the loss's own scale above where it started: no
  // learning-rate schedule or noisy batch gets there from a working run.
  const double start = s.initial_loss;
  if (std::isfinite(start) && result > start + 100 * std::max(1.0, std::abs(start)))
    return fmt::format("{} is {:.4g}, orders of magnitude above the first step's {:.4g}", what,
                       result, start);
  return {};
}

namespace {

std::string out_of_range(const char* field, int64_t value, int64_t lo, int64_t hi) {
  if (value >= lo && value <= hi) return {};
  return fmt::format("field '{}' is {}, not in {}..{}", field, value, lo, hi);
}

template <class V>
std::string non_finite(const char* field, const V& values) {
  for (size_t i = 0; i < values.size(); ++i)
    if (!std::isfinite(values[i]))
      return fmt::format("field '{}' has a non-finite value at {}", field, i);
  return {};
}

std::string history_problem(const std::vector<TrainRecord>& history, int64_t step,
                            int64_t eval_every) {
  if (int64_t(history.size()) > step / eval_every + 1)  // one per eval_every, one at the end
    return fmt::format("field 'history' has {} records, more than {} steps make", history.size(),
                       step);
  int64_t last = 0;
  for (size_t i = 0; i < history.size(); ++i) {
    const TrainRecord& r = history[i];
    if (r.step <= last || r.step > step)
      return fmt::format("field 'history' record {} is at step {}, after {} and by {} expected", i,
                         r.step, last, step);
    if (std::isinf(r.train_nll) || !std::isfinite(r.lr) || r.lr < 0)
      return fmt::format("field 'history' record {} has a train NLL or lr out of range", i);
    last = r.step;
  }
  return {};
}

}  // namespace

template <class T>
std::string Trainer<T>::state_problem(const TrainState& s) const {
  const size_t n_params = flow_.params().size();
  std::vector<std::string> problems = {
      out_of_range("step", s.step, 0, o_.steps),
      out_of_range("skipped_steps", s.skipped_steps, 0, s.step),
      out_of_range("bad_in_a_row", s.bad_in_a_row, 0, std::min(s.skipped_steps, o_.max_bad_steps)),
      // Each applied step advances Adam's counter, each skipped one does not.
      out_of_range("adam_t", s.optimizer.t, s.step - s.skipped_steps, s.step - s.skipped_steps),
      out_of_range("running_count", s.running_count, 0, std::min(s.step, o_.eval_every)),
      out_of_range("evals_since_best", s.evals_since_best, 0, int64_t(s.history.size())),
      // -1 until a validation improves; never at step 0, which is not validated
      s.best_step == -1 ? "" : out_of_range("best_step", s.best_step, 1, validates() ? s.step : -1),
      history_problem(s.history, s.step, o_.eval_every), non_finite("params", flow_.params()),
      s.optimizer.m.visit([](const auto& m) { return non_finite("adam.m", m); }),
      s.optimizer.v.visit([](const auto& v) { return non_finite("adam.v", v); }),
      non_finite("best_params", s.best_params)};
  for (std::string& p : problems)
    if (!p.empty()) return p;
  // Each skipped step halved the rate: exactly 2^-skipped_steps.
  if (s.lr_scale != std::ldexp(1.0, -static_cast<int>(std::min<int64_t>(s.skipped_steps, 2000))))
    return fmt::format("field 'lr_scale' is {}, but {} skipped steps make it 2^-{}", s.lr_scale,
                       s.skipped_steps, s.skipped_steps);
  if (!std::isfinite(s.running_loss)) return "field 'running_loss' is not finite";
  if ((s.optimizer.t > 0) != !s.optimizer.m.empty() || s.optimizer.m.size() != s.optimizer.v.size())
    return "fields 'adam.m' and 'adam.v' do not match 'adam_t'";
  const bool negative = s.optimizer.v.visit(
      [](const auto& v) { return std::any_of(v.begin(), v.end(), [](auto x) { return x < 0; }); });
  if (negative) return "field 'adam.v' has a negative value (a second moment is >= 0)";
  if (s.best_step >= 0) {
    if (s.best_params.size() != n_params)
      return "field 'best_step' is set but there are no 'best_params'";
    if (!std::isfinite(s.best_val)) return "field 'best_val' is not finite at a best step";
  } else if (!s.best_params.empty() || !std::isinf(s.best_val) || s.best_val < 0) {
    return "fields 'best_params' and 'best_val' are set without a 'best_step'";
  }
  return {};
}

template <class T>
std::vector<std::string> Trainer<T>::held_range_notes() const {
  return nfc::held_range_notes(flow_.param_table(), held_);
}

template class Trainer<float>;
template class Trainer<double>;

}  // namespace nfc

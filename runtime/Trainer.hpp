// The training loop: a seeded train/validation split, shuffled minibatches,
// the compiled nll_grad entry point, an Adam/AdamW step, periodic
// validation with the best parameters kept, and early stopping.
//
// Determinism: the split depends on the seed only, and the batch at step s
// on (seed, s) only (epoch e = s / batches_per_epoch is shuffled by a
// generator seeded from (seed, e)). So a run resumed from a TrainState
// saved at step s continues exactly as the uninterrupted run would, and the
// same seed on the same machine gives bit-identical parameters.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "runtime/Communicator.hpp"
#include "runtime/Flow.hpp"
#include "runtime/NumberBound.hpp"
#include "runtime/Optimizer.hpp"
#include "runtime/RowTable.hpp"

namespace nfc {

struct TrainOptions {
  int64_t steps = 2000;
  int64_t batch = 256;
  double val_frac = 0.1;     // share of rows held out for validation (0 = none)
  int64_t eval_every = 100;  // steps between validations (and history records)
  int64_t patience = 0;      // validations without improvement before stopping; 0 = never
  // A step whose loss or gradient is not finite is skipped (parameters
  // untouched) and halves the learning rate from then on; this many such
  // steps in a row end training as diverged.
  int64_t max_bad_steps = 10;
  uint64_t seed = 0;
  // A fresh run (state at step 0) first initialises the flow's ActNorm
  // layers from the first training batch (Flow::init_from_data); a resumed
  // run does not, its parameters are already trained.
  bool data_init = true;
  // Variational training: noise rows drawn per evaluation to estimate the
  // ELBO, log Z and the effective sample size (the same draws each time, so
  // evaluations compare parameters, not luck).
  int64_t eval_samples = 4096;
  OptimizerOptions optimizer;
  // Data-parallel training (nfc train under mpirun; null: one process).
  // Each rank holds its shard of the rows (shard_of) and reads no other;
  // the batch at each step is the one a single process would draw, each
  // rank computes the gradient of the batch rows in its shard, and one sum
  // over the group per step (gradient, loss, stop votes: one buffer, f64)
  // gives every rank the same mean gradient, so every rank takes the same
  // step. With the same seed and batch the parameters are those of one
  // process up to the rounding of the gradient's summation order.
  Communicator* group = nullptr;
  // With a group: the rows of the whole data set, of which the trainer's
  // table holds this rank's shard (shard_of) only.
  int64_t group_rows = 0;
};

// The values each option may take (NumberBound.hpp: the CLI checks its
// flags against the same ones).
namespace train_bounds {
inline constexpr double kInf = std::numeric_limits<double>::infinity();
inline constexpr NumberBound steps{1, kInf, false, true};
inline constexpr NumberBound batch{1, kInf, false, true};
inline constexpr NumberBound val_frac{0, 0.9};
inline constexpr NumberBound eval_every{1, kInf, false, true};
inline constexpr NumberBound patience{0, kInf, false, true};
inline constexpr NumberBound max_bad_steps{1, kInf, false, true};
inline constexpr NumberBound lr{0, kInf, true};
inline constexpr NumberBound weight_decay{0, kInf};
inline constexpr NumberBound warmup_steps{0, kInf, false, true};
inline constexpr NumberBound clip_norm{0, kInf};  // 0 = off
inline constexpr NumberBound eval_samples{2, kInf, false, true};
}  // namespace train_bounds

// Why `o` cannot train: "batch is 0, not an integer of at least 1"; empty
// if every option lies in its bound. Names are TrainOptions' fields.
std::string train_options_problem(const TrainOptions& o);

// What a variational evaluation estimates from M draws x_i ~ q with
// importance weights w_i = p~(x_i) / q(x_i): the ELBO mean(log w), log Z =
// log mean(w) with the delta-method standard error of that mean, and the
// effective sample size (sum w)^2 / sum w^2 as a share of M.
struct VariationalStats {
  double elbo = std::numeric_limits<double>::quiet_NaN();
  double log_z = std::numeric_limits<double>::quiet_NaN();
  double log_z_se = std::numeric_limits<double>::quiet_NaN();
  double ess = std::numeric_limits<double>::quiet_NaN();  // ESS / M, in (0, 1]
};

// The statistics of log-weights `log_w` (M values; any non-finite one makes
// every estimate non-finite: the fit puts mass where the target has none).
VariationalStats variational_stats(const std::vector<double>& log_w);

struct TrainRecord {
  int64_t step = 0;
  double train_nll = 0;  // mean training loss over the steps since the last record
  // NaN without a validation set; variational training: -ELBO on the
  // evaluation draws
  double val_nll = std::numeric_limits<double>::quiet_NaN();
  double lr = 0;
  VariationalStats variational;  // variational training only
};

// Everything needed to continue a run exactly (saved beside checkpoints).
struct TrainState {
  int64_t step = 0;
  OptimizerState optimizer;
  std::vector<double> best_params;  // empty until the first validation
  double best_val = std::numeric_limits<double>::infinity();
  int64_t best_step = -1;
  int64_t evals_since_best = 0;
  int64_t skipped_steps = 0;  // steps whose loss or gradient was not finite
  int64_t bad_in_a_row = 0;   // consecutive such steps
  double lr_scale = 1;        // halved by each such step
  // max_bad_steps in a row (training stopped at `step`), or a result that is
  // no fit (Trainer::result_problem)
  bool diverged = false;
  // The first step's training loss (NaN if not finite): the yardstick a
  // blown-up result is measured against.
  double initial_loss = std::numeric_limits<double>::quiet_NaN();
  double running_loss = 0;  // sum of losses since the last record
  int64_t running_count = 0;
  bool stopped_early = false;
  bool finished = false;
  std::vector<TrainRecord> history;
};

struct TrainEvent {
  enum class Kind { step, evaluation, done };
  Kind kind;
  int64_t step;   // steps completed
  int64_t total;  // steps planned
  double loss;    // this step's (step) or the record's mean (evaluation) training NLL
  double val_nll;
  double lr;
  const TrainState& state;
};

// Minibatches per pass over the training rows of an n-row dataset.
int64_t steps_per_epoch(int64_t n, const TrainOptions& o);

// Validation for an n-row data set when the user chose none: every 10
// epochs, but at least every 100 steps and at most every 10; and when that
// is sooner than every 100 steps (a small data set, which overfits within
// a few hundred steps) early stopping after 20 validations without
// improvement. With a fixed 100 steps and no patience, 10 of 12 flows on
// iris/wine/cancer/digits kept their first validation as the best.
struct ValidationPlan {
  int64_t eval_every;
  int64_t patience;
};
ValidationPlan default_validation(int64_t n, const TrainOptions& o);

template <class T>
class Trainer {
 public:
  // `rows` is row-major [n, flow.row_dim()], n >= 1, every value finite.
  // Throws DataError for bad options (train_options_problem) or data.
  // The rows are copied once, in the flow's precision.
  Trainer(Flow<T>& flow, const std::vector<double>& rows, int64_t n, TrainOptions options);
  // The same for a table the trainer shares rather than copies (a mapped
  // .npy file, a decompressed IDX file: load_dataset); each batch is read
  // from it.
  Trainer(Flow<T>& flow, RowTable rows, TrainOptions options);
  // The same with a validation set of its own (options.val_frac unused):
  // every row of `rows` trains, `validation` (checked as the training rows
  // are) is what evaluations measure.
  Trainer(Flow<T>& flow, RowTable rows, RowTable validation, TrainOptions options);
  // Variational training of a flow compiled with a target: each step's
  // batch is fresh base noise (a pure function of (seed, step)), the loss
  // the reverse KL up to log Z (kl_grad); evaluations estimate
  // VariationalStats and keep the parameters of the best ELBO.
  Trainer(Flow<T>& flow, TrainOptions options);
  bool variational() const { return variational_; }

  // The evaluation's statistics under the current parameters (variational).
  VariationalStats variational_stats() const;

  int64_t train_rows() const { return n_train_; }
  // With a group: the seconds this rank spent in the per-step sum of the
  // gradient, waiting for the slowest rank included (0 without a group).
  double communication_seconds() const { return communication_seconds_; }
  int64_t val_rows() const { return n_val_; }
  const TrainOptions& options() const { return o_; }

  // Runs from state.step to options.steps, or until early stopping or the
  // callback returns false. At the end the flow holds the best validated
  // parameters (or the last ones without a validation set).
  void run(TrainState& state, const std::function<bool(const TrainEvent&)>& on_event);

  // Why the run's result, finished or stopped, is not a fit: its NLL (best
  // validation, or last training record without a validation set) is not
  // finite, or lies orders of magnitude above the first step's loss
  // (--lr 1e3 reached 7e35). Empty if it is one, or there is no record yet.
  std::string result_problem(const TrainState& state) const;

  // Mean NLL of the validation rows under the flow's current parameters.
  double validation_nll() const;

  // Why `state` (read from disk for --resume) cannot be a state of this run:
  // "field 'step' is -5, not in 0..2000"; empty if every field is one this
  // run could have reached. The state decides memory indices and the
  // result, so nothing is trusted.
  std::string state_problem(const TrainState& state) const;

  // Parameters the trainer held in their kept range during this object's
  // runs (KeptRanges.hpp): "parameter 'layer0.a' was held positive at 12
  // steps (...)", one per tensor; empty if none had to be.
  std::vector<std::string> held_range_notes() const;

  // Variational training: where the first skipped step of this object's
  // runs went wrong, "at step 12 the target's log-density is nan at x =
  // (0.5, -3)"; empty if none was skipped.
  const std::string& first_bad_point() const { return first_bad_point_; }

 private:
  // The batch of `step` into batch_: all of it (batch_rows_ = o_.batch),
  // or with a group the rows of this rank's shard, at batch positions
  // positions_ (batch_rows_ of them).
  void fill_batch(int64_t step);
  // The mean loss and gradient (into grad_) of the batch, over the group:
  // the sum of every rank's share, with the stop votes (`stop`: this
  // rank's; returns whether any rank voted).
  double batch_gradient(bool& stop);
  // The whole batch of step 0 on every rank (ActNorm's initialisation).
  std::vector<T> whole_first_batch();
  bool grouped() const { return o_.group && o_.group->size() > 1; }
  void check_parameters();
  // Throws DataError("training data: ...") if t cannot be the flow's rows:
  // empty, another width, a non-finite value, a row off the support.
  void check_table(const RowTable& t, const char* what) const;
  // Whether evaluations keep the best parameters: a validation set, or
  // variational training's ELBO.
  bool validates() const { return n_val_ > 0 || variational_; }
  // Records and validates; `asked` becomes false if the callback says
  // stop. Returns false when training must stop on what every rank of a
  // group shares (patience, a collapse).
  bool evaluate(TrainState& state, double lr, const std::function<bool(const TrainEvent&)>& cb,
                bool& asked);

  Flow<T>& flow_;
  TrainOptions o_;
  int dim_;  // values per row: the flow's dim plus its context
  int64_t n_train_ = 0, n_val_ = 0;
  RowTable data_;
  RowTable val_;  // a validation set of its own; empty: held_out_ rows of data_
  int64_t held_out_ = 0;
  // Row indices of data_: the held-out validation rows first, then the
  // training rows.
  std::vector<int64_t> split_;
  std::vector<T> batch_, grad_;
  int64_t batch_rows_ = 0;
  std::vector<int64_t> positions_;  // with a group: the batch positions of batch_'s rows
  Shard shard_;                // the rows of the data set data_ holds (all of them without a group)
  std::vector<double> fused_;  // the one buffer summed over the group each step
  bool stop_vote_ = false;
  double communication_seconds_ = 0;  // a callback asked to stop: said at the next sum
  std::vector<int64_t> order_;        // the current epoch's shuffled row order
  int64_t order_epoch_ = -1;
  bool keeps_ranges_ = false;
  bool variational_ = false;
  std::string first_bad_point_;
  std::string bad_point(int64_t step) const;
  std::vector<int64_t> held_;  // per parameter tensor: steps that held it in its range
};

extern template class Trainer<float>;
extern template class Trainer<double>;

}  // namespace nfc

// `nfc train`: fit a flow to data, with checkpoints, resume, progress and
// metrics.
#include <fmt/format.h>
#include <fmt/ostream.h>

#include <chrono>
#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>

#include "runtime/Builtin.hpp"
#include "runtime/DataError.hpp"
#include "runtime/Trainer.hpp"
#include "runtime/io/AtomicFile.hpp"
#include "runtime/io/Fingerprint.hpp"
#include "runtime/io/OutputLock.hpp"
#include "tools/FlowIO.hpp"
#include "tools/Group.hpp"
#include "tools/Interrupt.hpp"
#include "tools/TrainProgress.hpp"

namespace nfc::cli {

namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

struct TrainCliOptions {
  ModelOptions model;
  std::string data;
  uint64_t data_seed = 0;
  int64_t data_rows = 10000;
  int64_t steps = 0, epochs = 0;
  TrainOptions train;
  std::string optimizer = "adam", schedule = "cosine";
  bool standardize = false;
  bool bits_per_dim = false;
  std::string context_file;  // conditional flows: the context of each data row
  std::string out = "params.safetensors";
  bool resume = false;
  std::string init_from;  // parameters to start from, a fresh optimiser
  std::string json;
  // Whether the user set them; otherwise default_validation chooses.
  CLI::Option* eval_every_given = nullptr;
  CLI::Option* patience_given = nullptr;
  bool quiet = false;
};

// The options that determine the run; a resumed run must use the same.
Json run_identity(const TrainCliOptions& o, const std::string& source_hash) {
  const auto& t = o.train;
  const auto& opt = t.optimizer;
  return {{"source_hash", source_hash},
          {"data", o.data},
          {"data_seed", o.data_seed},
          {"data_rows", o.data_rows},
          {"precision", o.model.precision},
          {"standardize", o.standardize},
          {"steps", t.steps},
          {"batch", t.batch},
          {"val_frac", t.val_frac},
          {"eval_every", t.eval_every},
          {"patience", t.patience},
          {"seed", t.seed},
          {"optimizer", o.optimizer},
          {"lr", opt.lr},
          {"weight_decay", opt.weight_decay},
          {"schedule", o.schedule},
          {"warmup", opt.warmup_steps},
          {"clip", opt.clip_norm},
          // Gradients are summed per thread: another count rounds otherwise,
          // and a resumed run would not end where the uninterrupted one does.
          {"threads", o.model.threads},
          {"init_from", o.init_from}};
}

std::string differing_keys(const Json& a, const Json& b) {
  std::vector<std::string> keys;
  for (const auto& [k, v] : a.items())
    if (!b.contains(k) || b.at(k) != v) keys.push_back(k);
  return fmt::format("{}", fmt::join(keys, ", "));
}

// The identity of a run of `m` with options `o`.
Json identity_of(const TrainCliOptions& o, const LoadedModel& m) {
  Json identity = run_identity(o, m.source_hash);
  if (!o.context_file.empty()) identity["context_file"] = o.context_file;
  if (!o.model.target.empty()) {  // (only then: state files of data training stay as they were)
    identity["target"] = o.model.target;
    identity["target_hash"] = m.target_hash;
    identity["eval_samples"] = o.train.eval_samples;
  }
  return identity;
}

// Ground truth for built-ins with an analytic density: KL(p_true || model)
// estimated on fresh samples the model never saw.
struct KlEstimator {
  Dataset rows;
  std::vector<double> log_true;

  // For a conditional flow rows are (x, c), the truth log p(x | c) and the
  // estimate the KL averaged over the contexts c of the held-out rows.
  static std::optional<KlEstimator> make(const TrainCliOptions& o, int dim, int context_dim) {
    if (!is_builtin(o.data)) return std::nullopt;
    auto truth = builtin_log_density(o.data.substr(8));
    if (!truth) return std::nullopt;
    KlEstimator k;
    // A seed disjoint from the training data's.
    k.rows = load_model_data(o.data, dim, o.data_seed + 0x6b1d0f5eULL, 20000, context_dim);
    k.rows.for_each_block([&](const double* values, int64_t, int64_t n) {
      for (int64_t i = 0; i < n; ++i)
        k.log_true.push_back((*truth)(&values[size_t(i * k.rows.cols)]));
      return true;
    });
    return k;
  }

  template <class T>
  double estimate(const ReadyFlow<T>& r) const {
    const auto lp = data_log_prob(r, rows);
    double kl = 0;
    for (size_t i = 0; i < lp.size(); ++i) kl += (log_true[i] - lp[i]) / double(lp.size());
    return kl;
  }
};

Json finite_or_null(double v) {
  return std::isfinite(v) ? Json(v) : Json();
}

Json stats_json(const VariationalStats& v) {
  return {{"elbo", finite_or_null(v.elbo)},
          {"log_z", finite_or_null(v.log_z)},
          {"log_z_se", finite_or_null(v.log_z_se)},
          {"ess_fraction", finite_or_null(v.ess)}};
}

template <class T>
std::vector<double> as_doubles(const std::vector<T>& v) {
  return {v.begin(), v.end()};
}

// Steps from --steps or --epochs, and validation from the data's size where
// the user chose none (said in a note: it changes what "best" means).
void plan_steps(TrainCliOptions& o, int64_t rows) {
  if (o.epochs > 0) o.train.steps = o.epochs * steps_per_epoch(rows, o.train);
  if (o.steps > 0) o.train.steps = o.steps;
  const ValidationPlan plan = default_validation(rows, o.train);
  const bool every_given = o.eval_every_given->count() > 0;
  const bool patience_given = o.patience_given->count() > 0;
  if (!every_given) o.train.eval_every = plan.eval_every;
  if (!patience_given) o.train.patience = plan.patience;
  if (plan.eval_every < 100 && !(every_given && patience_given) && speaks())
    fmt::print(std::cerr,
               "nfc: note: {} rows is a small data set: validating every {} steps, stopping "
               "after {} without improvement (--eval-every, --patience to choose)\n",
               rows, o.train.eval_every, o.train.patience);
}

// --init-from: a trained flow's parameters (and its standardisation) as the
// start of a new run with a fresh optimiser. ActNorm keeps its trained
// values rather than being set from the first batch.
template <class T>
void start_from(ReadyFlow<T>& r, TrainCliOptions& o) {
  const SavedParams saved =
      load_params(o.init_from, r.flow.param_table(), r.flow.dim(), r.flow.context_dim());
  if (saved.standardizer.has_value() != o.standardize)
    throw UserError(fmt::format("--init-from: {} was trained {} --standardize; train it {} too",
                                o.init_from, o.standardize ? "without" : "with",
                                o.standardize ? "without" : "with"));
  for (size_t i = 0; i < saved.values.size(); ++i)
    r.flow.params()[i] = static_cast<T>(saved.values[i]);
  r.standardizer = saved.standardizer;
  o.train.data_init = false;
}

// `--resume --steps N` with N above the saved run's steps continues it,
// finished or not. The cosine schedule then runs over N steps, so this is
// not bit-for-bit the run an N-step command would have been.
void extend(TrainState& state, int64_t steps, const std::string& state_file) {
  if (steps <= state.step)
    throw UserError(
        fmt::format("--resume: {} is at step {} already; --steps must be larger to "
                    "continue it",
                    state_file, state.step));
  if (speaks())
    fmt::print(std::cerr, "nfc: note: continuing the run of {} to {} steps\n", state_file, steps);
  state.finished = state.stopped_early = state.diverged = false;
  state.evals_since_best = 0;
}

// --resume: the state saved beside --out, which must be of a run with the
// same identity (or the same but for more steps: extend). Every rank of a
// group reads it (a file system they share).
template <class T>
TrainState resumed_state(ReadyFlow<T>& r, const Trainer<T>& run, const TrainCliOptions& o,
                         const Json& identity, const std::string& state_file) {
  ResumeInfo info = load_train_state(state_file, r.flow.params().size());
  Json saved = Json::parse(info.options_json);
  const bool longer = saved.contains("steps") && saved["steps"] != identity["steps"];
  if (longer) saved["steps"] = identity["steps"];  // continuing: checked below
  if (saved != identity)
    throw UserError(
        fmt::format("--resume: {} was written by a run with different settings ({}); "
                    "resume with the same ones",
                    state_file, differing_keys(identity, saved)));
  for (size_t i = 0; i < info.current_params.size(); ++i)
    r.flow.params()[i] = static_cast<T>(info.current_params[i]);
  TrainState state = std::move(info.state);
  if (longer) extend(state, o.train.steps, state_file);
  if (const std::string problem = run.state_problem(state); !problem.empty())
    throw DataError(fmt::format("--resume: {}: {}", state_file, problem));
  if (speaks()) fmt::print(std::cerr, "resuming from step {} ({})\n", state.step, state_file);
  return state;
}

// Before any work: --out is ours alone (a second run on it is refused),
// every output can be written, and temporaries of killed runs are gone.
OutputLock claim_outputs(const TrainCliOptions& o) {
  check_writable(o.out);  // first: a missing directory is named as --out's
  OutputLock lock(o.out);
  std::vector<std::string> outputs = {o.out, state_path(o.out)};
  if (!o.json.empty()) outputs.push_back(o.json);
  for (const std::string& path : outputs) {
    remove_stale_temporaries(path);
    check_writable(path);
  }
  return lock;
}

void set_optimizer(TrainCliOptions& o) {
  o.train.optimizer.kind = o.optimizer == "adamw" ? OptimizerKind::adamw : OptimizerKind::adam;
  o.train.optimizer.schedule = o.schedule == "constant" ? Schedule::constant : Schedule::cosine;
}

// --data read (under a group: this rank's shard) and checked against the
// flow.
template <class T>
Dataset load_training_data(const ReadyFlow<T>& r, const TrainCliOptions& o) {
  Dataset data =
      load_flow_data(r.flow, o.data, o.data_seed, o.data_rows, o.context_file, process_group());
  if (o.standardize && r.flow.format().dequantized())
    throw UserError("--standardize cannot be used with '" + r.flow.name() +
                    "': its first layer dequantises integer levels, which must reach it as they "
                    "are");
  return data;
}

// The data checked against the support and standardised (fitted already),
// the steps planned; the trainer over it.
template <class T>
Trainer<T> data_trainer(ReadyFlow<T>& r, TrainCliOptions& o, Dataset data) {
  // Rows off the support have density 0: no finite loss to minimise.
  if (const std::string outside = outside_support(r, data, o.data); !outside.empty())
    throw UserError(outside);
  // The trainer sees standardised rows u; every NLL it reports is of u.
  // Users compare runs and `nfc eval` in the data's own units:
  // -log p_x(x) = -log p_u(u) + sum_j log scale_j.
  if (r.standardizer) r.standardizer->apply(data);
  set_optimizer(o);
  plan_steps(o, data.all_rows);
  o.train.group_rows = data.all_rows;  // (read with a group only)
  Trainer<T> run(r.flow, std::move(data), o.train);
  if (speaks() && run.val_rows() > 0 && run.val_rows() < 50)
    fmt::print(std::cerr,
               "nfc: note: only {} validation rows: the validation NLL that picks the best "
               "parameters is noisy (raise --val-frac, or use more data)\n",
               run.val_rows());
  return run;
}

// The checks of options that need no file.
void check_options(const TrainCliOptions& o) {
  if (!o.model.target.empty()) {
    if (o.epochs > 0) throw UserError("--epochs needs --data; with --target give --steps");
    if (o.standardize) throw UserError("--standardize needs --data; a target has no data to scale");
    if (!o.context_file.empty())
      throw UserError("--context-file needs --data: it holds the context of each data row");
  }
}

// What the ranks of a group must share to train one model: the options,
// the model's source and the data (its size and a sampled hash).
std::string run_fingerprint(const Json& identity, const TrainCliOptions& o, int64_t rows) {
  Json f = {{"options", identity}, {"rows", rows}};
  if (!o.data.empty() && !is_builtin(o.data)) f["data_file"] = file_fingerprint(o.data);
  if (!o.context_file.empty()) f["context_file"] = file_fingerprint(o.context_file);
  return f.dump();
}

// Rank 0's verdict on the fingerprints of every rank (the same on all).
void check_same_run(const std::vector<std::string>& prints, const TrainCliOptions& o) {
  const Json ours = Json::parse(prints[0]);
  for (size_t r = 1; r < prints.size(); ++r) {
    const Json theirs = Json::parse(prints[r]);
    if (theirs["options"] != ours["options"])
      throw UserError(fmt::format(
          "rank {} was started with different options than rank 0 ({}); start every rank "
          "with the same command",
          r, differing_keys(ours["options"], theirs["options"])));
    for (const char* key : {"data_file", "context_file", "rows"})
      if (theirs.value(key, Json()) != ours.value(key, Json()))
        throw UserError(fmt::format(
            "rank {} reads different data than rank 0: {} is {} there, {} here; every rank "
            "must read the same file",
            r, key == std::string("context_file") ? o.context_file : o.data,
            theirs.value(key, Json()).dump(), ours.value(key, Json()).dump()));
  }
}

// Under a group (mpirun) every rank runs this: each step that may fail on
// one rank alone runs inside agree() (tools/Group.hpp), before any
// collective; rank 0 alone claims, prints and writes files.
template <class T>
void train(TrainCliOptions o) {
  const bool variational = !o.model.target.empty();
  o.train.group = process_group();
  std::optional<OutputLock> lock;
  LoadedModel m;
  std::optional<ReadyFlow<T>> ready;
  Dataset data;
  // Each rank on its own: the outputs (rank 0), the model, its shard.
  const std::vector<std::string> prints = agree_and_gather([&] {
    check_options(o);
    if (speaks()) lock.emplace(claim_outputs(o));
    m = compile_model_file(o.model);
    ready.emplace(ReadyFlow<T>{make_flow<T>(*m.compiled), std::nullopt, {}});
    ready->flow.init_params(o.train.seed);
    ready->flow.set_threads(o.model.threads);
    if (!o.init_from.empty()) start_from(*ready, o);
    if (!variational) data = load_training_data(*ready, o);
    return process_group() ? run_fingerprint(identity_of(o, m), o, data.all_rows) : std::string();
  });
  ReadyFlow<T>& r = *ready;
  if (process_group()) agree([&] { check_same_run(prints, o); });
  // Collective: the statistics of every rank's shard. (Parameters to start
  // from were fitted to their own standardisation.)
  if (o.standardize && !r.standardizer)
    r.standardizer = Standardizer::fit(data, r.flow.dim(), process_group());
  const std::string state_file = state_path(o.out);
  std::optional<Trainer<T>> run;
  TrainState state;
  Json identity;
  agree([&] {
    if (variational) {
      if (!o.eval_every_given->count()) o.train.eval_every = 100;
      if (o.steps > 0) o.train.steps = o.steps;
      set_optimizer(o);
      run.emplace(r.flow, o.train);
    } else {
      run.emplace(data_trainer(r, o, std::move(data)));
    }
    identity = identity_of(o, m);  // with the steps and validation planned
    if (o.resume) state = resumed_state(r, *run, o, identity, state_file);
  });
  const double log_scale_sum = r.standardizer ? r.standardizer->log_det_correction() : 0;
  auto in_data_units = [&](double nll_of_u) { return nll_of_u + log_scale_sum; };
  // The KL only rank 0 reports.
  const auto kl =
      speaks() ? KlEstimator::make(o, r.flow.dim(), r.flow.context_dim()) : std::nullopt;
  std::vector<double> kl_at;  // per history record
  const TensorDType dtype = std::is_same_v<T, float> ? TensorDType::f32 : TensorDType::f64;
  const ModelIdentity model{r.flow.name(), m.source_hash};

  bool saved = o.resume;  // a resumed run already has files on disk
  auto save = [&](const TrainState& s) {
    const std::vector<double> current = as_doubles(r.flow.params());
    for (double v : current)  // never overwrite good parameters with bad ones
      if (!std::isfinite(v))
        throw UserError(
            fmt::format("parameters became non-finite by step {}; {} keeps the "
                        "last good ones",
                        s.step, o.out));
    const Json summary = {
        {"steps", s.step},
        {"best_step", s.best_step},
        {"best_val_nll", std::isfinite(s.best_val) ? Json(in_data_units(s.best_val)) : Json()},
        {"data", o.data}};
    save_params(o.out, r.flow.param_table(), s.best_params.empty() ? current : s.best_params, dtype,
                model, r.standardizer, summary.dump());
    save_train_state(state_file, s, current, identity.dump());
    saved = true;
  };

  // bits/dim of an NLL in the data's units, or NaN when not asked for.
  const bool show_bits = !variational && (o.bits_per_dim || r.flow.format().dequantized());
  auto bits = [&](double nll) { return show_bits ? bits_per_dim(nll, r.flow.dim()) : NAN; };
  Progress progress(o.quiet || !speaks());
  progress.set_batch(run->options().batch);
  if (show_bits) progress.set_bits_per_dim(r.flow.dim());
  const auto start = Clock::now();
  const int64_t first_step = state.step;
  double last_kl = NAN;
  const InterruptRequest interrupt;
  run->run(state, [&](const TrainEvent& e) {
    const double secs = std::chrono::duration<double>(Clock::now() - start).count();
    const double rate =
        double(e.step - first_step) * double(run->options().batch) / std::max(secs, 1e-9);
    if (e.kind == TrainEvent::Kind::evaluation) {
      if (kl) last_kl = kl->estimate(r);
      if (speaks()) save(e.state);
    }
    if (e.kind != TrainEvent::Kind::done)
      progress.update(e, in_data_units(e.loss), in_data_units(e.val_nll), last_kl, rate,
                      e.kind == TrainEvent::Kind::evaluation,
                      variational && e.kind == TrainEvent::Kind::evaluation
                          ? &e.state.history.back().variational
                          : nullptr);
    return interrupt.signal() == 0;
  });
  // Under a group a signal to any rank stopped every rank at the same step.
  int signal = 0;
  for (const std::string& s : agree_and_gather([&] { return std::to_string(interrupt.signal()); }))
    signal = std::max(signal, std::stoi(s));
  if (signal != 0 && !state.finished) {
    if (speaks()) {
      save(state);
      fmt::print(std::cerr,
                 "\nnfc: {} at step {}: {} and its training state are saved; continue with the "
                 "same command and --resume\n",
                 signal_name(signal), state.step, o.out);
    }
    throw Failure{128 + signal};
  }
  // The outcome is the same on every rank; rank 0 reports it.
  agree([&] {
    if (state.diverged && state.bad_in_a_row >= o.train.max_bad_steps)
      throw UserError(fmt::format(
          "training diverged: {} steps in a row, the last at step {}, had a non-finite loss or "
          "gradient (the learning rate was halved at each{}); {}",
          o.train.max_bad_steps, state.step,
          run->first_bad_point().empty() ? "" : "; the first: " + run->first_bad_point(),
          saved ? o.out + " holds the last good parameters" : "nothing was saved"));
    if (state.diverged)
      throw UserError(
          fmt::format("training diverged: {} (try a smaller --lr, --clip or --standardize); {}",
                      run->result_problem(state),
                      saved ? fmt::format("{} holds the parameters of step {}", o.out,
                                          state.best_step >= 0 ? state.best_step : state.step)
                            : "nothing was saved"));
    if (!speaks()) return;
    // The flow now holds the best parameters: the final KL is theirs.
    const double final_kl = kl ? kl->estimate(r) : NAN;
    const double secs = std::chrono::duration<double>(Clock::now() - start).count();
    // The flow holds the best parameters: the final estimates are theirs.
    const VariationalStats final_stats =
        variational ? run->variational_stats() : VariationalStats{};
    const double final_train_nll =
        state.history.empty() ? NAN : in_data_units(state.history.back().train_nll);
    const std::string result =
        variational ? fmt::format(
                          "best ELBO {:.4f} at step {}; log Z = {:.4f} +- {:.4f}, ESS/N "
                          "{:.3f} ({} draws)",
                          final_stats.elbo, state.best_step, final_stats.log_z,
                          final_stats.log_z_se, final_stats.ess, o.train.eval_samples)
        : state.best_step >= 0
            ? fmt::format("best val NLL {:.4f}{} at step {}", in_data_units(state.best_val),
                          bits_text(bits(in_data_units(state.best_val))), state.best_step)
            : fmt::format("final train NLL {:.4f}{} (no validation set)", final_train_nll,
                          bits_text(bits(final_train_nll)));
    const Communicator* group = process_group();
    const std::string processes =
        group ? fmt::format(" on {} processes ({:.0f}% of it in the gradient's sum)", group->size(),
                            100 * run->communication_seconds() / secs)
              : "";
    fmt::print("trained {} for {} steps in {:.1f} s{}{}: {}{}\n", r.flow.name(), state.step, secs,
               processes, state.stopped_early ? " (stopped early)" : "", result,
               std::isfinite(final_kl) ? fmt::format(", KL(true || model) {:.4f}", final_kl) : "");
    if (state.skipped_steps > 0)
      fmt::print("note: {} steps had a non-finite loss or gradient and were skipped{}\n",
                 state.skipped_steps,
                 run->first_bad_point().empty() ? "" : "; the first: " + run->first_bad_point());
    for (const std::string& held : run->held_range_notes()) fmt::print("note: {}\n", held);
    if (state.best_step >= 0 && state.history.size() > 1 &&
        state.best_step == state.history.front().step)
      fmt::print(
          "note: the first validation (step {}) stayed the best: the flow overfits or the "
          "learning rate is too high; try a smaller --eval-every and --lr, or more data\n",
          state.best_step);
    fmt::print("parameters: {}\n", o.out);
    if (!o.json.empty()) {
      Json history = Json::array();
      for (const auto& h : state.history)
        history.push_back(
            {{"step", h.step},
             {"train_nll", in_data_units(h.train_nll)},
             {"val_nll", std::isfinite(h.val_nll) ? Json(in_data_units(h.val_nll)) : Json()},
             {"lr", h.lr}});
      if (variational)
        for (size_t i = 0; i < state.history.size(); ++i)
          history[i].update(stats_json(state.history[i].variational));
      const Json metrics = {
          {"model", r.flow.name()},
          {"options", identity},
          {"steps", state.step},
          {"seconds", secs},
          {"best_val_nll", in_data_units(state.best_val)},
          {"best_val_bits_per_dim", finite_or_null(bits(in_data_units(state.best_val)))},
          {"best_step", state.best_step},
          {"stopped_early", state.stopped_early},
          {"skipped_steps", state.skipped_steps},
          {"kl", std::isfinite(final_kl) ? Json(final_kl) : Json()},
          {"variational", variational ? stats_json(final_stats) : Json()},
          {"params", o.out},
          {"processes", group ? group->size() : 1},
          // rank 0's, waiting for the slowest rank included
          {"communication_seconds", run->communication_seconds()},
          {"history", history}};
      write_file_atomically(o.json, metrics.dump(2) + "\n");
    }
  });
}

}  // namespace

void register_train(CLI::App& app) {
  auto o = std::make_shared<TrainCliOptions>();
  auto* cmd = app.add_subcommand(
      "train", "fit a flow to data by maximum likelihood, or to a target density by reverse KL");
  add_model_options(cmd, o->model, /*runs_flow=*/true, /*takes_target=*/false);
  auto& t = o->train;
  auto* data = cmd->add_option("--data", o->data, "FILE.npy, FILE.csv or builtin:NAME");
  auto* target = cmd->add_option("--target", o->model.target,
                                 "fit a target density instead of data (reverse KL): NAME in the "
                                 "model file, FILE.nf or FILE.nf:NAME");
  data->excludes(target);
  cmd->add_option("--eval-samples", t.eval_samples,
                  "draws per evaluation of ELBO, log Z and ESS with --target (default 4096)")
      ->check(within(train_bounds::eval_samples));
  cmd->add_option("--data-seed", o->data_seed, "seed of a builtin dataset (default 0)");
  cmd->add_option("--data-rows", o->data_rows, "rows of a builtin dataset (default 10000)");
  auto* steps = cmd->add_option("--steps", o->steps, "optimisation steps (default 2000)")
                    ->check(within(train_bounds::steps));
  cmd->add_option("--epochs", o->epochs, "passes over the training rows, instead of --steps")
      ->excludes(steps)
      ->check(within(train_bounds::steps));
  cmd->add_option("--batch", t.batch, "minibatch size (default 256)")
      ->check(within(train_bounds::batch));
  cmd->add_option("--lr", t.optimizer.lr, "learning rate (default 1e-3)")
      ->check(within(train_bounds::lr));
  cmd->add_option("--optimizer", o->optimizer, "adam or adamw (default adam)")
      ->check(CLI::IsMember({"adam", "adamw"}));
  cmd->add_option("--weight-decay", t.optimizer.weight_decay, "L2 (adam) or decoupled (adamw)")
      ->check(within(train_bounds::weight_decay));
  cmd->add_option("--schedule", o->schedule, "constant or cosine (default cosine)")
      ->check(CLI::IsMember({"constant", "cosine"}));
  cmd->add_option("--warmup", t.optimizer.warmup_steps, "linear warm-up steps (default 0)")
      ->check(within(train_bounds::warmup_steps));
  cmd->add_option("--clip", t.optimizer.clip_norm, "gradient-norm clipping (default 0 = off)")
      ->check(within(train_bounds::clip_norm));
  cmd->add_option("--val-frac", t.val_frac, "validation share (default 0.1)")
      ->check(within(train_bounds::val_frac));
  o->eval_every_given =
      cmd->add_option("--eval-every", t.eval_every,
                      "steps between validations and checkpoints (default: every 10 epochs, "
                      "within 10..100)")
          ->check(within(train_bounds::eval_every));
  o->patience_given =
      cmd->add_option("--patience", t.patience,
                      "stop after N validations without improvement (default: 20 on small data, "
                      "else 0 = never)")
          ->check(within(train_bounds::patience));
  cmd->add_option("--max-bad-steps", t.max_bad_steps,
                  "non-finite steps in a row before training stops (default 10)")
      ->check(within(train_bounds::max_bad_steps));
  cmd->add_option("--seed", t.seed, "seed of initialisation, split and batches (default 0)");
  cmd->add_flag("--standardize", o->standardize, "train on standardised data (stats are saved)");
  cmd->add_option("--context-file", o->context_file,
                  "conditional flows: the context of each data row, from the same row of this "
                  "file (e.g. IDX labels)");
  cmd->add_flag("--bits-per-dim", o->bits_per_dim,
                "also report NLL / (dim ln 2) (always for a dequantised flow)");
  cmd->add_option("--out", o->out, "parameters file (default params.safetensors)");
  auto* resume = cmd->add_flag("--resume", o->resume,
                               "continue the run saved beside --out (with a larger --steps: "
                               "continue a finished one)");
  cmd->add_option("--init-from", o->init_from,
                  "start from these trained parameters, with a fresh optimiser")
      ->excludes(resume);
  cmd->add_option("--json", o->json, "write metrics (history, KL, timing) as JSON");
  cmd->add_flag("-q,--quiet", o->quiet, "no progress line");
  cmd->callback([o] {
    if (o->data.empty() && o->model.target.empty()) throw CLI::RequiredError("--data or --target");
    if (o->steps == 0 && o->epochs == 0) o->train.steps = 2000;
    with_precision(o->model, [&]<class T>() { train<T>(*o); });
  });
}

}  // namespace nfc::cli

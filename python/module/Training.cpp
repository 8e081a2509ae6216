// Model.train from Python: the rows read in place, the GIL released while
// the trainer runs and taken back only to report (every evaluation, and
// at most every `report_seconds` between them) and to look for Ctrl-C.
// An exception in the callback, or KeyboardInterrupt, stops training; the
// model keeps the best validated parameters (the last ones without a
// validation set) and the exception is raised when train returns.
#include <chrono>
#include <cmath>
#include <mutex>

#include "Binding.hpp"

namespace nfc::python {

namespace {

py::dict progress_dict(const TrainProgress& p) {
  py::dict d;
  d["step"] = p.step;
  d["total"] = p.total;
  d["loss"] = p.loss;
  d["val_nll"] = p.val_nll;
  d["lr"] = p.lr;
  d["evaluation"] = p.evaluation;
  if (!std::isnan(p.elbo)) {  // variational training's estimates
    d["elbo"] = p.elbo;
    d["log_z"] = p.log_z;
    d["log_z_se"] = p.log_z_se;
    d["ess"] = p.ess;
  }
  return d;
}

py::dict result_dict(const TrainResult& r) {
  py::dict d;
  d["steps"] = r.steps;
  d["best_val_nll"] = r.best_val_nll;
  d["best_step"] = r.best_step;
  d["stopped_early"] = r.stopped_early;
  d["diverged"] = r.diverged;
  d["elbo"] = r.elbo;
  d["log_z"] = r.log_z;
  d["log_z_se"] = r.log_z_se;
  d["ess"] = r.ess;
  return d;
}

// What the trainer's callback does on the training thread, which holds no GIL.
class Reporter {
 public:
  Reporter(py::object callback, double report_seconds)
      : callback_(std::move(callback)), every_(report_seconds) {}

  bool operator()(const TrainProgress& p) {
    const auto now = std::chrono::steady_clock::now();
    if (!p.evaluation && p.step < p.total &&
        std::chrono::duration<double>(now - last_).count() < every_)
      return true;
    last_ = now;
    py::gil_scoped_acquire gil;
    try {
      if (PyErr_CheckSignals() != 0) throw py::error_already_set();  // Ctrl-C
      if (callback_.is_none()) return true;
      const py::object go_on = callback_(progress_dict(p));
      return !(go_on.is(py::bool_(false)));
    } catch (py::error_already_set& e) {
      error_.emplace(std::move(e));
      return false;
    }
  }

  // The callback's exception (or KeyboardInterrupt), raised in Python.
  void rethrow() {
    if (error_) throw std::move(*error_);
  }

 private:
  py::object callback_;
  double every_;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
  std::optional<py::error_already_set> error_;
};

// Runs `train(config, reporter)` without the GIL, holding the model's
// lock, then raises what the callback raised (or KeyboardInterrupt).
template <class Train>
py::dict run(PyModel& m, const py::dict& options, py::object callback, double report_seconds,
             Train&& train);

TrainConfig config_of(const py::dict& o) {
  TrainConfig c;
  c.steps = o["steps"].cast<int64_t>();
  c.batch = o["batch"].cast<int64_t>();
  c.lr = o["lr"].cast<double>();
  c.val_frac = o["val_frac"].cast<double>();
  c.eval_every = o["eval_every"].cast<int64_t>();
  c.patience = o["patience"].cast<int64_t>();
  c.seed = o["seed"].cast<uint64_t>();
  if (o.contains("eval_samples")) c.eval_samples = o["eval_samples"].cast<int64_t>();
  return c;
}

template <class Train>
py::dict run(PyModel& m, const py::dict& options, py::object callback, double report_seconds,
             Train&& train) {
  const TrainConfig config = config_of(options);
  Reporter reporter(std::move(callback), report_seconds);
  TrainResult result;
  {
    py::gil_scoped_release free;
    WriteLock lock(m, "train");
    m.trainer = std::this_thread::get_id();
    struct Done {  // however training ends
      PyModel& m;
      ~Done() { m.trainer = std::thread::id(); }
    } done{m};
    result = train(m.get("train"), config, std::ref(reporter));
  }
  reporter.rethrow();
  return result_dict(result);
}

// rows: (x, c) rows of dim + context_dim values; val: the same, or None.
template <class T>
py::dict train(PyModel& m, py::handle rows, py::handle val, const py::dict& options,
               py::object callback, double report_seconds) {
  m.check_open("train");
  const int width = m.dim + m.context_dim;
  const Rows<T> data = rows_of<T>(rows, width, "train", "the rows");
  std::optional<Rows<T>> validation;
  if (!val.is_none()) {
    validation = rows_of<T>(val, width, "train", "the validation rows");
    if (validation->n == 0) throw_data_error("train: the validation set has no rows");
  }
  return run(m, options, std::move(callback), report_seconds,
             [&](Model& model, const TrainConfig& config, const auto& report) {
               return model.train(data.data(), data.n, validation ? validation->data() : nullptr,
                                  validation ? validation->n : 0, config, report);
             });
}

}  // namespace

void register_training(py::module_&, py::class_<PyModel>& model) {
  model.def(
      "train",
      [](PyModel& m, py::handle rows, py::handle val, const py::dict& options, py::object callback,
         double report_seconds) {
        return m.f32 ? train<float>(m, rows, val, options, std::move(callback), report_seconds)
                     : train<double>(m, rows, val, options, std::move(callback), report_seconds);
      },
      py::arg("rows"), py::arg("val"), py::arg("options"), py::arg("callback"),
      py::arg("report_seconds"));
  model.def(
      "fit_target",
      [](PyModel& m, const py::dict& options, py::object callback, double report_seconds) {
        m.check_open("fit_target");
        return run(m, options, std::move(callback), report_seconds,
                   [](Model& model, const TrainConfig& config, const auto& report) {
                     return model.fit_target(config, report);
                   });
      },
      py::arg("options"), py::arg("callback"), py::arg("report_seconds"));
  model.def(
      "target_log_prob",
      [](const PyModel& m, py::handle x) -> py::object {
        m.check_open("target_log_prob");
        const Rows<double> rows = rows_of<double>(x, m.dim, "target_log_prob", "x");
        const std::vector<double> flat(rows.data(), rows.data() + rows.n * m.dim);
        std::vector<double> lp;
        {
          py::gil_scoped_release free;
          ReadLock lock(m);
          lp = m.get("target_log_prob").target_log_prob(flat);
        }
        py::array_t<double> out = new_array<double>(rows.batch);
        std::copy(lp.begin(), lp.end(), out.mutable_data());
        return out;
      },
      py::arg("x"));
}

}  // namespace nfc::python

// What the files of the extension module nfc._nfc share: the model object
// Python holds, NumPy rows in and out, the exception types. The module
// binds the public C++ API (include/nfc/nfc.hpp) and nothing deeper.
//
// Threads: every call that computes releases the GIL, then takes the
// model's lock (shared to read, exclusive to train or change parameters),
// in that order, so a training callback that takes the GIL back while
// holding the lock cannot deadlock with a reader waiting for the lock.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <atomic>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "nfc/nfc.hpp"

namespace nfc::python {

namespace py = pybind11;

struct PyModel {
  explicit PyModel(Model compiled);

  mutable std::shared_mutex lock;
  std::optional<Model> model;  // empty once closed; touch it with the lock held

  // What never changes, read without the lock (taking it while holding the
  // GIL could deadlock with a training callback).
  std::string name;
  int dim = 0, context_dim = 0;
  bool f32 = false;
  std::vector<std::string> param_names;
  std::vector<std::vector<int64_t>> param_shapes;
  int64_t param_count = 0;
  std::atomic<int> threads{1};
  std::atomic<bool> closed{false};
  // The thread running train or fit_target (holding the lock exclusively)
  // while it does: its callbacks may read the model between steps.
  std::atomic<std::thread::id> trainer{};

  // nfc.Error("log_prob: the model is closed") if it is.
  void check_open(const char* what) const;
  // The model (with the lock held), or the same error.
  const Model& get(const char* what) const;
  Model& get(const char* what);
};

// The model's lock for a call that reads it: shared, or none from a
// training callback, whose thread holds it already (the trainer is
// paused between steps then).
class ReadLock {
 public:
  explicit ReadLock(const PyModel& m) {
    if (m.trainer.load() != std::this_thread::get_id()) lock_ = std::shared_lock(m.lock);
  }

 private:
  std::shared_lock<std::shared_mutex> lock_;
};

// The lock for a call that changes the model (or trains it): exclusive;
// from a training callback, nfc.Error("what: the model is training ...").
class WriteLock {
 public:
  WriteLock(PyModel& m, const char* what);

 private:
  std::unique_lock<std::shared_mutex> lock_;
};

// Rows of a NumPy array (or anything np.asarray takes) as the model reads
// them: C-contiguous values of T, the caller's own buffer when it already
// is one (no copy), converted once otherwise. `batch` is the shape before
// the last axis, whose length is the row width; n the product of batch.
template <class T>
struct Rows {
  py::array_t<T, py::array::c_style> array;
  std::vector<py::ssize_t> batch;
  int64_t n = 0;
  const T* data() const { return array.data(); }
};

// Throws nfc.DataError("log_prob: x must ...") unless `object` is an array
// of real numbers with a last axis of `width` values.
template <class T>
Rows<T> rows_of(py::handle object, int width, const char* what, const char* name);

// The context argument of a conditional model for n rows of x: None for a
// model without one; C values (for every row), or rows of C values whose
// count is 1 or n. `keep` holds the converted array alive.
template <class T>
Context<T> context_of(const PyModel& m, py::handle context, int64_t n, const char* what,
                      std::optional<Rows<T>>& keep);

// A new array of T with shape `batch` followed by `tail` (if not 0).
template <class T>
py::array_t<T> new_array(const std::vector<py::ssize_t>& batch, int64_t tail = 0);

// The exception types nfc.Error, nfc.CompileError, nfc.DataError, and the
// translation of the API's exceptions into them.
void register_errors(py::module_& m);
[[noreturn]] void throw_data_error(const std::string& message);

void register_training(py::module_& m, py::class_<PyModel>& model);

}  // namespace nfc::python

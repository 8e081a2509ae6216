// NumPy arrays in and out: rows read in place when they already are
// C-contiguous values of the model's precision, converted once otherwise.
#include <fmt/format.h>

#include "Binding.hpp"

namespace nfc::python {

PyModel::PyModel(Model compiled)
    : model(std::move(compiled)),
      name(model->name()),
      dim(model->dim()),
      context_dim(model->context_dim()),
      f32(model->precision() == Precision::f32),
      param_names(model->param_names()),
      param_shapes(model->param_shapes()) {
  for (const auto& shape : param_shapes) {
    int64_t size = 1;
    for (const int64_t d : shape) size *= d;
    param_count += size;
  }
}

void PyModel::check_open(const char* what) const {
  if (closed) throw Error(std::string(what) + ": the model is closed");
}

WriteLock::WriteLock(PyModel& m, const char* what) {
  if (m.trainer.load() == std::this_thread::get_id())
    throw Error(std::string(what) +
                ": the model is training (this is its training callback); return False from "
                "the callback to stop training first");
  lock_ = std::unique_lock(m.lock);
}

const Model& PyModel::get(const char* what) const {
  if (!model) throw Error(std::string(what) + ": the model is closed");
  return *model;
}

Model& PyModel::get(const char* what) {
  if (!model) throw Error(std::string(what) + ": the model is closed");
  return *model;
}

namespace {

std::string shape_text(const py::array& a) {
  std::string text = "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) text += (i ? ", " : "") + std::to_string(a.shape(i));
  return text + (a.ndim() == 1 ? ",)" : ")");
}

// `object` as an array of real numbers (bool, integers, floats), or
// nfc.DataError saying what it holds instead.
py::array real_array(py::handle object, const char* what, const char* name) {
  py::array a;
  try {
    a = py::array::ensure(object);
  } catch (const py::error_already_set&) {
  }
  if (!a) {
    PyErr_Clear();
    throw_data_error(fmt::format("{}: {} must be an array of numbers, not {}", what, name,
                                 std::string(py::str(py::type::of(object).attr("__name__")))));
  }
  const char kind = a.dtype().kind();
  if (kind == 'O' && !py::isinstance<py::array>(object))  // None, a dict, a list of those
    throw_data_error(fmt::format("{}: {} must be an array of numbers, not {}", what, name,
                                 std::string(py::str(py::type::of(object).attr("__name__")))));
  if (kind != 'f' && kind != 'i' && kind != 'u' && kind != 'b')
    throw_data_error(fmt::format("{}: {} must hold real numbers, not {}", what, name,
                                 std::string(py::str(a.dtype()))));
  return a;
}

}  // namespace

template <class T>
Rows<T> rows_of(py::handle object, int width, const char* what, const char* name) {
  const py::array a = real_array(object, what, name);
  if (a.ndim() < 1 || a.shape(a.ndim() - 1) != width)
    throw_data_error(fmt::format("{}: {} has shape {}; its last axis must have {} values", what,
                                 name, shape_text(a), width));
  Rows<T> rows;
  rows.array = py::array_t < T, py::array::c_style | py::array::forcecast > ::ensure(a);
  if (!rows.array) throw py::error_already_set();
  rows.batch.assign(a.shape(), a.shape() + a.ndim() - 1);
  rows.n = 1;
  for (const py::ssize_t d : rows.batch) rows.n *= d;
  return rows;
}

template <class T>
Context<T> context_of(const PyModel& m, py::handle context, int64_t n, const char* what,
                      std::optional<Rows<T>>& keep) {
  const int C = m.context_dim;
  if (context.is_none()) return {};
  if (C == 0) {  // a context where none belongs: the API refuses it in its own words
    static const T kNone[1] = {};
    return {kNone, 1};
  }
  keep = rows_of<T>(context, C, what, "context");
  if (keep->n != 1 && keep->n != n)
    throw_data_error(
        fmt::format("{}: the context has {} rows of {} values; give 1 (for every "
                    "row) or {} (one per row)",
                    what, keep->n, C, n));
  return {keep->data(), keep->n};
}

template <class T>
py::array_t<T> new_array(const std::vector<py::ssize_t>& batch, int64_t tail) {
  std::vector<py::ssize_t> shape = batch;
  if (tail > 0) shape.push_back(tail);
  return py::array_t<T>(shape);
}

template Rows<float> rows_of<float>(py::handle, int, const char*, const char*);
template Rows<double> rows_of<double>(py::handle, int, const char*, const char*);
template Context<float> context_of<float>(const PyModel&, py::handle, int64_t, const char*,
                                          std::optional<Rows<float>>&);
template Context<double> context_of<double>(const PyModel&, py::handle, int64_t, const char*,
                                            std::optional<Rows<double>>&);
template py::array_t<float> new_array<float>(const std::vector<py::ssize_t>&, int64_t);
template py::array_t<double> new_array<double>(const std::vector<py::ssize_t>&, int64_t);

}  // namespace nfc::python

// nfc._nfc: the C++ API's Model for Python. python/nfc/__init__.py wraps
// it in the class users see; arrays come in as NumPy arrays (Arrays.cpp),
// training lives in Training.cpp, exceptions in Errors.cpp.
#include <pybind11/stl.h>

#include <mutex>

#include "Binding.hpp"

namespace nfc::python {

namespace {

// Calls f(T{}) with T the model's precision (float or double).
template <class F>
py::object in_precision(const PyModel& m, F&& f) {
  if (m.f32) return f(float{});
  return f(double{});
}

// Reads `x` (rows of dim, batch shape B) and its context, and returns
// log p(x | c) of shape B.
py::object log_prob(const PyModel& m, py::handle x, py::handle context) {
  return in_precision(m, [&]<class T>(T) -> py::object {
    m.check_open("log_prob");
    const Rows<T> rows = rows_of<T>(x, m.dim, "log_prob", "x");
    std::optional<Rows<T>> keep;
    const Context<T> c = context_of<T>(m, context, rows.n, "log_prob", keep);
    py::array_t<T> out = new_array<T>(rows.batch);
    T* o = out.mutable_data();
    {
      py::gil_scoped_release free;
      ReadLock lock(m);
      m.get("log_prob").log_prob(rows.data(), rows.n, o, c);
    }
    return out;
  });
}

// forward (x -> z) or inverse (z -> x), with the log-determinants: a tuple.
template <bool kForward>
py::object map(const PyModel& m, py::handle in, py::handle context) {
  const char* what = kForward ? "forward" : "inverse";
  return in_precision(m, [&]<class T>(T) -> py::object {
    m.check_open(what);
    const Rows<T> rows = rows_of<T>(in, m.dim, what, kForward ? "x" : "z");
    std::optional<Rows<T>> keep;
    const Context<T> c = context_of<T>(m, context, rows.n, what, keep);
    py::array_t<T> out = new_array<T>(rows.batch, m.dim), logdet = new_array<T>(rows.batch);
    T *o = out.mutable_data(), *ld = logdet.mutable_data();
    {
      py::gil_scoped_release free;
      ReadLock lock(m);
      if constexpr (kForward)
        m.get(what).forward(rows.data(), rows.n, o, ld, c);
      else
        m.get(what).inverse(rows.data(), rows.n, o, ld, c);
    }
    return py::make_tuple(out, logdet);
  });
}

py::object sample(const PyModel& m, int64_t n, uint64_t seed, py::handle context) {
  if (n < 0) throw_data_error("sample: n must not be negative");
  return in_precision(m, [&]<class T>(T) -> py::object {
    m.check_open("sample");
    std::optional<Rows<T>> keep;
    const Context<T> c = context_of<T>(m, context, n, "sample", keep);
    py::array_t<T> x = new_array<T>({py::ssize_t(n)}, m.dim), lp = new_array<T>({py::ssize_t(n)});
    T *xs = x.mutable_data(), *lps = lp.mutable_data();
    {
      py::gil_scoped_release free;
      ReadLock lock(m);
      m.get("sample").sample(n, seed, xs, lps, c);
    }
    return py::make_tuple(x, lp);
  });
}

py::object nll_and_grad(const PyModel& m, py::handle x, py::handle context) {
  return in_precision(m, [&]<class T>(T) -> py::object {
    m.check_open("nll_and_grad");
    const Rows<T> rows = rows_of<T>(x, m.dim, "nll_and_grad", "x");
    std::optional<Rows<T>> keep;
    const Context<T> c = context_of<T>(m, context, rows.n, "nll_and_grad", keep);
    py::array_t<T> grad = new_array<T>({py::ssize_t(m.param_count)});
    T* g = grad.mutable_data();
    double loss = 0;
    {
      py::gil_scoped_release free;
      ReadLock lock(m);
      loss = m.get("nll_and_grad").nll_and_grad(rows.data(), rows.n, g, c);
    }
    return py::make_tuple(loss, grad);
  });
}

// The flat parameter vector in the model's precision (a copy).
py::object get_flat(const PyModel& m) {
  std::vector<double> values;
  {
    py::gil_scoped_release free;
    ReadLock lock(m);
    values = m.get("params").params();
  }
  return in_precision(m, [&]<class T>(T) -> py::object {
    py::array_t<T> out = new_array<T>({py::ssize_t(values.size())});
    std::copy(values.begin(), values.end(), out.mutable_data());
    return out;
  });
}

void set_flat(PyModel& m, py::handle values) {
  m.check_open("params");
  const Rows<double> rows =
      rows_of<double>(values, int(m.param_count), "params", "the parameter vector");
  if (rows.batch.size() != 0)
    throw_data_error("params: the parameter vector must be one-dimensional");
  std::vector<double> flat(rows.data(), rows.data() + rows.array.size());
  py::gil_scoped_release free;
  WriteLock lock(m, "params");
  m.get("params").set_params(flat);
}

// Runs f(model) without the GIL, holding the lock exclusively.
template <class F>
void exclusive(PyModel& m, const char* what, F&& f) {
  py::gil_scoped_release free;
  WriteLock lock(m, what);
  f(m.get(what));
}

}  // namespace

PYBIND11_MODULE(_nfc, module) {
  module.doc() = "nfc's C++ API (the normalizing-flow compiler); use the package nfc.";
  module.attr("__version__") = NFC_VERSION;
  register_errors(module);

  module.def(
      "compile",
      [](const std::string& source, const std::string& precision, const std::string& name,
         const std::string& target) {
        if (precision != "f32" && precision != "f64")
          throw_data_error("compile: precision must be 'f32' or 'f64', not '" + precision + "'");
        py::gil_scoped_release free;  // compiling takes a while
        return std::make_unique<PyModel>(Model::compile(
            source, precision == "f32" ? Precision::f32 : Precision::f64, name, target));
      },
      py::arg("source"), py::arg("precision"), py::arg("name"), py::arg("target"));
  module.def(
      "builtin_data",
      [](const std::string& name, int64_t rows, uint64_t seed) {
        std::vector<double> values;
        int columns = 0;
        {
          py::gil_scoped_release free;
          values = builtin_data(name, rows, seed);
          columns = builtin_columns(name);
        }
        py::array_t<double> out = new_array<double>({py::ssize_t(rows)}, columns);
        std::copy(values.begin(), values.end(), out.mutable_data());
        return out;
      },
      py::arg("name"), py::arg("rows"), py::arg("seed"));

  py::class_<PyModel> model(module, "Model");
  model.def_property_readonly("closed", [](const PyModel& m) { return bool(m.closed); })
      .def_readonly("name", &PyModel::name)
      .def_readonly("dim", &PyModel::dim)
      .def_readonly("context_dim", &PyModel::context_dim)
      .def_property_readonly("precision", [](const PyModel& m) { return m.f32 ? "f32" : "f64"; })
      .def_property(
          "threads", [](const PyModel& m) { return int(m.threads); },
          [](PyModel& m, int threads) {
            exclusive(m, "threads", [&](Model& model) { model.set_threads(threads); });
            m.threads = threads;
          })
      .def_readonly("param_names", &PyModel::param_names)
      .def_readonly("param_shapes", &PyModel::param_shapes)
      .def("log_prob", &log_prob, py::arg("x"), py::arg("context"))
      .def("forward", &map<true>, py::arg("x"), py::arg("context"))
      .def("inverse", &map<false>, py::arg("z"), py::arg("context"))
      .def("sample", &sample, py::arg("n"), py::arg("seed"), py::arg("context"))
      .def("nll_and_grad", &nll_and_grad, py::arg("x"), py::arg("context"))
      .def("get_flat", &get_flat)
      .def("set_flat", &set_flat, py::arg("values"))
      .def(
          "init_params",
          [](PyModel& m, uint64_t seed) {
            exclusive(m, "init_params", [&](Model& model) { model.init_params(seed); });
          },
          py::arg("seed"))
      .def(
          "save",
          [](const PyModel& m, const std::string& path) {
            py::gil_scoped_release free;
            ReadLock lock(m);
            m.get("save").save(path);
          },
          py::arg("path"))
      .def(
          "load",
          [](PyModel& m, const std::string& path) {
            exclusive(m, "load", [&](Model& model) { model.load(path); });
          },
          py::arg("path"))
      .def(
          "emit_cpp",
          [](const PyModel& m, const std::string& dir, const std::string& ns, bool with_grad) {
            py::gil_scoped_release free;
            ReadLock lock(m);
            return m.get("emit_cpp").emit_cpp(dir, EmitCppOptions{ns, with_grad});
          },
          py::arg("dir"), py::arg("ns"), py::arg("with_grad"))
      .def("close", [](PyModel& m) {
        py::gil_scoped_release free;
        WriteLock lock(m, "close");  // waits for calls in other threads
        m.model.reset();
        m.closed = true;
      });
  register_training(module, model);
}

}  // namespace nfc::python

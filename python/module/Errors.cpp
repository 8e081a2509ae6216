// nfc.Error (an Exception), nfc.CompileError (an nfc.Error with the first
// error's file, line, col and message) and nfc.DataError (an nfc.Error and
// a ValueError: bad data is a bad value to Python code that catches those).
#include "Binding.hpp"

namespace nfc::python {

namespace {

// Made once per process and never freed: exception types live as long as
// the interpreter, and freeing them at exit would run after it is gone.
PyObject* g_error = nullptr;
PyObject* g_compile_error = nullptr;
PyObject* g_data_error = nullptr;

PyObject* new_type(py::module_& m, const char* name, const char* doc, py::tuple bases) {
  const std::string qualified = std::string("nfc.") + name;
  PyObject* type = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases.ptr(), nullptr);
  if (!type) throw py::error_already_set();
  m.add_object(name, py::handle(type));
  return type;
}

}  // namespace

void throw_data_error(const std::string& message) {
  PyErr_SetString(g_data_error, message.c_str());
  throw py::error_already_set();
}

void register_errors(py::module_& m) {
  g_error =
      new_type(m, "Error", "Every failure of nfc.", py::make_tuple(py::handle(PyExc_Exception)));
  g_compile_error =
      new_type(m, "CompileError",
               "A model that does not compile: str() is every diagnostic with its source line and "
               "caret; file, line, col and message are the first error's.",
               py::make_tuple(py::handle(g_error)));
  g_data_error =
      new_type(m, "DataError", "Data a model cannot take: shapes, dtypes, NaNs, parameters.",
               py::make_tuple(py::handle(g_error), py::handle(PyExc_ValueError)));
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const CompileError& e) {
      py::object error =
          py::reinterpret_steal<py::object>(PyObject_CallFunction(g_compile_error, "s", e.what()));
      if (!error) return;  // the call set its own exception
      error.attr("file") = e.file;
      error.attr("line") = e.line;
      error.attr("col") = e.col;
      error.attr("message") = e.message;
      PyErr_SetObject(g_compile_error, error.ptr());
    } catch (const DataError& e) {
      PyErr_SetString(g_data_error, e.what());
    } catch (const Error& e) {
      PyErr_SetString(g_error, e.what());
    }
  });
}

}  // namespace nfc::python

// Output tables for the data-facing subcommands.
#include "tools/FlowIO.hpp"

#include <cmath>

#include "runtime/io/AtomicFile.hpp"
#include "runtime/io/Csv.hpp"
#include "runtime/io/Npy.hpp"
#include "support/InternalError.hpp"

namespace nfc::cli {

SampleContext sample_context(const std::string& name, int context_dim,
                             const std::vector<double>& inline_values, const std::string& file) {
  if (context_dim == 0) {
    if (!inline_values.empty() || !file.empty())
      throw UserError("'" + name + "' has no context; --context and --context-file need a flow " +
                      "declared with context = N");
    return {};
  }
  const std::string needs = std::to_string(context_dim) + " value" + (context_dim == 1 ? "" : "s");
  if (inline_values.empty() && file.empty())
    throw UserError("'" + name + "' is conditional (context " + std::to_string(context_dim) +
                    "): give --context with " + needs + " or --context-file");
  if (!file.empty()) {
    const Dataset d = load_dataset(file, 0);
    if (d.cols != context_dim)
      throw UserError(file + ": the context file has " + std::to_string(d.cols) +
                      " columns, the model's context has " + std::to_string(context_dim));
    return {d.to_vector(), d.rows};
  }
  if (static_cast<int>(inline_values.size()) != context_dim)
    throw UserError("--context has " + std::to_string(inline_values.size()) + " value" +
                    (inline_values.size() == 1 ? "" : "s") + ", the model's context needs " +
                    needs);
  for (double v : inline_values)
    if (!std::isfinite(v)) throw UserError("--context values must be finite numbers");
  return {inline_values, 1};
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void write_table_streamed(const std::string& path, const std::vector<std::string>& header,
                          int64_t rows, int cols, bool f32,
                          const std::function<void(const AppendRows&)>& produce) {
  const bool npy = ends_with(path, ".npy");
  if (!npy && !ends_with(path, ".csv"))
    throw UserError("'" + path + "': the output must end in .npy or .csv");
  const TensorDType dtype = f32 ? TensorDType::f32 : TensorDType::f64;
  write_file_atomically(path, [&](std::ostream& out) {
    if (npy)
      out << npy_header(cols == 1 ? std::vector<int64_t>{rows} : std::vector<int64_t>{rows, cols},
                        dtype);
    else if (!header.empty())
      out << csv_header_line(header);
    int64_t written = 0;
    produce([&](const double* values, int64_t n) {
      internal_check(written + n <= rows, "write_table_streamed: more rows than declared");
      if (npy)
        append_npy_values(out, values, n * cols, dtype);
      else
        append_csv_rows(out, values, n, cols);
      written += n;
    });
    internal_check(written == rows, "write_table_streamed: fewer rows than declared");
  });
}

void write_table(const std::string& path, const std::vector<std::string>& header,
                 const std::vector<double>& values, int64_t rows, int cols, bool f32) {
  write_table_streamed(path, header, rows, cols, f32,
                       [&](const AppendRows& append) { append(values.data(), rows); });
}

}  // namespace nfc::cli

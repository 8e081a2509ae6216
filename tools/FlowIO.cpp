// Output tables for the data-facing subcommands.
#include "tools/FlowIO.hpp"

#include "runtime/Csv.hpp"
#include "runtime/Npy.hpp"

namespace nfc::cli {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void write_table(const std::string& path, const std::vector<std::string>& header,
                 const std::vector<double>& values, int64_t rows, int cols, bool f32) {
  if (ends_with(path, ".npy")) {
    const std::vector<int64_t> shape =
        cols == 1 ? std::vector<int64_t>{rows} : std::vector<int64_t>{rows, cols};
    write_npy(path, shape, values.data(), f32 ? TensorDType::f32 : TensorDType::f64);
  } else if (ends_with(path, ".csv")) {
    write_csv(path, header, values.data(), rows, cols);
  } else {
    throw UserError("'" + path + "': the output must end in .npy or .csv");
  }
}

}  // namespace nfc::cli

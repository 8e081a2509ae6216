#include "runtime/io/Csv.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string_view>

#include "runtime/DataError.hpp"
#include "runtime/io/AtomicFile.hpp"

namespace nfc {
namespace {

struct Line {
  int number;  // 1-based
  std::string_view text;
};

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool is_blank(std::string_view s) {
  return s.find_first_not_of(" \t") == std::string_view::npos;
}

// Splits into lines without their `\n` or `\r\n` and drops trailing blank
// lines, which editors and `print` loops leave behind.
std::vector<Line> split_lines(std::string_view text) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // byte-order mark
  std::vector<Line> lines;
  for (size_t start = 0, number = 1; start < text.size(); ++number) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back({static_cast<int>(number), line});
    start = end + 1;
  }
  while (!lines.empty() && is_blank(lines.back().text)) lines.pop_back();
  return lines;
}

std::string_view trim_field(std::string_view f) {
  const size_t b = f.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  f = f.substr(b, f.find_last_not_of(" \t") - b + 1);
  if (f.size() >= 2 && f.front() == '"' && f.back() == '"') f = f.substr(1, f.size() - 2);
  return f;
}

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  for (size_t start = 0;;) {
    const size_t comma = line.find(',', start);
    fields.push_back(trim_field(line.substr(start, comma - start)));
    if (comma == std::string_view::npos) return fields;
    start = comma + 1;
  }
}

enum class ParseStatus { ok, not_a_number, overflow };

// A whole field as a double. from_chars has no locale and no leading '+';
// underflow to a subnormal or zero is accepted (strtod rounds it), overflow
// is not.
ParseStatus parse_number(std::string_view f, double& out) {
  if (!f.empty() && f[0] == '+') f.remove_prefix(1);
  if (f.empty() || f[0] == '+' || f[0] == ' ') return ParseStatus::not_a_number;
  const auto [end, ec] = std::from_chars(f.data(), f.data() + f.size(), out);
  if (end != f.data() + f.size()) return ParseStatus::not_a_number;
  if (ec == std::errc()) return ParseStatus::ok;
  if (ec != std::errc::result_out_of_range) return ParseStatus::not_a_number;
  out = std::strtod(std::string(f).c_str(), nullptr);
  return std::isinf(out) ? ParseStatus::overflow : ParseStatus::ok;
}

bool is_header(const std::vector<std::string_view>& fields) {
  double ignored;
  for (std::string_view f : fields)
    if (!f.empty() && parse_number(f, ignored) != ParseStatus::ok) return true;
  return false;
}

class CsvParser {
 public:
  explicit CsvParser(const std::string& path) : path_(path) {}

  CsvTable parse(const std::vector<Line>& lines) {
    if (lines.empty()) throw DataError(fmt::format("{}: empty file", path_));
    const auto first = split_fields(lines[0].text);
    table_.cols = static_cast<int>(first.size());
    const bool header = is_header(first);
    if (header) table_.header.assign(first.begin(), first.end());
    for (size_t i = header ? 1 : 0; i < lines.size(); ++i) parse_row(lines[i]);
    if (table_.rows == 0) throw DataError(fmt::format("{}: no data rows (only a header)", path_));
    return std::move(table_);
  }

 private:
  void parse_row(const Line& line) {
    if (is_blank(line.text))
      throw DataError(fmt::format("{}:{}: blank line inside the data", path_, line.number));
    const auto fields = split_fields(line.text);
    if (static_cast<int>(fields.size()) != table_.cols)
      throw DataError(fmt::format("{}:{}: expected {} columns, found {}", path_, line.number,
                                  table_.cols, fields.size()));
    for (size_t c = 0; c < fields.size(); ++c)
      table_.values.push_back(parse_value(fields[c], line.number, static_cast<int>(c) + 1));
    ++table_.rows;
  }

  double parse_value(std::string_view f, int line, int field) const {
    const std::string where = fmt::format("{}:{}:{}", path_, line, field);
    if (f.empty()) throw DataError(fmt::format("{}: empty field", where));
    double v = 0;
    switch (parse_number(f, v)) {
      case ParseStatus::ok:
        break;
      case ParseStatus::not_a_number:
        throw DataError(fmt::format("{}: not a number: '{}'", where, f));
      case ParseStatus::overflow:
        throw DataError(fmt::format("{}: number out of range: '{}'", where, f));
    }
    if (std::isnan(v)) throw DataError(fmt::format("{}: NaN", where));
    if (std::isinf(v)) throw DataError(fmt::format("{}: {}", where, v > 0 ? "inf" : "-inf"));
    return v;
  }

  const std::string& path_;
  CsvTable table_;
};

template <class T>
void write_csv_values(const std::string& path, const std::vector<std::string>& header,
                      const T* values, int64_t rows, int cols) {
  if (!header.empty() && static_cast<int>(header.size()) != cols)
    throw std::invalid_argument("write_csv: header size differs from the column count");
  write_file_atomically(path, [&](std::ostream& out) {
    if (!header.empty()) out << fmt::format("{}\n", fmt::join(header, ","));
    for (int64_t r = 0; r < rows; ++r)
      out << fmt::format("{}\n", fmt::join(values + r * cols, values + (r + 1) * cols, ","));
  });
}

}  // namespace

CsvTable read_csv(const std::string& path) {
  const std::string text = read_text(path);
  return CsvParser(path).parse(split_lines(text));
}

void write_csv(const std::string& path, const std::vector<std::string>& header,
               const double* values, int64_t rows, int cols) {
  write_csv_values(path, header, values, rows, cols);
}

void write_csv(const std::string& path, const std::vector<std::string>& header, const float* values,
               int64_t rows, int cols) {
  write_csv_values(path, header, values, rows, cols);
}

}  // namespace nfc

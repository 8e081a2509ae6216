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

#include "runtime/Communicator.hpp"
#include "runtime/DataError.hpp"
#include "runtime/io/AtomicFile.hpp"
#include "support/Echo.hpp"

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

std::string_view trim(std::string_view f) {
  const size_t b = f.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  return f.substr(b, f.find_last_not_of(" \t") - b + 1);
}

// The fields of one line, RFC 4180 style: a field may be quoted, and then
// hold commas and "" for a quote ("a,1" is one field); spaces and tabs
// around a field are dropped. nullopt if a quote is not closed on the line.
std::optional<std::vector<std::string>> split_fields(std::string_view line) {
  std::vector<std::string> fields;
  size_t i = 0;
  for (;;) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    std::string field;
    if (i < line.size() && line[i] == '"') {
      for (++i;; ++i) {
        if (i >= line.size()) return std::nullopt;
        if (line[i] != '"') {
          field += line[i];
        } else if (i + 1 < line.size() && line[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          ++i;
          break;
        }
      }
      const size_t comma = line.find(',', i);
      if (!trim(line.substr(i, comma - i)).empty()) return std::nullopt;  // "a"b
      i = comma;
    } else {
      const size_t comma = line.find(',', i);
      field = trim(line.substr(i, comma - i));
      i = comma;
    }
    fields.push_back(std::move(field));
    if (i == std::string_view::npos) return fields;
    ++i;
  }
}

enum class ParseStatus { ok, not_a_number, overflow, underflow };

// A whole field as a double. from_chars has no locale and no leading '+'.
// A number beyond the doubles either way is refused rather than rounded to
// infinity or to a zero the user did not write (subnormals are fine).
ParseStatus parse_number(std::string_view f, double& out) {
  if (!f.empty() && f[0] == '+') f.remove_prefix(1);
  if (f.empty() || f[0] == '+' || f[0] == ' ') return ParseStatus::not_a_number;
  const auto [end, ec] = std::from_chars(f.data(), f.data() + f.size(), out);
  if (end != f.data() + f.size()) return ParseStatus::not_a_number;
  if (ec == std::errc()) return ParseStatus::ok;
  if (ec != std::errc::result_out_of_range) return ParseStatus::not_a_number;
  return std::isinf(std::strtod(std::string(f).c_str(), nullptr)) ? ParseStatus::overflow
                                                                  : ParseStatus::underflow;
}

// The first line is a header only if none of its fields is a number (in
// range or not) and one is not empty: `x,y` and `,value` are headers;
// `1e999,2` and `0x10,1` are data, and their errors are reported.
bool is_header(const std::vector<std::string>& fields) {
  bool named = false;
  for (const std::string& f : fields) {
    double ignored;
    if (!f.empty() && parse_number(f, ignored) != ParseStatus::not_a_number) return false;
    named |= !f.empty();
  }
  return named;
}

class CsvParser {
 public:
  explicit CsvParser(const std::string& path) : path_(path) {}

  CsvTable parse(const std::vector<Line>& lines, int part, int parts) {
    if (lines.empty()) throw DataError(fmt::format("{}: empty file", path_));
    const auto first = fields_of(lines[0]);
    table_.cols = static_cast<int>(first.size());
    const bool header = is_header(first);
    if (header) table_.header = first;
    const size_t data = header ? 1 : 0;
    table_.all_rows = int64_t(lines.size() - data);
    if (table_.all_rows == 0)
      throw DataError(fmt::format("{}: no data rows (only a header)", path_));
    const Shard shard = shard_of(table_.all_rows, part, parts);
    table_.first_row = shard.first;
    for (size_t i = data; i < lines.size(); ++i) {
      const int64_t row = int64_t(i - data);
      if (row >= shard.first && row < shard.end)
        parse_row(lines[i]);
      else if (is_blank(lines[i].text))
        throw DataError(fmt::format("{}:{}: blank line inside the data", path_, lines[i].number));
    }
    return std::move(table_);
  }

 private:
  std::vector<std::string> fields_of(const Line& line) const {
    auto fields = split_fields(line.text);
    if (!fields)
      throw DataError(
          fmt::format("{}:{}: a quoted field is not closed on its line", path_, line.number));
    return std::move(*fields);
  }

  void parse_row(const Line& line) {
    if (is_blank(line.text))
      throw DataError(fmt::format("{}:{}: blank line inside the data", path_, line.number));
    const auto fields = fields_of(line);
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
        throw DataError(fmt::format("{}: not a number: '{}'", where, echoed(f)));
      case ParseStatus::overflow:
        throw DataError(
            fmt::format("{}: number out of range: '{}' (beyond ±1.8e308)", where, echoed(f)));
      case ParseStatus::underflow:
        throw DataError(fmt::format(
            "{}: number out of range: '{}' (not 0, but below the smallest double, 4.9e-324)", where,
            echoed(f)));
    }
    if (std::isnan(v)) throw DataError(fmt::format("{}: NaN", where));
    if (std::isinf(v)) throw DataError(fmt::format("{}: {}", where, v > 0 ? "inf" : "-inf"));
    return v;
  }

  const std::string& path_;
  CsvTable table_;
};

template <class T>
void append_rows(std::ostream& out, const T* values, int64_t rows, int cols) {
  for (int64_t r = 0; r < rows; ++r)
    out << fmt::format("{}\n", fmt::join(values + r * cols, values + (r + 1) * cols, ","));
}

template <class T>
void write_csv_values(const std::string& path, const std::vector<std::string>& header,
                      const T* values, int64_t rows, int cols) {
  if (!header.empty() && static_cast<int>(header.size()) != cols)
    throw std::invalid_argument("write_csv: header size differs from the column count");
  write_file_atomically(path, [&](std::ostream& out) {
    if (!header.empty()) out << csv_header_line(header);
    append_rows(out, values, rows, cols);
  });
}

}  // namespace

std::string csv_header_line(const std::vector<std::string>& header) {
  return fmt::format("{}\n", fmt::join(header, ","));
}

void append_csv_rows(std::ostream& out, const double* values, int64_t rows, int cols) {
  append_rows(out, values, rows, cols);
}

CsvTable read_csv(const std::string& path, int part, int parts) {
  const std::string text = read_text(path);
  return CsvParser(path).parse(split_lines(text), part, parts);
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

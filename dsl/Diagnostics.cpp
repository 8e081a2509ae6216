// Collecting user errors and printing them LLVM-style: the location, the
// message, the source line verbatim and a caret with '~' under the range.
#include "dsl/Diagnostics.hpp"

#include <algorithm>
#include <utility>

namespace nfc {

namespace {

// The text of 1-based line `line` without its terminator ("" past the end).
// A trailing '\r' is dropped so CRLF files print cleanly.
std::string_view line_text(std::string_view source, int line) {
  size_t start = 0;
  for (int i = 1; i < line; ++i) {
    const size_t nl = source.find('\n', start);
    if (nl == std::string_view::npos) return {};
    start = nl + 1;
  }
  size_t end = source.find('\n', start);
  if (end == std::string_view::npos) end = source.size();
  std::string_view text = source.substr(start, end - start);
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  return text;
}

// Spaces up to the column, a caret, then '~' for the rest of the range. The
// range is clipped to the end of the line (ranges never span lines in print).
std::string caret_line(std::string_view text, SourceRange at) {
  const int col = std::max(at.col, 1);
  std::string out(static_cast<size_t>(col - 1), ' ');
  out += '^';
  const int line_end = static_cast<int>(text.size());
  const int last = std::min(col + std::max(at.length, 1) - 1, std::max(line_end, col));
  out.append(static_cast<size_t>(last - col), '~');
  return out;
}

}  // namespace

Diagnostics::Diagnostics(std::string file_name, std::string_view source)
    : file_name_(std::move(file_name)), source_(source) {}

void Diagnostics::error(SourceRange at, std::string message) {
  errors_.push_back(Diagnostic{at, message, Diagnostic::Severity::error});
  all_.push_back(errors_.back());
}

void Diagnostics::warning(SourceRange at, std::string message) {
  all_.push_back(Diagnostic{at, std::move(message), Diagnostic::Severity::warning});
}

void Diagnostics::note(SourceRange at, std::string message) {
  all_.push_back(Diagnostic{at, std::move(message), Diagnostic::Severity::note});
}

namespace {

const char* severity_word(Diagnostic::Severity s) {
  switch (s) {
    case Diagnostic::Severity::error:
      return "error";
    case Diagnostic::Severity::warning:
      return "warning";
    case Diagnostic::Severity::note:
      return "note";
  }
  return "error";
}

}  // namespace

std::string Diagnostics::format(const Diagnostic& d) const {
  // Errors without a place in this file (line 0, e.g. inside the prelude)
  // print the message alone rather than a misleading source line.
  const std::string kind = severity_word(d.severity);
  if (d.at.line <= 0) return file_name_ + ": " + kind + ": " + d.message + "\n";
  const std::string_view text = line_text(source_, d.at.line);
  std::string out = file_name_ + ":" + std::to_string(d.at.line) + ":" +
                    std::to_string(std::max(d.at.col, 1)) + ": " + kind + ": " + d.message + "\n";
  out += text;
  out += '\n';
  out += caret_line(text, d.at);
  out += '\n';
  return out;
}

void Diagnostics::print(std::ostream& out) const {
  for (const Diagnostic& d : all_) out << format(d);
}

}  // namespace nfc

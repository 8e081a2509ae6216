// Collecting user errors and printing them LLVM-style: the location, the
// message, the source line verbatim and a caret with '~' under the range.
#include "dsl/Diagnostics.hpp"

#include <algorithm>
#include <utility>

#include "support/Utf8.hpp"

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

// Source lines longer than this are shown as a window around the caret.
constexpr int kMaxShown = 160;

// What is echoed of a source line, with the caret's column in it: `text`
// with every byte that is not printable (control bytes other than tab, DEL,
// malformed UTF-8) replaced by '?', cut to kMaxShown bytes around `col`
// with "..." marking each cut.
std::pair<std::string, int> shown_line(std::string_view text, int col) {
  size_t begin = 0, end = text.size();
  if (end > static_cast<size_t>(kMaxShown)) {
    const size_t at = static_cast<size_t>(std::max(col, 1) - 1);
    begin = at > kMaxShown / 2 ? std::min(at - kMaxShown / 2, end - kMaxShown) : 0;
    end = begin + kMaxShown;
  }
  std::string out = begin > 0 ? "..." : "";
  const int shift = static_cast<int>(out.size()) - static_cast<int>(begin);
  for (size_t i = begin; i < end;) {
    const auto c = static_cast<unsigned char>(text[i]);
    const int n = utf8_sequence_length(text, i);
    if (n > 1 && i + n <= end) {
      out.append(text.substr(i, n));
      i += n;
      continue;
    }
    out += (n == 1 && (c >= 0x20 || c == '\t') && c != 0x7F) ? static_cast<char>(c) : '?';
    ++i;
  }
  if (end < text.size()) out += "...";
  return {out, col + shift};
}

// Messages quote names and numbers from the source, which may be megabytes
// long: a message over kMaxMessage bytes keeps its start and its end (where
// hints are) around "...", cut at UTF-8 character boundaries.
constexpr size_t kMaxMessage = 300;

std::string shortened(std::string message) {
  if (message.size() <= kMaxMessage) return message;
  const auto boundary = [&](size_t i) {
    while (i > 0 && (static_cast<unsigned char>(message[i]) & 0xC0) == 0x80) --i;
    return i;
  };
  const size_t head = boundary(kMaxMessage * 2 / 3);
  const size_t tail = boundary(message.size() - kMaxMessage / 4);
  return message.substr(0, head) + "..." + message.substr(tail);
}

}  // namespace

Diagnostics::Diagnostics(std::string file_name, std::string_view source)
    : file_name_(std::move(file_name)), source_(source) {}

void Diagnostics::error(SourceRange at, std::string message) {
  if (saturated()) {
    ++dropped_;
    return;
  }
  errors_.push_back(Diagnostic{at, shortened(std::move(message)), Diagnostic::Severity::error});
  all_.push_back(errors_.back());
}

void Diagnostics::warning(SourceRange at, std::string message) {
  if (all_.size() >= static_cast<size_t>(kMaxDiagnostics)) {
    ++dropped_;
    return;
  }
  all_.push_back(Diagnostic{at, shortened(std::move(message)), Diagnostic::Severity::warning});
}

void Diagnostics::note(SourceRange at, std::string message) {
  if (all_.size() >= static_cast<size_t>(kMaxDiagnostics)) {
    ++dropped_;
    return;
  }
  all_.push_back(Diagnostic{at, shortened(std::move(message)), Diagnostic::Severity::note});
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
  const auto [shown, col] = shown_line(text, d.at.col);
  out += shown;
  out += '\n';
  out += caret_line(shown, SourceRange{d.at.line, col, d.at.length});
  out += '\n';
  return out;
}

void Diagnostics::print(std::ostream& out) const {
  for (const Diagnostic& d : all_) out << format(d);
  if (saturated()) {
    out << file_name_ << ": note: too many errors; only the first " << kMaxErrors << " are shown\n";
  } else if (dropped_ > 0) {
    out << file_name_ << ": note: " << dropped_ << " more warnings and notes not shown\n";
  }
}

}  // namespace nfc

// User-facing errors in the LLVM style:
//
//   model.nf:12:7: error: unknown layer 'coupl'; did you mean 'coupling'?
//     coupl affine(mask = alternate) {
//     ^~~~~
//
// User mistakes go here; compiler bugs are InternalError
// (support/InternalError.hpp) and have their own exit code.
#pragma once

#include <cstdint>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "dsl/SourceRange.hpp"

namespace nfc {

struct Diagnostic {
  enum class Severity { error, warning, note };
  SourceRange at;
  std::string message;
  Severity severity = Severity::error;
};

// At most this many errors are kept and printed; later ones are counted and
// dropped, and the lexer stops reading once it is reached. A hostile file
// (megabytes of garbage) so costs time and memory for its first errors only.
inline constexpr int kMaxErrors = 100;
// Warnings and notes are capped likewise, at this many diagnostics in all.
inline constexpr int kMaxDiagnostics = 300;

class Diagnostics {
 public:
  // `file_name` is printed as given; `source` must outlive this object.
  Diagnostics(std::string file_name, std::string_view source);

  void error(SourceRange at, std::string message);
  // Warnings and notes do not make a model invalid; they print the same way
  // with "warning:" / "note:" instead of "error:".
  void warning(SourceRange at, std::string message);
  void note(SourceRange at, std::string message);
  bool has_errors() const { return !errors_.empty(); }
  // Whether the error limit is reached: more errors would be dropped.
  bool saturated() const { return errors_.size() >= static_cast<size_t>(kMaxErrors); }
  // Diagnostics dropped over the limits (printed as one closing note).
  int64_t dropped() const { return dropped_; }
  void add_dropped(int64_t n) { dropped_ += n; }
  const std::vector<Diagnostic>& errors() const { return errors_; }
  const std::vector<Diagnostic>& all() const { return all_; }

  // Every diagnostic, in the order reported, each as
  // "file:line:col: error: message\n<source line>\n<caret line>\n", then
  // "file: note: ..." if some were dropped. The source line is shown as
  // printable text (control bytes and malformed UTF-8 as '?', byte for
  // byte, so the caret stays in place) and, if long, only around the caret.
  void print(std::ostream& out) const;
  std::string format(const Diagnostic& d) const;

  const std::string& file_name() const { return file_name_; }

 private:
  std::string file_name_;
  std::string_view source_;
  std::vector<Diagnostic> errors_;
  std::vector<Diagnostic> all_;  // errors, warnings and notes in order
  int64_t dropped_ = 0;
};

}  // namespace nfc

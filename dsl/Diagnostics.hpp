// User-facing errors in the LLVM style:
//
//   model.nf:12:7: error: unknown layer 'coupl'; did you mean 'coupling'?
//     coupl affine(mask = alternate) {
//     ^~~~~
//
// User mistakes go here; compiler bugs are InternalError (see below) and have
// their own exit code.
#pragma once

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
  const std::vector<Diagnostic>& errors() const { return errors_; }
  const std::vector<Diagnostic>& all() const { return all_; }

  // Every diagnostic, in the order reported, each as
  // "file:line:col: error: message\n<source line>\n<caret line>\n".
  void print(std::ostream& out) const;
  std::string format(const Diagnostic& d) const;

  const std::string& file_name() const { return file_name_; }

 private:
  std::string file_name_;
  std::string_view source_;
  std::vector<Diagnostic> errors_;
  std::vector<Diagnostic> all_;  // errors, warnings and notes in order
};

// Thrown when the compiler breaks one of its own invariants (a bug in nfc,
// never a user mistake). The CLI maps it to exit code 70.
class InternalError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

// Throws InternalError with `what` if `cond` is false.
inline void internal_check(bool cond, const char* what) {
  if (!cond) throw InternalError(what);
}

}  // namespace nfc

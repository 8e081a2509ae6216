// The front end as one call: lex, parse, prelude, sema.
#include "compiler/sema/Frontend.hpp"

#include <algorithm>

#include "compiler/sema/Prelude.hpp"
#include "compiler/sema/Sema.hpp"
#include "dsl/Parser.hpp"

namespace nfc {

std::optional<FlowSpec> check_source(std::string_view source, Diagnostics& diags) {
  // Sema runs even after syntax errors: the parser keeps what it could read
  // (marking broken parts), so one run reports problems of both kinds. They
  // are collected apart and handed on in source order, to read top-down,
  // warnings and notes with them.
  Diagnostics local(diags.file_name(), source);
  const ast::File file = parse(source, local);
  std::optional<FlowSpec> spec = analyze(prelude(), file, local);
  std::vector<Diagnostic> all = local.all();
  std::stable_sort(all.begin(), all.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return a.at.line != b.at.line ? a.at.line < b.at.line : a.at.col < b.at.col;
  });
  for (Diagnostic& d : all) {
    switch (d.severity) {
      case Diagnostic::Severity::error:
        diags.error(d.at, std::move(d.message));
        break;
      case Diagnostic::Severity::warning:
        diags.warning(d.at, std::move(d.message));
        break;
      case Diagnostic::Severity::note:
        diags.note(d.at, std::move(d.message));
        break;
    }
  }
  diags.add_dropped(local.dropped());
  if (local.has_errors()) return std::nullopt;
  return spec;
}

}  // namespace nfc

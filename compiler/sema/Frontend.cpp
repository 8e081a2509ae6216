// The front end as one call: lex, parse, prelude, sema.
#include "compiler/sema/Frontend.hpp"

#include <algorithm>

#include "compiler/sema/Prelude.hpp"
#include "compiler/sema/Sema.hpp"
#include "compiler/sema/SemaTarget.hpp"
#include "dsl/Parser.hpp"

namespace nfc {

namespace {

// Sema runs even after syntax errors: the parser keeps what it could read
// (marking broken parts), so one run reports problems of both kinds. They
// are collected apart and handed on in source order, to read top-down,
// warnings and notes with them.
void hand_on_in_order(Diagnostics& local, Diagnostics& diags) {
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
}

}  // namespace

std::optional<FlowSpec> check_source(std::string_view source, Diagnostics& diags) {
  Diagnostics local(diags.file_name(), source);
  const ast::File file = parse(source, local);
  std::optional<FlowSpec> spec = analyze(prelude(), file, local);
  hand_on_in_order(local, diags);
  if (local.has_errors()) return std::nullopt;
  return spec;
}

std::optional<std::vector<TargetSpec>> check_target_source(std::string_view source, int dim,
                                                           Diagnostics& diags) {
  Diagnostics local(diags.file_name(), source);
  const ast::File file = parse(source, local);
  for (const ast::Flow& f : file.flows)
    local.error(f.keyword, "a target file holds targets only: the flow is in the model file");
  for (const ast::Transform& t : file.transforms)
    local.error(t.keyword, "a target file holds targets only: transforms belong to the model file");
  if (file.targets.empty() && !local.has_errors())
    local.error(file.end, "missing target: a target file must define 'target NAME { logp = ... }'");
  std::vector<TargetSpec> targets = check_targets(
      file.targets, dim, [&](SourceRange at, std::string m) { local.error(at, std::move(m)); });
  hand_on_in_order(local, diags);
  if (local.has_errors()) return std::nullopt;
  return targets;
}

}  // namespace nfc

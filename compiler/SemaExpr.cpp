// Name and call checks over expressions. Recursion is bounded: the parser
// limits expression height (kMaxExprHeight).
#include "compiler/SemaExpr.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>

#include "dsl/Suggest.hpp"

namespace nfc {

namespace {

const ExprFunction* find_function(const std::string& name) {
  for (const ExprFunction& f : kExprFunctions)
    if (name == f.name) return &f;
  return nullptr;
}

void check_call(const Expr& e, const Reporter& report) {
  // Point at the function name, not the whole call.
  const SourceRange name_loc{e.loc.line, e.loc.col, static_cast<int>(e.name.size())};
  const ExprFunction* f = find_function(e.name);
  if (!f) {
    std::vector<std::string> known;
    for (const ExprFunction& k : kExprFunctions) known.push_back(k.name);
    report(name_loc, fmt::format("unknown function '{}'{}", e.name, did_you_mean(e.name, known)));
  } else if (static_cast<int>(e.args.size()) != f->arity) {
    report(e.loc, fmt::format("function '{}' takes {} argument{}, got {}", e.name, f->arity,
                              f->arity == 1 ? "" : "s", e.args.size()));
  }
}

}  // namespace

void check_expr(const Expr& e, const NameCheck& check, const Reporter& report) {
  switch (e.kind) {
    case Expr::Kind::number:
      return;
    case Expr::Kind::name: {
      std::string message = check(e.name);
      if (!message.empty()) report(e.loc, std::move(message));
      return;
    }
    case Expr::Kind::call:
      check_call(e, report);
      break;
    case Expr::Kind::neg:
    case Expr::Kind::binary:
    case Expr::Kind::compare:
      break;
    case Expr::Kind::index: {
      std::string message = check(e.name);
      if (!message.empty()) report(e.loc, std::move(message));
      return;
    }
  }
  for (const ExprPtr& arg : e.args) check_expr(*arg, check, report);
}

bool uses_name(const Expr& e, std::string_view name) {
  if (e.kind == Expr::Kind::name) return e.name == name;
  return std::any_of(e.args.begin(), e.args.end(),
                     [&](const ExprPtr& arg) { return uses_name(*arg, name); });
}

}  // namespace nfc

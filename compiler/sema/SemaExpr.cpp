// Name and call checks over expressions. Recursion is bounded: the parser
// limits expression height (kMaxExprHeight).
#include "compiler/sema/SemaExpr.hpp"

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

// How the arity message spells the arguments of functions with more than one.
std::string_view signature(std::string_view name) {
  if (name == "min" || name == "max") return " (a, b)";
  if (name == "clamp") return " (x, lo, hi)";
  if (name == "where") return " (cond, a, b)";
  return "";
}

void check_call(const Expr& e, const Reporter& report, const std::set<std::string>& transforms) {
  // Point at the function name, not the whole call.
  const SourceRange name_loc{e.loc.line, e.loc.col, static_cast<int>(e.name.size())};
  const ExprFunction* f = find_function(e.name);
  if (!f && transforms.contains(e.name)) {
    report(name_loc, fmt::format("cannot call transform '{}': transforms are applied by coupling "
                                 "layers, not called in expressions",
                                 e.name));
  } else if (!f) {
    std::vector<std::string> known;
    for (const ExprFunction& k : kExprFunctions) known.push_back(k.name);
    report(name_loc, fmt::format("unknown function '{}'{}", e.name, did_you_mean(e.name, known)));
  } else if (static_cast<int>(e.args.size()) != f->arity) {
    report(e.loc, fmt::format("function '{}' takes {} argument{}{}, got {}", e.name, f->arity,
                              f->arity == 1 ? "" : "s", signature(e.name), e.args.size()));
  }
}

// `is_condition`: `e` is the first argument of where().
void check(const Expr& e, bool is_condition, const NameCheck& check_name, const Reporter& report,
           const std::set<std::string>& transforms) {
  switch (e.kind) {
    case Expr::Kind::number:
      return;
    case Expr::Kind::name:
    case Expr::Kind::index: {
      std::string message = check_name(e);
      if (!message.empty()) report(e.loc, std::move(message));
      return;
    }
    case Expr::Kind::compare:
      if (!is_condition)
        report(e.loc, "a comparison can only be the condition of where(cond, a, b)");
      break;
    case Expr::Kind::call:
      check_call(e, report, transforms);
      if (e.name == "where" && !e.args.empty()) {
        const Expr& cond = *e.args[0];
        if (cond.kind != Expr::Kind::compare) {
          report(cond.loc,
                 "the condition of where(cond, a, b) must be a comparison: one of < <= > >= == !=");
        }
        check(cond, true, check_name, report, transforms);
        for (size_t i = 1; i < e.args.size(); ++i)
          check(*e.args[i], false, check_name, report, transforms);
        return;
      }
      break;
    case Expr::Kind::neg:
    case Expr::Kind::binary:
      break;
  }
  for (const ExprPtr& arg : e.args) check(*arg, false, check_name, report, transforms);
}

}  // namespace

void check_expr(const Expr& e, const NameCheck& check_name, const Reporter& report,
                const std::set<std::string>& transforms) {
  check(e, false, check_name, report, transforms);
}

bool uses_name(const Expr& e, std::string_view name) {
  if (e.kind == Expr::Kind::name || e.kind == Expr::Kind::index) return e.name == name;
  return std::any_of(e.args.begin(), e.args.end(),
                     [&](const ExprPtr& arg) { return uses_name(*arg, name); });
}

void collect_names(const Expr& e, std::set<std::string>& out) {
  if (e.kind == Expr::Kind::name || e.kind == Expr::Kind::index) out.insert(e.name);
  for (const ExprPtr& arg : e.args) collect_names(*arg, out);
}

}  // namespace nfc

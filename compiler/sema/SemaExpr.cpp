// Name and call checks over expressions. Recursion is bounded: the parser
// limits expression height (kMaxExprHeight).
#include "compiler/sema/SemaExpr.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
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
  if (name == "min" || name == "max" || name == "logaddexp") return " (a, b)";
  if (name == "dot") return " (u, v)";
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

// "x0..x3" (or "x0" for dim 1): how messages name the valid indexed names.
std::string index_range(char prefix, int dim) {
  if (dim == 1) return fmt::format("{}0", prefix);
  return fmt::format("{}0..{}{}", prefix, prefix, dim - 1);
}

// `x12` -> 12 for prefix 'x'. Not an indexed name (nullopt): other letters,
// no digits, leading zeros ("x01"). Indices too large for int64 saturate.
std::optional<int64_t> indexed_name(std::string_view name, char prefix) {
  if (name.size() < 2 || name[0] != prefix) return std::nullopt;
  const std::string_view digits = name.substr(1);
  if (digits.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
  if (digits.size() > 1 && digits[0] == '0') return std::nullopt;
  int64_t index = 0;
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
  if (ec == std::errc::result_out_of_range) return INT64_MAX;
  return index;
}

bool is_function(std::string_view name) {
  return std::any_of(std::begin(kExprFunctions), std::end(kExprFunctions),
                     [&](const ExprFunction& f) { return name == f.name; });
}

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

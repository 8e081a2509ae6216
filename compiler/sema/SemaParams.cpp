// One `param` declaration: NAME[size] = init constraint.
#include "compiler/sema/SemaParams.hpp"

#include <fmt/format.h>

#include <cmath>
#include <string>
#include <vector>

#include "dsl/Suggest.hpp"

namespace nfc {

namespace {

// One initial value, with how messages name and show it.
struct Init {
  double value = 0;
  SourceRange loc;
  std::string text;  // as written: "-1", "0.5"
  std::string what;  // "a", or "v[1]" for an element of a list
};

// The initial values as written (one for `= 0.1`, one per item for a list),
// or nullopt after reporting.
std::optional<std::vector<Init>> read_init(const ast::Param& p, std::optional<int64_t> size,
                                           const Reporter& report) {
  const std::string& name = p.name.text;
  const ast::Value& v = p.init;
  switch (v.kind) {
    case ast::Value::Kind::error:
      return std::nullopt;
    case ast::Value::Kind::number:
      return std::vector<Init>{Init{v.number, v.loc, v.text, name}};
    case ast::Value::Kind::list:
      break;
    case ast::Value::Kind::name:
    case ast::Value::Kind::call:
      report(v.loc, fmt::format("the initial value of '{}' must be a number or a list of "
                                "numbers, found {}",
                                name, describe(v)));
      return std::nullopt;
  }
  bool ok = true;
  std::vector<Init> out;
  for (size_t i = 0; i < v.items.size(); ++i) {
    const ast::Value& item = v.items[i];
    if (item.kind == ast::Value::Kind::number) {
      out.push_back(Init{item.number, item.loc, item.text, fmt::format("{}[{}]", name, i)});
      continue;
    }
    if (item.kind != ast::Value::Kind::error) {
      report(item.loc,
             fmt::format("elements of '{}' must be numbers, found {}", name, describe(item)));
    }
    ok = false;
  }
  if (v.items.empty()) {
    report(v.loc, fmt::format("vector '{}' needs at least one element", name));
    return std::nullopt;
  }
  if (v.items.size() > static_cast<size_t>(kMaxParamSize)) {
    report(v.loc, fmt::format("vector '{}' has {} elements (limit {})", name, v.items.size(),
                              kMaxParamSize));
    return std::nullopt;
  }
  if (size && static_cast<size_t>(*size) != v.items.size()) {
    report(v.loc, fmt::format("'{}' is declared with {} elements but its list has {}", name, *size,
                              v.items.size()));
    return std::nullopt;
  }
  if (!ok) return std::nullopt;
  return out;
}

bool is_number(const ast::Value& v, const Reporter& report) {
  if (v.kind == ast::Value::Kind::number) return true;
  if (v.kind != ast::Value::Kind::error) {
    report(v.loc, fmt::format("interval bounds must be numbers, found {}", describe(v)));
  }
  return false;
}

// Fills the constraint of `out`; false after reporting.
bool read_constraint(const ast::Param& p, ParamDecl& out, const Reporter& report) {
  switch (p.constraint) {
    case ast::Param::Constraint::none:
      return true;
    case ast::Param::Constraint::word: {
      if (p.word.text == "positive") {
        out.constraint = ParamDecl::Constraint::positive;
        return true;
      }
      std::string hint = did_you_mean(p.word.text, {"positive"});
      if (hint.empty()) hint = "; expected 'positive' or an interval '(lo, hi)'";
      report(p.word.loc, fmt::format("unknown constraint '{}'{}", p.word.text, hint));
      return false;
    }
    case ast::Param::Constraint::interval: {
      const bool lo_ok = is_number(p.lo, report);
      const bool hi_ok = is_number(p.hi, report);
      if (!lo_ok || !hi_ok) return false;
      if (!(p.lo.number < p.hi.number)) {
        report(p.constraint_loc,
               fmt::format("empty interval ({}, {}) for '{}': the lower bound must be less than "
                           "the upper",
                           p.lo.text, p.hi.text, p.name.text));
        return false;
      }
      if (!std::isfinite(p.hi.number - p.lo.number)) {
        report(p.constraint_loc, fmt::format("interval ({}, {}) for '{}' is too wide", p.lo.text,
                                             p.hi.text, p.name.text));
        return false;
      }
      out.constraint = ParamDecl::Constraint::interval;
      out.lo = p.lo.number;
      out.hi = p.hi.number;
      return true;
    }
  }
  return false;
}

// Inside (lo, hi) also after rounding: the raw value is
// logit((v - lo) / (hi - lo)), infinite when that fraction rounds to 0 or 1.
bool strictly_inside(double v, double lo, double hi) {
  const double u = (v - lo) / (hi - lo);
  return lo < v && v < hi && u > 0 && u < 1;
}

}  // namespace

std::optional<ParamDecl> resolve_param(const ast::Param& p, const Reporter& report) {
  ParamDecl out;
  out.name = p.name.text;
  out.loc = p.name.loc;
  bool ok = true;
  std::optional<int64_t> size;
  if (p.has_size) {
    out.is_vector = true;
    size = integer_in_range(p.size, fmt::format("the size of '{}'", p.name.text), 1, kMaxParamSize,
                            report);
    ok = size.has_value();
  }
  if (p.init.kind == ast::Value::Kind::list) out.is_vector = true;
  const std::optional<std::vector<Init>> inits = read_init(p, size, report);
  const bool constraint_ok = read_constraint(p, out, report);
  if (!inits || !constraint_ok) return std::nullopt;
  for (const Init& init : *inits) {
    if (out.constraint == ParamDecl::Constraint::positive && !(init.value > 0)) {
      report(init.loc,
             fmt::format("initial value {} of '{}' is not positive", init.text, init.what));
      ok = false;
    } else if (out.constraint == ParamDecl::Constraint::interval &&
               !strictly_inside(init.value, out.lo, out.hi)) {
      const bool inside = out.lo < init.value && init.value < out.hi;
      report(init.loc,
             fmt::format("initial value {} of '{}' is {} ({}, {})", init.text, init.what,
                         inside ? "too close to a bound of" : "not inside", p.lo.text, p.hi.text));
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  if (p.init.kind == ast::Value::Kind::list) {
    for (const Init& init : *inits) out.init.push_back(init.value);
  } else {
    out.init.assign(static_cast<size_t>(size.value_or(1)), inits->front().value);
  }
  return out;
}

}  // namespace nfc

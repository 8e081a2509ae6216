// The base distributions and their arguments. Each base's settings are
// fixed numbers; learnable base parameters (means, scales, weights) are
// declared when the graph is built (compiler/BaseDensity).
#include "compiler/sema/SemaBase.hpp"

#include <fmt/format.h>

#include <cmath>
#include <string_view>

#include "dsl/Suggest.hpp"

namespace nfc {

namespace {

// The finite number written at `key`, or nullopt (reported if present but
// not a finite number).
std::optional<double> finite_number(const ArgList& args, std::string_view key,
                                    const Reporter& report) {
  const ast::Value* v = args.find(key);
  if (!v || v->kind == ast::Value::Kind::error) return std::nullopt;
  if (v->kind == ast::Value::Kind::number && std::isfinite(v->number)) return v->number;
  report(v->loc, fmt::format("'{}' must be a number, found {}", key, describe(*v)));
  return std::nullopt;
}

// uniform(low = a, high = b): both optional (0 and 1), a < b.
std::optional<BaseSettings> uniform_base(const ast::Value& v, const Reporter& report) {
  const ArgList args(v.args, "'uniform'", {"low", "high"}, report);
  BaseSettings b{.kind = BaseKind::uniform};
  const ast::Value *low = args.find("low"), *high = args.find("high");
  const auto lo = finite_number(args, "low", report), hi = finite_number(args, "high", report);
  if ((low && !lo) || (high && !hi)) return std::nullopt;
  b.low = lo.value_or(0);
  b.high = hi.value_or(1);
  if (b.low < b.high && std::isfinite(b.high - b.low)) return b;
  report(
      high ? high->loc : low->loc,
      fmt::format("uniform base needs low < high, found low = {:g}, high = {:g}", b.low, b.high));
  return std::nullopt;
}

// mixture(components = K), 1 <= K <= kMaxMixtureComponents.
std::optional<BaseSettings> mixture_base(const ast::Value& v, const Reporter& report) {
  const ArgList args(v.args, "'mixture'", {"components"}, report);
  const ast::Value* k = args.require("components", v.loc);
  if (!k) return std::nullopt;
  const auto n = integer_in_range(*k, "'components'", 1, kMaxMixtureComponents, report);
  if (!n) return std::nullopt;
  return BaseSettings{.kind = BaseKind::mixture, .components = static_cast<int>(*n)};
}

// student_t(df = nu), nu > 0 (any positive real: nu = 1 is the Cauchy).
std::optional<BaseSettings> student_t_base(const ast::Value& v, const Reporter& report) {
  const ArgList args(v.args, "'student_t'", {"df"}, report);
  const ast::Value* df = args.require("df", v.loc);
  if (!df) return std::nullopt;
  const auto nu = finite_number(args, "df", report);
  if (!nu) return std::nullopt;
  if (*nu > 0) return BaseSettings{.kind = BaseKind::student_t, .df = *nu};
  report(df->loc, fmt::format("'df' must be a number > 0, found {}", describe(*df)));
  return std::nullopt;
}

}  // namespace

std::optional<BaseSettings> resolve_base(const ast::Value& v, const Reporter& report) {
  if (v.kind == ast::Value::Kind::error) return std::nullopt;
  const bool named = v.kind == ast::Value::Kind::name || v.kind == ast::Value::Kind::call;
  if (named && v.text == "uniform") return uniform_base(v, report);
  if (named && v.text == "mixture") return mixture_base(v, report);
  if (named && v.text == "student_t") return student_t_base(v, report);
  if (named && (v.text == "normal" || v.text == "diag_normal")) {
    ArgList(v.args, fmt::format("'{}'", v.text), {}, report);
    return BaseSettings{.kind =
                            v.text == "normal" ? BaseKind::standard_normal : BaseKind::diag_normal};
  }
  std::string hint =
      named ? did_you_mean(v.text, {"normal", "diag_normal", "uniform", "mixture", "student_t"})
            : "";
  if (hint.empty())
    hint =
        "; expected 'normal', 'diag_normal', 'uniform', 'mixture(components = K)' or "
        "'student_t(df = nu)'";
  report(v.loc, fmt::format("unknown base distribution {}{}", describe(v), hint));
  return std::nullopt;
}

}  // namespace nfc

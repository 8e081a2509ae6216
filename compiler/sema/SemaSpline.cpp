// The spline's settings: integer bins, a positive bound, and minima that
// keep every bin width, height and knot derivative positive (so the spline
// is strictly increasing and its formulas never divide by zero).
#include "compiler/sema/SemaSpline.hpp"

#include <fmt/format.h>

#include <cmath>

namespace nfc {

namespace {

// The number written at `key`, if present and > 0 and <= `max` (after
// reporting otherwise, naming `max_text` as the limit).
void read_positive(const ArgList& args, std::string_view key, double max, std::string_view limit,
                   double& out, bool& ok, const Reporter& report) {
  const ast::Value* v = args.find(key);
  if (!v || v->kind == ast::Value::Kind::error) return;
  if (v->kind == ast::Value::Kind::number && v->number > 0 && v->number <= max &&
      std::isfinite(v->number)) {
    out = v->number;
    return;
  }
  report(v->loc, fmt::format("'{}' must be a number > 0{}, found {}", key, limit, describe(*v)));
  ok = false;
}

}  // namespace

std::optional<SplineSpec> resolve_spline(const ArgList& args, const Reporter& report) {
  SplineSpec s;
  bool ok = true;
  if (const ast::Value* v = args.find("bins")) {
    const auto bins = integer_in_range(*v, "'bins'", 1, kMaxSplineBins, report);
    ok = ok && bins.has_value();
    if (bins) s.bins = static_cast<int>(*bins);
  }
  read_positive(args, "bound", INFINITY, "", s.bound, ok, report);
  // K bins of at least min_width must fit: min_width * K <= 1.
  const double max_share = 1.0 / s.bins;
  const std::string limit = fmt::format(" and at most 1/bins = {:g}", max_share);
  read_positive(args, "min_width", max_share, limit, s.min_width, ok, report);
  read_positive(args, "min_height", max_share, limit, s.min_height, ok, report);
  read_positive(args, "min_derivative", INFINITY, "", s.min_derivative, ok, report);
  if (!ok) return std::nullopt;
  return s;
}

}  // namespace nfc

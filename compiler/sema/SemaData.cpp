#include "compiler/sema/SemaData.hpp"

#include <fmt/format.h>

#include <cmath>

namespace nfc {

namespace {

ExprPtr number(double v, SourceRange loc) {
  auto e = std::make_shared<Expr>();
  e->kind = Expr::Kind::number;
  e->value = v;
  e->loc = loc;
  return e;
}

ExprPtr input(SourceRange loc) {
  auto e = std::make_shared<Expr>();
  e->kind = Expr::Kind::name;
  e->name = "x";
  e->loc = loc;
  return e;
}

ExprPtr binary(char op, ExprPtr a, ExprPtr b, SourceRange loc) {
  auto e = std::make_shared<Expr>();
  e->kind = Expr::Kind::binary;
  e->op = op;
  e->args = {std::move(a), std::move(b)};
  e->loc = loc;
  return e;
}

}  // namespace

std::optional<int> resolve_levels(const ArgList& args, SourceRange at, const Reporter& report) {
  const ast::Value* v = args.require("levels", at);
  if (!v) return std::nullopt;
  const auto levels = integer_in_range(*v, "'levels'", 2, kMaxLevels, report);
  if (!levels) return std::nullopt;
  return static_cast<int>(*levels);
}

std::optional<double> resolve_alpha(const ast::Value& v, const Reporter& report) {
  if (v.kind == ast::Value::Kind::number && v.number >= 0 && v.number < 0.5) return v.number;
  if (v.kind != ast::Value::Kind::error)
    report(v.loc, fmt::format("'alpha' must be a number in [0, 0.5), found {}", describe(v)));
  return std::nullopt;
}

ExprPtr dequantize_body(int levels, SourceRange loc) {
  return binary('/', input(loc), number(levels, loc), loc);
}

ExprPtr squeezed_logit_body(double alpha, SourceRange loc) {
  auto call = std::make_shared<Expr>();
  call->kind = Expr::Kind::call;
  call->name = "logit";
  call->loc = loc;
  call->args = {binary('+', number(alpha, loc),
                       binary('*', number(1 - 2 * alpha, loc), input(loc), loc), loc)};
  return call;
}

std::optional<std::vector<int>> resolve_image(const ast::Value& v, int dim,
                                              const Reporter& report) {
  if (v.kind == ast::Value::Kind::error) return std::nullopt;
  if (v.kind != ast::Value::Kind::list || v.items.size() != 3) {
    report(v.loc,
           fmt::format("'image' must be a list [height, width, channels], found {}",
                       v.kind == ast::Value::Kind::list ? fmt::format("{} values", v.items.size())
                                                        : describe(v)));
    return std::nullopt;
  }
  std::vector<int> shape;
  for (const ast::Value& item : v.items) {
    const auto n = integer_in_range(item, "an image size", 1, kMaxLevels, report);
    if (!n) return std::nullopt;
    shape.push_back(static_cast<int>(*n));
  }
  if (shape[2] != 1 && shape[2] != 3) {
    report(v.items[2].loc,
           fmt::format("an image has 1 channel (grey) or 3 (RGB), not {}", shape[2]));
    return std::nullopt;
  }
  const int64_t size = int64_t{shape[0]} * shape[1] * shape[2];
  if (dim > 0 && size != dim) {
    report(v.loc, fmt::format("an image of {} x {} x {} has {} values, but the flow's dim is {}",
                              shape[0], shape[1], shape[2], size, dim));
    return std::nullopt;
  }
  return shape;
}

}  // namespace nfc

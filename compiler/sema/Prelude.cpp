// The prelude: standard transforms as .nf text.
#include "compiler/sema/Prelude.hpp"

#include <sstream>

#include "dsl/Diagnostics.hpp"
#include "dsl/Parser.hpp"
#include "support/InternalError.hpp"

namespace nfc {

namespace {

constexpr std::string_view kPrelude = R"nf(
# RealNVP: scale by exp(s), then shift by t
transform affine(x; s, t) = x * exp(s) + t
# NICE: shift only (volume preserving)
transform additive(x; t) = x + t
# A normal N(mean, exp(log_scale)^2) onto N(0, 1): the conditional
# diag_normal base's last layer
transform standardize(x; mean, log_scale) = (x - mean) * exp(-log_scale)
)nf";

// A copy of `e` with every source range cleared.
ExprPtr without_locations(const ExprPtr& e) {
  if (!e) return e;
  auto copy = std::make_shared<Expr>(*e);
  copy->loc = SourceRange{0, 0, 1};
  for (ExprPtr& arg : copy->args) arg = without_locations(arg);
  return copy;
}

ast::File parse_prelude() {
  Diagnostics diags("<prelude>", kPrelude);
  ast::File file = parse(kPrelude, diags);
  if (diags.has_errors() || !file.flows.empty()) {
    std::ostringstream out;
    diags.print(out);
    throw InternalError("the prelude does not parse:\n" + out.str());
  }
  for (ast::Transform& t : file.transforms) {
    t.keyword = t.name.loc = t.input.loc = SourceRange{0, 0, 1};
    for (ast::Name& p : t.params) p.loc = SourceRange{0, 0, 1};
    t.body = without_locations(t.body);
  }
  return file;
}

}  // namespace

std::string_view prelude_source() {
  return kPrelude;
}

const ast::File& prelude() {
  static const ast::File file = parse_prelude();
  return file;
}

}  // namespace nfc

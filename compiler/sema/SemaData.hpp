// The declarations that say what the data are: `dequantize(levels = L)`
// (integer data spread over [0, L)), `elementwise logit(alpha = a)` (the
// squeezed logit of the RealNVP and MAF papers) and the flow's
// `image = [H, W, C]`. The two layers become parameterless transforms whose
// bodies are built here, so derivation, log-det and inverse are the
// elementwise layer's.
#pragma once

#include <optional>
#include <vector>

#include "compiler/sema/SemaArgs.hpp"
#include "dsl/Expr.hpp"

namespace nfc {

inline constexpr int kMaxLevels = 65536;

// `levels` of a dequantize layer: an integer in [2, kMaxLevels].
std::optional<int> resolve_levels(const ArgList& args, SourceRange at, const Reporter& report);

// `alpha` of a squeezed logit: a number in [0, 0.5).
std::optional<double> resolve_alpha(const ast::Value& v, const Reporter& report);

// x / levels: integer data plus uniform noise in [0, levels) onto [0, 1).
ExprPtr dequantize_body(int levels, SourceRange loc);
// logit(alpha + (1 - 2 alpha) x): [0, 1] onto a finite interval.
ExprPtr squeezed_logit_body(double alpha, SourceRange loc);

// `image = [H, W, C]`: positive integers, C 1 (grey) or 3 (RGB), whose
// product is `dim`.
std::optional<std::vector<int>> resolve_image(const ast::Value& v, int dim, const Reporter& report);

}  // namespace nfc

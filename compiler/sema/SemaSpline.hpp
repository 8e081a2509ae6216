// Checking the built-in spline transformer's arguments:
// `coupling spline(mask = ..., bins = 8, bound = 3, min_width = 1e-3, ...)`.
#pragma once

#include <optional>
#include <string_view>

#include "compiler/sema/FlowSpec.hpp"
#include "compiler/sema/SemaArgs.hpp"

namespace nfc {

// The name a layer uses for the spline; no `.nf` transform may take it.
inline constexpr std::string_view kSplineName = "spline";
inline constexpr int kMaxSplineBins = 1024;

// The settings from the layer's arguments (defaults for those absent), or
// nullopt after reporting each invalid one.
std::optional<SplineSpec> resolve_spline(const ArgList& args, const Reporter& report);

}  // namespace nfc

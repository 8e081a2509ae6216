// Checking the flow's base distribution, `base = ...` in the flow header:
// normal, diag_normal, uniform, uniform(low = a, high = b),
// mixture(components = K), student_t(df = nu).
#pragma once

#include <optional>

#include "compiler/sema/FlowSpec.hpp"
#include "compiler/sema/SemaArgs.hpp"

namespace nfc {

inline constexpr int kMaxMixtureComponents = 1024;

// The base the value names, with its arguments checked, or nullopt after
// reporting why not (nothing is reported for a value that did not parse).
std::optional<BaseSettings> resolve_base(const ast::Value& v, const Reporter& report);

}  // namespace nfc

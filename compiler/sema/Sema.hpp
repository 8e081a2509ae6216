// Semantic analysis: syntax tree to checked FlowSpec. Resolves transform
// names, reads typed arguments, builds masks and permutations, unrolls
// repeats and checks names in every expression.
#pragma once

#include <cstdint>
#include <optional>

#include "compiler/sema/FlowSpec.hpp"
#include "dsl/Ast.hpp"
#include "dsl/Diagnostics.hpp"

namespace nfc {

inline constexpr int kMaxDim = 4096;
inline constexpr int kMaxRepeat = 10000;
inline constexpr int kMaxHiddenWidth = 65536;
// After unrolling repeats: at most this many layers ...
inline constexpr int64_t kMaxLayers = 100000;
// ... and layers x dim at most this (bounds the memory of masks and
// permutations: 16M indices).
inline constexpr int64_t kMaxLayerEntries = int64_t{1} << 24;

// Checks `file` against the standard transforms of `prelude` (which must be
// error-free) and reports each problem to `diags`, in source order. Returns
// the model iff nothing was reported.
std::optional<FlowSpec> analyze(const ast::File& prelude, const ast::File& file,
                                Diagnostics& diags);

}  // namespace nfc

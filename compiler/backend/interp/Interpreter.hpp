// Reference evaluation of a Program entry point in double precision, one
// sample at a time. It is the oracle the backends are tested against, so it
// stays as plain as the semantics in Ops.def: no vectorization, no reuse of
// buffers, the obvious loop for every structural op.
#pragma once

#include <cstdint>
#include <vector>

#include "compiler/ir/Program.hpp"
#include "support/InternalError.hpp"

namespace nfc {

// Evaluates `entry` on one sample: the node `entry.input` is bound to
// `in_row`, params to their slices of `params`. Returns one vector per output,
// each of that output's length. Throws InternalError on a `var` node (vars
// are substituted away before lowering) or on mismatched sizes.
std::vector<std::vector<double>> interpret(const Graph& g, const EntryPoint& entry,
                                           const std::vector<double>& params,
                                           const std::vector<double>& in_row);

// The batch form, with the entry-point ABI's layout: `in` is [n, len(input)]
// row-major; returns one row-major [n, len(output)] array per output.
std::vector<std::vector<double>> interpret_batch(const Graph& g, const EntryPoint& entry,
                                                 const std::vector<double>& params,
                                                 const std::vector<double>& in, int64_t n);

// A mean_gradient entry point (Program.hpp) over n samples of `in`
// ([n, len(input)] row-major): returns the mean of outputs[0] and sets `grad`
// to param_count() values, the mean of every accumulation (0 where none
// applies). Sums run sample by sample in double; n == 0 returns 0 with
// `grad` zeroed.
double interpret_mean_gradient(const Graph& g, const EntryPoint& entry,
                               const std::vector<double>& params, const std::vector<double>& in,
                               int64_t n, std::vector<double>& grad);

}  // namespace nfc

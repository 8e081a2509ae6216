// The batch size at which one block of log_prob starts to beat
// log_prob.small sample by sample, measured on the machine that runs the
// code. It is a property of the CPU more than of the model: one block of 5
// rows against one sample measured 4.0-5.2x on Zen 5 (W1-W4) and 6.6-7.4x
// on Zen 4, whose AVX-512 units are half as wide, and nothing LLVM reports
// about either CPU tells them apart. So it is timed once, when the code is
// compiled, and kept with the code (the JIT cache stores it).
#pragma once

#include <cstdint>

#include "include/nfc/Precision.hpp"

namespace nfc {

// log_prob's block entry and its one-sample entry (both `void(const T*
// params, const T* x, T* out, int64_t n)`) timed on zero parameters and
// inputs (`params` and `row` values of T): the smallest batch n for which n
// single-sample calls cost at least one block call, from 2 to `width`
// (one block holds `width` samples). The fastest of a few calls each: load
// on the machine only ever adds time, least to the fastest call.
int64_t measure_small_batch_rows(void* block_entry, void* small_entry, int64_t params, int64_t row,
                                 Precision precision, int width);

}  // namespace nfc

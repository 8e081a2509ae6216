// The parts of the flat parameter buffer that training changes: every
// learnable tensor less its structural zeros (ParamTensor::row_lengths: a
// MADE's masked-out row ends, half of its weights). The per-parameter
// passes of a training step — combining the threads' gradients, the Adam
// update — walk these ranges only. Skipping the zeros changes no number:
// their gradient is 0, so Adam would leave them and their moments at 0;
// but at 12M parameters (a 784-D MAF) each pass moves hundreds of MB.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "abi/ParamTensor.hpp"
#include "runtime/ThreadPool.hpp"

namespace nfc {

struct ParamRange {
  int64_t begin, end;
};

// Sorted, adjacent ranges merged; data tensors (ParamTensor::data) left out.
std::vector<ParamRange> trained_ranges(const std::vector<ParamTensor>& table);

int64_t element_count(const std::vector<ParamRange>& ranges);

// Calls `visit(begin, end)` for the pieces of `ranges` in share t of
// `shares` equal shares of their elements (in order): a thread's part of a
// parallel pass.
void for_share(const std::vector<ParamRange>& ranges, int shares, int t,
               const std::function<void(int64_t, int64_t)>& visit);

// A pass over `ranges`: `visit(begin, end)` for their pieces, on the pool's
// threads from `min_per_thread` elements a thread, else on the caller's.
// A pass follows the gradient's job, so the workers are still spinning
// (ThreadPool.cpp): a job costs no wake-up, but it is one more point where
// every thread waits for the slowest. `visit` may run concurrently on
// disjoint pieces.
void parallel_pass(const std::vector<ParamRange>& ranges, ThreadPool* pool, int64_t min_per_thread,
                   const std::function<void(int64_t, int64_t)>& visit);

// Whether all n values are finite (the trainer's check of a gradient), on
// the pool's threads: a read and a compare a value, so from 65536 values
// each (W4's 1.8M, 7 MB: 0.17-0.29 ms on one thread, 0.10 on two; W1-W3's
// under 100k stay on one).
template <class T>
bool all_finite(const T* values, int64_t n, ThreadPool* pool);

}  // namespace nfc

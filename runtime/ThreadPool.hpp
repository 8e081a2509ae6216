// A fixed set of worker threads that run one job at a time: run(task) calls
// task(t) for every t in [0, size()), t = 0 on the calling thread, and
// returns when all are done. Flow splits batches over it and the optimizer
// splits its update, so both cores work on one training step.
//
// Between jobs workers spin for up to 200 us, then sleep on a condition
// variable (an idle flow costs nothing after that). Jobs from different
// threads are serialised, and a task's exception is rethrown by run() after
// every task has finished.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace nfc {

// The most threads a flow runs on (--threads, Model::set_threads): more
// than any machine nfc runs on has cores, and few enough that a typo does
// not start a million threads.
inline constexpr int kMaxThreads = 256;

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }
  void run(const std::function<void(int)>& task);

 private:
  void work(int t);

  std::vector<std::thread> workers_;
  std::mutex job_mutex_;  // one job at a time
  std::mutex mutex_;
  std::condition_variable start_, done_;
  // Written by run() before generation_ is published; read by the workers after.
  const std::function<void(int)>* task_ = nullptr;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  std::exception_ptr error_;  // under mutex_
};

// [begin, end) of slice t of [0, n) cut into `slices` contiguous parts whose
// boundaries are multiples of `align` (but the last).
struct Slice {
  int64_t begin, end;
};
inline Slice slice_of(int64_t n, int slices, int t, int64_t align = 1) {
  auto bound = [&](int i) {
    if (i >= slices) return n;
    return std::min(n, (n * i / slices) / align * align);
  };
  return {bound(t), bound(t + 1)};
}

}  // namespace nfc

#include "runtime/ParamRanges.hpp"

#include <algorithm>
#include <atomic>

#include "runtime/NonFinite.hpp"

namespace nfc {

std::vector<ParamRange> trained_ranges(const std::vector<ParamTensor>& table) {
  std::vector<ParamRange> pieces;
  for (const ParamTensor& p : table) {
    if (p.data) continue;
    if (p.row_lengths.empty()) {
      pieces.push_back({p.offset, p.offset + p.size});
      continue;
    }
    const int64_t cols = p.shape.at(1);
    for (size_t r = 0; r < p.row_lengths.size(); ++r) {
      const int64_t begin = p.offset + int64_t(r) * cols;
      pieces.push_back({begin, begin + p.row_lengths[r]});
    }
  }
  std::sort(pieces.begin(), pieces.end(),
            [](const ParamRange& a, const ParamRange& b) { return a.begin < b.begin; });
  std::vector<ParamRange> merged;
  for (const ParamRange& r : pieces) {
    if (r.end == r.begin) continue;
    if (!merged.empty() && merged.back().end >= r.begin)
      merged.back().end = std::max(merged.back().end, r.end);
    else
      merged.push_back(r);
  }
  return merged;
}

int64_t element_count(const std::vector<ParamRange>& ranges) {
  int64_t n = 0;
  for (const ParamRange& r : ranges) n += r.end - r.begin;
  return n;
}

void for_share(const std::vector<ParamRange>& ranges, int shares, int t,
               const std::function<void(int64_t, int64_t)>& visit) {
  const int64_t total = element_count(ranges);
  const int64_t first = total * t / shares, last = total * (t + 1) / shares;
  int64_t seen = 0;  // elements of the ranges before the current one
  for (const ParamRange& r : ranges) {
    const int64_t size = r.end - r.begin;
    const int64_t lo = std::max(first, seen), hi = std::min(last, seen + size);
    if (lo < hi) visit(r.begin + (lo - seen), r.begin + (hi - seen));
    seen += size;
    if (seen >= last) break;
  }
}

void parallel_pass(const std::vector<ParamRange>& ranges, ThreadPool* pool, int64_t min_per_thread,
                   const std::function<void(int64_t, int64_t)>& visit) {
  if (pool == nullptr || element_count(ranges) < min_per_thread * pool->size()) {
    for (const ParamRange& r : ranges) visit(r.begin, r.end);
    return;
  }
  pool->run([&](int t) { for_share(ranges, pool->size(), t, visit); });
}

template <class T>
bool all_finite(const T* values, int64_t n, ThreadPool* pool) {
  std::atomic<bool> finite{true};
  parallel_pass({{0, n}}, pool, int64_t{1} << 16, [&](int64_t b, int64_t e) {
    if (!all_finite(values + b, e - b)) finite.store(false, std::memory_order_relaxed);
  });
  return finite.load(std::memory_order_relaxed);
}

template bool all_finite(const float*, int64_t, ThreadPool*);
template bool all_finite(const double*, int64_t, ThreadPool*);

}  // namespace nfc

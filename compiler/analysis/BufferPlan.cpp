// Liveness-based slot assignment: a best-fit free list over one arena.
#include "compiler/analysis/BufferPlan.hpp"

#include <algorithm>
#include <iterator>
#include <map>

namespace nfc {
namespace {

// Free intervals of the arena, keyed by start, merged with their neighbours.
class Arena {
 public:
  int64_t allocate(int64_t size) {
    auto best = free_.end();
    for (auto it = free_.begin(); it != free_.end(); ++it)
      if (it->second >= size && (best == free_.end() || it->second < best->second)) best = it;
    if (best != free_.end()) {
      const int64_t start = best->first, left = best->second - size;
      free_.erase(best);
      if (left > 0) free_[start + size] = left;
      return start;
    }
    // No hole fits: grow the arena, absorbing a free tail if there is one.
    int64_t start = end_;
    if (!free_.empty() && std::prev(free_.end())->first + std::prev(free_.end())->second == end_) {
      start = std::prev(free_.end())->first;
      free_.erase(std::prev(free_.end()));
    }
    end_ = start + size;
    return start;
  }

  void release(int64_t start, int64_t size) {
    auto it = free_.emplace(start, size).first;
    auto next = std::next(it);
    if (next != free_.end() && start + size == next->first) {
      it->second += next->second;
      free_.erase(next);
    }
    if (it != free_.begin()) {
      auto prev = std::prev(it);
      if (prev->first + prev->second == it->first) {
        prev->second += it->second;
        free_.erase(it);
      }
    }
  }

  int64_t size() const { return end_; }

 private:
  std::map<int64_t, int64_t> free_;
  int64_t end_ = 0;
};

}  // namespace

BufferPlan plan_buffers(const Graph& g, const EntryPoint& entry,
                        const std::function<bool(NodeId)>& needs_buffer) {
  std::vector<NodeId> roots = entry.outputs;
  for (const Accumulation& a : entry.accumulations)
    for (NodeId id : {a.value, a.outer_a, a.outer_b})
      if (id >= 0) roots.push_back(id);
  BufferPlan plan;
  plan.order = topological_order(g, roots);
  plan.offset.assign(g.size(), -1);
  plan.accumulate_after.assign(plan.order.size(), {});
  std::vector<size_t> position(g.size(), 0);
  for (size_t i = 0; i < plan.order.size(); ++i) position[static_cast<size_t>(plan.order[i])] = i;

  // last_use[id]: position in `order` of id's last user; outputs live forever.
  std::vector<size_t> last_use(g.size(), 0);
  for (size_t i = 0; i < plan.order.size(); ++i)
    for (NodeId a : g.node(plan.order[i]).args) last_use[static_cast<size_t>(a)] = i;
  for (size_t k = 0; k < entry.accumulations.size(); ++k) {
    const Accumulation& a = entry.accumulations[k];
    size_t ready = 0;
    for (NodeId id : {a.value, a.outer_a, a.outer_b})
      if (id >= 0) ready = std::max(ready, position[static_cast<size_t>(id)]);
    plan.accumulate_after[ready].push_back(k);
    for (NodeId id : {a.value, a.outer_a, a.outer_b})
      if (id >= 0)
        last_use[static_cast<size_t>(id)] = std::max(last_use[static_cast<size_t>(id)], ready);
  }
  for (NodeId o : entry.outputs) last_use[static_cast<size_t>(o)] = plan.order.size();

  // dying[i]: nodes whose slots free up once order[i] has been evaluated.
  std::vector<std::vector<NodeId>> dying(plan.order.size());
  for (NodeId id : plan.order)
    if (last_use[static_cast<size_t>(id)] < plan.order.size())
      dying[last_use[static_cast<size_t>(id)]].push_back(id);

  Arena arena;
  for (size_t i = 0; i < plan.order.size(); ++i) {
    const NodeId id = plan.order[i];
    if (needs_buffer(id)) plan.offset[static_cast<size_t>(id)] = arena.allocate(g.len(id));
    for (NodeId d : dying[i])
      if (plan.offset[static_cast<size_t>(d)] >= 0)
        arena.release(plan.offset[static_cast<size_t>(d)], g.len(d));
  }
  plan.slots = arena.size();
  return plan;
}

}  // namespace nfc

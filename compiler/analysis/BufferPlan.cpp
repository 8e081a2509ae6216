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

constexpr size_t kNone = static_cast<size_t>(-1);

// Fused loops over `order` (BufferPlan::loop_end), and by NodeId the
// position where each node's loop starts (kNone outside loops). A node
// joins the loop before it when it loops over as many elements and, if it
// is elementwise, reads operands of that length from the loop (at k) or
// from memory; a gather reads a source in memory outside the loop. A
// codeless node in between (the constant of x - 0.5, placed just before its
// user) does not end a loop.
struct FusedLoops {
  std::vector<size_t> end;       // by position
  std::vector<size_t> start_of;  // by NodeId
};

FusedLoops fuse_loops(const Graph& g, const std::vector<NodeId>& order,
                      const std::function<bool(NodeId)>& addressable,
                      const std::function<bool(NodeId)>& heads_loop) {
  FusedLoops loops{std::vector<size_t>(order.size(), 0), std::vector<size_t>(g.size(), kNone)};
  auto in_loop = [&](NodeId a, size_t start) {
    return start != kNone && loops.start_of[static_cast<size_t>(a)] == start;
  };
  auto is_head = [&](NodeId id) { return heads_loop && heads_loop(id); };
  auto headed = [&](size_t start) { return start != kNone && is_head(order[start]); };
  // Whether `id` can run inside the loop starting at `start` (kNone: a new one).
  auto fits = [&](NodeId id, size_t start) {
    const Node& n = g.node(id);
    if (start != kNone && codeless(n.op)) return true;
    if (n.len <= 1 || !addressable(id)) return false;
    if (start != kNone && n.len != g.len(order[start])) return false;
    if (start == kNone && is_head(id)) return true;
    if (n.op == Op::gather)
      return addressable(n.args[0]) && !in_loop(n.args[0], start) && !headed(start);
    if (!is_elementwise(n.op)) return false;
    for (NodeId a : n.args)
      if (g.len(a) == n.len && !in_loop(a, start) && !addressable(a)) return false;
    return true;
  };
  // A head with nothing to compute after it in its loop is no loop: it is
  // evaluated on its own, as without heads.
  auto close = [&](size_t start, size_t end) {
    const bool alone =
        headed(start) && std::all_of(order.begin() + long(start) + 1, order.begin() + long(end),
                                     [&](NodeId id) { return codeless(g.node(id).op); });
    if (!alone) {
      loops.end[start] = end;
      return;
    }
    for (size_t i = start; i < end; ++i) loops.start_of[static_cast<size_t>(order[i])] = kNone;
  };
  size_t start = kNone;
  for (size_t i = 0; i < order.size(); ++i) {
    const NodeId id = order[i];
    if (start != kNone && !fits(id, start)) {
      close(start, i);
      start = kNone;
    }
    if (start == kNone && fits(id, kNone)) start = i;
    if (start != kNone) loops.start_of[static_cast<size_t>(id)] = start;
  }
  if (start != kNone) close(start, order.size());
  return loops;
}

// Whether a backend must store `id`: some user is outside its fused loop or
// reads it at another index (a gather), or it is an output or an
// accumulation's operand.
std::vector<bool> escaping(const Graph& g, const EntryPoint& entry,
                           const std::vector<NodeId>& order, const FusedLoops& loops) {
  std::vector<bool> escapes(g.size(), false);
  for (NodeId id : order) {
    const size_t start = loops.start_of[static_cast<size_t>(id)];
    for (NodeId a : g.node(id).args)
      if (start == kNone || loops.start_of[static_cast<size_t>(a)] != start ||
          g.node(id).op == Op::gather)
        escapes[static_cast<size_t>(a)] = true;
  }
  for (NodeId o : entry.outputs) escapes[static_cast<size_t>(o)] = true;
  for (const Accumulation& a : entry.accumulations)
    for (NodeId id : {a.value, a.outer_a, a.outer_b})
      if (id >= 0) escapes[static_cast<size_t>(id)] = true;
  return escapes;
}

// Segment starts: every `nodes` positions or so, moved past any fused loop
// that would straddle the cut. One segment unless there are 1.5 x `nodes`.
std::vector<size_t> segment_starts(size_t count, size_t nodes, const FusedLoops& loops) {
  std::vector<size_t> starts{0};
  if (nodes == 0 || count < nodes + nodes / 2) return starts;
  std::vector<bool> straddled(count + 1, false);  // a loop runs across the cut before i
  for (size_t b = 0; b < count; ++b)
    for (size_t i = b + 1; i < loops.end[b]; ++i) straddled[i] = true;
  for (size_t i = 1; i + nodes / 2 < count; ++i)
    if (i - starts.back() >= nodes && !straddled[i]) starts.push_back(i);
  return starts;
}

// Nodes read in a later segment than their own (outputs: after the last).
std::vector<bool> crossing(const Graph& g, const EntryPoint& entry, const BufferPlan& plan,
                           const std::vector<size_t>& position) {
  std::vector<bool> crosses(g.size(), false);
  if (plan.segment_start.size() < 2) return crosses;
  auto segment = [&](size_t i) {
    return std::upper_bound(plan.segment_start.begin(), plan.segment_start.end(), i) -
           plan.segment_start.begin();
  };
  for (size_t i = 0; i < plan.order.size(); ++i) {
    for (NodeId a : g.node(plan.order[i]).args)
      if (segment(position[static_cast<size_t>(a)]) < segment(i))
        crosses[static_cast<size_t>(a)] = true;
    for (size_t k : plan.accumulate_after[i]) {
      const Accumulation& acc = entry.accumulations[k];
      for (NodeId id : {acc.value, acc.outer_a, acc.outer_b})
        if (id >= 0 && segment(position[static_cast<size_t>(id)]) < segment(i))
          crosses[static_cast<size_t>(id)] = true;
    }
  }
  for (NodeId o : entry.outputs) crosses[static_cast<size_t>(o)] = true;
  return crosses;
}

}  // namespace

BufferPlan plan_buffers(const Graph& g, const EntryPoint& entry,
                        const std::function<bool(NodeId)>& needs_buffer, PlanOptions options) {
  std::vector<NodeId> roots = entry.outputs;
  for (const Accumulation& a : entry.accumulations)
    for (NodeId id : {a.value, a.outer_a, a.outer_b})
      if (id >= 0) roots.push_back(id);
  BufferPlan plan;
  plan.order = topological_order(g, roots);
  plan.offset.assign(g.size(), -1);
  plan.accumulate_after.assign(plan.order.size(), {});
  const size_t count = plan.order.size();
  std::vector<size_t> position(g.size(), 0);
  for (size_t i = 0; i < count; ++i) position[static_cast<size_t>(plan.order[i])] = i;

  FusedLoops loops{std::vector<size_t>(count, 0), std::vector<size_t>(g.size(), kNone)};
  if (options.fuse)
    loops = fuse_loops(
        g, plan.order, [&](NodeId id) { return codeless(g.node(id).op) || needs_buffer(id); },
        options.heads_loop);
  plan.loop_end = loops.end;
  plan.segment_start = segment_starts(count, options.segment_nodes, loops);
  // settled[i]: where what happens at position i is over, the end of its
  // loop if it is in one. A slot is freed after the loop that last reads it,
  // never inside: the loop writes element k of a later node before it reads
  // element k + 1 of the freed one, so reusing the slot there (at any
  // shift but 0) would overwrite what it has yet to read.
  std::vector<size_t> settled(count);
  for (size_t i = 0; i < count; ++i) {
    const size_t start = loops.start_of[static_cast<size_t>(plan.order[i])];
    settled[i] = start == kNone ? i : loops.end[start] - 1;
  }

  // last_use[id]: where id's last user is settled; outputs live forever.
  std::vector<size_t> last_use(g.size(), 0);
  for (size_t i = 0; i < count; ++i)
    for (NodeId a : g.node(plan.order[i]).args) last_use[static_cast<size_t>(a)] = settled[i];
  for (size_t k = 0; k < entry.accumulations.size(); ++k) {
    const Accumulation& a = entry.accumulations[k];
    size_t ready = 0;
    for (NodeId id : {a.value, a.outer_a, a.outer_b})
      if (id >= 0) ready = std::max(ready, settled[position[static_cast<size_t>(id)]]);
    plan.accumulate_after[ready].push_back(k);
    for (NodeId id : {a.value, a.outer_a, a.outer_b})
      if (id >= 0)
        last_use[static_cast<size_t>(id)] = std::max(last_use[static_cast<size_t>(id)], ready);
  }
  for (NodeId o : entry.outputs) last_use[static_cast<size_t>(o)] = count;

  // dying[i]: nodes whose slots free up once order[i] has been evaluated.
  std::vector<std::vector<NodeId>> dying(count);
  for (NodeId id : plan.order)
    if (last_use[static_cast<size_t>(id)] < count)
      dying[last_use[static_cast<size_t>(id)]].push_back(id);

  const std::vector<bool> escapes = escaping(g, entry, plan.order, loops);
  const std::vector<bool> crosses = crossing(g, entry, plan, position);
  Arena arena;
  for (size_t i = 0; i < count; ++i) {
    const NodeId id = plan.order[i];
    const bool loop_local =
        loops.start_of[static_cast<size_t>(id)] != kNone && !escapes[static_cast<size_t>(id)];
    const bool crosses_segments = crosses[static_cast<size_t>(id)] && !codeless(g.node(id).op);
    if ((needs_buffer(id) && !loop_local) || crosses_segments)
      plan.offset[static_cast<size_t>(id)] = arena.allocate(g.len(id));
    for (NodeId d : dying[i])
      if (plan.offset[static_cast<size_t>(d)] >= 0)
        arena.release(plan.offset[static_cast<size_t>(d)], g.len(d));
  }
  plan.slots = arena.size();
  return plan;
}

}  // namespace nfc

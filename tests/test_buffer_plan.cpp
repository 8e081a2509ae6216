// BufferPlan: slots are reused after a node's last user, and never shared by
// two values that are live at the same time.
#include <catch2/catch.hpp>

#include "compiler/analysis/BufferPlan.hpp"

using namespace nfc;

namespace {

bool every_node(NodeId) {
  return true;
}

// True if no two buffered nodes that are live at once share a slot.
bool no_live_overlap(const Graph& g, const EntryPoint& e, const BufferPlan& plan) {
  std::vector<size_t> pos(g.size()), last(g.size(), 0);
  for (size_t i = 0; i < plan.order.size(); ++i) {
    pos[static_cast<size_t>(plan.order[i])] = i;
    for (NodeId a : g.node(plan.order[i]).args) last[static_cast<size_t>(a)] = i;
  }
  for (NodeId o : e.outputs) last[static_cast<size_t>(o)] = plan.order.size();
  for (NodeId a : plan.order)
    for (NodeId b : plan.order) {
      const auto ua = static_cast<size_t>(a), ub = static_cast<size_t>(b);
      if (a == b || plan.offset[ua] < 0 || plan.offset[ub] < 0) continue;
      const bool live_together = pos[ua] <= last[ub] && pos[ub] <= last[ua];
      const bool overlap = plan.offset[ua] < plan.offset[ub] + g.len(b) &&
                           plan.offset[ub] < plan.offset[ua] + g.len(a);
      if (live_together && overlap) return false;
    }
  return true;
}

}  // namespace

TEST_CASE("buffer plan: a deep chain needs the width of two layers", "[jit][buffer_plan]") {
  Graph g;
  const NodeId x = g.input(0, 100);
  NodeId h = x;
  for (int l = 0; l < 20; ++l) h = g.unary(l % 2 ? Op::tanh : Op::exp, h);
  const EntryPoint e{"f", x, {h}};
  const BufferPlan plan = plan_buffers(g, e, every_node);
  CHECK(plan.slots == 200);
  CHECK(no_live_overlap(g, e, plan));
}

TEST_CASE("buffer plan: values used later stay live; outputs are kept", "[jit][buffer_plan]") {
  Graph g;
  const NodeId x = g.input(0, 10);
  const NodeId a = g.unary(Op::exp, x);
  const NodeId b = g.unary(Op::tanh, a);
  const NodeId c = g.unary(Op::sinh, b);
  const NodeId d = g.binary(Op::add, c, a);  // a is live across b and c
  const NodeId s = g.sum(d);
  const EntryPoint e{"f", x, {b, s}};
  const BufferPlan plan = plan_buffers(g, e, [&](NodeId id) { return g.len(id) > 1; });
  CHECK(plan.offset[static_cast<size_t>(s)] == -1);
  CHECK(no_live_overlap(g, e, plan));
}

TEST_CASE("buffer plan: accumulations happen when ready and end their operands' lives",
          "[jit][buffer_plan]") {
  Graph g;
  const NodeId x = g.input(0, 10);
  const NodeId a = g.unary(Op::exp, x);
  const NodeId b = g.unary(Op::tanh, a);  // a's last user
  const NodeId c = g.unary(Op::sinh, b);
  const NodeId d = g.unary(Op::cosh, c);
  EntryPoint e{"f", x, {g.sum(d)}, EntryKind::mean_gradient, {}};
  Accumulation outer;
  outer.outer_a = a;
  outer.outer_b = c;
  Accumulation value;
  value.value = b;
  e.accumulations = {outer, value};
  const BufferPlan plan = plan_buffers(g, e, [&](NodeId id) { return g.len(id) > 1; });
  std::vector<size_t> pos(g.size());
  for (size_t i = 0; i < plan.order.size(); ++i) pos[static_cast<size_t>(plan.order[i])] = i;
  REQUIRE(plan.accumulate_after.size() == plan.order.size());
  CHECK(plan.accumulate_after[pos[static_cast<size_t>(c)]] == std::vector<size_t>{0});
  CHECK(plan.accumulate_after[pos[static_cast<size_t>(b)]] == std::vector<size_t>{1});
  // a lives until c (the outer product), so it cannot share c's slots;
  // b is dead after c, so d may reuse b's.
  CHECK(plan.offset[static_cast<size_t>(a)] != plan.offset[static_cast<size_t>(c)]);
  CHECK(plan.offset[static_cast<size_t>(d)] == plan.offset[static_cast<size_t>(b)]);
}

// BufferPlan: slots are reused after a node's last user, and never shared by
// two values that are live at the same time.
#include <algorithm>
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

namespace {

size_t position_of(const BufferPlan& plan, NodeId id) {
  return static_cast<size_t>(std::find(plan.order.begin(), plan.order.end(), id) -
                             plan.order.begin());
}

// As the LLVM backend plans elementwise values: in memory from 3 elements.
bool long_node(const Graph& g, NodeId id) {
  return g.len(id) > 2 && g.node(id).op != Op::constant;
}

}  // namespace

TEST_CASE(
    "buffer plan: a chain of elementwise ops is one fused loop; its inner values need no memory",
    "[jit][buffer_plan]") {
  Graph g;
  const NodeId x = g.input(0, 100);
  const NodeId a = g.unary(Op::exp, x);
  const NodeId b = g.binary(Op::mul, a, g.constant(2));
  const NodeId c = g.unary(Op::tanh, b);
  const EntryPoint e{"f", x, {c}};
  const BufferPlan plan =
      plan_buffers(g, e, [&](NodeId id) { return long_node(g, id); }, {.fuse = true});
  const size_t first = position_of(plan, a);
  REQUIRE(plan.loop_end.size() == plan.order.size());
  CHECK(plan.loop_end[first] == position_of(plan, c) + 1);
  CHECK(plan.loop_end[position_of(plan, x)] == 0);  // the input is not elementwise
  CHECK(plan.offset[static_cast<size_t>(a)] == -1);
  CHECK(plan.offset[static_cast<size_t>(b)] == -1);
  CHECK(plan.offset[static_cast<size_t>(c)] >= 0);  // an output
  // A slot freed inside the loop (x's, last read by a) is not reused in it:
  // the loop still reads x at k + 1 after writing c at k.
  CHECK(plan.offset[static_cast<size_t>(c)] != plan.offset[static_cast<size_t>(x)]);
  CHECK(plan.slots == 200);
  // Without fusion every node has its loop and its memory.
  const BufferPlan unfused = plan_buffers(g, e, [&](NodeId id) { return long_node(g, id); });
  CHECK(std::all_of(unfused.loop_end.begin(), unfused.loop_end.end(),
                    [](size_t end) { return end == 0; }));
  CHECK(unfused.offset[static_cast<size_t>(b)] >= 0);
}

TEST_CASE("buffer plan: a matvec heads the fused loop after it (heads_loop)",
          "[jit][buffer_plan]") {
  Graph g;
  const NodeId x = g.input(0, 16);
  const NodeId w = g.param(g.add_param("w", {32, 16}));
  const NodeId b = g.param(g.add_param("b", {32}));
  const NodeId m = g.matvec(w, x, 32, 16);
  const NodeId h = g.unary(Op::relu, g.binary(Op::add, m, b));  // bias and ReLU: m's loop
  const NodeId w2 = g.param(g.add_param("w2", {32, 32}));
  const NodeId m2 = g.matvec(w2, h, 32, 32);  // then a gather: it ends m2's loop
  const NodeId last = g.matvec(w2, g.gather(m2, std::vector<int>(32, 0)), 32, 32);  // alone
  const EntryPoint e{"f", x, {last}};
  auto is_matvec = [&](NodeId id) { return g.node(id).op == Op::matvec; };
  const BufferPlan plan = plan_buffers(g, e, [&](NodeId id) { return long_node(g, id); },
                                       {.fuse = true, .heads_loop = is_matvec});
  CHECK(plan.loop_end[position_of(plan, m)] == position_of(plan, h) + 1);
  CHECK(plan.offset[static_cast<size_t>(m)] == -1);  // read only in its loop: no memory
  CHECK(plan.offset[static_cast<size_t>(h)] >= 0);   // m2 reads all of it
  // m2 heads nothing: the gather reads it at other indices, so it keeps its memory.
  CHECK(plan.loop_end[position_of(plan, m2)] == 0);
  CHECK(plan.offset[static_cast<size_t>(m2)] >= 0);
  CHECK(plan.loop_end[position_of(plan, last)] == 0);
  // The head is part of its loop: its operand x stays live to the loop's end.
  CHECK(plan.offset[static_cast<size_t>(h)] != plan.offset[static_cast<size_t>(x)]);
  CHECK(no_live_overlap(g, e, plan));
  // A head followed only by codeless nodes (p, visited after it) is no loop.
  Graph g2;
  const NodeId x2 = g2.input(0, 16);
  const NodeId alone = g2.matvec(g2.param(g2.add_param("w", {32, 16})), x2, 32, 16);
  const NodeId p = g2.param(g2.add_param("p", {32}));
  const NodeId out = g2.concat({alone, p});
  const EntryPoint e2{"f", x2, {out}};
  auto is_matvec2 = [&](NodeId id) { return g2.node(id).op == Op::matvec; };
  const BufferPlan plan2 = plan_buffers(g2, e2, [&](NodeId id) { return long_node(g2, id); },
                                        {.fuse = true, .heads_loop = is_matvec2});
  REQUIRE(position_of(plan2, p) == position_of(plan2, alone) + 1);
  CHECK(plan2.loop_end[position_of(plan2, alone)] == 0);
  CHECK(plan2.offset[static_cast<size_t>(alone)] >= 0);
  CHECK(no_live_overlap(g2, e2, plan2));
  // Without heads_loop, m is evaluated on its own, into memory.
  const BufferPlan plain =
      plan_buffers(g, e, [&](NodeId id) { return long_node(g, id); }, {.fuse = true});
  CHECK(plain.loop_end[position_of(plan, m)] == 0);
  CHECK(plain.offset[static_cast<size_t>(m)] >= 0);
}

TEST_CASE("buffer plan: a gather joins a fused loop only if its source is memory outside it",
          "[jit][buffer_plan]") {
  Graph g;
  const NodeId x = g.input(0, 20);
  const NodeId a = g.unary(Op::exp, x);
  std::vector<int> reversed(20);
  for (int k = 0; k < 20; ++k) reversed[static_cast<size_t>(k)] = 19 - k;
  const NodeId r = g.gather(a, reversed);  // reads a at 19 - k: a must be in memory
  const NodeId s = g.binary(Op::add, r, g.gather(x, reversed));
  const NodeId short_one = g.unary(Op::exp, g.gather(x, {0, 1, 2}));  // not long: not fused
  const EntryPoint e{"f", x, {s, short_one}};
  const BufferPlan plan =
      plan_buffers(g, e, [&](NodeId id) { return long_node(g, id); }, {.fuse = true});
  const size_t at_r = position_of(plan, r);
  CHECK(plan.loop_end[position_of(plan, a)] == position_of(plan, a) + 1);
  CHECK(plan.offset[static_cast<size_t>(a)] >= 0);
  REQUIRE(plan.loop_end[at_r] > at_r);
  CHECK(plan.loop_end[at_r] > position_of(plan, s));  // r, x's gather and s share a loop
  CHECK(plan.offset[static_cast<size_t>(r)] == -1);
  CHECK(plan.loop_end[position_of(plan, short_one)] == 0);
}

TEST_CASE("buffer plan: an accumulation ready inside a fused loop waits for its end",
          "[jit][buffer_plan]") {
  Graph g;
  const NodeId x = g.input(0, 10);
  const NodeId a = g.unary(Op::exp, x);
  const NodeId b = g.unary(Op::tanh, a);
  const NodeId c = g.unary(Op::sinh, b);
  EntryPoint e{"f", x, {g.sum(c)}, EntryKind::mean_gradient, {}};
  Accumulation value;
  value.value = a;
  e.accumulations = {value};
  const BufferPlan plan =
      plan_buffers(g, e, [&](NodeId id) { return long_node(g, id); }, {.fuse = true});
  const size_t end = plan.loop_end[position_of(plan, a)];
  REQUIRE(end == position_of(plan, c) + 1);
  CHECK(plan.accumulate_after[end - 1] == std::vector<size_t>{0});
  CHECK(plan.offset[static_cast<size_t>(a)] >= 0);  // the accumulation reads it after the loop
  CHECK(plan.offset[static_cast<size_t>(b)] == -1);
  CHECK(plan.offset[static_cast<size_t>(c)] >= 0);  // sum reads it after the loop
}

TEST_CASE("buffer plan: a constant placed inside a run does not end its fused loop",
          "[jit][buffer_plan]") {
  Graph g;
  const NodeId x = g.input(0, 5);
  const NodeId a = g.unary(Op::exp, x);
  const NodeId half = g.constant(0.5);
  const NodeId b = g.binary(Op::sub, a, half);  // the order visits a, then the constant, then b
  const NodeId c = g.unary(Op::tanh, b);
  const EntryPoint e{"f", x, {c}};
  const BufferPlan plan =
      plan_buffers(g, e, [&](NodeId id) { return long_node(g, id); }, {.fuse = true});
  REQUIRE(position_of(plan, half) > position_of(plan, a));
  CHECK(plan.loop_end[position_of(plan, a)] == position_of(plan, c) + 1);
  CHECK(plan.offset[static_cast<size_t>(a)] == -1);
}

TEST_CASE("buffer plan: segments are cut between loops; values that cross them get memory",
          "[jit][buffer_plan]") {
  // A chain of 30 two-element (register-held) nodes, segments of about 10.
  Graph g;
  const NodeId x = g.input(0, 2);
  std::vector<NodeId> chain{x};
  for (int l = 0; l < 30; ++l) chain.push_back(g.unary(l % 2 ? Op::tanh : Op::exp, chain.back()));
  const EntryPoint e{"f", x, {chain.back()}};
  const PlanOptions options{.fuse = true, .segment_nodes = 10};
  const BufferPlan plan = plan_buffers(g, e, [&](NodeId id) { return long_node(g, id); }, options);
  REQUIRE(plan.order == chain);
  CHECK(plan.segment_start == std::vector<size_t>{0, 10, 20});
  CHECK(plan.offset[static_cast<size_t>(chain[9])] >= 0);  // read by the next segment
  CHECK(plan.offset[static_cast<size_t>(chain[19])] >= 0);
  CHECK(plan.offset[static_cast<size_t>(chain[5])] == -1);  // read within its segment
  CHECK(plan.offset[static_cast<size_t>(chain[30])] >= 0);  // an output, read after the last

  // The same chain at five elements is one fused loop: no cut inside it.
  Graph h;
  const NodeId y = h.input(0, 5);
  NodeId v = y;
  for (int l = 0; l < 30; ++l) v = h.unary(l % 2 ? Op::tanh : Op::exp, v);
  const BufferPlan fused = plan_buffers(
      h, EntryPoint{"f", y, {v}}, [&](NodeId id) { return long_node(h, id); }, options);
  CHECK(fused.loop_end[1] == 31);
  CHECK(fused.segment_start == std::vector<size_t>{0});
  // Without segment_nodes, one segment.
  CHECK(plan_buffers(g, e, [&](NodeId id) { return long_node(g, id); }).segment_start ==
        std::vector<size_t>{0});
}

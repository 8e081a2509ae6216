// The LLVM JIT against the reference interpreter: every op, every structural
// node, both precisions, and batch sizes around the SIMD width (the tail
// block has dead lanes that must never be stored).
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "compiler/analysis/Derive.hpp"
#include "compiler/backend/interp/Interpreter.hpp"
#include "compiler/backend/llvm/Jit.hpp"
#include "support/InternalError.hpp"

using namespace nfc;

namespace {

struct Range {
  double lo, hi;
};

// Tolerances. f64: the JIT evaluates the formulas of Ops.def operation for
// operation, in the same order; results differ only where llvm.exp/log/pow
// and libm disagree by an ULP or two, and where matvec fuses multiply-adds.
// 1e-13 relative is ~500 ULPs of headroom; the absolute floor covers results
// that cancel to near 0 (dot products of O(1) terms). f32: every operation
// rounds to 24 bits (6e-8) while the interpreter does not, so errors grow
// with the length of sums and the depth of the graph; 1e-5 is ~100 ULPs.
template <typename T>
struct Tolerance;
template <>
struct Tolerance<double> {
  static constexpr double rel = 1e-13, abs = 1e-13;
};
template <>
struct Tolerance<float> {
  static constexpr double rel = 1e-5, abs = 1e-5;
};

// The entry-point ABI with 1..3 outputs.
template <typename T>
void call(void* fn, const T* params, const T* in, std::vector<T*> outs, int64_t n) {
  switch (outs.size()) {
    case 1:
      return reinterpret_cast<void (*)(const T*, const T*, T*, int64_t)>(fn)(params, in, outs[0],
                                                                             n);
    case 2:
      return reinterpret_cast<void (*)(const T*, const T*, T*, T*, int64_t)>(fn)(
          params, in, outs[0], outs[1], n);
    case 3:
      return reinterpret_cast<void (*)(const T*, const T*, T*, T*, T*, int64_t)>(fn)(
          params, in, outs[0], outs[1], outs[2], n);
    default:
      FAIL("test helper supports 1 to 3 outputs");
  }
}

// Values representable in T, so both sides see the same inputs.
template <typename T>
std::vector<double> random_values(size_t count, std::vector<Range> ranges, std::mt19937& rng) {
  std::vector<double> v(count);
  for (size_t i = 0; i < count; ++i) {
    const Range r = ranges[i % ranges.size()];
    v[i] = static_cast<T>(std::uniform_real_distribution<double>(r.lo, r.hi)(rng));
  }
  return v;
}

template <typename T>
std::vector<T> narrow(const std::vector<double>& v) {
  return {v.begin(), v.end()};
}

constexpr double kSentinel = 12345.0;

// Runs `entry` through the JIT on n samples and compares with the
// interpreter; checks that rows past n are left untouched.
template <typename T>
void compare(const Program& program, const EntryPoint& entry, const JitModule& jit,
             const std::vector<double>& exact_params, int64_t n,
             const std::vector<Range>& input_ranges, std::mt19937& rng, double f64_tol = 0) {
  const double rel = f64_tol > 0 && sizeof(T) == 8 ? f64_tol : Tolerance<T>::rel;
  const double abs = f64_tol > 0 && sizeof(T) == 8 ? f64_tol : Tolerance<T>::abs;
  const Graph& g = *program.graph;
  const auto p = narrow<T>(exact_params);
  const std::vector<double> params(p.begin(), p.end());  // what the JIT sees, in double
  const size_t dim = entry.input >= 0 ? static_cast<size_t>(g.len(entry.input)) : 0;
  const std::vector<double> in = random_values<T>(dim * static_cast<size_t>(n), input_ranges, rng);
  const auto expected = interpret_batch(g, entry, params, in, n);

  std::vector<std::vector<T>> outs;
  std::vector<T*> out_ptrs;
  for (NodeId o : entry.outputs)
    outs.emplace_back(static_cast<size_t>(g.len(o)) * static_cast<size_t>(n + 1), T(kSentinel));
  for (auto& o : outs) out_ptrs.push_back(o.data());
  const auto x = narrow<T>(in);
  call<T>(jit.lookup(entry.name), p.data(), x.data(), out_ptrs, n);

  for (size_t o = 0; o < outs.size(); ++o) {
    for (size_t i = 0; i < expected[o].size(); ++i) {
      const double want = expected[o][i], got = outs[o][i];
      INFO(entry.name << " output " << o << " element " << i << " of n=" << n << ": got " << got
                      << ", want " << want);
      if (std::isnan(want)) {
        CHECK(std::isnan(got));
      } else {
        CHECK(std::fabs(got - want) <= rel * std::fabs(want) + abs);
      }
    }
    for (size_t i = expected[o].size(); i < outs[o].size(); ++i)
      REQUIRE(outs[o][i] == T(kSentinel));  // the tail block's dead lanes
  }
}

// Batch sizes around the SIMD width: single sample, partial, exact, several
// blocks with a tail, and empty.
std::vector<int64_t> batch_sizes(int w) {
  return {1, w - 1, w, 3 * w + 5, 0};
}

// Gradients also on a batch of several staging groups (the outer products
// are added into the gradient every few blocks, LlvmBackend's
// kMaxStageBlocks), ending in a partial group and a partial block.
std::vector<int64_t> gradient_batch_sizes(int w) {
  std::vector<int64_t> sizes = batch_sizes(w);
  sizes.push_back(11 * w + 7);
  return sizes;
}

// Compiles `program` in both precisions and checks every entry on every
// batch size; `f64_tol` > 0 replaces f64's tolerances (relative and absolute).
void check_program(const Program& program, const std::vector<double>& params,
                   const std::vector<Range>& input_ranges, JitOptions options = {},
                   double f64_tol = 0) {
  std::mt19937 rng(42);
  for (Precision precision : {Precision::f64, Precision::f32}) {
    options.precision = precision;
    const auto jit = JitModule::compile(program, options);
    for (const EntryPoint& entry : program.entries) {
      for (int64_t n : batch_sizes(jit->vector_width())) {
        if (precision == Precision::f64)
          compare<double>(program, entry, *jit, params, n, input_ranges, rng, f64_tol);
        else
          compare<float>(program, entry, *jit, params, n, input_ranges, rng);
      }
    }
  }
}

}  // namespace

namespace {

std::vector<int> iota(int from, int count) {
  std::vector<int> v;
  for (int i = 0; i < count; ++i) v.push_back(from + i);
  return v;
}

// Parameters drawn from [-scale, scale].
std::vector<double> random_params(const Graph& g, double scale, uint32_t seed = 7) {
  std::mt19937 rng(seed);
  std::vector<double> p(static_cast<size_t>(g.param_count()));
  for (double& x : p) x = std::uniform_real_distribution<double>(-scale, scale)(rng);
  return p;
}

struct UnaryCase {
  Op op;
  Range domain;
};

}  // namespace

TEST_CASE("jit: every unary op matches the interpreter", "[jit]") {
  const std::vector<UnaryCase> cases = {
      {Op::neg, {-3, 3}},     {Op::exp, {-3, 3}},        {Op::log, {0.1, 5}},
      {Op::log1p, {-0.5, 3}}, {Op::expm1, {-2, 2}},      {Op::sqrt, {0.01, 5}},
      {Op::abs, {-3, 3}},     {Op::tanh, {-3, 3}},       {Op::atanh, {-0.9, 0.9}},
      {Op::sinh, {-3, 3}},    {Op::cosh, {-3, 3}},       {Op::asinh, {-3, 3}},
      {Op::sigmoid, {-5, 5}}, {Op::logit, {0.05, 0.95}}, {Op::softplus, {-5, 5}},
      {Op::erf, {-2, 2}},     {Op::relu, {-3, 3}},       {Op::elu, {-3, 3}},
      {Op::gelu, {-3, 3}},    {Op::sin, {-7, 7}},        {Op::cos, {-7, 7}},
      {Op::atan, {-9, 9}},    {Op::asin, {-0.99, 0.99}}, {Op::acos, {-0.99, 0.99}},
      {Op::acosh, {1, 9}},    {Op::cbrt, {-9, 9}},       {Op::log2, {0.01, 9}},
      {Op::erfc, {-3, 9}},
  };
  for (const UnaryCase& c : cases) {
    // Length 2 is held in registers, length 40 runs an emitted (fused)
    // loop; vector math (libmvec, where the host has it) and libm once per
    // lane.
    for (int len : {2, 40}) {
      for (bool vector_math : {true, false}) {
        INFO(op_spelling(c.op) << " on length " << len << ", vector math " << vector_math);
        Graph g;
        const NodeId x = g.input(0, len);
        Program program{&g, {{"f", x, {g.unary(c.op, x)}}}};
        JitOptions options;
        options.vector_math = vector_math;
        check_program(program, {}, {c.domain}, options);
      }
    }
  }
}

TEST_CASE("jit: every binary op and select_pos match the interpreter", "[jit]") {
  struct BinaryCase {
    Op op;
    Range a, b;
  };
  const std::vector<BinaryCase> cases = {
      {Op::add, {-3, 3}, {-3, 3}},  {Op::sub, {-3, 3}, {-3, 3}},      {Op::mul, {-3, 3}, {-3, 3}},
      {Op::div, {-3, 3}, {0.5, 2}}, {Op::pow, {0.1, 3}, {-2.5, 2.5}},
  };
  for (const BinaryCase& c : cases) {
    for (int len : {3, 12}) {
      INFO(op_spelling(c.op) << " on length " << len);
      Graph g;
      const NodeId x = g.input(0, 2 * len);
      const NodeId a = g.gather(x, iota(0, len)), b = g.gather(x, iota(len, len));
      Program program{&g, {{"f", x, {g.binary(c.op, a, b)}}}};
      std::vector<Range> ranges(static_cast<size_t>(len), c.a);
      ranges.resize(2 * static_cast<size_t>(len), c.b);
      check_program(program, {}, ranges);
    }
  }
  for (int len : {3, 12}) {
    INFO("select_pos on length " << len);
    Graph g;
    const NodeId x = g.input(0, 3 * len);
    const NodeId c = g.gather(x, iota(0, len)), a = g.gather(x, iota(len, len)),
                 b = g.gather(x, iota(2 * len, len));
    Program program{&g, {{"f", x, {g.select_pos(c, a, b)}}}};
    check_program(program, {}, {{-1, 1}});
  }
}

TEST_CASE("jit: length-1 operands broadcast", "[jit]") {
  for (int len : {5, 20}) {
    INFO("length " << len);
    Graph g;
    const NodeId x = g.input(0, len);
    const NodeId scale = g.param(g.add_param("scale", {1}));
    const NodeId first = g.gather(x, {0});
    const NodeId s = g.sum(x);
    Ex X{&g, x}, S{&g, s}, P{&g, scale}, F{&g, first};
    const Ex y = (X * S + P) / (2.0 + F * F) - 0.5;
    const NodeId pick = g.select_pos(first, x, g.constant(-1));
    Program program{&g, {{"f", x, {y.id, pick, s}}}};
    check_program(program, {1.5}, {{-2, 2}});
  }
}

TEST_CASE("jit: matvec with parameters, all unroll/loop combinations", "[jit]") {
  // rows x cols: both unrolled; rows looped in blocks with a remainder;
  // cols looped; both looped.
  const std::vector<std::pair<int, int>> shapes = {{3, 2}, {20, 5}, {5, 20}, {37, 19}, {8, 9}};
  for (auto [rows, cols] : shapes) {
    INFO(rows << " x " << cols);
    Graph g;
    const NodeId x = g.input(0, cols);
    const NodeId w = g.param(g.add_param("w", {rows, cols}));
    const NodeId b = g.param(g.add_param("b", {rows}));
    const NodeId y = g.binary(Op::add, g.matvec(w, x, rows, cols), b);
    Program program{&g, {{"f", x, {y}}}};
    check_program(program, random_params(g, 1.0), {{-1, 1}});
  }
}

TEST_CASE("jit: a matvec runs the fused loop after it on each row (bias, activation)", "[jit]") {
  // Hidden layers of the same shape (one shared kernel;
  // each layer's bias, scale and constant differ, and the bias, made after
  // the matvec, is visited inside the loop), a staircase layer, a product
  // also read after its loop (stored as well), a scalar parameter's
  // broadcast, an output inside the loop.
  Graph g;
  const NodeId x = g.input(0, 12);
  int last_weights = -1;
  auto layer = [&](NodeId in, int rows, double shift, MatrixView view = {}) {
    const int cols = g.len(in);
    last_weights = g.add_param("w", {rows, cols});
    const NodeId m = g.matvec(g.param(last_weights), in, rows, cols, std::move(view));
    const NodeId b = g.param(g.add_param("b", {rows}));
    const NodeId scale = g.broadcast(g.param(g.add_param("s", {1})), rows);
    const NodeId a = g.binary(Op::mul, g.binary(Op::add, m, b), scale);
    return std::pair{m, g.unary(Op::tanh, g.binary(Op::sub, a, g.constant(shift)))};
  };
  const auto [m0, h0] = layer(x, 20, 0.25);
  const auto [m1, h1] = layer(h0, 20, 0.5);  // m1's and m1b's kernels: one function
  const auto [m1b, h1b] = layer(h1, 20, 1.5);
  const auto [m2, h2] = layer(h1b, 20, -0.75);
  std::vector<int> lengths;
  for (int r = 0; r < 20; ++r) lengths.push_back(1 + r * 19 / 20);  // non-decreasing
  const auto [m3, h3] = layer(h2, 20, 0.125, {0, 20, lengths});
  const NodeId read_after = g.sum(m2);
  Program program{&g, {{"f", x, {h3, h1, g.concat({read_after, g.sum(m3)})}}}};
  std::vector<double> params = random_params(g, 0.5);
  const int64_t staircase = g.params().at(size_t(last_weights)).offset;
  for (int r = 0; r < 20; ++r)  // its structural zeros
    for (int c = lengths[size_t(r)]; c < 20; ++c) params[size_t(staircase + r * 20 + c)] = 0;
  check_program(program, params, {{-1, 1}});
}

TEST_CASE("jit: gather, concat and sum", "[jit]") {
  Graph g;
  const NodeId x = g.input(0, 20);
  const NodeId table = g.param(g.add_param("table", {30}));
  // Long gathers: from memory (loop over an index table), from a parameter,
  // and from a short register-held value (unrolled); `small` (2 elements)
  // is held in registers.
  std::vector<int> shuffled;
  for (int k = 0; k < 15; ++k) shuffled.push_back((7 * k + 3) % 20);
  shuffled.push_back(4);  // a repeat
  const NodeId from_memory = g.gather(g.unary(Op::exp, x), shuffled);
  const NodeId from_param = g.gather(table, {29, 0, 5, 5, 17, 2, 8, 11, 13, 1});
  const NodeId small = g.unary(Op::tanh, g.gather(x, {1, 5}));
  const NodeId from_regs = g.gather(small, {1, 1, 0, 0, 1, 0, 1, 1, 1, 0, 1});
  const NodeId cat = g.concat({from_memory, g.constant(2.5), from_param, small, x});
  const NodeId total = g.sum(cat);
  const NodeId short_sum = g.sum(small);
  Program program{&g, {{"f", x, {cat, from_regs, g.concat({total, short_sum})}}}};
  check_program(program, random_params(g, 2.0), {{-1, 1}});
}

TEST_CASE("jit: outputs may be the input, a constant or a parameter", "[jit]") {
  Graph g;
  const NodeId x = g.input(0, 3);
  const NodeId p = g.param(g.add_param("p", {2}));
  Program program{&g, {{"f", x, {x, g.constant(0), p}}, {"g", x, {g.unary(Op::exp, x)}}}};
  check_program(program, {0.25, -4}, {{-1, 1}});
}

namespace {

// A dense layer: act(W v + b) with W of shape {out, in}.
NodeId dense(Graph& g, const std::string& name, NodeId v, int in, int out, Op act) {
  const NodeId w = g.param(g.add_param(name + ".w", {out, in}));
  const NodeId b = g.param(g.add_param(name + ".b", {out}));
  const NodeId y = g.binary(Op::add, g.matvec(w, v, out, in), b);
  return act == Op::neg ? y : g.unary(act, y);  // Op::neg stands for "no activation"
}

// `layers` affine coupling-like steps on a dim-wide state, each conditioned
// by an MLP dim -> hidden -> hidden -> 2*dim: x <- x * exp(tanh(s)) + t, and
// the log-determinant sum(tanh(s)).
Program coupling_chain(Graph& g, int dim, int hidden, int layers) {
  const NodeId input = g.input(0, dim);
  NodeId x = input;
  NodeId logdet = g.constant(0);
  for (int l = 0; l < layers; ++l) {
    const std::string name = "layer" + std::to_string(l);
    NodeId h = dense(g, name + ".l1", x, dim, hidden, Op::tanh);
    h = dense(g, name + ".l2", h, hidden, hidden, Op::softplus);
    const NodeId st = dense(g, name + ".l3", h, hidden, 2 * dim, Op::neg);
    const NodeId s = g.unary(Op::tanh, g.gather(st, iota(0, dim)));
    const NodeId t = g.gather(st, iota(dim, dim));
    x = g.binary(Op::add, g.binary(Op::mul, x, g.unary(Op::exp, s)), t);
    logdet = g.binary(Op::add, logdet, g.sum(s));
  }
  return Program{&g, {{"forward", input, {x, logdet}}}};
}

// Weights scaled like 1/sqrt(fan-in) keep activations O(1) through the chain.
std::vector<double> chain_params(const Graph& g) {
  std::mt19937 rng(3);
  std::vector<double> p(static_cast<size_t>(g.param_count()));
  for (const ParamTensor& t : g.params()) {
    const double scale = t.shape.size() == 2 ? 1.0 / std::sqrt(double(t.shape[1])) : 0.1;
    for (int64_t i = 0; i < t.size; ++i)
      p[static_cast<size_t>(t.offset + i)] =
          std::uniform_real_distribution<double>(-scale, scale)(rng);
  }
  return p;
}

}  // namespace

TEST_CASE("jit: a small MLP chain matches the interpreter", "[jit]") {
  Graph g;
  const Program program = coupling_chain(g, 3, 16, 2);
  check_program(program, chain_params(g), {{-2, 2}});
}

TEST_CASE("jit: every optimization level gives the same results", "[jit]") {
  Graph g;
  const Program program = coupling_chain(g, 3, 16, 2);
  const std::vector<double> params = chain_params(g);
  for (int level : {0, 1, 3}) {
    INFO("opt_level " << level);
    JitOptions options;
    options.opt_level = level;
    const auto jit = JitModule::compile(program, options);
    std::mt19937 rng(5);
    compare<double>(program, program.entries[0], *jit, params, 3 * jit->vector_width() + 5,
                    {{-2, 2}}, rng);
  }
}

TEST_CASE("jit: 5 layers of 64 -> 2x512 -> 128 MLPs compile and match", "[jit][scaling]") {
  Graph g;
  const Program program = coupling_chain(g, 64, 512, 5);
  const std::vector<double> params = chain_params(g);
  for (Precision precision : {Precision::f64, Precision::f32}) {
    JitOptions options;
    options.precision = precision;
    options.keep_ir = true;
    const auto jit = JitModule::compile(program, options);
    const JitTimings& t = jit->timings();
    WARN((precision == Precision::f64 ? "f64" : "f32")
         << " W=" << jit->vector_width() << ": lower " << t.lower_ms << " ms, optimize "
         << t.optimize_ms << " ms, codegen " << t.codegen_ms << " ms, IR " << jit->ir().size()
         << " bytes, " << g.param_count() << " parameters");
    // IR follows the number of nodes, not the 1.8M weights: the same chain
    // with 4x narrower hidden layers (same nodes) gives about as much IR.
    Graph narrow_graph;
    const Program narrow_program = coupling_chain(narrow_graph, 64, 128, 5);
    const auto narrow_jit = JitModule::compile(narrow_program, options);
    CHECK(double(jit->ir().size()) < 1.2 * double(narrow_jit->ir().size()));
    std::mt19937 rng(1);
    const int w = jit->vector_width();
    for (int64_t n : {int64_t{1}, int64_t{3 * w + 5}}) {
      if (precision == Precision::f64)
        compare<double>(program, program.entries[0], *jit, params, n, {{-2, 2}}, rng);
      else
        compare<float>(program, program.entries[0], *jit, params, n, {{-2, 2}}, rng);
    }
  }
}

TEST_CASE("jit: entry points compile alike on one thread or several", "[jit]") {
  Graph g;
  Program program = coupling_chain(g, 3, 16, 2);
  const EntryPoint forward = program.entries[0];  // a copy: push_back below reallocates
  for (const char* name : {"second", "third", "fourth", "fifth"})
    program.entries.push_back({name, forward.input, {forward.outputs[1]}});
  const std::vector<double> params = chain_params(g);
  std::mt19937 rng(3);
  const std::vector<double> in = random_values<double>(3 * 21, {{-2, 2}}, rng);
  std::vector<std::vector<double>> results;
  for (int threads : {1, 2, 16}) {
    INFO(threads << " threads");
    JitOptions options;
    options.threads = threads;
    const auto jit = JitModule::compile(program, options);
    const JitTimings& t = jit->timings();
    CHECK(t.threads == std::min<int>(threads, static_cast<int>(program.entries.size())));
    CHECK((t.lower_ms >= 0 && t.optimize_ms >= 0 && t.codegen_ms >= 0));
    CHECK((t.optimize_cpu_ms > 0 && t.codegen_cpu_ms > 0));
    std::vector<double> out;
    for (const EntryPoint& entry : program.entries) {
      std::vector<std::vector<double>> outs;
      std::vector<double*> ptrs;
      for (NodeId o : entry.outputs) outs.emplace_back(static_cast<size_t>(g.len(o)) * 21);
      for (auto& o : outs) ptrs.push_back(o.data());
      call<double>(jit->lookup(entry.name), params.data(), in.data(), ptrs, 21);
      for (const auto& o : outs) out.insert(out.end(), o.begin(), o.end());
    }
    results.push_back(out);
  }
  CHECK(results[1] == results[0]);  // the same code, bit for bit
  CHECK(results[2] == results[0]);
}

// Matvec register blocks fit the target's vector registers: 8 rows of
// <32 x float> (two zmm each) on AVX-512's 32 registers; on AVX2's 16 the
// same 8 rows of two ymm each spilled, so 4.
TEST_CASE("jit: register blocks follow the target's vector registers", "[jit]") {
  CHECK(register_block(32, 512, 32, 32) == 8);  // AVX-512 map entries, f32
  CHECK(register_block(32, 512, 16, 32) == 8);  // AVX-512 gradient entries
  CHECK(register_block(16, 256, 16, 32) == 4);  // AVX2 map entries (two ymm a value)
  CHECK(register_block(16, 256, 8, 32) == 8);   // AVX2, one ymm a value
  CHECK(register_block(16, 128, 4, 64) == 4);   // SSE2 map entries, f64
  CHECK(register_block(16, 128, 16, 64) == 2);  // never fewer than 2
  CHECK(register_block(16, 256, 1, 32) == 8);   // one-sample entries
}

// A gradient block is a cache line of samples (64 bytes) in at most two of
// the target's preferred vectors.
TEST_CASE("jit: gradient blocks are a cache line of samples", "[jit]") {
  CHECK(gradient_vectors(512, 32) == 1);  // Zen 4/5: one zmm of 16 floats
  CHECK(gradient_vectors(512, 64) == 1);
  CHECK(gradient_vectors(256, 32) == 2);  // Intel AVX-512 (prefers ymm), AVX2
  CHECK(gradient_vectors(256, 64) == 2);
  CHECK(gradient_vectors(128, 32) == 2);  // SSE2: never more than two
  CHECK(gradient_vectors(128, 64) == 2);
}

// A map block is two operations of the vector datapath, in one or two of
// the preferred vectors.
TEST_CASE("jit: map blocks are two operations of the vector datapath", "[jit]") {
  CHECK(vector_datapath_bits("znver4", 512) == 256);  // Zen 4 splits zmm operations
  CHECK(vector_datapath_bits("znver5", 512) == 512);
  CHECK(vector_datapath_bits("znver4", 256) == 256);  // --cpu znver4 with ymm preferred
  CHECK(vector_datapath_bits("skylake-avx512", 256) == 256);
  CHECK(map_vectors(512, 256) == 1);  // Zen 4: one zmm
  CHECK(map_vectors(512, 512) == 2);  // Zen 5: two zmm
  CHECK(map_vectors(256, 256) == 2);  // AVX2, Intel's AVX-512: two ymm
  CHECK(map_vectors(128, 128) == 2);  // SSE2: two xmm
}

// Code generated for other x86-64 CPUs, which this one runs: AVX2 (16
// registers: 4-row blocks at two vectors a value) and the SSE2 baseline
// (no FMA: a multiply and an add, rounded twice, hence a tolerance); and
// this CPU's code at two preferred vectors per map block (Zen 5's, if this
// CPU prefers 512-bit vectors). 37 hidden rows leave a remainder after the
// blocks.
TEST_CASE("jit: code for an AVX2 and an SSE2 CPU matches the interpreter", "[jit]") {
  Graph g;
  const Program program = coupling_chain(g, 6, 37, 2);
  const std::vector<double> params = chain_params(g);
  JitOptions one_vector;  // f64 at one vector per block: the host's vector bits
  one_vector.map_vectors = 1;
  const int host_bits = JitModule::compile(program, one_vector)->vector_width() * 64;
  for (const char* cpu : {"haswell", "x86-64", ""}) {
    for (Precision precision : {Precision::f64, Precision::f32}) {
      INFO("cpu '" << cpu << (precision == Precision::f64 ? "' f64" : "' f32"));
      JitOptions options;
      options.target_cpu = cpu;
      options.precision = precision;
      const bool host = std::string(cpu).empty();
      if (host) options.map_vectors = 2;
      const auto jit = JitModule::compile(program, options);
      const int register_bits = host ? host_bits : std::string(cpu) == "haswell" ? 256 : 128;
      const int element_bits = precision == Precision::f64 ? 64 : 32;
      CHECK(jit->vector_width() == 2 * register_bits / element_bits);
      if (!host) CHECK(jit->gradient_width() == 2 * register_bits / element_bits);
      std::mt19937 rng(8);
      const int64_t n = 3 * jit->vector_width() + 5;
      if (precision == Precision::f64)
        compare<double>(program, program.entries[0], *jit, params, n, {{-2, 2}}, rng);
      else
        compare<float>(program, program.entries[0], *jit, params, n, {{-2, 2}}, rng);
    }
  }
}

TEST_CASE("jit: vector width follows the precision", "[jit]") {
  Graph g;
  const NodeId x = g.input(0, 1);
  Program program{&g, {{"f", x, {g.unary(Op::exp, x)}}}};
  JitOptions f64, f32;
  f32.precision = Precision::f32;
  const int w64 = JitModule::compile(program, f64)->vector_width();
  const int w32 = JitModule::compile(program, f32)->vector_width();
  CHECK(w64 >= 1);
  CHECK(w32 == 2 * w64);
}

TEST_CASE("jit: leftover vars and unknown entry names are internal errors", "[jit]") {
  Graph g;
  const NodeId x = g.input(0, 2);
  const NodeId v = g.var(g.add_var_name("v"), 2);
  Program bad{&g, {{"f", x, {g.binary(Op::mul, x, v)}}}};
  CHECK_THROWS_AS(JitModule::compile(bad, {}), InternalError);
  Program good{&g, {{"f", x, {g.unary(Op::exp, x)}}}};
  const auto jit = JitModule::compile(good, {});
  CHECK_THROWS_AS(jit->lookup("nope"), InternalError);
  CHECK(jit->lookup("f") != nullptr);
}

TEST_CASE("jit: matvec_t, all unroll/loop combinations", "[jit]") {
  // rows x cols: both unrolled; few rows, one loop over the columns;
  // columns looped in blocks with a remainder; rows looped; both looped.
  const std::vector<std::pair<int, int>> shapes = {{3, 2},  {5, 20},  {9, 20},
                                                   {20, 5}, {37, 19}, {9, 8}};
  for (auto [rows, cols] : shapes) {
    INFO(rows << " x " << cols);
    Graph g;
    const NodeId x = g.input(0, rows);
    const NodeId w = g.param(g.add_param("w", {rows, cols}));
    // From the input and from a computed vector.
    const NodeId y = g.matvec_t(w, x, rows, cols);
    const NodeId z = g.matvec_t(w, g.unary(Op::tanh, x), rows, cols);
    Program program{&g, {{"f", x, {y, z}}}};
    check_program(program, random_params(g, 1.0), {{-1, 1}});
  }
}

TEST_CASE("jit: scatter adds into zeros, repeated indices add", "[jit]") {
  Graph g;
  const NodeId x = g.input(0, 20);
  const NodeId p = g.param(g.add_param("p", {12}));
  std::vector<int> spread;  // 15 indices into 30, with repeats
  for (int k = 0; k < 15; ++k) spread.push_back((7 * k + 3) % 11);
  // Short result (compile-time sums), long result from a short operand
  // (unrolled adds), long from long (index table), a contiguous run, a
  // scatter of a parameter and of a length-1 value.
  const NodeId short_out = g.scatter(g.gather(x, {0, 1, 2, 3}), {2, 0, 2, 5}, 6);
  const NodeId from_short = g.scatter(g.unary(Op::exp, g.gather(x, {4, 5, 6})), {3, 17, 3}, 20);
  const NodeId from_long = g.scatter(g.gather(g.unary(Op::tanh, x), iota(0, 15)), spread, 30);
  const NodeId run = g.scatter(g.unary(Op::sinh, x), iota(6, 20), 40);
  const NodeId from_param = g.scatter(p, {11, 10, 9, 0, 0, 1, 2, 3, 4, 5, 6, 7}, 14);
  const NodeId from_scalar = g.scatter(g.sum(x), {9}, 12);
  Program program{
      &g,
      {{"f",
        x,
        {short_out, g.concat({from_short, from_long, run}), g.concat({from_param, from_scalar})}}}};
  check_program(program, random_params(g, 2.0), {{-1, 1}});
}

TEST_CASE("jit: broadcast is a view of its operand", "[jit]") {
  for (int len : {3, 12}) {
    INFO("length " << len);
    Graph g;
    const NodeId x = g.input(0, len);
    const NodeId s = g.sum(g.unary(Op::exp, x));
    const NodeId b = g.broadcast(s, len);
    const NodeId y = g.binary(Op::mul, x, b);
    // Long gathers and matvecs read a broadcast at run-time indices.
    const NodeId picked = g.gather(b, iota(0, len));
    const NodeId w = g.param(g.add_param("w", {10, len}));
    const NodeId mv = g.matvec(w, b, 10, len);
    Program program{&g, {{"f", x, {b, y, g.concat({picked, mv})}}}};
    check_program(program, random_params(g, 1.0), {{-1, 1}});
  }
}

namespace {

// Runs a mean_gradient entry through the JIT on n samples and compares the
// loss and every gradient element with the interpreter. `grad` starts out
// full of a sentinel: the entry point must overwrite all of it.
template <typename T>
void compare_gradient(const Program& program, const EntryPoint& entry, const JitModule& jit,
                      const std::vector<double>& exact_params, int64_t n,
                      const std::vector<Range>& input_ranges, std::mt19937& rng,
                      double f64_tol = 0) {
  const double rel = f64_tol > 0 && sizeof(T) == 8 ? f64_tol : Tolerance<T>::rel;
  const double abs = f64_tol > 0 && sizeof(T) == 8 ? f64_tol : Tolerance<T>::abs;
  const Graph& g = *program.graph;
  const auto p = narrow<T>(exact_params);
  const std::vector<double> params(p.begin(), p.end());
  const size_t dim = static_cast<size_t>(g.len(entry.input));
  const std::vector<double> in = random_values<T>(dim * static_cast<size_t>(n), input_ranges, rng);
  std::vector<double> want_grad;
  const double want = interpret_mean_gradient(g, entry, params, in, n, want_grad);

  const auto x = narrow<T>(in);
  std::vector<T> grad(static_cast<size_t>(g.param_count()), T(kSentinel));
  std::vector<unsigned char> work(static_cast<size_t>(jit.workspace_bytes(entry.name)));
  const double got = reinterpret_cast<nfc::abi::MeanGradient<T>>(jit.lookup(entry.name))(
      p.data(), x.data(), n, grad.data(), work.data());
  const auto close = [&](double got, double want) {
    return std::fabs(got - want) <= rel * std::fabs(want) + abs;
  };
  INFO(entry.name << " on n=" << n << ": loss " << got << ", want " << want);
  CHECK(close(got, want));
  REQUIRE(want_grad.size() == grad.size());
  for (size_t i = 0; i < grad.size(); ++i) {
    INFO("grad[" << i << "]: got " << grad[i] << ", want " << want_grad[i]);
    CHECK(close(grad[i], want_grad[i]));
  }
}

// On this CPU and for AVX2 ("haswell"), whose gradient blocks are two
// vectors (gradient_vectors).
void check_gradient_program(const Program& program, const std::vector<double>& params,
                            const std::vector<Range>& input_ranges) {
  std::mt19937 rng(11);
  for (const char* cpu : {"", "haswell"})
    for (Precision precision : {Precision::f64, Precision::f32}) {
      INFO("cpu '" << cpu << (precision == Precision::f64 ? "' f64" : "' f32"));
      JitOptions options;
      options.precision = precision;
      options.target_cpu = cpu;
      const auto jit = JitModule::compile(program, options);
      for (const EntryPoint& entry : program.entries) {
        const bool gradient = entry.kind == EntryKind::mean_gradient;
        for (int64_t n : (gradient ? gradient_batch_sizes : batch_sizes)(jit->vector_width())) {
          if (entry.kind != EntryKind::mean_gradient && precision == Precision::f64)
            compare<double>(program, entry, *jit, params, n, input_ranges, rng);
          else if (entry.kind != EntryKind::mean_gradient)
            compare<float>(program, entry, *jit, params, n, input_ranges, rng);
          else if (precision == Precision::f64)
            compare_gradient<double>(program, entry, *jit, params, n, input_ranges, rng);
          else
            compare_gradient<float>(program, entry, *jit, params, n, input_ranges, rng);
        }
      }
    }
}

EntryPoint gradient_entry(std::string name, NodeId input, NodeId loss,
                          std::vector<Accumulation> accumulations) {
  EntryPoint e;
  e.name = std::move(name);
  e.input = input;
  e.outputs = {loss};
  e.kind = EntryKind::mean_gradient;
  e.accumulations = std::move(accumulations);
  return e;
}

Accumulation value_term(int64_t offset, NodeId value) {
  Accumulation a;
  a.offset = offset;
  a.value = value;
  return a;
}

Accumulation outer_term(int64_t offset, NodeId a, NodeId b) {
  Accumulation acc;
  acc.offset = offset;
  acc.outer_a = a;
  acc.outer_b = b;
  return acc;
}

// The hand-written reverse mode of a 3-layer MLP with loss 0.5 |y|^2:
// h1 = tanh(W1 x + b1), h2 = softplus(W2 h1 + b2), y = W3 h2 + b3; with
// `relu`, relu for both activations (no transcendental functions).
Program mlp_gradient(Graph& g, int in, int hidden, int out, bool relu = false) {
  const NodeId x = g.input(0, in);
  const int w1 = g.add_param("w1", {hidden, in}), b1 = g.add_param("b1", {hidden});
  const int w2 = g.add_param("w2", {hidden, hidden}), b2 = g.add_param("b2", {hidden});
  const int w3 = g.add_param("w3", {out, hidden}), b3 = g.add_param("b3", {out});
  const auto P = [&](int t) { return g.param(t); };
  const auto offset = [&](int t) { return g.params()[static_cast<size_t>(t)].offset; };
  const NodeId z1 = g.binary(Op::add, g.matvec(P(w1), x, hidden, in), P(b1));
  const NodeId h1 = g.unary(relu ? Op::relu : Op::tanh, z1);
  const NodeId z2 = g.binary(Op::add, g.matvec(P(w2), h1, hidden, hidden), P(b2));
  const NodeId h2 = g.unary(relu ? Op::relu : Op::softplus, z2);
  const NodeId y = g.binary(Op::add, g.matvec(P(w3), h2, out, hidden), P(b3));
  const NodeId loss = g.binary(Op::mul, g.constant(0.5), g.sum(g.binary(Op::mul, y, y)));
  const NodeId dz2 =
      g.binary(Op::mul, g.matvec_t(P(w3), y, out, hidden),
               relu ? g.select_pos(z2, g.constant(1), g.constant(0)) : g.unary(Op::sigmoid, z2));
  Ex H1{&g, h1};
  const NodeId dz1 =
      g.binary(Op::mul, g.matvec_t(P(w2), dz2, hidden, hidden),
               relu ? g.select_pos(z1, g.constant(1), g.constant(0)) : (1.0 - H1 * H1).id);
  EntryPoint forward{"forward", x, {y, loss}};
  return Program{
      &g,
      {forward, gradient_entry("grad", x, loss,
                               {outer_term(offset(w3), y, h2), value_term(offset(b3), y),
                                outer_term(offset(w2), dz2, h1), value_term(offset(b2), dz2),
                                outer_term(offset(w1), dz1, x), value_term(offset(b1), dz1)})}};
}

}  // namespace

TEST_CASE("jit: mean_gradient entries match the interpreter", "[jit]") {
  Graph g;
  const NodeId x = g.input(0, 19);
  const int w = g.add_param("w", {37, 19});
  const int v = g.add_param("v", {3, 2});
  const int b = g.add_param("b", {37});
  g.add_param("untouched", {5});
  const int64_t w_at = g.params()[static_cast<size_t>(w)].offset;
  const int64_t v_at = g.params()[static_cast<size_t>(v)].offset;
  const int64_t b_at = g.params()[static_cast<size_t>(b)].offset;
  const NodeId h =
      g.unary(Op::tanh, g.binary(Op::add, g.matvec(g.param(w), x, 37, 19), g.param(b)));
  const NodeId loss = g.sum(g.binary(Op::mul, h, h));
  const NodeId small_a = g.gather(h, {0, 5, 9});
  const NodeId small_b = g.unary(Op::exp, g.gather(x, {1, 2}));
  Program program{
      &g,
      {// Outer products in registers and in memory, a scalar term.
       gradient_entry("each", x, loss,
                      {outer_term(w_at, h, x), outer_term(v_at, small_a, small_b),
                       value_term(b_at, h), value_term(b_at + 36, g.sum(x))}),
       // Overlapping terms add: twice into w, and a value term over part of an outer one.
       gradient_entry(
           "overlap", x, g.sum(x),
           {outer_term(w_at, h, x), outer_term(w_at, g.unary(Op::neg, h), g.unary(Op::exp, x)),
            value_term(w_at + 10, h), value_term(v_at, g.constant(2)),
            value_term(v_at + 1, g.param(b))}),
       // No accumulations: just the mean loss, grad all zeros.
       gradient_entry("loss_only", x, loss, {})}};
  check_gradient_program(program, random_params(g, 0.5), {{-1, 1}});
}

TEST_CASE("jit: mean_gradient of a hand-derived MLP matches the interpreter", "[jit]") {
  for (bool relu : {false, true}) {
    Graph g;
    const Program program = mlp_gradient(g, 5, 24, 3, relu);
    check_gradient_program(program, chain_params(g), {{-2, 2}});
  }
}

TEST_CASE("jit: mean_gradient of a 64 -> 512 -> 512 -> 128 MLP: IR follows nodes, results match",
          "[jit][scaling]") {
  Graph g;
  const Program program = mlp_gradient(g, 64, 512, 128);
  const std::vector<double> params = chain_params(g);
  for (Precision precision : {Precision::f64, Precision::f32}) {
    JitOptions options;
    options.precision = precision;
    options.keep_ir = true;
    const auto jit = JitModule::compile(program, options);
    // Same nodes, 4x narrower hidden layers, and as many distinct matrix
    // shapes (a 128 x 128 output layer would share the hidden layer's kernel).
    Graph narrow_graph;
    const auto narrow_jit = JitModule::compile(mlp_gradient(narrow_graph, 64, 128, 96), options);
    CHECK(double(jit->ir().size()) < 1.2 * double(narrow_jit->ir().size()));
    std::mt19937 rng(4);
    const int64_t n = 11 * jit->vector_width() + 7;  // several staging groups
    if (precision == Precision::f64)
      compare_gradient<double>(program, program.entries[1], *jit, params, n, {{-2, 2}}, rng);
    else
      compare_gradient<float>(program, program.entries[1], *jit, params, n, {{-2, 2}}, rng);
  }
}

TEST_CASE("jit: dead lanes of a mean_gradient block never leak Inf or NaN", "[jit]") {
  // Dead lanes read input 0, where 1/x and log(x) are infinite and 0 * (1/x)
  // is NaN. Live inputs are in [0.5, 2], so every true result is finite.
  Graph g;
  const NodeId x = g.input(0, 12);
  const int w = g.add_param("w", {12, 12});
  const int b = g.add_param("b", {12});
  const NodeId inv = g.binary(Op::div, g.constant(1), x);
  const NodeId zero_inv = g.binary(Op::mul, g.binary(Op::sub, x, x), inv);  // NaN at x = 0
  const NodeId loss = g.sum(g.unary(Op::log, x));
  Program program{
      &g,
      {gradient_entry("f", x, loss,
                      {outer_term(g.params()[static_cast<size_t>(w)].offset, inv, zero_inv),
                       value_term(g.params()[static_cast<size_t>(b)].offset, inv)})}};
  for (Precision precision : {Precision::f64, Precision::f32}) {
    JitOptions options;
    options.precision = precision;
    const auto jit = JitModule::compile(program, options);
    std::mt19937 rng(2);
    for (int64_t n : gradient_batch_sizes(jit->vector_width())) {
      if (n % jit->gradient_width() == 0) continue;  // no dead lanes
      if (precision == Precision::f64)
        compare_gradient<double>(program, program.entries[0], *jit, {}, n, {{0.5, 2}}, rng);
      else
        compare_gradient<float>(program, program.entries[0], *jit, {}, n, {{0.5, 2}}, rng);
    }
  }
}

// Solve nodes: Newton-bisection in the JIT against the interpreter's. Both
// stop at 4 eps of their precision, so f64 agrees to a few ULPs of the
// root's conditioning (1e-12); f32 solves in float against the
// interpreter's double (1e-5).
namespace {

constexpr double kSolveTol64 = 1e-12;

struct SolveCase {
  const char* name;
  std::function<Ex(Ex)> f, dfdx;
  std::vector<Range> targets;  // one per element of the target
};

}  // namespace

TEST_CASE("jit: solve inverts monotone scalar functions like the interpreter", "[jit]") {
  const std::vector<SolveCase> cases = {
      {"x + 0.5 tanh(x)",
       [](Ex x) { return x + 0.5 * apply(Op::tanh, x); },
       [](Ex x) {
         const Ex t = apply(Op::tanh, x);
         return 1.0 + 0.5 * (1.0 - t * t);
       },
       {{-6, 6}}},
      {"-(x^3) - x",
       [](Ex x) { return -(x * x * x) - x; },
       [](Ex x) { return -3.0 * (x * x) - 1.0; },
       {{-20, 20}}},
      // Roots near +-1e6: the bracket doubles about 20 times.
      {"asinh(x) + 1e-3 x",
       [](Ex x) { return apply(Op::asinh, x) + 1e-3 * x; },
       [](Ex x) { return 1.0 / apply(Op::sqrt, x * x + 1.0) + 1e-3; },
       {{900, 1100}, {-1100, -900}, {-0.5, 0.5}}},
  };
  for (const SolveCase& c : cases) {
    INFO(c.name);
    Graph g;
    const int len = static_cast<int>(c.targets.size());
    const NodeId target = g.input(0, len);
    const Ex x{&g, g.var(g.add_var_name("x"), 1)};
    const NodeId root = g.solve(target, c.f(x).id, c.dfdx(x).id, x.id);
    REQUIRE(g.len(root) == len);
    Program program{&g, {{"solve", target, {root}}}};
    check_program(program, {}, c.targets, {}, kSolveTol64);
  }
}

// A target outside f's image has no root: the bracket never changes sign,
// and the solve is NaN in every backend — it used to return the last
// bisection point, a finite number that is not an inverse (issue 18).
TEST_CASE("jit: solve of a target outside f's image is NaN, like the interpreter", "[jit]") {
  Graph g;
  const NodeId target = g.input(0, 3);
  const Ex x{&g, g.var(g.add_var_name("x"), 1)};
  const Ex t = apply(Op::tanh, x);
  const NodeId root = g.solve(target, t.id, (1.0 - t * t).id, x.id);
  const EntryPoint entry{"solve", target, {root}};
  const auto out = interpret(g, entry, {}, {0.5, 1.5, -7.0});
  CHECK(out[0][0] == Approx(std::atanh(0.5)).epsilon(1e-12));
  CHECK(std::isnan(out[0][1]));  // tanh never reaches 1.5
  CHECK(std::isnan(out[0][2]));
  Program program{&g, {entry}};
  check_program(program, {}, {{1.5, 3}, {-3, -1.5}, {2, 9}}, {}, kSolveTol64);
}

// A solve that does not converge within its 100 steps is NaN too, never
// the iterate it stopped at: here dfdx is 1e10 times too large (a wrong
// derivative stands for any f too steep for Newton's steps to get
// anywhere), so every step moves ~1e-10 and stays inside the bracket.
TEST_CASE("jit: solve that does not converge is NaN, like the interpreter", "[jit]") {
  Graph g;
  const NodeId target = g.input(0, 2);
  const Ex x{&g, g.var(g.add_var_name("x"), 1)};
  const NodeId slow = g.solve(target, x.id, g.constant(1e10), x.id);
  const EntryPoint entry{"solve", target, {slow}};
  const auto out = interpret(g, entry, {}, {0.5, 0.0});
  CHECK(std::isnan(out[0][0]));
  CHECK(out[0][1] == 0);  // the first midpoint is the root: no step needed
  // In f64 (a tolerance of 4 eps, which 1e-10 steps never meet); in f32
  // such steps count as converged, so this f tells nothing there.
  std::mt19937 rng(1);
  JitOptions o;
  o.precision = Precision::f64;
  const auto jit = JitModule::compile(Program{&g, {entry}}, o);
  for (int64_t n : batch_sizes(jit->vector_width()))
    compare<double>(Program{&g, {entry}}, entry, *jit, {}, n, {{0.25, 0.75}, {0.25, 0.75}}, rng,
                    kSolveTol64);
}

TEST_CASE("jit: solve with context vectors, unrolled and looped over elements", "[jit]") {
  // x exp(s) + 0.3 tanh(x) + t per element: s from the input, t a parameter;
  // length 5 unrolls the elements, 12 loops over them.
  for (int len : {5, 12}) {
    INFO("length " << len);
    Graph g;
    const NodeId in = g.input(0, 2 * len);
    const NodeId target = g.gather(in, iota(0, len));
    const Ex s{&g, g.gather(in, iota(len, len))};
    const Ex t{&g, g.param(g.add_param("t", {len}))};
    const Ex x{&g, g.var(g.add_var_name("x"), 1)};
    const Ex es = apply(Op::exp, s), th = apply(Op::tanh, x);
    const Ex f = x * es + 0.3 * th + t;
    const Ex dfdx = es + 0.3 * (1.0 - th * th);
    const NodeId root = g.solve(target, f.id, dfdx.id, x.id);
    REQUIRE(g.len(root) == len);
    // The root feeds further nodes that also read its context.
    const NodeId after = g.binary(Op::mul, root, s.id);
    Program program{&g, {{"solve", in, {root, after, g.sum(root)}}}};
    std::vector<Range> ranges(static_cast<size_t>(len), Range{-4, 4});
    ranges.resize(2 * static_cast<size_t>(len), Range{-1, 1});
    check_program(program, random_params(g, 2.0), ranges, {}, kSolveTol64);
  }
}

TEST_CASE("jit: solve inside a mean_gradient entry (dead lanes stay out of the sums)", "[jit]") {
  Graph g;
  const NodeId in = g.input(0, 1);
  const Ex x{&g, g.var(g.add_var_name("x"), 1)};
  const Ex th = apply(Op::tanh, x);
  const NodeId root = g.solve(in, (x + 0.5 * th).id, (1.0 + 0.5 * (1.0 - th * th)).id, x.id);
  const NodeId b = g.param(g.add_param("b", {1}));
  const NodeId loss = g.binary(Op::mul, root, b);
  Program program{&g, {gradient_entry("grad", in, loss, {value_term(0, root)})}};
  std::mt19937 rng(3);
  for (Precision precision : {Precision::f64, Precision::f32}) {
    JitOptions options;
    options.precision = precision;
    const auto jit = JitModule::compile(program, options);
    for (int64_t n : batch_sizes(jit->vector_width())) {
      if (precision == Precision::f64)
        compare_gradient<double>(program, program.entries[0], *jit, {0.7}, n, {{-5, 5}}, rng,
                                 kSolveTol64);
      else
        compare_gradient<float>(program, program.entries[0], *jit, {0.7}, n, {{-5, 5}}, rng);
    }
  }
}

TEST_CASE("jit: solve over a non-elementwise x-dependent node is an internal error", "[jit]") {
  Graph g;
  const NodeId target = g.input(0, 1);
  const NodeId x = g.var(g.add_var_name("x"), 1);
  const NodeId f = g.sum(g.concat({x, g.unary(Op::tanh, x)}));
  const NodeId d = g.binary(Op::add, g.constant(1), g.constant(0.5));
  Program program{&g, {{"solve", target, {g.solve(target, f, d, x)}}}};
  CHECK_THROWS_AS(JitModule::compile(program, {}), InternalError);
  CHECK_THROWS_WITH(JitModule::compile(program, {}), Catch::Contains("only elementwise ops"));
}

TEST_CASE("jit: solve's IR is loops, its size independent of the element count", "[jit]") {
  // The solver's phases are emitted loops, not unrolled: the IR of a solve
  // over 12 elements (a loop over them) is that of one over 40.
  auto ir_size = [](int len) {
    Graph g;
    const NodeId in = g.input(0, 2 * len);
    const Ex s{&g, g.gather(in, iota(len, len))};
    const Ex x{&g, g.var(g.add_var_name("x"), 1)};
    const Ex th = apply(Op::tanh, x);
    const NodeId root =
        g.solve(g.gather(in, iota(0, len)), (x * s + th).id, (s + (1.0 - th * th)).id, x.id);
    Program program{&g, {{"solve", in, {root}}}};
    JitOptions options;
    options.keep_ir = true;
    const auto jit = JitModule::compile(program, options);
    return jit->ir().size();
  };
  const size_t small = ir_size(12), large = ir_size(40);
  INFO("IR bytes: " << small << " for 12 elements, " << large << " for 40");
  CHECK(double(large) < 1.1 * double(small));
  CHECK(small < 40000);
}

TEST_CASE("jit: solve with derivative()'s dfdx, as the compiler builds it", "[jit]") {
  // The transforms of a coupling layer without a closed-form inverse: the
  // context (s, t) comes from the input through a small net's parameters.
  Graph g;
  const int len = 3;
  const NodeId in = g.input(0, 2 * len);
  const NodeId w = g.param(g.add_param("w", {2 * len, len}));
  const NodeId st = g.unary(Op::tanh, g.matvec(w, g.gather(in, iota(len, len)), 2 * len, len));
  const Ex s{&g, g.gather(st, iota(0, len))}, t{&g, g.gather(st, iota(len, len))};
  const Ex x{&g, g.var(g.add_var_name("x"), 1)};
  const Ex bent = x * apply(Op::exp, s) + 0.5 * apply(Op::tanh, x) + t;
  const Ex sinh_map = x * apply(Op::exp, 0.2 * s) + 0.3 * apply(Op::sinh, x);
  const NodeId target = g.gather(in, iota(0, len));
  std::vector<NodeId> outputs;
  for (const Ex& f : {bent, sinh_map})
    outputs.push_back(g.solve(target, f.id, derivative(g, f.id, x.id), x.id));
  Program program{&g, {{"inverse", in, outputs}}};
  check_program(program, random_params(g, 1.0), {{-5, 5}}, {}, kSolveTol64);
}

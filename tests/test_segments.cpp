// A deep flow's entry points are emitted in segments, one function each
// (FunctionLowering::emit_segment, BufferPlan::segment_start): values that
// cross from one segment to the next go through scratch memory. The
// segmented code must compute what the unsegmented code does: the round
// trip, log-dets against the Jacobian, the interpreter, and gradients
// against finite differences.
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "driver/Compile.hpp"
#include "driver/JitCache.hpp"
#include "tests/Shell.hpp"
#include "tests/TestSupport.hpp"

using namespace nfc;

namespace {

// Three spline couplings: hundreds of nodes each (the spline's formula),
// over 600 per entry point (kSegmentNodes is 400), so every entry point is
// cut into segments (nll_grad into four); splines keep the flow well
// conditioned for finite differences, which 48 affine layers are not.
constexpr const char* kDeep = R"(
flow deep(dim = 4) {
  repeat 3 {
    coupling spline(mask = alternate, bins = 5, bound = 3) { net = mlp(hidden = [4], act = tanh) }
    permute random(seed = 5)
  }
})";

}  // namespace

TEST_CASE("segments: a deep flow's entry points are cut into functions", "[jit][segments]") {
  JitOptions options;
  options.opt_level = 0;
  options.keep_ir = true;
  options.threads = 1;  // one module per entry point
  const std::string ir = test::compile_or_fail(kDeep, options)->jit->ir();
  for (const char* part :
       {"@forward.part1(", "@inverse.part1(", "@log_prob.part1(", "@nll_grad.part3("}) {
    INFO(part);
    CHECK(ir.find(std::string("define internal void ") + part) != std::string::npos);
  }
}

TEST_CASE(
    "segments: on several threads, an entry point's segments are compiled in partitions "
    "that link and compute what one module does",
    "[jit][segments]") {
  JitOptions options;
  options.keep_ir = true;
  options.threads = 1;
  auto whole = test::compile_or_fail(kDeep, options);
  options.threads = 4;
  auto split = test::compile_or_fail(kDeep, options);
  // nll_grad (half the instructions, 2 shares of 4 threads) in 2
  // partitions, each of its 4 segments defined once and external (the entry
  // point calls those of the other partition); the rest whole.
  const std::string& ir = split->jit->ir();
  CHECK(test::occurrences(ir, "; ModuleID = 'nfc.nll_grad.partition") == 2);
  CHECK(test::occurrences(ir, "; ModuleID = 'nfc.forward'") == 1);
  CHECK(test::occurrences(ir, "define internal void @nll_grad.part") == 0);
  for (int s = 0; s < 4; ++s) {
    INFO("segment " << s);
    CHECK(test::occurrences(ir, "define dso_local void @nll_grad.part" + std::to_string(s) + "(") ==
          1);
  }
  CHECK(test::occurrences(ir, "define double @nll_grad(") == 1);
  // Same IR in each function, so the same numbers: the order of the sums
  // does not depend on the partition.
  CHECK(test::model_outputs(*split, 3, 29) == test::model_outputs(*whole, 3, 29));
}

TEST_CASE(
    "segments: segmented code agrees with the interpreter, the Jacobian and finite "
    "differences",
    "[jit][segments]") {
  test::check_flow_numerics(kDeep, 3);
  test::check_gradient(kDeep, 4);
}

TEST_CASE("segments: a partitioned entry point is stored in the JIT cache and linked from it",
          "[jit][segments][jit_cache]") {
  const std::filesystem::path dir = test::scratch_dir("nfc_test_segments", "cache");
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all);
  DiskObjectStore store(dir, uint64_t{1} << 30);
  JitOptions options;
  options.threads = 4;  // nll_grad in 2 partitions (above)
  options.cache = &store;
  auto compiled = test::compile_or_fail(kDeep, options);
  REQUIRE(!compiled->times.jit.from_cache);
  auto loaded = test::compile_or_fail(kDeep, options);
  CHECK(loaded->times.jit.from_cache);
  CHECK(test::model_outputs(*loaded, 3, 29) == test::model_outputs(*compiled, 3, 29));
}

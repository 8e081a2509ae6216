// A deep flow's entry points are emitted in segments, one function each
// (FunctionLowering::emit_segment, BufferPlan::segment_start): values that
// cross from one segment to the next go through scratch memory. The
// segmented code must compute what the unsegmented code does: the round
// trip, log-dets against the Jacobian, the interpreter, and gradients
// against finite differences.
#include <catch2/catch.hpp>
#include <string>

#include "driver/Compile.hpp"
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
  const std::string ir = test::compile_or_fail(kDeep, options)->jit->ir();
  for (const char* part :
       {"@forward.part1(", "@inverse.part1(", "@log_prob.part1(", "@nll_grad.part3("}) {
    INFO(part);
    CHECK(ir.find(std::string("define internal void ") + part) != std::string::npos);
  }
}

TEST_CASE(
    "segments: segmented code agrees with the interpreter, the Jacobian and finite "
    "differences",
    "[jit][segments]") {
  test::check_flow_numerics(kDeep, 3);
  test::check_gradient(kDeep, 4);
}

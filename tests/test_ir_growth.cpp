// Compile time follows the size of the IR the backend emits: it must grow
// at most linearly with the dimension for every layer kind (LLVM's passes
// then cost what they cost on that IR). Counted, not timed: the
// instructions of every entry point's module as lowered (-O0, so no pass
// changes them), at D = 8, 16 and 32.
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <string>

#include "driver/Compile.hpp"
#include "tests/TestSupport.hpp"

using namespace nfc;

namespace {

// Instructions of all entry points of `source` as lowered.
int64_t lowered_instructions(const std::string& source) {
  JitOptions options;
  options.opt_level = 0;
  options.keep_ir = true;
  options.threads = 2;
  auto model = test::compile_or_fail(source, options);
  int64_t count = 0;
  const std::string& ir = model->jit->ir();
  for (size_t at = 0; at < ir.size();) {
    const size_t end = ir.find('\n', at);
    if (ir.compare(at, 2, "  ") == 0 && ir.compare(at, 3, "  ;") != 0) ++count;
    at = end == std::string::npos ? ir.size() : end + 1;
  }
  return count;
}

}  // namespace

TEST_CASE("the lowered IR grows at most linearly with the dimension", "[jit][growth]") {
  // {kind, the layer stack at dimension {0}}
  const std::pair<const char*, const char*> kinds[] = {
      {"coupling affine",
       "repeat 4 { coupling affine(mask = alternate) { net = mlp(hidden = [64, 64], act = relu); "
       "s = 2 * tanh(s / 2) } }"},
      {"coupling spline",
       "repeat 2 { coupling spline(mask = alternate, bins = 8, bound = 3) { net = mlp(hidden = "
       "[32]) }; permute random(seed = 3) }"},
      {"maf", "repeat 2 { maf affine { net = made(hidden = [64], act = relu) }; permute reverse }"},
      {"iaf", "repeat 2 { iaf affine { net = made(hidden = [64], act = relu) }; permute reverse }"},
  };
  for (const auto& [kind, layers] : kinds) {
    int64_t previous = 0;
    for (int dim : {8, 16, 32}) {
      const int64_t n = lowered_instructions(
          fmt::format("flow growth(dim = {}, base = normal) {{ {} }}", dim, layers));
      INFO(kind << " at dim " << dim << ": " << n << " instructions, " << previous
                << " at half of it");
      // Doubling D at most doubles the IR, with a quarter's slack for the
      // pieces that do not scale (the unroll threshold's step at 8
      // elements, fixed prologues): a quadratic lowering quadruples it.
      if (previous > 0) CHECK(n <= previous * 5 / 2);
      previous = n;
    }
  }
}

namespace {

// Entry point `entry`'s module in the lowered IR (-O0) of a 6-D flow of
// `layers` repetitions of `layer`.
std::string stack_ir(const std::string& layer, int layers, const std::string& entry) {
  JitOptions options;
  options.opt_level = 0;
  options.keep_ir = true;
  auto model = test::compile_or_fail(
      fmt::format("flow f(dim = 6) {{ repeat {} {{ {} }} }}", layers, layer), options);
  const std::string& ir = model->jit->ir();
  const size_t begin = ir.find("; ModuleID = 'nfc." + entry + "'");
  REQUIRE(begin != std::string::npos);
  return ir.substr(begin, ir.find("; ModuleID", begin + 1) - begin);
}

}  // namespace

// Layers of one `repeat` lower their loop ops (made_sequence, made_adjoint)
// to one shared function each: a MAF's sampling direction at 8 layers is
// one loop function called 8 times, and 4 times the layers is less than
// twice the IR (the calls, the permutations and the log-dets grow; one copy
// of the loop, ~40 KB of IR here, would otherwise be 4 times as many).
TEST_CASE("repeated MAF layers share one made_sequence function", "[jit][growth]") {
  const char* maf = "maf affine { net = made(hidden = [16, 16]) }; permute reverse";
  const std::string two = stack_ir(maf, 2, "inverse"), eight = stack_ir(maf, 8, "inverse");
  CHECK(test::occurrences(eight, "define internal void @nfc.loop") == 1);
  CHECK(test::occurrences(eight, "call void @nfc.loop0(") == 8);
  INFO("inverse IR: " << two.size() << " bytes at 2 layers, " << eight.size() << " at 8");
  CHECK(eight.size() < two.size() * 2);
}

// So do their matrix kernels: a coupling network's matvecs into buffers
// (here 64 x 3 and 64 x 64) are one function per shape, whatever the depth.
TEST_CASE("repeated coupling layers share their matvec kernels", "[jit][growth]") {
  const char* coupling = "coupling affine(mask = alternate) { net = mlp(hidden = [64, 64]) }";
  const std::string two = stack_ir(coupling, 2, "log_prob"),
                    six = stack_ir(coupling, 6, "log_prob");
  CHECK(test::occurrences(two, "define internal void @nfc.loop") == 2);
  CHECK(test::occurrences(six, "define internal void @nfc.loop") == 2);
  CHECK(test::occurrences(six, "call void @nfc.loop") == 12);
}

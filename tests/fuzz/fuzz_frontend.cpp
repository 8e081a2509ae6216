// libFuzzer target: .nf text through the driver's pipeline up to the graph
// (derivation, inversion, structural pass), one interpreted sample of each
// entry point, and lowering to LLVM IR (verified, not optimised or compiled:
// O2 and codegen are LLVM's, and slow). A crash, a sanitizer report, an
// uncaught exception (InternalError is an nfc bug) or invalid IR is a find.
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Support/raw_ostream.h>

#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string_view>
#include <utility>

#include "compiler/backend/interp/Interpreter.hpp"
#include "compiler/backend/llvm/LlvmBackend.hpp"
#include "compiler/layers/FlowGraph.hpp"
#include "driver/Compile.hpp"
#include "support/InternalError.hpp"

namespace {

// Every entry at 4 lanes (row blocks of 8, and of 3: a remainder in every
// matvec), and the map entries as the JIT's one-sample variant too (1 lane,
// matrix rows in vectors of 4).
void lower_and_verify(const nfc::Program& program) {
  for (const nfc::EntryPoint& entry : program.entries) {
    const bool map = entry.kind == nfc::EntryKind::map;
    for (const nfc::LoweringShape shape :
         {nfc::LoweringShape{4, 0, 8}, nfc::LoweringShape{4, 0, 3}, nfc::LoweringShape{1, 4, 8}}) {
      if (shape.width == 1 && !map) continue;
      llvm::LLVMContext ctx;
      llvm::Module module("fuzz", ctx);
      nfc::lower_entry(program, entry, nfc::Precision::f32, shape, {}, module);
      if (llvm::verifyModule(module, &llvm::errs())) std::abort();
    }
  }
}

void interpret_one_sample(const nfc::FlowGraph& flow, const nfc::Program& program) {
  const std::vector<double> params(flow.graph.param_count(), 0.25);
  const std::vector<double> row(flow.dim + flow.context_dim, 0.5);  // (x, c)
  for (const nfc::EntryPoint& entry : program.entries) {
    if (entry.kind == nfc::EntryKind::map) {
      nfc::interpret(flow.graph, entry, params, row);
    } else {
      std::vector<double> grad;
      nfc::interpret_mean_gradient(flow.graph, entry, params, row, 1, grad);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view source(reinterpret_cast<const char*>(data), size);
  nfc::Diagnostics diags("fuzz.nf", source);
  const auto model = nfc::analyze_model(source, diags);
  std::ostringstream printed;
  diags.print(printed);  // the caret lines index into the source
  if (!model) return 0;
  const nfc::FlowGraph* flow = model->graph.get();
  const nfc::Program program = flow->program();
  interpret_one_sample(*flow, program);
  lower_and_verify(program);
  return 0;
}

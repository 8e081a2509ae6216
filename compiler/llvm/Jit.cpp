// JitModule: LLVM IR from LlvmBackend, the O-level pass pipeline tuned for
// the host, and ORC LLJIT for machine code. llvm::Error and llvm::Expected
// become InternalError here, at the edge.
#include "compiler/Jit.hpp"

#include <llvm/Analysis/TargetTransformInfo.h>
#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ThreadSafeModule.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>

#include <chrono>
#include <mutex>
#include <unordered_map>

#include "compiler/llvm/LlvmBackend.hpp"
#include "dsl/Diagnostics.hpp"

namespace nfc {

struct JitModule::Impl {
  std::unique_ptr<llvm::orc::LLJIT> jit;
  std::unordered_map<std::string, void*> entries;
  JitTimings timings;
  std::string ir;
  int width = 1;
};

namespace {

[[noreturn]] void fail(const std::string& what, llvm::Error error) {
  throw InternalError("jit: " + what + ": " + llvm::toString(std::move(error)));
}

template <typename T>
T unwrap(llvm::Expected<T> value, const std::string& what) {
  if (!value) fail(what, value.takeError());
  return std::move(*value);
}

void check(llvm::Error error, const std::string& what) {
  if (error) fail(what, std::move(error));
}

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

void initialize_llvm() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
}

llvm::CodeGenOptLevel codegen_level(int opt_level) {
  switch (opt_level) {
    case 0:
      return llvm::CodeGenOptLevel::None;
    case 1:
      return llvm::CodeGenOptLevel::Less;
    case 2:
      return llvm::CodeGenOptLevel::Default;
    default:
      return llvm::CodeGenOptLevel::Aggressive;
  }
}

llvm::OptimizationLevel ir_level(int opt_level) {
  switch (opt_level) {
    case 0:
      return llvm::OptimizationLevel::O0;
    case 1:
      return llvm::OptimizationLevel::O1;
    case 2:
      return llvm::OptimizationLevel::O2;
    default:
      return llvm::OptimizationLevel::O3;
  }
}

// Lanes per block: the target's preferred vector register width (which
// accounts for CPUs where 512-bit vectors are legal but slow) over T's width.
int host_vector_width(llvm::TargetMachine& tm, Precision precision) {
  llvm::LLVMContext ctx;
  llvm::Module probe("probe", ctx);
  auto* f = llvm::Function::Create(llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), false),
                                   llvm::Function::ExternalLinkage, "probe", probe);
  const auto bits = tm.getTargetTransformInfo(*f)
                        .getRegisterBitWidth(llvm::TargetTransformInfo::RGK_FixedWidthVector)
                        .getFixedValue();
  const int element_bits = precision == Precision::f32 ? 32 : 64;
  return std::max(1, static_cast<int>(bits) / element_bits);
}

void optimize(llvm::Module& module, llvm::TargetMachine& tm, int opt_level) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(&tm);  // the target machine: vector widths and costs for the host
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  const llvm::OptimizationLevel level = ir_level(opt_level);
  llvm::ModulePassManager mpm = level == llvm::OptimizationLevel::O0
                                    ? pb.buildO0DefaultPipeline(level)
                                    : pb.buildPerModuleDefaultPipeline(level);
  mpm.run(module, mam);
}

std::string print(const llvm::Module& module) {
  std::string text;
  llvm::raw_string_ostream out(text);
  module.print(out, nullptr);
  return text;
}

}  // namespace

std::unique_ptr<JitModule> JitModule::compile(const Program& program, const JitOptions& options) {
  initialize_llvm();
  auto impl = std::make_unique<Impl>();
  auto jtmb = unwrap(llvm::orc::JITTargetMachineBuilder::detectHost(), "detecting the host");
  jtmb.setCodeGenOptLevel(codegen_level(options.opt_level));
  std::unique_ptr<llvm::TargetMachine> tm =
      unwrap(jtmb.createTargetMachine(), "creating the target machine");
  impl->width = host_vector_width(*tm, options.precision);

  auto start = std::chrono::steady_clock::now();
  auto ctx = std::make_unique<llvm::LLVMContext>();
  auto module = std::make_unique<llvm::Module>("nfc", *ctx);
  module->setDataLayout(tm->createDataLayout());
  module->setTargetTriple(tm->getTargetTriple().str());
  lower_program(program, options.precision, impl->width, *module);
  std::string broken;
  llvm::raw_string_ostream broken_out(broken);
  if (llvm::verifyModule(*module, &broken_out))
    throw InternalError("jit: invalid IR from the llvm backend: " + broken);
  impl->timings.lower_ms = ms_since(start);

  start = std::chrono::steady_clock::now();
  optimize(*module, *tm, options.opt_level);
  impl->timings.optimize_ms = ms_since(start);
  if (options.keep_ir) impl->ir = print(*module);

  start = std::chrono::steady_clock::now();
  const char prefix = module->getDataLayout().getGlobalPrefix();
  impl->jit = unwrap(llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(jtmb).create(),
                     "creating the LLJIT");
  impl->jit->getMainJITDylib().addGenerator(
      unwrap(llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(prefix),
             "exposing host symbols"));
  check(impl->jit->addIRModule(llvm::orc::ThreadSafeModule(std::move(module), std::move(ctx))),
        "adding the module");
  for (const EntryPoint& entry : program.entries) {
    auto address = unwrap(impl->jit->lookup(entry.name), "compiling '" + entry.name + "'");
    impl->entries[entry.name] = address.toPtr<void*>();
  }
  impl->timings.codegen_ms = ms_since(start);
  return std::unique_ptr<JitModule>(new JitModule(std::move(impl)));
}

JitModule::JitModule(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
JitModule::~JitModule() = default;

void* JitModule::lookup(const std::string& entry_name) const {
  auto it = impl_->entries.find(entry_name);
  if (it == impl_->entries.end()) throw InternalError("jit: no entry point '" + entry_name + "'");
  return it->second;
}

const JitTimings& JitModule::timings() const {
  return impl_->timings;
}
const std::string& JitModule::ir() const {
  return impl_->ir;
}
int JitModule::vector_width() const {
  return impl_->width;
}

}  // namespace nfc

// JitModule: LLVM IR from LlvmBackend (one module per entry point), the
// O-level pass pipeline tuned for the host and for code that is vectorized
// by construction, machine code on a few threads, and ORC LLJIT to link and
// load it. llvm::Error and llvm::Expected become InternalError here, at the
// edge.
#include "compiler/Jit.hpp"

#include <llvm/Analysis/TargetTransformInfo.h>
#include <llvm/ExecutionEngine/Orc/CompileUtils.h>
#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/DynamicLibrary.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <map>
#include <mutex>
#include <thread>
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

using Clock = std::chrono::steady_clock;

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

double ms_between(Clock::time_point start, Clock::time_point end) {
  return std::chrono::duration<double, std::milli>(end - start).count();
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

// glibc's libmvec, loaded into the process (so the JIT's process symbol
// search finds it), and the variants it has for `width` lanes of the
// precision: _ZGV<isa>N<lanes>v_<name>, isa e = AVX-512 (512-bit vectors),
// d = AVX2 (256), c = AVX (256), b = SSE4 (128). The widest vector the host
// can run whose lane count divides `width` wins; a function missing from
// the library is left out (the lowering calls libm per lane instead).
VectorMath host_vector_math(const llvm::TargetMachine& tm, Precision precision, int width) {
  static std::mutex mutex;
  static std::map<std::pair<Precision, int>, VectorMath> cache;
  const std::lock_guard<std::mutex> lock(mutex);
  const auto key = std::make_pair(precision, width);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  VectorMath& table = cache[key];
  if (!tm.getTargetTriple().isX86() || !tm.getTargetTriple().isOSLinux()) return table;
  std::string error;
  auto lib = llvm::sys::DynamicLibrary::getPermanentLibrary("libmvec.so.1", &error);
  if (!lib.isValid()) return table;
  const std::string features = tm.getTargetFeatureString().str() + ",";
  auto has = [&](const char* feature) {
    return features.find(std::string("+") + feature + ",") != std::string::npos;
  };
  const int element_bits = precision == Precision::f32 ? 32 : 64;
  struct Isa {
    char letter;
    int bits;
    bool available;
  };
  const Isa isas[] = {{'e', 512, has("avx512f")},
                      {'d', 256, has("avx2")},
                      {'c', 256, has("avx")},
                      {'b', 128, has("sse4.1")}};
  for (const char* name :
       {"exp", "log", "log1p", "expm1", "tanh", "atanh", "sinh", "cosh", "asinh", "erf"}) {
    const std::string scalar = std::string(name) + (precision == Precision::f32 ? "f" : "");
    for (const Isa& isa : isas) {
      const int lanes = isa.bits / element_bits;
      if (!isa.available || lanes > width || width % lanes != 0) continue;
      const std::string symbol =
          "_ZGV" + std::string(1, isa.letter) + "N" + std::to_string(lanes) + "v_" + scalar;
      if (lib.getAddressOfSymbol(symbol.c_str()) == nullptr) continue;
      table[scalar] = {symbol, lanes};
      break;
    }
  }
  return table;
}

// The O-level pipeline without the loop vectorizer, SLP vectorizer and loop
// unrolling. The lowering emits explicit <W x T> vectors, register-blocked
// kernels and unrolls short nodes itself: the vectorizers find nothing left
// to do, and the unroller re-unrolling the emitted loops over long nodes
// (by 8 or 16, each unroll invalidating scalar evolution for the whole,
// loop-rich function) was 80% of O2 time and most of the machine code, for
// no measured run-time gain (bench/throughput.cpp).
void optimize(llvm::Module& module, llvm::TargetMachine& tm, int opt_level) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PipelineTuningOptions tuning;
  tuning.LoopUnrolling = false;
  tuning.LoopVectorization = false;
  tuning.LoopInterleaving = false;
  tuning.SLPVectorization = false;
  llvm::PassBuilder pb(&tm, tuning);  // the target machine: costs for the host
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

// One entry point on its way to machine code.
struct Unit {
  std::unique_ptr<llvm::LLVMContext> ctx;
  std::unique_ptr<llvm::Module> module;
  size_t size = 0;  // instructions after lowering: the bigger units start first
  std::string ir;   // optimized IR when keep_ir
  std::unique_ptr<llvm::MemoryBuffer> object;
  Clock::time_point optimized, compiled;
  double optimize_ms = 0, codegen_ms = 0;
};

// Optimises and compiles every unit, `threads` at a time, biggest first.
// Each thread has its own TargetMachine; each unit its own LLVMContext.
void compile_units(std::vector<Unit>& units, llvm::orc::JITTargetMachineBuilder jtmb,
                   const JitOptions& options, int threads) {
  std::vector<size_t> order(units.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return units[a].size > units[b].size; });
  std::atomic<size_t> next{0};
  std::mutex error_mutex;
  std::exception_ptr error;
  auto work = [&] {
    try {
      std::unique_ptr<llvm::TargetMachine> tm =
          unwrap(jtmb.createTargetMachine(), "creating the target machine");
      llvm::orc::SimpleCompiler compiler(*tm);
      for (size_t i = next++; i < order.size(); i = next++) {
        Unit& unit = units[order[i]];
        auto start = Clock::now();
        optimize(*unit.module, *tm, options.opt_level);
        unit.optimized = Clock::now();
        unit.optimize_ms = ms_between(start, unit.optimized);
        if (options.keep_ir) unit.ir = print(*unit.module);
        start = Clock::now();
        unit.object = unwrap(compiler(*unit.module), "generating code");
        unit.compiled = Clock::now();
        unit.codegen_ms = ms_between(start, unit.compiled);
      }
    } catch (...) {
      const std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
      next = order.size();  // the others stop after their current unit
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  if (error) std::rethrow_exception(error);
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
  const VectorMath vector_math =
      options.vector_math ? host_vector_math(*tm, options.precision, impl->width) : VectorMath{};

  const auto start = Clock::now();
  std::vector<Unit> units(program.entries.size());
  for (size_t i = 0; i < units.size(); ++i) {
    Unit& unit = units[i];
    unit.ctx = std::make_unique<llvm::LLVMContext>();
    unit.module = std::make_unique<llvm::Module>("nfc." + program.entries[i].name, *unit.ctx);
    unit.module->setDataLayout(tm->createDataLayout());
    unit.module->setTargetTriple(tm->getTargetTriple().str());
    lower_entry(program, program.entries[i], options.precision, impl->width, vector_math,
                *unit.module);
    std::string broken;
    llvm::raw_string_ostream broken_out(broken);
    if (llvm::verifyModule(*unit.module, &broken_out))
      throw InternalError("jit: invalid IR from the llvm backend: " + broken);
    for (const llvm::Function& f : *unit.module) unit.size += f.getInstructionCount();
  }
  const auto lowered = Clock::now();

  const unsigned hardware = std::max(1u, std::thread::hardware_concurrency());
  const int threads = static_cast<int>(std::max<size_t>(
      1, std::min<size_t>(units.size(),
                          options.threads > 0 ? static_cast<size_t>(options.threads) : hardware)));
  compile_units(units, jtmb, options, threads);

  auto optimized = lowered;
  for (const Unit& unit : units) {
    optimized = std::max(optimized, unit.optimized);
    impl->timings.optimize_cpu_ms += unit.optimize_ms;
    impl->timings.codegen_cpu_ms += unit.codegen_ms;
    impl->ir += unit.ir;
  }

  const char prefix = tm->createDataLayout().getGlobalPrefix();
  impl->jit = unwrap(llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(jtmb).create(),
                     "creating the LLJIT");
  impl->jit->getMainJITDylib().addGenerator(
      unwrap(llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(prefix),
             "exposing host symbols"));
  for (Unit& unit : units) {
    unit.module.reset();  // before its context
    unit.ctx.reset();
    check(impl->jit->addObjectFile(std::move(unit.object)), "adding an object");
  }
  for (const EntryPoint& entry : program.entries) {
    auto address = unwrap(impl->jit->lookup(entry.name), "linking '" + entry.name + "'");
    impl->entries[entry.name] = address.toPtr<void*>();
  }
  const auto linked = Clock::now();
  impl->timings.lower_ms = ms_between(start, lowered);
  impl->timings.optimize_ms = ms_between(lowered, optimized);
  impl->timings.codegen_ms = ms_between(optimized, linked);
  impl->timings.threads = threads;
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

// JitModule: LLVM IR from LlvmBackend (one module per entry point), the
// O-level pass pipeline tuned for the host and for code that is vectorized
// by construction, machine code on a few threads, and ORC LLJIT to link and
// load it. llvm::Error and llvm::Expected become InternalError here, at the
// edge.
#include "compiler/backend/llvm/Jit.hpp"

#include <llvm/Analysis/TargetTransformInfo.h>
#include <llvm/Config/llvm-config.h>
#include <llvm/ExecutionEngine/Orc/CompileUtils.h>
#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/MC/MCSubtargetInfo.h>
#include <llvm/Object/ELFObjectFile.h>
#include <llvm/Object/ObjectFile.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/CommandLine.h>
#include <llvm/Support/DynamicLibrary.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/TargetParser/Host.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>
#include <unordered_map>

#include "compiler/backend/llvm/LlvmBackend.hpp"
#include "compiler/backend/llvm/ObjectBundle.hpp"
#include "compiler/backend/llvm/Segments.hpp"
#include "compiler/backend/llvm/SmallBatch.hpp"
#include "compiler/ir/Erfinv.hpp"
#include "support/InternalError.hpp"

namespace nfc {

struct JitModule::Impl {
  std::unique_ptr<llvm::orc::LLJIT> jit;
  std::unordered_map<std::string, void*> entries;
  std::unordered_map<std::string, int64_t> workspace;  // bytes, by entry name
  JitTimings timings;
  std::string ir;
  int gradient_width = 1;  // gradient entry points
  int map_width = 1;       // map entry points
  int64_t small_batch_rows = 0;
};

namespace {

// Functions of nfc that compiled code calls per lane like libm's
// (FunctionLowering::call_libm), by address: a host program need not
// export them for the process's symbol search to find them.
double erfinv_f64(double a) {
  return erfinv(a);
}
float erfinv_f32(float a) {
  return erfinv(a);
}

void define_helpers(llvm::orc::LLJIT& jit) {
  llvm::orc::SymbolMap helpers;
  auto add = [&](const char* name, auto* fn) {
    helpers[jit.mangleAndIntern(name)] = {llvm::orc::ExecutorAddr::fromPtr(fn),
                                          llvm::JITSymbolFlags::Exported};
  };
  add("nfc_erfinv", &erfinv_f64);
  add("nfc_erfinvf", &erfinv_f32);
  if (auto err = jit.getMainJITDylib().define(llvm::orc::absoluteSymbols(std::move(helpers))))
    throw InternalError("llvm backend: defining nfc's helpers: " + llvm::toString(std::move(err)));
}

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

// Sets LLVM's command-line option `name` (registered by the library that
// reads it) to `value`, as its flag on llc would.
template <class T>
void set_llvm_option(const char* name, T value) {
  auto& options = llvm::cl::getRegisteredOptions();
  if (auto it = options.find(name); it != options.end())
    if (auto* option = static_cast<llvm::cl::opt<T>*>(it->second)) *option = value;
}

void initialize_llvm() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    // Loop strength reduction took 15% of code generation (the emitted
    // loops index memory by one induction variable already) and measured
    // no run-time difference on the bench workloads: off, as llc's
    // -disable-lsr would.
    set_llvm_option("disable-lsr", true);
    // The machine scheduler relates every memory access of a block to every
    // earlier one until this many are pending (LLVM's default: 1000), then
    // chains them: quadratic in a long straight block. A 100-layer MAF's
    // inverse ends in one of 3,500 instructions (the layers' log-det sums),
    // whose scheduling took 0.45 s of its 0.66 s of code generation; at 200,
    // 0.05 s. Blocks of ordinary kernels are far shorter (run time unchanged).
    set_llvm_option("dag-maps-huge-region", 200u);
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

// What LLVM knows of the target's vector registers: the width it prefers
// (which accounts for CPUs where 512-bit vectors are legal but slow) and
// how many there are (32 with AVX-512, 16 with AVX2 or SSE).
struct VectorRegisters {
  int bits = 128;
  int count = 16;
};

VectorRegisters target_vector_registers(llvm::TargetMachine& tm) {
  llvm::LLVMContext ctx;
  llvm::Module probe("probe", ctx);
  auto* f = llvm::Function::Create(llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), false),
                                   llvm::Function::ExternalLinkage, "probe", probe);
  const llvm::TargetTransformInfo tti = tm.getTargetTransformInfo(*f);
  return {
      static_cast<int>(
          tti.getRegisterBitWidth(llvm::TargetTransformInfo::RGK_FixedWidthVector).getFixedValue()),
      static_cast<int>(tti.getNumberOfRegisters(tti.getRegisterClassForType(true)))};
}

}  // namespace

int register_block(int registers, int register_bits, int width, int element_bits) {
  // A <width x T> accumulator takes this many registers; the block keeps
  // half the register file for the input element, weights and addresses.
  const int per_value = std::max(1, (width * element_bits + register_bits - 1) / register_bits);
  return std::clamp(registers / 2 / per_value, 2, 8);
}

int map_vectors(int register_bits, int datapath_bits) {
  return std::clamp(2 * datapath_bits / std::max(1, register_bits), 1, 2);
}

int vector_datapath_bits(std::string_view cpu, int register_bits) {
  return cpu == "znver4" ? std::min(register_bits, 256) : register_bits;
}

int gradient_vectors(int register_bits, int element_bits) {
  constexpr int kCacheLineBits = 64 * 8;  // every x86-64 CPU's
  const int lanes = std::max(1, register_bits / element_bits);
  return std::clamp(kCacheLineBits / element_bits / lanes, 1, 2);
}

namespace {

// glibc's libmvec, loaded into the process (once; the JIT's process symbol
// search then finds it: also what cached objects calling it need).
llvm::sys::DynamicLibrary load_libmvec() {
  std::string error;
  return llvm::sys::DynamicLibrary::getPermanentLibrary("libmvec.so.1", &error);
}

// libmvec, and the variants it has for `width` lanes of the
// precision: _ZGV<isa>N<lanes>v_<name>, isa e = AVX-512 (512-bit vectors),
// d = AVX2 (256), c = AVX (256), b = SSE4 (128). The widest vector the host
// can run whose lane count divides `width` wins; a function missing from
// the library is left out (the lowering calls libm per lane instead).
VectorMath host_vector_math(const llvm::TargetMachine& tm, Precision precision, int width) {
  static std::mutex mutex;
  static std::map<std::tuple<std::string, Precision, int>, VectorMath> cache;
  const std::lock_guard<std::mutex> lock(mutex);
  const auto key = std::make_tuple(tm.getTargetCPU().str(), precision, width);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  VectorMath& table = cache[key];
  if (!tm.getTargetTriple().isX86() || !tm.getTargetTriple().isOSLinux()) return table;
  llvm::sys::DynamicLibrary lib = load_libmvec();
  if (!lib.isValid()) return table;
  // The subtarget's features: the CPU's own and any set explicitly.
  auto has = [&](const char* feature) {
    return tm.getMCSubtargetInfo()->checkFeatures(std::string("+") + feature);
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
  for (const char* name : {"exp", "log", "log1p", "expm1", "tanh", "atanh", "sinh", "cosh", "asinh",
                           "sin", "cos", "erf", "erfc", "atan", "asin", "acos", "acosh", "cbrt"}) {
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

// One entry point, or one partition of its segments (Segments.hpp), on its
// way to machine code.
struct Unit {
  size_t job = 0;  // which entry point
  int partition = 0, partitions = 1;
  std::unique_ptr<llvm::LLVMContext> ctx;
  std::unique_ptr<llvm::Module> module;  // null until lowered
  size_t size = 0;    // instructions after lowering: the bigger units start first
  int opt_level = 2;  // of the IR pipeline and code generation
  std::string ir;     // optimized IR when keep_ir
  std::unique_ptr<llvm::MemoryBuffer> object;
  Clock::time_point optimized, compiled;
  double optimize_ms = 0, codegen_ms = 0;
};

// Unit `i`, of entry point `entry`, planned as partitions when it alone
// would outlast an even share of the work: `share` is all units'
// instructions over the threads (O2 and code generation cost about the same
// per instruction at O1 and O2: 24-35 us for 100 MAF layers' units). A unit
// within 1.05 shares stays whole, as a partition costs its own lowering and
// helper copies. Measured at 2 threads, medians of 5-10 cold compiles, whole
// against split: W3 (gradient 1.08 shares) 430 against 412 ms, the
// 784-D MAF (1.06) 230 / 225, examples/gaussians_mixture.nf (1.08)
// 190 / 183, examples/nsf_coupling.nf (1.08) 423 / 425; with two vectors per
// map block on Zen 4 (bigger map units), W3 at 1.06 had compiled faster
// whole (0.45-0.51 against 0.51-0.59 s). Else as many partitions as
// shares it holds, at most one per thread and per segment: unit i becomes
// partition 0 (its module is cut when compiled); partitions 1... are
// appended, in order, to be lowered by the thread that compiles them.
void plan_partitions(std::vector<Unit>& units, size_t i, const std::string& entry, double share,
                     int threads) {
  const double size = double(units[i].size);
  if (size <= 1.05 * share) return;
  const double segments = double(segment_functions(*units[i].module, entry).size());
  const int parts =
      static_cast<int>(std::min({double(threads), segments, std::ceil(size / share)}));
  if (parts < 2) return;
  units[i].partitions = parts;
  units[i].size /= static_cast<size_t>(parts);  // to order them
  for (int p = 1; p < parts; ++p) {
    Unit partition;
    partition.job = units[i].job;
    partition.partition = p;
    partition.partitions = parts;
    partition.opt_level = units[i].opt_level;
    partition.size = units[i].size;
    units.push_back(std::move(partition));
  }
}

// Optimises and compiles every unit, `threads` at a time, biggest first;
// `prepare` first gives a unit its module as compiled (a partition's
// lowering and cutting run in parallel with the rest). Each thread has its
// own TargetMachine; each unit its own LLVMContext.
void compile_units(std::vector<Unit>& units, llvm::orc::JITTargetMachineBuilder jtmb,
                   const JitOptions& options, int threads,
                   const std::function<void(Unit&)>& prepare) {
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
        prepare(unit);
        if (const char* dir = std::getenv("NFC_PREOPT_DIR"))  // for opt -time-passes
          std::ofstream(std::string(dir) + "/" + unit.module->getName().str() + ".ll")
              << print(*unit.module);
        tm->setOptLevel(codegen_level(unit.opt_level));
        optimize(*unit.module, *tm, unit.opt_level);
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

// A function of an object file: its name, offset in the object's text
// section and size.
struct ObjectFunction {
  std::string name;
  uint64_t offset = 0, size = 0;
};

std::vector<ObjectFunction> object_functions(const llvm::MemoryBuffer& object) {
  std::vector<ObjectFunction> out;
  auto file = llvm::object::ObjectFile::createObjectFile(object.getMemBufferRef());
  if (!file) {
    llvm::consumeError(file.takeError());
    return out;
  }
  for (const llvm::object::SymbolRef& symbol : (*file)->symbols()) {
    auto type = symbol.getType();
    auto name = symbol.getName();
    auto value = symbol.getValue();
    if (!type || !name || !value || *type != llvm::object::SymbolRef::ST_Function) {
      if (!type) llvm::consumeError(type.takeError());
      if (!name) llvm::consumeError(name.takeError());
      if (!value) llvm::consumeError(value.takeError());
      continue;
    }
    out.push_back({name->str(), *value, llvm::object::ELFSymbolRef(symbol).getSize()});
  }
  return out;
}

// With NFC_PERF_MAP set, every compiled function is listed in
// /tmp/perf-PID.map as OBJECT:FUNCTION (perf report then names JIT code)
// and each object is written to /tmp/nfc-PID-OBJECT.o, so samples can be
// placed on its disassembly (objdump -d; the map gives each function's
// load address). OBJECT is the entry point's name, with ".K" for its
// partition K > 0 (each partition has its own copies of the helpers). Each
// object has one text section, loaded contiguously, so a function's address
// is that of the object's entry point or segment (an external symbol, which
// the JIT can look up) plus their offset difference.
void write_perf_map(JitModule::Impl& impl, const ObjectBundle& bundle) {
  const std::string pid = std::to_string(::getpid());
  std::ofstream map("/tmp/perf-" + pid + ".map", std::ios::app);
  for (const ObjectBundle::Entry& e : bundle.entries)
    for (size_t k = 0; k < e.objects.size(); ++k) {
      const std::string& object = e.objects[k];
      const std::string label = e.name + (k > 0 ? "." + std::to_string(k) : "");
      std::ofstream("/tmp/nfc-" + pid + "-" + label + ".o", std::ios::binary)
          .write(object.data(), static_cast<std::streamsize>(object.size()));
      const std::vector<ObjectFunction> functions =
          object_functions(*llvm::MemoryBuffer::getMemBuffer(object, label, false));
      for (const ObjectFunction& anchor : functions) {
        auto address = impl.jit->lookup(anchor.name);
        if (!address) {  // internal: not in the JIT's symbol table
          llvm::consumeError(address.takeError());
          continue;
        }
        for (const ObjectFunction& f : functions)
          map << std::hex << address->getValue() - anchor.offset + f.offset << ' ' << f.size
              << std::dec << ' ' << label << ':' << f.name << '\n';
        break;
      }
    }
}

// The objects of `bundle` loaded and linked into a new LLJIT; every entry
// point looked up.
// `quiet`: LLVM's own report of a failure (to stderr) is dropped; the
// caller recovers (objects from the cache are compiled afresh).
void link(JitModule::Impl& impl, const llvm::orc::JITTargetMachineBuilder& jtmb,
          const llvm::TargetMachine& tm, const ObjectBundle& bundle, bool quiet = false) {
  const char prefix = tm.createDataLayout().getGlobalPrefix();
  impl.jit = unwrap(llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(jtmb).create(),
                    "creating the LLJIT");
  if (quiet)
    impl.jit->getExecutionSession().setErrorReporter(
        [](llvm::Error e) { llvm::consumeError(std::move(e)); });
  impl.jit->getMainJITDylib().addGenerator(
      unwrap(llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(prefix),
             "exposing host symbols"));
  define_helpers(*impl.jit);
  for (const ObjectBundle::Entry& e : bundle.entries)
    for (const std::string& object : e.objects)
      check(impl.jit->addObjectFile(llvm::MemoryBuffer::getMemBufferCopy(object, e.name)),
            "adding an object");
  for (const ObjectBundle::Entry& e : bundle.entries) {
    auto address = unwrap(impl.jit->lookup(e.name), "linking '" + e.name + "'");
    impl.entries[e.name] = address.toPtr<void*>();
  }
  if (std::getenv("NFC_PERF_MAP") != nullptr) write_perf_map(impl, bundle);
}

// The objects stored under `key`, linked into `impl`, if they are there,
// whole, and of the entry points `names` at this host's widths; false
// otherwise (`impl` then as it was: the caller compiles).
bool load_cached(ObjectStore& store, const std::string& key, const std::vector<std::string>& names,
                 JitModule::Impl& impl, const llvm::orc::JITTargetMachineBuilder& jtmb,
                 const llvm::TargetMachine& tm) {
  const std::optional<std::string> bytes = store.load(key);
  if (!bytes) return false;
  const std::optional<ObjectBundle> bundle = decode(*bytes);
  if (!bundle || bundle->gradient_width != impl.gradient_width ||
      bundle->map_width != impl.map_width || bundle->entries.size() != names.size())
    return false;
  for (size_t i = 0; i < names.size(); ++i)
    if (bundle->entries[i].name != names[i]) return false;
  load_libmvec();  // the objects may call it (VectorMath)
  JitModule::Impl loaded;
  loaded.gradient_width = impl.gradient_width;
  loaded.map_width = impl.map_width;
  loaded.small_batch_rows = bundle->small_batch_rows;
  for (const ObjectBundle::Entry& e : bundle->entries) loaded.workspace[e.name] = e.workspace_bytes;
  try {
    link(loaded, jtmb, tm, *bundle, /*quiet=*/true);
  } catch (const InternalError&) {  // objects LLVM cannot load: compile afresh
    return false;
  }
  impl = std::move(loaded);
  return true;
}
}  // namespace

std::unique_ptr<JitModule> JitModule::compile(const Program& program, const JitOptions& options) {
  initialize_llvm();
  auto impl = std::make_unique<Impl>();
  auto jtmb = unwrap(llvm::orc::JITTargetMachineBuilder::detectHost(), "detecting the host");
  if (!options.target_cpu.empty()) {
    jtmb.setCPU(options.target_cpu);
    jtmb.getFeatures() = llvm::SubtargetFeatures();  // the CPU's own, not the host's
  }
  jtmb.setCodeGenOptLevel(codegen_level(options.opt_level));
  std::unique_ptr<llvm::TargetMachine> tm =
      unwrap(jtmb.createTargetMachine(), "creating the target machine");
  // Lanes of one preferred vector register: T's in its width.
  const VectorRegisters regs = target_vector_registers(*tm);
  const int element_bits = options.precision == Precision::f32 ? 32 : 64;
  const int native = std::max(1, regs.bits / element_bits);
  impl->map_width =
      native * (options.map_vectors > 0
                    ? options.map_vectors
                    : map_vectors(regs.bits, vector_datapath_bits(tm->getTargetCPU(), regs.bits)));
  impl->gradient_width =
      native * (options.gradient_vectors > 0 ? options.gradient_vectors
                                             : gradient_vectors(regs.bits, element_bits));

  // What to compile: every entry point at its kind's width, and log_prob
  // once more for one sample at a time (SIMD along matrix rows).
  struct Job {
    EntryPoint entry;
    LoweringShape shape;
    int opt_level;
  };
  auto shape = [&](int width, int row_lanes) {
    return LoweringShape{width, row_lanes,
                         register_block(regs.count, regs.bits, width, element_bits)};
  };
  std::vector<Job> jobs;
  for (const EntryPoint& entry : program.entries) {
    const bool gradient = entry.kind == EntryKind::mean_gradient;
    // Map entry points are compiled at O1 when O2 is asked for: it measured
    // the same run time on the bench workloads and 20% less compile time
    // (W3: 536 -> 440 ms); the gradient keeps O2 (at O1 the 64-D MAF's ran
    // a third slower).
    const int map_level = std::min(options.opt_level, 1);
    jobs.push_back({entry, shape(gradient ? impl->gradient_width : impl->map_width, 0),
                    gradient ? options.opt_level : map_level});
    if (entry.name == abi::kLogProb && options.small_batch_entry) {
      jobs.push_back({entry, shape(1, native), map_level});
      jobs.back().entry.name = abi::kLogProbSmall;
    }
  }
  const bool cached = options.cache != nullptr && !options.cache_key.empty() && !options.keep_ir;
  if (cached) {
    std::vector<std::string> names;
    for (const Job& job : jobs) names.push_back(job.entry.name);
    const auto start = Clock::now();
    if (load_cached(*options.cache, options.cache_key, names, *impl, jtmb, *tm)) {
      impl->timings.codegen_ms = ms_between(start, Clock::now());
      impl->timings.from_cache = true;
      return std::unique_ptr<JitModule>(new JitModule(std::move(impl)));
    }
  }

  std::map<int, VectorMath> vector_math;  // by width
  for (const Job& job : jobs)
    if (options.vector_math && !vector_math.count(job.shape.width))
      vector_math[job.shape.width] = host_vector_math(*tm, options.precision, job.shape.width);

  const auto start = Clock::now();
  auto lower = [&](Unit& unit) {
    const Job& job = jobs[unit.job];
    unit.ctx = std::make_unique<llvm::LLVMContext>();
    unit.opt_level = job.opt_level;
    unit.module = std::make_unique<llvm::Module>("nfc." + job.entry.name, *unit.ctx);
    unit.module->setDataLayout(tm->createDataLayout());
    unit.module->setTargetTriple(tm->getTargetTriple().str());
    const auto math = vector_math.find(job.shape.width);  // read-only: threads lower too
    return lower_entry(program, job.entry, options.precision, job.shape,
                       math != vector_math.end() ? math->second : VectorMath{}, *unit.module);
  };
  std::vector<Unit> units(jobs.size());
  for (size_t i = 0; i < units.size(); ++i) {
    units[i].job = i;
    impl->workspace[jobs[i].entry.name] = lower(units[i]);
    std::string broken;
    llvm::raw_string_ostream broken_out(broken);
    if (llvm::verifyModule(*units[i].module, &broken_out))
      throw InternalError("jit: invalid IR from the llvm backend: " + broken);
    units[i].size = units[i].module->getInstructionCount();
  }
  const auto lowered = Clock::now();

  const unsigned hardware = std::max(1u, std::thread::hardware_concurrency());
  const int threads = options.threads > 0 ? options.threads : static_cast<int>(hardware);
  size_t total = 0;
  for (const Unit& unit : units) total += unit.size;
  if (threads > 1)
    for (size_t i = 0; i < jobs.size(); ++i)
      plan_partitions(units, i, jobs[i].entry.name, double(total) / threads, threads);
  const int workers = std::max(1, std::min(threads, static_cast<int>(units.size())));
  compile_units(units, jtmb, options, workers, [&](Unit& unit) {
    if (!unit.module) lower(unit);
    if (unit.partitions < 2) return;
    keep_partition(*unit.module, jobs[unit.job].entry.name, unit.partition, unit.partitions);
    unit.module->setModuleIdentifier(unit.module->getModuleIdentifier() + ".partition" +
                                     std::to_string(unit.partition));
  });

  auto optimized = lowered;
  for (const Unit& unit : units) {
    optimized = std::max(optimized, unit.optimized);
    impl->timings.optimize_cpu_ms += unit.optimize_ms;
    impl->timings.codegen_cpu_ms += unit.codegen_ms;
    impl->ir += unit.ir;
  }

  ObjectBundle bundle{impl->gradient_width, impl->map_width, 0, {}};
  for (const Job& job : jobs)
    bundle.entries.push_back({job.entry.name, impl->workspace[job.entry.name], {}});
  for (Unit& unit : units) {  // partitions in order (plan_partitions)
    unit.module.reset();      // before its context
    unit.ctx.reset();
    bundle.entries[unit.job].objects.push_back(unit.object->getBuffer().str());
  }
  link(*impl, jtmb, *tm, bundle);
  for (const Job& job : jobs)
    if (job.entry.name == abi::kLogProbSmall)
      impl->small_batch_rows = bundle.small_batch_rows = measure_small_batch_rows(
          impl->entries.at(abi::kLogProb), impl->entries.at(abi::kLogProbSmall),
          program.graph->param_count(), program.graph->len(job.entry.input), options.precision,
          impl->map_width);
  const auto linked = Clock::now();
  impl->timings.lower_ms = ms_between(start, lowered);
  impl->timings.optimize_ms = ms_between(lowered, optimized);
  impl->timings.codegen_ms = ms_between(optimized, linked);
  impl->timings.threads = workers;
  if (cached) options.cache->store(options.cache_key, encode(bundle));
  return std::unique_ptr<JitModule>(new JitModule(std::move(impl)));
}

JitModule::JitModule(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
JitModule::~JitModule() = default;

void* JitModule::lookup(const std::string& entry_name) const {
  auto it = impl_->entries.find(entry_name);
  if (it == impl_->entries.end()) throw InternalError("jit: no entry point '" + entry_name + "'");
  return it->second;
}

int64_t JitModule::workspace_bytes(const std::string& entry_name) const {
  auto it = impl_->workspace.find(entry_name);
  if (it == impl_->workspace.end()) throw InternalError("jit: no entry point '" + entry_name + "'");
  return it->second;
}

void* JitModule::find(const std::string& entry_name) const {
  auto it = impl_->entries.find(entry_name);
  return it == impl_->entries.end() ? nullptr : it->second;
}

const JitTimings& JitModule::timings() const {
  return impl_->timings;
}
const std::string& JitModule::ir() const {
  return impl_->ir;
}
int JitModule::vector_width() const {
  return impl_->map_width;
}
int64_t JitModule::small_batch_rows() const {
  return impl_->small_batch_rows;
}
int JitModule::gradient_width() const {
  return impl_->gradient_width;
}

std::string JitModule::host_id() {
  initialize_llvm();
  std::vector<std::string> on;
  for (const auto& feature : llvm::sys::getHostCPUFeatures())
    if (feature.getValue()) on.push_back(feature.getKey().str());
  std::sort(on.begin(), on.end());  // StringMap's order is its hash table's
  std::string features;
  for (const std::string& f : on) features += "+" + f;
  return llvm::sys::getHostCPUName().str() + " " + features + " LLVM " LLVM_VERSION_STRING;
}

}  // namespace nfc

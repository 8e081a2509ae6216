// JIT compilation of a Program to native code through LLVM's ORC LLJIT.
// LLVM stays behind this header (pimpl): include it anywhere.
//
// Each entry point becomes a function with the ABI of abi/EntryPoints.hpp
// (cast lookup()'s address to abi::Map<T>, abi::Density<T>,
// abi::MeanGradient<T>), T float or double per JitOptions::precision.
// Code is SIMD across samples: blocks of vector_width() samples
// (gradient_width() for gradients) run the per-sample program with every
// scalar widened to a vector (see compiler/backend/llvm/LlvmBackend.cpp).
// Entry points keep no state: calls may run concurrently on different
// threads, each with its own `grad` and `work` (workspace_bytes() of
// scratch, no alignment needed).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "abi/EntryPoints.hpp"
#include "compiler/ir/Program.hpp"
#include "include/nfc/Precision.hpp"
#include "support/InternalError.hpp"

namespace nfc {

// enum class Precision { f32, f64 }, shared with the public API.

// Machine code kept between runs, by key (driver/JitCache.hpp keeps it on
// disk). Called from the compiling thread only.
class ObjectStore {
 public:
  virtual ~ObjectStore() = default;
  // The bytes stored under `key`, or nullopt.
  virtual std::optional<std::string> load(const std::string& key) = 0;
  virtual void store(const std::string& key, std::string_view bytes) = 0;
};

struct JitOptions {
  Precision precision = Precision::f64;
  int opt_level = 2;     // 0..3, for both the IR pipeline and codegen
  bool keep_ir = false;  // keep the optimized IR text for ir()
  // Call glibc's vector math (libmvec: exp, log, log1p, expm1, tanh, atanh,
  // sinh, cosh, asinh, erf on whole vectors, within 4 ULP) where the host has
  // it; otherwise, or when false, libm once per lane.
  bool vector_math = true;
  // Threads optimising and compiling entry points (one module each, or a
  // large one in partitions: Segments.hpp) concurrently; 0: one per
  // hardware thread. Never more than modules.
  int threads = 0;
  // Native vectors per block of samples in map entry points (forward,
  // inverse, log_prob, ...); 0: per target, map_vectors() below.
  int map_vectors = 0;
  // Native vectors per block of samples in gradient entry points; 0: per
  // target, gradient_vectors() below.
  int gradient_vectors = 0;
  // Also compile log_prob for one sample at a time as "log_prob.small":
  // scalar per sample, matrix-vector products vectorised along rows. A
  // block of vector_width() samples computes mostly dead lanes for a batch
  // of a few rows; this entry computes none (Flow uses it below
  // small_batch_rows()).
  bool small_batch_entry = true;
  // Generate code for this LLVM CPU name (its default features: "haswell"
  // is AVX2 with 16 vector registers, "x86-64" SSE2) instead of the host,
  // which must be able to run it. Measures on one machine what another CPU
  // family's code does (bench/throughput.cpp --cpu). Empty: the host.
  std::string target_cpu;
  // With a store and a key (driver/JitCache.hpp's jit_cache_key: the key
  // must determine the program and these options), compile() first looks
  // for the objects there and stores them after compiling. keep_ir
  // bypasses it (the IR is not kept).
  ObjectStore* cache = nullptr;
  std::string cache_key;
};

// Rows of a matvec block (LoweringShape::row_block) for a target with
// `registers` vector registers of `register_bits`, at `width` lanes of
// `element_bits`: as many <width x T> accumulators as fit in half the
// registers, 2 to 8. Eight rows of two registers each fill AVX-512's 32;
// on AVX2's 16 they spilled, and log_prob ran up to 2x slower
// (docs/bench.md: "Register blocks per CPU").
int register_block(int registers, int register_bits, int width, int element_bits);

// Native vectors per block of samples in a map entry point, for a target
// whose preferred vectors have `register_bits` and whose vector units
// execute `datapath_bits` an operation (vector_datapath_bits): two
// datapath-wide operations per block, so that every weight loaded feeds two
// independent FMAs, in one or two vectors. Two vectors measured on Zen 5
// (bench/throughput.cpp, f32): log_prob +22% on W1 and W2, MAF sampling
// +65%; code for AVX2 (--cpu haswell on Zen 4) is also faster with two once
// matvec blocks fit its registers (register_block). Zen 4 runs a 512-bit
// operation as two 256-bit halves: there one vector measured within 0-8%
// of two in run time, and W3's map entry points compiled in a third less
// time (docs/bench.md: "Map blocks by the vector datapath").
int map_vectors(int register_bits, int datapath_bits);

// The bits a vector operation of the CPU `cpu` (LLVM's name) executes at
// once, for preferred vectors of `register_bits`: register_bits, but 256 on
// Zen 4 ("znver4"), the one x86-64 CPU whose 512-bit vectors LLVM prefers
// that splits them (Zen 5 does not; Intel's AVX-512 CPUs prefer 256-bit
// vectors).
int vector_datapath_bits(std::string_view cpu, int register_bits);

// Native vectors per block of samples in a gradient entry point, for a
// target whose preferred vectors have `register_bits`: a cache line of
// samples (64 bytes: 16 f32, 8 f64), at most two vectors. A block's values
// live in the workspace, one line each, and every block ends in reductions
// of its lanes into the weight gradients; on a target that prefers 256-bit
// vectors (Intel's AVX-512 CPUs, AVX2) one vector a block halved the lanes
// and ran the gradient up to 1.7x slower (W4, --cpu skylake-avx512 on Zen
// 4); two 512-bit vectors a block, a cache line more, ran 10-25% slower
// (docs/bench.md: "A cache line of samples per gradient block").
int gradient_vectors(int register_bits, int element_bits);

// Where compile() spends its time. The three stages partition the wall-clock
// time of compile(): they add up to it. Entry points are optimised and
// compiled on several threads, so stages overlap; each stage's time runs
// from the end of the previous stage to the moment the last thread has
// finished this one (a thread that finished optimising early is already
// generating code, and that code generation counts as optimize_ms). The
// *_cpu_ms fields are the time threads spent in each stage, summed over
// threads: the work, which is what shrinks when the IR or the pipeline does.
struct JitTimings {
  double lower_ms = 0;     // graph -> LLVM IR, one module per entry point
  double optimize_ms = 0;  // until every module has been through the IR pipeline
  double codegen_ms = 0;   // until every module is machine code, and linking
  double optimize_cpu_ms = 0;
  double codegen_cpu_ms = 0;
  int threads = 1;
  // The machine code came from JitOptions::cache: no lowering, optimising or
  // code generation; codegen_ms is the time to load and link it.
  bool from_cache = false;
};

class JitModule {  // owns the LLJIT and the compiled code
 public:
  // Compiles every entry point of `program` (all are materialized here, so
  // timings are complete and lookup() never compiles). Throws InternalError
  // with LLVM's message if LLVM fails.
  static std::unique_ptr<JitModule> compile(const Program& program, const JitOptions& options);

  // Address of a compiled entry point; throws InternalError for an unknown name.
  void* lookup(const std::string& entry_name) const;
  // The same, or nullptr for a name that was not compiled.
  void* find(const std::string& entry_name) const;
  // Scratch memory the entry point needs as its `work` argument (0: none).
  int64_t workspace_bytes(const std::string& entry_name) const;
  const JitTimings& timings() const;
  const std::string& ir() const;  // optimized IR text when keep_ir, else empty
  int vector_width() const;       // samples per SIMD block of the map entry points
  int gradient_width() const;     // ... of the mean_gradient entry points
  // Batches of fewer rows than this run log_prob.small, larger ones
  // log_prob: the crossover measured on this machine when the code was
  // compiled (SmallBatch.hpp), 2 to vector_width(); 0 without
  // log_prob.small.
  int64_t small_batch_rows() const;

  // What the machine code depends on besides the program and the options:
  // the host CPU's name and features, and LLVM's version.
  static std::string host_id();

  ~JitModule();
  JitModule(const JitModule&) = delete;
  JitModule& operator=(const JitModule&) = delete;

  struct Impl;

 private:
  explicit JitModule(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace nfc

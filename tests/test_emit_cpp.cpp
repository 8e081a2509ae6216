// The C++ source backend held to the JIT: every example model and every
// model in tests/models/ is emitted (`nfc emit-cpp`) in f64 and f32, all of
// them compiled into one program with the system compiler under
// -Wall -Wextra -Werror -pedantic (so two or more emitted flows link
// together), run on inputs drawn by the emitted Generator, and compared
// with the JIT on the same inputs and parameters. The program also counts
// heap allocations (a replaced global operator new) around batch-1 calls.
// One model is compiled again under ASan + UBSan.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>

#include "abi/EntryPoints.hpp"
#include "compiler/backend/cpp/CppBackend.hpp"
#include "compiler/backend/cpp/CppModule.hpp"
#include "compiler/backend/interp/Interpreter.hpp"
#include "driver/Compile.hpp"
#include "runtime/Hash.hpp"
#include "runtime/Random.hpp"
#include "runtime/io/Checkpoint.hpp"
#include "tests/Shell.hpp"

namespace fs = std::filesystem;
using namespace nfc;

namespace {

const std::string kCompile = "g++ -std=c++17 -O2 -Wall -Wextra -Werror -pedantic";
constexpr int64_t kRows = 37;  // as the JIT tests: not a multiple of a SIMD width
constexpr uint64_t kInputSeed = 11, kBaseSeed = 12, kSampleSeed = 13;

fs::path scratch(const std::string& name) {
  return nfc::test::scratch_dir("nfc_test_emit", name);
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Whether the model compiles (emit-cpp takes every model that does).
bool compiles(const fs::path& model) {
  const std::string source = read_text(model);
  Diagnostics diags(model.string(), source);
  return analyze_model(source, diags) != nullptr;
}

std::vector<fs::path> all_models() {
  std::vector<fs::path> models;
  for (const char* dir : {"examples", "tests/models"})
    for (const auto& e : fs::directory_iterator(fs::path(NFC_SOURCE_DIR) / dir))
      if (e.path().extension() == ".nf" && compiles(e.path())) models.push_back(e.path());
  std::sort(models.begin(), models.end());
  return models;
}

// One emitted flow: a model in one precision, under its own namespace.
struct Emitted {
  fs::path model;
  Precision precision;
  std::string ns;
  bool load_weights = false;
  fs::path params;  // initialised parameters, saved as f64 (exact for both)
  std::unique_ptr<CompiledModel> jit;
  std::optional<Standardizer> standardizer;  // saved with the parameters
  int context = 0;                           // the flow's context length
  bool with_grad = false;                    // emitted with --with-grad
};

// Compiles the model with the JIT, saves parameters initialised from a
// seed, and emits it with the nfc binary.
Emitted emit(const fs::path& model, Precision precision, const std::string& ns, bool load,
             const fs::path& dir, uint64_t seed,
             const std::optional<Standardizer>& standardizer = std::nullopt,
             const std::string& flags = "") {
  Emitted e{model, precision, ns, load, dir / (ns + ".safetensors"), nullptr, standardizer};
  const std::string source = read_text(model);
  Diagnostics diags(model.string(), source);
  JitOptions options;
  options.precision = precision;
  e.jit = compile_model(source, diags, options);
  REQUIRE(e.jit != nullptr);
  e.context = e.jit->graph->context_dim;
  e.with_grad = flags.find("--with-grad") != std::string::npos;
  Flow<double> init = make_flow<double>(*compile_model(source, diags, JitOptions{}));
  init.init_params(seed);
  save_params(e.params.string(), init.param_table(), init.params(), TensorDType::f64,
              {init.name(), hex64(fnv1a64(source))}, standardizer);
  const auto r = test::run_shell(
      std::string(NFC_EXECUTABLE) + " emit-cpp " + model.string() + " --params " +
      e.params.string() + " -o " + dir.string() + " --namespace " + ns + " --precision " +
      (precision == Precision::f32 ? "f32" : "f64") + (load ? " --load-weights" : "") + flags);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  return e;
}

// The test program: for each flow, its outputs on seeded inputs as lines
// "NS NAME v0 v1 ..." (17 significant digits: exact for double and float),
// and the heap allocations of batch-1 calls.
const char* const kDriverTop = R"(#include <cstdio>
#include <cstdlib>
#include <new>
#include <vector>
$INCLUDES
#ifdef COUNT_ALLOCATIONS
static long g_allocations = 0;
void* operator new(std::size_t size) {
  ++g_allocations;
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#else
static long g_allocations = 0;
#endif

// NaN (a base point outside the map's range) matches NaN.
template <class T>
bool differ(T a, T b) {
  return !(a == b || (a != a && b != b));
}

template <class T>
void print(const char* ns, const char* name, const std::vector<T>& v) {
  std::printf("%s %s", ns, name);
  for (T x : v) std::printf(" %.17g", static_cast<double>(x));
  std::printf("\n");
}

// C(p) is "p," for a conditional flow and nothing otherwise; CL(p) ", p".
#define WITH_C(p) p,
#define WITH_CL(p) , p
#define NO_C(p)
#define RUN_MODEL(NS, C, CL)                                                                    \
  {                                                                                             \
    using Real = NS::Real;                                                                      \
    const long n = $ROWS, d = NS::kDim, k = NS::kContext;                                       \
    std::vector<Real> x(n * d), c(n * k), z(n * d), ld(n), base(n * d), back(n * d), ldi(n),    \
        lp(n), sx(n * d), slp(n), one(d), base_lp(n), bx(n * d), blp(n);                        \
    NS::Generator in_rng($INPUT_SEED), base_rng($BASE_SEED), rng($SAMPLE_SEED);                 \
    for (Real& v : x) v = static_cast<Real>(in_rng.normal());                                   \
    for (Real& v : c) v = static_cast<Real>(in_rng.normal());                                   \
    NS::draw_base(base_rng, base.data(), n);                                                    \
    NS::forward(x.data(), C(c.data()) z.data(), ld.data(), n);                                  \
    NS::inverse(base.data(), C(c.data()) back.data(), ldi.data(), n);                           \
    NS::log_prob(x.data(), C(c.data()) lp.data(), n);                                           \
    NS::sample(rng, C(c.data()) sx.data(), slp.data(), n);                                      \
    NS::sample(base.data(), C(c.data()) bx.data(), blp.data(), n);                             \
    for (long i = 0; i < n; ++i) base_lp[i] = NS::base_log_prob(&base[i * d]);                  \
    print(#NS, "base", base);                                                                   \
    print(#NS, "base_log_prob", base_lp);                                                       \
    print(#NS, "z", z);                                                                         \
    print(#NS, "forward_logdet", ld);                                                           \
    print(#NS, "x", back);                                                                      \
    print(#NS, "inverse_logdet", ldi);                                                          \
    print(#NS, "log_prob", lp);                                                                 \
    print(#NS, "sample_x", sx);                                                                 \
    print(#NS, "sample_log_prob", slp);                                                         \
    print(#NS, "base_sample_log_prob", blp);                                                    \
    long mismatches = 0;                                                                        \
    std::vector<Real> one_ld(n), one_lp(n), one_slp(n);                                         \
    const long before = g_allocations;                                                          \
    for (long i = 0; i < n; ++i) {                                                              \
      Real batch_of_one;                                                                        \
      const Real* ci = c.data() + i * k;                                                        \
      (void)ci;                                                                                 \
      NS::forward(&x[i * d], C(ci) one.data(), &one_ld[i]);                                     \
      one_lp[i] = NS::log_prob(&x[i * d] CL(ci));                                               \
      NS::log_prob(&x[i * d], C(ci) & batch_of_one, 1);                                         \
      mismatches += differ(batch_of_one, one_lp[i]);                                            \
      one_slp[i] = NS::sample(&base[i * d], C(ci) one.data());                                  \
    }                                                                                           \
    print(#NS, "one_forward_logdet", one_ld);                                                   \
    print(#NS, "one_log_prob", one_lp);                                                         \
    print(#NS, "one_base_sample_log_prob", one_slp);                                            \
    std::printf("%s allocations %ld\n%s mismatches %ld\n", #NS, g_allocations - before,        \
                #NS, mismatches);                                                               \
  }

int main() {
$BODY  return 0;
}
)";

// The gradient program (--with-grad): per flow the mean NLL and its
// gradient on the seeded rows, and central differences of the emitted mean
// -log p over the weights, at every kParamCount / 23-th weight.
const char* const kGradientDriver = R"(#include <cmath>
#include <cstdio>
#include <vector>
$INCLUDES
template <class T>
void print(const char* ns, const char* name, const std::vector<T>& v) {
  std::printf("%s %s", ns, name);
  for (T x : v) std::printf(" %.17g", static_cast<double>(x));
  std::printf("\n");
}

#define WITH_C(p) p,
#define NO_C(p)
#define GRADIENT(NS, C)                                                                        \
  {                                                                                            \
    using Real = NS::Real;                                                                     \
    const long n = $ROWS, d = NS::kDim, k = NS::kContext;                                      \
    std::vector<Real> x(n * d), c(n * k), grad(NS::kParamCount), lp(n);                        \
    NS::Generator in_rng($INPUT_SEED);                                                         \
    for (Real& v : x) v = static_cast<Real>(in_rng.normal());                                  \
    for (Real& v : c) v = static_cast<Real>(in_rng.normal());                                  \
    const Real loss = NS::nll_grad(x.data(), C(c.data()) grad.data(), n);                      \
    print(#NS, "loss", std::vector<Real>{loss});                                               \
    print(#NS, "grad", grad);                                                                  \
    std::vector<double> fd_at, fd;                                                             \
    auto mean_nll = [&] {                                                                      \
      NS::log_prob(x.data(), C(c.data()) lp.data(), n);                                        \
      double s = 0;                                                                            \
      for (Real v : lp) s -= double(v);                                                        \
      return s / double(n);                                                                    \
    };                                                                                         \
    for (long i = 0; i < NS::kParamCount; i += NS::kParamCount / 23 + 1) {                     \
      Real& w = NS::parameters()[i];                                                           \
      const Real saved = w, h = static_cast<Real>(1e-5 * (1 + std::fabs(double(saved))));     \
      w = saved + h;                                                                           \
      const double up = mean_nll();                                                            \
      w = saved - h;                                                                           \
      const double down = mean_nll();                                                          \
      w = saved;                                                                               \
      fd_at.push_back(double(i));                                                              \
      fd.push_back((up - down) / (2 * double(h)));                                             \
    }                                                                                          \
    print(#NS, "fd_at", fd_at);                                                                \
    print(#NS, "fd", fd);                                                                      \
  }

int main() {
$BODY  return 0;
}
)";

std::string driver(const std::vector<Emitted>& flows) {
  std::string includes, body;
  for (const Emitted& e : flows) {
    includes += "#include \"" + e.ns + ".hpp\"\n";
    if (e.load_weights)
      body += "  if (!" + e.ns + "::load_weights(\"" + e.params.string() + "\")) return 1;\n";
    if (e.with_grad)
      body += "  GRADIENT(" + e.ns + (e.context > 0 ? ", WITH_C)\n" : ", NO_C)\n");
    else
      body += "  RUN_MODEL(" + e.ns + (e.context > 0 ? ", WITH_C, WITH_CL)\n" : ", NO_C, NO_C)\n");
  }
  std::string text = flows.front().with_grad ? kGradientDriver : kDriverTop;
  const std::map<std::string, std::string> vars = {{"$INCLUDES", includes},
                                                   {"$BODY", body},
                                                   {"$ROWS", std::to_string(kRows)},
                                                   {"$INPUT_SEED", std::to_string(kInputSeed)},
                                                   {"$BASE_SEED", std::to_string(kBaseSeed)},
                                                   {"$SAMPLE_SEED", std::to_string(kSampleSeed)}};
  for (const auto& [key, value] : vars)
    for (size_t at; (at = text.find(key)) != std::string::npos;)
      text.replace(at, key.size(), value);
  return text;
}

// Compiles the emitted sources and the driver (two compilers at a time)
// and runs the program; returns its output.
std::string build_and_run(const fs::path& dir, const std::vector<Emitted>& flows,
                          const std::string& compile) {
  std::ofstream(dir / "driver.cpp") << driver(flows);
  std::string sources = "driver.cpp";
  for (const Emitted& e : flows) sources += " " + e.ns + ".cpp";
  const std::string objects = "$(echo " + sources + " | sed 's/\\.cpp/.o/g')";
  const auto built = test::run_shell(
      "cd " + dir.string() + " && echo " + sources + " | tr ' ' '\\n' | xargs -P 2 -I{} sh -c '" +
      compile + " -c {} -o $(basename {} .cpp).o' && " + compile + " " + objects + " -o flows");
  INFO(built.output);
  REQUIRE(built.exit_code == 0);
  CHECK(built.output.empty());  // no warnings (and -Werror would have failed)
  const auto ran = test::run_shell((dir / "flows").string());
  INFO(ran.output);
  REQUIRE(ran.exit_code == 0);
  return ran.output;
}

using Arrays = std::map<std::string, std::vector<double>>;  // "NS NAME" -> values

Arrays parse(const std::string& output) {
  Arrays arrays;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string ns, name;
    words >> ns >> name;
    std::vector<double>& v = arrays[ns + " " + name];
    for (std::string x; words >> x;) v.push_back(std::strtod(x.c_str(), nullptr));  // and nan
  }
  return arrays;
}

// The inputs the driver draws: x and the context from one generator, the
// base points from another.
template <class T>
struct Inputs {
  std::vector<T> x, c, base;
  std::vector<double> log_q;  // of the base points
};

template <class T>
Inputs<T> driver_inputs(const Flow<T>& flow) {
  const int d = flow.dim();
  Inputs<T> in{std::vector<T>(kRows * d), std::vector<T>(kRows * flow.context_dim()),
               std::vector<T>(kRows * d), std::vector<double>(kRows)};
  Random in_rng(kInputSeed), base_rng(kBaseSeed);
  for (T& v : in.x) v = static_cast<T>(in_rng.normal());
  for (T& v : in.c) v = static_cast<T>(in_rng.normal());
  sample_base(flow.base_settings(), flow.base_tensors(), flow.params().data(), d, kRows, base_rng,
              in.base.data(), in.log_q.data());
  return in;
}

template <class T>
Flow<T> jit_flow(const Emitted& e) {
  Flow<T> flow = make_flow<T>(*e.jit);
  const SavedParams saved =
      load_params(e.params.string(), flow.param_table(), flow.dim(), flow.context_dim());
  for (size_t i = 0; i < saved.values.size(); ++i)
    flow.params()[i] = static_cast<T>(saved.values[i]);
  return flow;
}

// Rows (x, c) as the flow reads them: each column standardised if it was
// trained so (x only where `x_too`; the context always).
template <class T>
std::vector<T> entry_rows(const Emitted& e, const std::vector<T>& x, const std::vector<T>& c, int d,
                          int C, bool x_too) {
  std::vector<T> rows = with_context(x, kRows, d, c, C);
  const Standardizer* st = e.standardizer ? &*e.standardizer : nullptr;
  for (size_t i = 0; st && i < rows.size(); ++i)
    if (const size_t j = i % size_t(d + C); x_too || j >= size_t(d))
      rows[i] = static_cast<T>((rows[i] - st->mean[j]) / st->scale[j]);
  return rows;
}

// The context rows alone, standardised if the flow was trained so.
template <class T>
std::vector<T> standardized_context(const Emitted& e, std::vector<T> c, int d, int C) {
  for (size_t i = 0; e.standardizer && i < c.size(); ++i)
    c[i] = static_cast<T>((c[i] - e.standardizer->mean[size_t(d) + i % size_t(C)]) /
                          e.standardizer->scale[size_t(d) + i % size_t(C)]);
  return c;
}

// The JIT's outputs on the inputs the driver draws, under the same names.
template <class T>
Arrays jit_outputs(const Emitted& e) {
  Flow<T> flow = jit_flow<T>(e);
  const int d = flow.dim(), C = flow.context_dim();
  const Inputs<T> in = driver_inputs(flow);
  std::vector<T> z(in.x.size()), back(in.x.size()), ld(kRows), ldi(kRows), lp(kRows);
  // With a standardisation the flow models u = (x - mean) / scale and the
  // emitted API works in data coordinates: log p(x) = log p(u) - sum log scale.
  const std::vector<T> u = entry_rows(e, in.x, in.c, d, C, true);
  flow.forward(u.data(), z.data(), ld.data(), kRows);
  flow.inverse(entry_rows(e, in.base, in.c, d, C, false).data(), back.data(), ldi.data(), kRows);
  flow.log_prob(u.data(), lp.data(), kRows);
  auto s = flow.sample(kRows, kSampleSeed, standardized_context(e, in.c, d, C));
  if (const Standardizer* st = e.standardizer ? &*e.standardizer : nullptr) {
    const double shift = st->log_det_correction();
    for (int64_t r = 0; r < kRows; ++r) {
      ld[r] -= shift;
      ldi[r] += shift;
      lp[r] -= shift;
      s.log_prob[r] -= shift;
    }
    for (size_t i = 0; i < back.size(); ++i) {
      back[i] = static_cast<T>(back[i] * st->scale[i % d] + st->mean[i % d]);
      s.x[i] = static_cast<T>(s.x[i] * st->scale[i % d] + st->mean[i % d]);
    }
  }
  std::vector<double> base_lp(kRows), blp(kRows);
  for (int64_t r = 0; r < kRows; ++r) {
    base_lp[size_t(r)] = static_cast<T>(in.log_q[size_t(r)]);
    blp[size_t(r)] = static_cast<T>(in.log_q[size_t(r)] - double(ldi[size_t(r)]));
  }
  auto dbl = [](const std::vector<T>& v) { return std::vector<double>(v.begin(), v.end()); };
  const std::string p = e.ns + " ";
  return {{p + "base", dbl(in.base)},
          {p + "base_log_prob", base_lp},
          {p + "z", dbl(z)},
          {p + "forward_logdet", dbl(ld)},
          {p + "x", dbl(back)},
          {p + "inverse_logdet", dbl(ldi)},
          {p + "log_prob", dbl(lp)},
          {p + "sample_x", dbl(s.x)},
          {p + "sample_log_prob", dbl(s.log_prob)},
          {p + "base_sample_log_prob", blp},
          // One sample at a time: the same values (the one-sample path
          // sums its dot products in another order, so not to the bit).
          {p + "one_forward_logdet", dbl(ld)},
          {p + "one_log_prob", dbl(lp)},
          {p + "one_base_sample_log_prob", blp}};
}

// The interpreter's log p(x) on the driver's inputs (f64 flows): the
// oracle both backends answer to, log q of the base included.
Arrays interpreter_log_prob(const Emitted& e) {
  const Flow<double> flow = jit_flow<double>(e);
  const int d = flow.dim();
  const Inputs<double> in = driver_inputs(flow);
  const std::vector<double> u = entry_rows(e, in.x, in.c, d, flow.context_dim(), true);
  const Program program = e.jit->graph->program();
  for (const EntryPoint& entry : program.entries)
    if (entry.name == abi::kLogProb) {
      std::vector<double> lp = interpret_batch(*program.graph, entry, flow.params(), u, kRows)[0];
      if (e.standardizer)
        for (double& v : lp) v -= e.standardizer->log_det_correction();
      return {{e.ns + " log_prob", lp}};
    }
  FAIL("no log_prob entry point");
  return {};
}

// Tolerances. Both backends evaluate the same graph in the same order of
// operations; they differ by libm (emitted) versus glibc's vector maths
// (JIT, within 4 ulp), by the JIT's fused multiply-adds in matvecs (one
// rounding fewer per term), and, for solves, by where Newton stops within
// its 4-eps tolerance. That is a few dozen roundings per output amplified
// by the conditioning of a few layers: ~1e-14 in double, ~1e-6 in float,
// so 1e-12 and 1e-5 hold with margin yet catch any real mistake (a wrong
// op or operand changes results at 1e-3 or more). Outputs are O(1)
// quantities whose rounding is relative to the terms they are made of, so
// values below 1 in magnitude are compared on an absolute scale.
//
// In float, a few samples land far in a tail (|x| ~ 1e6 after sinh layers)
// where the map amplifies every rounding; there two correct float
// implementations differ by as much as each differs from the exact value.
// So a float output may also differ from the JIT's by up to twice the
// JIT's own float error, measured against the emitted double (`exact`).
void check_close(const Arrays& emitted, const Arrays& jit, double tol,
                 const std::function<const std::vector<double>*(const std::string&)>& exact) {
  for (const auto& [name, want] : jit) {
    INFO(name);
    REQUIRE(emitted.count(name) == 1);
    const auto& got = emitted.at(name);
    REQUIRE(got.size() == want.size());
    const std::vector<double>* ref = exact ? exact(name) : nullptr;
    double worst = 0;  // difference over what is allowed
    std::string worst_at;
    for (size_t i = 0; i < got.size(); ++i) {
      if (std::isnan(want[i]) && std::isnan(got[i])) continue;  // outside the map's range
      const double diff = got[i] == want[i] ? 0 : std::fabs(got[i] - want[i]);  // inf == inf
      double allowed = tol * std::max(1.0, std::fabs(want[i]));
      if (ref) allowed = std::max(allowed, 2 * std::fabs(want[i] - (*ref)[i]));
      if (diff / allowed > worst)
        worst_at = fmt::format("at {}: emitted {:.9g}, JIT {:.9g}, emitted double {:.17g}", i,
                               got[i], want[i], ref ? (*ref)[i] : NAN);
      worst = std::max(worst, diff / allowed);
    }
    INFO(worst_at);
    INFO("worst difference, in units of the tolerance: " << worst);
    CHECK(worst <= 1);
  }
}

}  // namespace

TEST_CASE("emitted C++ of every model compiles warning-free and matches the JIT", "[emit]") {
  const fs::path dir = scratch("all");
  std::vector<Emitted> flows;
  for (const fs::path& model : all_models()) {
    // Seeded by the model's name, not its place in the listing: adding a
    // model must not change the parameters every later one is tested with.
    const std::string stem = model.stem().string();
    const uint64_t seed = fnv1a64(stem);
    flows.push_back(emit(model, Precision::f64, stem + "_f64", false, dir, seed));
    flows.push_back(emit(model, Precision::f32, stem + "_f32", false, dir, seed));
  }
  // Parameters read at run time instead of embedded.
  flows.push_back(emit(fs::path(NFC_SOURCE_DIR) / "examples/moons.nf", Precision::f32,
                       "moons_loaded", true, dir, 7));
  // Trained on standardised data: the emitted API works in data coordinates.
  flows.push_back(emit(fs::path(NFC_SOURCE_DIR) / "examples/moons.nf", Precision::f64,
                       "moons_standardized", false, dir, 8, Standardizer{{0.5, 0.25}, {0.9, 0.5}}));
  // A conditional flow trained so: x and the context standardised apart.
  flows.push_back(emit(fs::path(NFC_SOURCE_DIR) / "examples/conditional.nf", Precision::f64,
                       "conditional_standardized", false, dir, 9,
                       Standardizer{{0.5, 0.25, -1}, {0.9, 0.5, 2}, 2}));
  // Built for AVX (any x86-64 since 2011): batches in blocks of 16 floats or
  // 8 doubles, one-sample calls with vectorised dot products; the
  // sanitizer test below builds the x86-64 baseline's in-order paths.
  const Arrays emitted = parse(build_and_run(dir, flows, kCompile + " -mavx"));
  for (const Emitted& e : flows) {
    INFO(e.model.string() << " as " << e.ns);
    // The same model in double, emitted from the same parameters.
    auto exact = [&](const std::string& name) -> const std::vector<double>* {
      const std::string f64 = e.model.stem().string() + "_f64" + name.substr(name.find(' '));
      return e.load_weights || !emitted.count(f64) ? nullptr : &emitted.at(f64);
    };
    if (e.precision == Precision::f64) {
      check_close(emitted, jit_outputs<double>(e), 1e-12, nullptr);
      check_close(emitted, interpreter_log_prob(e), 1e-12, nullptr);
    } else
      check_close(emitted, jit_outputs<float>(e), 1e-5, exact);
    // Single-sample calls allocate nothing; a batch of one is a single sample.
    CHECK(emitted.at(e.ns + " allocations") == std::vector<double>{0});
    CHECK(emitted.at(e.ns + " mismatches") == std::vector<double>{0});
  }
}

// --with-grad: the emitted NLL gradient against the JIT's nll_grad on the
// same rows (it is the same program, summed sample by sample: 1e-12 in
// f64, 1e-5 in f32, relative to the gradient's largest entry) and against
// central differences of the emitted log_prob (f64; step 1e-5 leaves a
// truncation error ~1e-10 and rounding ~1e-16 / 1e-5 = 1e-11 per unit of
// the NLL's scale, so 1e-6 holds with margin and still catches a wrong
// term, which is O(1e-2) or more). Models: a coupling flow, a MAF (the
// MADE's staircase of structural zeros), MAF and IAF layers (an IAF's
// density is a made_sequence, differentiated by a made_adjoint loop), a
// learnable mixture base, and a conditional flow with every context
// network, standardised.
TEST_CASE("emitted gradients (--with-grad) match the JIT and finite differences", "[emit]") {
  const fs::path dir = scratch("gradient");
  const fs::path src(NFC_SOURCE_DIR);
  std::vector<Emitted> flows;
  flows.push_back(emit(src / "examples/moons.nf", Precision::f64, "moons_grad", false, dir, 21,
                       std::nullopt, " --with-grad"));
  flows.push_back(emit(src / "examples/moons.nf", Precision::f32, "moons_grad32", false, dir, 21,
                       std::nullopt, " --with-grad"));
  flows.push_back(emit(src / "examples/maf.nf", Precision::f64, "maf_grad", false, dir, 22,
                       std::nullopt, " --with-grad"));
  flows.push_back(emit(src / "tests/models/autoregressive.nf", Precision::f64, "ar_grad", false,
                       dir, 25, std::nullopt, " --with-grad"));
  flows.push_back(emit(src / "examples/gaussians_mixture.nf", Precision::f64, "mixture_grad", false,
                       dir, 23, std::nullopt, " --with-grad"));
  flows.push_back(emit(src / "tests/models/conditional_networks.nf", Precision::f64,
                       "networks_grad", false, dir, 24,
                       Standardizer{{0.5, -0.25, 1}, {2, 0.5, 3}, 2}, " --with-grad"));
  const Arrays out = parse(build_and_run(dir, flows, kCompile));
  for (const Emitted& e : flows) {
    INFO(e.ns);
    const bool f64 = e.precision == Precision::f64;
    auto check = [&]<class T>(Flow<T> flow) {
      const int d = flow.dim(), C = flow.context_dim();
      const Inputs<T> in = driver_inputs(flow);
      const std::vector<T> rows = entry_rows(e, in.x, in.c, d, C, true);
      std::vector<T> grad(flow.params().size());
      double loss = double(flow.nll_grad(rows.data(), kRows, grad.data()));
      if (e.standardizer) loss += e.standardizer->log_det_correction();
      const auto& got = out.at(e.ns + " grad");
      REQUIRE(got.size() == grad.size());
      double scale = 0;
      for (T g : grad) scale = std::max(scale, std::fabs(double(g)));
      const double tol = (f64 ? 1e-12 : 1e-5) * std::max(1.0, scale);
      for (size_t i = 0; i < grad.size(); ++i) {
        INFO("gradient " << i);
        CHECK(std::fabs(got[i] - double(grad[i])) <= tol);
      }
      CHECK(out.at(e.ns + " loss")[0] == Approx(loss).epsilon(f64 ? 1e-12 : 1e-5));
      if (!f64) return;
      const auto& at = out.at(e.ns + " fd_at");
      const auto& fd = out.at(e.ns + " fd");
      REQUIRE(at.size() >= 20);
      for (size_t j = 0; j < at.size(); ++j) {
        INFO("weight " << at[j]);
        CHECK(std::fabs(fd[j] - got[size_t(at[j])]) <= 1e-6 * std::max(1.0, scale));
      }
    };
    if (f64)
      check(jit_flow<double>(e));
    else
      check(jit_flow<float>(e));
  }
}

TEST_CASE("emitted C++ runs clean under AddressSanitizer and UBSan", "[emit]") {
  const fs::path dir = scratch("sanitize");
  std::vector<Emitted> flows;
  flows.push_back(emit(fs::path(NFC_SOURCE_DIR) / "tests/models/bent.nf", Precision::f64, "bent",
                       true, dir, 3));
  const Arrays emitted = parse(build_and_run(
      dir, flows, kCompile + " -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all"));
  // The same with blocks of samples.
  check_close(parse(build_and_run(dir, flows,
                                  kCompile + " -O1 -g -fsanitize=address,undefined "
                                             "-fno-sanitize-recover=all -DNFC_EMITTED_BLOCKS=1")),
              jit_outputs<double>(flows[0]), 1e-12, nullptr);
  check_close(emitted, jit_outputs<double>(flows[0]), 1e-12, nullptr);
}

// A namespace must be an identifier that no keyword or standard macro
// takes: `--namespace NAN` (or a flow named NAN) emitted code that <cmath>
// broke.
TEST_CASE("emit-cpp refuses a namespace that is not a C++ identifier", "[emit]") {
  const fs::path dir = scratch("names");
  const std::string moons = std::string(NFC_SOURCE_DIR) + "/examples/moons.nf";
  const std::string params = (dir / "p.safetensors").string();
  REQUIRE(test::run_shell(std::string(NFC_EXECUTABLE) + " train " + moons +
                          " --data builtin:moons --steps 20 -q --out " + params)
              .exit_code == 0);
  auto emit = [&](const std::string& model, const std::string& args) {
    return test::run_shell(std::string(NFC_EXECUTABLE) + " emit-cpp " + model + " --params " +
                           params + " -o " + (dir / "out").string() + args);
  };
  for (const char* ns : {"class", "NAN", "EOF", "errno", "INT32_MAX", "_Upper", "a__b", "1x"}) {
    const auto r = emit(moons, std::string(" --namespace ") + ns);
    INFO(ns);
    CHECK(r.exit_code == 1);
    CHECK(r.output == "nfc: error: '" + std::string(ns) + "' cannot name a C++ namespace\n");
  }
  std::ofstream(dir / "nan.nf") << "flow NAN(dim = 2) {\n"
                                   "  coupling affine(mask = alternate) { net = mlp(hidden = [64, "
                                   "64]) }\n}\n";
  const auto named = emit((dir / "nan.nf").string(), "");
  CHECK(named.exit_code == 1);
  CHECK(named.output ==
        "nfc: error: 'NAN' cannot name a C++ namespace; choose one with --namespace\n");
  CHECK(!fs::exists(dir / "out"));
}

namespace {

// Every op of Ops.def in one hand-built program (so a new op is tested as
// soon as the backend knows it), including the structural ops only
// gradients use: matvec_t, scatter, broadcast. Outputs are concatenated.
struct AllOps {
  Graph g;
  NodeId x = -1;
  std::vector<NodeId> outputs;

  AllOps() {
    x = g.input(0, 10);
    const Ex X{&g, x};
    const NodeId positive = (X * X + 0.1).id;                     // for log, sqrt, pow
    const NodeId unit = (apply(Op::sigmoid, X) * 0.5 + 0.25).id;  // in (0.25, 0.75)
    std::vector<NodeId> parts;
    for (Op op : {
#define NFC_UNARY(o, spelling, expr) Op::o,
#include "compiler/ir/Ops.def"
         }) {
      const bool needs_positive =
          op == Op::log || op == Op::sqrt || op == Op::log1p || op == Op::log2;
      const bool needs_unit = op == Op::atanh || op == Op::logit || op == Op::asin ||
                              op == Op::acos || op == Op::erfinv;
      const NodeId above_one = (X * X + 1.1).id;  // acosh
      parts.push_back(g.unary(op, op == Op::acosh  ? above_one
                                  : needs_positive ? positive
                                  : needs_unit     ? unit
                                                   : x));
    }
    for (Op op : {Op::add, Op::sub, Op::mul, Op::div, Op::pow})
      parts.push_back(g.binary(op, op == Op::pow ? positive : x, positive));
    parts.push_back(g.select_pos(x, positive, unit));
    const NodeId w = g.param(g.add_param("w", {4, 10}));
    const NodeId m = g.matvec(w, x, 4, 10);
    parts.push_back(m);
    parts.push_back(g.matvec_t(w, m, 4, 10));
    std::vector<int> spread;  // 12 indices with repeats: a static table
    for (int k = 0; k < 12; ++k) spread.push_back((7 * k + 3) % 10);
    parts.push_back(g.gather(g.unary(Op::tanh, x), spread));
    parts.push_back(g.scatter(g.gather(x, spread), spread, 11));
    parts.push_back(g.scatter(m, {3, 0, 3, 1}, 5));
    const NodeId total = g.sum(g.unary(Op::exp, x));
    parts.push_back(g.broadcast(total, 3));
    parts.push_back(g.matvec(w, g.broadcast(total, 10), 4, 10));
    // solve: u + tanh(u) exp(c) = target, lane by lane, with a context c.
    const Ex u{&g, g.var(g.add_var_name("u"))};
    const Ex c{&g, g.gather(x, {3, 4, 5})};
    const Ex t = apply(Op::tanh, u);
    const NodeId f = (u + t * apply(Op::exp, c)).id;
    const NodeId dfdx = (1 + (1 - t * t) * apply(Op::exp, c)).id;
    parts.push_back(g.solve(g.gather(x, {0, 1, 2}), f, dfdx, u.id));
    outputs = {g.concat(parts), g.constant(2.5), w, x};
  }
};

}  // namespace

TEST_CASE("C++ backend: every op of a hand-built program matches the interpreter", "[emit]") {
  AllOps ops;
  const Program program{&ops.g, {{"f", ops.x, ops.outputs}}};
  std::vector<double> params;
  Random rng(3);
  for (int64_t k = 0; k < ops.g.param_count(); ++k) params.push_back(rng.uniform(-1, 1));
  const fs::path dir = scratch("ops");
  std::string text =
      "#include <cmath>\n#include <cstdio>\n#include <limits>\n#include <utility>\n"
      "#include \"compiler/ir/NewtonBisection.hpp\"\n#include \"compiler/ir/Erfinv.hpp\"\n"
      "using Real = double;\n" +
      emit_cpp_function(program, program.entries[0], "f_one") + "int main() {\n";
  auto list = [](const std::vector<double>& v) {
    std::ostringstream s;
    s.precision(17);
    for (double x : v) s << x << ", ";
    return s.str();
  };
  text += "  const Real p[] = {" + list(params) + "};\n";
  std::vector<std::vector<double>> rows;
  for (int r = 0; r < 3; ++r) {
    std::vector<double> row;
    for (int k = 0; k < 10; ++k) row.push_back(2 * rng.normal());
    text += "  {\n    const Real in[] = {" + list(row) + "};\n";
    std::string call = "    f_one(p, in";
    for (size_t o = 0; o < ops.outputs.size(); ++o) {
      const std::string name = "out" + std::to_string(o);
      text += "    Real " + name + "[" + std::to_string(ops.g.len(ops.outputs[o])) + "];\n";
      call += ", " + name;
    }
    text += call + ");\n";
    for (size_t o = 0; o < ops.outputs.size(); ++o)
      text += "    for (Real v : out" + std::to_string(o) + ") std::printf(\"%.17g \", v);\n";
    text += "    std::printf(\"\\n\");\n  }\n";
    rows.push_back(row);
  }
  text += "}\n";
  std::ofstream(dir / "ops.cpp") << text;
  const auto built = test::run_shell("cd " + dir.string() + " && " + kCompile + " -I" +
                                     NFC_SOURCE_DIR + " ops.cpp -o ops");
  INFO(text << built.output);
  REQUIRE(built.exit_code == 0);
  const auto ran = test::run_shell((dir / "ops").string());
  REQUIRE(ran.exit_code == 0);
  std::istringstream lines(ran.output);
  for (const auto& row : rows) {
    std::string line;
    std::getline(lines, line);
    std::istringstream values(line);
    std::vector<double> want;
    for (const auto& out : interpret(ops.g, program.entries[0], params, row))
      want.insert(want.end(), out.begin(), out.end());
    for (size_t i = 0; i < want.size(); ++i) {
      std::string v;
      values >> v;
      INFO("value " << i);
      // The same formulas in the same order on the same libm: equal up to
      // the compiler's freedom with the last bit (none at -O2 without FMA).
      CHECK(std::strtod(v.c_str(), nullptr) == Approx(want[i]).epsilon(1e-15).margin(1e-15));
    }
  }
}

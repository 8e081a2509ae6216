// The JIT cache: machine code stored on disk under a key of the model, the
// options, the CPU and nfc's build, loaded by the next compile of the same
// model. A hit must compute exactly what a fresh compile computes; a
// damaged, truncated or foreign entry is ignored and rebuilt; the directory
// stays under its size bound; concurrent processes share it safely.
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "compiler/backend/llvm/ObjectBundle.hpp"
#include "driver/Compile.hpp"
#include "driver/JitCache.hpp"
#include "tests/Shell.hpp"
#include "tests/TestSupport.hpp"

using namespace nfc;
namespace fs = std::filesystem;

namespace {

// A scratch folder only its user may write into (whatever the umask): one
// the cache accepts.
fs::path cache_dir(const std::string& name) {
  const fs::path dir = test::scratch_dir("nfc_test_jit_cache", name);
  fs::permissions(dir, fs::perms::owner_all);
  return dir;
}

const char* kModel = R"(
flow cached(dim = 2) {
  repeat 2 {
    coupling affine(mask = alternate) { net = mlp(hidden = [16], act = tanh); s = 2 * tanh(s / 2) }
  }
}
)";

std::unique_ptr<CompiledModel> compile_with(ObjectStore* store, Precision p = Precision::f64,
                                            bool keep_ir = false) {
  Diagnostics diags("cached.nf", kModel);
  JitOptions options;
  options.precision = p;
  options.cache = store;
  options.keep_ir = keep_ir;
  auto model = compile_model(kModel, diags, options);
  REQUIRE(model != nullptr);
  return model;
}

// What the cached model computes (test::model_outputs).
std::vector<double> outputs(const CompiledModel& m) {
  return test::model_outputs(m, 4, 37);
}

std::vector<fs::path> entries(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".nfcjit") out.push_back(e.path());
  return out;
}

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary) << bytes;
}

}  // namespace

TEST_CASE("a cache hit computes exactly what a fresh compile computes", "[jit_cache]") {
  const fs::path dir = cache_dir("hit");
  DiskObjectStore store(dir, 64 << 20);
  const auto fresh = compile_with(&store);
  CHECK(!fresh->times.jit.from_cache);
  REQUIRE(entries(dir).size() == 1);
  const auto hit = compile_with(&store);
  CHECK(hit->times.jit.from_cache);
  CHECK(hit->jit->vector_width() == fresh->jit->vector_width());
  // The small-batch crossover is measured once, when compiled, and kept:
  // a hit uses the same entry point for the same batch.
  CHECK(hit->jit->small_batch_rows() == fresh->jit->small_batch_rows());
  CHECK((fresh->jit->small_batch_rows() >= 2 &&
         fresh->jit->small_batch_rows() <= fresh->jit->vector_width()));
  CHECK(outputs(*hit) == outputs(*fresh));  // bit for bit
  CHECK(outputs(*hit) == outputs(*compile_with(nullptr)));
  // Another precision is another key; keeping the IR bypasses the cache.
  CHECK(!compile_with(&store, Precision::f32)->times.jit.from_cache);
  CHECK(entries(dir).size() == 2);
  const auto with_ir = compile_with(&store, Precision::f64, /*keep_ir=*/true);
  CHECK(!with_ir->times.jit.from_cache);
  CHECK(!with_ir->jit->ir().empty());
}

TEST_CASE("a damaged cache entry is ignored and rebuilt", "[jit_cache]") {
  const fs::path dir = cache_dir("damaged");
  DiskObjectStore store(dir, 64 << 20);
  compile_with(&store);
  const fs::path entry = entries(dir).at(0);
  const std::string good = read_bytes(entry);
  // The machine code of each entry point; the rest of a bundle (the
  // small-batch crossover) is measured anew by each compile.
  auto objects = [&store, key = entry.stem().string()] {
    const std::optional<std::string> payload = store.load(key);
    REQUIRE(payload.has_value());
    const std::optional<ObjectBundle> bundle = decode(*payload);
    REQUIRE(bundle.has_value());
    std::vector<std::vector<std::string>> out;
    for (const ObjectBundle::Entry& e : bundle->entries) out.push_back(e.objects);
    return out;
  };
  const auto good_objects = objects();
  const std::vector<double> expected = outputs(*compile_with(nullptr));
  // A flipped byte in the objects, a truncated file, an empty one, another
  // entry's text under this name, garbage: each is a miss, the compile
  // starts afresh and its entry replaces the bad one.
  std::string flipped = good;
  flipped[flipped.size() / 2] ^= 0x40;
  std::string foreign = good;
  foreign.replace(foreign.find('\n') + 1, 4, "0000");
  for (const std::string& bad : {flipped, good.substr(0, good.size() / 3), std::string(), foreign,
                                 std::string(1000, '\x7f')}) {
    write_bytes(entry, bad);
    const auto rebuilt = compile_with(&store);
    CHECK(!rebuilt->times.jit.from_cache);
    CHECK(outputs(*rebuilt) == expected);
    CHECK(objects() == good_objects);
    CHECK(compile_with(&store)->times.jit.from_cache);
  }
}

TEST_CASE("object bundles decode only what encode wrote", "[jit_cache]") {
  ObjectBundle b{8,
                 16,
                 6,
                 {{"forward",
                   0,
                   {"\x7f"
                    "ELF rest of an object"}},
                  {"nll_grad",
                   4096,
                   {"\x7f"
                    "ELF more",
                    "\x7f"
                    "ELF a second partition"}}}};
  const std::string bytes = encode(b);
  const auto back = decode(bytes);
  REQUIRE(back.has_value());
  CHECK((back->gradient_width == 8 && back->map_width == 16 && back->small_batch_rows == 6 &&
         back->entries.size() == 2));
  CHECK((back->entries[1].name == "nll_grad" && back->entries[1].workspace_bytes == 4096));
  CHECK(back->entries[0].objects == b.entries[0].objects);
  CHECK(back->entries[1].objects == b.entries[1].objects);
  // Every prefix and every one-byte change of the header is refused or
  // decodes to something; none crashes.
  for (size_t n = 0; n < bytes.size(); ++n) CHECK(!decode(bytes.substr(0, n)).has_value());
  CHECK(!decode(bytes + "x").has_value());
  for (size_t i = 0; i < 64; ++i) {
    std::string changed = bytes;
    changed[i] = char(changed[i] + 1);
    (void)decode(changed);
  }
}

TEST_CASE("the cache directory stays under its bound, the least recently used going first",
          "[jit_cache]") {
  const fs::path dir = cache_dir("bound");
  DiskObjectStore store(dir, 2500);
  const std::string payload(1000, 'p');
  const auto now = fs::file_time_type::clock::now();
  store.store("a", payload);
  store.store("b", payload);
  fs::last_write_time(dir / "a.nfcjit", now - std::chrono::hours(2));
  fs::last_write_time(dir / "b.nfcjit", now - std::chrono::hours(1));
  REQUIRE(store.load("a").has_value());  // used now: b is the oldest
  store.store("c", payload);
  CHECK(fs::exists(dir / "a.nfcjit"));
  CHECK(!fs::exists(dir / "b.nfcjit"));
  CHECK(fs::exists(dir / "c.nfcjit"));
  CHECK(store.load("c") == payload);
  // A folder others may write into is no cache: nfc would run their code.
  fs::permissions(dir, fs::perms::others_write, fs::perm_options::add);
  CHECK(!store.load("c").has_value());
  store.store("d", payload);
  CHECK(!fs::exists(dir / "d.nfcjit"));
  fs::permissions(dir, fs::perms::others_write, fs::perm_options::remove);
  CHECK(store.load("c") == payload);
  // A store that cannot write is only a miss next time.
  DiskObjectStore nowhere("/proc/nfc-cannot-be-here", 1 << 20);
  CHECK_NOTHROW(nowhere.store("x", payload));
  CHECK(!nowhere.load("x").has_value());
}

TEST_CASE("nfc reuses its cache across runs and processes; --no-cache bypasses it", "[jit_cache]") {
  const fs::path dir = cache_dir("cli");
  const std::string model = std::string(NFC_SOURCE_DIR) + "/examples/moons.nf";
  const std::string env = "NFC_CACHE_DIR=" + dir.string() + " ";
  auto compile = [&](const std::string& extra = "") {
    return test::run_shell(env + NFC_EXECUTABLE + " compile " + model + " " + extra);
  };
  // Four processes at once on an empty cache: each compiles, the entry is
  // written atomically (whichever lands last), and all succeed.
  std::vector<std::thread> racers;
  std::vector<int> codes(4, -1);
  for (int i = 0; i < 4; ++i)
    racers.emplace_back([&, i] { codes[size_t(i)] = compile().exit_code; });
  for (auto& t : racers) t.join();
  CHECK(codes == std::vector<int>(4, 0));
  CHECK(entries(dir).size() == 1);
  const auto hit = compile();
  CHECK(hit.output.find("machine code from the JIT cache") != std::string::npos);
  const auto bypass = compile("--no-cache");
  CHECK(bypass.output.find("machine code from the JIT cache") == std::string::npos);
  CHECK(bypass.output.find(" O2 ") != std::string::npos);
  // Training from cached code ends bit for bit where training from fresh
  // code ends.
  const std::string train = fmt::format(
      "{} train {} --data builtin:moons --data-rows 1000 --steps 60 --eval-every 30 -q --out ",
      NFC_EXECUTABLE, model);
  REQUIRE(test::run_shell(env + train + (dir / "a.safetensors").string()).exit_code == 0);
  REQUIRE(
      test::run_shell(env + train + (dir / "b.safetensors").string() + " --no-cache").exit_code ==
      0);
  CHECK(read_bytes(dir / "a.safetensors") == read_bytes(dir / "b.safetensors"));
  // NFC_CACHE_DIR=off: no cache at all.
  const fs::path off = test::scratch_dir("nfc_test_jit_cache", "off");
  const auto none = test::run_shell("cd " + off.string() + " && HOME=" + off.string() +
                                    " NFC_CACHE_DIR=off " + NFC_EXECUTABLE + " compile " + model);
  CHECK(none.exit_code == 0);
  CHECK(fs::is_empty(off));
}

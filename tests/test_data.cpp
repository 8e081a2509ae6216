// Data and checkpoint files: .npy, CSV, built-in datasets and their exact
// densities, standardisation, safetensors, atomic replacement. Every
// rejection is checked with its exact one-line message, and damaged files
// must give a DataError, never a crash.
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>

#include "runtime/Builtin.hpp"
#include "runtime/DataError.hpp"
#include "runtime/Hash.hpp"
#include "runtime/Random.hpp"
#include "runtime/io/AtomicFile.hpp"
#include "runtime/io/Csv.hpp"
#include "runtime/io/Dataset.hpp"
#include "runtime/io/Npy.hpp"
#include "runtime/io/Safetensors.hpp"
#include "runtime/io/Standardize.hpp"

using namespace nfc;
namespace fs = std::filesystem;

namespace {

// A fresh directory per test case, removed afterwards.
struct TempDir {
  fs::path root;
  TempDir() {
    static int counter = 0;
    root = fs::temp_directory_path() /
           ("nfc_test_data_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(root);
    fs::create_directories(root);
  }
  ~TempDir() { fs::remove_all(root); }
  std::string path(const std::string& name) const { return (root / name).string(); }
};

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string from_hex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
  return out;
}

// The message of the DataError `f` throws; other exceptions escape and fail
// the test, as they should.
std::string data_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const DataError& e) {
    return e.what();
  }
  return "<no error>";
}

bool same_bits(double a, double b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!same_bits(a[i], b[i])) return false;
  return true;
}

// Awkward values: signed zero, subnormals, extremes, values with long
// decimal expansions.
std::vector<double> awkward_doubles() {
  std::vector<double> v = {0.0,
                           -0.0,
                           0.1,
                           -1.0 / 3,
                           1e-310,
                           -4.9e-324,
                           std::numeric_limits<double>::max(),
                           std::numeric_limits<double>::lowest(),
                           std::numeric_limits<double>::min(),
                           123456.789};
  Random rng(7);
  for (int i = 0; i < 22; ++i) v.push_back(rng.normal() * std::pow(10.0, i - 11));
  return v;  // 32 values
}

std::vector<double> awkward_floats() {
  std::vector<double> v;
  for (double d : awkward_doubles()) v.push_back(static_cast<float>(d));
  v[4] = 1e-40f;  // a float subnormal
  return v;
}

// A .npy file as NumPy lays it out: magic, version, header length (2 bytes
// in v1, 4 in v2/v3), the dict padded with spaces and '\n' to 64 bytes.
std::string npy_bytes(int major, const std::string& dict, const std::string& data) {
  const size_t len_bytes = major == 1 ? 2 : 4;
  std::string header = dict;
  header.append(64 - (6 + 2 + len_bytes + dict.size() + 1) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += '\0';
  for (size_t k = 0; k < len_bytes; ++k)
    out += static_cast<char>((header.size() >> (8 * k)) & 0xff);
  return out + header + data;
}

std::string f64_bytes(std::initializer_list<double> values) {
  std::string out;
  for (double v : values) out.append(reinterpret_cast<const char*>(&v), 8);  // little-endian host
  return out;
}

const char* kDict32 = "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }";

}  // namespace

// ---------------------------------------------------------------- hash

TEST_CASE("fnv1a64 matches the published test vectors", "[data]") {
  CHECK(fnv1a64("") == 0xcbf29ce484222325ULL);
  CHECK(fnv1a64("a") == 0xaf63dc4c8601ec8cULL);
  CHECK(fnv1a64("foobar") == 0x85944171f73967e8ULL);
  CHECK(hex64(0xaf63dc4c8601ec8cULL) == "af63dc4c8601ec8c");
  CHECK(hex64(0x2a) == "000000000000002a");
}

// ---------------------------------------------------------------- atomic files

TEST_CASE("atomic write replaces the file and leaves no temporary", "[data]") {
  TempDir dir;
  const std::string p = dir.path("out.txt");
  write_bytes(p, "old");
  write_file_atomically(p, std::string_view("new content"));
  CHECK(read_bytes(p) == "new content");
  CHECK(std::distance(fs::directory_iterator(dir.root), fs::directory_iterator()) == 1);
}

TEST_CASE("atomic write keeps the old file when the writer throws midway", "[data]") {
  TempDir dir;
  const std::string p = dir.path("model.safetensors");
  write_bytes(p, "old");
  auto half_written = [](std::ostream& out) {
    out << std::string(100000, 'x');  // more than the stream's buffer: really on disk
    throw std::runtime_error("interrupted");
  };
  CHECK_THROWS_WITH(write_file_atomically(p, half_written), "interrupted");
  CHECK(read_bytes(p) == "old");
  CHECK(std::distance(fs::directory_iterator(dir.root), fs::directory_iterator()) == 1);
}

TEST_CASE("atomic write names the file and the reason when it cannot write", "[data]") {
  TempDir dir;
  const std::string missing = dir.path("no/such/dir/x.npy");
  CHECK(data_error([&] { write_file_atomically(missing, std::string_view("x")); }) ==
        "cannot write '" + missing + "': No such file or directory");
  write_bytes(dir.path("file"), "");
  const std::string under_file = dir.path("file/x.npy");
  CHECK(data_error([&] { write_file_atomically(under_file, std::string_view("x")); }) ==
        "cannot write '" + under_file + "': Not a directory");
  // The target is a directory: the rename fails and the temporary goes.
  fs::create_directory(dir.path("taken"));
  CHECK(data_error([&] { write_file_atomically(dir.path("taken"), std::string_view("x")); }) ==
        "cannot write '" + dir.path("taken") + "': Is a directory");
  CHECK(std::distance(fs::directory_iterator(dir.root), fs::directory_iterator()) == 2);
}

// ---------------------------------------------------------------- npy

TEST_CASE("npy round trip is bit-exact in f64 and f32, 2-D and 1-D", "[data]") {
  TempDir dir;
  const std::string p = dir.path("x.npy");
  const std::vector<double> d = awkward_doubles(), f = awkward_floats();

  write_npy(p, {16, 2}, d.data(), TensorDType::f64);
  NpyArray a = read_npy(p);
  CHECK(a.shape == std::vector<int64_t>{16, 2});
  CHECK(a.dtype == TensorDType::f64);
  CHECK(same_bits(a.values.to_vector(), d));

  write_npy(p, {32}, f.data(), TensorDType::f32);
  a = read_npy(p);
  CHECK(a.shape == std::vector<int64_t>{32});
  CHECK(a.dtype == TensorDType::f32);
  CHECK(same_bits(a.values.to_vector(), f));

  std::vector<float> floats(f.begin(), f.end());
  write_npy(p, {8, 4}, floats.data());
  a = read_npy(p);
  CHECK(a.dtype == TensorDType::f32);
  CHECK(same_bits(a.values.to_vector(), f));
}

TEST_CASE("npy writer produces NumPy's bytes exactly", "[data]") {
  // numpy.save of np.array([[0.5, -1], [2.25, 1e-300], [-0.0, 3]]) and of
  // np.array([1.5, -2, 0.1, 3], dtype=np.float32): NumPy's header layout.
  const std::string f8 = from_hex(
      "934e554d5059010076007b276465736372273a20273c6638272c2027666f727472616e5f6f72646572273a20"
      "46616c73652c20277368617065273a2028332c2032292c207d20202020202020202020202020202020202020"
      "2020202020202020202020202020202020202020202020202020202020202020202020202020200a00000000"
      "0000e03f000000000000f0bf000000000000024059f3f8c21f6ea50100000000000000800000000000000840");
  const std::string f4 = from_hex(
      "934e554d5059010076007b276465736372273a20273c6634272c2027666f727472616e5f6f72646572273a20"
      "46616c73652c20277368617065273a2028342c292c207d202020202020202020202020202020202020202020"
      "2020202020202020202020202020202020202020202020202020202020202020202020202020200a0000c03f"
      "000000c0cdcccc3d00004040");
  TempDir dir;
  const std::string p = dir.path("x.npy");
  const double d[] = {0.5, -1, 2.25, 1e-300, -0.0, 3};
  write_npy(p, {3, 2}, d, TensorDType::f64);
  CHECK(read_bytes(p) == f8);
  const float f[] = {1.5f, -2, 0.1f, 3};
  write_npy(p, {4}, f);
  CHECK(read_bytes(p) == f4);

  write_bytes(p, f8);
  const NpyArray a = read_npy(p);
  CHECK(a.shape == std::vector<int64_t>{3, 2});
  CHECK(same_bits(a.values.to_vector(), std::vector<double>(d, d + 6)));
}

TEST_CASE("npy reads versions 2.0 and 3.0, other byte-order marks and Python 2 longs", "[data]") {
  TempDir dir;
  const std::string p = dir.path("x.npy");
  const std::string data = f64_bytes({1, 2, 3, 4, 5, 6});
  for (int major : {1, 2, 3}) {
    write_bytes(p, npy_bytes(major, kDict32, data));
    CHECK(read_npy(p).values.to_vector() == std::vector<double>{1, 2, 3, 4, 5, 6});
  }
  write_bytes(p,
              npy_bytes(1, "{'descr': '=f8', 'fortran_order': False, 'shape': (3L, 2L), }", data));
  CHECK(read_npy(p).shape == std::vector<int64_t>{3, 2});
  write_bytes(
      p, npy_bytes(1, "{\"shape\": (6,), \"fortran_order\": False, \"descr\": \"|f8\"}", data));
  CHECK(read_npy(p).shape == std::vector<int64_t>{6});
}

// np.save of counts gives int64, of a mask bool, of a big-endian or half
// precision array '>f4' / '<f2': each is converted to double exactly.
TEST_CASE("npy converts integers, bools, float16 and big-endian data exactly", "[data]") {
  TempDir dir;
  const std::string p = dir.path("x.npy");
  auto read = [&](const std::string& descr, const std::string& shape, const std::string& data) {
    write_bytes(
        p,
        npy_bytes(1, "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }",
                  data));
    // Read in either precision, a value is the same number.
    const NpyArray a = read_npy(p);
    const std::vector<double> d = a.values.to_vector();
    std::vector<float> f(d.size());
    a.values.read_rows(0, a.values.rows, f.data());
    for (size_t i = 0; i < d.size(); ++i) CHECK(f[i] == float(d[i]));
    return d;
  };
  auto le = [](auto v) { return std::string(reinterpret_cast<const char*>(&v), sizeof v); };
  auto be = [&](auto v) {
    std::string b = le(v);
    std::reverse(b.begin(), b.end());
    return b;
  };
  CHECK(read("<i8", "(3,)", le(int64_t(-5)) + le(int64_t(1) << 53) + le(int64_t(7))) ==
        std::vector<double>{-5, 9007199254740992.0, 7});
  CHECK(read("<i4", "(2,)", le(int32_t(-2147483647 - 1)) + le(int32_t(3))) ==
        std::vector<double>{-2147483648.0, 3});
  CHECK(read("<i2", "(1,)", le(int16_t(-300))) == std::vector<double>{-300});
  CHECK(read("|i1", "(2,)", le(int8_t(-128)) + le(int8_t(127))) == std::vector<double>{-128, 127});
  CHECK(read("|u1", "(2,)", le(uint8_t(255)) + le(uint8_t(0))) == std::vector<double>{255, 0});
  CHECK(read("<u8", "(1,)", le(uint64_t(1) << 52)) == std::vector<double>{4503599627370496.0});
  CHECK(read("|b1", "(3,)", std::string("\1\0\1", 3)) == std::vector<double>{1, 0, 1});
  CHECK(read(">f8", "(2,)", be(0.1) + be(-3.5e300)) == std::vector<double>{0.1, -3.5e300});
  CHECK(read(">f4", "(2,)", be(0.1f) + be(1e-40f)) ==
        std::vector<double>{double(0.1f), double(1e-40f)});
  CHECK(read(">i8", "(1,)", be(int64_t(-123456789))) == std::vector<double>{-123456789});
  // float16: 1, -2, the largest (65504), the smallest subnormal (2^-24), 0.1's nearest
  CHECK(read("<f2", "(5,)",
             le(uint16_t(0x3C00)) + le(uint16_t(0xC000)) + le(uint16_t(0x7BFF)) +
                 le(uint16_t(0x0001)) + le(uint16_t(0x2E66))) ==
        std::vector<double>{1, -2, 65504, std::ldexp(1.0, -24), 0.0999755859375});
  // The loader still refuses non-finite values, whatever the dtype.
  write_bytes(p, npy_bytes(1, "{'descr': '<f2', 'fortran_order': False, 'shape': (2, 1), }",
                           le(uint16_t(0x3C00)) + le(uint16_t(0x7C00))));
  CHECK(data_error([&] { load_dataset(p, 0); }) == p + ": row 1, column 0: inf");
}

TEST_CASE("npy rejects what nfc cannot read, with one-line messages", "[data]") {
  TempDir dir;
  const std::string p = dir.path("x.npy");
  const std::string data = f64_bytes({1, 2, 3, 4, 5, 6});
  auto error_for = [&](const std::string& bytes) {
    write_bytes(p, bytes);
    return data_error([&] { read_npy(p); });
  };
  auto dict = [](const std::string& descr, const std::string& fortran, const std::string& shape) {
    return "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }";
  };
  const std::string good = npy_bytes(1, kDict32, data);

  CHECK(error_for("") == p + ": not a .npy file (bad magic)");
  CHECK(error_for("PK\x03\x04 a zip file") == p + ": not a .npy file (bad magic)");
  CHECK(error_for(std::string("\x93NUMPY\x04\x00", 8) + "xx") ==
        p + ": unsupported .npy version 4.0");
  CHECK(error_for(good.substr(0, 9)) == p + ": truncated header");
  CHECK(error_for(good.substr(0, 40)) == p + ": truncated header");
  CHECK(error_for(npy_bytes(1, dict("<c16", "False", "(3,)"), data)) ==
        p + ": unsupported dtype '<c16' (need a float, integer or bool array)");
  CHECK(error_for(npy_bytes(1, dict("<U4", "False", "(3,)"), data)) ==
        p + ": unsupported dtype '<U4' (need a float, integer or bool array)");
  CHECK(error_for(npy_bytes(1, dict("<f3", "False", "(16,)"), data)) ==
        p + ": unsupported dtype '<f3' (need a float, integer or bool array)");
  CHECK(error_for(
            npy_bytes(1, dict("<i8", "False", "(1,)"), std::string("\x01\0\0\0\0\0\x20\0", 8))) ==
        p + ": element 0 is an integer beyond 2^53, which a double cannot hold exactly");
  CHECK(error_for(npy_bytes(1, dict("<f8", "True", "(3, 2)"), data)) ==
        p + ": Fortran-order arrays are not supported");
  CHECK(error_for(npy_bytes(1, dict("<f8", "False", "(1, 3, 2)"), data)) ==
        p + ": expected a 1-D or 2-D array, found 3-D");
  CHECK(error_for(npy_bytes(1, dict("<f8", "False", "()"), data.substr(0, 8))) ==
        p + ": expected a 1-D or 2-D array, found 0-D");
  CHECK(error_for(good.substr(0, good.size() - 1)) ==
        p + ": truncated data: the header promises 48 bytes, the file holds 47");
  CHECK(error_for(good + "junk") == p + ": 4 bytes of trailing data after the array");
  CHECK(error_for(npy_bytes(1, "{'descr': '<f8', 'fortran_order': False}", data)) ==
        p + ": malformed header: needs the keys 'descr', 'fortran_order' and 'shape'");
  CHECK(error_for(npy_bytes(1, "{'descr': '<f8', 'fortran_order': 0, 'shape': (6,)}", data)) ==
        p + ": malformed header: 'fortran_order' must be True or False");
  CHECK(error_for(npy_bytes(1, "{'descr': [('a', '<f8')], 'fortran_order': False}", data)) ==
        p + ": malformed header: expected a string at byte 10");
}

TEST_CASE("npy never allocates what the file cannot hold", "[data]") {
  TempDir dir;
  const std::string p = dir.path("x.npy");
  // 2^60 rows: a reader that trusted the header would die allocating.
  write_bytes(
      p,
      npy_bytes(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1152921504606846976, 1), }",
                f64_bytes({1})));
  CHECK(data_error([&] { read_npy(p); }) == p + ": shape is too large");
  write_bytes(p, npy_bytes(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (100000000, 2), }",
                           f64_bytes({1})));
  CHECK(data_error([&] { read_npy(p); }) ==
        p + ": truncated data: the header promises 1600000000 bytes, the file holds 8");
  // A v2 header length of 4 GB in a tiny file.
  write_bytes(p, std::string("\x93NUMPY\x02\x00\xff\xff\xff\xff{}", 14));
  CHECK(data_error([&] { read_npy(p); }) == p + ": truncated header");
}

TEST_CASE("npy: every truncation of a valid file is a DataError", "[data]") {
  TempDir dir;
  const std::string good = npy_bytes(1, kDict32, f64_bytes({1, 2, 3, 4, 5, 6}));
  const std::string p = dir.path("x.npy");
  for (size_t n = 0; n < good.size(); ++n) {
    write_bytes(p, good.substr(0, n));
    INFO("truncated to " << n << " bytes");
    CHECK_THROWS_AS(read_npy(p), DataError);
  }
}

TEST_CASE("load_dataset reads npy and refuses NaN, Inf and empty arrays", "[data]") {
  TempDir dir;
  const std::string p = dir.path("x.npy");
  const double good[] = {1, 2, 3, 4, 5, 6};
  write_npy(p, {3, 2}, good, TensorDType::f64);
  Dataset d = load_dataset(p, 0);
  CHECK(d.source == p);
  CHECK(d.rows == 3);
  CHECK(d.cols == 2);
  CHECK(d.to_vector() == std::vector<double>(good, good + 6));
  write_npy(p, {6}, good, TensorDType::f32);
  d = load_dataset(p, 0);
  CHECK((d.rows == 6 && d.cols == 1));

  const double nan = std::nan(""), inf = INFINITY;
  const double bad_nan[] = {1, 2, 3, nan, 5, 6};
  write_npy(p, {3, 2}, bad_nan, TensorDType::f64);
  CHECK(data_error([&] { load_dataset(p, 0); }) == p + ": row 1, column 1: NaN");
  const double bad_inf[] = {1, 2, 3, 4, -inf, 6};
  write_npy(p, {3, 2}, bad_inf, TensorDType::f32);
  CHECK(data_error([&] { load_dataset(p, 0); }) == p + ": row 2, column 0: -inf");
  write_npy(p, {0, 2}, good, TensorDType::f64);
  CHECK(data_error([&] { load_dataset(p, 0); }) == p + ": no rows");
  write_npy(p, {3, 0}, good, TensorDType::f64);
  CHECK(data_error([&] { load_dataset(p, 0); }) == p + ": no columns");

  CHECK(data_error([&] { load_dataset(dir.path("missing.npy"), 0); }) ==
        "cannot open '" + dir.path("missing.npy") + "': No such file or directory");
  CHECK(data_error([&] { load_dataset("data.txt", 0); }) ==
        "data.txt: unknown data format (expected a .npy or .csv file, an IDX file (.idx, -ubyte, "
        "either with .gz), or builtin:NAME)");
}

// ---------------------------------------------------------------- idx

namespace {

// An IDX file of `type` and `shape` holding `payload` (big-endian values).
std::string idx_bytes(unsigned char type, const std::vector<uint32_t>& shape,
                      const std::string& payload) {
  std::string b = {0, 0, char(type), char(shape.size())};
  for (uint32_t n : shape)
    for (int shift = 24; shift >= 0; shift -= 8) b += char((n >> shift) & 0xff);
  return b + payload;
}

// Resident anonymous memory of this process (RssAnon of /proc/self/status):
// what it allocated, not the file pages it maps.
int64_t anonymous_rss() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.starts_with("RssAnon:")) return std::stoll(line.substr(8)) * 1024;
  return -1;
}

void write_gzip(const std::string& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, bytes.data(), unsigned(bytes.size())) == int(bytes.size()));
  REQUIRE(gzclose(f) == Z_OK);
}

}  // namespace

TEST_CASE("IDX images and labels, plain and gzip-compressed", "[data]") {
  TempDir dir;
  // Three 2 x 2 uint8 images: rows of 4 pixels, flattened row by row.
  const std::string images = idx_bytes(
      0x08, {3, 2, 2}, std::string("\x00\x01\x02\x03\x10\x20\x30\x40\xff\xfe\x80\x7f", 12));
  const std::vector<double> pixels = {0, 1, 2, 3, 16, 32, 48, 64, 255, 254, 128, 127};
  write_bytes(dir.path("images.idx"), images);
  write_gzip(dir.path("train-images-idx3-ubyte.gz"), images);
  for (const char* name : {"images.idx", "train-images-idx3-ubyte.gz"}) {
    const Dataset d = load_dataset(dir.path(name), 0);
    CHECK(d.rows == 3);
    CHECK(d.cols == 4);
    CHECK(d.to_vector() == pixels);
  }
  // Signed and wider types, big-endian: int32 labels -2, 7 and float32 1.5.
  write_bytes(dir.path("labels.idx"),
              idx_bytes(0x0C, {2}, std::string("\xff\xff\xff\xfe\x00\x00\x00\x07", 8)));
  CHECK(load_dataset(dir.path("labels.idx"), 0).to_vector() == std::vector<double>{-2, 7});
  write_bytes(dir.path("f.idx"), idx_bytes(0x0D, {1, 1}, std::string("\x3f\xc0\x00\x00", 4)));
  CHECK(load_dataset(dir.path("f.idx"), 0).to_vector() == std::vector<double>{1.5});
}

TEST_CASE("IDX files that are not, or are cut short, or damaged", "[data]") {
  TempDir dir;
  const std::string p = dir.path("x.idx");
  write_bytes(p, "\x1f\x8b\x08\x00");
  CHECK(data_error([&] { load_dataset(p, 0); }) ==
        p + ": not an IDX file (it does not start with two zero bytes)");
  CHECK(data_error([&] { load_dataset(dir.path("none.idx"), 0); }) ==
        dir.path("none.idx") + ": cannot open: No such file or directory");
  // A file of the Debian data package names the package.
  const std::string fashion = "/usr/share/datasets/fashion-mnist/no-such-idx1-ubyte.gz";
  CHECK(data_error([&] { load_dataset(fashion, 0); }) ==
        fashion +
            ": cannot open: No such file or directory (Fashion-MNIST comes with the Debian "
            "package dataset-fashion-mnist: scripts/install-deps.sh dataset-fashion-mnist)");
  write_bytes(p, idx_bytes(0x07, {1}, "a"));
  CHECK(data_error([&] { load_dataset(p, 0); }) ==
        p + ": IDX type byte 0x07 is none of 0x08 (uint8), 0x09, 0x0B, 0x0C, 0x0D, 0x0E");
  // No rows: the other sizes promise nothing and are not multiplied out
  // (found by the idx fuzz target: 0 x 2^32-1 x 2^32-1 x ... overflowed).
  write_bytes(p, idx_bytes(0x0D, {0, 0xffffffff, 0xffffffff, 0xffffffff}, ""));
  CHECK(data_error([&] { load_dataset(p, 0); }) == p + ": no rows");
  write_bytes(p, idx_bytes(0x08, {3, 4}, std::string(10, 'a')));
  CHECK(data_error([&] { load_dataset(p, 0); }) ==
        p + ": the IDX header promises 12 uint8 values (12 bytes), the file holds 10 bytes "
            "after the header");
  write_bytes(p, std::string("\x00\x00\x08\x03\x00\x00", 6));
  CHECK(data_error([&] { load_dataset(p, 0); }) ==
        p + ": IDX header cut short: 3 dimensions need 16 bytes, the file has 6");
  // A gzip stream cut in half, and one with a flipped byte in its data.
  const std::string gz = dir.path("x-ubyte.gz");
  write_gzip(gz, idx_bytes(0x08, {100, 100}, std::string(10000, '\x05')));
  std::ifstream in(gz, std::ios::binary);
  const std::string whole((std::istreambuf_iterator<char>(in)), {});
  write_bytes(gz, whole.substr(0, whole.size() / 2));
  CHECK(data_error([&] { load_dataset(gz, 0); }).starts_with(gz + ": damaged gzip data ("));
  std::string flipped = whole;
  flipped[flipped.size() / 2] ^= 0x55;
  write_bytes(gz, flipped);
  CHECK(data_error([&] { load_dataset(gz, 0); }).starts_with(gz + ": damaged gzip data ("));
}

// ---------------------------------------------------------------- csv

TEST_CASE("csv with and without a header, CRLF, quotes and trailing blank lines", "[data]") {
  TempDir dir;
  const std::string p = dir.path("data.csv");
  write_bytes(p, "x,y\n1,2\n3.5,-4e-3\n");
  CsvTable t = read_csv(p);
  CHECK(t.header == std::vector<std::string>{"x", "y"});
  CHECK((t.rows == 2 && t.cols == 2));
  CHECK(t.values == std::vector<double>{1, 2, 3.5, -4e-3});

  write_bytes(p, "1,2\r\n 3 , +4\r\n\"5\",6\r\n\r\n  \n\n");
  t = read_csv(p);
  CHECK(t.header.empty());
  CHECK(t.rows == 3);
  CHECK(t.values == std::vector<double>{1, 2, 3, 4, 5, 6});

  // Excel's byte-order mark and an index column with an empty name (pandas).
  write_bytes(p, "\xEF\xBB\xBF,a\n0,1.5\n1,2.5");
  t = read_csv(p);
  CHECK(t.header == std::vector<std::string>{"", "a"});
  CHECK(t.values == std::vector<double>{0, 1.5, 1, 2.5});

  // Quoted fields may hold commas and "" (RFC 4180): one header field each.
  write_bytes(p, "\"a,1\",\"say \"\"b\"\"\"\n1,2\n");
  t = read_csv(p);
  CHECK(t.header == std::vector<std::string>{"a,1", "say \"b\""});
  CHECK(t.values == std::vector<double>{1, 2});
  // Subnormal numbers are numbers; an exact zero with a large exponent too.
  write_bytes(p, "1e-310,0e-999\n");
  t = read_csv(p);
  CHECK(t.values == std::vector<double>{1e-310, 0});

  // A header made only of numbers is data: the rule cannot tell them apart.
  write_bytes(p, "0,1\n2,3\n");
  CHECK(read_csv(p).rows == 2);
  Dataset d = load_dataset(p, 0);
  CHECK((d.rows == 2 && d.cols == 2 && d.source == p));
}

// A rank of a group parses its shard's lines only (shard_of over the data
// rows): a bad value elsewhere is another rank's to find; blank lines are
// still found by every rank (they change which line is which row).
TEST_CASE("csv read in parts parses each part's rows only", "[data]") {
  TempDir dir;
  const std::string p = dir.path("data.csv");
  write_bytes(p, "x,y\n1,2\n3,4\n5,oops\n7,8\n9,10\n");
  CsvTable t = read_csv(p, 0, 2);  // rows 0 and 1 of 5
  CHECK((t.rows == 2 && t.all_rows == 5 && t.first_row == 0));
  CHECK(t.values == std::vector<double>{1, 2, 3, 4});
  CHECK(data_error([&] { read_csv(p, 1, 2); }) == p + ":4:2: not a number: 'oops'");
  write_bytes(p, "1,2\n3,4\n5,6\n7,8\n9,10\n");
  t = read_csv(p, 1, 2);  // rows 2 to 4
  CHECK((t.rows == 3 && t.all_rows == 5 && t.first_row == 2));
  CHECK(t.values == std::vector<double>{5, 6, 7, 8, 9, 10});
  write_bytes(p, "1,2\n\n5,6\n7,8\n");
  CHECK(data_error([&] { read_csv(p, 1, 2); }) == p + ":2: blank line inside the data");
}

TEST_CASE("csv rejects bad data with file:line:field messages", "[data]") {
  TempDir dir;
  const std::string p = dir.path("data.csv");
  auto error_for = [&](const std::string& text) {
    write_bytes(p, text);
    return data_error([&] { load_dataset(p, 0); });
  };
  CHECK(error_for("") == p + ": empty file");
  CHECK(error_for("\n \n\r\n") == p + ": empty file");
  CHECK(error_for("x,y\n") == p + ": no data rows (only a header)");
  CHECK(error_for("x,y\n1,2\n3,abc\n") == p + ":3:2: not a number: 'abc'");
  CHECK(error_for("1,2\n3,4\n5,6\n7,8\n9,10,11\n") == p + ":5: expected 2 columns, found 3");
  CHECK(error_for("x,y,z\n1,2\n") == p + ":2: expected 3 columns, found 2");
  CHECK(error_for("1,2\n3,nan\n") == p + ":2:2: NaN");
  CHECK(error_for("1,2\ninf,3\n") == p + ":2:1: inf");
  CHECK(error_for("1,2\n3,-Infinity\n") == p + ":2:2: -inf");
  CHECK(error_for("1,2\n1e999,3\n") == p + ":2:1: number out of range: '1e999' (beyond ±1.8e308)");
  CHECK(error_for("1,2\n1e-999,3\n") ==
        p + ":2:1: number out of range: '1e-999' (not 0, but below the smallest double, 4.9e-324)");
  // A first line with a field that is a number is data, even when another
  // field or the number itself is bad: it was silently taken as a header.
  CHECK(error_for("1e999,2\n3,4\n") == p + ":1:1: number out of range: '1e999' (beyond ±1.8e308)");
  CHECK(error_for("0x10,1\n3,4\n") == p + ":1:1: not a number: '0x10'");
  CHECK(error_for("x,1\n3,4\n") == p + ":1:1: not a number: 'x'");
  CHECK(error_for("\"a,1\",\"b\n1,2\n") == p + ":1: a quoted field is not closed on its line");
  CHECK(error_for("\"a\"b,c\n1,2\n") == p + ":1: a quoted field is not closed on its line");
  // Echoed bytes are cut and escaped: no escape sequence reaches the
  // terminal, no 5 MB field fills it.
  CHECK(error_for("1,2\n3,\033[31mRED\a\n") == p + ":2:2: not a number: '\\x1B[31mRED\\x07'");
  CHECK(error_for("1,2\n3,\xFF\xFEok\n") == p + ":2:2: not a number: '\\xFF\\xFEok'");
  CHECK(error_for("1,2\n3," + std::string(5'000'000, 'a') + "\n") ==
        p + ":2:2: not a number: '" + std::string(60, 'a') + "...'");
  CHECK(error_for("1,,2\n") == p + ":1:2: empty field");
  CHECK(error_for("1,2\n\n3,4\n") == p + ":2: blank line inside the data");
  CHECK(error_for("1,2\n3,0x10\n") == p + ":2:2: not a number: '0x10'");
  CHECK(error_for("1,2\n3,4 5\n") == p + ":2:2: not a number: '4 5'");
}

TEST_CASE("csv writer round-trips exactly and writes a header", "[data]") {
  TempDir dir;
  const std::string p = dir.path("out.csv");
  const std::vector<double> d = awkward_doubles();
  write_csv(p, {"a", "b", "c", "d"}, d.data(), 8, 4);
  CsvTable t = read_csv(p);
  CHECK(t.header == std::vector<std::string>{"a", "b", "c", "d"});
  CHECK(same_bits(t.values, d));  // -0.0 included

  const std::vector<float> f = {0.1f, -2.5f, 1e-40f, 3.4e38f};
  write_csv(p, {"x", "y"}, f.data(), 2, 2);
  CHECK(read_bytes(p) == "x,y\n0.1,-2.5\n1e-40,3.4e+38\n");
  t = read_csv(p);
  for (int i = 0; i < 4; ++i) CHECK(static_cast<float>(t.values[i]) == f[i]);
}

// ---------------------------------------------------------------- builtins

namespace {

// The unit square grid [lo, hi)^2 in cells of side h, evaluated at cell
// midpoints.
struct Grid {
  double lo, hi, h;
  int n() const { return static_cast<int>(std::lround((hi - lo) / h)); }
  double mid(int i) const { return lo + (i + 0.5) * h; }
};

// sum p h^2 and sum p log p h^2 over the grid (the integral of p, and -H).
std::pair<double, double> integrate(const LogDensity& log_p, const Grid& g) {
  double mass = 0, neg_entropy = 0;
  for (int i = 0; i < g.n(); ++i)
    for (int j = 0; j < g.n(); ++j) {
      const double x[2] = {g.mid(i), g.mid(j)};
      const double lp = log_p(x);
      if (lp == -INFINITY) continue;
      mass += std::exp(lp) * g.h * g.h;
      neg_entropy += std::exp(lp) * lp * g.h * g.h;
    }
  return {mass, neg_entropy};
}

}  // namespace

TEST_CASE("built-in datasets: names, shapes, determinism", "[data]") {
  std::vector<std::string> names;
  for (const BuiltinInfo& b : list_builtins()) names.push_back(b.name);
  CHECK(names == std::vector<std::string>{"moons", "8gaussians", "checkerboard", "rings",
                                          "bimodal1d", "cond_gaussians"});
  CHECK(is_builtin("builtin:moons"));
  CHECK(is_builtin("builtin:nonsense"));
  CHECK_FALSE(is_builtin("moons.npy"));

  for (const std::string& name : names) {
    INFO(name);
    const Dataset a = load_dataset("builtin:" + name, 42, 500);
    const int dim = name == "bimodal1d" ? 1 : name == "cond_gaussians" ? 3 : 2;
    CHECK(builtin_dim(name) == dim);
    CHECK(builtin_context_dim(name) == (name == "cond_gaussians" ? 1 : 0));
    const std::vector<double> values = a.to_vector();
    CHECK((a.rows == 500 && a.cols == dim && values.size() == size_t(500 * dim)));
    CHECK(a.source == "builtin:" + name);
    CHECK(load_dataset("builtin:" + name, 42, 500).to_vector() == values);
    CHECK(load_dataset("builtin:" + name, 43, 500).to_vector() != values);
    CHECK(generate_builtin(name, 500, 42) == values);
    CHECK(std::all_of(values.begin(), values.end(), [](double v) { return std::isfinite(v); }));
  }
  CHECK(data_error([] { load_dataset("builtin:moonz", 1); }) ==
        "unknown built-in dataset 'moonz' (known: moons, 8gaussians, checkerboard, rings, "
        "bimodal1d, cond_gaussians)");
  CHECK(data_error([] { load_dataset("builtin:rings", 1, 0); }) ==
        "builtin:rings: the number of rows must be positive, not 0");
  CHECK_FALSE(builtin_log_density("moons").has_value());
  CHECK(builtin_log_density("builtin:rings").has_value());
}

TEST_CASE("moons are centred and inside the documented box", "[data]") {
  const std::vector<double> v = generate_builtin("moons", 20000, 3);
  double mx = 0, my = 0, max_x = 0, max_y = 0;
  for (size_t i = 0; i < v.size(); i += 2) {
    mx += v[i];
    my += v[i + 1];
    max_x = std::max(max_x, std::abs(v[i]));
    max_y = std::max(max_y, std::abs(v[i + 1]));
  }
  // Noise-free moons span [-2, 2] x [-1, 1]; the noise has sd 0.1 * 4/3, so
  // 6 sd (0.8) is practically never reached in 20000 draws, while a wrong
  // scale (no 4/3, no centring) overshoots.
  CHECK(max_x < 2.8);
  CHECK(max_x > 2.0);
  CHECK(max_y < 1.8);
  CHECK(max_y > 1.0);
  // The noise-free moons have mean (0.5, 0.25) (E cos t = 0, E sin t = 2/pi
  // for t uniform on [0, pi)), which the formula subtracts; the standard
  // error of each mean is below 0.01.
  CHECK(std::abs(mx / 20000) < 0.05);
  CHECK(std::abs(my / 20000) < 0.05);
}

// The densities must be normalised, and the samples must come from them:
// the sample mean of log p estimates -H (which quadrature gives
// independently), and the histogram matches the integrated density. A wrong
// sigma, radius, weight or Jacobian fails one of the three.
TEST_CASE("built-in densities integrate to 1 and agree with the samples", "[data]") {
  struct Case {
    const char* name;
    Grid grid;
    double tolerance;
  };
  // Boxes reach >= 7.5 sigma past the outermost mass (tails < 1e-13). The
  // midpoint rule on a smooth density with h <= sigma/8 is accurate far below
  // 1e-6 (its h^2 term integrates a Laplacian, i.e. the boundary flux, ~0);
  // the checkerboard's edges fall on cell edges so its sum is exact; the
  // rings' integrable 1/|x| singularity at 0 carries mass below 1e-9.
  // Measured: |mass - 1| < 1e-11 for all three, so a missing factor (the
  // Jacobian, a weight, 2 pi) cannot hide under the tolerance.
  const Case cases[] = {{"8gaussians", {-3.5, 3.5, 0.01}, 1e-6},
                        {"checkerboard", {-2.5, 2.5, 0.01}, 1e-9},
                        {"rings", {-2.6, 2.6, 0.01}, 1e-6}};
  for (const Case& c : cases) {
    INFO(c.name);
    const LogDensity log_p = *builtin_log_density(c.name);
    const auto [mass, neg_entropy] = integrate(log_p, c.grid);
    CHECK(std::abs(mass - 1) < c.tolerance);

    const int64_t n = 100000;
    const std::vector<double> x = generate_builtin(c.name, n, 11);
    double sum = 0, sum2 = 0;
    int64_t outside = 0;  // samples where the density is zero (or infinite)
    for (int64_t i = 0; i < n; ++i) {
      const double lp = log_p(&x[2 * i]);
      if (!std::isfinite(lp)) ++outside;
      sum += lp;
      sum2 += lp * lp;
    }
    REQUIRE(outside == 0);
    const double mean = sum / n, se = std::sqrt(std::max(0.0, sum2 / n - mean * mean) / n);
    CHECK(std::abs(mean - neg_entropy) < 5 * se + 1e-9);
  }
}

TEST_CASE("built-in histograms match their densities", "[data]") {
  for (const char* name : {"8gaussians", "checkerboard", "rings"}) {
    INFO(name);
    const LogDensity log_p = *builtin_log_density(name);
    const int bins = 10, sub = 40;  // 10x10 bins of [-2.5, 2.5)^2, 40x40 cells each
    const Grid g{-2.5, 2.5, 0.5 / sub};
    std::vector<double> expected(bins * bins, 0.0);
    for (int i = 0; i < g.n(); ++i)
      for (int j = 0; j < g.n(); ++j) {
        const double x[2] = {g.mid(i), g.mid(j)};
        expected[(i / sub) * bins + j / sub] += std::exp(log_p(x)) * g.h * g.h;
      }
    const int64_t n = 200000;
    const std::vector<double> x = generate_builtin(name, n, 5);
    std::vector<double> counts(bins * bins, 0.0);
    for (int64_t k = 0; k < n; ++k) {
      const int i = static_cast<int>(std::floor((x[2 * k] + 2.5) / 0.5));
      const int j = static_cast<int>(std::floor((x[2 * k + 1] + 2.5) / 0.5));
      if (i >= 0 && i < bins && j >= 0 && j < bins) counts[i * bins + j] += 1;
    }
    // 5 binomial standard errors, plus the quadrature error of a bin (below
    // 1e-5: 40 vs 160 cells per side differ by at most 6e-6).
    for (int b = 0; b < bins * bins; ++b) {
      const double p = expected[b], se = std::sqrt(p * (1 - p) / n);
      INFO("bin " << b << " expected " << p << " got " << counts[b] / n);
      CHECK(std::abs(counts[b] / n - p) < 5 * se + 2e-5);
    }
  }
}

TEST_CASE("rings density: the 1/(2 pi r) Jacobian and both radial preimages", "[data]") {
  // Independent evaluation at one point from the formula in Builtin.hpp.
  const double x[2] = {0.3, -0.4};  // |x| = 0.5
  const double r = 0.5, s = 0.08;
  auto phi = [&](double v, double m) {
    return std::exp(-0.5 * (v - m) * (v - m) / (s * s)) / (s * std::sqrt(2 * M_PI));
  };
  double p = 0;
  for (int k = 1; k <= 4; ++k) p += k / 10.0 * (phi(r, k / 2.0) + phi(-r, k / 2.0));
  p /= 2 * M_PI * r;
  CHECK((*builtin_log_density("rings"))(x) == Approx(std::log(p)).epsilon(1e-12));
  const double origin[2] = {0, 0};
  CHECK((*builtin_log_density("rings"))(origin) == INFINITY);
  const double white[2] = {-1.5, -0.5};  // i = 0, j = 1: a white square
  CHECK((*builtin_log_density("checkerboard"))(white) == -INFINITY);
}

// ---------------------------------------------------------------- standardizer

TEST_CASE("standardizer: fit, apply, unapply and the log-det correction", "[data]") {
  const Dataset d{"t", RowTable(4, 3, std::vector<double>{1, 10, 5, 2, 20, 5, 3, 30, 5, 4, 40, 5})};
  const Standardizer s = Standardizer::fit(d, d.cols);
  CHECK(s.mean == std::vector<double>{2.5, 25, 5});
  CHECK(s.scale[0] == Approx(std::sqrt(1.25)));  // population sd of 1..4
  CHECK(s.scale[1] == Approx(10 * std::sqrt(1.25)));
  CHECK(s.scale[2] == 1);  // constant column: scale 1, not 0
  CHECK(s.log_det_correction() == Approx(std::log(1.25) + std::log(10.0)));

  Dataset standardised = d;
  s.apply(standardised);
  std::vector<double> u = standardised.to_vector();
  for (int j = 0; j < 3; ++j) {
    double m = 0, v = 0;
    for (int r = 0; r < 4; ++r) m += u[r * 3 + j] / 4;
    for (int r = 0; r < 4; ++r) v += (u[r * 3 + j] - m) * (u[r * 3 + j] - m) / 4;
    CHECK(std::abs(m) < 1e-15);
    CHECK(v == Approx(j == 2 ? 0.0 : 1.0).margin(1e-15));
  }
  s.unapply_x(u.data(), 4);
  const std::vector<double> original = d.to_vector();
  for (size_t i = 0; i < original.size(); ++i) CHECK(u[i] == Approx(original[i]));

  // log N(x; m, s^2) = log N((x - m)/s; 0, 1) - log s, the identity the
  // correction serves.
  const Standardizer one{{3.0}, {2.0}};
  const double x = 4.2, z = (x - 3) / 2;
  const double log_px = -0.5 * z * z - std::log(2.0) - 0.5 * std::log(2 * M_PI);
  CHECK(-0.5 * z * z - 0.5 * std::log(2 * M_PI) - one.log_det_correction() == Approx(log_px));
}

// ---------------------------------------------------------------- safetensors

namespace {

// A raw safetensors file: the 8-byte length, the header padded to 8, data.
std::string safetensors_bytes(std::string header, const std::string& data) {
  header.append((8 - header.size() % 8) % 8, ' ');
  std::string out;
  for (int k = 0; k < 8; ++k) out += static_cast<char>((header.size() >> (8 * k)) & 0xff);
  return out + header + data;
}

std::vector<NamedTensor> sample_tensors(const std::vector<double>& v) {
  return {{"layer0.net.w1", {4, 5}, std::vector<double>(v.begin(), v.begin() + 20)},
          {"layer0.net.b1", {5}, std::vector<double>(v.begin() + 20, v.begin() + 25)},
          {"scalar", {}, {v[25]}},
          {"z_empty", {0}, {}},  // two empty tensors at one offset: header order kept
          {"empty", {0, 3}, {}},
          {"a", {2, 3}, std::vector<double>(v.begin() + 26, v.begin() + 32)}};
}

void check_same(const std::vector<NamedTensor>& a, const std::vector<NamedTensor>& b) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].name == b[i].name);
    CHECK(a[i].shape == b[i].shape);
    CHECK(same_bits(a[i].values, b[i].values));
  }
}

}  // namespace

TEST_CASE("safetensors round trip is bit-exact in f64 and f32, with metadata", "[data]") {
  TempDir dir;
  const std::string p = dir.path("model.safetensors");
  const std::map<std::string, std::string> meta = {{"nfc.model", "moons"},
                                                   {"nfc.source_hash", hex64(fnv1a64("x"))},
                                                   {"quote\"and\\slash", "ünïcode\n"}};
  for (TensorDType dtype : {TensorDType::f64, TensorDType::f32}) {
    const auto tensors =
        sample_tensors(dtype == TensorDType::f64 ? awkward_doubles() : awkward_floats());
    write_safetensors(p, tensors, dtype, meta);
    const SafetensorsFile f = read_safetensors(p);
    CHECK(f.dtype == dtype);
    CHECK(f.metadata == meta);
    check_same(f.tensors, tensors);
    // Header length, then a header padded to a multiple of 8.
    const std::string bytes = read_bytes(p);
    uint64_t n = 0;
    std::memcpy(&n, bytes.data(), 8);
    CHECK(n % 8 == 0);
    CHECK(bytes.size() == 8 + n + 32 * (dtype == TensorDType::f64 ? 8 : 4));
  }
}

TEST_CASE("safetensors layout is exactly the published format", "[data]") {
  TempDir dir;
  const std::string p = dir.path("m.safetensors");
  write_safetensors(p, {{"w", {2}, {1.0, -2.0}}, {"b", {1}, {0.5}}}, TensorDType::f32,
                    {{"k", "v"}});
  const std::string header =
      R"({"__metadata__":{"k":"v"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})";
  const float data[] = {1.0f, -2.0f, 0.5f};
  CHECK(read_bytes(p) ==
        safetensors_bytes(header, std::string(reinterpret_cast<const char*>(data), 12)));
  write_safetensors(p, std::vector<NamedTensor>{}, TensorDType::f64, {});
  CHECK(read_bytes(p) == safetensors_bytes("{}", ""));
  CHECK(read_safetensors(p).tensors.empty());
}

TEST_CASE("safetensors reads files laid out by other writers", "[data]") {
  // The Python library's order: header keys sorted, metadata anywhere,
  // buffer order by dtype then name; and a mixed-dtype file.
  TempDir dir;
  const std::string p = dir.path("torch.safetensors");
  const double b = 0.25;
  const float w[] = {1.5f, 2.5f};
  std::string data(reinterpret_cast<const char*>(&b), 8);
  data.append(reinterpret_cast<const char*>(w), 8);
  write_bytes(p, safetensors_bytes(R"({"a.w":{"dtype":"F32","shape":[1,2],"data_offsets":[8,16]},)"
                                   R"( "z.b":{"dtype":"F64","shape":[],"data_offsets":[0,8]},)"
                                   R"( "__metadata__":{"format":"pt"}})",
                                   data));
  const SafetensorsFile f = read_safetensors(p);
  CHECK(f.dtype == TensorDType::f64);
  CHECK(f.metadata == std::map<std::string, std::string>{{"format", "pt"}});
  REQUIRE(f.tensors.size() == 2);
  CHECK(f.tensors[0].name == "z.b");  // buffer order
  CHECK(f.tensors[0].shape.empty());
  CHECK(f.tensors[0].values == std::vector<double>{0.25});
  CHECK(f.tensors[1].shape == std::vector<int64_t>{1, 2});
  CHECK(f.tensors[1].values == std::vector<double>{1.5, 2.5});
}

TEST_CASE("safetensors: each kind of damage gives its one-line message", "[data]") {
  TempDir dir;
  const std::string p = dir.path("bad.safetensors");
  auto error_for = [&](const std::string& bytes) {
    write_bytes(p, bytes);
    return data_error([&] { read_safetensors(p); });
  };
  auto entry = [](const std::string& name, const std::string& body) {
    return "{\"" + name + "\":" + body + "}";
  };
  const std::string eight(8, '\0'), sixteen(16, '\0');

  CHECK(error_for("") == p + ": file too short (0 bytes) to be a safetensors file");
  CHECK(error_for(std::string("\x10\0\0", 3)) ==
        p + ": file too short (3 bytes) to be a safetensors file");
  CHECK(error_for(std::string("\0\0\0\0\0\1\0\0", 8) + "{}") ==
        p + ": header length 1099511627776 exceeds the 100 MB limit");
  CHECK(error_for(std::string("\x40\0\0\0\0\0\0\0", 8) + "{}      ") ==
        p + ": header length 64 exceeds the file size (16 bytes)");
  CHECK(error_for(safetensors_bytes("{\"a\": ", "")) ==
        p + ": header is not valid JSON (error at byte 9)");
  // Found by fuzzing: a number JSON can spell but not hold escaped as an
  // internal error.
  CHECK(error_for(safetensors_bytes(R"({"__metadata__":{"k":2E0000000000000000000597579}})", "")) ==
        p + ": header is not valid JSON (a number is out of range)");
  CHECK(error_for(safetensors_bytes("[1, 2]", "")) == p + ": header is not a JSON object");
  CHECK(error_for(safetensors_bytes(R"({"__metadata__":{"k":1}})", "")) ==
        p + ": __metadata__ must map strings to strings");
  // A key twice would silently keep one of two values: in the tensor table
  // and inside metadata or an entry alike.
  CHECK(error_for(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                    R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                    eight)) ==
        p + ": key 'a' appears twice in one object of the header");
  CHECK(error_for(safetensors_bytes(R"({"__metadata__":{"k":"1","k":"2"}})", "")) ==
        p + ": key 'k' appears twice in one object of the header");
  CHECK(error_for(safetensors_bytes(
            entry("w", R"({"dtype":"F32","shape":[2],"shape":[1],"data_offsets":[0,4]})"),
            eight)) == p + ": key 'shape' appears twice in one object of the header");
  CHECK(error_for(safetensors_bytes(entry("w", "[0]"), "")) ==
        p + ": tensor 'w': entry is not a JSON object");
  // Names from the file are quoted printable and cut.
  CHECK(error_for(safetensors_bytes(entry("\\u001b[31mw\\u0007", "[0]"), "")) ==
        p + ": tensor '\\x1B[31mw\\x07': entry is not a JSON object");
  CHECK(error_for(safetensors_bytes(entry(std::string(100000, 'n'), "[0]"), "")) ==
        p + ": tensor '" + std::string(60, 'n') + "...': entry is not a JSON object");
  CHECK(error_for(safetensors_bytes(entry("w", R"({"dtype":"F32","data_offsets":[0,4]})"),
                                    eight)) == p + ": tensor 'w': missing 'shape'");
  CHECK(error_for(safetensors_bytes(
            entry("w", R"({"dtype":"BF16","shape":[4],"data_offsets":[0,8]})"), eight)) ==
        p + ": tensor 'w': unsupported dtype 'BF16' (need F32 or F64)");
  CHECK(error_for(safetensors_bytes(entry("w", R"({"dtype":7,"shape":[4],"data_offsets":[0,8]})"),
                                    eight)) == p + ": tensor 'w': 'dtype' must be a string");
  CHECK(error_for(safetensors_bytes(
            entry("w", R"({"dtype":"F32","shape":[-2],"data_offsets":[0,8]})"), eight)) ==
        p + ": tensor 'w': 'shape' must be a list of non-negative integers");
  CHECK(error_for(safetensors_bytes(
            entry("w", R"({"dtype":"F32","shape":[2],"data_offsets":[0,4,8]})"), eight)) ==
        p + ": tensor 'w': 'data_offsets' must be two non-negative integers [begin, end]");
  CHECK(error_for(safetensors_bytes(
            entry("w", R"({"dtype":"F32","shape":[2],"data_offsets":[8,0]})"), eight)) ==
        p + ": tensor 'w': data_offsets [8, 0] are reversed");
  CHECK(error_for(safetensors_bytes(
            entry("w", R"({"dtype":"F32","shape":[3],"data_offsets":[0,8]})"), eight)) ==
        p + ": tensor 'w': shape [3] needs 12 bytes but data_offsets span 8");
  CHECK(error_for(safetensors_bytes(
            entry("w", R"({"dtype":"F64","shape":[4611686018427387904,4],"data_offsets":[0,8]})"),
            eight)) == p + ": tensor 'w': shape [4611686018427387904, 4] is larger than the file");
  CHECK(error_for(safetensors_bytes(
            entry("w", R"({"dtype":"F64","shape":[2],"data_offsets":[0,16]})"), eight)) ==
        p + ": tensor 'w': data_offsets [0, 16] lie outside the 8-byte data buffer");
  CHECK(error_for(safetensors_bytes(R"({"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},)"
                                    R"("b":{"dtype":"F64","shape":[1],"data_offsets":[4,12]}})",
                                    sixteen)) == p + ": tensors 'a' and 'b' overlap");
  CHECK(error_for(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                    R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                                    sixteen)) ==
        p + ": bytes 4..8 of the data buffer belong to no tensor");
  CHECK(error_for(safetensors_bytes(
            entry("w", R"({"dtype":"F32","shape":[2],"data_offsets":[0,8]})"), sixteen)) ==
        p + ": 8 bytes of trailing data after the last tensor");
  CHECK(data_error([&] { read_safetensors(dir.path("none.safetensors")); }) ==
        "cannot open '" + dir.path("none.safetensors") + "': No such file or directory");
}

TEST_CASE("safetensors: truncation anywhere and corrupted headers never crash", "[data]") {
  TempDir dir;
  const std::string good_path = dir.path("good.safetensors"), p = dir.path("bad.safetensors");
  write_safetensors(good_path, sample_tensors(awkward_doubles()), TensorDType::f64,
                    {{"nfc.model", "m"}});
  const std::string good = read_bytes(good_path);
  uint64_t header_len = 0;
  std::memcpy(&header_len, good.data(), 8);

  for (size_t n = 0; n < good.size(); ++n) {
    write_bytes(p, good.substr(0, n));
    INFO("truncated to " << n << " of " << good.size() << " bytes");
    CHECK_THROWS_AS(read_safetensors(p), DataError);
  }
  // Cut inside the data: the last tensor no longer fits.
  write_bytes(p, good.substr(0, good.size() - 8));
  CHECK(data_error([&] { read_safetensors(p); }) ==
        p + ": tensor 'a': data_offsets [208, 256] lie outside the 248-byte data buffer");

  // Every single-byte change of the length field and of the header is
  // either harmless (padding, a digit inside a name) or a DataError.
  for (size_t i = 0; i < 8 + header_len; ++i)
    for (unsigned char c : {'\0', '"', '9', '}', '\xff'}) {
      std::string bad = good;
      bad[i] = static_cast<char>(c);
      write_bytes(p, bad);
      INFO("byte " << i << " set to " << int(c));
      try {
        read_safetensors(p);
      } catch (const DataError&) {
      }
    }
}

TEST_CASE("safetensors writer refuses caller bugs and writes atomically", "[data]") {
  TempDir dir;
  const std::string p = dir.path("m.safetensors");
  CHECK_THROWS_AS(write_safetensors(p, {{"w", {3}, {1, 2}}}, TensorDType::f32, {}),
                  std::invalid_argument);
  CHECK_THROWS_AS(write_safetensors(p, {{"w", {1}, {1}}, {"w", {1}, {2}}}, TensorDType::f32, {}),
                  std::invalid_argument);
  CHECK_THROWS_AS(write_safetensors(p, {{"__metadata__", {1}, {1}}}, TensorDType::f32, {}),
                  std::invalid_argument);
  CHECK_FALSE(fs::exists(p));
  CHECK(data_error([&] {
          write_safetensors(dir.path("nope/m.safetensors"), std::vector<NamedTensor>{},
                            TensorDType::f32, {});
        }) == "cannot write '" + dir.path("nope/m.safetensors") + "': No such file or directory");
}

TEST_CASE("the 1-D built-in's density integrates to one and matches its samples", "[data]") {
  const auto log_p = builtin_log_density("bimodal1d");
  REQUIRE(log_p.has_value());
  // Trapezoid on [-8, 8]: both components are > 14 sigma inside, so the
  // tails and the rule's error are far below 1e-9.
  double mass = 0;
  const int n = 160001;
  for (int i = 0; i < n; ++i) {
    const double x = -8 + 16.0 * i / (n - 1);
    mass += std::exp((*log_p)(&x)) * (i == 0 || i == n - 1 ? 0.5 : 1);
  }
  CHECK(mass * 16.0 / (n - 1) == Approx(1).margin(1e-9));
  // The sample mean against the mixture's: 0.35 (-1.2) + 0.65 (1.0) = 0.23,
  // standard deviation ~1.05, so 5 standard errors of 20000 samples ~ 0.037.
  const auto xs = generate_builtin("bimodal1d", 20000, 3);
  double mean = 0;
  for (double x : xs) mean += x / 20000;
  CHECK(mean == Approx(0.23).margin(0.037));
}

// A large training file is not copied into the process: the loader maps it
// and checks it in blocks, so loading 64 MB of doubles grows the process's
// own memory by no more than a block.
TEST_CASE("a .npy file is read in place, not copied", "[data]") {
#if defined(__SANITIZE_ADDRESS__)
  WARN("skipped under AddressSanitizer, whose shadow memory is anonymous too");
  return;
#endif
  TempDir dir;
  const std::string p = dir.path("big.npy");
  constexpr int64_t kRows = 4'000'000;
  {
    std::vector<double> values(size_t(2 * kRows));
    for (size_t i = 0; i < values.size(); ++i) values[i] = double(i % 1000) * 0.25;
    write_npy(p, {kRows, 2}, values.data(), TensorDType::f64);
  }
  const int64_t before = anonymous_rss();
  REQUIRE(before > 0);
  const Dataset d = load_dataset(p, 0);
  const int64_t grown = anonymous_rss() - before;
  CHECK(d.rows == kRows);
  CHECK(d.at(kRows - 1, 1) == double((2 * kRows - 1) % 1000) * 0.25);
  INFO("anonymous memory grew by " << grown << " bytes for a 64 MB file");
  CHECK(grown < 8 * 1024 * 1024);
  // The check is not vacuous: a copy of the rows does show.
  const std::vector<double> copy = d.to_vector();
  CHECK(anonymous_rss() - before > 60 * 1024 * 1024);
}

// The layering check (cmake/CheckLayering.cmake, run on every build) on a
// small tree of its own: a component including a component it does not
// depend on, or LLVM without being marked LLVM, fails the build with one
// line per offending include; a tree that keeps the rules passes.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/Shell.hpp"

namespace fs = std::filesystem;

namespace {

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

// A tree of two components, low and high (high depends on low), as
// cmake/NfcComponent.cmake would describe it.
fs::path layered_tree(const std::string& name) {
  const fs::path root = fs::temp_directory_path() / "nfc_test_layering" / name;
  fs::remove_all(root);
  write(root / "rules.cmake",
        "set(NFC_LAYERS low high)\n"
        "set(NFC_LAYER_low_DIR low)\nset(NFC_LAYER_low_ALLOWED low)\nset(NFC_LAYER_low_LLVM 0)\n"
        "set(NFC_LAYER_high_DIR high)\nset(NFC_LAYER_high_ALLOWED high low)\n"
        "set(NFC_LAYER_high_LLVM 1)\n");
  write(root / "low/Low.hpp", "#pragma once\n#include <vector>\n");
  write(root / "high/High.cpp", "#include \"low/Low.hpp\"\n#include <llvm/IR/Module.h>\n");
  return root;
}

nfc::test::ShellRun check(const fs::path& root) {
  return nfc::test::run_shell(std::string(NFC_CMAKE) + " -DNFC_SOURCE_DIR=" + root.string() +
                              " -DNFC_RULES=" + (root / "rules.cmake").string() + " -P " +
                              NFC_SOURCE_DIR + "/cmake/CheckLayering.cmake");
}

}  // namespace

TEST_CASE("the layering check passes a tree that keeps the rules", "[layering]") {
  const auto run = check(layered_tree("clean"));
  CHECK(run.output == "");
  CHECK(run.exit_code == 0);
}

TEST_CASE("the layering check rejects an include against the dependency graph", "[layering]") {
  const fs::path root = layered_tree("forbidden");
  write(root / "low/Bad.cpp", "#include \"high/High.cpp\"\n#include <llvm/IR/Function.h>\n");
  const auto run = check(root);
  CHECK(run.exit_code != 0);
  const std::string lines =
      "low/Bad.cpp: error: low may not include \"high/High.cpp\" (high); it may include low\n"
      "low/Bad.cpp: error: low may not include LLVM headers: #include <llvm/IR/Function.h>\n";
  CHECK(run.output.substr(0, lines.size()) == lines);
  CHECK(run.output.find("forbidden includes: cmake/NfcComponent.cmake declares who may use whom") !=
        std::string::npos);
}

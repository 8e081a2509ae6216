// Running a shell command (or the nfc binary) from a test and capturing
// what it printed; a scratch folder for the files it reads and writes.
#pragma once

#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <string>

namespace nfc::test {

struct ShellRun {
  int exit_code;
  std::string output;  // stdout and stderr
};

inline ShellRun run_shell(const std::string& command) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), out};
}

// The nfc binary of this build, run with `args`.
inline ShellRun run_nfc(const std::string& args) {
  return run_shell(std::string(NFC_EXECUTABLE) + " " + args);
}

// An empty folder TMPDIR/SUITE/NAME for one test's files (emptied first).
inline std::filesystem::path scratch_dir(const std::string& suite, const std::string& name) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / suite / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace nfc::test

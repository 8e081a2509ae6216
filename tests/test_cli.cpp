// The nfc binary end to end, as a user runs it: training writes
// checkpoints that survive SIGKILL and resume to the same parameters, and
// bad data and checkpoints get one clear line and exit 1.
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "runtime/Safetensors.hpp"

namespace fs = std::filesystem;

namespace {

struct Run {
  int exit_code;
  std::string output;  // stdout and stderr
};

Run run(const std::string& args) {
  const std::string cmd = std::string(NFC_EXECUTABLE) + " " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), out};
}

fs::path scratch(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / "nfc_test_cli" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

const std::string kModel = std::string(NFC_SOURCE_DIR) + "/examples/moons.nf";

std::string train_args(const fs::path& out, int steps) {
  return kModel + " --data builtin:moons --data-rows 2000 --precision f32 --steps " +
         std::to_string(steps) + " --batch 64 --eval-every 20 --seed 3 -q --out " + out.string();
}

std::vector<double> params_of(const fs::path& p) {
  std::vector<double> all;
  for (const auto& t : nfc::read_safetensors(p.string()).tensors)
    all.insert(all.end(), t.values.begin(), t.values.end());
  return all;
}

}  // namespace

TEST_CASE("training killed with SIGKILL resumes to the uninterrupted result", "[cli]") {
  const fs::path dir = scratch("resume");
  const int steps = 3000;
  REQUIRE(run("train " + train_args(dir / "whole.safetensors", steps)).exit_code == 0);

  // Start the same run, kill it once a checkpoint exists, resume it.
  const fs::path out = dir / "killed.safetensors";
  const std::string cmd = std::string(NFC_EXECUTABLE) + " train " + train_args(out, steps);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", ("exec " + cmd + " >/dev/null 2>&1").c_str(), nullptr);
    _exit(127);
  }
  const fs::path state = dir / "killed.state.safetensors";
  for (int i = 0; i < 2000 && !fs::exists(state); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  const bool killed = WIFSIGNALED(status);
  if (!killed) WARN("the run finished before the kill: only resume-after-completion was tested");
  // Whatever the moment of the kill, the files on disk load.
  REQUIRE_NOTHROW(params_of(out));
  REQUIRE_NOTHROW(nfc::read_safetensors(state.string()));
  const Run resumed = run("train " + train_args(out, steps) + " --resume");
  INFO(resumed.output);
  REQUIRE(resumed.exit_code == 0);
  CHECK(params_of(out) == params_of(dir / "whole.safetensors"));
}

TEST_CASE("resuming with other settings is refused", "[cli]") {
  const fs::path dir = scratch("resume_settings");
  REQUIRE(run("train " + train_args(dir / "p.safetensors", 40)).exit_code == 0);
  const Run r = run("train " + train_args(dir / "p.safetensors", 40) + " --lr 0.1 --resume");
  CHECK(r.exit_code == 1);
  CHECK(r.output == "nfc: error: --resume: " + (dir / "p.state.safetensors").string() +
                        " was written by a run with different settings (lr); resume with the "
                        "same ones\n");
}

TEST_CASE("bad data and checkpoints get one line and exit 1", "[cli]") {
  const fs::path dir = scratch("bad_inputs");
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir / name, std::ios::binary) << text;
    return (dir / name).string();
  };
  const std::string nan_csv = write("nan.csv", "x,y\n1,2\n3,nan\n");
  const std::string wide_csv = write("wide.csv", "1,2,3\n4,5,6\n");
  const std::string ragged_csv = write("ragged.csv", "1,2\n3\n");
  const std::string word_csv = write("word.csv", "1,2\n3,abc\n");
  const std::string junk = write("junk.safetensors", "not a checkpoint at all");
  std::string huge_rows;
  for (int i = 0; i < 300; ++i) huge_rows += "1e30,1e30\n";
  const std::string huge_csv = write("huge.csv", huge_rows);
  struct Case {
    std::string args, message;
  };
  const Case cases[] = {
      {"train " + kModel + " --data " + nan_csv, nan_csv + ":3:2: NaN"},
      {"train " + kModel + " --data " + wide_csv,
       wide_csv + ": the data have 3 columns, the model has dim 2"},
      {"train " + kModel + " --data " + ragged_csv, ragged_csv + ":2: expected 2 columns, found 1"},
      {"train " + kModel + " --data " + word_csv, word_csv + ":2:2: not a number: 'abc'"},
      {"train " + kModel + " --data " + (dir / "missing.npy").string(),
       "cannot open '" + (dir / "missing.npy").string() + "': No such file or directory"},
      {"train " + kModel + " --precision f32 -q --data " + huge_csv + " --out " +
           (dir / "h.safetensors").string(),
       "training diverged: 10 steps in a row, the last at step 10, had a non-finite loss or "
       "gradient (the learning rate was halved at each); nothing was saved"},
      {"sample " + kModel + " --params " + junk,
       junk + ": header length 7521891404167278446 exceeds the 100 MB limit"},
  };
  for (const Case& c : cases) {
    const Run r = run(c.args);
    INFO(c.args);
    CHECK(r.exit_code == 1);
    CHECK(r.output == "nfc: error: " + c.message + "\n");
  }
}

TEST_CASE("hostile .nf files get a located error, exit 1 and no signal", "[cli]") {
  const fs::path dir = scratch("hostile");
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir / name, std::ios::binary) << text;
    return (dir / name).string();
  };
  std::string garbage;  // 10 MB of bytes that start no token, some not UTF-8
  for (int i = 0; garbage.size() < 10'000'000; ++i) garbage += i % 3 ? "@" : "\xff";
  std::string sum = "flow m(dim = 1) { map { z0 = x0";
  while (sum.size() < 10'000'000) sum += " + x0";
  std::string blocks = "flow m(dim = 2) {\n";
  for (int i = 0; i < 100000; ++i) blocks += "repeat 1 {";
  const std::string files[] = {
      write("garbage.nf", garbage),
      write("long_sum.nf", sum + " } }\n"),
      write("parens.nf", "flow m(dim = 1) { map { z0 = " + std::string(1'000'000, '(')),
      write("minus.nf", "flow m(dim = 1) { map { z0 = " + std::string(1'000'000, '-') + "x0 } }"),
      write("power.nf", "flow m(dim = 1) { map { z0 = x0" + std::string(500'000, '^') + " } }"),
      write("blocks.nf", blocks),
      write("nul.nf", std::string("flow m(dim = 2) {\0\0\0}\n", 22)),
      write("recursion.nf",
            "transform f(x; a) = f(x, a)\nflow m(dim = 2) { coupling f(mask = "
            "alternate) }\n"),
      write("repeats.nf",
            "flow m(dim = 2) { repeat 10000 { repeat 10000 { repeat 10000 { "
            "permute reverse } } } }\n"),
      write("params.nf",
            "flow m(dim = 4096) { coupling affine(mask = alternate) { net = "
            "mlp(hidden = [65536, 65536, 65536]) } }\n"),
      write("nodes.nf",
            "flow m(dim = 2) { repeat 2000 { coupling affine(mask = alternate) { net "
            "= mlp(hidden = [4]) } } }\n"),
      write("long_name.nf", "flow m(dim = 2) { " + std::string(10'000'000, 'q') + " }\n"),
      write("empty.nf", ""),
  };
  for (const std::string& file : files) {
    for (const char* command : {"check ", "compile "}) {
      const Run r = run(command + file);
      INFO(command << file << " printed:\n" << r.output.substr(0, 2000));
      CHECK(r.exit_code == 1);
      // The first line names the file and, except for an empty file, the
      // place; the whole answer is short whatever the input's size.
      CHECK(r.output.rfind(file + ":", 0) == 0);
      CHECK(r.output.find(": error: ") != std::string::npos);
      CHECK(r.output.size() < 40000);
    }
  }
}

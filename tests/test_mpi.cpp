// nfc train under a real mpirun (Open MPI): two processes train the
// parameters one process trains, a killed rank ends the job and names
// itself, a run resumes with another process count, and bad input is one
// line from rank 0 with nothing written. Built when CMake found MPI.
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "runtime/Communicator.hpp"
#include "runtime/io/Checkpoint.hpp"
#include "runtime/io/Fingerprint.hpp"
#include "runtime/io/Npy.hpp"
#include "runtime/io/Safetensors.hpp"
#include "tests/Shell.hpp"
#include "tests/TestSupport.hpp"
#include "tools/Cli.hpp"
#include "tools/Group.hpp"

namespace fs = std::filesystem;

// What a launcher's environment says (the refusal of a binary without MPI
// and the joining of one with it start here).
TEST_CASE("launcher_size and launcher_rank read mpirun's, PMI's and srun's variables", "[mpi]") {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS"})
    unsetenv(name);
  CHECK(nfc::launcher_size() == 1);
  setenv("SLURM_STEP_NUM_TASKS", "4", 1);
  CHECK(nfc::launcher_size() == 4);
  setenv("OMPI_COMM_WORLD_SIZE", "3", 1);  // mpirun's count first
  CHECK(nfc::launcher_size() == 3);
  setenv("OMPI_COMM_WORLD_SIZE", "3x", 1);  // not a count: the next one
  CHECK(nfc::launcher_size() == 4);
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS"})
    unsetenv(name);
  CHECK(nfc::launcher_size() == 1);
  CHECK(nfc::launcher_rank() == 0);
  setenv("SLURM_PROCID", "5", 1);
  CHECK(nfc::launcher_rank() == 5);
  setenv("OMPI_COMM_WORLD_RANK", "2", 1);
  CHECK(nfc::launcher_rank() == 2);
  unsetenv("OMPI_COMM_WORLD_RANK");
  unsetenv("SLURM_PROCID");
  CHECK(nfc::launcher_rank() == 0);
}

// tools/Group.cpp as built without MPI (tests/CMakeLists.txt): started by a
// launcher as one of several processes, rank 0 says why it cannot run and
// the other ranks exit quietly.
TEST_CASE("an nfc without MPI refuses to run as one of several processes", "[mpi]") {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "PMI_SIZE",
                           "SLURM_STEP_NUM_TASKS", "PMI_RANK", "SLURM_PROCID"})
    unsetenv(name);
  int argc = 1;
  char name[] = "nfc";
  char* args[] = {name, nullptr};
  char** argv = args;
  CHECK(nfc::cli::join_launched_group(&argc, &argv) == nullptr);  // no launcher
  setenv("OMPI_COMM_WORLD_SIZE", "3", 1);
  setenv("OMPI_COMM_WORLD_RANK", "0", 1);
  try {
    nfc::cli::join_launched_group(&argc, &argv);
    FAIL("no refusal");
  } catch (const nfc::cli::UserError& e) {
    CHECK(std::string(e.what()) ==
          "this nfc was built without MPI and cannot run as one of 3 processes; install "
          "libopenmpi-dev and rebuild (cmake -DNFC_MPI=ON), or run it as one process");
  }
  setenv("OMPI_COMM_WORLD_RANK", "2", 1);
  CHECK_THROWS_AS(nfc::cli::join_launched_group(&argc, &argv), nfc::cli::Failure);
  unsetenv("OMPI_COMM_WORLD_SIZE");
  unsetenv("OMPI_COMM_WORLD_RANK");
}

TEST_CASE("shards are contiguous, cover every row once and differ by at most one", "[mpi]") {
  for (int64_t n : {1, 2, 7, 100, 1001})
    for (int size : {1, 2, 3, 8}) {
      int64_t next = 0;
      for (int r = 0; r < size; ++r) {
        const nfc::Shard s = nfc::shard_of(n, r, size);
        CHECK(s.first == next);
        CHECK(s.end - s.first >= n / size);
        CHECK(s.end - s.first <= n / size + 1);
        next = s.end;
      }
      CHECK(next == n);
    }
}

// What ranks compare to know they read the same data, without reading all
// of it: the size and sampled pieces (the first and last 4 KiB among them).
TEST_CASE("a file's fingerprint is its size and a hash of sampled pieces", "[mpi]") {
  const fs::path dir = nfc::test::scratch_dir("nfc_test_mpi", "fingerprint");
  const fs::path small = dir / "small.npy", big = dir / "big.bin";
  std::vector<double> values(200, 0.25);
  nfc::write_npy(small.string(), {100, 2}, values.data(), nfc::TensorDType::f64);
  const std::string fingerprint = nfc::file_fingerprint(small.string());
  CHECK(fingerprint.starts_with("1728 bytes, sampled hash "));
  CHECK(fingerprint.size() == std::string("1728 bytes, sampled hash ").size() + 16);
  auto write = [&](size_t size, size_t changed_byte) {
    std::string bytes(size, 'x');
    if (changed_byte < size) bytes[changed_byte] = 'y';
    std::ofstream(big, std::ios::binary) << bytes;
    return nfc::file_fingerprint(big.string());
  };
  const size_t n = 1 << 22;  // 4 MiB: sampled, not hashed whole
  const std::string same = write(n, n);
  CHECK(write(n, 10) != same);            // in the first piece
  CHECK(write(n, n - 10) != same);        // in the last
  CHECK(write(n - 1, n) != same);         // another size
  CHECK(write(n, n / 2 + 5000) == same);  // between the pieces: unnoticed, as documented
  CHECK(write(n, n) == same);
}

#ifdef NFC_MPIEXEC

namespace {

using Run = nfc::test::ShellRun;

fs::path scratch(const std::string& name) {
  return nfc::test::scratch_dir("nfc_test_mpi", name);
}

const std::string kNfc = NFC_EXECUTABLE;
const std::string kModel = std::string(NFC_SOURCE_DIR) + "/examples/moons.nf";

// `mpirun -np n` of `command` (as root in CI; two cores may host more ranks).
std::string mpirun(int n) {
  // Open MPI keeps Unix sockets in a session folder under TMPDIR, and a
  // socket's path has at most 107 bytes: not under the build's test TMPDIR.
  return fmt::format("TMPDIR=/tmp {} --allow-run-as-root --oversubscribe -np {} ", NFC_MPIEXEC, n);
}

std::string train_args(const fs::path& out, int steps, const std::string& extra = "",
                       const std::string& data = "builtin:moons --data-rows 3000") {
  return fmt::format(
      "train {} --data {} --steps {} --batch 64 --eval-every 25 "
      "--schedule constant --seed 5 -q --out {} {}",
      kModel, data, steps, out.string(), extra);
}

}  // namespace

// The batch at each step is a pure function of (seed, step), whatever the
// process count; the gradients differ only in the order of their f64 sum,
// so 50 steps of Adam agree far below 1e-10 (measured: ~2e-13).
TEST_CASE("mpirun -np 2 trains the parameters one process trains", "[mpi]") {
  const fs::path dir = scratch("exact");
  // A .npy file (each rank maps its shard) with --standardize (statistics
  // summed over the group), a CSV file (each rank parses its lines), and a
  // builtin data set.
  REQUIRE(nfc::test::run_nfc(
              fmt::format("sample {} -n 2001 --seed 3 -o {}", kModel, (dir / "data.npy").string()))
              .exit_code == 0);
  REQUIRE(nfc::test::run_nfc(
              fmt::format("sample {} -n 1501 --seed 4 -o {}", kModel, (dir / "data.csv").string()))
              .exit_code == 0);
  for (const std::string& data : {std::string("builtin:moons --data-rows 3000"),
                                  (dir / "data.npy").string(), (dir / "data.csv").string()}) {
    INFO(data);
    const std::string extra =
        fmt::format("--precision f64 --val-frac 0.2 {}",
                    data.ends_with(".npy") ? "--standardize --threads 2" : "");
    const Run one = nfc::test::run_nfc(train_args(dir / "one.safetensors", 50, extra, data));
    REQUIRE(one.exit_code == 0);
    const Run two = nfc::test::run_shell(mpirun(2) + kNfc + " " +
                                         train_args(dir / "two.safetensors", 50, extra, data));
    INFO(two.output);
    REQUIRE(two.exit_code == 0);
    // Rank 0 alone reports, with the whole run's numbers.
    CHECK(nfc::test::occurrences(two.output, "trained moons for 50 steps") == 1);
    const auto line = [](const std::string& out) {
      const size_t at = out.find("best val NLL");
      return out.substr(at, out.find('\n', at) - at);
    };
    CHECK(line(two.output) == line(one.output));
    CHECK(nfc::test::max_relative_difference(nfc::test::params_of(dir / "one.safetensors"),
                                             nfc::test::params_of(dir / "two.safetensors")) <
          1e-10);
  }
}

// Reverse-KL training: each rank draws its share of the batch's noise.
TEST_CASE("mpirun -np 2 fits a target as one process does", "[mpi]") {
  const fs::path dir = scratch("variational");
  const std::string model = std::string(NFC_SOURCE_DIR) + "/examples/variational/banana.nf";
  auto args = [&](const std::string& out) {
    return fmt::format(
        "train {} --target banana --steps 50 --batch 64 --eval-every 25 --eval-samples 512 "
        "--seed 2 -q --out {}",
        model, (dir / out).string());
  };
  REQUIRE(nfc::test::run_nfc(args("one.safetensors")).exit_code == 0);
  const Run two = nfc::test::run_shell(mpirun(2) + kNfc + " " + args("two.safetensors"));
  INFO(two.output);
  REQUIRE(two.exit_code == 0);
  CHECK(nfc::test::max_relative_difference(nfc::test::params_of(dir / "one.safetensors"),
                                           nfc::test::params_of(dir / "two.safetensors")) < 1e-10);
}

// A rank that dies takes the job down at once (mpirun notices and names
// it); the checkpoint pair on disk is whole, and a resume with another
// process count ends where an uninterrupted run with that count ends.
TEST_CASE("a killed rank ends the job; the run resumes with another process count", "[mpi]") {
  const fs::path dir = scratch("kill");
  const fs::path out = dir / "p.safetensors", log = dir / "log.txt";
  const int kSteps = 3000;  // ~1 s for two ranks here: the kill comes at ~step 150
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    setpgid(0, 0);  // a group of its own, which the test ends whatever happens
    const std::string cmd = mpirun(2) + kNfc + " " + train_args(out, kSteps);
    execl("/bin/sh", "sh", "-c", ("exec " + cmd + " >" + log.string() + " 2>&1").c_str(), nullptr);
    _exit(127);
  }
  struct EndGroup {
    pid_t pid;
    ~EndGroup() { kill(-pid, SIGKILL); }
  } const end_group{pid};
  // Once the first checkpoint pair exists, kill the rank-1 process.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
  while (!fs::exists(nfc::state_path(out.string())) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  // The nfc processes (not the shells or mpirun) of this run; rank 1 by its
  // environment.
  const Run ranks = nfc::test::run_shell("pgrep -f '^" + kNfc + " train .*" + out.string() + "'");
  pid_t rank1 = 0;
  int found = 0;
  for (size_t at = 0; at < ranks.output.size();) {
    const size_t end = ranks.output.find('\n', at);
    const std::string pid = ranks.output.substr(at, end - at);
    at = end + 1;
    std::ifstream env("/proc/" + pid + "/environ", std::ios::binary);
    const std::string vars{std::istreambuf_iterator<char>(env), std::istreambuf_iterator<char>()};
    ++found;
    if (vars.find(std::string("OMPI_COMM_WORLD_RANK=1\0", 23)) != std::string::npos)
      rank1 = pid_t(std::stol(pid));
  }
  INFO(ranks.output);
  int status = 0;
  if (rank1 == 0) {  // a fast machine finished the run first
    waitpid(pid, &status, 0);
    REQUIRE((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    WARN("the run finished before the kill: only resuming was tested");
  } else {
    REQUIRE(found == 2);
    REQUIRE(kill(rank1, SIGKILL) == 0);
    const auto killed = std::chrono::steady_clock::now();
    waitpid(pid, &status, 0);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
    std::ifstream in(log);
    const std::string printed{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    INFO(printed);
    CHECK(seconds < 10);
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) != 0));
    CHECK(printed.find("process rank 1 with PID") != std::string::npos);
    CHECK(printed.find("exited on signal 9 (Killed)") != std::string::npos);
  }

  // The last checkpoint resumes with one process; the checkpoint of an
  // uninterrupted 2-process run at step 75 resumes, with one process, to
  // the parameters of one process all along.
  const auto state = nfc::read_safetensors(nfc::state_path(out.string()));
  REQUIRE_NOTHROW(nfc::test::params_of(out));
  const Run resumed = nfc::test::run_nfc(train_args(out, kSteps) + " --resume");
  INFO(resumed.output);
  CHECK(resumed.exit_code == 0);

  const fs::path whole = dir / "whole.safetensors", split = dir / "split.safetensors";
  REQUIRE(nfc::test::run_nfc(train_args(whole, 150)).exit_code == 0);
  REQUIRE(nfc::test::run_shell(mpirun(2) + kNfc + " " + train_args(split, 75)).exit_code == 0);
  const Run finished = nfc::test::run_nfc(train_args(split, 150) + " --resume");
  INFO(finished.output);
  REQUIRE(finished.exit_code == 0);
  CHECK(nfc::test::max_relative_difference(nfc::test::params_of(whole),
                                           nfc::test::params_of(split)) < 1e-10);
  // And the other way: one process to step 75, two from there.
  const fs::path back = dir / "back.safetensors";
  REQUIRE(nfc::test::run_nfc(train_args(back, 75)).exit_code == 0);
  REQUIRE(nfc::test::run_shell(mpirun(2) + kNfc + " " + train_args(back, 150) + " --resume")
              .exit_code == 0);
  CHECK(nfc::test::max_relative_difference(nfc::test::params_of(whole),
                                           nfc::test::params_of(back)) < 1e-10);
}

// Each is refused before any work, by one line from rank 0 (mpirun's own
// report of the exit code follows it), and every rank exits 1.
TEST_CASE("bad input under mpirun is one line from rank 0, and nothing is written", "[mpi]") {
  const fs::path dir = scratch("bad");
  const fs::path out = dir / "p.safetensors";
  auto refused = [&](const Run& r, const std::string& line, int code = 1) {
    INFO(r.output);
    INFO("expected: " << line);
    CHECK(r.exit_code == code);
    // (Open MPI may print warnings of its own first on some machines.)
    CHECK(r.output.find(line + "\n") != std::string::npos);
    CHECK(nfc::test::occurrences(r.output, "nfc: error:") == 1);
    CHECK(!fs::exists(out));
    CHECK(!fs::exists(nfc::state_path(out.string())));
  };
  refused(nfc::test::run_shell(mpirun(3) + kNfc + " " +
                               train_args(out, 5, "", "builtin:moons --data-rows 2")),
          "nfc: error: training data: 2 rows for 3 processes; each needs one at least");
  // Rank 1 alone gets another learning rate, or another file.
  const std::string rank1 = "if [ \"$OMPI_COMM_WORLD_RANK\" = 1 ]; then ";
  refused(nfc::test::run_shell(mpirun(2) + "sh -c '" + rank1 + "exec " + kNfc + " " +
                               train_args(out, 5, "--lr 0.01") + "; else exec " + kNfc + " " +
                               train_args(out, 5) + "; fi'"),
          "nfc: error: rank 1 was started with different options than rank 0 (lr); start every "
          "rank with the same command");
  std::vector<double> values(200, 0.25);
  nfc::write_npy((dir / "a.npy").string(), {100, 2}, values.data(), nfc::TensorDType::f64);
  values[150] = 0.5;
  nfc::write_npy((dir / "b.npy").string(), {100, 2}, values.data(), nfc::TensorDType::f64);
  // The same name on every rank, another file behind it on rank 1's host.
  fs::create_directories(dir / "rank0");
  fs::create_directories(dir / "rank1");
  fs::copy_file(dir / "a.npy", dir / "rank0" / "x.npy");
  fs::copy_file(dir / "b.npy", dir / "rank1" / "x.npy");
  const Run different = nfc::test::run_shell(mpirun(2) + "sh -c 'cd " + dir.string() +
                                             "/rank$OMPI_COMM_WORLD_RANK && exec " + kNfc + " " +
                                             train_args(out, 5, "", "x.npy") + "'");
  refused(different,
          fmt::format("nfc: error: rank 1 reads different data than rank 0: x.npy is \"{}\" "
                      "there, \"{}\" here; every rank must read the same file",
                      nfc::file_fingerprint((dir / "b.npy").string()),
                      nfc::file_fingerprint((dir / "a.npy").string())));
  // NaN in rank 1's shard: found there (rank 0 never reads those rows),
  // said by rank 0, with the file's row.
  std::vector<double> rows(200, 0.5);
  rows[2 * 73 + 1] = std::nan("");
  nfc::write_npy((dir / "nan.npy").string(), {100, 2}, rows.data(), nfc::TensorDType::f64);
  refused(nfc::test::run_shell(mpirun(2) + kNfc + " " +
                               train_args(out, 5, "", (dir / "nan.npy").string())),
          "nfc: error: rank 1: " + (dir / "nan.npy").string() + ": row 73, column 1: NaN");
  // Other subcommands run as one process.
  refused(nfc::test::run_shell(mpirun(2) + kNfc + " sample " + kModel + " -n 3"),
          "nfc: error: only 'nfc train' runs as a group of processes (2 here); run 'nfc sample' "
          "as one process",
          2);
}

#endif

// The nfc binary end to end, as a user runs it: training writes
// checkpoints that survive SIGKILL and resume to the same parameters, and
// bad data and checkpoints get one clear line and exit 1; a conditional
// flow trains, samples with a context and evaluates.
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "runtime/io/Checkpoint.hpp"
#include "runtime/io/Dataset.hpp"
#include "runtime/io/Safetensors.hpp"
#include "tests/Shell.hpp"
#include "tests/TestSupport.hpp"

namespace fs = std::filesystem;

namespace {

using nfc::test::params_of;
using Run = nfc::test::ShellRun;

Run run(const std::string& args) {
  return nfc::test::run_nfc(args);
}

fs::path scratch(const std::string& name) {
  return nfc::test::scratch_dir("nfc_test_cli", name);
}

const std::string kModel = std::string(NFC_SOURCE_DIR) + "/examples/moons.nf";

std::string train_args(const fs::path& out, int steps) {
  return kModel + " --data builtin:moons --data-rows 2000 --precision f32 --steps " +
         std::to_string(steps) + " --batch 64 --eval-every 20 --seed 3 -q --out " + out.string();
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

// Starts `nfc train`, sends `signal` once the first checkpoint pair exists
// (however slow the build: a sanitizer build compiles for seconds before
// step 1), and returns the wait status; the run's output goes to `log`.
int train_until_signal(const std::string& args, const fs::path& out, const fs::path& log,
                       int signal) {
  const std::string cmd = std::string(NFC_EXECUTABLE) + " train " + args;
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", ("exec " + cmd + " >" + log.string() + " 2>&1").c_str(), nullptr);
    _exit(127);
  }
  const fs::path state = nfc::state_path(out.string());
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
  while (!(fs::exists(state) && fs::exists(out)) && std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid, &status, WNOHANG) == pid) return status;  // ended on its own
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  kill(pid, signal);
  waitpid(pid, &status, 0);
  return status;
}

// SIGKILL leaves the last checkpoint pair; SIGINT and SIGTERM save one at
// the step they arrive and say so. Either way --resume ends bit-for-bit
// where the uninterrupted run ends, and temporaries of killed runs are
// cleaned up.
TEST_CASE("training stopped by a signal resumes to the uninterrupted result", "[cli]") {
  const fs::path dir = scratch("resume");
  const int steps = 3000;
  REQUIRE(run("train " + train_args(dir / "whole.safetensors", steps)).exit_code == 0);
  for (const int signal : {SIGKILL, SIGINT, SIGTERM}) {
    INFO("signal " << signal);
    const fs::path out = dir / ("stopped" + std::to_string(signal) + ".safetensors");
    const fs::path log = dir / "log.txt";
    const int status = train_until_signal(train_args(out, steps), out, log, signal);
    const std::string printed = read_text(log);
    if (signal == SIGKILL) {
      if (!WIFSIGNALED(status))
        WARN("the run finished before the kill: only resume-after-completion was tested");
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 128 + signal) {
      CHECK(printed.find(fmt::format(
                "nfc: {} at step ", signal == SIGINT ? "SIGINT" : "SIGTERM")) != std::string::npos);
      CHECK(
          printed.ends_with(" and its training state are saved; continue with the same command "
                            "and --resume\n"));
    } else {
      INFO(printed);
      CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));  // finished before the signal
    }
    // Whatever the moment, the files on disk load; the lock file is gone
    // unless the run was killed (its flock went with it: the resume below
    // takes it), and a killed writer's temporary is removed by the next run.
    REQUIRE_NOTHROW(params_of(out));
    REQUIRE_NOTHROW(nfc::read_safetensors(nfc::state_path(out.string())));
    if (signal != SIGKILL) CHECK(!fs::exists(out.string() + ".lock"));
    const fs::path stale = out.string() + ".tmp.4194000";
    std::ofstream(stale) << "half a checkpoint";
    const Run resumed = run("train " + train_args(out, steps) + " --resume");
    INFO(resumed.output);
    REQUIRE(resumed.exit_code == 0);
    CHECK(params_of(out) == params_of(dir / "whole.safetensors"));
    CHECK(!fs::exists(stale));
  }
}

// One writer per --out: a second run is refused at once, naming the first;
// an --out that cannot be written fails before any work.
TEST_CASE("outputs are claimed before any work", "[cli]") {
  const fs::path dir = scratch("claim");
  const fs::path out = dir / "p.safetensors", log = dir / "log.txt";
  const std::string first = std::string(NFC_EXECUTABLE) + " train " + train_args(out, 1000000);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", ("exec " + first + " >/dev/null 2>&1").c_str(), nullptr);
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
  while (!fs::exists(out.string() + ".lock") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // its pid is written
  const Run second = run("train " + train_args(out, 40));
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(second.exit_code == 1);
  CHECK(second.output == fmt::format("nfc: error: '{}' is in use by another nfc train (pid {})\n",
                                     out.string(), pid));
  // The lock dies with its holder: the next run goes ahead.
  CHECK(run("train " + train_args(out, 20)).exit_code == 0);

  const fs::path nowhere = dir / "missing" / "p.safetensors";
  const Run missing = run("train " + train_args(nowhere, 20));
  CHECK(missing.exit_code == 1);
  CHECK(missing.output ==
        "nfc: error: cannot write '" + nowhere.string() + "': No such file or directory\n");
  const Run bad_json = run("train " + train_args(out, 20) + " --json " + nowhere.string());
  CHECK(bad_json.exit_code == 1);
  CHECK(bad_json.output ==
        "nfc: error: cannot write '" + nowhere.string() + "': No such file or directory\n");
}

// With --standardize the trainer sees u = (x - mean) / scale; what it
// reports must be -log p(x), as `nfc eval` reports it (the two differed by
// sum log scale, here about 13.8 nats).
TEST_CASE("training with --standardize reports NLL in the data's units", "[cli]") {
  const fs::path dir = scratch("standardize_units");
  std::string csv = "a,b\n";
  for (int i = 0; i < 3000; ++i) {  // scales of about 1000 in both columns
    const double t = std::sin(i * 12.9898) * 43758.5453, u = t - std::floor(t) - 0.5;
    const double v = std::cos(i * 78.233);
    csv += fmt::format("{},{}\n", 2000 * u + 5, 1000 * (4 * u * u + 0.3 * v));
  }
  std::ofstream(dir / "data.csv") << csv;
  const Run train = run("train " + kModel + " --data " + (dir / "data.csv").string() +
                        " --standardize --steps 600 --eval-every 200 --val-frac 0 -q --out " +
                        (dir / "p.safetensors").string() + " --json " + (dir / "m.json").string());
  REQUIRE(train.exit_code == 0);
  const Run eval = run("eval " + kModel + " --data " + (dir / "data.csv").string() + " --params " +
                       (dir / "p.safetensors").string());
  REQUIRE(eval.exit_code == 0);
  const double eval_nll = std::stod(eval.output.substr(eval.output.find("mean NLL ") + 9));
  std::ifstream json_file(dir / "m.json");
  const nlohmann::json metrics = nlohmann::json::parse(json_file);
  const double last_train = metrics["history"].back()["train_nll"];
  INFO(train.output << eval.output);
  // The last record averages the final 200 steps, whose learning rate the
  // cosine schedule has nearly zeroed: within 0.1 nats of the end's NLL.
  CHECK(std::abs(last_train - eval_nll) < 0.1);
  CHECK(eval_nll > 10);  // in data units: far from the ~2.8 of standardised data
  CHECK(train.output.find(fmt::format("final train NLL {:.4f}", last_train)) != std::string::npos);
}

// A finished run can be continued for more steps, or a new run started
// from its parameters; small data sets validate often and stop early.
TEST_CASE("continuing a finished run, starting from trained parameters", "[cli]") {
  const fs::path dir = scratch("continue");
  const fs::path out = dir / "p.safetensors";
  REQUIRE(run("train " + train_args(out, 40)).exit_code == 0);
  const Run more = run("train " + train_args(out, 80) + " --resume");
  INFO(more.output);
  REQUIRE(more.exit_code == 0);
  CHECK(more.output.starts_with("nfc: note: continuing the run of " +
                                nfc::state_path(out.string()) +
                                " to 80 steps\nresuming from step 40"));
  const auto state = nlohmann::json::parse(
      nfc::read_safetensors(nfc::state_path(out.string())).metadata.at("nfc.train_state"));
  CHECK(state.at("step") == 80);
  CHECK(state.at("history").size() == 4);  // records at 20, 40, 60, 80
  const Run fewer = run("train " + train_args(out, 60) + " --resume");
  CHECK(fewer.exit_code == 1);
  CHECK(fewer.output == "nfc: error: --resume: " + nfc::state_path(out.string()) +
                            " is at step 80 already; --steps must be larger to continue it\n");

  // --init-from: a fresh run whose first step starts at the trained
  // parameters (Adam's first step moves each by at most lr = 1e-4).
  const fs::path next = dir / "next.safetensors";
  REQUIRE(
      run("train " + train_args(next, 1) + " --lr 1e-4 --val-frac 0 --init-from " + out.string())
          .exit_code == 0);
  const std::vector<double> a = params_of(out), b = params_of(next);
  REQUIRE(a.size() == b.size());
  double largest = 0;
  for (size_t i = 0; i < a.size(); ++i) largest = std::max(largest, std::abs(a[i] - b[i]));
  CHECK(largest > 0);
  CHECK(largest <= 1e-4 * 1.001);
  const Run standardized = run("train " + train_args(dir / "s.safetensors", 1) +
                               " --standardize --init-from " + out.string());
  CHECK(standardized.exit_code == 1);
  CHECK(standardized.output == "nfc: error: --init-from: " + out.string() +
                                   " was trained without --standardize; train it without too\n");
}

TEST_CASE("resuming with other settings is refused", "[cli]") {
  const fs::path dir = scratch("resume_settings");
  REQUIRE(run("train " + train_args(dir / "p.safetensors", 40)).exit_code == 0);
  const Run r = run("train " + train_args(dir / "p.safetensors", 40) + " --lr 0.1 --resume");
  CHECK(r.exit_code == 1);
  CHECK(r.output == "nfc: error: --resume: " + (dir / "p.state.safetensors").string() +
                        " was written by a run with different settings (lr); resume with the "
                        "same ones\n");
  // Another thread count rounds the summed gradients otherwise.
  const Run t = run("train " + train_args(dir / "p.safetensors", 40) + " --threads 2 --resume");
  CHECK(t.exit_code == 1);
  CHECK(t.output == "nfc: error: --resume: " + (dir / "p.state.safetensors").string() +
                        " was written by a run with different settings (threads); resume with "
                        "the same ones\n");
}

// A state file is data from disk: every field that could not come from this
// run is refused by name, before any step (step = -5 used to segfault).
TEST_CASE("resuming from a corrupt training state names the field", "[cli]") {
  const fs::path dir = scratch("resume_state");
  const fs::path out = dir / "p.safetensors", state_file = dir / "p.state.safetensors";
  REQUIRE(run("train " + train_args(out, 40)).exit_code == 0);  // records at 20 and 40
  const nfc::SafetensorsFile good = nfc::read_safetensors(state_file.string());
  const nlohmann::json state = nlohmann::json::parse(good.metadata.at("nfc.train_state"));
  REQUIRE(state.at("step") == 40);
  struct Case {
    const char* field;
    nlohmann::json value;
    std::string message;
  };
  const std::string at = "--resume: " + state_file.string() + ": ";
  const Case cases[] = {
      {"step", -5, at + "field 'step' is -5, not in 0..40"},
      {"step", -1, at + "field 'step' is -1, not in 0..40"},
      {"step", 41, at + "field 'step' is 41, not in 0..40"},
      {"step", 1e30,
       state_file.string() + ": training state field 'step' is missing or not of "
                             "its type"},
      {"step", "40",
       state_file.string() + ": training state field 'step' is missing or not of "
                             "its type"},
      {"adam_t", 39, at + "field 'adam_t' is 39, not in 40..40"},
      {"best_step", 0, at + "field 'best_step' is 0, not in 1..40"},
      {"best_step", 99, at + "field 'best_step' is 99, not in 1..40"},
      {"evals_since_best", -3, at + "field 'evals_since_best' is -3, not in 0..2"},
      {"skipped_steps", 50, at + "field 'skipped_steps' is 50, not in 0..40"},
      {"running_count", 1000, at + "field 'running_count' is 1000, not in 0..20"},
      {"history", nlohmann::json::array({{20, 1.0, 1.0, 1e-3}, {10, 1.0, 1.0, 1e-3}}),
       at + "field 'history' record 1 is at step 10, after 20 and by 40 expected"},
      {"history", nlohmann::json::array({{20, 1.0, 1.0, -1}}),
       at + "field 'history' record 0 has a train NLL or lr out of range"},
      {"history", 7,
       state_file.string() + ": training state field 'history' is missing or not "
                             "of its type"},
      {"initial_loss", "2.5",
       state_file.string() + ": training state field 'initial_loss' is "
                             "missing or not of its type"},
      {"lr_scale", 0.5, at + "field 'lr_scale' is 0.5, but 0 skipped steps make it 2^-0"},
      {"best_val", nullptr, at + "field 'best_val' is not finite at a best step"},
  };
  for (const Case& c : cases) {
    nlohmann::json bad = state;
    bad[c.field] = c.value;
    auto meta = good.metadata;
    meta["nfc.train_state"] = bad.dump();
    nfc::write_safetensors(state_file.string(), good.tensors, good.dtype, meta);
    const Run r = run("train " + train_args(out, 40) + " --resume");
    INFO(c.field << " = " << c.value.dump());
    CHECK(r.exit_code == 1);
    CHECK(r.output == "nfc: error: " + c.message + "\n");
  }
  // Non-finite parameters in the state are refused too.
  auto tensors = good.tensors;
  tensors[0].values[3] = NAN;
  nfc::write_safetensors(state_file.string(), tensors, good.dtype, good.metadata);
  const Run nan_params = run("train " + train_args(out, 40) + " --resume");
  CHECK(nan_params.exit_code == 1);
  CHECK(nan_params.output == "nfc: error: " + at + "field 'params' has a non-finite value at 3\n");
}

// Each numeric training flag is checked against the bound the Trainer
// enforces (train_bounds): NaN, infinities and out-of-range values are usage
// errors before any work (--steps -5 and --lr nan used to run).
TEST_CASE("out-of-range training flags are usage errors", "[cli]") {
  const fs::path dir = scratch("train_flags");
  const std::pair<const char*, const char*> cases[] = {
      {"--steps -5", "--steps: -5 is not an integer of at least 1"},
      {"--epochs 0", "--epochs: 0 is not an integer of at least 1"},
      {"--batch 0", "--batch: 0 is not an integer of at least 1"},
      {"--lr nan", "--lr: nan is not a finite number above 0"},
      {"--lr -1", "--lr: -1 is not a finite number above 0"},
      {"--lr 0", "--lr: 0 is not a finite number above 0"},
      {"--val-frac nan", "--val-frac: nan is not a number in [0, 0.9]"},
      {"--val-frac 0.95", "--val-frac: 0.95 is not a number in [0, 0.9]"},
      {"--eval-every 0", "--eval-every: 0 is not an integer of at least 1"},
      {"--patience -1", "--patience: -1 is not an integer of at least 0"},
      {"--max-bad-steps 0", "--max-bad-steps: 0 is not an integer of at least 1"},
      {"--weight-decay inf", "--weight-decay: inf is not a finite number of at least 0"},
      {"--warmup -3", "--warmup: -3 is not an integer of at least 0"},
      {"--clip -inf", "--clip: -inf is not a finite number of at least 0"},
  };
  for (const auto& [flag, message] : cases) {
    const Run r = run("train " + kModel + " --data builtin:moons --out " +
                      (dir / "p.safetensors").string() + " " + flag);
    INFO(flag);
    CHECK(r.exit_code == 2);
    CHECK(r.output == std::string(message) + "\nRun with --help for more information.\n");
  }
  CHECK(!fs::exists(dir / "p.safetensors"));
}

// Finite parameters within the checkpoint bounds can still overflow a
// float32 flow: samples that are NaN are refused (the mean log p(x) printed
// "-nan" with exit 0), and -n 0 is a usage error like every other.
TEST_CASE("sampling that overflows is an error, -n 0 a usage error", "[cli]") {
  const fs::path dir = scratch("sample_overflow");
  const fs::path p = dir / "p.safetensors", big = dir / "big.safetensors";
  REQUIRE(run("train " + train_args(p, 20)).exit_code == 0);
  nfc::SafetensorsFile f = nfc::read_safetensors(p.string());
  for (auto& t : f.tensors)
    for (double& v : t.values) v = 1e25;
  nfc::write_safetensors(big.string(), f.tensors, nfc::TensorDType::f64, f.metadata);
  const Run f32 = run("sample " + kModel + " --precision f32 -n 5 --params " + big.string() +
                      " -o " + (dir / "s.csv").string());
  CHECK(f32.exit_code == 1);
  CHECK(f32.output ==
        "nfc: error: 5 of 5 samples have a non-finite value or log p(x): the flow overflows at "
        "these parameters in f32 (try --precision f64), or has no inverse at those draws; nothing "
        "was written\n");
  CHECK(!fs::exists(dir / "s.csv"));
  const Run none = run("sample " + kModel + " -n 0");
  CHECK(none.exit_code == 2);
  CHECK(none.output == "-n: must be at least 1\nRun with --help for more information.\n");
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
  // Finite steps (5 < --max-bad-steps) that end with an infinite validation
  // NLL exited 0.
  std::string far_rows;
  for (int i = 0; i < 200; ++i) far_rows += fmt::format("{},{}\n", 1e300 + i * 1e298, -1e300);
  const std::string far_csv = write("far.csv", far_rows);
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
      {"train " + kModel +
           " --precision f32 -q --eval-every 10 --patience 20 --val-frac 0.3 --data " + huge_csv +
           " --out " + (dir / "h.safetensors").string(),
       "training diverged: 10 steps in a row, the last at step 10, had a non-finite loss or "
       "gradient (the learning rate was halved at each); nothing was saved"},
      {"train " + kModel + " -q --steps 5 --eval-every 10 --patience 20 --val-frac 0.3 --data " +
           far_csv + " --out " + (dir / "far.safetensors").string(),
       "training diverged: the last validation NLL is inf (try a smaller --lr, --clip or "
       "--standardize); " +
           (dir / "far.safetensors").string() + " holds the parameters of step 5"},
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

// The summary names a conditional base and the context's network, with
// their parameter counts: 1 x 16 + 16 + 16 x 4 + 4 = 100 for the embedding,
// 4 x 16 + 16 + 16 x 4 + 4 = 148 for the base's network (mean, log-scale).
TEST_CASE("nfc compile lists the context's network and a conditional base", "[conditional][cli]") {
  const Run r =
      run("compile " + std::string(NFC_SOURCE_DIR) + "/tests/models/conditional_networks.nf");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(
      r.output.starts_with("flow conditional_networks (dim 2, base diag_normal(net), f64)\n"
                           "  context    context_net mlp                     100 params\n"));
  CHECK(r.output.find("  layer   5  base diag_normal(net)               148 params\n") !=
        std::string::npos);
}

// Standardising a conditional flow's rows scales x and the context apart,
// each column by its own statistics: data whose x is 100 x + 7 and whose
// context is 50 c - 3 standardise to the same rows as (x, c), so the same
// flow is learned, and every command answers in the data's units.
TEST_CASE("a conditional flow trained with --standardize answers in the data's units",
          "[conditional][cli]") {
  const fs::path dir = scratch("conditional_standardize");
  const std::string model = std::string(NFC_SOURCE_DIR) + "/examples/conditional.nf";
  const nfc::Dataset rows = nfc::load_dataset("builtin:cond_gaussians", 3, 1500);
  std::string plain = "x0,x1,c\n", scaled = plain;
  for (int64_t r = 0; r < rows.rows; ++r) {
    const double x0 = rows.at(r, 0), x1 = rows.at(r, 1), c = rows.at(r, 2);
    plain += fmt::format("{:.17g},{:.17g},{:.17g}\n", x0, x1, c);
    scaled += fmt::format("{:.17g},{:.17g},{:.17g}\n", 100 * x0 + 7, 100 * x1 + 7, 50 * c - 3);
  }
  std::ofstream(dir / "plain.csv") << plain;
  std::ofstream(dir / "scaled.csv") << scaled;
  auto nll = [&](const std::string& name) {
    const std::string data = (dir / (name + ".csv")).string();
    const std::string params = (dir / (name + ".safetensors")).string();
    const Run trained = run("train " + model + " --data " + data +
                            " --standardize --steps 150 --eval-every 50 -q --out " + params);
    INFO(trained.output);
    REQUIRE(trained.exit_code == 0);
    const Run eval = run("eval " + model + " --data " + data + " --params " + params);
    INFO(eval.output);
    REQUIRE(eval.exit_code == 0);
    return std::stod(eval.output.substr(eval.output.find("mean NLL ") + 9));
  };
  // log p(100 x + 7 | 50 c - 3) = log p(x | c) - 2 log 100: the context's
  // scale is no part of the density.
  CHECK(nll("scaled") - nll("plain") == Approx(2 * std::log(100.0)).margin(1e-6));
  // Samples at the context 0.5, and at its image 22: the same points, scaled.
  auto samples = [&](const std::string& name, const std::string& context) {
    const std::string out = (dir / (name + "_s.csv")).string();
    const Run sampled =
        run("sample " + model + " --params " + (dir / (name + ".safetensors")).string() +
            " -n 20 --seed 5 --context " + context + " -o " + out);
    INFO(sampled.output);
    REQUIRE(sampled.exit_code == 0);
    return nfc::load_dataset(out, 0).to_vector();  // x0, x1 per row
  };
  const std::vector<double> a = samples("plain", "0.5"), b = samples("scaled", "22");
  REQUIRE(a.size() == 40);
  REQUIRE(b.size() == 40);
  for (size_t i = 0; i < a.size(); ++i) CHECK(b[i] == Approx(100 * a[i] + 7).epsilon(1e-7));
}

TEST_CASE("nfc with a conditional flow: train, sample with a context, eval, errors",
          "[conditional][cli]") {
  const fs::path dir = scratch("conditional");
  const std::string model = std::string(NFC_SOURCE_DIR) + "/examples/conditional.nf";
  const std::string params = (dir / "p.safetensors").string();
  const Run trained = run("train " + model +
                          " --data builtin:cond_gaussians --data-rows 2000 --steps 200 "
                          "--eval-every 100 -q --out " +
                          params);
  INFO(trained.output);
  REQUIRE(trained.exit_code == 0);
  CHECK(trained.output.find("KL(true || model)") != std::string::npos);

  const Run sampled = run("sample " + model + " --params " + params + " -n 5 --context 0.5");
  INFO(sampled.output);
  CHECK(sampled.exit_code == 0);
  CHECK(sampled.output.find("x0,x1,log_prob") != std::string::npos);
  // A context file: one sample per row.
  {
    std::ofstream f(dir / "ctx.csv");
    f << "c\n-0.5\n0\n0.5\n";
  }
  const std::string out = (dir / "s.csv").string();
  const Run from_file = run("sample " + model + " --params " + params + " --context-file " +
                            (dir / "ctx.csv").string() + " -o " + out);
  INFO(from_file.output);
  CHECK(from_file.exit_code == 0);
  CHECK(from_file.output.find("wrote 3 samples") != std::string::npos);

  const Run eval = run("eval " + model + " --params " + params +
                       " --data builtin:cond_gaussians --data-rows 1000 --data-seed 4");
  INFO(eval.output);
  CHECK(eval.exit_code == 0);
  CHECK(eval.output.find("KL(true || model)") != std::string::npos);

  // Errors: one line, exit 1.
  auto refused = [&](const std::string& args, const std::string& message) {
    const Run r = run(args);
    INFO(args);
    CHECK(r.exit_code == 1);
    CHECK(r.output == "nfc: error: " + message + "\n");
  };
  const std::string two_values = "--context has 2 values, the model's context needs 1 value";
  refused("sample " + model + " --params " + params,
          "'conditional' is conditional (context 1): give --context with 1 value or "
          "--context-file");
  refused("sample " + model + " --params " + params + " --context 1,2", two_values);
  std::ofstream(dir / "ctx.csv") << "a,b\n1,2\n";
  const Run wide_context = run("sample " + model + " --params " + params + " --context-file " +
                               (dir / "ctx.csv").string());
  CHECK(wide_context.exit_code == 1);
  CHECK(wide_context.output == "nfc: error: " + (dir / "ctx.csv").string() +
                                   ": the context file has 2 columns, the model's context has 1\n");
  const Run bad_data = run("eval " + model + " --params " + params + " --data builtin:moons");
  CHECK(bad_data.exit_code == 1);
  CHECK(bad_data.output ==
        "nfc: error: builtin:moons: the data have 2 columns, the model needs 3 (dim 2, then "
        "context 1)\n");
  const Run unconditional =
      run("sample " + std::string(NFC_SOURCE_DIR) + "/examples/moons.nf --context 0.5");
  CHECK(unconditional.exit_code == 1);
  CHECK(unconditional.output ==
        "nfc: error: 'moons' has no context; --context and --context-file need a flow declared "
        "with context = N\n");
  // plot draws p(x | c) at the context given: another c, another picture.
  auto plot_at = [&](const std::string& c) {
    const std::string png = (dir / ("plot" + c + ".png")).string();
    const Run plotted = run("plot " + model + " --params " + params + " --context " + c +
                            " --samples 500 --data-rows 500 -o " + png);
    INFO(plotted.output);
    CHECK(plotted.exit_code == 0);
    std::ifstream in(png, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const std::string low = plot_at("-1"), high = plot_at("1");
  CHECK(low.size() > 10000);
  CHECK(low.substr(1, 3) == "PNG");
  CHECK(low != high);
  refused("plot " + model + " --params " + params,
          "'conditional' is conditional (context 1): plot draws p(x | c) at one context, give "
          "--context with 1 value");
  refused("plot " + model + " --params " + params + " --context 1,2", two_values);
  const Run emitted =
      run("emit-cpp " + model + " --params " + params + " -o " + (dir / "emitted").string());
  INFO(emitted.output);
  CHECK(emitted.exit_code == 0);  // held to the JIT in test_emit_cpp.cpp
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

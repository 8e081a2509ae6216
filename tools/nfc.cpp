// The nfc command line. Each subcommand lives in its own file and registers
// itself; this file maps outcomes to exit codes:
// 0 success, 1 the input has errors (message printed), 2 bad command line,
// 70 an internal compiler error (a bug in nfc).
//
// Under mpirun (docs/distributed.md) every rank runs this; rank 0 alone
// prints. Errors every rank raises together (the command line, agree())
// end each rank with its exit code; any other error of one rank ends the
// whole job at once, rather than leave the others waiting for it in a
// collective.
#include <fmt/format.h>
#include <fmt/ostream.h>

#include <iostream>

#include "tools/Cli.hpp"
#include "tools/Group.hpp"

namespace {

using namespace nfc::cli;

// The subcommand named on the command line ("" if none).
std::string subcommand_of(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (argv[i][0] != '-') return argv[i];
  return "";
}

// Reports the exception being handled ("nfc: error: ...") and returns its
// exit code. One printed already (Failure) was raised by every rank of a
// group together; any other ends the whole job under a group (nothing
// returns).
int fail() {
  const Outcome o = outcome_of(std::current_exception());
  if (o.line.empty()) return o.exit_code;
  if (nfc::Communicator* group = process_group()) {
    fmt::print(std::cerr, "nfc: {} (rank {} of {}: ending the job)\n", o.line, group->rank(),
               group->size());
    std::cerr.flush();
    group->abort(o.exit_code);
  }
  fmt::print(std::cerr, "nfc: {}\n", o.line);
  return o.exit_code;
}

int run(int argc, char** argv) {
  CLI::App app{"nfc: a normalizing-flow compiler"};
  app.require_subcommand(1);
  register_check(app);
  register_compile(app);
  register_train(app);
  register_sample(app);
  register_eval(app);
  register_logprob(app);
  register_plot(app);
  register_emit_cpp(app);
  if (process_group() && subcommand_of(argc, argv) != "train") {
    if (speaks())
      fmt::print(std::cerr, "nfc: error: {}\n",
                 fmt::format("only 'nfc train' runs as a group of processes ({} here); run "
                             "'nfc {}' as one process",
                             process_group()->size(), subcommand_of(argc, argv)));
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {  // the same on every rank
    if (!speaks()) return e.get_exit_code() == 0 ? 0 : 2;
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  } catch (...) {
    return fail();
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::unique_ptr<nfc::Communicator> group;
  try {
    group = join_launched_group(&argc, &argv);
  } catch (...) {  // no group yet: reported here, by this process
    return fail();
  }
  return run(argc, argv);
}

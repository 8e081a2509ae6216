// The process group of `mpirun -np N nfc train` (docs/distributed.md): who
// speaks, and how ranks that may fail on their own shard of the data fail
// together.
//
// Rules every command follows under a group:
//  - rank 0 alone prints and writes files (speaks());
//  - a step that may fail on one rank and not another (reading a shard,
//    files one host may lack) runs inside agree(), which every rank passes
//    or every rank leaves with the first failing rank's message, printed
//    once; no collective is ever left waiting;
//  - an error outside agree() ends the job at once (Communicator::abort).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtime/Communicator.hpp"

namespace nfc::cli {

// Joins the job of the launcher that started this process as one of
// several (launcher_size() > 1) and makes it the process group; with no
// launcher, or a job of one, there is none. When nfc was built without
// MPI, throws UserError on the launcher's rank 0 and Failure elsewhere.
std::unique_ptr<Communicator> join_launched_group(int* argc, char*** argv);

// The process group, or null when nfc runs as one process.
Communicator* process_group();

// Whether this process prints and writes: rank 0, or the only process.
bool speaks();

// An error every rank raised together (agree()); rank 0 printed it.
struct AgreedFailure {
  int exit_code = 1;
};

// How nfc reports an error (nfc.cpp, agree()): the line it prints after
// "nfc: " ("error: x.npy: row 7, column 0: NaN", "internal compiler error:
// ...") and the exit code. The line is empty for a Failure or an
// AgreedFailure: printed already.
struct Outcome {
  int exit_code = 0;
  std::string line;
};
Outcome outcome_of(const std::exception_ptr& failure);

// Runs `work` here; under a group, then learns every rank's outcome. If
// `work` threw on any rank, rank 0 prints the error of the lowest such
// rank ("nfc: error: rank 1: x.npy: row 7, column 0: NaN"; from rank 0 as
// it would be without a group) and every rank throws AgreedFailure.
// Without a group `work`'s exceptions pass unchanged.
void agree(const std::function<void()>& work);
// The same for a `work` with a result: every rank's, indexed by rank (one
// element without a group).
std::vector<std::string> agree_and_gather(const std::function<std::string()>& work);

}  // namespace nfc::cli

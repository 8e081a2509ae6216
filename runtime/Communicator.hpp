// A group of processes that train one model together, data-parallel (nfc
// train under mpirun): what the trainer and the CLI need of it, with no
// MPI in sight. runtime/mpi/ implements it over MPI; a single process has
// no group (a null Communicator*).
//
// Every function is collective: all ranks call it, in the same order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace nfc {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // values[i] = the sum over ranks of values[i], the same on every rank.
  virtual void sum(double* values, int64_t n) = 0;
  // Every rank's `text`, indexed by rank, on every rank.
  virtual std::vector<std::string> gather(const std::string& text) = 0;
  // Not collective: ends every process of the group now, with this exit
  // code (a rank that fails while the others may wait in a collective).
  [[noreturn]] virtual void abort(int exit_code) = 0;
};

// The rows [first, end) of n rows that rank r of `size` holds: contiguous
// shards whose sizes differ by at most one.
struct Shard {
  int64_t first = 0, end = 0;
};
inline Shard shard_of(int64_t n, int rank, int size) {
  return {n * rank / size, n * (rank + 1) / size};
}

// The number of processes of the job a launcher (mpirun, srun) started
// this process in, from its environment; 1 when there is none. Tells a
// binary built without MPI that it is asked to run as one of several.
int launcher_size();
// This process's rank in that job, from the same launcher's variables
// (OMPI_COMM_WORLD_RANK, PMI_RANK, SLURM_PROCID); 0 when there is none.
int launcher_rank();

}  // namespace nfc

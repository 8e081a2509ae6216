#include "runtime/Communicator.hpp"

#include <cstdlib>
#include <initializer_list>

namespace nfc {

// Open MPI's mpirun, the PMI of MPICH's launchers (and of srun --mpi=pmi2),
// then srun's own count of the tasks of its step (a batch script's commands
// run outside any step): the first one set decides.
namespace {

// The first of `names` set to a count in [least, 2^24]; `otherwise` if none.
int first_count(std::initializer_list<const char*> names, long least, int otherwise) {
  for (const char* name : names) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0') continue;
    char* end = nullptr;
    const long n = std::strtol(value, &end, 10);
    if (*end == '\0' && n >= least && n <= 1 << 24) return int(n);
  }
  return otherwise;
}

}  // namespace

int launcher_size() {
  return first_count({"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS"}, 1, 1);
}

int launcher_rank() {
  return first_count({"OMPI_COMM_WORLD_RANK", "PMI_RANK", "SLURM_PROCID"}, 0, 0);
}

}  // namespace nfc

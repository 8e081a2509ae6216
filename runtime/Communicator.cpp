#include "runtime/Communicator.hpp"

#include <cstdlib>

namespace nfc {

// Open MPI's mpirun, the PMI of MPICH's launchers (and of srun --mpi=pmi2),
// then srun's own count of the tasks of its step (a batch script's commands
// run outside any step): the first one set decides.
int launcher_size() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS"}) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0') continue;
    char* end = nullptr;
    const long n = std::strtol(value, &end, 10);
    if (*end == '\0' && n >= 1 && n <= 1 << 24) return int(n);
  }
  return 1;
}

}  // namespace nfc

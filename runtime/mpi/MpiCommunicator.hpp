// The Communicator of a process started by mpirun (or srun): MPI_COMM_WORLD.
// The only part of nfc that sees MPI; built when CMake finds it (NFC_MPI).
#pragma once

#include <memory>

#include "runtime/Communicator.hpp"

namespace nfc {

// Joins the MPI job this process belongs to (MPI_Init_thread: only the
// main thread calls MPI) and leaves it (MPI_Finalize) when destroyed.
class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator(int* argc, char*** argv);
  ~MpiCommunicator() override;
  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void sum(double* values, int64_t n) override;
  std::vector<std::string> gather(const std::string& text) override;
  // Ends every process of the job now, with this exit code: what a rank
  // does when it fails while the others may be waiting in a collective.
  [[noreturn]] void abort(int exit_code) override;

 private:
  int rank_ = 0, size_ = 1;
};

}  // namespace nfc

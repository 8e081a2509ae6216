#include "runtime/mpi/MpiCommunicator.hpp"

#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <stdexcept>

namespace nfc {

MpiCommunicator::MpiCommunicator(int* argc, char*** argv) {
  int provided = 0;
  MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
  // A failed call ends the job (MPI_ERRORS_ARE_FATAL, the default), with
  // the MPI library's message: nfc cannot continue without its peers.
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

MpiCommunicator::~MpiCommunicator() {
  MPI_Finalize();
}

// In place, in pieces of at most INT_MAX values (MPI counts are ints).
void MpiCommunicator::sum(double* values, int64_t n) {
  for (int64_t first = 0; first < n; first += INT_MAX) {
    const int count = int(std::min<int64_t>(n - first, INT_MAX));
    MPI_Allreduce(MPI_IN_PLACE, values + first, count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  }
}

std::vector<std::string> MpiCommunicator::gather(const std::string& text) {
  if (text.size() > size_t(INT_MAX)) throw std::length_error("MpiCommunicator::gather: too long");
  const int length = int(text.size());
  std::vector<int> lengths(size_t(size_), 0), offsets(size_t(size_), 0);
  MPI_Allgather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, MPI_COMM_WORLD);
  int64_t total = 0;
  for (int r = 0; r < size_; ++r) {
    offsets[size_t(r)] = int(total);
    total += lengths[size_t(r)];
  }
  if (total > INT_MAX) throw std::length_error("MpiCommunicator::gather: too long");
  std::string all(size_t(total), '\0');
  MPI_Allgatherv(text.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(),
                 MPI_CHAR, MPI_COMM_WORLD);
  std::vector<std::string> texts;
  for (int r = 0; r < size_; ++r)
    texts.push_back(all.substr(size_t(offsets[size_t(r)]), size_t(lengths[size_t(r)])));
  return texts;
}

void MpiCommunicator::abort(int exit_code) {
  MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::_Exit(exit_code);  // MPI_Abort does not return; the compiler cannot know
}

}  // namespace nfc

//===- Communicator.cpp - one-process world and checksums -------*- C++ -*-===//
#include "circ/Train/Communicator.h"

#include <cstdlib>
#include <cstring>
#include <iostream>

using namespace circ;
using namespace circ::train;

Communicator::~Communicator() = default;

rt::Error Communicator::verifyAgreement(uint64_t checksum,
                                        const std::string &what) {
  std::vector<uint64_t> all = allGather(checksum);
  std::string differing;
  for (size_t r = 1; r < all.size(); ++r)
    if (all[r] != all[0])
      differing += (differing.empty() ? "" : ", ") + std::to_string(r);
  if (differing.empty())
    return rt::Error::success();
  return rt::Error::failure(
      what + " differ between ranks: rank(s) " + differing +
      " disagree with rank 0; the ranks no longer train the same model "
      "(a different build, spec or input on some rank?), stopping");
}

int circ::train::reportFailure(Communicator &comm, const std::string &message,
                               int code) {
  if (comm.size() == 1) {
    std::cerr << "circc: error: " << message << "\n";
    return code;
  }
  std::cerr << "circc: error: rank " << comm.rank() << " of " << comm.size()
            << ": " << message << std::endl;
  comm.abort(code);
}

uint64_t circ::train::checksumFloats(const float *data, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, data + i, sizeof bits);
    h = (h ^ bits) * 1099511628211ull;
  }
  return h;
}

namespace {

class SingleProcessCommunicator final : public Communicator {
public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int localSize() const override { return 1; }
  std::string describe() const override { return "1 process"; }
  void sum(float *, size_t) override {}
  void sum(double *, size_t) override {}
  void broadcast(void *, size_t, int) override {}
  void barrier() override {}
  std::vector<uint64_t> allGather(uint64_t value) override { return {value}; }
  std::vector<std::string> gatherToRoot(const std::string &bytes) override {
    return {bytes};
  }
  [[noreturn]] void abort(int code) override { std::exit(code); }
};

} // namespace

std::unique_ptr<Communicator> circ::train::createSingleProcessCommunicator() {
  return std::make_unique<SingleProcessCommunicator>();
}

#ifdef CIRC_HAVE_MPI
namespace circ::train {
std::unique_ptr<Communicator> createMpiCommunicator();
} // namespace circ::train

bool circ::train::mpiBuiltIn() { return true; }

rt::Expected<std::unique_ptr<Communicator>>
circ::train::createWorldCommunicator() {
  // Open MPI (mpirun), MPICH/Hydra (PMI) and Slurm's srun with PMIx each set
  // one of these; without a launcher, stay single-process instead of paying
  // for MPI's singleton start-up.
  for (const char *var : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"})
    if (std::getenv(var))
      return createMpiCommunicator();
  return createSingleProcessCommunicator();
}
#else
bool circ::train::mpiBuiltIn() { return false; }

rt::Expected<std::unique_ptr<Communicator>>
circ::train::createWorldCommunicator() {
  for (const char *var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"}) {
    const char *n = std::getenv(var);
    if (n && std::atoi(n) > 1)
      return rt::Error::failure(
          std::string("started as one of ") + n +
          " ranks, but this circc was built without MPI; rebuild with "
          "libopenmpi-dev installed (CIRC_ENABLE_MPI=ON) or run one process");
  }
  return createSingleProcessCommunicator();
}
#endif

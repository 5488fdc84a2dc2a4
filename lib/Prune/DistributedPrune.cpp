//===- DistributedPrune.cpp - a suite's tasks over ranks --------*- C++ -*-===//
#include "circ/Prune/DistributedPrune.h"

#include <cstring>

using namespace circ;
using namespace circ::prune;

bool prune::ownsTask(const train::Communicator *comm, size_t i) {
  return !comm || i % static_cast<size_t>(comm->size()) ==
                      static_cast<size_t>(comm->rank());
}

namespace {

/// Fixed-width little-endian-as-in-memory fields: all ranks run the same
/// build on the same architecture (checked by the weights' checksums).
struct Writer {
  std::string bytes;
  template <typename T> void pod(T v) {
    bytes.append(reinterpret_cast<const char *>(&v), sizeof v);
  }
  void str(const std::string &s) {
    pod<uint64_t>(s.size());
    bytes += s;
  }
};

struct Reader {
  const std::string &bytes;
  size_t at = 0;
  bool ok = true;
  template <typename T> T pod() {
    T v{};
    if (at + sizeof v > bytes.size()) {
      ok = false;
      return v;
    }
    std::memcpy(&v, bytes.data() + at, sizeof v);
    at += sizeof v;
    return v;
  }
  std::string str() {
    uint64_t n = pod<uint64_t>();
    if (!ok || n > bytes.size() - at) {
      ok = false;
      return {};
    }
    std::string s = bytes.substr(at, n);
    at += n;
    return s;
  }
};

} // namespace

std::string prune::encodeOutcomes(const std::vector<TaskOutcome> &outcomes) {
  Writer w;
  w.pod<uint64_t>(outcomes.size());
  for (const TaskOutcome &t : outcomes) {
    w.str(t.task);
    w.pod<uint8_t>(t.pruned);
    w.str(t.skipped);
    w.pod<uint8_t>(t.reachedTarget);
    w.pod(t.nodes), w.pod(t.edges), w.pod(t.loss), w.pod(t.fullLoss);
    w.pod<uint64_t>(t.audit.size());
    for (const circuits::AuditRow &a : t.audit) {
      w.str(a.check), w.str(a.description), w.pod(a.value);
      w.pod<uint8_t>(a.reference.has_value());
      w.pod(a.reference.value_or(0.0));
      w.str(a.verdict);
    }
    w.str(t.dir);
    w.pod(t.seconds);
  }
  return w.bytes;
}

rt::Expected<std::vector<TaskOutcome>>
prune::decodeOutcomes(const std::string &bytes) {
  Reader r{bytes};
  const uint64_t count = r.pod<uint64_t>();
  std::vector<TaskOutcome> outcomes;
  for (uint64_t i = 0; r.ok && i < count; ++i) {
    TaskOutcome t;
    t.task = r.str();
    t.pruned = r.pod<uint8_t>();
    t.skipped = r.str();
    t.reachedTarget = r.pod<uint8_t>();
    t.nodes = r.pod<int64_t>(), t.edges = r.pod<int64_t>();
    t.loss = r.pod<double>(), t.fullLoss = r.pod<double>();
    uint64_t rows = r.pod<uint64_t>();
    for (uint64_t k = 0; r.ok && k < rows; ++k) {
      circuits::AuditRow a;
      a.check = r.str(), a.description = r.str(), a.value = r.pod<double>();
      bool hasReference = r.pod<uint8_t>();
      double reference = r.pod<double>();
      if (hasReference)
        a.reference = reference;
      a.verdict = r.str();
      t.audit.push_back(std::move(a));
    }
    t.dir = r.str();
    t.seconds = r.pod<double>();
    outcomes.push_back(std::move(t));
  }
  if (!r.ok || r.at != bytes.size())
    return rt::Error::failure("a rank sent a malformed task outcome (" +
                              std::to_string(bytes.size()) + " bytes)");
  return outcomes;
}

rt::Expected<std::vector<TaskOutcome>>
prune::gatherOutcomes(train::Communicator *comm, std::vector<TaskOutcome> mine,
                      size_t taskCount) {
  if (!comm || comm->size() == 1)
    return mine;
  std::vector<std::string> all = comm->gatherToRoot(encodeOutcomes(mine));
  if (!comm->isRoot())
    return mine;
  std::vector<std::vector<TaskOutcome>> byRank;
  for (const std::string &bytes : all) {
    rt::Expected<std::vector<TaskOutcome>> decoded = decodeOutcomes(bytes);
    if (!decoded)
      return decoded.takeError();
    byRank.push_back(std::move(*decoded));
  }
  const size_t size = byRank.size();
  std::vector<TaskOutcome> ordered;
  for (size_t i = 0; i < taskCount; ++i) {
    std::vector<TaskOutcome> &from = byRank[i % size];
    if (i / size >= from.size())
      return rt::Error::failure("rank " + std::to_string(i % size) +
                                " sent no outcome for task " +
                                std::to_string(i));
    ordered.push_back(std::move(from[i / size]));
  }
  return ordered;
}

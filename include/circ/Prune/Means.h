//===- Means.h - pretraining means of every node, cached --------*- C++ -*-===//
//
// Mean ablation (paper §5.2) replaces a pruned node by its mean activation
// over the pretraining distribution. The means are computed once per
// checkpoint, over windows of pretraining tokens spread evenly through the
// token stream, with every node kept, and cached beside the checkpoint as
// `<checkpoint>.means.safetensors`:
//   tensors   "h.<l>.<site>.mean"   F32 [width] for every node location
//   metadata  "circ.format"         "circ-means-v1"
//             "circ.key"            hash of the weights, the config and the
//                                   exact tokens averaged over
//             "circ.tokens"         tokens averaged over (decimal)
// A cache whose key differs (other weights, other data) is recomputed and
// replaced; an unreadable one too, with a warning.
//
// Plain C++ (no MLIR).
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_PRUNE_MEANS_H
#define CIRC_PRUNE_MEANS_H

#include "circ/Prune/Nodes.h"
#include "circ/Prune/TaskModel.h"
#include "circ_runtime/Checkpoint.h"
#include "circ_runtime/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace circ::prune {

/// `count` windows of `length` tokens spread evenly over `stream` (their
/// start offsets); fewer when the stream is short, none when it is shorter
/// than one window.
std::vector<int64_t> windowStarts(int64_t streamSize, int64_t length,
                                  int64_t count);

/// Mean output of every node (flat order) over the windows of
/// model.activationSeqLen() tokens at `starts`, with every node kept.
rt::Expected<std::vector<float>>
computeNodeMeans(TaskModel &model, const NodeSpace &space,
                 const std::vector<int32_t> &stream,
                 const std::vector<int64_t> &starts);

/// "<checkpoint>.means.safetensors".
std::string meansCachePath(const std::string &checkpointPath);

/// Hash of a checkpoint's weights (not its optimizer moments) and config.
std::string weightsFingerprint(const rt::Checkpoint &checkpoint);

struct CachedMeans {
  std::vector<float> means;
  int64_t tokens = 0;
  bool fromCache = false;
  std::string cachePath;
  std::vector<std::string> warnings; ///< e.g. an unreadable cache replaced
};

/// The checkpoint's node means over `sequences` windows of `stream`: read
/// from the cache when its key matches, else computed and cached.
rt::Expected<CachedMeans> checkpointMeans(const rt::Checkpoint &checkpoint,
                                          TaskModel &model,
                                          const NodeSpace &space,
                                          const std::vector<int32_t> &stream,
                                          int64_t sequences);

} // namespace circ::prune

#endif // CIRC_PRUNE_MEANS_H

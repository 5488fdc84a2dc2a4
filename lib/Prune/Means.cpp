//===- Means.cpp - pretraining means of every node, cached ------*- C++ -*-===//

#include "circ/Prune/Means.h"

#include "Hash.h"
#include "circ_runtime/Safetensors.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

using namespace circ;
using namespace circ::prune;
using rt::Error;
using rt::Expected;

static const char *const kMeansFormat = "circ-means-v1";

std::vector<int64_t> prune::windowStarts(int64_t streamSize, int64_t length,
                                         int64_t count) {
  std::vector<int64_t> starts;
  if (length <= 0 || count <= 0 || streamSize < length)
    return starts;
  int64_t span = streamSize - length; // last valid start
  int64_t n = std::min(count, span + 1);
  for (int64_t i = 0; i < n; ++i)
    starts.push_back(n == 1 ? 0 : i * span / (n - 1));
  return starts;
}

Expected<std::vector<float>>
prune::computeNodeMeans(TaskModel &model, const NodeSpace &space,
                        const std::vector<int32_t> &stream,
                        const std::vector<int64_t> &starts) {
  const int64_t b = model.activationBatch(), t = model.activationSeqLen();
  if (starts.empty())
    return Error::failure("no pretraining tokens to average node activations "
                          "over (the stream is shorter than one window of " +
                          std::to_string(t) + " tokens)");
  std::vector<double> sums(space.size(), 0.0);
  Gates full = fullModelGates(space, std::vector<float>(space.size(), 0.0f));
  std::vector<int32_t> tokens(b * t);
  std::vector<std::vector<float>> acts;
  for (size_t first = 0; first < starts.size(); first += b) {
    int64_t rows = std::min<int64_t>(b, starts.size() - first);
    for (int64_t r = 0; r < b; ++r) {
      int64_t start = starts[first + std::min(r, rows - 1)];
      std::copy(stream.begin() + start, stream.begin() + start + t,
                tokens.begin() + r * t);
    }
    if (Error e = model.activations(tokens.data(), full, acts))
      return e;
    for (size_t g = 0; g < space.gates().size(); ++g) {
      const GateSlice &slice = space.gates()[g];
      const float *a = acts[g].data();
      double *sum = sums.data() + slice.offset;
      for (int64_t row = 0; row < rows * t; ++row)
        for (int64_t c = 0; c < slice.width; ++c)
          sum[c] += a[row * slice.width + c];
    }
  }
  const double count = static_cast<double>(starts.size() * t);
  std::vector<float> means(space.size());
  for (int64_t i = 0; i < space.size(); ++i)
    means[i] = static_cast<float>(sums[i] / count);
  return means;
}

std::string prune::meansCachePath(const std::string &checkpointPath) {
  return checkpointPath + ".means.safetensors";
}

static std::string hex(uint64_t h) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string prune::weightsFingerprint(const rt::Checkpoint &checkpoint) {
  std::string config = rt::modelConfigToJson(checkpoint.config());
  uint64_t h = hashBytes(config.data(), config.size(), 0x77656967687473ull);
  const rt::SafetensorsFile &file = checkpoint.safetensors();
  for (const ParamSpec &p : modelParameters(checkpoint.config())) {
    // Checkpoint::open verified that every parameter is present.
    const rt::TensorInfo *info = file.find(p.name);
    h = hashBytes(p.name.data(), p.name.size(), h);
    h = hashBytes(file.data(*info), info->nbytes(), h);
  }
  return hex(h);
}

/// The cache key: the weights, the window length and the exact tokens.
static std::string meansKey(const rt::Checkpoint &checkpoint,
                            const std::vector<int32_t> &stream,
                            const std::vector<int64_t> &starts,
                            int64_t length) {
  uint64_t h = hashMix(static_cast<uint64_t>(length));
  for (int64_t s : starts)
    h = hashBytes(stream.data() + s, length * sizeof(int32_t), h);
  return weightsFingerprint(checkpoint) + "-" + hex(h);
}

Expected<CachedMeans> prune::checkpointMeans(const rt::Checkpoint &checkpoint,
                                             TaskModel &model,
                                             const NodeSpace &space,
                                             const std::vector<int32_t> &stream,
                                             int64_t sequences) {
  CachedMeans out;
  out.cachePath = meansCachePath(checkpoint.path());
  const int64_t length = model.activationSeqLen();
  std::vector<int64_t> starts =
      windowStarts(static_cast<int64_t>(stream.size()), length, sequences);
  out.tokens = static_cast<int64_t>(starts.size()) * length;
  const std::string key = meansKey(checkpoint, stream, starts, length);

  std::error_code ec;
  if (std::filesystem::exists(out.cachePath, ec)) {
    Expected<rt::SafetensorsFile> file = rt::SafetensorsFile::open(out.cachePath);
    if (!file) {
      out.warnings.push_back("ignoring the unreadable means cache: " +
                             file.message());
    } else {
      const std::string *format = file->metadataValue("circ.format");
      const std::string *cachedKey = file->metadataValue("circ.key");
      if (format && *format == kMeansFormat && cachedKey &&
          *cachedKey == key) {
        out.means.assign(space.size(), 0.0f);
        Error bad = Error::success();
        for (const GateSlice &g : space.gates()) {
          bad = file->copyTo(g.meanName, rt::DType::F32, {g.width},
                             out.means.data() + g.offset);
          if (bad)
            break;
        }
        if (!bad) {
          out.fromCache = true;
          return out;
        }
        out.warnings.push_back("ignoring the damaged means cache: " +
                               bad.message());
      }
    }
  }

  Expected<std::vector<float>> means =
      computeNodeMeans(model, space, stream, starts);
  if (!means)
    return means.takeError();
  out.means = std::move(*means);
  rt::SafetensorsWriter writer;
  writer.setMetadata("circ.format", kMeansFormat);
  writer.setMetadata("circ.key", key);
  writer.setMetadata("circ.tokens", std::to_string(out.tokens));
  for (const GateSlice &g : space.gates())
    if (Error e = writer.add(g.meanName, rt::DType::F32, {g.width},
                             out.means.data() + g.offset))
      return e;
  if (Error e = writer.write(out.cachePath))
    out.warnings.push_back("could not cache the node means: " + e.message());
  return out;
}

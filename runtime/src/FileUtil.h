//===- FileUtil.h - files for the runtime: map, read, atomic write -*- C++ -*-//
//
// Private to the runtime. Every file the runtime writes (checkpoints,
// tokenizers, corpus caches) goes through writeFileAtomic so that a crash or a
// full disk never leaves a partial file under the final name.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_RUNTIME_SRC_FILEUTIL_H
#define CIRC_RUNTIME_SRC_FILEUTIL_H

#include "circ_runtime/Error.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace circ::rt {

/// "<path>: <strerror(err)>".
std::string systemError(const std::string &path, int err);

/// A read-only memory mapping of a whole file.
class MappedFile {
public:
  static Expected<std::shared_ptr<MappedFile>> open(const std::string &path);
  ~MappedFile();
  MappedFile(const MappedFile &) = delete;
  MappedFile &operator=(const MappedFile &) = delete;

  const uint8_t *data() const { return base; }
  size_t size() const { return length; }

private:
  MappedFile(const uint8_t *base, size_t length) : base(base), length(length) {}
  const uint8_t *base;
  size_t length;
};

Expected<std::string> readFile(const std::string &path);

/// Writes the concatenation of `pieces` to `<path>.tmp.<pid>`, fsyncs,
/// renames it to `path` and fsyncs the directory. On failure the temporary is
/// removed and `path` is untouched.
Error writeFileAtomic(const std::string &path,
                      const std::vector<std::string_view> &pieces);

/// Creates `path` and its missing parents (like mkdir -p).
Error makeDirectories(const std::string &path);

/// 64-bit FNV-1a, for cache keys and content fingerprints (not security).
uint64_t fnv1a64(std::string_view bytes,
                 uint64_t seed = 14695981039346656037ull);
std::string hex64(uint64_t value);

} // namespace circ::rt

#endif // CIRC_RUNTIME_SRC_FILEUTIL_H

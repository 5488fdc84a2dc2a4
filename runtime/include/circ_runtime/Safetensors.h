//===- Safetensors.h - safetensors reader and writer ------------*- C++ -*-===//
//
// The safetensors format, exactly as Hugging Face's reference implementation
// reads and writes it:
//   u64 little-endian N | N bytes of JSON header, space-padded | byte buffer
// The header maps tensor names to {"dtype", "shape", "data_offsets"} (offsets
// relative to the buffer) plus an optional "__metadata__" str->str map.
// The reader memory-maps the file and applies every check of the reference
// reader: header <= 100 MB, UTF-8 JSON object, no duplicate keys, known
// dtypes, overflow-checked sizes, and tensors whose offsets tile the buffer
// exactly. Data is little-endian, row-major.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_RUNTIME_SAFETENSORS_H
#define CIRC_RUNTIME_SAFETENSORS_H

#include "circ_runtime/Error.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace circ::rt {

/// Every dtype of the format (names as in the header).
enum class DType : uint8_t {
  BOOL,
  F4,
  F6_E2M3,
  F6_E3M2,
  U8,
  I8,
  F8_E5M2,
  F8_E4M3,
  F8_E8M0,
  F8_E4M3FNUZ,
  F8_E5M2FNUZ,
  I16,
  U16,
  F16,
  BF16,
  I32,
  U32,
  F32,
  C64,
  F64,
  I64,
  U64,
};

const char *dtypeName(DType dtype);
std::optional<DType> parseDType(std::string_view name);
/// Size of one element in bits (4 and 6 for the sub-byte float formats).
unsigned dtypeBits(DType dtype);

/// The header's largest accepted size, as in the reference reader.
constexpr uint64_t kMaxSafetensorsHeader = 100'000'000;

struct TensorInfo {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0; ///< offsets into the byte buffer
  uint64_t end = 0;

  int64_t numel() const;
  uint64_t nbytes() const { return end - begin; }
};

/// A validated, memory-mapped safetensors file.
class SafetensorsFile {
public:
  /// Maps and validates `path`; refuses truncated or foreign files with a
  /// message naming the file and the problem.
  static Expected<SafetensorsFile> open(const std::string &path);
  /// Validates an in-memory image; `name` stands for the path in messages.
  static Expected<SafetensorsFile> fromBytes(std::string bytes,
                                             std::string name);

  const std::string &name() const { return fileName; }
  const std::map<std::string, std::string> &metadata() const { return meta; }
  /// Metadata value or nullptr.
  const std::string *metadataValue(const std::string &key) const;
  /// All tensors in buffer order.
  const std::vector<TensorInfo> &tensors() const { return infos; }
  /// The tensor called `name` or nullptr.
  const TensorInfo *find(std::string_view name) const;
  /// Start of a tensor's bytes (not necessarily aligned for its dtype).
  const uint8_t *data(const TensorInfo &info) const;
  /// Copies tensor `name` into `out`, checking that it exists, has `dtype`
  /// and exactly `shape`.
  Error copyTo(std::string_view name, DType dtype,
               const std::vector<int64_t> &shape, void *out) const;

private:
  struct Storage;
  std::shared_ptr<const Storage> storage;
  std::string fileName;
  std::map<std::string, std::string> meta;
  std::vector<TensorInfo> infos;
  std::map<std::string, size_t, std::less<>> byName;

  static Expected<SafetensorsFile> parse(std::shared_ptr<const Storage> st,
                                         std::string name);
};

/// Collects tensors and metadata, then writes them atomically. Tensor data is
/// referenced, not copied: it must stay alive until write()/serialize().
class SafetensorsWriter {
public:
  void setMetadata(std::string key, std::string value);
  /// Refuses duplicate or empty names, "__metadata__", and negative dims.
  Error add(std::string name, DType dtype, std::vector<int64_t> shape,
            const void *data);

  /// The complete file image (tests, small files).
  Expected<std::string> serialize() const;
  /// Writes `<path>.tmp.<pid>`, fsyncs it, renames it over `path` and fsyncs
  /// the directory: a reader sees the old file or the new one, never a part.
  Error write(const std::string &path) const;

private:
  struct Entry {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;
    const void *data;
    uint64_t nbytes;
  };
  std::map<std::string, std::string> meta;
  std::vector<Entry> entries;

  /// Entries in the reference writer's order and the padded header.
  Expected<std::string> layout(std::vector<const Entry *> &order) const;
};

} // namespace circ::rt

#endif // CIRC_RUNTIME_SAFETENSORS_H

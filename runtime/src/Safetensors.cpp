//===- Safetensors.cpp - safetensors reader and writer --------------------===//
#include "circ_runtime/Safetensors.h"

#include "FileUtil.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <set>

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "safetensors data is little-endian; this host is not");

namespace circ::rt {

namespace {
struct DTypeDesc {
  DType dtype;
  const char *name;
  unsigned bits;
};
const DTypeDesc kDTypes[] = {
    {DType::BOOL, "BOOL", 8},
    {DType::F4, "F4", 4},
    {DType::F6_E2M3, "F6_E2M3", 6},
    {DType::F6_E3M2, "F6_E3M2", 6},
    {DType::U8, "U8", 8},
    {DType::I8, "I8", 8},
    {DType::F8_E5M2, "F8_E5M2", 8},
    {DType::F8_E4M3, "F8_E4M3", 8},
    {DType::F8_E8M0, "F8_E8M0", 8},
    {DType::F8_E4M3FNUZ, "F8_E4M3FNUZ", 8},
    {DType::F8_E5M2FNUZ, "F8_E5M2FNUZ", 8},
    {DType::I16, "I16", 16},
    {DType::U16, "U16", 16},
    {DType::F16, "F16", 16},
    {DType::BF16, "BF16", 16},
    {DType::I32, "I32", 32},
    {DType::U32, "U32", 32},
    {DType::F32, "F32", 32},
    {DType::C64, "C64", 64},
    {DType::F64, "F64", 64},
    {DType::I64, "I64", 64},
    {DType::U64, "U64", 64},
};
} // namespace

const char *dtypeName(DType dtype) {
  return kDTypes[static_cast<unsigned>(dtype)].name;
}

unsigned dtypeBits(DType dtype) {
  return kDTypes[static_cast<unsigned>(dtype)].bits;
}

std::optional<DType> parseDType(std::string_view name) {
  for (const DTypeDesc &d : kDTypes)
    if (name == d.name)
      return d.dtype;
  return std::nullopt;
}

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

//===----------------------------------------------------------------------===//
// Reader
//===----------------------------------------------------------------------===//

struct SafetensorsFile::Storage {
  std::shared_ptr<MappedFile> map;
  std::string owned;
  const uint8_t *bytes() const {
    return map ? map->data() : reinterpret_cast<const uint8_t *>(owned.data());
  }
  size_t size() const { return map ? map->size() : owned.size(); }
};

Expected<SafetensorsFile> SafetensorsFile::open(const std::string &path) {
  auto map = MappedFile::open(path);
  if (!map)
    return map.takeError();
  auto st = std::make_shared<Storage>();
  st->map = std::move(*map);
  return parse(std::move(st), path);
}

Expected<SafetensorsFile> SafetensorsFile::fromBytes(std::string bytes,
                                                     std::string name) {
  auto st = std::make_shared<Storage>();
  st->owned = std::move(bytes);
  return parse(std::move(st), std::move(name));
}

/// (a * b) without wrapping; false on overflow.
static bool mulOverflow(uint64_t a, uint64_t b, uint64_t &out) {
  return __builtin_mul_overflow(a, b, &out);
}

Expected<SafetensorsFile>
SafetensorsFile::parse(std::shared_ptr<const Storage> st, std::string name) {
  auto fail = [&](const std::string &what) -> Expected<SafetensorsFile> {
    return Error::failure(name + ": " + what);
  };
  const uint8_t *bytes = st->bytes();
  const uint64_t size = st->size();
  if (size < 8)
    return fail("not a safetensors file: " + std::to_string(size) +
                " bytes, too short for the 8-byte header length");
  uint64_t n;
  std::memcpy(&n, bytes, 8);
  if (n > kMaxSafetensorsHeader)
    return fail("not a safetensors file: header length " + std::to_string(n) +
                " exceeds the limit of " +
                std::to_string(kMaxSafetensorsHeader) + " bytes");
  if (n > size - 8)
    return fail("truncated: header length " + std::to_string(n) +
                " runs past the end of the file (" + std::to_string(size) +
                " bytes)");
  const char *hdr = reinterpret_cast<const char *>(bytes + 8);
  if (n == 0 || hdr[0] != '{')
    return fail("not a safetensors file: header does not start with '{'");

  // nlohmann keeps the last of duplicate keys; the reference refuses them.
  using json = nlohmann::json;
  std::vector<std::set<std::string>> keys;
  std::string duplicate;
  json::parser_callback_t cb = [&](int, json::parse_event_t ev, json &parsed) {
    if (ev == json::parse_event_t::object_start)
      keys.emplace_back();
    else if (ev == json::parse_event_t::object_end)
      keys.pop_back();
    else if (ev == json::parse_event_t::key && !keys.empty() &&
             !keys.back().insert(parsed.get<std::string>()).second &&
             duplicate.empty())
      duplicate = parsed.get<std::string>();
    return true;
  };
  json header = json::parse(hdr, hdr + n, cb, /*allow_exceptions=*/false);
  if (header.is_discarded())
    return fail("invalid header: not valid UTF-8 JSON");
  if (!duplicate.empty())
    return fail("invalid header: duplicate key '" + duplicate + "'");
  if (!header.is_object())
    return fail("invalid header: not a JSON object");

  SafetensorsFile file;
  file.storage = st;
  file.fileName = name;
  for (auto &item : header.items()) {
    const std::string &key = item.key();
    json &value = item.value();
    if (key == "__metadata__") {
      if (!value.is_object())
        return fail("invalid header: __metadata__ is not an object");
      for (auto &[mk, mv] : value.items()) {
        if (!mv.is_string())
          return fail("invalid header: metadata value of '" + mk +
                      "' is not a string");
        file.meta[mk] = mv.get<std::string>();
      }
      continue;
    }
    auto bad = [&](const std::string &what) {
      return fail("invalid header: tensor '" + key + "': " + what);
    };
    if (!value.is_object())
      return bad("entry is not an object");
    auto dt = value.find("dtype");
    auto sh = value.find("shape");
    auto off = value.find("data_offsets");
    if (dt == value.end() || sh == value.end() || off == value.end())
      return bad("needs dtype, shape and data_offsets");
    if (!dt->is_string())
      return bad("dtype is not a string");
    std::optional<DType> dtype = parseDType(dt->get<std::string>());
    if (!dtype)
      return bad("unknown dtype '" + dt->get<std::string>() + "'");
    TensorInfo info;
    info.name = key;
    info.dtype = *dtype;
    if (!sh->is_array())
      return bad("shape is not an array");
    uint64_t numel = 1;
    for (const json &d : *sh) {
      if (!d.is_number_unsigned() || d.get<uint64_t>() > uint64_t(INT64_MAX))
        return bad("shape entries must be non-negative integers");
      uint64_t dim = d.get<uint64_t>();
      if (mulOverflow(numel, dim, numel))
        return bad("element count overflows");
      info.shape.push_back(static_cast<int64_t>(dim));
    }
    if (!off->is_array() || off->size() != 2 ||
        !(*off)[0].is_number_unsigned() || !(*off)[1].is_number_unsigned())
      return bad("data_offsets must be two non-negative integers");
    info.begin = (*off)[0].get<uint64_t>();
    info.end = (*off)[1].get<uint64_t>();
    uint64_t bits;
    if (mulOverflow(numel, dtypeBits(info.dtype), bits) || bits % 8 != 0 ||
        numel > uint64_t(INT64_MAX))
      return bad("size in bytes overflows or is not whole");
    if (info.end < info.begin || info.end - info.begin != bits / 8)
      return bad("data_offsets [" + std::to_string(info.begin) + ", " +
                 std::to_string(info.end) + "] do not hold " +
                 std::to_string(bits / 8) + " bytes of " +
                 dtypeName(info.dtype) + " data");
    file.infos.push_back(std::move(info));
  }

  // The tensors must tile the buffer: sorted by offset, each starting where
  // the previous ended, the last ending at the end of the file.
  std::sort(file.infos.begin(), file.infos.end(),
            [](const TensorInfo &a, const TensorInfo &b) {
              return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
            });
  uint64_t cursor = 0;
  for (const TensorInfo &info : file.infos) {
    if (info.begin != cursor)
      return fail("invalid offsets: tensor '" + info.name + "' starts at " +
                  std::to_string(info.begin) + ", expected " +
                  std::to_string(cursor) +
                  (info.begin < cursor ? " (overlaps the previous tensor)"
                                       : " (gap before it)"));
    cursor = info.end;
  }
  const uint64_t buffer = size - 8 - n;
  if (cursor != buffer)
    return fail(cursor > buffer
                    ? "truncated: tensors need " + std::to_string(cursor) +
                          " bytes of data, the file has " +
                          std::to_string(buffer)
                    : "invalid file: " + std::to_string(buffer - cursor) +
                          " trailing bytes after the last tensor");
  for (size_t i = 0; i < file.infos.size(); ++i)
    file.byName.emplace(file.infos[i].name, i);
  return file;
}

const std::string *
SafetensorsFile::metadataValue(const std::string &key) const {
  auto it = meta.find(key);
  return it == meta.end() ? nullptr : &it->second;
}

const TensorInfo *SafetensorsFile::find(std::string_view name) const {
  auto it = byName.find(name);
  return it == byName.end() ? nullptr : &infos[it->second];
}

const uint8_t *SafetensorsFile::data(const TensorInfo &info) const {
  const uint8_t *bytes = storage->bytes();
  uint64_t n;
  std::memcpy(&n, bytes, 8);
  return bytes + 8 + n + info.begin;
}

static std::string shapeString(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

Error SafetensorsFile::copyTo(std::string_view name, DType dtype,
                              const std::vector<int64_t> &shape,
                              void *out) const {
  const TensorInfo *info = find(name);
  if (!info)
    return Error::failure(fileName + ": missing tensor '" + std::string(name) +
                          "'");
  if (info->dtype != dtype)
    return Error::failure(fileName + ": tensor '" + info->name + "' is " +
                          dtypeName(info->dtype) + ", expected " +
                          dtypeName(dtype));
  if (info->shape != shape)
    return Error::failure(fileName + ": tensor '" + info->name +
                          "' has shape " + shapeString(info->shape) +
                          ", expected " + shapeString(shape));
  if (info->nbytes())
    std::memcpy(out, data(*info), info->nbytes());
  return Error::success();
}

//===----------------------------------------------------------------------===//
// Writer
//===----------------------------------------------------------------------===//

void SafetensorsWriter::setMetadata(std::string key, std::string value) {
  meta[std::move(key)] = std::move(value);
}

Error SafetensorsWriter::add(std::string name, DType dtype,
                             std::vector<int64_t> shape, const void *data) {
  if (name.empty() || name == "__metadata__")
    return Error::failure("safetensors: invalid tensor name '" + name + "'");
  for (const Entry &e : entries)
    if (e.name == name)
      return Error::failure("safetensors: duplicate tensor '" + name + "'");
  uint64_t bits = dtypeBits(dtype);
  for (int64_t d : shape)
    if (d < 0 || mulOverflow(bits, static_cast<uint64_t>(d), bits))
      return Error::failure("safetensors: tensor '" + name +
                            "': invalid shape " + shapeString(shape));
  if (bits % 8 != 0)
    return Error::failure("safetensors: tensor '" + name +
                          "': size is not a whole number of bytes");
  entries.push_back({std::move(name), dtype, std::move(shape), data, bits / 8});
  return Error::success();
}

Expected<std::string>
SafetensorsWriter::layout(std::vector<const Entry *> &order) const {
  order.clear();
  for (const Entry &e : entries)
    order.push_back(&e);
  // The reference writer: larger (more aligned) dtypes first, then by name.
  std::sort(order.begin(), order.end(), [](const Entry *a, const Entry *b) {
    unsigned ba = dtypeBits(a->dtype), bb = dtypeBits(b->dtype);
    return ba != bb ? ba > bb : a->name < b->name;
  });
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!meta.empty())
    header["__metadata__"] = meta;
  uint64_t offset = 0;
  for (const Entry *e : order) {
    header[e->name] = {{"dtype", dtypeName(e->dtype)},
                       {"shape", e->shape},
                       {"data_offsets", {offset, offset + e->nbytes}}};
    offset += e->nbytes;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception &) {
    return Error::failure("safetensors: tensor names and metadata must be "
                          "valid UTF-8");
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  if (text.size() > kMaxSafetensorsHeader)
    return Error::failure("safetensors: header of " +
                          std::to_string(text.size()) + " bytes is too large");
  uint64_t n = text.size();
  std::string out(8, '\0');
  std::memcpy(out.data(), &n, 8);
  return out + text;
}

Expected<std::string> SafetensorsWriter::serialize() const {
  std::vector<const Entry *> order;
  Expected<std::string> head = layout(order);
  if (!head)
    return head;
  std::string out = std::move(*head);
  for (const Entry *e : order)
    out.append(static_cast<const char *>(e->data), e->nbytes);
  return out;
}

Error SafetensorsWriter::write(const std::string &path) const {
  std::vector<const Entry *> order;
  Expected<std::string> head = layout(order);
  if (!head)
    return Error::failure(path + ": " + head.message());
  std::vector<std::string_view> pieces{*head};
  for (const Entry *e : order)
    pieces.emplace_back(static_cast<const char *>(e->data), e->nbytes);
  return writeFileAtomic(path, pieces);
}

} // namespace circ::rt

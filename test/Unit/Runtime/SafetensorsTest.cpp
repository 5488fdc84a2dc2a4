//===- SafetensorsTest.cpp - safetensors reader/writer tests
//---------------===//
#include "circ_runtime/Safetensors.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <unistd.h>

using namespace circ::rt;

namespace {

/// A file image assembled by hand: u64 length, header text, data bytes.
std::string rawFile(const std::string &header, const std::string &data,
                    uint64_t lengthField = UINT64_MAX) {
  uint64_t n = lengthField == UINT64_MAX ? header.size() : lengthField;
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i)
    out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header + data;
}

std::string tempDir() {
  char tmpl[] = "/tmp/circ-st-XXXXXX";
  return mkdtemp(tmpl);
}

// Tests that the writer's bytes are exactly the format: length prefix,
// compact JSON in reference order (larger dtypes first, then by name), space
// padding to a multiple of 8, then the data.
TEST(Safetensors, WriterProducesExactBytes) {
  int32_t a[2] = {1, -2};
  float b[1] = {1.5f};
  uint8_t c[3] = {7, 8, 9};
  SafetensorsWriter w;
  ASSERT_FALSE(w.add("c", DType::U8, {3}, c));
  ASSERT_FALSE(w.add("a", DType::I32, {2}, a));
  ASSERT_FALSE(w.add("b", DType::F32, {}, b));
  w.setMetadata("k", "v");
  auto bytes = w.serialize();
  ASSERT_TRUE(bytes) << bytes.message();
  std::string json =
      R"({"__metadata__":{"k":"v"},"a":{"dtype":"I32","shape":[2],"data_offsets":[0,8]},)"
      R"("b":{"dtype":"F32","shape":[],"data_offsets":[8,12]},)"
      R"("c":{"dtype":"U8","shape":[3],"data_offsets":[12,15]}})";
  json.append((8 - json.size() % 8) % 8, ' ');
  std::string data(reinterpret_cast<char *>(a), 8);
  data += std::string(reinterpret_cast<char *>(b), 4);
  data += std::string(reinterpret_cast<char *>(c), 3);
  EXPECT_EQ(*bytes, rawFile(json, data));
  EXPECT_EQ((bytes->size() - data.size()) % 8, 0u);
}

// Tests that every dtype the project writes survives a file round trip, with
// scalars, empty tensors and metadata, through the mmap reader.
TEST(Safetensors, FileRoundTrip) {
  std::vector<float> f(6);
  for (int i = 0; i < 6; ++i)
    f[i] = 0.25f * i - 1.0f;
  std::vector<int64_t> i64 = {INT64_MIN, -1, 0, INT64_MAX};
  int32_t scalar = 42;
  SafetensorsWriter w;
  ASSERT_FALSE(w.add("w.weight", DType::F32, {2, 3}, f.data()));
  ASSERT_FALSE(w.add("step", DType::I64, {2, 2}, i64.data()));
  ASSERT_FALSE(w.add("scalar", DType::I32, {}, &scalar));
  ASSERT_FALSE(w.add("empty", DType::F32, {0, 5}, nullptr));
  w.setMetadata("circ.format", "test");
  w.setMetadata("unicode", "π ≈ 3.14 \"quoted\"\n");
  std::string dir = tempDir();
  std::string path = dir + "/x.safetensors";
  ASSERT_FALSE(w.write(path));

  auto file = SafetensorsFile::open(path);
  ASSERT_TRUE(file) << file.message();
  EXPECT_EQ(file->tensors().size(), 4u);
  EXPECT_EQ(*file->metadataValue("unicode"), "π ≈ 3.14 \"quoted\"\n");
  std::vector<float> fo(6);
  ASSERT_FALSE(file->copyTo("w.weight", DType::F32, {2, 3}, fo.data()));
  EXPECT_EQ(fo, f);
  std::vector<int64_t> io(4);
  ASSERT_FALSE(file->copyTo("step", DType::I64, {2, 2}, io.data()));
  EXPECT_EQ(io, i64);
  int32_t so = 0;
  ASSERT_FALSE(file->copyTo("scalar", DType::I32, {}, &so));
  EXPECT_EQ(so, 42);
  const TensorInfo *e = file->find("empty");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->nbytes(), 0u);
  EXPECT_EQ(e->shape, (std::vector<int64_t>{0, 5}));

  // No temporary is left behind.
  DIR *d = opendir(dir.c_str());
  int entries = 0;
  while (dirent *ent = readdir(d))
    entries += ent->d_name[0] != '.';
  closedir(d);
  EXPECT_EQ(entries, 1);

  // Overwriting replaces the file.
  SafetensorsWriter w2;
  ASSERT_FALSE(w2.add("only", DType::I32, {}, &scalar));
  ASSERT_FALSE(w2.write(path));
  auto again = SafetensorsFile::open(path);
  ASSERT_TRUE(again) << again.message();
  EXPECT_EQ(again->tensors().size(), 1u);
  std::remove(path.c_str());
  rmdir(dir.c_str());
}

// Tests that a file written by another tool (hand-built header, unsorted
// keys, F16/BF16 data, unpadded header length) is read.
TEST(Safetensors, ReadsForeignLayoutAndHalfTypes) {
  std::string header =
      R"({"h":{"dtype":"BF16","shape":[2],"data_offsets":[4,8]},)"
      R"("__metadata__":{"format":"pt"},)"
      R"("g":{"dtype":"F16","shape":[1,2],"data_offsets":[0,4]}})";
  std::string data("\x00\x3c\x00\xc0\x80\x3f\x00\x40", 8);
  auto file = SafetensorsFile::fromBytes(rawFile(header, data), "f");
  ASSERT_TRUE(file) << file.message();
  ASSERT_EQ(file->tensors().size(), 2u);
  EXPECT_EQ(file->tensors()[0].name, "g"); // buffer order
  EXPECT_EQ(file->tensors()[0].dtype, DType::F16);
  EXPECT_EQ(file->tensors()[1].dtype, DType::BF16);
  uint16_t bf[2];
  ASSERT_FALSE(file->copyTo("h", DType::BF16, {2}, bf));
  EXPECT_EQ(bf[0], 0x3f80); // 1.0 in bfloat16
  EXPECT_EQ(*file->metadataValue("format"), "pt");
}

struct Rejection {
  const char *what;
  std::string image;
  const char *expected; ///< substring of the message
};

// Tests that each malformed file is refused with a message naming the file
// and the problem (the reference reader's checks).
TEST(Safetensors, RejectsMalformedFiles) {
  const std::string good =
      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("b":{"dtype":"I32","shape":[1],"data_offsets":[8,12]}})";
  const std::string data12(12, '\x01');
  ASSERT_TRUE(SafetensorsFile::fromBytes(rawFile(good, data12), "ok"));
  std::string full = rawFile(good, data12);
  std::vector<Rejection> cases = {
      {"empty file", "", "too short"},
      {"short length", std::string(5, '\0'), "too short"},
      {"truncated data", full.substr(0, full.size() - 1), "truncated"},
      {"truncated header", full.substr(0, 8 + good.size() / 2), "truncated"},
      {"length past end", rawFile(good, data12, good.size() + 100),
       "runs past the end"},
      {"huge length", rawFile(good, data12, 200'000'000), "exceeds the limit"},
      {"not json start", rawFile("[1,2]", ""), "does not start with '{'"},
      {"zero length", rawFile("", "", 0), "does not start with '{'"},
      {"invalid json", rawFile("{\"a\":", ""), "not valid UTF-8 JSON"},
      {"invalid utf8", rawFile("{\"__metadata__\":{\"k\":\"\xff\"}}", ""),
       "not valid UTF-8"},
      {"duplicate names",
       rawFile(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
               R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
               std::string(8, '\0')),
       "duplicate key 'a'"},
      {"overlapping offsets",
       rawFile(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
               R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
               std::string(8, '\0')),
       "overlaps"},
      {"gap",
       rawFile(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
               std::string(8, '\0')),
       "gap"},
      {"wrong dtype size",
       rawFile(R"({"a":{"dtype":"F64","shape":[2],"data_offsets":[0,8]}})",
               std::string(8, '\0')),
       "do not hold 16 bytes"},
      {"trailing bytes", rawFile(good, data12 + "xyz"), "3 trailing bytes"},
      {"unknown dtype",
       rawFile(R"({"a":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}})",
               std::string(16, '\0')),
       "unknown dtype 'F128'"},
      {"negative dim",
       rawFile(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})",
               std::string(4, '\0')),
       "non-negative"},
      {"overflowing shape",
       rawFile(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],)"
               R"("data_offsets":[0,4]}})",
               std::string(4, '\0')),
       "overflows"},
      {"metadata not string", rawFile(R"({"__metadata__":{"k":1}})", ""),
       "is not a string"},
      {"missing field",
       rawFile(R"({"a":{"dtype":"F32","shape":[1]}})", std::string(4, '\0')),
       "needs dtype, shape and data_offsets"},
      {"reversed offsets",
       rawFile(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}})",
               std::string(4, '\0')),
       "do not hold"},
  };
  for (const Rejection &c : cases) {
    auto file = SafetensorsFile::fromBytes(c.image, "bad.safetensors");
    ASSERT_FALSE(file) << c.what;
    EXPECT_NE(file.message().find("bad.safetensors: "), std::string::npos)
        << c.what << ": " << file.message();
    EXPECT_NE(file.message().find(c.expected), std::string::npos)
        << c.what << ": " << file.message();
  }
}

// Tests that the mmap path refuses a truncated file on disk and a missing one.
TEST(Safetensors, RejectsTruncatedFileOnDisk) {
  std::vector<float> v(100, 1.0f);
  SafetensorsWriter w;
  ASSERT_FALSE(w.add("v", DType::F32, {100}, v.data()));
  std::string dir = tempDir();
  std::string path = dir + "/t.safetensors";
  ASSERT_FALSE(w.write(path));
  ASSERT_EQ(truncate(path.c_str(), 200), 0);
  auto file = SafetensorsFile::open(path);
  ASSERT_FALSE(file);
  EXPECT_EQ(file.message().rfind(path + ": truncated", 0), 0u)
      << file.message();
  std::remove(path.c_str());
  auto missing = SafetensorsFile::open(path);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.message().find("No such file"), std::string::npos);
  rmdir(dir.c_str());
}

// Tests copyTo's checks and the writer's refusals.
TEST(Safetensors, CopyAndWriterChecks) {
  float v[4] = {1, 2, 3, 4};
  SafetensorsWriter w;
  ASSERT_FALSE(w.add("v", DType::F32, {2, 2}, v));
  EXPECT_TRUE(w.add("v", DType::F32, {2, 2}, v));
  EXPECT_TRUE(w.add("__metadata__", DType::F32, {1}, v));
  EXPECT_TRUE(w.add("n", DType::F32, {-1}, v));
  EXPECT_TRUE(w.add("f4", DType::F4, {3}, v)); // 12 bits
  auto bytes = w.serialize();
  ASSERT_TRUE(bytes);
  auto file = SafetensorsFile::fromBytes(*bytes, "c");
  ASSERT_TRUE(file);
  float out[4];
  Error e = file->copyTo("v", DType::I32, {2, 2}, out);
  ASSERT_TRUE(e);
  EXPECT_NE(e.message().find("is F32, expected I32"), std::string::npos);
  e = file->copyTo("v", DType::F32, {4}, out);
  ASSERT_TRUE(e);
  EXPECT_NE(e.message().find("has shape [2, 2], expected [4]"),
            std::string::npos);
  e = file->copyTo("w", DType::F32, {4}, out);
  ASSERT_TRUE(e);
  EXPECT_NE(e.message().find("missing tensor 'w'"), std::string::npos);
  EXPECT_FALSE(file->copyTo("v", DType::F32, {2, 2}, out));
  EXPECT_EQ(std::memcmp(out, v, sizeof(v)), 0);
  // A directory that does not exist: the error names the temporary path.
  Error we = w.write("/nonexistent-dir/x.safetensors");
  ASSERT_TRUE(we);
  EXPECT_NE(we.message().find("/nonexistent-dir/x.safetensors.tmp."),
            std::string::npos);
}

} // namespace

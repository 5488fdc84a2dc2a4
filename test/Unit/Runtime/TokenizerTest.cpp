//===- TokenizerTest.cpp - byte-level BPE tests
//----------------------------===//
#include "circ_runtime/Tokenizer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <random>
#include <unistd.h>

using namespace circ::rt;

namespace {

PreTokenizer paperPattern() {
  auto pre = PreTokenizer::compile(kTinyPythonPattern);
  EXPECT_TRUE(pre) << pre.message();
  return *pre;
}

std::vector<std::string> split(const std::string &text) {
  std::vector<std::string> pieces;
  Error e = paperPattern().split(
      text, [&](std::string_view p) { pieces.emplace_back(p); });
  EXPECT_FALSE(e) << e.message();
  return pieces;
}

Tokenizer trainOn(const std::vector<std::string> &texts, int vocab) {
  WordCounts counts(paperPattern());
  for (const std::string &t : texts)
    EXPECT_FALSE(counts.add(t));
  auto tok = Tokenizer::train(counts, vocab);
  EXPECT_TRUE(tok) << tok.message();
  return *tok;
}

std::vector<std::pair<std::string, std::string>>
mergeBytes(const Tokenizer &t) {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto [a, b] : t.merges())
    out.emplace_back(t.tokenBytes(a), t.tokenBytes(b));
  return out;
}

// Tests the split against hand-derived examples; each expectation was also
// checked with Python's `regex` module, the engine tiktoken's pattern targets.
TEST(PreTokenizer, SplitsLikeThePaperPattern) {
  using V = std::vector<std::string>;
  EXPECT_EQ(split("  def foo(x):\n"), (V{" ", " def", " foo", "(x", "):\n"}));
  EXPECT_EQ(split("x = 12345\n"), (V{"x", " =", " ", "123", "45", "\n"}));
  EXPECT_EQ(split("\tif a:\n\t\treturn 'b'\n"),
            (V{"\tif", " a", ":\n", "\t", "\treturn", " '", "b", "'\n"}));
  EXPECT_EQ(split("héllo wörld 日本語"), (V{"héllo", " wörld", " 日本語"}));
  EXPECT_EQ(split("π=3.14"), (V{"π", "=", "3", ".", "14"}));
  EXPECT_EQ(split("a  \n\n  b"), (V{"a", "  \n\n", " ", " b"}));
  EXPECT_EQ(split("a/b//c"), (V{"a", "/b", "//", "c"}));
  EXPECT_EQ(split("x  \u00a0y\u3000 z"),
            (V{"x", "  ", "\u00a0y", "\u3000", " z"}));
  EXPECT_EQ(split("  # comment\r\n    pass"),
            (V{" ", " #", " comment", "\r\n", "   ", " pass"}));
  EXPECT_EQ(split(""), V{});
}

// Tests that bytes the UTF-8 pattern cannot match become pieces of their own
// and that pieces always concatenate to the input.
TEST(PreTokenizer, KeepsInvalidUtf8) {
  using V = std::vector<std::string>;
  EXPECT_EQ(split("ab\xff\xfe cd\xc3"), (V{"ab", "\xff\xfe", " cd", "\xc3"}));
  // NUL is a valid character, not a letter: it may lead a word.
  EXPECT_EQ(split(std::string("a\0b", 3)), (V{"a", std::string("\0b", 2)}));
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    std::string s(rng() % 300, '\0');
    for (char &c : s)
      c = static_cast<char>(rng() % 4 == 0 ? ' ' : rng() % 256);
    std::string joined;
    for (const std::string &p : split(s)) {
      EXPECT_FALSE(p.empty());
      joined += p;
    }
    EXPECT_EQ(joined, s);
  }
}

TEST(PreTokenizer, RejectsBadPattern) {
  auto pre = PreTokenizer::compile("(a");
  ASSERT_FALSE(pre);
  EXPECT_NE(pre.message().find("invalid pre-tokenisation pattern at offset 2"),
            std::string::npos)
      << pre.message();
}

// Tests GPT-2's byte alphabet and tiktoken's byte-token order on values known
// from GPT-2's own vocabulary (220 = "Ġ", 198 = "Ċ").
TEST(Tokenizer, Gpt2ByteAlphabet) {
  EXPECT_EQ(gpt2Spelling(" "), "Ġ");
  EXPECT_EQ(gpt2Spelling("\n"), "Ċ");
  EXPECT_EQ(gpt2Spelling("\t"), "ĉ");
  EXPECT_EQ(gpt2Spelling(std::string("\0", 1)), "Ā");
  EXPECT_EQ(gpt2Spelling("\xa0"), "ł");
  EXPECT_EQ(gpt2Spelling("\xad"), "Ń");
  EXPECT_EQ(gpt2Spelling("a~\xff"), "a~ÿ");
  std::string all;
  for (int b = 0; b < 256; ++b)
    all += static_cast<char>(b);
  std::string back;
  ASSERT_TRUE(gpt2Bytes(gpt2Spelling(all), back));
  EXPECT_EQ(back, all);
  EXPECT_FALSE(gpt2Bytes("€", back));

  Tokenizer t = trainOn({"x"}, 257);
  EXPECT_EQ(t.tokenBytes(0), "!");
  EXPECT_EQ(t.tokenBytes(93), "~");
  EXPECT_EQ(t.tokenBytes(188), std::string("\0", 1));
  EXPECT_EQ(t.tokenBytes(198), "\n");
  EXPECT_EQ(t.tokenBytes(220), " ");
  EXPECT_EQ(t.vocabSize(), 257);
  EXPECT_EQ(t.eotId(), 256);
  EXPECT_EQ(t.tokenBytes(256), kEndOfText);
}

// Tests training on corpora whose merges were computed by hand.
TEST(Tokenizer, TrainsHandComputedMerges) {
  using M = std::vector<std::pair<std::string, std::string>>;
  // "abab abab ab": (a,b)=5 first; then ( ,ab) and (ab,ab) tie at 2 and the
  // smaller bytes " " wins; then ( ab,ab) and (ab,ab) tie at 1, " ab" wins.
  Tokenizer t = trainOn({"abab abab ab"}, 260);
  EXPECT_EQ(mergeBytes(t), (M{{"a", "b"}, {" ", "ab"}, {" ab", "ab"}}));
  EXPECT_EQ(t.vocabSize(), 260);
  EXPECT_EQ(t.eotId(), 259);
  EXPECT_EQ(t.tokenBytes(256), "ab");
  EXPECT_EQ(t.tokenBytes(258), " abab");
  auto ids = t.encode("abab ab");
  ASSERT_TRUE(ids);
  EXPECT_EQ(*ids, (std::vector<int32_t>{256, 256, 257}));

  // Overlapping pairs: "aaa aaa" counts (a,a) twice per word.
  Tokenizer o = trainOn({"aaa aaa"}, 260);
  EXPECT_EQ(mergeBytes(o), (M{{"a", "a"}, {"aa", "a"}, {" ", "aaa"}}));

  // The corpus runs out of pairs: fewer merges, EOT still last.
  Tokenizer s = trainOn({"aaaa"}, 300);
  EXPECT_EQ(mergeBytes(s), (M{{"a", "a"}, {"aa", "aa"}}));
  EXPECT_EQ(s.vocabSize(), 259);
  EXPECT_EQ(s.eotId(), 258);
  EXPECT_FALSE(Tokenizer::train(WordCounts(paperPattern()), 256));
}

/// Reference trainer: recounts every pair from scratch at each step and
/// merges all occurrences left to right.
std::vector<std::pair<std::string, std::string>>
naiveTrain(const WordCounts &counts, int numMerges) {
  std::vector<std::vector<std::string>> words;
  std::vector<uint64_t> freq;
  for (const auto &[w, c] : counts.counts()) {
    std::vector<std::string> s;
    for (char ch : w)
      s.emplace_back(1, ch);
    words.push_back(s);
    freq.push_back(c);
  }
  std::vector<std::pair<std::string, std::string>> merges;
  for (int m = 0; m < numMerges; ++m) {
    std::map<std::pair<std::string, std::string>, uint64_t> pairs;
    for (size_t w = 0; w < words.size(); ++w)
      for (size_t i = 0; i + 1 < words[w].size(); ++i)
        pairs[{words[w][i], words[w][i + 1]}] += freq[w];
    if (pairs.empty())
      break;
    // Max count; the map's order makes the first maximum the smallest pair.
    auto best = pairs.begin();
    for (auto it = pairs.begin(); it != pairs.end(); ++it)
      if (it->second > best->second)
        best = it;
    merges.push_back(best->first);
    for (auto &s : words) {
      std::vector<std::string> out;
      for (size_t i = 0; i < s.size();) {
        if (i + 1 < s.size() && s[i] == best->first.first &&
            s[i + 1] == best->first.second) {
          out.push_back(s[i] + s[i + 1]);
          i += 2;
        } else {
          out.push_back(s[i++]);
        }
      }
      s = out;
    }
  }
  return merges;
}

std::string randomCode(std::mt19937 &rng, size_t n) {
  static const char *atoms[] = {"def", " ",   "  ", "    ", "self", ".", "(",
                                ")",   ":\n", "x",  "a",    "aa",   "b", "=",
                                "0",   "12",  "\n", "ab",   "ba",   "é", "\t"};
  std::string s;
  while (s.size() < n)
    s += atoms[rng() % (sizeof(atoms) / sizeof(atoms[0]))];
  return s;
}

// Tests the incremental trainer against the from-scratch reference on a
// corpus with many ties and overlapping pairs.
TEST(Tokenizer, TrainingMatchesNaiveReference) {
  std::mt19937 rng(1234);
  WordCounts counts(paperPattern());
  for (int d = 0; d < 40; ++d)
    ASSERT_FALSE(counts.add(randomCode(rng, 400)));
  auto tok = Tokenizer::train(counts, 257 + 120);
  ASSERT_TRUE(tok) << tok.message();
  auto expected = naiveTrain(counts, 120);
  EXPECT_EQ(mergeBytes(*tok), expected);
}

/// Reference encoder for one piece: repeatedly merge the lowest-ranked
/// adjacent pair, leftmost among equals.
struct NaiveEncoder {
  const Tokenizer &t;
  std::map<std::string, int32_t> idOf;
  std::map<std::pair<int32_t, int32_t>, int32_t> rank;

  explicit NaiveEncoder(const Tokenizer &t) : t(t) {
    for (int32_t id = 0; id < t.vocabSize(); ++id)
      if (id != t.eotId())
        idOf[t.tokenBytes(id)] = id;
    for (size_t r = 0; r < t.merges().size(); ++r)
      rank[t.merges()[r]] = static_cast<int32_t>(r);
  }
  std::vector<int32_t> encodePiece(const std::string &piece) const;
};

std::vector<int32_t> NaiveEncoder::encodePiece(const std::string &piece) const {
  std::vector<int32_t> s;
  for (char c : piece)
    s.push_back(idOf.at(std::string(1, c)));
  for (;;) {
    int32_t bestRank = INT32_MAX;
    size_t at = 0;
    for (size_t i = 0; i + 1 < s.size(); ++i) {
      auto it = rank.find({s[i], s[i + 1]});
      if (it != rank.end() && it->second < bestRank) {
        bestRank = it->second;
        at = i;
      }
    }
    if (bestRank == INT32_MAX)
      return s;
    s[at] = idOf.at(t.tokenBytes(s[at]) + t.tokenBytes(s[at + 1]));
    s.erase(s.begin() + at + 1);
  }
}

// Tests encoding against the reference encoder, piece by piece, including
// long pieces that bypass the cache, and the exact round trip on random
// bytes (invalid UTF-8, NULs, long runs).
TEST(Tokenizer, EncodesLikeReferenceAndRoundTrips) {
  std::mt19937 rng(99);
  std::vector<std::string> corpus;
  for (int d = 0; d < 30; ++d)
    corpus.push_back(randomCode(rng, 600));
  corpus.push_back(std::string(1000, ' ') + std::string(700, 'a'));
  Tokenizer t = trainOn(corpus, 400);
  NaiveEncoder naive(t);
  EncodeCache cache;
  for (int trial = 0; trial < 60; ++trial) {
    std::string text = randomCode(rng, 300);
    if (trial % 3 == 0)
      text += std::string(300 + rng() % 500, trial % 2 ? 'a' : ' ') + "x";
    std::vector<int32_t> expected;
    for (const std::string &piece : split(text)) {
      auto ids = naive.encodePiece(piece);
      expected.insert(expected.end(), ids.begin(), ids.end());
    }
    std::vector<int32_t> got;
    ASSERT_FALSE(t.encode(text, got, cache));
    EXPECT_EQ(got, expected);
  }
  for (int trial = 0; trial < 300; ++trial) {
    std::string s(rng() % 2000, '\0');
    for (char &c : s)
      c = static_cast<char>(rng() % 3 == 0 ? 'a' : rng() % 256);
    if (trial % 10 == 0)
      s = std::string(5000 + trial, trial % 20 ? ' ' : 'b');
    std::vector<int32_t> ids;
    ASSERT_FALSE(t.encode(s, ids, cache));
    for (int32_t id : ids)
      ASSERT_NE(id, t.eotId());
    auto back = t.decode(ids);
    ASSERT_TRUE(back);
    ASSERT_EQ(*back, s) << "trial " << trial;
  }
}

// Tests that <|endoftext|> in text is encoded as ordinary bytes and that
// decode refuses ids outside the vocabulary.
TEST(Tokenizer, EndOfTextIsSpecial) {
  Tokenizer t = trainOn({"hello world <|endoftext|> hello"}, 300);
  EXPECT_EQ(t.eotId(), t.vocabSize() - 1);
  auto ids = t.encode("a<|endoftext|>b");
  ASSERT_TRUE(ids);
  EXPECT_EQ(std::count(ids->begin(), ids->end(), t.eotId()), 0);
  int32_t eot = t.eotId();
  EXPECT_EQ(*t.decode(&eot, 1), kEndOfText);
  std::vector<int32_t> bad = {1, t.vocabSize()};
  auto d = t.decode(bad);
  ASSERT_FALSE(d);
  EXPECT_NE(d.message().find("cannot decode token id " +
                             std::to_string(t.vocabSize()) + " at position 1"),
            std::string::npos);
}

std::string tempDir() {
  char tmpl[] = "/tmp/circ-tok-XXXXXX";
  return mkdtemp(tmpl);
}

// Tests that the JSON and data-gym files reproduce the same tokenizer.
TEST(Tokenizer, SavesAndLoads) {
  std::mt19937 rng(5);
  std::vector<std::string> corpus;
  for (int d = 0; d < 10; ++d)
    corpus.push_back(randomCode(rng, 500));
  Tokenizer t = trainOn(corpus, 320);
  std::string dir = tempDir();
  ASSERT_FALSE(t.save(dir + "/tokenizer.json"));
  ASSERT_FALSE(t.saveDataGym(dir));
  auto fromJson = Tokenizer::load(dir + "/tokenizer.json");
  ASSERT_TRUE(fromJson) << fromJson.message();
  auto fromDir = Tokenizer::load(dir);
  ASSERT_TRUE(fromDir) << fromDir.message();
  auto fromGym = Tokenizer::load(dir + "/encoder.json");
  ASSERT_TRUE(fromGym) << fromGym.message();
  for (const Tokenizer *u : {&*fromJson, &*fromDir, &*fromGym}) {
    EXPECT_EQ(u->fingerprint(), t.fingerprint());
    EXPECT_EQ(u->toJson(), t.toJson());
    EXPECT_EQ(*u->encode(corpus[0]), *t.encode(corpus[0]));
  }
  // The JSON is what the header documents.
  std::string json = t.toJson();
  EXPECT_NE(json.find("\"format\": \"circ-bpe-v1\""), std::string::npos);
  EXPECT_NE(json.find("\"<|endoftext|>\": 319"), std::string::npos);
  EXPECT_NE(json.find("\"Ġ\": 220"), std::string::npos);
  for (const char *f : {"/tokenizer.json", "/encoder.json", "/vocab.bpe"})
    std::remove((dir + f).c_str());
  rmdir(dir.c_str());
}

// Tests that foreign or inconsistent tokenizer files are refused clearly.
TEST(Tokenizer, RejectsBadFiles) {
  Tokenizer t = trainOn({"abab abab ab"}, 260);
  std::string good = t.toJson();
  auto replaced = [&](const std::string &from, const std::string &to) {
    std::string s = good;
    size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return s.replace(at, from.size(), to);
  };
  struct Case {
    std::string text;
    const char *expected;
  };
  std::vector<Case> cases = {
      {"not json", "not a JSON object"},
      {"{}", "not a circ tokenizer"},
      {replaced("circ-bpe-v1", "circ-bpe-v9"), "not a circ tokenizer"},
      {replaced("\"Ġ ab\"", "\"Ġ zz\""), "missing from the vocabulary"},
      {replaced("\"Ġ ab\"", "\"Ġab\""), "not two tokens"},
      {replaced("\"ab\": 256", "\"ab\": 1"), "each used once"},
      {replaced("\"!\": 0", "\"!!\": 0"), "missing the token for byte 33"},
      {replaced("\"vocab_size\": 260", "\"vocab_size\": 261"),
       "vocab_size does not match"},
      {replaced("\"pattern\": \"", "\"pattern\": \"(("),
       "invalid pre-tokenisation pattern"},
      {replaced("\"special_tokens\": {\n    \"<|endoftext|>\": 259\n  }",
                "\"special_tokens\": {}"),
       "no <|endoftext|> special token"},
  };
  for (const Case &c : cases) {
    auto r = Tokenizer::fromJson(c.text, "tok.json");
    ASSERT_FALSE(r) << c.expected;
    EXPECT_EQ(r.message().rfind("tok.json: ", 0), 0u) << r.message();
    EXPECT_NE(r.message().find(c.expected), std::string::npos) << r.message();
  }
  auto missing = Tokenizer::load("/nonexistent/tokenizer.json");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.message().find("No such file"), std::string::npos);
}

} // namespace

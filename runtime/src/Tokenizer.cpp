//===- Tokenizer.cpp - byte-level BPE tokenizer ---------------------------===//
#include "circ_runtime/Tokenizer.h"

#include "FileUtil.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <queue>
#include <sys/stat.h>

namespace circ::rt {

const char *const kTinyPythonPattern =
    R"([^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char *const kEndOfText = "<|endoftext|>";

//===----------------------------------------------------------------------===//
// GPT-2 byte order and byte-to-unicode spelling
//===----------------------------------------------------------------------===//

namespace {
/// GPT-2's bytes_to_unicode(): the printable bytes keep their code point, the
/// others map to 256, 257, ... in byte order. Token id i of the byte tokens is
/// byte `order[i]` (printable bytes first), as tiktoken numbers them.
struct ByteTables {
  uint8_t order[256];
  int32_t rank[256];
  uint32_t codepoint[256];
  int16_t fromCodepoint[512];

  ByteTables() {
    auto printable = [](int b) {
      return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) ||
             (b >= 0xAE && b <= 0xFF);
    };
    int n = 0, extra = 0;
    for (int b = 0; b < 256; ++b)
      if (printable(b)) {
        order[n++] = static_cast<uint8_t>(b);
        codepoint[b] = static_cast<uint32_t>(b);
      }
    for (int b = 0; b < 256; ++b)
      if (!printable(b)) {
        order[n++] = static_cast<uint8_t>(b);
        codepoint[b] = static_cast<uint32_t>(256 + extra++);
      }
    std::fill(std::begin(fromCodepoint), std::end(fromCodepoint), -1);
    for (int i = 0; i < 256; ++i) {
      rank[order[i]] = i;
      fromCodepoint[codepoint[order[i]]] = order[i];
    }
  }
};
const ByteTables &byteTables() {
  static const ByteTables tables;
  return tables;
}

void appendUtf8(std::string &out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}
} // namespace

std::string gpt2Spelling(std::string_view bytes) {
  const ByteTables &t = byteTables();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes)
    appendUtf8(out, t.codepoint[c]); // all code points are < 0x800
  return out;
}

bool gpt2Bytes(std::string_view spelling, std::string &bytes) {
  const ByteTables &t = byteTables();
  bytes.clear();
  for (size_t i = 0; i < spelling.size();) {
    unsigned char c = spelling[i];
    uint32_t cp;
    if (c < 0x80) {
      cp = c;
      i += 1;
    } else if ((c & 0xE0) == 0xC0 && i + 1 < spelling.size() &&
               (spelling[i + 1] & 0xC0) == 0x80) {
      cp = ((c & 0x1Fu) << 6) | (spelling[i + 1] & 0x3Fu);
      i += 2;
    } else {
      return false;
    }
    if (cp >= 512 || t.fromCodepoint[cp] < 0)
      return false;
    bytes += static_cast<char>(t.fromCodepoint[cp]);
  }
  return true;
}

//===----------------------------------------------------------------------===//
// Pre-tokenisation
//===----------------------------------------------------------------------===//

struct PreTokenizer::Impl {
  std::string pattern;
  pcre2_code *code = nullptr;
  bool jit = false;
  ~Impl() { pcre2_code_free(code); }
};

Expected<PreTokenizer> PreTokenizer::compile(const std::string &pattern) {
  int errorCode;
  PCRE2_SIZE errorOffset;
  // UCP: \s and friends are Unicode-aware, as in tiktoken's regex engine.
  // MATCH_INVALID_UTF: invalid sequences are never matched instead of failing
  // the whole match; split() turns them into pre-tokens of their own.
  pcre2_code *code = pcre2_compile(
      reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
      PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &errorCode, &errorOffset,
      nullptr);
  if (!code) {
    PCRE2_UCHAR buf[256];
    pcre2_get_error_message(errorCode, buf, sizeof(buf));
    return Error::failure("invalid pre-tokenisation pattern at offset " +
                          std::to_string(errorOffset) + ": " +
                          reinterpret_cast<const char *>(buf));
  }
  auto impl = std::make_shared<Impl>();
  impl->pattern = pattern;
  impl->code = code;
  // Without JIT support PCRE2 interprets the pattern: slower, same result.
  impl->jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
  PreTokenizer p;
  p.impl = std::move(impl);
  return p;
}

const std::string &PreTokenizer::pattern() const { return impl->pattern; }

/// Calls fn for every pre-token; text the pattern cannot match (invalid
/// UTF-8) becomes a piece of its own. Returns a PCRE2 error code or 0.
template <typename Fn>
static int splitPieces(const PreTokenizer::Impl &pre, pcre2_match_data *md,
                       std::string_view text, Fn &&fn) {
  auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t pos = 0;
  while (pos < text.size()) {
    // pcre2_jit_match skips pcre2_match's option checks (~15% of the time).
    int rc = pre.jit ? pcre2_jit_match(pre.code, subject, text.size(), pos,
                                       PCRE2_NOTEMPTY, md, nullptr)
                     : pcre2_match(pre.code, subject, text.size(), pos,
                                   PCRE2_NOTEMPTY, md, nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) {
      fn(text.substr(pos));
      return 0;
    }
    if (rc < 0)
      return rc;
    const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    if (ov[0] > pos)
      fn(text.substr(pos, ov[0] - pos));
    fn(text.substr(ov[0], ov[1] - ov[0]));
    pos = ov[1];
  }
  return 0;
}

static Error matchError(int rc) {
  PCRE2_UCHAR buf[256];
  pcre2_get_error_message(rc, buf, sizeof(buf));
  return Error::failure(std::string("pre-tokenisation failed: ") +
                        reinterpret_cast<const char *>(buf));
}

namespace {
struct MatchData {
  pcre2_match_data *md;
  explicit MatchData(const pcre2_code *code)
      : md(pcre2_match_data_create_from_pattern(code, nullptr)) {}
  ~MatchData() { pcre2_match_data_free(md); }
};
} // namespace

Error PreTokenizer::split(
    std::string_view text,
    const std::function<void(std::string_view)> &piece) const {
  MatchData md(impl->code);
  if (int rc = splitPieces(*impl, md.md, text, piece))
    return matchError(rc);
  return Error::success();
}

Error WordCounts::add(std::string_view text) {
  Error e = pre.split(text, [&](std::string_view piece) {
    ++words[std::string(piece)];
    ++total;
  });
  return e;
}

void WordCounts::merge(const WordCounts &other) {
  for (const auto &[word, count] : other.words)
    words[word] += count;
  total += other.total;
}

//===----------------------------------------------------------------------===//
// Tokenizer representation
//===----------------------------------------------------------------------===//

namespace {
inline uint64_t pairKey(uint32_t a, uint32_t b) {
  return (static_cast<uint64_t>(a) << 32) | b;
}

/// Open-addressing map from a token pair to its merge rank.
class PairTable {
public:
  void build(const std::vector<std::pair<int32_t, int32_t>> &merges) {
    size_t cap = 16;
    while (cap < merges.size() * 2)
      cap <<= 1;
    keys.assign(cap, kEmpty);
    ranks.assign(cap, 0);
    mask = cap - 1;
    for (size_t r = 0; r < merges.size(); ++r) {
      uint64_t key = pairKey(merges[r].first, merges[r].second);
      size_t i = slot(key);
      while (keys[i] != kEmpty)
        i = (i + 1) & mask;
      keys[i] = key;
      ranks[i] = static_cast<int32_t>(r);
    }
  }
  /// The rank of merging (a, b), or -1.
  int32_t find(uint32_t a, uint32_t b) const {
    uint64_t key = pairKey(a, b);
    for (size_t i = slot(key);; i = (i + 1) & mask) {
      if (keys[i] == key)
        return ranks[i];
      if (keys[i] == kEmpty)
        return -1;
    }
  }

private:
  static constexpr uint64_t kEmpty = ~0ull;
  size_t slot(uint64_t key) const {
    return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> 32) & mask;
  }
  std::vector<uint64_t> keys;
  std::vector<int32_t> ranks;
  size_t mask = 0;
};
} // namespace

struct Tokenizer::Impl {
  PreTokenizer pre;
  std::vector<std::string> tokens; ///< bytes of each id (text for specials)
  std::vector<bool> special;
  int32_t byteId[256];
  std::vector<std::pair<int32_t, int32_t>> merges; ///< rank order
  std::vector<int32_t> mergeResult;
  PairTable table;
  int32_t eot = -1;
  std::string json;
  uint64_t fp = 0;
};

/// Requires ids dense in [0, tokens.size()), the 256 single bytes present,
/// every merge producing the concatenation of its parts, every other token
/// either a merge result or a special token, and `<|endoftext|>` special.
Expected<Tokenizer>
Tokenizer::build(PreTokenizer pre, std::vector<std::string> tokens,
                 const std::vector<std::pair<std::string, int32_t>> &specials,
                 const std::vector<std::pair<int32_t, int32_t>> &merges,
                 const std::string &name) {
  auto fail = [&](const std::string &what) -> Expected<Tokenizer> {
    return Error::failure(name + ": invalid tokenizer: " + what);
  };
  auto impl = std::make_shared<Tokenizer::Impl>();
  const int32_t n = static_cast<int32_t>(tokens.size());
  impl->special.assign(n, false);
  for (const auto &[text, id] : specials) {
    if (id < 0 || id >= n)
      return fail("special token '" + text + "' has id " + std::to_string(id) +
                  " outside the vocabulary of " + std::to_string(n));
    if (impl->special[id])
      return fail("two special tokens share id " + std::to_string(id));
    impl->special[id] = true;
    tokens[id] = text;
    if (text == kEndOfText)
      impl->eot = id;
  }
  if (impl->eot < 0)
    return fail(std::string("no ") + kEndOfText + " special token");
  std::fill(std::begin(impl->byteId), std::end(impl->byteId), -1);
  std::vector<bool> produced(n, false);
  for (int32_t id = 0; id < n; ++id) {
    if (impl->special[id] || tokens[id].size() != 1)
      continue;
    unsigned char b = tokens[id][0];
    if (impl->byteId[b] >= 0)
      return fail("byte token " + gpt2Spelling(tokens[id]) + " appears twice");
    impl->byteId[b] = id;
    produced[id] = true;
  }
  for (int b = 0; b < 256; ++b)
    if (impl->byteId[b] < 0)
      return fail("missing the token for byte " + std::to_string(b));
  std::unordered_map<std::string, int32_t> byBytes;
  for (int32_t id = 0; id < n; ++id)
    if (!impl->special[id] && !byBytes.emplace(tokens[id], id).second)
      return fail("token '" + gpt2Spelling(tokens[id]) + "' appears twice");
  for (size_t r = 0; r < merges.size(); ++r) {
    auto [a, b] = merges[r];
    if (a < 0 || a >= n || b < 0 || b >= n || impl->special[a] ||
        impl->special[b])
      return fail("merge " + std::to_string(r) + " uses an invalid token");
    auto it = byBytes.find(tokens[a] + tokens[b]);
    if (it == byBytes.end())
      return fail("merge " + std::to_string(r) + " (" +
                  gpt2Spelling(tokens[a]) + " " + gpt2Spelling(tokens[b]) +
                  ") produces a token missing from the vocabulary");
    if (produced[it->second] && tokens[it->second].size() > 1)
      return fail("merge " + std::to_string(r) + " (" +
                  gpt2Spelling(tokens[a]) + " " + gpt2Spelling(tokens[b]) +
                  ") repeats an earlier merge's result");
    produced[it->second] = true;
    impl->mergeResult.push_back(it->second);
  }
  for (int32_t id = 0; id < n; ++id)
    if (!produced[id] && !impl->special[id])
      return fail("token " + std::to_string(id) + " ('" +
                  gpt2Spelling(tokens[id]) +
                  "') is neither a byte, a merge "
                  "result nor a special token");
  impl->pre = std::move(pre);
  impl->tokens = std::move(tokens);
  impl->merges = merges;
  impl->table.build(merges);
  Tokenizer tok;
  tok.impl = impl;
  impl->json = tok.toJson();
  impl->fp = fnv1a64(impl->json);
  return tok;
}

int32_t Tokenizer::vocabSize() const {
  return static_cast<int32_t>(impl->tokens.size());
}
int32_t Tokenizer::eotId() const { return impl->eot; }
int32_t Tokenizer::numMerges() const {
  return static_cast<int32_t>(impl->merges.size());
}
const std::vector<std::pair<int32_t, int32_t>> &Tokenizer::merges() const {
  return impl->merges;
}
const std::string &Tokenizer::pattern() const { return impl->pre.pattern(); }
const std::string &Tokenizer::tokenBytes(int32_t id) const {
  return impl->tokens[id];
}
uint64_t Tokenizer::fingerprint() const { return impl->fp; }

//===----------------------------------------------------------------------===//
// Training
//===----------------------------------------------------------------------===//

Expected<Tokenizer> Tokenizer::train(const WordCounts &counts, int vocabSize) {
  if (vocabSize < 257)
    return Error::failure("tokenizer vocabulary size must be at least 257 "
                          "(256 bytes and <|endoftext|>), got " +
                          std::to_string(vocabSize));
  const ByteTables &bt = byteTables();
  std::vector<std::string> tok(256);
  for (int i = 0; i < 256; ++i)
    tok[i] = std::string(1, static_cast<char>(bt.order[i]));

  // Unique words as symbol sequences, with their frequencies.
  std::vector<std::vector<uint32_t>> words;
  std::vector<uint64_t> freq;
  words.reserve(counts.counts().size());
  for (const auto &[word, count] : counts.counts()) {
    if (word.size() < 2)
      continue;
    std::vector<uint32_t> s(word.size());
    for (size_t i = 0; i < word.size(); ++i)
      s[i] = static_cast<uint32_t>(bt.rank[static_cast<uint8_t>(word[i])]);
    words.push_back(std::move(s));
    freq.push_back(count);
  }

  std::unordered_map<uint64_t, uint64_t> pairCount;
  std::unordered_map<uint64_t, std::vector<uint32_t>> where;
  for (uint32_t w = 0; w < words.size(); ++w) {
    const auto &s = words[w];
    for (size_t i = 0; i + 1 < s.size(); ++i) {
      uint64_t key = pairKey(s[i], s[i + 1]);
      pairCount[key] += freq[w];
      auto &list = where[key];
      if (list.empty() || list.back() != w)
        list.push_back(w);
    }
  }

  struct Candidate {
    uint64_t count;
    uint32_t a, b;
  };
  // Most frequent first; ties to the lexicographically smaller byte pair.
  auto lowerPriority = [&tok](const Candidate &x, const Candidate &y) {
    if (x.count != y.count)
      return x.count < y.count;
    int c = tok[x.a].compare(tok[y.a]);
    if (c != 0)
      return c > 0;
    return tok[x.b] > tok[y.b];
  };
  std::priority_queue<Candidate, std::vector<Candidate>,
                      decltype(lowerPriority)>
      heap(lowerPriority);
  for (const auto &[key, count] : pairCount)
    heap.push(
        {count, static_cast<uint32_t>(key >> 32), static_cast<uint32_t>(key)});

  std::vector<std::pair<int32_t, int32_t>> merges;
  const size_t target = static_cast<size_t>(vocabSize) - 257;
  std::vector<uint64_t> grown;
  while (merges.size() < target && !heap.empty()) {
    Candidate top = heap.top();
    heap.pop();
    uint64_t key = pairKey(top.a, top.b);
    auto pc = pairCount.find(key);
    uint64_t current = pc == pairCount.end() ? 0 : pc->second;
    if (current != top.count) {
      // Stale: counts only shrink after a pair appears, so requeue.
      if (current > 0)
        heap.push({current, top.a, top.b});
      continue;
    }
    const uint32_t a = top.a, b = top.b;
    const uint32_t t = static_cast<uint32_t>(tok.size());
    tok.push_back(tok[a] + tok[b]);
    merges.emplace_back(static_cast<int32_t>(a), static_cast<int32_t>(b));

    std::vector<uint32_t> affected = std::move(where[key]);
    where.erase(key);
    grown.clear();
    auto change = [&](uint32_t x, uint32_t y, uint64_t f, bool add) {
      uint64_t k = pairKey(x, y);
      if (add) {
        pairCount[k] += f;
        grown.push_back(k);
      } else {
        auto it = pairCount.find(k);
        if ((it->second -= f) == 0)
          pairCount.erase(it);
      }
    };
    for (uint32_t w : affected) {
      auto &s = words[w];
      const uint64_t f = freq[w];
      size_t j = 0;
      bool changed = false;
      for (size_t i = 0; i < s.size();) {
        if (i + 1 < s.size() && s[i] == a && s[i + 1] == b) {
          if (j > 0) {
            change(s[j - 1], a, f, false);
            change(s[j - 1], t, f, true);
          }
          if (i + 2 < s.size()) {
            change(b, s[i + 2], f, false);
            change(t, s[i + 2], f, true);
          }
          change(a, b, f, false);
          s[j++] = t;
          i += 2;
          changed = true;
        } else {
          s[j++] = s[i++];
        }
      }
      s.resize(j);
      if (!changed)
        continue;
      for (size_t i = 0; i + 1 < s.size(); ++i) {
        if (s[i] != t && s[i + 1] != t)
          continue;
        auto &list = where[pairKey(s[i], s[i + 1])];
        if (list.empty() || list.back() != w)
          list.push_back(w);
      }
    }
    std::sort(grown.begin(), grown.end());
    grown.erase(std::unique(grown.begin(), grown.end()), grown.end());
    for (uint64_t k : grown) {
      auto it = pairCount.find(k);
      if (it != pairCount.end())
        heap.push({it->second, static_cast<uint32_t>(k >> 32),
                   static_cast<uint32_t>(k)});
    }
  }

  const int32_t eot = static_cast<int32_t>(tok.size());
  tok.emplace_back();
  return build(counts.preTokenizer(), std::move(tok), {{kEndOfText, eot}},
               merges, "trained tokenizer");
}

//===----------------------------------------------------------------------===//
// Files
//===----------------------------------------------------------------------===//

std::string Tokenizer::toJson() const {
  nlohmann::ordered_json j;
  j["format"] = "circ-bpe-v1";
  j["pattern"] = pattern();
  j["vocab_size"] = vocabSize();
  j["special_tokens"] = nlohmann::ordered_json::object();
  for (int32_t id = 0; id < vocabSize(); ++id)
    if (impl->special[id])
      j["special_tokens"][impl->tokens[id]] = id;
  nlohmann::ordered_json merges = nlohmann::ordered_json::array();
  for (auto [a, b] : impl->merges)
    merges.push_back(gpt2Spelling(impl->tokens[a]) + " " +
                     gpt2Spelling(impl->tokens[b]));
  j["merges"] = std::move(merges);
  nlohmann::ordered_json vocab = nlohmann::ordered_json::object();
  for (int32_t id = 0; id < vocabSize(); ++id)
    vocab[impl->special[id] ? impl->tokens[id]
                            : gpt2Spelling(impl->tokens[id])] = id;
  j["vocab"] = std::move(vocab);
  return j.dump(2) + "\n";
}

Error Tokenizer::save(const std::string &path) const {
  return writeFileAtomic(path, {impl->json});
}

Error Tokenizer::saveDataGym(const std::string &dir) const {
  nlohmann::ordered_json vocab = nlohmann::ordered_json::object();
  for (int32_t id = 0; id < vocabSize(); ++id)
    vocab[impl->special[id] ? impl->tokens[id]
                            : gpt2Spelling(impl->tokens[id])] = id;
  std::string bpe = "#version: 0.2\n";
  for (auto [a, b] : impl->merges)
    bpe += gpt2Spelling(impl->tokens[a]) + " " + gpt2Spelling(impl->tokens[b]) +
           "\n";
  if (Error e = writeFileAtomic(dir + "/encoder.json", {vocab.dump()}))
    return e;
  return writeFileAtomic(dir + "/vocab.bpe", {bpe});
}

namespace {
/// Resolves "x y" merge lines against a spelling -> id vocabulary.
Error resolveMerges(const std::vector<std::string> &lines,
                    const std::unordered_map<std::string, int32_t> &ids,
                    const std::string &name,
                    std::vector<std::pair<int32_t, int32_t>> &merges) {
  for (size_t r = 0; r < lines.size(); ++r) {
    const std::string &line = lines[r];
    size_t space = line.find(' ');
    if (space == std::string::npos || space == 0 || space + 1 >= line.size() ||
        line.find(' ', space + 1) != std::string::npos)
      return Error::failure(name + ": invalid tokenizer: merge " +
                            std::to_string(r) + " '" + line +
                            "' is not two tokens separated by one space");
    auto a = ids.find(line.substr(0, space));
    auto b = ids.find(line.substr(space + 1));
    if (a == ids.end() || b == ids.end())
      return Error::failure(name + ": invalid tokenizer: merge " +
                            std::to_string(r) + " '" + line +
                            "' uses a token missing from the vocabulary");
    merges.emplace_back(a->second, b->second);
  }
  return Error::success();
}

/// Reads a JSON object of spelling -> id.
Error readIds(const nlohmann::json &object, const std::string &what,
              std::unordered_map<std::string, int32_t> &ids) {
  for (auto &item : object.items()) {
    const nlohmann::json &v = item.value();
    if (!v.is_number_integer() || v.get<int64_t>() < 0 ||
        v.get<int64_t>() > INT32_MAX)
      return Error::failure(what + ": id of '" + item.key() +
                            "' is not a non-negative integer");
    ids[item.key()] = v.get<int32_t>();
  }
  return Error::success();
}

/// Turns a spelling -> id map into id -> bytes, setting aside specials.
Error decodeVocab(const std::unordered_map<std::string, int32_t> &ids,
                  const std::unordered_map<std::string, int32_t> &specials,
                  const std::string &name, std::vector<std::string> &tokens) {
  const size_t n = ids.size();
  tokens.assign(n, std::string());
  std::vector<bool> seen(n, false);
  for (const auto &[spelling, id] : ids) {
    if (id < 0 || static_cast<size_t>(id) >= n || seen[id])
      return Error::failure(name + ": invalid tokenizer: ids are not 0.." +
                            std::to_string(n - 1) + " each used once (see '" +
                            spelling + "')");
    seen[id] = true;
    auto sp = specials.find(spelling);
    if (sp != specials.end() && sp->second == id)
      continue;
    if (!gpt2Bytes(spelling, tokens[id]))
      return Error::failure(name + ": invalid tokenizer: token '" + spelling +
                            "' is not spelt in GPT-2's byte alphabet");
  }
  return Error::success();
}
} // namespace

Expected<Tokenizer> Tokenizer::fromJson(std::string_view text,
                                        const std::string &name) {
  using json = nlohmann::json;
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  auto fail = [&](const std::string &what) -> Expected<Tokenizer> {
    return Error::failure(name + ": " + what);
  };
  if (j.is_discarded() || !j.is_object())
    return fail("not a tokenizer: not a JSON object");
  auto format = j.find("format");
  if (format == j.end() || *format != "circ-bpe-v1")
    return fail("not a circ tokenizer: \"format\" is not \"circ-bpe-v1\"");
  auto pattern = j.find("pattern");
  auto vocab = j.find("vocab");
  auto merges = j.find("merges");
  auto specials = j.find("special_tokens");
  if (pattern == j.end() || !pattern->is_string() || vocab == j.end() ||
      !vocab->is_object() || merges == j.end() || !merges->is_array() ||
      specials == j.end() || !specials->is_object())
    return fail("invalid tokenizer: needs \"pattern\" (string), \"vocab\" and "
                "\"special_tokens\" (objects) and \"merges\" (array)");
  std::unordered_map<std::string, int32_t> ids, specialIds;
  if (Error e = readIds(*vocab, name + ": invalid tokenizer", ids))
    return e;
  if (Error e = readIds(*specials, name + ": invalid tokenizer", specialIds))
    return e;
  std::vector<std::string> lines;
  for (const json &m : *merges) {
    if (!m.is_string())
      return fail("invalid tokenizer: merges must be strings");
    lines.push_back(m.get<std::string>());
  }
  auto size = j.find("vocab_size");
  if (size != j.end() && (!size->is_number_integer() ||
                          size->get<int64_t>() != int64_t(ids.size())))
    return fail("invalid tokenizer: vocab_size does not match the " +
                std::to_string(ids.size()) + " vocab entries");
  std::vector<std::string> tokens;
  if (Error e = decodeVocab(ids, specialIds, name, tokens))
    return e;
  std::vector<std::pair<int32_t, int32_t>> mergeIds;
  if (Error e = resolveMerges(lines, ids, name, mergeIds))
    return e;
  auto pre = PreTokenizer::compile(pattern->get<std::string>());
  if (!pre)
    return fail(pre.message());
  std::vector<std::pair<std::string, int32_t>> specialList(specialIds.begin(),
                                                           specialIds.end());
  return build(*pre, std::move(tokens), specialList, mergeIds, name);
}

Expected<Tokenizer> Tokenizer::fromDataGym(std::string_view encoderJson,
                                           std::string_view vocabBpe,
                                           const std::string &pattern,
                                           const std::string &name) {
  using json = nlohmann::json;
  json j = json::parse(encoderJson, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return Error::failure(name + ": encoder.json is not a JSON object");
  std::unordered_map<std::string, int32_t> ids, specialIds;
  if (Error e = readIds(j, name, ids))
    return e;
  // As tiktoken does: these two entries are special, not mergeable, tokens.
  for (const char *s : {"<|endoftext|>", "<|startoftext|>"}) {
    auto it = ids.find(s);
    if (it != ids.end())
      specialIds[s] = it->second;
  }
  // vocab.bpe: a "#version" line, then one merge per line.
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < vocabBpe.size()) {
    size_t nl = vocabBpe.find('\n', pos);
    if (nl == std::string_view::npos)
      nl = vocabBpe.size();
    std::string line(vocabBpe.substr(pos, nl - pos));
    pos = nl + 1;
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    if (line.empty() || (lines.empty() && line.rfind("#version", 0) == 0))
      continue;
    lines.push_back(std::move(line));
  }
  std::vector<std::string> tokens;
  if (Error e = decodeVocab(ids, specialIds, name, tokens))
    return e;
  std::vector<std::pair<int32_t, int32_t>> merges;
  if (Error e = resolveMerges(lines, ids, name, merges))
    return e;
  auto pre = PreTokenizer::compile(pattern);
  if (!pre)
    return Error::failure(name + ": " + pre.message());
  std::vector<std::pair<std::string, int32_t>> specialList(specialIds.begin(),
                                                           specialIds.end());
  return build(*pre, std::move(tokens), specialList, merges, name);
}

Expected<Tokenizer> Tokenizer::load(const std::string &path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0)
    return Error::failure(systemError(path, errno));
  std::string dir, file = path;
  if (S_ISDIR(st.st_mode)) {
    dir = path;
    struct stat s2;
    file = path + "/tokenizer.json";
    if (stat(file.c_str(), &s2) != 0)
      file = path + "/encoder.json";
  } else {
    size_t slash = path.rfind('/');
    dir = slash == std::string::npos ? "." : path.substr(0, slash);
  }
  Expected<std::string> text = readFile(file);
  if (!text)
    return Error::failure(S_ISDIR(st.st_mode)
                              ? path + ": holds neither tokenizer.json nor "
                                       "encoder.json + vocab.bpe"
                              : text.message());
  if (file.size() >= 12 &&
      file.compare(file.size() - 12, 12, "encoder.json") == 0) {
    Expected<std::string> bpe = readFile(dir + "/vocab.bpe");
    if (!bpe)
      return Error::failure(file +
                            ": a data-gym encoder.json needs vocab.bpe "
                            "beside it: " +
                            bpe.message());
    return fromDataGym(*text, *bpe, kTinyPythonPattern, file);
  }
  return fromJson(*text, file);
}

//===----------------------------------------------------------------------===//
// Encoding
//===----------------------------------------------------------------------===//

/// The match data of the tokenizer last used with this cache, and a map from
/// pre-token bytes to token ids kept in two arenas.
struct EncodeCache::Impl {
  const Tokenizer::Impl *owner = nullptr;
  pcre2_match_data *md = nullptr;
  struct Slot {
    uint64_t hash = 0; ///< 0 = empty
    uint32_t keyOff, keyLen, tokOff, tokLen;
  };
  std::vector<Slot> slots;
  size_t used = 0;
  std::string keys;
  std::vector<int32_t> toks;
  // BPE scratch.
  std::vector<int32_t> sym, prev, next;
  struct Pending {
    int32_t rank, pos, left, right;
  };
  std::vector<Pending> heap;

  static constexpr size_t kMaxKeyBytes = 16u << 20; // then start afresh
  static constexpr size_t kMaxPiece = 256;

  ~Impl() { pcre2_match_data_free(md); }

  void reset(const Tokenizer::Impl *t) {
    owner = t;
    pcre2_match_data_free(md);
    md = pcre2_match_data_create_from_pattern(t->pre.internals().code, nullptr);
    clear();
  }
  void clear() {
    slots.assign(1 << 14, Slot());
    used = 0;
    keys.clear();
    toks.clear();
  }
  /// Hash of a piece, a word at a time; odd, since 0 marks an empty slot.
  static uint64_t hashOf(std::string_view s) {
    const uint64_t k = 0x9E3779B97F4A7C15ull;
    uint64_t h = s.size() * k;
    for (size_t i = 0; i < s.size(); i += 8) {
      uint64_t w = 0;
      std::memcpy(&w, s.data() + i, std::min<size_t>(8, s.size() - i));
      h = (h ^ w) * k;
      h ^= h >> 29;
    }
    h = (h ^ (h >> 32)) * k;
    return h | 1;
  }
  /// Home slot: the bits above the forced-odd one.
  size_t home(uint64_t h) const { return (h >> 1) & (slots.size() - 1); }
  const Slot *find(std::string_view piece, uint64_t h) const {
    size_t mask = slots.size() - 1;
    for (size_t i = home(h);; i = (i + 1) & mask) {
      const Slot &s = slots[i];
      if (s.hash == 0)
        return nullptr;
      if (s.hash == h && s.keyLen == piece.size() &&
          std::memcmp(keys.data() + s.keyOff, piece.data(), piece.size()) == 0)
        return &s;
    }
  }
  void insert(std::string_view piece, uint64_t h, const int32_t *ids,
              size_t n) {
    if (keys.size() + piece.size() > kMaxKeyBytes)
      clear();
    if ((used + 1) * 2 > slots.size())
      grow();
    Slot s;
    s.hash = h;
    s.keyOff = static_cast<uint32_t>(keys.size());
    s.keyLen = static_cast<uint32_t>(piece.size());
    s.tokOff = static_cast<uint32_t>(toks.size());
    s.tokLen = static_cast<uint32_t>(n);
    keys.append(piece);
    toks.insert(toks.end(), ids, ids + n);
    place(s);
    ++used;
  }
  void place(const Slot &s) {
    size_t mask = slots.size() - 1;
    size_t i = home(s.hash);
    while (slots[i].hash != 0)
      i = (i + 1) & mask;
    slots[i] = s;
  }
  void grow() {
    std::vector<Slot> old = std::move(slots);
    slots.assign(old.size() * 2, Slot());
    for (const Slot &s : old)
      if (s.hash)
        place(s);
  }
};

EncodeCache::EncodeCache() : impl(std::make_unique<Impl>()) {}
EncodeCache::~EncodeCache() = default;

/// Merges the bytes of one pre-token by rank, lowest rank first and leftmost
/// among equals (tiktoken's order), in O(n log n) with a heap of candidate
/// pairs that are checked when popped.
static void bytePairMerge(const Tokenizer::Impl &t, std::string_view piece,
                          EncodeCache::Impl &c, std::vector<int32_t> &out) {
  const int32_t n = static_cast<int32_t>(piece.size());
  c.sym.resize(n);
  c.prev.resize(n);
  c.next.resize(n);
  c.heap.clear();
  auto later = [](const EncodeCache::Impl::Pending &x,
                  const EncodeCache::Impl::Pending &y) {
    return x.rank != y.rank ? x.rank > y.rank : x.pos > y.pos;
  };
  auto consider = [&](int32_t left, int32_t right) {
    int32_t r = t.table.find(c.sym[left], c.sym[right]);
    if (r >= 0) {
      c.heap.push_back({r, left, c.sym[left], c.sym[right]});
      std::push_heap(c.heap.begin(), c.heap.end(), later);
    }
  };
  for (int32_t i = 0; i < n; ++i) {
    c.sym[i] = t.byteId[static_cast<uint8_t>(piece[i])];
    c.prev[i] = i - 1;
    c.next[i] = i + 1;
  }
  for (int32_t i = 0; i + 1 < n; ++i)
    consider(i, i + 1);
  while (!c.heap.empty()) {
    std::pop_heap(c.heap.begin(), c.heap.end(), later);
    EncodeCache::Impl::Pending p = c.heap.back();
    c.heap.pop_back();
    // Stale if either side has changed since the pair was queued; a merged
    // right side is marked dead with sym -1.
    int32_t right = c.next[p.pos];
    if (c.sym[p.pos] != p.left || right >= n || c.sym[right] != p.right)
      continue;
    c.sym[p.pos] = t.mergeResult[p.rank];
    c.sym[right] = -1;
    c.next[p.pos] = c.next[right];
    if (c.next[right] < n)
      c.prev[c.next[right]] = p.pos;
    if (c.prev[p.pos] >= 0)
      consider(c.prev[p.pos], p.pos);
    if (c.next[p.pos] < n)
      consider(p.pos, c.next[p.pos]);
  }
  for (int32_t i = 0; i < n; i = c.next[i])
    out.push_back(c.sym[i]);
}

Error Tokenizer::encode(std::string_view text, std::vector<int32_t> &out,
                        EncodeCache &cache) const {
  EncodeCache::Impl &c = *cache.impl;
  if (c.owner != impl.get())
    c.reset(impl.get());
  const Impl &t = *impl;
  int rc =
      splitPieces(t.pre.internals(), c.md, text, [&](std::string_view piece) {
        if (piece.size() == 1) {
          out.push_back(t.byteId[static_cast<uint8_t>(piece[0])]);
          return;
        }
        if (piece.size() > EncodeCache::Impl::kMaxPiece) {
          bytePairMerge(t, piece, c, out);
          return;
        }
        uint64_t h = EncodeCache::Impl::hashOf(piece);
        if (const auto *s = c.find(piece, h)) {
          out.insert(out.end(), c.toks.begin() + s->tokOff,
                     c.toks.begin() + s->tokOff + s->tokLen);
          return;
        }
        size_t start = out.size();
        bytePairMerge(t, piece, c, out);
        c.insert(piece, h, out.data() + start, out.size() - start);
      });
  if (rc)
    return matchError(rc);
  return Error::success();
}

Expected<std::vector<int32_t>> Tokenizer::encode(std::string_view text) const {
  EncodeCache cache;
  std::vector<int32_t> out;
  if (Error e = encode(text, out, cache))
    return e;
  return out;
}

Expected<std::string> Tokenizer::decode(const int32_t *ids, size_t n) const {
  // Size first, then copy: one allocation however long the text.
  size_t total = 0;
  for (size_t i = 0; i < n; ++i) {
    if (ids[i] < 0 || ids[i] >= vocabSize())
      return Error::failure("cannot decode token id " + std::to_string(ids[i]) +
                            " at position " + std::to_string(i) +
                            ": the vocabulary has " +
                            std::to_string(vocabSize()) + " tokens");
    total += impl->tokens[ids[i]].size();
  }
  std::string out(total, '\0');
  char *p = out.data();
  for (size_t i = 0; i < n; ++i) {
    const std::string &t = impl->tokens[ids[i]];
    std::memcpy(p, t.data(), t.size());
    p += t.size();
  }
  return out;
}

} // namespace circ::rt

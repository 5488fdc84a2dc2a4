//===- Tokenizer.h - byte-level BPE tokenizer -------------------*- C++ -*-===//
//
// A byte-level BPE tokenizer as in GPT-2 and the paper's `tinypython_2k`:
// text is split into pre-tokens by a PCRE2 pattern, each pre-token's bytes are
// merged by rank, and `<|endoftext|>` is a special token that encoding never
// produces (it is inserted between documents).
//
// Token ids: the 256 byte tokens come first, in GPT-2's byte order (the
// printable bytes !..~, ¡..¬, ®..ÿ, then the rest), then one token per merge in
// rank order, then `<|endoftext|>` as the last id. With the default vocabulary
// of 2048 that is 256 + 1791 merges + EOT = 2047. This is exactly how tiktoken
// numbers a GPT-2 "data-gym" vocabulary, so the paper's own files load with
// the same ids.
//
// File format (`tokenizer.json`, written by save()): one UTF-8 JSON object
//   {"format": "circ-bpe-v1", "pattern": "<PCRE2 regex>", "vocab_size": 2048,
//    "special_tokens": {"<|endoftext|>": 2047},
//    "merges": ["Ġ Ġ", "i n", ...],       // rank order
//    "vocab": {"!": 0, ..., "ĠĠ": 256, ...}}
// where tokens are spelt with GPT-2's byte-to-unicode map (space = "Ġ",
// newline = "Ċ"), the spelling of GPT-2's encoder.json and vocab.bpe.
// saveDataGym() writes that pair too; load() reads either.
//
// Invalid UTF-8 in the input is kept: bytes the pattern cannot match (PCRE2's
// invalid-UTF mode never matches them) form their own pre-tokens, so
// decode(encode(x)) == x for every byte string x.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_RUNTIME_TOKENIZER_H
#define CIRC_RUNTIME_TOKENIZER_H

#include "circ_runtime/Error.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace circ::rt {

/// The paper's pre-tokenisation pattern (§1.4): cl100k's without the English
/// contractions, with `/` allowed after punctuation runs.
extern const char *const kTinyPythonPattern;
/// The end-of-text special token.
extern const char *const kEndOfText;

/// A compiled pre-tokenisation pattern (PCRE2, UTF + UCP, JIT when the
/// platform has it). Immutable and safe to share between threads.
class PreTokenizer {
public:
  static Expected<PreTokenizer> compile(const std::string &pattern);

  const std::string &pattern() const;
  /// Calls `piece` for each pre-token of `text`, in order; the pieces
  /// concatenate to `text` exactly.
  Error split(std::string_view text,
              const std::function<void(std::string_view)> &piece) const;

  struct Impl;
  const Impl &internals() const { return *impl; }

private:
  std::shared_ptr<const Impl> impl;
};

/// Pre-token frequencies of a corpus: the input of BPE training. Build one
/// per thread and merge them.
class WordCounts {
public:
  explicit WordCounts(PreTokenizer pre) : pre(std::move(pre)) {}
  Error add(std::string_view text);
  void merge(const WordCounts &other);

  const PreTokenizer &preTokenizer() const { return pre; }
  const std::unordered_map<std::string, uint64_t> &counts() const {
    return words;
  }
  uint64_t totalPieces() const { return total; }

private:
  PreTokenizer pre;
  std::unordered_map<std::string, uint64_t> words;
  uint64_t total = 0;
};

/// Per-thread encoding state: PCRE2 match data and a cache from pre-token to
/// its token ids. Reuse one across calls; never share one between threads.
class EncodeCache {
public:
  EncodeCache();
  ~EncodeCache();
  EncodeCache(const EncodeCache &) = delete;
  EncodeCache &operator=(const EncodeCache &) = delete;

  struct Impl;
  std::unique_ptr<Impl> impl;
};

class Tokenizer {
public:
  /// Learns `vocabSize - 257` merges from `counts` (fewer if the corpus runs
  /// out of pairs). Each step merges the most frequent adjacent pair; ties go
  /// to the pair whose (left bytes, right bytes) is lexicographically
  /// smallest, so the result is deterministic.
  static Expected<Tokenizer> train(const WordCounts &counts, int vocabSize);

  /// Reads a tokenizer: a circ `tokenizer.json`, a data-gym `encoder.json`
  /// (with `vocab.bpe` beside it) or a directory holding either.
  static Expected<Tokenizer> load(const std::string &path);
  /// Parses the circ JSON format; `name` stands for the file in messages.
  static Expected<Tokenizer> fromJson(std::string_view text,
                                      const std::string &name);
  /// Builds from GPT-2 data-gym texts (encoder.json, vocab.bpe). The format
  /// has no pattern, so `pattern` supplies it.
  static Expected<Tokenizer> fromDataGym(std::string_view encoderJson,
                                         std::string_view vocabBpe,
                                         const std::string &pattern,
                                         const std::string &name);

  /// The circ JSON format described above (deterministic).
  std::string toJson() const;
  /// Writes toJson() atomically.
  Error save(const std::string &path) const;
  /// Writes `dir/encoder.json` and `dir/vocab.bpe` (GPT-2 data-gym format).
  Error saveDataGym(const std::string &dir) const;

  int32_t vocabSize() const;
  int32_t eotId() const;
  int32_t numMerges() const;
  /// The merges in rank order, as (left id, right id).
  const std::vector<std::pair<int32_t, int32_t>> &merges() const;
  const std::string &pattern() const;
  /// The bytes of token `id` (the text of a special token).
  const std::string &tokenBytes(int32_t id) const;
  /// FNV-1a of toJson(): equal for equal tokenizers.
  uint64_t fingerprint() const;

  /// Appends the tokens of `text` to `out`. Never produces special tokens.
  Error encode(std::string_view text, std::vector<int32_t> &out,
               EncodeCache &cache) const;
  Expected<std::vector<int32_t>> encode(std::string_view text) const;
  /// Concatenates the tokens' bytes; refuses ids outside the vocabulary.
  Expected<std::string> decode(const int32_t *ids, size_t n) const;
  Expected<std::string> decode(const std::vector<int32_t> &ids) const {
    return decode(ids.data(), ids.size());
  }

  struct Impl;

private:
  std::shared_ptr<const Impl> impl;

  /// Validates a vocabulary (id -> bytes), its special tokens and merges
  /// (rank order) and builds the tokenizer; `name` is used in messages.
  static Expected<Tokenizer>
  build(PreTokenizer pre, std::vector<std::string> tokens,
        const std::vector<std::pair<std::string, int32_t>> &specials,
        const std::vector<std::pair<int32_t, int32_t>> &merges,
        const std::string &name);
};

/// GPT-2's byte-to-unicode spelling of a byte string ("Ġ" for a space).
std::string gpt2Spelling(std::string_view bytes);
/// The bytes behind a GPT-2 spelling; false if a character is not in the map.
bool gpt2Bytes(std::string_view spelling, std::string &bytes);

} // namespace circ::rt

#endif // CIRC_RUNTIME_TOKENIZER_H

//===- TaskPrompts.cpp - task pairs as model inputs -------------*- C++ -*-===//

#include "circ/Prune/TaskPrompts.h"

#include "Hash.h"

#include <algorithm>
#include <tuple>

using namespace circ;
using namespace circ::prune;
using rt::Error;
using rt::Expected;

PromptSet PromptSet::rows(int64_t first, int64_t count) const {
  PromptSet out;
  out.seqLen = seqLen;
  out.tokens.reserve(count * seqLen);
  for (int64_t r = 0; r < count; ++r) {
    int64_t src = std::min(first + r, size() - 1);
    out.tokens.insert(out.tokens.end(), tokens.begin() + src * seqLen,
                      tokens.begin() + (src + 1) * seqLen);
    out.positions.push_back(positions[src]);
    out.correct.push_back(correct[src]);
    out.wrong.push_back(wrong[src]);
    out.side.push_back(side[src]);
  }
  return out;
}

void PromptSet::append(const PromptSet &other) {
  if (size() == 0)
    seqLen = other.seqLen;
  tokens.insert(tokens.end(), other.tokens.begin(), other.tokens.end());
  positions.insert(positions.end(), other.positions.begin(),
                   other.positions.end());
  correct.insert(correct.end(), other.correct.begin(), other.correct.end());
  wrong.insert(wrong.end(), other.wrong.begin(), other.wrong.end());
  side.insert(side.end(), other.side.begin(), other.side.end());
}

PromptSet prune::toPromptSet(const std::vector<tasks::EncodedPair> &pairs,
                             int64_t seqLen, int32_t padId) {
  PromptSet set;
  set.seqLen = seqLen;
  set.tokens.reserve(2 * pairs.size() * seqLen);
  auto addRow = [&](const std::vector<int32_t> &prompt, int32_t yes,
                    int32_t no, int8_t side) {
    int64_t n = static_cast<int64_t>(prompt.size());
    int64_t keep = std::min(n, seqLen);
    set.tokens.insert(set.tokens.end(), prompt.end() - keep, prompt.end());
    set.tokens.insert(set.tokens.end(), seqLen - keep, padId);
    set.positions.push_back(static_cast<int32_t>(keep - 1));
    set.correct.push_back(yes);
    set.wrong.push_back(no);
    set.side.push_back(side);
  };
  for (const tasks::EncodedPair &p : pairs) {
    addRow(p.promptA, p.tokenA, p.tokenB, +1);
    addRow(p.promptB, p.tokenB, p.tokenA, -1);
  }
  return set;
}

int64_t prune::longestPrompt(const std::vector<tasks::EncodedPair> &pairs) {
  size_t longest = 0;
  for (const tasks::EncodedPair &p : pairs)
    longest = std::max({longest, p.promptA.size(), p.promptB.size()});
  return static_cast<int64_t>(longest);
}

PromptSet prune::withNonsenseLabels(const PromptSet &set, uint64_t seed) {
  PromptSet out = set;
  for (int64_t r = 0; r + 1 < set.size(); r += 2) {
    uint64_t h = seed ^ 0x6e6f6e73656e7365ull; // "nonsense"
    for (int64_t row = r; row < r + 2; ++row)
      for (int64_t t = 0; t <= set.positions[row]; ++t)
        h = hashMix(h ^ static_cast<uint32_t>(set.tokens[row * set.seqLen + t]));
    if (!(h & 1))
      continue;
    for (int64_t row = r; row < r + 2; ++row) {
      std::swap(out.correct[row], out.wrong[row]);
      out.side[row] = static_cast<int8_t>(-out.side[row]);
    }
  }
  return out;
}

Expected<std::vector<tasks::EncodedPair>>
prune::encodePairs(const std::vector<tasks::TaskPair> &pairs,
                   const rt::Tokenizer &tokenizer) {
  rt::EncodeCache cache;
  std::vector<int32_t> ids;
  tasks::EncodeFn encode = [&](std::string_view text) {
    ids.clear();
    // Encoding only fails for invalid state; such text has no tokens.
    if (tokenizer.encode(text, ids, cache))
      ids.clear();
    return ids;
  };
  std::vector<tasks::EncodedPair> out;
  out.reserve(pairs.size());
  for (const tasks::TaskPair &pair : pairs) {
    Expected<tasks::EncodedPair> e = tasks::encodePair(pair, encode);
    if (!e)
      return e.takeError();
    out.push_back(std::move(*e));
  }
  return out;
}

Expected<TaskData> prune::encodeTask(const tasks::Task &task,
                                     const rt::Tokenizer &tokenizer,
                                     size_t trainPairs, size_t testPairs,
                                     uint64_t seed) {
  rt::EncodeCache cache;
  tasks::EncodeFn encode = [&](std::string_view text) {
    std::vector<int32_t> ids;
    if (tokenizer.encode(text, ids, cache))
      ids.clear();
    return ids;
  };
  std::vector<tasks::TokenIssue> issues =
      tasks::checkCompletionTokens({task}, encode);
  if (!issues.empty()) {
    std::string message = "task '" + task.name() +
                          "' does not fit this model's tokenizer:";
    for (const tasks::TokenIssue &issue : issues)
      message += "\n  " + issue.str();
    return Error::failure(message);
  }
  TaskData data;
  for (auto [split, count, text, encoded] :
       {std::tuple{tasks::Split::Train, trainPairs, &data.trainText,
                   &data.train},
        std::tuple{tasks::Split::Test, testPairs, &data.testText,
                   &data.test}}) {
    Expected<std::vector<tasks::TaskPair>> pairs =
        task.generate(split, seed, count);
    if (!pairs)
      return Error::failure("task '" + task.name() + "': " + pairs.message());
    Expected<std::vector<tasks::EncodedPair>> ids =
        encodePairs(*pairs, tokenizer);
    if (!ids)
      return Error::failure("task '" + task.name() + "': " + ids.message());
    *text = std::move(*pairs);
    *encoded = std::move(*ids);
  }
  return data;
}

std::vector<std::string> prune::codeSnippets(const rt::Tokenizer &tokenizer,
                                             const std::vector<int32_t> &stream,
                                             size_t count, size_t tokens,
                                             uint64_t seed) {
  std::vector<std::string> out;
  if (stream.size() <= tokens || tokens == 0)
    return out;
  const int32_t eot = tokenizer.eotId();
  uint64_t state = seed ^ 0x736e697070657473ull; // "snippets"
  // A window that yields no whole line is skipped; give up after many.
  for (size_t attempt = 0; out.size() < count && attempt < 16 * count + 16;
       ++attempt) {
    state = hashMix(state + attempt);
    size_t start = state % (stream.size() - tokens);
    size_t end = start + tokens;
    // Stay inside one document.
    auto eotAt = std::find(stream.begin() + start, stream.begin() + end, eot);
    bool docStart = start == 0 || stream[start - 1] == eot;
    if (eotAt != stream.begin() + end)
      end = eotAt - stream.begin();
    Expected<std::string> text =
        tokenizer.decode(stream.data() + start, end - start);
    if (!text)
      continue;
    std::string s = std::move(*text);
    if (!docStart) {
      size_t nl = s.find('\n');
      s = nl == std::string::npos ? std::string() : s.substr(nl + 1);
    }
    size_t last = s.rfind('\n');
    if (last == std::string::npos)
      continue;
    s.resize(last + 1);
    if (s.find_first_not_of(" \t\n") == std::string::npos)
      continue;
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<tasks::TaskPair>
prune::withPrefixes(const std::vector<tasks::TaskPair> &pairs,
                    const std::vector<std::string> &prefixes) {
  if (prefixes.empty())
    return pairs;
  std::vector<tasks::TaskPair> out = pairs;
  for (size_t i = 0; i < out.size(); ++i) {
    const std::string &prefix = prefixes[i % prefixes.size()];
    out[i].promptA = prefix + out[i].promptA;
    out[i].promptB = prefix + out[i].promptB;
    for (auto *spans : {&out[i].spansA, &out[i].spansB})
      for (tasks::Span &span : *spans)
        span.offset += prefix.size();
  }
  return out;
}

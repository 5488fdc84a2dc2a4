//===- TaskPrompts.h - task pairs as model inputs ---------------*- C++ -*-===//
//
// Pruning evaluates a task on rows of token ids: every pair of contrasting
// prompts (paper §4) gives two rows, prompt A (correct = token A, wrong =
// token B) and prompt B (the reverse). A row is the prompt's tokens,
// left-truncated to the sequence length and right-padded; the loss reads the
// logits at the row's last real position, which causal attention keeps
// independent of the padding.
//
// Plain C++ (no MLIR).
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_PRUNE_TASKPROMPTS_H
#define CIRC_PRUNE_TASKPROMPTS_H

#include "circ/Tasks/Tasks.h"
#include "circ_runtime/Error.h"
#include "circ_runtime/Tokenizer.h"

#include <cstdint>
#include <string>
#include <vector>

namespace circ::prune {

struct PromptSet {
  int64_t seqLen = 0;
  std::vector<int32_t> tokens;    ///< [size() x seqLen], right-padded
  std::vector<int32_t> positions; ///< last real token of each row
  std::vector<int32_t> correct, wrong;
  /// +1 when `correct` is its pair's token A, −1 when it is token B: the
  /// sign of the pair's logit difference logit(A) − logit(B) in this row's
  /// margin (a logit shift moves the two rows of a pair in opposite ways).
  std::vector<int8_t> side;

  int64_t size() const { return static_cast<int64_t>(positions.size()); }
  /// Rows [first, first + count); rows past the end repeat the last row, so
  /// a fixed-size compiled batch can take a partial one.
  PromptSet rows(int64_t first, int64_t count) const;
  /// Appends `other`'s rows (same sequence length).
  void append(const PromptSet &other);
};

/// Rows 2i and 2i+1 for pair i. Prompts longer than `seqLen` keep their last
/// `seqLen` tokens; shorter ones are padded with `padId`.
PromptSet toPromptSet(const std::vector<tasks::EncodedPair> &pairs,
                      int64_t seqLen, int32_t padId);

/// The longest prompt of `pairs`, in tokens.
int64_t longestPrompt(const std::vector<tasks::EncodedPair> &pairs);

/// A control task with the same prompts and meaningless labels: each pair's
/// labels are swapped (A must be continued with B's token and vice versa)
/// when a hash of its tokens and `seed` says so, independently of the
/// contrast the task is about.
PromptSet withNonsenseLabels(const PromptSet &set, uint64_t seed);

/// A task's pairs as text and in token ids.
struct TaskData {
  std::vector<tasks::TaskPair> trainText, testText;
  std::vector<tasks::EncodedPair> train, test;
};

/// Generates `trainPairs` train and `testPairs` test pairs of `task` (seeded)
/// and encodes them with `tokenizer`. Fails, saying why, when the task's
/// completions are not single distinct tokens under this tokenizer
/// (tasks::checkCompletionTokens), when a prompt ends inside a token, or
/// when the template cannot produce that many pairs.
rt::Expected<TaskData> encodeTask(const tasks::Task &task,
                                  const rt::Tokenizer &tokenizer,
                                  size_t trainPairs, size_t testPairs,
                                  uint64_t seed);

/// Encodes already generated pairs (see encodeTask for the failures).
rt::Expected<std::vector<tasks::EncodedPair>>
encodePairs(const std::vector<tasks::TaskPair> &pairs,
            const rt::Tokenizer &tokenizer);

/// `count` snippets of real code for off-distribution prompts: windows of
/// about `tokens` tokens of `stream` (documents separated by `eot`) at
/// seeded positions, decoded, cut to whole lines and ending in a newline.
std::vector<std::string> codeSnippets(const rt::Tokenizer &tokenizer,
                                      const std::vector<int32_t> &stream,
                                      size_t count, size_t tokens,
                                      uint64_t seed);

/// The pairs with snippet i % n placed before both prompts of pair i: the
/// same task inside unrelated preceding code.
std::vector<tasks::TaskPair>
withPrefixes(const std::vector<tasks::TaskPair> &pairs,
             const std::vector<std::string> &prefixes);

} // namespace circ::prune

#endif // CIRC_PRUNE_TASKPROMPTS_H

//===- TaskTokens.cpp - pairs in token ids; candidate checks ---*- C++ -*-===//
//
// The loss compares the logits of two candidate tokens at the prompt's last
// position (paper §4). A candidate is the first token of its completion *in
// context*: a byte-level BPE can merge the completion with the prompt's last
// characters, so we tokenise prompt+completion and require the prompt's own
// tokens to be a prefix of it.
//
//===----------------------------------------------------------------------===//
#include "circ/Tasks/Tasks.h"

#include <algorithm>
#include <set>
#include <tuple>

namespace circ::tasks {

namespace {

struct SideTokens {
  std::vector<int32_t> prompt;
  std::vector<int32_t> full; ///< prompt + completion
  bool prefixOk() const {
    return full.size() > prompt.size() &&
           std::equal(prompt.begin(), prompt.end(), full.begin());
  }
  size_t completionTokens() const { return full.size() - prompt.size(); }
};

SideTokens encodeSide(const std::string &prompt, const std::string &completion,
                      const EncodeFn &encode) {
  return {encode(prompt), encode(prompt + completion)};
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
    case '\n':
      out += "\\n";
      break;
    case '\t':
      out += "\\t";
      break;
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    default:
      out += c;
    }
  }
  return out + "\"";
}

} // namespace

rt::Expected<EncodedPair> encodePair(const TaskPair &pair,
                                     const EncodeFn &encode) {
  SideTokens a = encodeSide(pair.promptA, pair.completionA, encode);
  SideTokens b = encodeSide(pair.promptB, pair.completionB, encode);
  for (auto [side, tokens, prompt] :
       {std::tuple{'A', &a, &pair.promptA}, std::tuple{'B', &b, &pair.promptB}})
    if (!tokens->prefixOk())
      return rt::Error::failure(
          std::string("prompt ") + side + " " + quoted(*prompt) +
          " ends inside a token: its completion re-tokenises the prompt's "
          "end");
  EncodedPair out;
  out.tokenA = a.full[a.prompt.size()];
  out.tokenB = b.full[b.prompt.size()];
  if (out.tokenA == out.tokenB)
    return rt::Error::failure("completions " + quoted(pair.completionA) +
                              " and " + quoted(pair.completionB) +
                              " start with the same token " +
                              std::to_string(out.tokenA));
  out.completionTokensA = a.completionTokens();
  out.completionTokensB = b.completionTokens();
  out.promptA = std::move(a.prompt);
  out.promptB = std::move(b.prompt);
  return out;
}

std::string TokenIssue::str() const {
  std::string head = "task '" + task + "': ";
  switch (kind) {
  case PromptNotPrefix:
    return head + "prompt " + side + " " + quoted(prompt) +
           " ends inside a token when followed by " + quoted(completion);
  case SameCandidate:
    return head + "both completions start with the same token (e.g. " +
           quoted(completion) + " after " + quoted(prompt) + ")";
  case GenerationFailed:
    return head + "cannot generate pairs: " + completion;
  case NotSingleToken:
    return head + "completion " + side + " " + quoted(completion) + " is " +
           std::to_string(tokens) + " tokens, not one (after " +
           quoted(prompt) + ")";
  }
  return head;
}

std::vector<TokenIssue> checkCompletionTokens(const std::vector<Task> &tasks,
                                              const EncodeFn &encode,
                                              size_t samples) {
  std::vector<TokenIssue> issues;
  for (const Task &task : tasks) {
    auto pairs = task.generate(Split::Train, 0, samples);
    if (!pairs) {
      issues.push_back({TokenIssue::GenerationFailed, task.name(), '-', "",
                        pairs.message()});
      continue;
    }
    std::set<std::pair<int, char>> reported;
    auto report = [&](TokenIssue::Kind kind, char side, const std::string &p,
                      const std::string &c, size_t n) {
      if (reported.insert({kind, side}).second)
        issues.push_back({kind, task.name(), side, p, c, n});
    };
    for (const TaskPair &pair : *pairs) {
      SideTokens a = encodeSide(pair.promptA, pair.completionA, encode);
      SideTokens b = encodeSide(pair.promptB, pair.completionB, encode);
      bool prefixes = true;
      for (auto [side, tokens, prompt, completion] :
           {std::tuple{'A', &a, &pair.promptA, &pair.completionA},
            std::tuple{'B', &b, &pair.promptB, &pair.completionB}}) {
        if (!tokens->prefixOk()) {
          report(TokenIssue::PromptNotPrefix, side, *prompt, *completion, 0);
          prefixes = false;
        } else if (tokens->completionTokens() != 1) {
          report(TokenIssue::NotSingleToken, side, *prompt, *completion,
                 tokens->completionTokens());
        }
      }
      if (prefixes && a.full[a.prompt.size()] == b.full[b.prompt.size()])
        report(TokenIssue::SameCandidate, '-', pair.promptA, pair.completionA,
               0);
    }
  }
  return issues;
}

} // namespace circ::tasks

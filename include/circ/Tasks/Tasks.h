//===- Tasks.h - binary next-token tasks for circuit extraction -*- C++ -*-===//
//
// A task is a generator of contrasting prompt pairs (paper §4): prompt A must
// be continued with completion A and prompt B with completion B; the prompts
// differ only where the task's contrast slot was filled in. Every task, the
// built-in ones included, is a template with slots written in the small
// language of docs/tasks.md:
//
//   task single_double_quote {
//     description = "Close a string with the quote it was opened with."
//     prompt      = "{var} = {q}{word}"
//     completion  = "{q}\n"
//     contrast q  = ["'", "\""]
//     slot var    = names
//     slot word   = words
//   }
//
// so users add tasks in their .circ files without recompiling Circ.
// Generation is deterministic in the seed and splits train from test by a
// hash of the generated content, so the splits never share a pair.
//
// Plain C++ (no MLIR); nothing here throws.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_TASKS_TASKS_H
#define CIRC_TASKS_TASKS_H

#include "circ_runtime/Error.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace circ::tasks {

/// Where a contrast value was substituted into a prompt: [offset, offset+size).
struct Span {
  size_t offset = 0;
  size_t size = 0;
};

/// One datapoint: two prompts that differ only inside `spansA` / `spansB`
/// (outside them the texts are equal), each with its own completion.
struct TaskPair {
  std::string promptA, promptB;
  std::string completionA, completionB;
  std::vector<Span> spansA, spansB;
};

enum class Split { Train, Test };
const char *splitName(Split split);

/// Pairs whose content hash falls in the test bucket (1 in kTestBuckets) are
/// test pairs, all others train pairs; a pair's split never depends on the
/// seed, so train and test stay disjoint for every pair of seeds.
constexpr uint64_t kTestBuckets = 5;
Split splitOf(std::string_view promptA, std::string_view promptB);

/// A position in a template source (1-based line and column).
struct SourceLoc {
  std::string file;
  unsigned line = 0, col = 0;
};

/// A template error in the clang format:
///   file:line:col: error: message
///   <source line>
///       ^
struct Diagnostic {
  SourceLoc loc;
  std::string message;
  std::string sourceLine; ///< the full line of `loc`, without its newline
  std::string str() const;
};

struct TaskDef; // parsed template, private to the library

/// A parsed task; cheap to copy (shares its immutable definition).
class Task {
public:
  const std::string &name() const;
  const std::string &description() const;
  /// Where the `task` keyword was (for user tasks: the .circ file).
  const SourceLoc &loc() const;
  bool isBuiltin() const;

  /// `count` distinct pairs of `split`, a pure function of (task, split,
  /// seed, count): a larger count extends a smaller one's list. Fails when the
  /// template cannot produce that many distinct pairs, or when a datapoint
  /// draws more distinct entries from a list than it has.
  rt::Expected<std::vector<TaskPair>> generate(Split split, uint64_t seed,
                                               size_t count) const;

  explicit Task(std::shared_ptr<const TaskDef> def) : def(std::move(def)) {}

private:
  std::shared_ptr<const TaskDef> def;
};

/// Result of parsing template source: the tasks, or every error found.
struct ParseResult {
  std::vector<Task> tasks;
  std::vector<Diagnostic> errors;
  bool ok() const { return errors.empty(); }
};

/// Parses `task` and `list` definitions from `buffer[begin, end)`; lines and
/// columns count from the start of `buffer`, so a front end can pass a whole
/// .circ file and the byte range of its task blocks. User definitions may use
/// the built-in lists (names, words, ...) but not redefine a built-in list or
/// task name.
ParseResult parseTaskTemplates(std::string_view buffer,
                               std::string_view bufferName, size_t begin = 0,
                               size_t end = std::string_view::npos);

/// The built-in tasks (parsed once from lib/Tasks/BuiltinTasks.tasks, which
/// is compiled into the library), in file order.
const std::vector<Task> &builtinTasks();
/// The built-in task called `name`, or null.
const Task *findBuiltinTask(std::string_view name);
/// Names of the built-in tasks in file order; the front end's list of known
/// task names derives from this.
std::vector<std::string> builtinTaskNames();
/// Names of the built-in lists usable from user templates.
std::vector<std::string> builtinListNames();
/// The built-in template source itself (what docs/tasks.md documents).
std::string_view builtinTaskSource();

//===----------------------------------------------------------------------===//
// Tokenisation of pairs
//===----------------------------------------------------------------------===//

/// Encodes text to token ids (the trained tokenizer, supplied by the caller).
using EncodeFn = std::function<std::vector<int32_t>(std::string_view)>;

/// A pair in token ids: the two candidate tokens are the first tokens of the
/// completions in context (encode(prompt + completion) continues
/// encode(prompt)).
struct EncodedPair {
  std::vector<int32_t> promptA, promptB;
  int32_t tokenA = -1, tokenB = -1;
  /// Tokens the completions encode to in context (1 for a single-token one).
  size_t completionTokensA = 0, completionTokensB = 0;
};

/// Fails when a prompt's tokens are not a prefix of prompt+completion's
/// tokens (the prompt ends mid-token), or when both candidate tokens agree.
rt::Expected<EncodedPair> encodePair(const TaskPair &pair,
                                     const EncodeFn &encode);

/// What is wrong with a task's completions under a tokenizer.
struct TokenIssue {
  enum Kind {
    PromptNotPrefix,  ///< prompt+completion re-tokenises the prompt's end
    SameCandidate,    ///< A and B start with the same token
    NotSingleToken,   ///< a completion is more than one token
    GenerationFailed, ///< the task cannot generate pairs (message in
                      ///< `completion`)
  } kind;
  std::string task;
  char side = 'A';                ///< 'A' or 'B' ('-' for SameCandidate)
  std::string prompt, completion; ///< an offending example
  size_t tokens = 0;              ///< tokens the completion encoded to
  std::string str() const;
};

/// Checks `samples` train pairs (seed 0) of every task: each completion must
/// encode to exactly one token in context, and A's token must differ from
/// B's. Returns one issue per (task, kind, side) with its first example;
/// empty when every task's candidates are single, distinct tokens.
std::vector<TokenIssue> checkCompletionTokens(const std::vector<Task> &tasks,
                                              const EncodeFn &encode,
                                              size_t samples = 32);

} // namespace circ::tasks

#endif // CIRC_TASKS_TASKS_H

//===- circ-tasks.cpp - list, show and check pruning tasks -----*- C++ -*-===//
//
//   circ-tasks [--tasks FILE]... [--list | --show NAME | --markdown |
//              --check-tokens TOKENIZER] [-n N] [--split train|test]
//              [--seed S] [--jsonl]
//
// The built-in tasks plus any defined in FILEs (the template language of
// docs/tasks.md; errors are reported as file:line:col with a caret). --show
// prints generated pairs; --check-tokens verifies against a trained
// tokenizer that every completion is one token after its prompt and that
// the two candidates differ; --markdown prints docs/tasks.md's examples.
//
//===----------------------------------------------------------------------===//
#include "circ/Tasks/Tasks.h"
#include "circ_runtime/Tokenizer.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace circ;
using namespace circ::tasks;

namespace {

const char *kUsage =
    "usage: circ-tasks [--tasks FILE]... [--list | --show NAME | --markdown |\n"
    "                  --check-tokens TOKENIZER] [-n N] [--split train|test]\n"
    "                  [--seed S] [--jsonl]\n"
    "  --list                 name and description of every task (default)\n"
    "  --show NAME            N generated pairs of task NAME (default 4)\n"
    "  --jsonl                with --show: one JSON object per pair\n"
    "  --markdown             one example of every task, as in docs/tasks.md\n"
    "  --check-tokens PATH    check completions against a tokenizer\n"
    "                         (tokenizer.json, encoder.json or a directory)\n"
    "  --tasks FILE           also load the task templates in FILE\n";

int fail(const std::string &message) {
  std::fprintf(stderr, "circ-tasks: error: %s\n", message.c_str());
  return 1;
}

/// A double-quoted, escaped rendering (valid JSON for ASCII text).
std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
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
      if (c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
      } else {
        out += static_cast<char>(c);
      }
    }
  }
  return out + "\"";
}

bool parseNumber(const std::string &s, uint64_t &out) {
  if (s.empty() || s.size() > 19)
    return false;
  out = 0;
  for (char c : s) {
    if (c < '0' || c > '9')
      return false;
    out = out * 10 + static_cast<uint64_t>(c - '0');
  }
  return true;
}

/// The prompt with its completion in «», the completion's escapes visible.
std::string withCompletion(const std::string &prompt,
                           const std::string &completion) {
  std::string c = quoted(completion);
  return prompt + "\u00ab" + c.substr(1, c.size() - 2) + "\u00bb";
}

void printMarkdown(const std::vector<Task> &tasks) {
  for (const Task &t : tasks) {
    auto pairs = t.generate(Split::Train, 0, 1);
    std::printf("### `%s`\n\n%s\n\n", t.name().c_str(),
                t.description().c_str());
    if (!pairs) {
      std::printf("(cannot generate: %s)\n\n", pairs.message().c_str());
      continue;
    }
    const TaskPair &p = (*pairs)[0];
    std::printf("Candidates: `%s` (A) vs `%s` (B).\n\n```text\n",
                quoted(p.completionA).c_str(), quoted(p.completionB).c_str());
    std::printf("A: %s\n", withCompletion(p.promptA, p.completionA).c_str());
    std::printf("B: %s\n```\n\n",
                withCompletion(p.promptB, p.completionB).c_str());
  }
}

} // namespace

int main(int argc, char **argv) {
  std::vector<std::string> taskFiles;
  std::string mode = "list", show, tokenizerPath;
  uint64_t count = 4, seed = 0;
  Split split = Split::Train;
  bool jsonl = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](std::string &out) {
      if (i + 1 >= argc)
        return false;
      out = argv[++i];
      return true;
    };
    std::string v;
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (arg == "--list" || arg == "--markdown") {
      mode = arg.substr(2);
    } else if (arg == "--jsonl") {
      jsonl = true;
    } else if (arg == "--show" || arg == "--check-tokens" || arg == "--tasks" ||
               arg == "-n" || arg == "--split" || arg == "--seed") {
      if (!value(v))
        return fail("'" + arg + "' needs a value");
      if (arg == "--show") {
        mode = "show";
        show = v;
      } else if (arg == "--check-tokens") {
        mode = "check";
        tokenizerPath = v;
      } else if (arg == "--tasks") {
        taskFiles.push_back(v);
      } else if (arg == "--split") {
        if (v != "train" && v != "test")
          return fail("--split must be 'train' or 'test', not '" + v + "'");
        split = v == "train" ? Split::Train : Split::Test;
      } else if (!parseNumber(v, arg == "-n" ? count : seed)) {
        return fail("'" + arg + "' needs a non-negative integer, not '" + v +
                    "'");
      }
    } else {
      return fail("unknown argument '" + arg + "' (see --help)");
    }
  }

  std::vector<Task> tasks = builtinTasks();
  bool parseFailed = false;
  for (const std::string &file : taskFiles) {
    std::ifstream f(file, std::ios::binary);
    if (!f)
      return fail(file + ": " + std::strerror(errno));
    std::stringstream text;
    text << f.rdbuf();
    ParseResult r = parseTaskTemplates(text.str(), file);
    for (const Diagnostic &d : r.errors)
      std::fprintf(stderr, "%s\n", d.str().c_str());
    parseFailed |= !r.ok();
    tasks.insert(tasks.end(), r.tasks.begin(), r.tasks.end());
  }
  if (parseFailed)
    return 1;

  if (mode == "list") {
    for (const Task &t : tasks)
      std::printf("%-28s %s\n", t.name().c_str(), t.description().c_str());
    return 0;
  }
  if (mode == "markdown") {
    printMarkdown(tasks);
    return 0;
  }
  if (mode == "show") {
    const Task *task = nullptr;
    for (const Task &t : tasks)
      if (t.name() == show)
        task = &t;
    if (!task)
      return fail("unknown task '" + show + "' (see --list)");
    auto pairs = task->generate(split, seed, count);
    if (!pairs)
      return fail(pairs.message());
    for (size_t i = 0; i < pairs->size(); ++i) {
      const TaskPair &p = (*pairs)[i];
      if (jsonl) {
        std::printf("{\"prompt_a\": %s, \"prompt_b\": %s, \"completion_a\": "
                    "%s, \"completion_b\": %s}\n",
                    quoted(p.promptA).c_str(), quoted(p.promptB).c_str(),
                    quoted(p.completionA).c_str(),
                    quoted(p.completionB).c_str());
        continue;
      }
      std::printf("pair %zu\n  A: %s -> %s\n  B: %s -> %s\n", i,
                  quoted(p.promptA).c_str(), quoted(p.completionA).c_str(),
                  quoted(p.promptB).c_str(), quoted(p.completionB).c_str());
    }
    return 0;
  }
  // --check-tokens
  auto tok = rt::Tokenizer::load(tokenizerPath);
  if (!tok)
    return fail(tok.message());
  bool encodeFailed = false;
  std::string encodeError;
  EncodeFn encode = [&](std::string_view text) {
    auto ids = tok->encode(text);
    if (!ids) {
      encodeFailed = true;
      encodeError = ids.message();
      return std::vector<int32_t>{};
    }
    return *ids;
  };
  std::vector<TokenIssue> issues = checkCompletionTokens(tasks, encode);
  if (encodeFailed)
    return fail(encodeError);
  bool errors = false;
  for (const TokenIssue &i : issues) {
    bool warning = i.kind == TokenIssue::NotSingleToken;
    errors |= !warning;
    std::printf("%s: %s\n", warning ? "warning" : "error", i.str().c_str());
  }
  std::printf("%zu tasks checked, %zu issues\n", tasks.size(), issues.size());
  return errors ? 1 : 0;
}

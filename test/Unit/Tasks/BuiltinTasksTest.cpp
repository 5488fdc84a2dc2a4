//===- BuiltinTasksTest.cpp - properties of every built-in task -*- C++ -*-===//
//
// Checked for every built-in task over many generated pairs: the prompts
// differ only inside the contrast spans; the completions differ; each
// completion is its own pre-token under the paper's pre-tokeniser (so a BPE
// can make it one token); generation is deterministic and the splits are
// disjoint; and for the tasks that close a construct, Python itself accepts
// prompt+own completion and rejects prompt+other completion.
//
//===----------------------------------------------------------------------===//
#include "circ/Tasks/Tasks.h"
#include "circ_runtime/Tokenizer.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <unistd.h>

using namespace circ::tasks;

namespace {

constexpr size_t kTrain = 300, kTest = 75;

std::vector<std::string> pretokens(std::string_view text) {
  static const auto pre =
      circ::rt::PreTokenizer::compile(circ::rt::kTinyPythonPattern);
  std::vector<std::string> out;
  EXPECT_TRUE(bool(pre));
  EXPECT_FALSE(
      pre->split(text, [&](std::string_view p) { out.emplace_back(p); }));
  return out;
}

/// `text` with the spans cut out, a separator marking each cut.
std::string outsideSpans(const std::string &text,
                         const std::vector<Span> &spans) {
  std::string out;
  size_t at = 0;
  for (const Span &s : spans) {
    EXPECT_LE(at, s.offset);
    EXPECT_LE(s.offset + s.size, text.size());
    out += text.substr(at, s.offset - at) + '\x01';
    at = s.offset + s.size;
  }
  return out + text.substr(at);
}

std::vector<TaskPair> gen(const Task &t, Split split, uint64_t seed, size_t n) {
  auto pairs = t.generate(split, seed, n);
  EXPECT_TRUE(bool(pairs)) << (pairs ? "" : pairs.message());
  return pairs ? *pairs : std::vector<TaskPair>{};
}

class EveryTask : public ::testing::TestWithParam<std::string> {
protected:
  const Task &task() const { return *findBuiltinTask(GetParam()); }
};

// Tests that the two prompts of a pair are equal outside the contrast spans,
// differ inside them, and that the first and last differing bytes lie inside
// spans (an oracle independent of the generator's own span bookkeeping).
TEST_P(EveryTask, PairsDifferOnlyInTheContrast) {
  for (Split split : {Split::Train, Split::Test}) {
    for (const TaskPair &p :
         gen(task(), split, 7, split == Split::Train ? kTrain : kTest)) {
      SCOPED_TRACE(p.promptA + "\n---\n" + p.promptB);
      ASSERT_NE(p.promptA, p.promptB);
      ASSERT_NE(p.completionA, p.completionB);
      ASSERT_FALSE(p.spansA.empty());
      ASSERT_EQ(p.spansA.size(), p.spansB.size());
      EXPECT_EQ(outsideSpans(p.promptA, p.spansA),
                outsideSpans(p.promptB, p.spansB));
      size_t prefix = 0;
      while (prefix < p.promptA.size() && prefix < p.promptB.size() &&
             p.promptA[prefix] == p.promptB[prefix])
        ++prefix;
      size_t suffix = 0;
      while (suffix < p.promptA.size() - prefix &&
             suffix < p.promptB.size() - prefix &&
             p.promptA[p.promptA.size() - 1 - suffix] ==
                 p.promptB[p.promptB.size() - 1 - suffix])
        ++suffix;
      EXPECT_LE(p.spansA.front().offset, prefix);
      EXPECT_GE(p.spansA.back().offset + p.spansA.back().size,
                p.promptA.size() - suffix);
    }
  }
}

// Tests that each completion forms exactly one pre-token after its prompt
// and that the prompt's pre-tokens are unchanged by appending it: otherwise
// no BPE with this pattern could make the completion a single next token.
TEST_P(EveryTask, CompletionIsOnePretokenInContext) {
  for (const TaskPair &p : gen(task(), Split::Train, 3, kTrain)) {
    for (auto [prompt, completion] : {std::pair{&p.promptA, &p.completionA},
                                      std::pair{&p.promptB, &p.completionB}}) {
      std::vector<std::string> expect = pretokens(*prompt);
      expect.push_back(*completion);
      EXPECT_EQ(pretokens(*prompt + *completion), expect)
          << "prompt: " << *prompt << "\ncompletion: " << *completion;
    }
  }
}

// Tests reproducibility from the seed, that a longer request extends a
// shorter one, and that another seed gives other pairs.
TEST_P(EveryTask, DeterministicInTheSeed) {
  auto a = gen(task(), Split::Train, 11, 50);
  auto b = gen(task(), Split::Train, 11, 100);
  auto c = gen(task(), Split::Train, 12, 50);
  ASSERT_EQ(a.size(), 50u);
  ASSERT_EQ(b.size(), 100u);
  size_t same = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].promptA, b[i].promptA);
    EXPECT_EQ(a[i].completionB, b[i].completionB);
    same += a[i].promptA == c[i].promptA;
  }
  EXPECT_LT(same, 5u);
}

// Tests that pairs are distinct within a split and that no prompt of any
// test set (two seeds) occurs in any train set (two other seeds).
TEST_P(EveryTask, TrainAndTestAreDisjoint) {
  std::set<std::string> train, test;
  for (uint64_t seed : {1, 2})
    for (const TaskPair &p : gen(task(), Split::Train, seed, kTrain)) {
      EXPECT_EQ(splitOf(p.promptA, p.promptB), Split::Train);
      train.insert(p.promptA);
      train.insert(p.promptB);
    }
  size_t distinct = 0;
  for (uint64_t seed : {3, 4}) {
    std::set<std::string> one;
    for (const TaskPair &p : gen(task(), Split::Test, seed, kTest)) {
      EXPECT_EQ(splitOf(p.promptA, p.promptB), Split::Test);
      EXPECT_FALSE(train.count(p.promptA)) << p.promptA;
      EXPECT_FALSE(train.count(p.promptB)) << p.promptB;
      distinct += one.insert(p.promptA + '\0' + p.promptB).second;
    }
  }
  EXPECT_EQ(distinct, 2 * kTest);
}

INSTANTIATE_TEST_SUITE_P(Builtin, EveryTask,
                         ::testing::ValuesIn(builtinTaskNames()),
                         [](const auto &info) { return info.param; });

// Tests the checker on the built-ins with the ideal tokenizer for the
// paper's pattern, one token per pre-token: no task may have an issue.
TEST(BuiltinTasks, NoTokenIssuesWhenEveryPretokenIsAToken) {
  std::map<std::string, int32_t> ids;
  EncodeFn encode = [&](std::string_view text) {
    std::vector<int32_t> out;
    for (const std::string &p : pretokens(text))
      out.push_back(
          ids.emplace(p, static_cast<int32_t>(ids.size())).first->second);
    return out;
  };
  for (const TokenIssue &i : checkCompletionTokens(builtinTasks(), encode, 64))
    ADD_FAILURE() << i.str();
}

TEST(BuiltinTasks, RequiredTasksExist) {
  EXPECT_GE(builtinTasks().size(), 12u);
  for (const char *name :
       {"single_double_quote", "bracket_counting", "set_or_string",
        "bracket_type", "nesting_depth", "triple_quote", "fstring_brace",
        "copy_param_name", "var_type_tracking", "indentation", "comma_or_paren",
        "return_or_yield"}) {
    const Task *t = findBuiltinTask(name);
    ASSERT_NE(t, nullptr) << name;
    EXPECT_FALSE(t->description().empty());
    EXPECT_TRUE(t->isBuiltin());
  }
  EXPECT_EQ(findBuiltinTask("no_such_task"), nullptr);
}

// Tests the named tasks' candidates and one hand-checked property each.
TEST(BuiltinTasks, CandidatesAreTheDocumentedOnes) {
  auto first = [](const char *name) {
    return gen(*findBuiltinTask(name), Split::Train, 0, 1).at(0);
  };
  TaskPair q = first("single_double_quote");
  EXPECT_EQ(q.completionA, "')\n");
  EXPECT_EQ(q.completionB, "\")\n");
  EXPECT_EQ(q.promptA.substr(q.spansA[0].offset, 1), "'");
  TaskPair b = first("bracket_counting");
  EXPECT_EQ(b.completionA, "]\n");
  EXPECT_EQ(b.completionB, "]]\n");
  TaskPair s = first("set_or_string");
  EXPECT_EQ(s.completionA, ".add");
  EXPECT_EQ(s.completionB, " +=");
  EXPECT_NE(s.promptA.find("set()"), std::string::npos);
  // copy_param_name: " <param>", where A's parameter is in A's signature
  // and B's is not.
  for (const TaskPair &c :
       gen(*findBuiltinTask("copy_param_name"), Split::Train, 0, 50)) {
    size_t open = c.promptA.find('(', c.promptA.find("def "));
    std::string sig =
        "," + c.promptA.substr(open + 1, c.promptA.find("):") - open - 1) + ",";
    auto hasParam = [&](const std::string &completion) {
      std::string p = completion.substr(1);
      return sig.find(", " + p + ",") != std::string::npos ||
             sig.find("," + p + ",") != std::string::npos;
    };
    EXPECT_EQ(c.completionA[0], ' ');
    EXPECT_TRUE(hasParam(c.completionA)) << c.promptA;
    EXPECT_FALSE(hasParam(c.completionB)) << c.promptA;
  }
}

std::string pyString(const std::string &s) {
  std::string out = "\"";
  for (unsigned char ch : s) {
    if (ch == '\\' || ch == '"')
      out += '\\';
    if (ch == '\n') {
      out += "\\n";
      continue;
    }
    out += static_cast<char>(ch);
  }
  return out + "\"";
}

// Tests the closing tasks against Python's own parser: prompt + its own
// completion is a complete program, prompt + the other pair's completion is
// a syntax error. (triple_quote B + \"\"\" is valid Python -- "x" "" --
// so only its A side is checked for rejection.)
TEST(BuiltinTasks, PythonAcceptsOnlyTheRightCompletion) {
  if (access("/usr/bin/python3", X_OK) != 0)
    GTEST_SKIP() << "python3 not installed";
  char dir[] = "/tmp/circ-tasks-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string script = std::string(dir) + "/check.py";
  std::ofstream py(script);
  py << "import sys\nbad = 0\ncases = [\n";
  size_t cases = 0;
  for (const char *name :
       {"single_double_quote", "bracket_counting", "bracket_type",
        "nesting_depth", "triple_quote", "fstring_brace"}) {
    for (const TaskPair &p :
         gen(*findBuiltinTask(name), Split::Train, 5, 100)) {
      py << "(" << pyString(p.promptA + p.completionA) << ", True),\n";
      py << "(" << pyString(p.promptB + p.completionB) << ", True),\n";
      py << "(" << pyString(p.promptA + p.completionB) << ", False),\n";
      if (std::string(name) != "triple_quote")
        py << "(" << pyString(p.promptB + p.completionA) << ", False),\n";
      cases += 4;
    }
  }
  py << "]\nfor src, ok in cases:\n"
        "    try:\n        compile(src, 't', 'exec'); got = True\n"
        "    except SyntaxError:\n        got = False\n"
        "    if got != ok:\n        bad += 1; print(repr(src), ok)\n"
        "print('bad', bad, 'of', len(cases))\n";
  py.close();
  std::string cmd = "python3 " + script + " 2>&1";
  FILE *f = popen(cmd.c_str(), "r");
  ASSERT_NE(f, nullptr);
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, f))
    out.append(buf, n);
  EXPECT_EQ(pclose(f), 0);
  EXPECT_NE(out.find("bad 0 of"), std::string::npos) << out;
  std::remove(script.c_str());
  rmdir(dir);
  EXPECT_GT(cases, 2000u);
}

} // namespace

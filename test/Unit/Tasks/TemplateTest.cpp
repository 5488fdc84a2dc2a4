//===- TemplateTest.cpp - the task template language -----------*- C++ -*-===//
//
// Expansion checked against hand-written expected strings, the drawing rules
// (distinct entries per named list, `two of`, exhaustion), every error
// message at its exact line and column, and the token checks against mock
// encoders whose answers are known by construction.
//
//===----------------------------------------------------------------------===//
#include "circ/Tasks/Tasks.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

using namespace circ::tasks;

namespace {

Task parseOne(const std::string &src) {
  ParseResult r = parseTaskTemplates(src, "t.circ");
  std::string errs;
  for (const Diagnostic &d : r.errors)
    errs += d.str() + "\n";
  EXPECT_TRUE(r.ok()) << errs;
  EXPECT_EQ(r.tasks.size(), 1u);
  return r.tasks.at(0);
}

/// The single error of parsing `src`, as "line:col: message".
std::string errorOf(const std::string &src) {
  ParseResult r = parseTaskTemplates(src, "t.circ");
  EXPECT_EQ(r.errors.size(), 1u);
  if (r.errors.empty())
    return "no error";
  const Diagnostic &d = r.errors[0];
  return std::to_string(d.loc.line) + ":" + std::to_string(d.loc.col) + ": " +
         d.message;
}

std::vector<TaskPair> all(const Task &t, Split split, size_t n,
                          uint64_t seed = 0) {
  auto r = t.generate(split, seed, n);
  EXPECT_TRUE(bool(r)) << (r ? "" : r.message());
  return r ? *r : std::vector<TaskPair>{};
}

using PromptPairs = std::set<std::pair<std::string, std::string>>;

/// Asks each split for exactly its share of `expected` (by splitOf) and
/// checks that together they are exactly `expected`: the template generates
/// every combination and nothing else. Returns the pairs.
std::vector<TaskPair> expectExactly(const Task &t,
                                    const PromptPairs &expected) {
  size_t n[2] = {0, 0};
  for (const auto &[a, b] : expected)
    ++n[splitOf(a, b) == Split::Test];
  std::vector<TaskPair> pairs = all(t, Split::Train, n[0]);
  for (const TaskPair &p : all(t, Split::Test, n[1]))
    pairs.push_back(p);
  PromptPairs got;
  for (const TaskPair &p : pairs)
    got.insert({p.promptA, p.promptB});
  EXPECT_EQ(got, expected);
  return pairs;
}

// Tests a fully determined template: exact prompts, completions, spans;
// escapes, `{{`/`}}` literal braces and `;`-separated statements.
TEST(Template, ExpandsExactly) {
  Task t = parseOne(R"tpl(task quote {
    description = "close the quote"
    prompt = "{{x}} = {q}{w}\tend"; completion = "{q})\n"
    contrast q = ["'", "\""]
    slot w = ["abc"]
  })tpl");
  EXPECT_EQ(t.name(), "quote");
  EXPECT_EQ(t.description(), "close the quote");
  EXPECT_EQ(t.loc().line, 1u);
  EXPECT_FALSE(t.isBuiltin());
  // One datapoint only; it lands in exactly one of the splits.
  Split split = splitOf("{x} = 'abc\tend", "{x} = \"abc\tend");
  auto pairs = all(t, split, 1);
  ASSERT_EQ(pairs.size(), 1u);
  const TaskPair &p = pairs[0];
  EXPECT_EQ(p.promptA, "{x} = 'abc\tend");
  EXPECT_EQ(p.promptB, "{x} = \"abc\tend");
  EXPECT_EQ(p.completionA, "')\n");
  EXPECT_EQ(p.completionB, "\")\n");
  ASSERT_EQ(p.spansA.size(), 1u);
  EXPECT_EQ(p.spansA[0].offset, 6u);
  EXPECT_EQ(p.spansA[0].size, 1u);
  Split other = split == Split::Train ? Split::Test : Split::Train;
  auto none = t.generate(other, 0, 1);
  ASSERT_FALSE(bool(none));
  EXPECT_EQ(none.message(),
            "t.circ:1: task 'quote': only 0 distinct " +
                std::string(splitName(other)) +
                " pairs in 320 draws, 1 requested; give its slots longer "
                "lists");
}

// Tests tuples, nested slot references inside slot and contrast values,
// integer ranges, and spans of multi-character contrast values.
TEST(Template, TuplesNestingAndRanges) {
  Task t = parseOne(R"tpl(
task nest {
  prompt = "{v} = {open}{body}"
  completion = "{close}"
  contrast (open, close) = [("[", "]"), ("({n}, ", ")")]
  slot body = ["{n}, {n}"]
  slot v = ["x"]
  slot n = 7..8
}
)tpl");
  std::vector<TaskPair> pairs = expectExactly(
      t, {{"x = [7, 7", "x = (7, 7, 7"}, {"x = [8, 8", "x = (8, 8, 8"}});
  for (const TaskPair &p : pairs) {
    std::string n = p.promptA.substr(5, 1);
    EXPECT_EQ(p.completionA, "]");
    EXPECT_EQ(p.completionB, ")");
    ASSERT_EQ(p.spansB.size(), 1u);
    EXPECT_EQ(p.promptB.substr(p.spansB[0].offset, p.spansB[0].size),
              "(" + n + ", ");
  }
}

// Tests that draws from one named list are distinct within a pair, while an
// inline list may repeat across slots; and that all orders occur.
TEST(Template, NamedListDrawsAreDistinct) {
  Task t = parseOne(R"tpl(
list L = ["a", "b", "c"]
task d {
  prompt = "{x}{y}{z}{q}"; completion = "{q}"
  contrast q = ["0", "1"]
  slot x = L; slot y = L; slot z = L
})tpl");
  PromptPairs perms;
  for (std::string xyz : {"abc", "acb", "bac", "bca", "cab", "cba"})
    perms.insert({xyz + "0", xyz + "1"});
  expectExactly(t, perms); // all 3! permutations, never a repeat

  Task inl = parseOne(R"tpl(task e {
    prompt = "{x}{y}{q}"; completion = "{q}"
    contrast q = ["0", "1"]
    slot x = ["a", "b"]; slot y = ["a", "b"]
  })tpl");
  expectExactly(
      inl, {{"aa0", "aa1"}, {"ab0", "ab1"}, {"ba0", "ba1"}, {"bb0", "bb1"}});
}

// Tests `two of`: A and B get distinct entries, in both orders, and never
// the entry another slot drew from the same list.
TEST(Template, TwoOfDrawsDistinctPairs) {
  Task t = parseOne(R"tpl(
list L = ["a", "b", "c"]
task two {
  prompt = "{o}:{p}"; completion = " {p}"
  contrast p = two of L
  slot o = L
})tpl");
  // A pair and its mirror (B, A) are the same datapoint, so each unordered
  // pair comes once, in one of its orientations.
  PromptPairs expected;
  for (std::string o : {"a", "b", "c"})
    for (std::string a : {"a", "b", "c"})
      for (std::string b : {"a", "b", "c"})
        if (o != a && o != b && a < b)
          expected.insert({o + ":" + a, o + ":" + b});
  size_t n[2] = {0, 0};
  for (const auto &[a, b] : expected)
    ++n[splitOf(a, b) == Split::Test];
  PromptPairs got;
  std::set<bool> aFirst;
  for (Split split : {Split::Train, Split::Test})
    for (const TaskPair &p : all(t, split, n[split == Split::Test])) {
      EXPECT_EQ(p.completionA, " " + p.promptA.substr(2));
      EXPECT_EQ(p.completionB, " " + p.promptB.substr(2));
      aFirst.insert(p.promptA < p.promptB);
      got.insert(std::minmax(p.promptA, p.promptB));
    }
  EXPECT_EQ(got, expected);
  EXPECT_EQ(aFirst.size(), 2u); // both orientations are drawn
}

// Tests the generation-time errors: a list exhausted by one pair, and equal
// contrast values.
TEST(Template, GenerationErrors) {
  Task t = parseOne(R"tpl(
list L = ["a", "b"]
task ex {
  prompt = "{x}{y}{z}{q}"; completion = "{q}"
  contrast q = ["0", "1"]
  slot x = L; slot y = L; slot z = L
})tpl");
  auto r = t.generate(Split::Train, 0, 1);
  ASSERT_FALSE(bool(r));
  EXPECT_EQ(r.message(), "t.circ:3: task 'ex': one pair draws more than 2 "
                         "distinct entries from list 'L'");

  Task same = parseOne(R"tpl(task same {
    prompt = "{q}"; completion = "{q}."
    contrast q = ["a", "a"]
  })tpl");
  auto s = same.generate(Split::Train, 0, 1);
  ASSERT_FALSE(bool(s));
  EXPECT_EQ(s.message(), "t.circ:1: task 'same': the contrast's two values "
                         "give identical prompts: \"a\"");
}

// Tests that user templates can use the built-in lists, and that line and
// column numbers count from the start of the whole buffer when only a range
// is parsed (as the front end does for a task block inside a .circ file).
TEST(Template, BuiltinListsAndBufferRanges) {
  std::string prefix = "model m {\n  layers = 2\n}\n";
  std::string block = "task mine {\n  prompt = \"{v} = {q}\"\n"
                      "  completion = \"{q}\"\n"
                      "  contrast q = [\"1\", \"2\"]\n  slot v = names\n}\n";
  std::string buffer = prefix + block + "train m { }\n";
  ParseResult r = parseTaskTemplates(buffer, "x.circ", prefix.size(),
                                     prefix.size() + block.size());
  ASSERT_TRUE(r.ok()) << r.errors[0].str();
  ASSERT_EQ(r.tasks.size(), 1u);
  EXPECT_EQ(r.tasks[0].loc().line, 4u);
  EXPECT_EQ(r.tasks[0].loc().col, 1u);
  auto pairs = all(r.tasks[0], Split::Train, 20);
  std::set<std::string> names;
  for (const TaskPair &p : pairs)
    names.insert(p.promptA.substr(0, p.promptA.find(' ')));
  EXPECT_GT(names.size(), 10u);
  std::vector<std::string> lists = builtinListNames();
  EXPECT_NE(std::find(lists.begin(), lists.end(), "names"), lists.end());

  std::string bad = prefix +
                    "task oops {\n  prompt = \"{nope}\"\n"
                    "  completion = \"{q}\"; contrast q = [\"a\", \"b\"]\n}\n";
  ParseResult e = parseTaskTemplates(bad, "x.circ", prefix.size());
  ASSERT_GE(e.errors.size(), 1u);
  EXPECT_EQ(e.errors[0].str(), "x.circ:5:14: error: unknown slot 'nope' in "
                               "task 'oops'\n  prompt = \"{nope}\"\n"
                               "             ^");
}

// Tests each parse-time error at its exact position.
TEST(Template, ErrorMessages) {
  const char *head = "task t {\n  prompt = \"{q}\"; completion = \"{q}\"\n";
  auto withBody = [&](const std::string &body) {
    return std::string(head) + body + "\n}\n";
  };
  EXPECT_EQ(errorOf(withBody("  contrast q = [\"a\"]")),
            "3:12: a contrast list needs exactly two entries (A, then B); the "
            "list has 1 (write 'two of [...]' to draw two distinct entries "
            "per pair)");
  EXPECT_EQ(errorOf(withBody("  contrast q = two of [\"a\"]")),
            "3:12: 'two of' needs a list of at least two entries");
  EXPECT_EQ(errorOf(withBody("  contrast q = foo")),
            "3:16: unknown list 'foo' "
            "(built-in lists: classes, funcs, modules, names, nums, params, "
            "set_or_string_body, texts, words)");
  EXPECT_EQ(errorOf(withBody("  contrast (q, r) = [\"a\", \"b\"]")),
            "3:12: 2 name(s) bound to the list whose entries have 1 value(s)");
  EXPECT_EQ(errorOf(withBody("  contrast q = [(\"a\", \"b\"), \"c\"]")),
            "3:29: this entry has 1 value(s) but the list's first entry has 2");
  EXPECT_EQ(errorOf(withBody("  contrast q = [\"a\", \"b\"]\n"
                             "  contrast r = [\"a\", \"b\"]")),
            "4:12: a task has exactly one contrast slot; 't' already has one");
  EXPECT_EQ(
      errorOf(withBody("  contrast q = [\"a\", \"b\"]\n  slot q = [\"c\"]")),
      "4:8: slot 'q' is already defined in task 't'");
  EXPECT_EQ(errorOf(withBody("  contrast q = [\"{s}\", \"b\"]\n"
                             "  slot s = [\"{u}\"]; slot u = [\"{s}\"]")),
            "4:8: slot 's' refers to itself through 'u'");
  EXPECT_EQ(errorOf(withBody("  contrast q = [\"{q}\", \"b\"]")),
            "3:12: slot 'q' refers to itself");
  EXPECT_EQ(errorOf(withBody("  contrast q = [\"a\", \"b\"]\n  slot s = 5..2")),
            "4:15: empty range: 5..2 (the bounds are inclusive)");
  EXPECT_EQ(
      errorOf(withBody("  contrast q = [\"a\", \"b\"]\n  slot s = 0..100000")),
      "4:15: range too large (at most 100000 entries)");
  EXPECT_EQ(errorOf(withBody(
                "  contrast q = [\"a\", \"b\"]\n  slot s = 1..99999999999999")),
            "4:15: integer '99999999999999' is too large (at most 12 digits)");
  EXPECT_EQ(errorOf(withBody("  contrast q = [\"a\", \"b\"]\n  slot s = []")),
            "4:12: a list needs at least one entry");
  EXPECT_EQ(errorOf(withBody(
                "  contrast q = [\"a\", \"b\"]\n  list names = [\"x\"]")),
            "4:8: list 'names' redefines a built-in list");
  EXPECT_EQ(
      errorOf(withBody("  contrast q = [\"a\", \"b\"]\n  prompt = \"x\"")),
      "4:3: duplicate 'prompt' in task 't'");
  EXPECT_EQ(
      errorOf(withBody("  contrast q = [\"a\", \"b\"]\n  colour = \"x\"")),
      "4:3: expected 'description', 'prompt', 'completion', 'slot', "
      "'contrast' or 'list', found 'colour'");
  EXPECT_EQ(errorOf(withBody("  contrast q = [\"a\", \"b\"] x")),
            "3:27: expected end of statement (a newline or ';'), found 'x'");

  EXPECT_EQ(errorOf("task t {\n  prompt = \"{q\"\n}"),
            "2:13: expected a slot name and '}' after '{' (write '{{' for a "
            "literal brace)");
  EXPECT_EQ(errorOf("task t {\n  prompt = \"a}b\"\n}"),
            "2:14: unmatched '}' (write '}}' for a literal brace)");
  EXPECT_EQ(errorOf("task t {\n  prompt = \"abc\n}"),
            "2:12: unterminated string");
  EXPECT_EQ(
      errorOf("task t {\n  prompt = \"a\\qb\"\n}"),
      "2:14: unknown escape '\\q' (use \\n, \\t, \\r, \\\\, \\\" or \\')");
  EXPECT_EQ(errorOf("task t { /* never closed"),
            "1:10: unterminated '/*' comment");
  EXPECT_EQ(errorOf("task t { prompt = \"a\" $ }"),
            "1:23: unexpected character '$'");
  EXPECT_EQ(errorOf("model m { }"),
            "1:1: expected 'task' or 'list', found 'model'");
  EXPECT_EQ(errorOf("task bracket_counting {\n  prompt = \"{q}\"; completion = "
                    "\"{q}\"\n  contrast q = [\"a\", \"b\"]\n}"),
            "1:6: task 'bracket_counting' is a built-in task; choose another "
            "name");
  EXPECT_EQ(errorOf("task t {\n  prompt = \"x\"; completion = \"{q}\"\n"
                    "  contrast q = [\"a\", \"b\"]\n}"),
            "2:3: the prompt never uses the contrast slot 'q', so prompts A "
            "and B would be equal");
  EXPECT_EQ(errorOf("task t {\n  prompt = \"{q}\"; completion = \"{s}\"\n"
                    "  contrast q = [\"a\", \"b\"]; slot s = [\"c\"]\n}"),
            "2:19: the completion never uses the contrast slot 'q', so "
            "completions A and B would be equal");
}

// Tests that errors in several statements and tasks are all reported, that
// a missing part is reported at the task's name, and that a task with a
// syntax error gets no follow-on errors.
TEST(Template, ReportsEveryErrorAndRecovers) {
  ParseResult r = parseTaskTemplates("task a {\n  prompt = 3\n  slot = x\n}\n"
                                     "task a {\n  prompt = \"{q}\"\n}\n",
                                     "m.circ");
  std::vector<std::string> got;
  for (const Diagnostic &d : r.errors)
    got.push_back(std::to_string(d.loc.line) + ":" + std::to_string(d.loc.col) +
                  ": " + d.message);
  std::vector<std::string> want = {
      "2:12: expected a string, found an integer",
      "3:8: expected a slot name or '(...)', found '='",
      // The first task had syntax errors: nothing cascades from them.
      "5:6: task 'a' has no 'completion'",
      "5:6: task 'a' has no 'contrast' slot (the slot whose two values make "
      "prompt A and prompt B)",
      "5:6: task 'a' is already defined",
  };
  EXPECT_EQ(got, want);
  EXPECT_TRUE(r.tasks.empty());
}

// Tests the caret line under tab-indented source.
TEST(Template, DiagnosticFormat) {
  ParseResult r = parseTaskTemplates("task t {\n\tprompt = 3\n}", "f.circ");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.errors[0].str(), "f.circ:2:11: error: expected a string, found "
                               "an integer\n\tprompt = 3\n\t         ^");
}

//===----------------------------------------------------------------------===//
// Token checks with mock encoders
//===----------------------------------------------------------------------===//

/// One token per byte.
std::vector<int32_t> byteEncode(std::string_view s) {
  return std::vector<int32_t>(s.begin(), s.end());
}

/// Words (maximal runs of letters) are one token each, every other byte its
/// own token; the id of a word is a stable table index.
std::vector<int32_t> wordEncode(std::string_view s) {
  static std::map<std::string, int32_t> ids;
  std::vector<int32_t> out;
  for (size_t i = 0; i < s.size();) {
    size_t j = i;
    while (j < s.size() && std::isalpha(static_cast<unsigned char>(s[j])))
      ++j;
    if (j == i) {
      out.push_back(static_cast<unsigned char>(s[i++]));
      continue;
    }
    auto [it, _] = ids.emplace(std::string(s.substr(i, j - i)),
                               static_cast<int32_t>(1000 + ids.size()));
    out.push_back(it->second);
    i = j;
  }
  return out;
}

TEST(Tokens, EncodePairUsesTheFirstTokenInContext) {
  TaskPair p{"x = ", "y = ", "'a", "\"a", {}, {}};
  auto e = encodePair(p, byteEncode);
  ASSERT_TRUE(bool(e)) << e.message();
  EXPECT_EQ(e->tokenA, '\'');
  EXPECT_EQ(e->tokenB, '"');
  EXPECT_EQ(e->completionTokensA, 2u);
  EXPECT_EQ(e->promptA, byteEncode("x = "));

  // With word tokens, "ab" + "c" re-tokenises the prompt's last word.
  TaskPair merge{"x ab", "x cd", "c", ")", {}, {}};
  auto m = encodePair(merge, wordEncode);
  ASSERT_FALSE(bool(m));
  EXPECT_EQ(m.message(), "prompt A \"x ab\" ends inside a token: its "
                         "completion re-tokenises the prompt's end");

  TaskPair same{"x", "y", "ab", "ac", {}, {}};
  auto s = encodePair(same, byteEncode);
  ASSERT_FALSE(bool(s));
  EXPECT_EQ(s.message(), "completions \"ab\" and \"ac\" start with the same "
                         "token 97");
}

TEST(Tokens, CheckReportsEachKindOnce) {
  ParseResult r = parseTaskTemplates(R"tpl(
task good {
  prompt = "{v} = {q}"; completion = "{q}"
  contrast q = [";", ","]
  slot v = names
}
task multi {
  prompt = "{v}:{q}."; completion = "{q}!"
  contrast q = ["yes", "no"]
  slot v = names
}
task glued {
  prompt = "{v} {q}"; completion = "{q}x"
  contrast q = ["ab", "cd"]
  slot v = names
}
task same {
  prompt = "{v}{q}"; completion = "={q}"
  contrast q = ["1", "2"]
  slot v = names
}
)tpl",
                                     "k.circ");
  ASSERT_TRUE(r.ok()) << r.errors[0].str();
  std::vector<TokenIssue> issues =
      checkCompletionTokens(r.tasks, wordEncode, 8);
  std::vector<std::string> got;
  for (const TokenIssue &i : issues)
    got.push_back(i.task + ":" + std::to_string(i.kind) + ":" + i.side);
  // "yes!" is two tokens (word, '!'); "ab"+"abx" merges words; "=" starts
  // both completions of `same`.
  std::vector<std::string> want = {"multi:2:A", "multi:2:B", "glued:0:A",
                                   "glued:0:B", "same:2:A",  "same:2:B",
                                   "same:1:-"};
  EXPECT_EQ(got, want);
  EXPECT_EQ(issues[0].tokens, 2u);
  EXPECT_EQ(issues[0].str().substr(0, 48),
            "task 'multi': completion A \"yes!\" is 2 tokens, n");
}

} // namespace

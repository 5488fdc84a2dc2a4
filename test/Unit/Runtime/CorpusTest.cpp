//===- CorpusTest.cpp - corpus listing, split, streams, cache tests
//--------===//
#include "circ_runtime/Corpus.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

using namespace circ::rt;

namespace {

/// A scratch directory removed at the end of the test.
struct TempTree {
  std::string root;
  TempTree() {
    char tmpl[] = "/tmp/circ-corpus-XXXXXX";
    root = mkdtemp(tmpl);
  }
  ~TempTree() { (void)std::system(("rm -rf '" + root + "'").c_str()); }
  void write(const std::string &rel, const std::string &text) {
    std::string path = root + "/" + rel;
    for (size_t s = path.find('/', root.size() + 1); s != std::string::npos;
         s = path.find('/', s + 1))
      mkdir(path.substr(0, s).c_str(), 0755);
    std::ofstream(path, std::ios::binary) << text;
  }
};

std::vector<std::string> relPaths(const CorpusListing &l) {
  std::vector<std::string> out;
  for (const CorpusFile &f : l.files)
    out.push_back(f.relPath);
  return out;
}

using V = std::vector<std::string>;

// Tests directory and glob listings: recursion, sorting, hidden entries,
// excluded directories, symlink loops and broken links (counted warnings).
TEST(Corpus, ListsFiles) {
  TempTree t;
  t.write("b.py", "b = 1\n");
  t.write("a.py", "a = 1\n");
  t.write("sub/c.py", "c\n");
  t.write("sub/notes.txt", "text\n");
  t.write("sub/deep/d.py", "d\n");
  t.write(".hidden/e.py", "e\n");
  t.write("site-packages/f.py", "f\n");
  t.write("other/x.py", "x\n");
  // A loop (sub/loop is sub), an alias of a listed directory, a broken link.
  ASSERT_EQ(symlink(".", (t.root + "/sub/loop").c_str()), 0);
  ASSERT_EQ(symlink("../other", (t.root + "/sub/ext").c_str()), 0);
  ASSERT_EQ(symlink("missing.py", (t.root + "/broken.py").c_str()), 0);

  auto all = listCorpus(t.root);
  ASSERT_TRUE(all) << all.message();
  EXPECT_EQ(relPaths(*all),
            (V{"a.py", "b.py", "other/x.py", "site-packages/f.py", "sub/c.py",
               "sub/deep/d.py"}));
  EXPECT_EQ(all->files[0].size, 6u);
  EXPECT_EQ(all->warnings.size(), 3u) << all->warnings[0];

  auto noSite = listCorpus(t.root + "/", {"site-packages"});
  ASSERT_TRUE(noSite);
  EXPECT_EQ(relPaths(*noSite),
            (V{"a.py", "b.py", "other/x.py", "sub/c.py", "sub/deep/d.py"}));

  auto deepGlob = listCorpus(t.root + "/**/*.py", {"site-packages"});
  ASSERT_TRUE(deepGlob) << deepGlob.message();
  EXPECT_EQ(relPaths(*deepGlob), relPaths(*noSite));
  EXPECT_EQ(deepGlob->root, t.root);

  auto flat = listCorpus(t.root + "/*.py");
  ASSERT_TRUE(flat);
  EXPECT_EQ(relPaths(*flat), (V{"a.py", "b.py"}));
  // Below sub, the link to `other` is followed; the loop is not.
  auto sub = listCorpus(t.root + "/sub/**/*.[pt][yx]*");
  ASSERT_TRUE(sub);
  EXPECT_EQ(relPaths(*sub), (V{"c.py", "deep/d.py", "ext/x.py", "notes.txt"}));
  EXPECT_EQ(sub->warnings.size(), 1u);

  auto one = listCorpus(t.root + "/a.py");
  ASSERT_TRUE(one);
  EXPECT_EQ(relPaths(*one), (V{"a.py"}));

  auto none = listCorpus(t.root + "/**/*.rs");
  ASSERT_FALSE(none);
  EXPECT_NE(none.message().find("no files match"), std::string::npos);
  auto missing = listCorpus(t.root + "/nope");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.message().find("No such file"), std::string::npos);
}

CorpusListing fakeListing(int n) {
  CorpusListing l;
  l.root = "/fake";
  for (int i = 0; i < n; ++i)
    l.files.push_back({"/fake/f" + std::to_string(i) + ".py",
                       "f" + std::to_string(i) + ".py", 1, 0});
  return l;
}

// Tests that the split is a function of each path alone, has the requested
// proportion, and always leaves a file on each side.
TEST(Corpus, SplitsDeterministicallyByPath) {
  CorpusListing big = fakeListing(4000);
  auto a = splitCorpus(big, 0.1);
  ASSERT_TRUE(a);
  EXPECT_GT(a->holdout.size(), 300u);
  EXPECT_LT(a->holdout.size(), 500u);
  EXPECT_EQ(a->train.size() + a->holdout.size(), 4000u);
  // Dropping half the files moves none of the others.
  CorpusListing half = big;
  half.files.resize(2000);
  auto b = splitCorpus(half, 0.1);
  ASSERT_TRUE(b);
  std::set<std::string> heldA, heldB;
  for (const auto &f : a->holdout)
    heldA.insert(f.relPath);
  for (const auto &f : b->holdout)
    heldB.insert(f.relPath);
  for (const auto &f : half.files)
    EXPECT_EQ(heldA.count(f.relPath), heldB.count(f.relPath)) << f.relPath;

  auto two = splitCorpus(fakeListing(2), 0.01);
  ASSERT_TRUE(two);
  EXPECT_EQ(two->train.size(), 1u);
  EXPECT_EQ(two->holdout.size(), 1u);
  auto one = splitCorpus(fakeListing(1), 0.01);
  ASSERT_FALSE(one);
  EXPECT_NE(one.message().find("needs at least 2"), std::string::npos);
  EXPECT_FALSE(splitCorpus(big, 1.0));
}

Tokenizer smallTokenizer(const std::vector<CorpusFile> &files) {
  std::vector<std::string> warnings;
  auto tok = trainTokenizer(files, 300, kTinyPythonPattern, 2, warnings);
  EXPECT_TRUE(tok) << tok.message();
  return *tok;
}

// Tests that the stream is each document's tokens followed by EOT, in file
// order, whatever the thread count.
TEST(Corpus, TokenisesFilesInOrder) {
  TempTree t;
  std::vector<std::string> texts;
  for (int i = 0; i < 12; ++i) {
    std::string text = "def f" + std::to_string(i) + "(x):\n    return x * " +
                       std::to_string(i * 37) + "\n";
    if (i == 5)
      text += "bad \xff\xfe bytes\n";
    texts.push_back(text);
    t.write("m" + std::string(1, char('a' + i)) + ".py", text);
  }
  auto listing = listCorpus(t.root);
  ASSERT_TRUE(listing);
  Tokenizer tok = smallTokenizer(listing->files);
  std::vector<int32_t> expected;
  for (const std::string &text : texts) {
    auto ids = tok.encode(text);
    ASSERT_TRUE(ids);
    expected.insert(expected.end(), ids->begin(), ids->end());
    expected.push_back(tok.eotId());
  }
  for (unsigned threads : {1u, 2u, 5u}) {
    std::vector<std::string> warnings;
    auto stream = tokenizeFiles(listing->files, tok, threads, warnings);
    ASSERT_TRUE(stream) << stream.message();
    EXPECT_EQ(stream->tokens, expected) << threads << " threads";
    EXPECT_EQ(stream->documents, 12u);
    EXPECT_TRUE(warnings.empty());
  }
  // A file that vanished after listing is skipped with a warning.
  std::vector<CorpusFile> files = listing->files;
  files.push_back({t.root + "/gone.py", "gone.py", 0, 0});
  std::vector<std::string> warnings;
  auto stream = tokenizeFiles(files, tok, 2, warnings);
  ASSERT_TRUE(stream);
  EXPECT_EQ(stream->tokens, expected);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("gone.py"), std::string::npos);
}

// Tests the on-disk caches: a second load reuses the streams, a changed file
// invalidates them, and a corrupt cache is reported and rebuilt.
TEST(Corpus, CachesTokenStreams) {
  TempTree t;
  for (int i = 0; i < 30; ++i)
    t.write("pkg/m" + std::to_string(i) + ".py",
            "import os\nprint(" + std::to_string(i) + ")\n");
  std::string cache = t.root + "/cache";
  CorpusOptions o;
  o.spec = t.root + "/pkg";
  o.holdoutFraction = 0.2;
  o.cacheDir = cache;
  auto listing = listCorpus(o);
  ASSERT_TRUE(listing);
  auto split = splitCorpus(*listing, o.holdoutFraction);
  ASSERT_TRUE(split);
  std::vector<std::string> warnings;
  auto tok =
      trainTokenizerCached(*split, 280, kTinyPythonPattern, 2, cache, warnings);
  ASSERT_TRUE(tok) << tok.message();
  auto tokAgain =
      trainTokenizerCached(*split, 280, kTinyPythonPattern, 2, cache, warnings);
  ASSERT_TRUE(tokAgain);
  EXPECT_EQ(tokAgain->fingerprint(), tok->fingerprint());
  EXPECT_TRUE(warnings.empty());

  auto first = loadCorpus(o, *tok, *listing);
  ASSERT_TRUE(first) << first.message();
  EXPECT_FALSE(first->fromCache);
  EXPECT_FALSE(first->cacheFile.empty());
  auto second = loadCorpus(o, *tok);
  ASSERT_TRUE(second) << second.message();
  EXPECT_TRUE(second->fromCache);
  EXPECT_EQ(second->train->tokens, first->train->tokens);
  EXPECT_EQ(second->holdout->tokens, first->holdout->tokens);
  EXPECT_EQ(second->train->documents, first->train->documents);
  EXPECT_EQ(second->split.holdout.size(), first->split.holdout.size());

  // A corrupt cache file: warned about, rebuilt, identical streams.
  ASSERT_EQ(truncate(first->cacheFile.c_str(), 100), 0);
  auto rebuilt = loadCorpus(o, *tok);
  ASSERT_TRUE(rebuilt);
  EXPECT_FALSE(rebuilt->fromCache);
  ASSERT_EQ(rebuilt->listing.warnings.size(), 1u);
  EXPECT_NE(rebuilt->listing.warnings[0].find("ignoring the corpus cache"),
            std::string::npos);
  EXPECT_EQ(rebuilt->train->tokens, first->train->tokens);

  // Editing a file changes the key.
  t.write("pkg/m3.py", "import sys\n");
  auto edited = loadCorpus(o, *tok);
  ASSERT_TRUE(edited);
  EXPECT_FALSE(edited->fromCache);
  EXPECT_NE(edited->cacheFile, first->cacheFile);
}

// Tests that the default corpus is found (or the error explains what to do).
TEST(Corpus, FindsDefaultCorpus) {
  auto dir = findDefaultCorpus();
  if (!dir) {
    EXPECT_NE(dir.message().find("--corpus DIR"), std::string::npos);
    EXPECT_NE(dir.message().find("data { files ="), std::string::npos);
    return;
  }
  struct stat st;
  EXPECT_EQ(stat((*dir + "/os.py").c_str(), &st), 0) << *dir;
}

// Tests the acceptance criterion: a 2048-token tokenizer trained on
// the default corpus's train split round-trips every file of the corpus,
// byte for byte (the stdlib has files with invalid UTF-8 and odd encodings).
TEST(Corpus, DefaultCorpusRoundTripsEveryFile) {
  auto dir = findDefaultCorpus();
  ASSERT_TRUE(dir) << dir.message();
  auto listing = listCorpus(*dir, defaultCorpusExcludes());
  ASSERT_TRUE(listing) << listing.message();
  ASSERT_GT(listing->files.size(), 100u);
  auto split = splitCorpus(*listing, 0.01);
  ASSERT_TRUE(split);
  std::vector<std::string> warnings;
  auto tok =
      trainTokenizer(split->train, 2048, kTinyPythonPattern, 2, warnings);
  ASSERT_TRUE(tok) << tok.message();
  EXPECT_EQ(tok->vocabSize(), 2048);
  EXPECT_EQ(tok->eotId(), 2047);
  EXPECT_EQ(tok->numMerges(), 1791);
  auto stream = tokenizeFiles(listing->files, *tok, 2, warnings);
  ASSERT_TRUE(stream) << stream.message();
  ASSERT_EQ(stream->documents, listing->files.size());
  // Cut the stream at EOT and compare each document with its file.
  size_t begin = 0, doc = 0;
  for (size_t i = 0; i < stream->tokens.size(); ++i) {
    if (stream->tokens[i] != tok->eotId())
      continue;
    auto text = tok->decode(stream->tokens.data() + begin, i - begin);
    ASSERT_TRUE(text);
    std::ifstream in(listing->files[doc].path, std::ios::binary);
    std::string original((std::istreambuf_iterator<char>(in)),
                         std::istreambuf_iterator<char>());
    ASSERT_EQ(*text, original) << listing->files[doc].path;
    begin = i + 1;
    ++doc;
  }
  EXPECT_EQ(doc, listing->files.size());
  // Compression as a sanity bound: code BPE at 2048 gets ~3 bytes per token.
  EXPECT_GT(double(stream->bytes) / double(stream->tokens.size()), 2.5);
}

} // namespace

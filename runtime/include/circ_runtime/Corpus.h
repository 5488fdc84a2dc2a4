//===- Corpus.h - training text: files, split, token streams ----*- C++ -*-===//
//
// A corpus is a directory tree of Python files (or any files a glob picks).
// The default, so training runs on a fresh machine without a download, is the
// Python standard library of the system `python3`.
//
//   listing  : every file, sorted by path relative to the corpus root
//   split    : train / holdout by a hash of the relative path (deterministic,
//              independent of the machine and of the other files)
//   streams  : each split's documents tokenised (in parallel) and joined as
//              doc0 EOT doc1 EOT ... docN EOT
//
// loadCorpus() caches the two token streams on disk, keyed by the file list
// (paths, sizes, modification times), the split and the tokenizer, so a second
// run starts without tokenising.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_RUNTIME_CORPUS_H
#define CIRC_RUNTIME_CORPUS_H

#include "circ_runtime/Error.h"
#include "circ_runtime/Tokenizer.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace circ::rt {

/// The directory of the Python standard library: `python3`'s
/// sysconfig stdlib path, else the newest /usr/lib/python3.N. The error says
/// how to point at a corpus instead.
Expected<std::string> findDefaultCorpus();

/// Directories the default corpus leaves out (third-party packages are not
/// the standard library).
const std::vector<std::string> &defaultCorpusExcludes();

struct CorpusFile {
  std::string path;    ///< as opened
  std::string relPath; ///< relative to the corpus root; names the file
  uint64_t size = 0;
  int64_t mtimeNs = 0;
};

struct CorpusListing {
  std::string root;
  std::vector<CorpusFile> files; ///< sorted by relPath
  /// Entries skipped: unreadable files, broken links, directory loops.
  std::vector<std::string> warnings;
};

/// Lists a corpus. `spec` is a directory (every `*.py` below it), a single
/// file, or a glob whose segments may use * ? [..] and `**` for any number
/// of directories, e.g. "src/**/*.py". Hidden entries (".x") are skipped.
/// Symbolic links are followed, each directory visited once. Directories
/// named in `excludeDirs` are not entered.
Expected<CorpusListing>
listCorpus(const std::string &spec,
           const std::vector<std::string> &excludeDirs = {});

struct CorpusSplit {
  std::vector<CorpusFile> train, holdout;
};

/// Puts a file in holdout when the hash of its relative path falls below
/// `holdoutFraction`; then makes sure each side has at least one file.
/// Needs at least two files.
Expected<CorpusSplit> splitCorpus(const CorpusListing &listing,
                                  double holdoutFraction);

struct TokenStream {
  std::vector<int32_t> tokens; ///< documents, each followed by EOT
  uint64_t documents = 0;
  uint64_t bytes = 0; ///< text bytes tokenised
};

/// Reads and tokenises `files` on `threads` threads; the result does not
/// depend on the thread count. Unreadable files are skipped with a warning.
Expected<TokenStream> tokenizeFiles(const std::vector<CorpusFile> &files,
                                    const Tokenizer &tokenizer,
                                    unsigned threads,
                                    std::vector<std::string> &warnings);

/// Trains a tokenizer on `files` (pre-token counting runs on `threads`).
Expected<Tokenizer> trainTokenizer(const std::vector<CorpusFile> &files,
                                   int vocabSize, const std::string &pattern,
                                   unsigned threads,
                                   std::vector<std::string> &warnings);

/// $CIRC_CACHE_DIR, else $XDG_CACHE_HOME/circ, else $HOME/.cache/circ.
std::string defaultCacheDir();

struct CorpusOptions {
  std::string spec; ///< empty: the default corpus (findDefaultCorpus)
  double holdoutFraction = 0.01;
  unsigned threads = 2;
  std::string cacheDir; ///< empty: no cache
};

struct Corpus {
  CorpusListing listing;
  CorpusSplit split;
  std::shared_ptr<const TokenStream> train, holdout;
  bool fromCache = false;
  std::string cacheFile; ///< where the streams are cached, if anywhere
};

/// Lists `options.spec`, or the default corpus (without its excluded
/// directories) when the spec is empty.
Expected<CorpusListing> listCorpus(const CorpusOptions &options);

/// Lists, splits and tokenises a corpus, reusing the cache when it matches.
/// A corrupt cache file is reported in `listing.warnings` and rebuilt. Pass
/// the listCorpus(options) result made earlier (e.g. to train the tokenizer
/// on its split) as `listing` to skip listing again.
Expected<Corpus> loadCorpus(const CorpusOptions &options,
                            const Tokenizer &tokenizer,
                            std::optional<CorpusListing> listing = {});

/// A tokenizer for `split.train`: loaded from the cache directory when one
/// was trained on exactly these files with these settings, else trained and
/// stored there (when `cacheDir` is not empty).
Expected<Tokenizer> trainTokenizerCached(const CorpusSplit &split,
                                         int vocabSize,
                                         const std::string &pattern,
                                         unsigned threads,
                                         const std::string &cacheDir,
                                         std::vector<std::string> &warnings);

} // namespace circ::rt

#endif // CIRC_RUNTIME_CORPUS_H

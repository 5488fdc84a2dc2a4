//===- Corpus.cpp - training text: files, split, token streams ------------===//
#include "circ_runtime/Corpus.h"

#include "FileUtil.h"
#include "circ_runtime/Safetensors.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <fnmatch.h>
#include <glob.h>
#include <mutex>
#include <set>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace circ::rt {

//===----------------------------------------------------------------------===//
// Finding the default corpus
//===----------------------------------------------------------------------===//

static bool isStdlibDir(const std::string &dir) {
  struct stat st;
  return !dir.empty() && stat((dir + "/os.py").c_str(), &st) == 0 &&
         S_ISREG(st.st_mode);
}

Expected<std::string> findDefaultCorpus() {
  if (FILE *p = popen("python3 -c 'import sysconfig; "
                      "print(sysconfig.get_paths()[\"stdlib\"])' 2>/dev/null",
                      "r")) {
    std::string out;
    char buf[4096];
    while (size_t n = fread(buf, 1, sizeof(buf), p))
      out.append(buf, n);
    int status = pclose(p);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r'))
      out.pop_back();
    if (status == 0 && isStdlibDir(out))
      return out;
  }
  // No usable python3 on PATH: the newest /usr/lib/python3.N.
  glob_t g;
  std::string best;
  long bestMinor = -1;
  if (glob("/usr/lib/python3*", GLOB_ONLYDIR, nullptr, &g) == 0) {
    for (size_t i = 0; i < g.gl_pathc; ++i) {
      std::string dir = g.gl_pathv[i];
      const char *minor = dir.c_str() + std::string("/usr/lib/python3").size();
      long m = *minor == '.' ? std::strtol(minor + 1, nullptr, 10) : 0;
      if (isStdlibDir(dir) && m > bestMinor) {
        best = dir;
        bestMinor = m;
      }
    }
    globfree(&g);
  }
  if (!best.empty())
    return best;
  return Error::failure(
      "no corpus given and no Python standard library found (asked `python3` "
      "for sysconfig's stdlib path, then looked for /usr/lib/python3*/os.py); "
      "point at a corpus with `data { files = \"DIR\" }` in the .circ file or "
      "`--corpus DIR` (a directory of .py files or a glob like "
      "\"DIR/**/*.py\")");
}

const std::vector<std::string> &defaultCorpusExcludes() {
  static const std::vector<std::string> excludes = {"site-packages",
                                                    "dist-packages"};
  return excludes;
}

//===----------------------------------------------------------------------===//
// Listing
//===----------------------------------------------------------------------===//

namespace {
std::vector<std::string> splitPath(const std::string &path) {
  std::vector<std::string> parts;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string::npos)
      slash = path.size();
    if (slash > pos)
      parts.push_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return parts;
}

bool hasGlobChars(const std::string &s) {
  return s.find_first_of("*?[") != std::string::npos;
}

/// Matches path segments against pattern segments; "**" spans any number.
bool globMatch(const std::vector<std::string> &pat, size_t i,
               const std::vector<std::string> &path, size_t j) {
  if (i == pat.size())
    return j == path.size();
  if (pat[i] == "**")
    return globMatch(pat, i + 1, path, j) ||
           (j < path.size() && globMatch(pat, i, path, j + 1));
  return j < path.size() &&
         fnmatch(pat[i].c_str(), path[j].c_str(), FNM_PERIOD) == 0 &&
         globMatch(pat, i + 1, path, j + 1);
}

struct Walker {
  std::vector<std::string> pattern; ///< relative to the root
  size_t maxDepth;                  ///< directories to descend
  const std::vector<std::string> &exclude;
  CorpusListing &out;
  std::set<std::pair<dev_t, ino_t>> visited;

  void walk(const std::string &abs, const std::string &rel,
            std::vector<std::string> &segments) {
    DIR *d = opendir(abs.c_str());
    if (!d) {
      out.warnings.push_back(systemError(abs, errno) + " (skipped)");
      return;
    }
    std::vector<std::string> names;
    while (dirent *e = readdir(d))
      if (e->d_name[0] != '.')
        names.emplace_back(e->d_name);
    closedir(d);
    std::sort(names.begin(), names.end());
    for (const std::string &name : names) {
      std::string childAbs = abs == "/" ? "/" + name : abs + "/" + name;
      std::string childRel = rel.empty() ? name : rel + "/" + name;
      struct stat st;
      if (stat(childAbs.c_str(), &st) != 0) {
        out.warnings.push_back(systemError(childAbs, errno) + " (skipped)");
        continue;
      }
      segments.push_back(name);
      if (S_ISDIR(st.st_mode)) {
        bool excluded =
            std::find(exclude.begin(), exclude.end(), name) != exclude.end();
        if (!excluded && segments.size() <= maxDepth) {
          if (visited.insert({st.st_dev, st.st_ino}).second)
            walk(childAbs, childRel, segments);
          else
            out.warnings.push_back(childAbs +
                                   ": directory already visited (symbolic "
                                   "link loop or alias; skipped)");
        }
      } else if (S_ISREG(st.st_mode) && globMatch(pattern, 0, segments, 0)) {
        if (access(childAbs.c_str(), R_OK) != 0)
          out.warnings.push_back(systemError(childAbs, errno) + " (skipped)");
        else
          out.files.push_back(
              {childAbs, childRel, static_cast<uint64_t>(st.st_size),
               int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec});
      }
      segments.pop_back();
    }
  }
};

std::string stripTrailingSlashes(std::string s) {
  while (s.size() > 1 && s.back() == '/')
    s.pop_back();
  return s;
}
} // namespace

Expected<CorpusListing>
listCorpus(const std::string &spec,
           const std::vector<std::string> &excludeDirs) {
  if (spec.empty())
    return Error::failure("empty corpus path");
  CorpusListing listing;
  std::vector<std::string> pattern;
  if (hasGlobChars(spec)) {
    // The root is the longest leading run of segments without wildcards.
    std::vector<std::string> parts = splitPath(spec);
    size_t k = 0;
    std::string root = spec[0] == '/' ? "/" : "";
    while (k + 1 < parts.size() && !hasGlobChars(parts[k])) {
      root += (root.empty() || root == "/" ? "" : "/") + parts[k];
      ++k;
    }
    listing.root = root.empty() ? "." : root;
    pattern.assign(parts.begin() + k, parts.end());
  } else {
    struct stat st;
    if (stat(spec.c_str(), &st) != 0)
      return Error::failure(systemError(spec, errno));
    std::string path = stripTrailingSlashes(spec);
    if (S_ISREG(st.st_mode)) {
      size_t slash = path.rfind('/');
      listing.root = slash == std::string::npos ? "." : path.substr(0, slash);
      std::string name =
          slash == std::string::npos ? path : path.substr(slash + 1);
      listing.files.push_back(
          {path, name, static_cast<uint64_t>(st.st_size),
           int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec});
      return listing;
    }
    if (!S_ISDIR(st.st_mode))
      return Error::failure(spec + ": neither a directory nor a file");
    listing.root = path;
    pattern = {"**", "*.py"};
  }
  bool deep = std::find(pattern.begin(), pattern.end(), "**") != pattern.end();
  Walker walker{
      pattern, deep ? SIZE_MAX : pattern.size() - 1, excludeDirs, listing, {}};
  struct stat st;
  if (stat(listing.root.c_str(), &st) != 0)
    return Error::failure(systemError(listing.root, errno));
  if (!S_ISDIR(st.st_mode))
    return Error::failure(listing.root + ": not a directory");
  walker.visited.insert({st.st_dev, st.st_ino});
  std::vector<std::string> segments;
  walker.walk(listing.root, "", segments);
  std::sort(listing.files.begin(), listing.files.end(),
            [](const CorpusFile &a, const CorpusFile &b) {
              return a.relPath < b.relPath;
            });
  if (listing.files.empty())
    return Error::failure(spec + ": no files match" +
                          (hasGlobChars(spec) ? "" : " (looked for *.py)"));
  return listing;
}

//===----------------------------------------------------------------------===//
// Split
//===----------------------------------------------------------------------===//

/// A uniform number in [0, 1) from the relative path alone.
static double pathUnit(const std::string &relPath) {
  return static_cast<double>(fnv1a64(relPath) >> 11) * 0x1.0p-53;
}

Expected<CorpusSplit> splitCorpus(const CorpusListing &listing,
                                  double holdoutFraction) {
  if (!(holdoutFraction >= 0.0 && holdoutFraction < 1.0))
    return Error::failure("holdout fraction must be in [0, 1), got " +
                          std::to_string(holdoutFraction));
  if (listing.files.size() < 2)
    return Error::failure(listing.root + ": the corpus has " +
                          std::to_string(listing.files.size()) +
                          " file; a train/holdout split needs at least 2");
  CorpusSplit split;
  size_t lowest = 0, highest = 0;
  for (size_t i = 0; i < listing.files.size(); ++i) {
    double u = pathUnit(listing.files[i].relPath);
    if (u < pathUnit(listing.files[lowest].relPath))
      lowest = i;
    if (u > pathUnit(listing.files[highest].relPath))
      highest = i;
  }
  for (size_t i = 0; i < listing.files.size(); ++i) {
    double u = pathUnit(listing.files[i].relPath);
    bool holdout = u < holdoutFraction;
    // Each side keeps at least one file: the extremes of the hash decide.
    if (i == lowest)
      holdout = true;
    else if (i == highest)
      holdout = false;
    (holdout ? split.holdout : split.train).push_back(listing.files[i]);
  }
  return split;
}

//===----------------------------------------------------------------------===//
// Tokenising
//===----------------------------------------------------------------------===//

/// Runs fn(index, slot) for every index in [0, n) on `threads` threads.
template <typename Fn>
static void parallelFor(size_t n, unsigned threads, Fn &&fn) {
  std::atomic<size_t> next{0};
  auto work = [&](unsigned slot) {
    for (size_t i; (i = next.fetch_add(1)) < n;)
      fn(i, slot);
  };
  unsigned extra = threads > 1 ? std::min<size_t>(threads, n) - 1 : 0;
  std::vector<std::thread> pool;
  for (unsigned t = 1; t <= extra; ++t)
    pool.emplace_back(work, t);
  work(0);
  for (std::thread &t : pool)
    t.join();
}

Expected<TokenStream> tokenizeFiles(const std::vector<CorpusFile> &files,
                                    const Tokenizer &tokenizer,
                                    unsigned threads,
                                    std::vector<std::string> &warnings) {
  std::vector<std::vector<int32_t>> perFile(files.size());
  std::vector<std::string> problems(files.size());
  // Bytes, not vector<bool>: threads write neighbouring entries.
  std::vector<char> read(files.size(), false), failed(files.size(), false);
  std::vector<uint64_t> bytes(files.size(), 0);
  std::vector<EncodeCache> caches(std::max(threads, 1u));
  parallelFor(files.size(), threads, [&](size_t i, unsigned slot) {
    Expected<std::string> text = readFile(files[i].path);
    if (!text) {
      problems[i] = text.message() + " (skipped)";
      return;
    }
    if (Error e = tokenizer.encode(*text, perFile[i], caches[slot])) {
      problems[i] = files[i].path + ": " + e.message();
      failed[i] = true;
      return;
    }
    read[i] = true;
    bytes[i] = text->size();
  });
  TokenStream stream;
  size_t total = 0;
  for (const auto &v : perFile)
    total += v.size() + 1;
  stream.tokens.reserve(total);
  for (size_t i = 0; i < files.size(); ++i) {
    if (failed[i])
      return Error::failure(problems[i]);
    if (!read[i]) {
      warnings.push_back(problems[i]);
      continue;
    }
    stream.tokens.insert(stream.tokens.end(), perFile[i].begin(),
                         perFile[i].end());
    stream.tokens.push_back(tokenizer.eotId());
    std::vector<int32_t>().swap(perFile[i]);
    ++stream.documents;
    stream.bytes += bytes[i];
  }
  return stream;
}

Expected<Tokenizer> trainTokenizer(const std::vector<CorpusFile> &files,
                                   int vocabSize, const std::string &pattern,
                                   unsigned threads,
                                   std::vector<std::string> &warnings) {
  auto pre = PreTokenizer::compile(pattern);
  if (!pre)
    return pre.takeError();
  std::vector<WordCounts> counts(std::max(threads, 1u), WordCounts(*pre));
  std::vector<std::string> problems(files.size());
  std::vector<char> failed(files.size(), false); // written by threads
  parallelFor(files.size(), threads, [&](size_t i, unsigned slot) {
    Expected<std::string> text = readFile(files[i].path);
    if (!text) {
      problems[i] = text.message() + " (skipped)";
      return;
    }
    if (Error e = counts[slot].add(*text)) {
      problems[i] = files[i].path + ": " + e.message();
      failed[i] = true;
    }
  });
  for (size_t i = 0; i < files.size(); ++i) {
    if (failed[i])
      return Error::failure(problems[i]);
    if (!problems[i].empty())
      warnings.push_back(problems[i]);
  }
  for (size_t t = 1; t < counts.size(); ++t)
    counts[0].merge(counts[t]);
  return Tokenizer::train(counts[0], vocabSize);
}

//===----------------------------------------------------------------------===//
// Caching
//===----------------------------------------------------------------------===//

std::string defaultCacheDir() {
  if (const char *d = std::getenv("CIRC_CACHE_DIR"); d && *d)
    return d;
  if (const char *d = std::getenv("XDG_CACHE_HOME"); d && *d)
    return std::string(d) + "/circ";
  if (const char *h = std::getenv("HOME"); h && *h)
    return std::string(h) + "/.cache/circ";
  return "/tmp/circ-cache";
}

/// Identifies a list of files by path, size and modification time.
static std::string describeFiles(const std::vector<CorpusFile> &files) {
  std::string s;
  for (const CorpusFile &f : files)
    s += f.path + '\0' + std::to_string(f.size) + '\0' +
         std::to_string(f.mtimeNs) + '\n';
  return s;
}

static const char *const kCacheFormat = "circ-token-cache-v1";

static Expected<Corpus> readCorpusCache(const std::string &path,
                                        const std::string &key) {
  auto file = SafetensorsFile::open(path);
  if (!file)
    return file.takeError();
  const std::string *format = file->metadataValue("circ.format");
  const std::string *stored = file->metadataValue("circ.key");
  if (!format || *format != kCacheFormat || !stored || *stored != key)
    return Error::failure(path + ": not a corpus cache for this corpus");
  Corpus corpus;
  for (const char *name : {"train", "holdout"}) {
    const TensorInfo *info = file->find(name);
    const std::string *docs =
        file->metadataValue(std::string("circ.") + name + ".documents");
    const std::string *bytes =
        file->metadataValue(std::string("circ.") + name + ".bytes");
    if (!info || info->shape.size() != 1 || !docs || !bytes)
      return Error::failure(path + ": incomplete corpus cache");
    auto stream = std::make_shared<TokenStream>();
    stream->tokens.resize(info->shape[0]);
    if (Error e =
            file->copyTo(name, DType::I32, info->shape, stream->tokens.data()))
      return e;
    stream->documents = std::strtoull(docs->c_str(), nullptr, 10);
    stream->bytes = std::strtoull(bytes->c_str(), nullptr, 10);
    (std::string(name) == "train" ? corpus.train : corpus.holdout) = stream;
  }
  return corpus;
}

Expected<CorpusListing> listCorpus(const CorpusOptions &options) {
  if (!options.spec.empty())
    return listCorpus(options.spec);
  Expected<std::string> dir = findDefaultCorpus();
  if (!dir)
    return dir.takeError();
  return listCorpus(*dir, defaultCorpusExcludes());
}

Expected<Corpus> loadCorpus(const CorpusOptions &options,
                            const Tokenizer &tokenizer,
                            std::optional<CorpusListing> given) {
  Expected<CorpusListing> listing =
      given ? Expected<CorpusListing>(std::move(*given)) : listCorpus(options);
  if (!listing)
    return listing.takeError();
  Expected<CorpusSplit> split = splitCorpus(*listing, options.holdoutFraction);
  if (!split)
    return split.takeError();

  char fraction[64];
  std::snprintf(fraction, sizeof(fraction), "%.17g", options.holdoutFraction);
  std::string key = hex64(fnv1a64(
      std::string(kCacheFormat) + "\n" + hex64(tokenizer.fingerprint()) + "\n" +
      fraction + "\n" + describeFiles(split->train) + "\n" +
      describeFiles(split->holdout)));
  std::string cacheFile;
  if (!options.cacheDir.empty()) {
    cacheFile = options.cacheDir + "/corpus-" + key + ".safetensors";
    struct stat st;
    if (stat(cacheFile.c_str(), &st) == 0) {
      Expected<Corpus> cached = readCorpusCache(cacheFile, key);
      if (cached) {
        cached->listing = std::move(*listing);
        cached->split = std::move(*split);
        cached->fromCache = true;
        cached->cacheFile = cacheFile;
        return cached;
      }
      listing->warnings.push_back("ignoring the corpus cache: " +
                                  cached.message());
    }
  }

  Corpus corpus;
  for (auto [files, out] : {std::make_pair(&split->train, &corpus.train),
                            std::make_pair(&split->holdout, &corpus.holdout)}) {
    Expected<TokenStream> stream =
        tokenizeFiles(*files, tokenizer, options.threads, listing->warnings);
    if (!stream)
      return stream.takeError();
    *out = std::make_shared<TokenStream>(std::move(*stream));
  }
  if (!cacheFile.empty()) {
    SafetensorsWriter w;
    w.setMetadata("circ.format", kCacheFormat);
    w.setMetadata("circ.key", key);
    w.setMetadata("circ.root", listing->root);
    Error e;
    for (auto [name, stream] :
         {std::make_pair("train", corpus.train.get()),
          std::make_pair("holdout", corpus.holdout.get())}) {
      w.setMetadata(std::string("circ.") + name + ".documents",
                    std::to_string(stream->documents));
      w.setMetadata(std::string("circ.") + name + ".bytes",
                    std::to_string(stream->bytes));
      if (!e)
        e = w.add(name, DType::I32, {int64_t(stream->tokens.size())},
                  stream->tokens.data());
    }
    if (!e)
      e = makeDirectories(options.cacheDir);
    if (!e)
      e = w.write(cacheFile);
    if (e)
      listing->warnings.push_back("could not write the corpus cache: " +
                                  e.message());
    else
      corpus.cacheFile = cacheFile;
  }
  corpus.listing = std::move(*listing);
  corpus.split = std::move(*split);
  return corpus;
}

Expected<Tokenizer> trainTokenizerCached(const CorpusSplit &split,
                                         int vocabSize,
                                         const std::string &pattern,
                                         unsigned threads,
                                         const std::string &cacheDir,
                                         std::vector<std::string> &warnings) {
  std::string file;
  if (!cacheDir.empty()) {
    std::string key =
        hex64(fnv1a64("circ-tokenizer-v1\n" + std::to_string(vocabSize) + "\n" +
                      pattern + "\n" + describeFiles(split.train)));
    file = cacheDir + "/tokenizer-" + key + ".json";
    struct stat st;
    if (stat(file.c_str(), &st) == 0) {
      Expected<Tokenizer> cached = Tokenizer::load(file);
      if (cached)
        return cached;
      warnings.push_back("ignoring the tokenizer cache: " + cached.message());
    }
  }
  Expected<Tokenizer> tok =
      trainTokenizer(split.train, vocabSize, pattern, threads, warnings);
  if (!tok || file.empty())
    return tok;
  Error e = makeDirectories(cacheDir);
  if (!e)
    e = tok->save(file);
  if (e)
    warnings.push_back("could not write the tokenizer cache: " + e.message());
  return tok;
}

} // namespace circ::rt

//===- tokenizer_bench.cpp - data-side throughput on the default corpus ---===//
//
// Measures, on the default corpus (the Python standard library) or the
// directory given as argv[1]:
//   tokenizer_train_s          counting pre-tokens (2 threads) + BPE merges
//   tokenizer_encode_mb_per_s  encoding every file, 1 thread and 2 threads,
//                              starting from an empty pre-token cache
//   tokenizer_decode_mb_per_s  decoding the tokens back
//   corpus_cache_load_s        loadCorpus() when its token cache is warm
//   checkpoint_save_mb_per_s / checkpoint_load_s for the paper's 1x model
// Text is read into memory first; file I/O is not timed except for the
// cache and checkpoint figures. CPU seconds are printed beside wall seconds
// because the machine may be shared.
//
//===----------------------------------------------------------------------===//
#include "Clock.h"
#include "circ_runtime/Checkpoint.h"
#include "circ_runtime/Corpus.h"
#include "circ_runtime/ParamStore.h"
#include "circ_runtime/ThreadPool.h"
#include "circ_runtime/Tokenizer.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <thread>

using namespace circ;
using namespace circ::rt;

namespace {
/// Seconds of wall and CPU time since construction.
struct Timer {
  double wall0 = bench::nowMs(), cpu0 = bench::cpuMs();
  double wall() const { return (bench::nowMs() - wall0) / 1e3; }
  double cpu() const { return (bench::cpuMs() - cpu0) / 1e3; }
};

[[noreturn]] void die(const std::string &message) {
  std::fprintf(stderr, "tokenizer_bench: error: %s\n", message.c_str());
  std::exit(1);
}

template <typename T> T check(Expected<T> value) {
  if (!value)
    die(value.message());
  return std::move(*value);
}

/// Encodes docs[i] for i = first, first + stride, ...
void encodeShare(const Tokenizer &tok, const std::vector<std::string> &docs,
                 size_t first, size_t stride, size_t &tokens) {
  EncodeCache cache;
  std::vector<int32_t> ids;
  for (size_t i = first; i < docs.size(); i += stride) {
    ids.clear();
    if (Error e = tok.encode(docs[i], ids, cache))
      die(e.message());
    tokens += ids.size();
  }
}
} // namespace

int main(int argc, char **argv) {
  std::string spec;
  std::vector<std::string> exclude;
  if (argc > 1) {
    spec = argv[1];
  } else {
    spec = check(findDefaultCorpus());
    exclude = defaultCorpusExcludes();
  }
  CorpusListing listing = check(listCorpus(spec, exclude));
  CorpusSplit split = check(splitCorpus(listing, 0.01));
  std::vector<std::string> docs;
  uint64_t bytes = 0;
  for (const CorpusFile &f : listing.files) {
    std::ifstream in(f.path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    docs.push_back(ss.str());
    bytes += docs.back().size();
  }
  std::printf("corpus %s: %zu files, %.1f MB (train %zu files, holdout %zu)\n",
              listing.root.c_str(), docs.size(), bytes / 1e6,
              split.train.size(), split.holdout.size());

  std::vector<std::string> warnings;
  Timer train;
  Tokenizer tok =
      check(trainTokenizer(split.train, 2048, kTinyPythonPattern, 2, warnings));
  std::printf("tokenizer_train_s %.2f s (cpu %.2f s, 2 threads, vocab %d, "
              "reads the files)\n",
              train.wall(), train.cpu(), tok.vocabSize());

  for (unsigned threads : {1u, 2u}) {
    std::vector<size_t> tokens(threads, 0);
    Timer enc;
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < threads; ++t)
      pool.emplace_back(encodeShare, std::cref(tok), std::cref(docs), t,
                        threads, std::ref(tokens[t]));
    encodeShare(tok, docs, 0, threads, tokens[0]);
    for (std::thread &t : pool)
      t.join();
    double wall = enc.wall(), cpu = enc.cpu();
    size_t total = 0;
    for (size_t n : tokens)
      total += n;
    std::printf("tokenizer_encode_mb_per_s %.1f MB/s (%u thread%s; %.1f MB "
                "per cpu-second; %zu tokens, %.2f bytes/token)\n",
                bytes / 1e6 / wall, threads, threads > 1 ? "s" : "",
                bytes / 1e6 / cpu, total, double(bytes) / double(total));
  }

  std::vector<int32_t> all;
  {
    EncodeCache cache;
    for (const std::string &d : docs)
      if (Error e = tok.encode(d, all, cache))
        die(e.message());
  }
  Timer dec;
  std::string text = check(tok.decode(all));
  std::printf("tokenizer_decode_mb_per_s %.1f MB/s\n",
              text.size() / 1e6 / dec.wall());

  std::string cacheDir = "/tmp/circ-bench-cache";
  CorpusOptions options;
  options.spec = argc > 1 ? argv[1] : ""; // empty: the default corpus
  options.cacheDir = cacheDir;
  Timer cold;
  Corpus first = check(loadCorpus(options, tok));
  double coldWall = cold.wall();
  Timer warm;
  Corpus second = check(loadCorpus(options, tok));
  std::printf("corpus_cache_load_s %.3f s (from cache: %s; first load %.2f s; "
              "%zu train + %zu holdout tokens)\n",
              warm.wall(), second.fromCache ? "yes" : "NO", coldWall,
              second.train->tokens.size(), second.holdout->tokens.size());
  std::remove(first.cacheFile.c_str());

  // The paper's 1x sparse model: 8 layers, d_model 256, d_mlp 1024.
  ModelConfig c;
  c.nLayer = 8;
  c.dModel = 256;
  c.dMlp = 1024;
  c.ctx = 256;
  auto store = check(ParamStore::create(c));
  ThreadPool pool(2);
  if (Error e = store->initialize(1, pool))
    die(e.message());
  TrainingState state;
  state.step = 1;
  state.tokenizerJson = tok.toJson();
  std::string path = cacheDir + "/bench-ckpt.safetensors";
  Timer save;
  if (Error e = saveCheckpoint(path, c, *store, state))
    die(e.message());
  double saveWall = save.wall();
  struct stat st;
  stat(path.c_str(), &st);
  std::printf("checkpoint_save_mb_per_s %.0f MB/s (%.1f MB incl. fsync, "
              "%.3f s)\n",
              st.st_size / 1e6 / saveWall, st.st_size / 1e6, saveWall);
  Timer load;
  Checkpoint ck = check(Checkpoint::open(path));
  if (Error e = ck.restore(*store, pool))
    die(e.message());
  std::printf("checkpoint_load_s %.3f s (open, validate, copy, rebuild "
              "indices)\n",
              load.wall());
  std::remove(path.c_str());
  return 0;
}

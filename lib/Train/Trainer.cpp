//===- Trainer.cpp - train a weight-sparse model from a .circ spec -*- C++ -*-===//
#include "circ/Train/Trainer.h"

#include "circ/Target/JIT.h"
#include "circ/Train/Communicator.h"
#include "circ/Train/DataParallel.h"
#include "circ/Train/ModelProgram.h"
#include "circ_runtime/Checkpoint.h"
#include "circ_runtime/Corpus.h"
#include "circ_runtime/DataLoader.h"
#include "circ_runtime/Optimizer.h"
#include "circ_runtime/ParamStore.h"
#include "circ_runtime/ThreadPool.h"
#include "circ_runtime/Tokenizer.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace circ;
using namespace circ::train;
using circ::rt::Error;
using circ::rt::Expected;

std::string circ::train::checkpointPathForStep(const std::string &pattern,
                                               int64_t step) {
  std::string path = pattern, s = std::to_string(step);
  for (size_t pos = path.find("{step}"); pos != std::string::npos;
       pos = path.find("{step}", pos + s.size()))
    path.replace(pos, 6, s);
  return path;
}

namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

/// Existing checkpoints written from `pattern`, (step, path), oldest first.
std::vector<std::pair<int64_t, std::string>>
listCheckpoints(const std::string &pattern) {
  std::vector<std::pair<int64_t, std::string>> found;
  size_t at = pattern.find("{step}");
  if (at == std::string::npos) {
    if (fs::exists(pattern))
      found.emplace_back(-1, pattern);
    return found;
  }
  fs::path dir = fs::path(pattern.substr(0, at)).parent_path();
  std::string prefix = pattern.substr(0, at), suffix = pattern.substr(at + 6);
  std::error_code ec;
  for (const auto &entry : fs::directory_iterator(
           dir.empty() ? fs::path(".") : dir, ec)) {
    std::string p = (dir.empty() ? fs::path(entry.path().filename())
                                 : entry.path())
                        .string();
    if (p.size() <= prefix.size() + suffix.size() ||
        p.compare(0, prefix.size(), prefix) != 0 ||
        p.compare(p.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    std::string digits =
        p.substr(prefix.size(), p.size() - prefix.size() - suffix.size());
    if (digits.empty() ||
        digits.find_first_not_of("0123456789") != std::string::npos)
      continue;
    found.emplace_back(std::stoll(digits), p);
  }
  std::sort(found.begin(), found.end());
  return found;
}

/// Unigram entropy (nats/token) of a stream: the loss of a model that knows
/// only token frequencies, the bar training must get well below.
double unigramEntropy(const std::vector<int32_t> &tokens, int64_t vocab) {
  std::vector<uint64_t> counts(vocab, 0);
  for (int32_t t : tokens)
    if (t >= 0 && t < vocab)
      ++counts[t];
  double n = static_cast<double>(tokens.size()), h = 0;
  for (uint64_t c : counts)
    if (c)
      h -= (c / n) * std::log(c / n);
  return h;
}

/// Splits loader rows [B, T+1] into inputs [B, T] and targets [B, T].
void splitRows(const rt::Batch &batch, int64_t seq, std::vector<int32_t> &in,
               std::vector<int32_t> &out) {
  in.resize(batch.rows * seq);
  out.resize(batch.rows * seq);
  for (int64_t r = 0; r < batch.rows; ++r) {
    const int32_t *row = batch.tokens.data() + r * batch.rowLength;
    std::copy(row, row + seq, in.data() + r * seq);
    std::copy(row + 1, row + 1 + seq, out.data() + r * seq);
  }
}

std::string formatDuration(double s) {
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%dh%02dm", int(s / 3600),
                  int(std::fmod(s, 3600) / 60));
  else
    std::snprintf(buf, sizeof buf, "%dm%02ds", int(s / 60),
                  int(std::fmod(s, 60)));
  return buf;
}

/// A loss for a message: "NaN" rather than the C library's "-nan".
std::string lossText(double v) {
  return std::isnan(v) ? "NaN" : std::to_string(v);
}

/// Drops the records of steps after `step` from a metrics log, so a resumed
/// run's log reads as if it had never been interrupted.
Error truncateMetrics(const std::string &path, int64_t step) {
  std::ifstream in(path);
  if (!in)
    return Error::success(); // nothing logged yet
  std::string kept, line;
  while (std::getline(in, line)) {
    size_t at = line.find("\"step\":");
    if (at == std::string::npos || std::atoll(line.c_str() + at + 7) <= step)
      kept += line + "\n";
  }
  in.close();
  std::ofstream out(path + ".tmp", std::ios::trunc);
  out << kept;
  out.close();
  std::error_code ec;
  if (!out || (fs::rename(path + ".tmp", path, ec), ec))
    return Error::failure("cannot rewrite the metrics log '" + path + "'");
  return Error::success();
}

/// Stable hash of the settings that decide a run's numbers, so a resume
/// with different settings is refused instead of silently mixing runs.
std::string runHash(const frontend::RunSpec &spec, const TrainOverrides &o,
                    int64_t steps) {
  const frontend::TrainSpec &t = *spec.train;
  std::string key = rt::modelConfigToJson(spec.model.config);
  auto add = [&](auto v) { key += "|" + std::to_string(v); };
  add(steps), add(t.batch.value), add(t.seed.value), add(t.beta1.value),
      add(t.beta2.value), add(t.eps.value), add(t.weightDecay.value),
      add(t.lrPeak.value), add(t.lrWarmup.value), add(int(t.sharkfin.value)),
      add(t.annealStart.value), add(t.annealEnd.value);
  uint64_t h = 1469598103934665603ull; // FNV-1a
  for (unsigned char c : key)
    h = (h ^ c) * 1099511628211ull;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", (unsigned long long)h);
  return buf;
}

} // namespace

Expected<TrainResult> circ::train::train(const frontend::RunSpec &spec,
                                         const TrainOverrides &o) {
  if (!spec.train)
    return Error::failure(spec.path + ": has no 'train' block");
  const frontend::TrainSpec &t = *spec.train;
  const ModelConfig &config = spec.model.config;
  const int64_t steps = o.steps.value_or(t.steps.value);
  const int64_t lastStep = std::min(steps, o.stopAt.value_or(steps));
  std::unique_ptr<Communicator> ownComm =
      o.comm ? nullptr : createSingleProcessCommunicator();
  Communicator &comm = o.comm ? *o.comm : *ownComm;
  Expected<int64_t> localBatch = rowsPerRank(comm, t.batch.value);
  if (!localBatch)
    return localBatch.takeError();
  // By default the ranks on one host share its cores.
  const int64_t threadCount =
      o.threads.value_or(t.threads.value) > 0
          ? o.threads.value_or(t.threads.value)
          : static_cast<int64_t>(std::max(
                1u, std::thread::hardware_concurrency() / comm.localSize()));
  std::string out = o.out.value_or(t.out.value);
  std::string ckptPattern = t.checkpointPath.value, metricsPath = t.logPath.value;
  if (o.out) { // re-root the derived paths
    if (!t.checkpointPath.origin.written())
      ckptPattern = out + "/step-{step}.safetensors";
    if (!t.logPath.origin.written())
      metricsPath = out + "/metrics.jsonl";
  }
  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec)
    return Error::failure("cannot create the run directory '" + out +
                          "': " + ec.message());
  for (const std::string &file : {metricsPath, ckptPattern}) {
    fs::path parent = fs::path(file).parent_path();
    if (!parent.empty())
      fs::create_directories(parent, ec);
    if (ec)
      return Error::failure("cannot create '" + parent.string() +
                            "': " + ec.message());
  }
  auto say = [&](const std::string &line) {
    if (o.progress)
      std::cerr << line << "\n";
  };

  rt::ThreadPool pool(static_cast<unsigned>(threadCount));
  mlir::circ::setNumThreads(static_cast<int>(threadCount));

  // Data: corpus, tokenizer (trained on the training split, cached), streams.
  rt::CorpusOptions corpusOptions;
  if (o.corpus)
    corpusOptions.spec = *o.corpus;
  else if (spec.data && !spec.data->usesPythonStdlib())
    corpusOptions.spec = spec.data->files.value.front();
  if (spec.data && spec.data->files.value.size() > 1)
    return Error::failure(spec.path +
                          ": training reads one corpus directory or glob; "
                          "the data block names several");
  corpusOptions.holdoutFraction = spec.data ? spec.data->holdout.value : 0.01;
  corpusOptions.threads = static_cast<unsigned>(threadCount);
  corpusOptions.cacheDir = rt::defaultCacheDir();
  const int64_t vocab = config.vocab;
  std::string root = corpusOptions.spec;
  if (root.empty()) {
    Expected<std::string> stdlib = rt::findDefaultCorpus();
    if (!stdlib)
      return stdlib.takeError();
    root = *stdlib;
  }
  auto started = Clock::now();
  // Rank 0 tokenises first and fills the caches; the others then read them
  // instead of all training the same tokenizer at once.
  if (!comm.isRoot())
    comm.barrier();
  Expected<rt::CorpusListing> listing = rt::listCorpus(
      root, corpusOptions.spec.empty() ? rt::defaultCorpusExcludes()
                                       : std::vector<std::string>{});
  if (!listing)
    return listing.takeError();
  Expected<rt::CorpusSplit> split =
      rt::splitCorpus(*listing, corpusOptions.holdoutFraction);
  if (!split)
    return split.takeError();
  std::vector<std::string> warnings;
  Expected<rt::Tokenizer> tokenizer = rt::trainTokenizerCached(
      *split, static_cast<int>(vocab), rt::kTinyPythonPattern,
      corpusOptions.threads, corpusOptions.cacheDir, warnings);
  if (!tokenizer)
    return tokenizer.takeError();
  corpusOptions.spec = root;
  Expected<rt::Corpus> corpus =
      rt::loadCorpus(corpusOptions, *tokenizer, *listing);
  if (!corpus)
    return corpus.takeError();
  if (comm.isRoot())
    comm.barrier();
  for (const std::string &w : corpus->listing.warnings)
    if (comm.isRoot())
      std::cerr << "circc: warning: " << w << "\n";
  say("data: " + std::to_string(corpus->listing.files.size()) + " files in " +
      root + ", " + std::to_string(corpus->train->tokens.size()) +
      " training tokens, " + std::to_string(corpus->holdout->tokens.size()) +
      " holdout tokens (" + (corpus->fromCache ? "cached" : "tokenised") +
      " in " + std::to_string(int(seconds(started))) + " s)");
  if (comm.isRoot())
    if (Error e = tokenizer->save(out + "/tokenizer.json"))
      return e;

  // Model, optimizer, and the compiled training step.
  Expected<std::unique_ptr<rt::ParamStore>> store =
      rt::ParamStore::create(config);
  if (!store)
    return store.takeError();
  rt::OptimizerConfig optConfig =
      rt::OptimizerConfig::forModel(config, steps, t.lrPeak.value);
  optConfig.beta1 = t.beta1.value;
  optConfig.beta2 = t.beta2.value;
  optConfig.eps = t.eps.value;
  optConfig.weightDecay = t.weightDecay.value;
  optConfig.schedule.warmupFraction = t.lrWarmup.value;
  optConfig.schedule.annealStart = t.annealStart.value;
  optConfig.schedule.annealEnd = t.annealEnd.value;
  optConfig.schedule.sharkfin = t.sharkfin.value;
  Expected<std::unique_ptr<rt::Optimizer>> optimizer =
      rt::Optimizer::create(**store, optConfig, &pool);
  if (!optimizer)
    return optimizer.takeError();

  rt::TrainingState state;
  state.runSpecHash = runHash(spec, o, steps);
  state.tokenizerJson = tokenizer->toJson();
  state.rngState = "seed:" + std::to_string(t.seed.value);
  int64_t startStep = 0;
  uint64_t startPosition = 0;
  if (o.resume) {
    auto existing = listCheckpoints(ckptPattern);
    std::optional<rt::Checkpoint> resumed;
    for (auto it = existing.rbegin(); it != existing.rend() && !resumed; ++it) {
      Expected<rt::Checkpoint> c = rt::Checkpoint::open(it->second);
      if (c)
        resumed.emplace(std::move(*c));
      else
        std::cerr << "circc: warning: skipping " << c.message() << "\n";
    }
    if (!resumed)
      return Error::failure("--resume: no readable checkpoint matches '" +
                            ckptPattern + "'");
    if (resumed->state().runSpecHash != state.runSpecHash)
      return Error::failure(
          resumed->path() +
          ": was written by a run with different settings (model, steps, "
          "batch, seed or optimizer); resume it with the same spec");
    if (Error e = resumed->restore(**store, pool))
      return e;
    startStep = resumed->state().step;
    if (startStep > lastStep)
      return Error::failure(resumed->path() + ": is at step " +
                            std::to_string(startStep) + ", past the stop at " +
                            std::to_string(lastStep));
    startPosition = resumed->state().dataPosition;
    (*optimizer)->setStepsTaken(startStep);
    say("resumed from " + resumed->path() + " at step " +
        std::to_string(startStep));
  } else if (Error e = (*store)->initialize(t.seed.value, pool)) {
    return e;
  }

  say("compiling the training step (" + std::to_string(config.nLayer) +
      " layers, d_model " + std::to_string(config.dModel) + ", batch " +
      std::to_string(t.batch.value) + " x " + std::to_string(config.ctx) +
      ")");
  mlir::circ::ModelProgramOptions programOptions;
  programOptions.batch = *localBatch;
  programOptions.seqLen = config.ctx;
  auto compileStart = Clock::now();
  Expected<std::unique_ptr<mlir::circ::ModelProgram>> program =
      mlir::circ::ModelProgram::create(config, programOptions);
  if (!program)
    return program.takeError();
  say("compiled in " + std::to_string(int(seconds(compileStart))) + " s");

  rt::DataLoaderOptions loaderOptions;
  loaderOptions.batch = t.batch.value;
  loaderOptions.ctx = config.ctx;
  loaderOptions.seed = t.seed.value;
  loaderOptions.startPosition = startPosition;
  std::shared_ptr<const std::vector<int32_t>> trainTokens(
      corpus->train, &corpus->train->tokens);
  Expected<std::unique_ptr<rt::DataLoader>> loader =
      rt::DataLoader::create(trainTokens, loaderOptions);
  if (!loader)
    return loader.takeError();

  // Holdout batches: the first evalBatches batches in stream order, the same
  // every evaluation so the curve compares like with like.
  std::vector<std::vector<int32_t>> evalInputs, evalTargets;
  if (t.evalEvery.value > 0 &&
      static_cast<int64_t>(corpus->holdout->tokens.size()) >
          (config.ctx + 1)) {
    rt::DataLoaderOptions evalOptions = loaderOptions;
    evalOptions.shuffle = false;
    evalOptions.startPosition = 0;
    evalOptions.prefetch = 0;
    std::shared_ptr<const std::vector<int32_t>> holdoutTokens(
        corpus->holdout, &corpus->holdout->tokens);
    Expected<std::unique_ptr<rt::DataLoader>> evalLoader =
        rt::DataLoader::create(holdoutTokens, evalOptions);
    if (!evalLoader)
      return evalLoader.takeError();
    int64_t n = std::min<int64_t>(
        t.evalBatches.value,
        std::max<int64_t>(1, (*evalLoader)->sequencesPerEpoch() /
                                 t.batch.value));
    for (int64_t i = 0; i < n; ++i) {
      rt::Batch b, shard;
      (*evalLoader)->next(b);
      takeShard(comm, b, shard);
      evalInputs.emplace_back(), evalTargets.emplace_back();
      splitRows(shard, config.ctx, evalInputs.back(), evalTargets.back());
    }
  }
  auto evaluate = [&]() -> Expected<double> {
    double sum = 0;
    for (size_t i = 0; i < evalInputs.size(); ++i) {
      Expected<float> l = (*program)->loss(evalInputs[i].data(),
                                           evalTargets[i].data(), **store);
      if (!l)
        return l.takeError();
      sum += *l;
    }
    return averageOverRanks(comm, sum) / static_cast<double>(evalInputs.size());
  };

  // Rank 0 alone logs; the other ranks' stream stays closed and drops writes.
  if (o.resume && comm.isRoot())
    if (Error e = truncateMetrics(metricsPath, startStep))
      return e;
  std::ofstream metrics;
  if (comm.isRoot())
    metrics.open(metricsPath, o.resume ? std::ios::app : std::ios::trunc);
  if (comm.isRoot() && !metrics)
    return Error::failure("cannot write the metrics log '" + metricsPath + "'");
  metrics.precision(17); // losses round-trip: logs of equal runs are equal

  TrainResult result;
  result.unigramEntropy = unigramEntropy(corpus->train->tokens, vocab);
  result.metrics = metricsPath;
  say("unigram entropy of the training stream: " +
      std::to_string(result.unigramEntropy) + " nats/token");
  const bool tty = o.progress && isatty(STDERR_FILENO);
  const int64_t tokensPerStep = t.batch.value * config.ctx;
  std::vector<int32_t> inputs, targets;
  rt::Batch batch, shard;
  double windowLoss = 0;
  int64_t windowSteps = 0;
  auto runStart = Clock::now();
  std::string lastCheckpoint;
  auto stopNonFinite = [&](const std::string &what) {
    return Error::failure(
        what + "; stopping. The last good checkpoint is " +
        (lastCheckpoint.empty() ? std::string("(none yet)") : lastCheckpoint) +
        "; try a lower learning rate");
  };
  auto writeCheckpoint = [&](int64_t stepsDone) -> Error {
    // A checkpoint is only ever a good one: one with finite weights.
    for (size_t i = 0; i < (*store)->size(); ++i) {
      const float *v = (*store)->values(i);
      for (int64_t k = 0; k < (*store)->numel(i); ++k)
        if (!std::isfinite(v[k]))
          return stopNonFinite("the weights are not finite after step " +
                               std::to_string(stepsDone));
    }
    state.step = stepsDone;
    state.dataPosition = (*loader)->position(); // counts from 0, not the start
    std::string path = checkpointPathForStep(ckptPattern, stepsDone);
    if (Error e = rt::saveCheckpoint(path, config, **store, state))
      return e;
    // Keep the two newest; a crash mid-write leaves the previous intact.
    auto all = listCheckpoints(ckptPattern);
    for (size_t i = 0; i + 2 < all.size(); ++i)
      fs::remove(all[i].second, ec);
    lastCheckpoint = path;
    return Error::success();
  };

  for (int64_t step = startStep; step < lastStep; ++step) {
    (*loader)->next(batch);
    takeShard(comm, batch, shard);
    splitRows(shard, config.ctx, inputs, targets);
    (*store)->zeroGrads();
    Expected<float> localLoss =
        (*program)->lossAndGrad(inputs.data(), targets.data(), **store);
    if (!localLoss)
      return localLoss.takeError();
    averageGradients(comm, **store);
    const float loss = static_cast<float>(averageOverRanks(comm, *localLoss));
    if (!std::isfinite(loss))
      return stopNonFinite("the training loss is " + lossText(loss) +
                           " at step " + std::to_string(step + 1));
    Expected<rt::StepReport> report = (*optimizer)->step();
    if (!report)
      return report.takeError();
    windowLoss += loss;
    ++windowSteps;
    const int64_t done = step + 1;
    const double elapsed = seconds(runStart);
    const double tokPerS = (done - startStep) * tokensPerStep / elapsed;
    result.tokensPerSecond = tokPerS;
    result.weightDensity = report->weightDensity;
    result.nonzeros = report->nonzeros;

    std::optional<double> holdout;
    if (!evalInputs.empty() && (done % t.evalEvery.value == 0 || done == steps)) {
      Expected<double> h = evaluate();
      if (!h)
        return h.takeError();
      if (!std::isfinite(*h))
        return stopNonFinite("the holdout loss is " + lossText(*h) +
                             " after step " + std::to_string(done));
      holdout = *h;
      result.holdoutLoss = *h;
      metrics << "{\"kind\":\"eval\",\"step\":" << done
              << ",\"holdout_loss\":" << *h << "}\n";
    }
    if (done % t.logEvery.value == 0 || done == steps || holdout) {
      double mean = windowLoss / windowSteps;
      result.finalLoss = mean;
      metrics << "{\"kind\":\"train\",\"step\":" << done
              << ",\"loss\":" << mean << ",\"lr\":" << report->lr
              << ",\"grad_rms\":" << report->gradRms
              << ",\"weight_density\":" << report->weightDensity
              << ",\"embed_density\":" << report->embedDensity
              << ",\"nonzeros\":" << report->nonzeros
              << ",\"tok_per_s\":" << tokPerS << ",\"elapsed_s\":" << elapsed
              << "}\n";
      metrics.flush();
      windowLoss = 0;
      windowSteps = 0;
      if (o.progress) {
        double eta = (steps - done) * (elapsed / (done - startStep));
        char line[256];
        std::snprintf(line, sizeof line,
                      "step %lld/%lld | loss %.4f | holdout %s | L0 %.4g | "
                      "lr %.2e | %.0f tok/s | ETA %s",
                      (long long)done, (long long)steps, mean,
                      result.holdoutLoss < 0
                          ? "-"
                          : std::to_string(result.holdoutLoss).substr(0, 6).c_str(),
                      report->weightDensity, report->lr, tokPerS,
                      formatDuration(eta).c_str());
        if (tty)
          std::cerr << "\r\033[K" << line << std::flush;
        else
          std::cerr << line << "\n";
      }
    }
    const bool checkpointNow =
        (t.checkpointEvery.value > 0 && done % t.checkpointEvery.value == 0) ||
        done == lastStep;
    // Compare before a checkpoint too, so none holds diverged weights.
    if (comm.size() > 1 &&
        (done % o.checksumEvery == 0 || checkpointNow || done == startStep + 1))
      if (Error e = comm.verifyAgreement(weightChecksum(**store),
                                         "the weights after step " +
                                             std::to_string(done)))
        return e;
    if (checkpointNow && comm.isRoot())
      if (Error e = writeCheckpoint(done))
        return e;
  }
  if (tty)
    std::cerr << "\n";
  result.steps = lastStep;
  result.checkpoint = checkpointPathForStep(ckptPattern, lastStep);
  return result;
}

//===- TrainCommand.cpp - circc train ---------------------------*- C++ -*-===//
//
// `circc train file.circ`: trains the model of the file's train block on its
// data (by default the Python standard library installed here), writing
// metrics, checkpoints and the tokenizer into the run directory.
// `--device cuda` checks for a device through runtime/cuda and stops: the CUDA
// training path has not been validated on a device (docs/gpu.md).
//
//===----------------------------------------------------------------------===//

#include "Driver.h"

#include "circ/Train/Communicator.h"
#include "circ/Train/Trainer.h"
#include "circ_runtime/Cuda.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

using namespace circ;
using namespace circ::driver;
using namespace llvm;

cl::SubCommand circ::driver::trainCommand(
    "train", "Train the model of a .circ file (its train block)");

static cl::opt<std::string> input(cl::Positional, cl::desc("<file.circ>"),
                                  cl::sub(trainCommand),
                                  cl::cat(circcCategory));
static cl::opt<bool> resume("resume",
                            cl::desc("Continue from the newest readable "
                                     "checkpoint of the run"),
                            cl::sub(trainCommand), cl::cat(circcCategory));
static cl::opt<int64_t> steps("steps", cl::desc("Override the number of steps"),
                              cl::sub(trainCommand), cl::cat(circcCategory));
static cl::opt<std::string> out("out", cl::desc("Override the run directory"),
                                cl::value_desc("dir"), cl::sub(trainCommand),
                                cl::cat(circcCategory));
static cl::opt<std::string>
    corpus("corpus",
           cl::desc("Train on this directory or glob of files instead of the "
                    "data block's"),
           cl::value_desc("dir|glob"), cl::sub(trainCommand),
           cl::cat(circcCategory));
static cl::opt<int64_t> threads("threads",
                                cl::desc("Worker threads (default: the spec's, "
                                         "else one per core)"),
                                cl::sub(trainCommand), cl::cat(circcCategory));
static cl::opt<int64_t>
    checksumEvery("checksum-every",
                  cl::desc("Under MPI, compare the ranks' weight checksums "
                           "every N steps (default 10)"),
                  cl::value_desc("N"), cl::init(10), cl::sub(trainCommand),
                  cl::cat(circcCategory));
static cl::opt<bool> quiet("quiet", cl::desc("No progress output"),
                           cl::sub(trainCommand), cl::cat(circcCategory));
static cl::opt<int64_t>
    stopAt("stop-at",
           cl::desc("Stop after this step with a checkpoint, as if "
                    "interrupted; --resume continues the same run"),
           cl::value_desc("step"), cl::sub(trainCommand),
           cl::cat(circcCategory));

static cl::opt<std::string>
    device("device",
           cl::desc("Where to train: cpu (default), or cuda[:N] (checks for "
                    "the device; the CUDA path is not validated yet)"),
           cl::value_desc("cpu|cuda[:N]"), cl::init("cpu"),
           cl::sub(trainCommand), cl::cat(circcCategory));

/// `--device cuda[:N]`: says whether device N exists and, either way, that
/// training does not run there — never a silent fallback to the CPU. The
/// GPU kernels of the training step assemble (circc compile --emit=cubin
/// --with-loss-grad) and the runtime loads and launches kernels, but no step
/// has been checked against the CPU on a device.
static int refuseCudaDevice(StringRef spelled) {
  StringRef rest = spelled.drop_front(strlen("cuda"));
  int ordinal = 0;
  if (!rest.empty() && (!rest.consume_front(":") ||
                        rest.getAsInteger(10, ordinal) || ordinal < 0))
    return usageError("--device must be 'cpu', 'cuda' or 'cuda:N', not '" +
                      spelled + "'");
  rt::Expected<rt::cuda::Device> dev = rt::cuda::Device::open(ordinal);
  if (!dev)
    return usageError("--device " + spelled + ": " + dev.message() +
                      "; train on the CPU with --device cpu");
  const rt::cuda::DeviceInfo &info = dev->info();
  return usageError("--device " + spelled + ": found " + info.name + " (" +
                    info.arch() +
                    "), but the CUDA training path has not been validated on "
                    "a device yet, so it does not run; train on the CPU with "
                    "--device cpu");
}

int circ::driver::runTrain() {
  if (input.empty())
    return usageError("no input file; run 'circc train --help'");
  if (int code = checkPositive({&steps, &threads, &stopAt, &checksumEvery}))
    return code;
  Loaded loaded = loadAndCheck(input);
  if (loaded.exitCode != ExitSuccess)
    return loaded.exitCode;
  if (!loaded.spec->train)
    return usageError(input + " has no 'train' block to run");
  if (device != "cpu") {
    if (!StringRef(device).starts_with("cuda"))
      return usageError("--device must be 'cpu', 'cuda' or 'cuda:N', not '" +
                        device + "'");
    return refuseCudaDevice(device);
  }

  train::TrainOverrides overrides;
  if (steps.getNumOccurrences())
    overrides.steps = steps;
  if (out.getNumOccurrences())
    overrides.out = out;
  if (corpus.getNumOccurrences())
    overrides.corpus = corpus;
  if (threads.getNumOccurrences())
    overrides.threads = threads;
  if (stopAt.getNumOccurrences())
    overrides.stopAt = stopAt;
  overrides.resume = resume;
  // Under mpirun/srun every rank runs this; rank 0 reports (docs/distributed.md).
  rt::Expected<std::unique_ptr<train::Communicator>> comm =
      train::createWorldCommunicator();
  if (!comm) {
    errs() << "circc: error: " << comm.message() << "\n";
    return ExitInputErrors;
  }
  train::Communicator &world = **comm;
  overrides.comm = &world;
  overrides.checksumEvery = checksumEvery;
  overrides.progress = !quiet && world.isRoot();
  if (overrides.progress && world.size() > 1)
    errs() << "data-parallel over " << world.describe() << "\n";
  rt::Expected<train::TrainResult> result =
      train::train(*loaded.spec, overrides);
  if (!result)
    return train::reportFailure(world, result.message(), ExitInputErrors);
  if (!world.isRoot())
    return ExitSuccess;
  outs() << "trained " << result->steps << " steps: loss "
         << format("%.4f", result->finalLoss);
  if (result->holdoutLoss >= 0)
    outs() << ", holdout " << format("%.4f", result->holdoutLoss);
  outs() << " (unigram entropy " << format("%.4f", result->unigramEntropy)
         << "), " << format("%.0f", result->tokensPerSecond) << " tok/s, L0 "
         << format("%.4g", result->weightDensity) << " (" << result->nonzeros
         << " nonzeros)\n"
         << "checkpoint: " << result->checkpoint << "\n"
         << "metrics:    " << result->metrics << "\n";
  return ExitSuccess;
}

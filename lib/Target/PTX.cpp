//===- PTX.cpp - PTX objects, ptxas, occupancy and roofline -----*- C++ -*-===//

#include "circ/Target/PTX.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"

#include <algorithm>
#include <climits>
#include <cmath>

using namespace mlir;
using namespace mlir::circ;

//===----------------------------------------------------------------------===//
// Objects
//===----------------------------------------------------------------------===//

std::vector<GpuObject> mlir::circ::collectGpuObjects(ModuleOp module) {
  std::vector<GpuObject> objects;
  module.walk([&](gpu::BinaryOp binary) {
    for (Attribute attr : binary.getObjects()) {
      auto object = dyn_cast<gpu::ObjectAttr>(attr);
      auto target =
          object ? dyn_cast<NVVM::NVVMTargetAttr>(object.getTarget()) : nullptr;
      if (!target)
        continue;
      GpuObject o;
      o.binary = binary.getSymName().str();
      o.chip = target.getChip().str();
      o.features = target.getFeatures().str();
      o.isPtx = object.getFormat() == gpu::CompilationTarget::Assembly;
      o.data = object.getObject().getValue().str();
      objects.push_back(std::move(o));
    }
  });
  return objects;
}

//===----------------------------------------------------------------------===//
// ptxas
//===----------------------------------------------------------------------===//

llvm::Expected<std::string> mlir::circ::findPtxas() {
  std::vector<std::string> tried;
  for (const char *var : {"CUDA_HOME", "CUDA_ROOT", "CUDA_PATH"}) {
    const char *root = std::getenv(var);
    if (!root || !*root)
      continue;
    llvm::SmallString<256> path(root);
    llvm::sys::path::append(path, "bin", "ptxas");
    if (llvm::sys::fs::can_execute(path))
      return std::string(path);
    tried.push_back(std::string(path) + " ($" + var + ")");
  }
  if (llvm::ErrorOr<std::string> onPath = llvm::sys::findProgramByName("ptxas"))
    return *onPath;
  tried.push_back("PATH");
  const char *fallback = "/usr/local/cuda/bin/ptxas";
  if (llvm::sys::fs::can_execute(fallback))
    return std::string(fallback);
  tried.push_back(fallback);
  return llvm::createStringError(
      "cannot find ptxas (the CUDA toolkit's assembler); looked in " +
      llvm::join(tried, ", ") + "; set CUDA_HOME to the toolkit");
}

/// The integer before `suffix` in `text` ("12 bytes smem" -> 12), or -1.
static int numberBefore(llvm::StringRef text, llvm::StringRef suffix) {
  size_t at = text.find(suffix);
  if (at == llvm::StringRef::npos)
    return -1;
  llvm::StringRef head = text.take_front(at).rtrim();
  size_t start = head.find_last_not_of("0123456789");
  llvm::StringRef digits =
      start == llvm::StringRef::npos ? head : head.drop_front(start + 1);
  int value = -1;
  if (digits.empty() || digits.getAsInteger(10, value))
    return -1;
  return value;
}

std::vector<PtxasKernelStats> mlir::circ::parsePtxasLog(llvm::StringRef log) {
  std::vector<PtxasKernelStats> kernels;
  // The report of one entry: "Compiling entry function 'k' for 'sm_90'",
  // then "Function properties for k" + the stack/spill line, then "Used ...".
  PtxasKernelStats *current = nullptr;
  bool inEntryProperties = false;
  llvm::SmallVector<llvm::StringRef> lines;
  log.split(lines, '\n');
  for (llvm::StringRef line : lines) {
    line = line.trim();
    if (line.consume_front("ptxas info    : ")) {
      inEntryProperties = false;
      if (line.consume_front("Compiling entry function '")) {
        auto [name, rest] = line.split("'");
        PtxasKernelStats k;
        k.kernel = name.str();
        if (rest.consume_front(" for '"))
          k.arch = rest.split("'").first.str();
        kernels.push_back(std::move(k));
        current = &kernels.back();
        continue;
      }
      if (line.consume_front("Function properties for ")) {
        inEntryProperties = current && line == current->kernel;
        continue;
      }
      if (current && line.starts_with("Used ")) {
        current->registers = std::max(0, numberBefore(line, " registers"));
        llvm::SmallVector<llvm::StringRef> items;
        line.split(items, ',');
        for (llvm::StringRef item : items) {
          item = item.trim();
          if (int v = numberBefore(item, " barriers");
              v >= 0 && item.starts_with("used"))
            current->barriers = v;
          else if (int v = numberBefore(item, " bytes smem"); v >= 0)
            current->sharedBytes = v;
          else if (int v = numberBefore(item, " bytes cmem[0]"); v >= 0)
            current->constantBytes = v;
        }
        current = nullptr;
      }
      continue;
    }
    if (inEntryProperties && current) {
      if (int v = numberBefore(line, " bytes stack frame"); v >= 0)
        current->stackFrameBytes = v;
      if (int v = numberBefore(line, " bytes spill stores"); v >= 0)
        current->spillStoreBytes = v;
      if (int v = numberBefore(line, " bytes spill loads"); v >= 0)
        current->spillLoadBytes = v;
    }
  }
  return kernels;
}

llvm::StringMap<unsigned>
mlir::circ::parsePtxThreadsPerBlock(llvm::StringRef ptx) {
  llvm::StringMap<unsigned> threads;
  size_t pos = 0;
  while ((pos = ptx.find(".entry ", pos)) != llvm::StringRef::npos) {
    llvm::StringRef rest = ptx.drop_front(pos + 7);
    llvm::StringRef name =
        rest.take_until([](char c) { return c == '(' || isspace(c); });
    // Directives sit between the parameter list and the body's '{'.
    size_t body = rest.find('{');
    llvm::StringRef header = rest.take_front(body);
    for (llvm::StringRef directive : {".reqntid", ".maxntid"}) {
      size_t at = header.find(directive);
      if (at == llvm::StringRef::npos)
        continue;
      llvm::StringRef dims =
          header.drop_front(at + directive.size()).take_until([](char c) {
            return c == '\n' || c == '.';
          });
      unsigned product = 1;
      llvm::SmallVector<llvm::StringRef> parts;
      dims.split(parts, ',');
      for (llvm::StringRef p : parts) {
        unsigned v = 0;
        if (!p.trim().getAsInteger(10, v))
          product *= v;
      }
      threads[name] = product;
      break;
    }
    pos += 7;
  }
  return threads;
}

llvm::Expected<PtxasResult> mlir::circ::assemblePtx(llvm::StringRef ptx,
                                                    llvm::StringRef arch,
                                                    llvm::StringRef ptxasPath) {
  llvm::SmallString<128> ptxFile, cubinFile, logFile;
  int fd = -1;
  if (std::error_code ec =
          llvm::sys::fs::createTemporaryFile("circ-kernel", "ptx", fd, ptxFile))
    return llvm::createStringError("cannot create a temporary PTX file: " +
                                   ec.message());
  {
    llvm::raw_fd_ostream out(fd, /*shouldClose=*/true);
    out << ptx;
  }
  llvm::scope_exit cleanup([&] {
    for (auto *f : {&ptxFile, &cubinFile, &logFile})
      if (!f->empty())
        llvm::sys::fs::remove(*f);
  });
  if (std::error_code ec =
          llvm::sys::fs::createTemporaryFile("circ-kernel", "cubin", cubinFile))
    return llvm::createStringError("cannot create a temporary file: " +
                                   ec.message());
  if (std::error_code ec =
          llvm::sys::fs::createTemporaryFile("circ-ptxas", "log", logFile))
    return llvm::createStringError("cannot create a temporary file: " +
                                   ec.message());

  std::string archFlag = ("-arch=" + arch).str();
  llvm::SmallVector<llvm::StringRef> args = {ptxasPath, archFlag, "-v",
                                             ptxFile,   "-o",     cubinFile};
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, logFile.str(),
                                                logFile.str()};
  std::string execError;
  int rc = llvm::sys::ExecuteAndWait(ptxasPath, args, std::nullopt, redirects,
                                     /*SecondsToWait=*/0, /*MemoryLimit=*/0,
                                     &execError);
  PtxasResult result;
  if (auto log = llvm::MemoryBuffer::getFile(logFile))
    result.log = (*log)->getBuffer().str();
  if (rc != 0)
    return llvm::createStringError(
        llvm::formatv("ptxas -arch={0} failed{1}{2}:\n{3}", arch,
                      execError.empty() ? "" : ": ", execError,
                      llvm::StringRef(result.log).rtrim())
            .str());
  auto cubin = llvm::MemoryBuffer::getFile(cubinFile, /*IsText=*/false,
                                           /*RequiresNullTerminator=*/false);
  if (!cubin)
    return llvm::createStringError("ptxas wrote no cubin: " +
                                   cubin.getError().message());
  result.cubin = (*cubin)->getBuffer().str();
  result.kernels = parsePtxasLog(result.log);
  return result;
}

//===----------------------------------------------------------------------===//
// Occupancy (the CUDA occupancy calculator's model, cuda_occupancy.h)
//===----------------------------------------------------------------------===//

std::optional<ArchLimits> mlir::circ::archLimits(llvm::StringRef arch) {
  arch.consume_back("a");
  // arch, threads/SM, warps/SM, blocks/SM, regs/SM, regs/thread, reg unit,
  // warp granularity (sub-partitions), shared/SM, shared/block, reserved,
  // shared unit.
  static const ArchLimits table[] = {
      {"sm_80", 2048, 64, 32, 65536, 255, 256, 4, 167936, 166912, 1024, 128},
      {"sm_86", 1536, 48, 16, 65536, 255, 256, 4, 102400, 101376, 1024, 128},
      {"sm_89", 1536, 48, 24, 65536, 255, 256, 4, 102400, 101376, 1024, 128},
      {"sm_90", 2048, 64, 32, 65536, 255, 256, 4, 233472, 232448, 1024, 128},
  };
  for (const ArchLimits &l : table)
    if (l.arch == arch)
      return l;
  return std::nullopt;
}

static int roundUp(int value, int unit) {
  return (value + unit - 1) / unit * unit;
}

Occupancy mlir::circ::estimateOccupancy(const ArchLimits &l,
                                        unsigned threadsPerBlock,
                                        unsigned registersPerThread,
                                        unsigned sharedBytes) {
  Occupancy occ;
  const int warps = int((threadsPerBlock + 31) / 32);
  if (threadsPerBlock == 0 || threadsPerBlock > 1024 ||
      int(registersPerThread) > l.maxRegistersPerThread ||
      int(sharedBytes) > l.maxSharedPerBlock) {
    occ.limiter = "does not fit";
    return occ;
  }
  struct Limit {
    const char *name;
    int blocks;
  };
  llvm::SmallVector<Limit, 4> limits;
  limits.push_back({"warps", l.maxWarpsPerSM / warps});
  limits.push_back({"blocks", l.maxBlocksPerSM});

  // Registers go to warps in units, per SM sub-partition.
  int regsPerWarp = roundUp(int(registersPerThread) * 32, l.registerAllocUnit);
  if (regsPerWarp > 0) {
    int assumed = regsPerWarp * roundUp(warps, l.warpAllocGranularity);
    int blocks = 0;
    if (assumed <= l.registersPerSM) {
      int warpsPerPartition =
          l.registersPerSM / l.warpAllocGranularity / regsPerWarp;
      blocks = warpsPerPartition * l.warpAllocGranularity / warps;
    }
    limits.push_back({"registers", blocks});
  }
  // Shared memory, including the driver's per-block reservation.
  int sharedPerBlock =
      roundUp(int(sharedBytes) + l.reservedSharedPerBlock, l.sharedAllocUnit);
  limits.push_back({"shared memory", l.sharedPerSM / sharedPerBlock});

  const Limit *min = &limits.front();
  for (const Limit &lim : limits)
    if (lim.blocks < min->blocks)
      min = &lim;
  occ.blocksPerSM = min->blocks;
  occ.activeWarps = occ.blocksPerSM * warps;
  occ.fraction = double(occ.activeWarps) / l.maxWarpsPerSM;
  occ.limiter = occ.blocksPerSM == 0 ? "does not fit" : min->name;
  return occ;
}

//===----------------------------------------------------------------------===//
// Roofline
//===----------------------------------------------------------------------===//

const std::vector<GpuSpec> &mlir::circ::rooflineGpus() {
  static const std::vector<GpuSpec> gpus = {{"H100", 67e12, 3.35e12},
                                            {"H200", 67e12, 4.8e12}};
  return gpus;
}

Roofline mlir::circ::estimateRoofline(const GpuSpec &gpu, double flops,
                                      double bytes) {
  Roofline r;
  double compute = flops / gpu.flopsPerSecond;
  double memory = bytes / gpu.bytesPerSecond;
  r.seconds = std::max(compute, memory);
  r.memoryBound = memory >= compute;
  r.intensity = bytes > 0 ? flops / bytes : 0; // 0: no DRAM traffic
  r.fractionOfPeak =
      r.seconds > 0 ? (flops / r.seconds) / gpu.flopsPerSecond : 0;
  return r;
}

llvm::StringMap<KernelCost> mlir::circ::readKernelCosts(ModuleOp module) {
  llvm::StringMap<KernelCost> costs;
  auto dict = module->getAttrOfType<DictionaryAttr>("circ.kernel_costs");
  if (!dict)
    return costs;
  auto number = [](DictionaryAttr d, llvm::StringRef key) {
    if (auto f = d.getAs<FloatAttr>(key))
      return f.getValueAsDouble();
    if (auto i = d.getAs<IntegerAttr>(key))
      return double(i.getInt());
    return 0.0;
  };
  for (NamedAttribute entry : dict) {
    auto d = dyn_cast<DictionaryAttr>(entry.getValue());
    if (!d)
      continue;
    KernelCost c;
    c.flops = number(d, "flops");
    c.dramBytes = number(d, "dram_bytes");
    c.accessBytes = number(d, "access_bytes");
    c.sharedBytes = number(d, "shared_bytes");
    c.blockThreads = unsigned(number(d, "block_threads"));
    c.threads = number(d, "threads");
    c.exact = !d.get("inexact");
    costs[entry.getName().getValue()] = c;
  }
  return costs;
}

//===----------------------------------------------------------------------===//
// The report
//===----------------------------------------------------------------------===//

llvm::Expected<std::vector<KernelStats>> mlir::circ::computeKernelStats(
    ModuleOp module, llvm::StringRef ptxasPath,
    std::vector<std::pair<GpuObject, std::string>> *cubins) {
  std::vector<KernelStats> stats;
  llvm::StringMap<KernelCost> costs = readKernelCosts(module);
  for (GpuObject &object : collectGpuObjects(module)) {
    if (!object.isPtx)
      continue;
    llvm::Expected<PtxasResult> result =
        assemblePtx(object.data, object.chip, ptxasPath);
    if (!result)
      return llvm::createStringError(
          llvm::formatv("GPU module '{0}' for {1}: {2}", object.binary,
                        object.chip, llvm::toString(result.takeError()))
              .str());
    llvm::StringMap<unsigned> bounds = parsePtxThreadsPerBlock(object.data);
    std::optional<ArchLimits> limits = archLimits(object.chip);
    for (PtxasKernelStats &k : result->kernels) {
      KernelStats s;
      s.ptxas = k;
      auto cost = costs.find(k.kernel);
      if (cost != costs.end())
        s.cost = cost->second;
      auto bound = bounds.find(k.kernel);
      if (s.cost && s.cost->blockThreads)
        s.threadsPerBlock = s.cost->blockThreads;
      else if (bound != bounds.end())
        s.threadsPerBlock = bound->second;
      if (limits && s.threadsPerBlock)
        s.occupancy =
            estimateOccupancy(*limits, s.threadsPerBlock, unsigned(k.registers),
                              unsigned(k.sharedBytes));
      if (s.cost)
        for (const GpuSpec &gpu : rooflineGpus())
          s.roofline.emplace_back(
              gpu.name,
              estimateRoofline(gpu, s.cost->flops, s.cost->dramBytes));
      stats.push_back(std::move(s));
    }
    if (cubins)
      cubins->emplace_back(object, std::move(result->cubin));
  }
  return stats;
}

/// "1.5 M", "312 k", "17": three significant digits with an SI prefix.
static std::string si(double v) {
  const char *prefixes[] = {"", " k", " M", " G", " T", " P"};
  int p = 0;
  while (std::fabs(v) >= 1000 && p < 5) {
    v /= 1000;
    ++p;
  }
  return llvm::formatv("{0:g3}{1}", v, prefixes[p]).str();
}

static std::string microseconds(double seconds) {
  return llvm::formatv("{0:f2}", seconds * 1e6).str();
}

void mlir::circ::printKernelStats(llvm::raw_ostream &os,
                                  const std::vector<KernelStats> &stats) {
  os << llvm::formatv("{0,-40} {1,-6} {2,5} {3,11} {4,7} {5,6} {6,6} "
                      "{7,-22} {8,9} {9,9} {10,7}",
                      "kernel", "arch", "regs", "spill st/ld", "smem", "stack",
                      "block", "occupancy (limiter)", "FLOP", "DRAM B",
                      "FLOP/B");
  for (const GpuSpec &gpu : rooflineGpus())
    os << llvm::formatv(" {0,12}", gpu.name + " us");
  os << "\n";
  for (const KernelStats &s : stats) {
    const PtxasKernelStats &k = s.ptxas;
    std::string occupancy = "-";
    if (s.occupancy)
      occupancy = llvm::formatv("{0:f0}% ({1})", s.occupancy->fraction * 100,
                                s.occupancy->limiter)
                      .str();
    std::string spills =
        llvm::formatv("{0}/{1}", k.spillStoreBytes, k.spillLoadBytes).str();
    os << llvm::formatv(
        "{0,-40} {1,-6} {2,5} {3,11} {4,7} {5,6} {6,6} "
        "{7,-22}",
        k.kernel, k.arch, k.registers, spills, k.sharedBytes, k.stackFrameBytes,
        s.threadsPerBlock ? std::to_string(s.threadsPerBlock) : "?", occupancy);
    if (!s.cost) {
      os << llvm::formatv(" {0,9} {1,9} {2,7}", "-", "-", "-");
      for (size_t i = 0; i < rooflineGpus().size(); ++i)
        os << llvm::formatv(" {0,12}", "-");
      os << "\n";
      continue;
    }
    std::string mark = s.cost->exact ? "" : "~";
    os << llvm::formatv(
        " {0,9} {1,9} {2,7}", mark + si(s.cost->flops),
        mark + si(s.cost->dramBytes),
        llvm::formatv("{0:f2}",
                      s.roofline.empty() ? 0.0 : s.roofline[0].second.intensity)
            .str());
    for (const auto &[name, r] : s.roofline)
      os << llvm::formatv(" {0,12}", microseconds(r.seconds) +
                                         (r.memoryBound ? " mem" : " fp"));
    os << "\n";
  }
}

llvm::json::Value
mlir::circ::kernelStatsToJSON(const std::vector<KernelStats> &stats) {
  llvm::json::Array kernels;
  for (const KernelStats &s : stats) {
    const PtxasKernelStats &k = s.ptxas;
    llvm::json::Object o{{"kernel", k.kernel},
                         {"arch", k.arch},
                         {"registers", k.registers},
                         {"barriers", k.barriers},
                         {"spill_store_bytes", k.spillStoreBytes},
                         {"spill_load_bytes", k.spillLoadBytes},
                         {"stack_frame_bytes", k.stackFrameBytes},
                         {"shared_bytes", k.sharedBytes},
                         {"constant_bytes", k.constantBytes}};
    if (s.threadsPerBlock)
      o["threads_per_block"] = s.threadsPerBlock;
    if (s.occupancy)
      o["occupancy"] =
          llvm::json::Object{{"blocks_per_sm", s.occupancy->blocksPerSM},
                             {"active_warps", s.occupancy->activeWarps},
                             {"fraction", s.occupancy->fraction},
                             {"limiter", s.occupancy->limiter}};
    if (s.cost) {
      o["cost"] = llvm::json::Object{{"flops", s.cost->flops},
                                     {"dram_bytes", s.cost->dramBytes},
                                     {"access_bytes", s.cost->accessBytes},
                                     {"shared_bytes", s.cost->sharedBytes},
                                     {"threads", s.cost->threads},
                                     {"exact", s.cost->exact}};
      llvm::json::Object roof;
      for (const auto &[name, r] : s.roofline)
        roof[name] = llvm::json::Object{{"seconds", r.seconds},
                                        {"intensity", r.intensity},
                                        {"memory_bound", r.memoryBound},
                                        {"fraction_of_peak", r.fractionOfPeak}};
      o["roofline"] = std::move(roof);
    }
    kernels.push_back(std::move(o));
  }
  return llvm::json::Object{{"kernels", std::move(kernels)}};
}

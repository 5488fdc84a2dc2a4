//===- KernelModules.cpp - merge, dump and report GPU kernels ---*- C++ -*-===//
//
// circ-gpu-merge-kernel-modules, circ-gpu-dump-objects and
// circ-gpu-kernel-stats: the passes between outlined kernels and the files
// and reports a user sees.
//
//===----------------------------------------------------------------------===//

#include "circ/GPU/Passes.h"

#include "circ/Target/PTX.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

namespace mlir::circ {
#define GEN_PASS_DEF_CIRCGPUMERGEKERNELMODULES
#define GEN_PASS_DEF_CIRCGPUDUMPOBJECTS
#define GEN_PASS_DEF_CIRCGPUKERNELSTATS
#include "circ/GPU/Passes.h.inc"
} // namespace mlir::circ

using namespace mlir;
using namespace mlir::circ;

namespace {

struct MergeKernelModules
    : public circ::impl::CircGpuMergeKernelModulesBase<MergeKernelModules> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<gpu::GPUModuleOp> sources(module.getOps<gpu::GPUModuleOp>());
    if (sources.size() < 2)
      return;
    SymbolTable top(module);
    if (top.lookup(moduleName)) {
      module.emitError() << "circ-gpu-merge-kernel-modules: a symbol named '"
                         << moduleName << "' already exists";
      return signalPassFailure();
    }
    OpBuilder b(sources.front());
    auto merged = gpu::GPUModuleOp::create(b, sources.front().getLoc(),
                                           moduleName.getValue());
    SymbolTable mergedTable(merged);

    // Old @module::@kernel -> new @merged::@kernel.
    DenseMap<Attribute, SymbolRefAttr> retarget;
    for (gpu::GPUModuleOp source : sources) {
      if (source.getTargetsAttr() && !merged.getTargetsAttr())
        merged.setTargetsAttr(source.getTargetsAttr());
      Block *into = merged.getBody();
      for (Operation &op : llvm::make_early_inc_range(*source.getBody())) {
        if (op.hasTrait<OpTrait::IsTerminator>())
          continue;
        auto symbol = dyn_cast<SymbolOpInterface>(op);
        StringAttr oldName = symbol ? symbol.getNameAttr() : StringAttr();
        op.moveBefore(into, into->end());
        if (!symbol)
          continue;
        // insert() renames on a clash; the symbol's uses inside the moved op
        // are its own body, which refers to it by name nowhere else.
        StringAttr newName = mergedTable.insert(&op);
        retarget[SymbolRefAttr::get(source.getNameAttr(),
                                    {FlatSymbolRefAttr::get(oldName)})] =
            SymbolRefAttr::get(merged.getNameAttr(),
                               {FlatSymbolRefAttr::get(newName)});
      }
    }
    module.walk([&](gpu::LaunchFuncOp launch) {
      auto it = retarget.find(launch.getKernel());
      if (it != retarget.end())
        launch.setKernelAttr(it->second);
    });
    for (gpu::GPUModuleOp source : sources)
      source.erase();
  }
};

struct DumpObjects : public circ::impl::CircGpuDumpObjectsBase<DumpObjects> {
  using Base::Base;

  void runOnOperation() override {
    if (dir.empty()) {
      getOperation().emitError("circ-gpu-dump-objects needs dir=<directory>");
      return signalPassFailure();
    }
    if (std::error_code ec = llvm::sys::fs::create_directories(dir)) {
      getOperation().emitError()
          << "cannot create '" << dir << "': " << ec.message();
      return signalPassFailure();
    }
    for (const GpuObject &o : collectGpuObjects(getOperation())) {
      llvm::SmallString<256> path(dir.getValue());
      llvm::sys::path::append(path, o.binary + "." + o.chip +
                                        (o.isPtx ? ".ptx" : ".cubin"));
      std::error_code ec;
      llvm::raw_fd_ostream out(
          path, ec, o.isPtx ? llvm::sys::fs::OF_Text : llvm::sys::fs::OF_None);
      if (ec) {
        getOperation().emitError()
            << "cannot write '" << path << "': " << ec.message();
        return signalPassFailure();
      }
      out << o.data;
    }
  }
};

struct KernelStatsPass
    : public circ::impl::CircGpuKernelStatsBase<KernelStatsPass> {
  using Base::Base;

  void runOnOperation() override {
    llvm::Expected<std::string> ptxas = findPtxas();
    if (!ptxas) {
      getOperation().emitError(llvm::toString(ptxas.takeError()));
      return signalPassFailure();
    }
    llvm::Expected<std::vector<KernelStats>> stats =
        computeKernelStats(getOperation(), *ptxas);
    if (!stats) {
      getOperation().emitError(llvm::toString(stats.takeError()));
      return signalPassFailure();
    }
    if (json)
      llvm::outs() << llvm::formatv("{0:2}", kernelStatsToJSON(*stats)) << "\n";
    else
      printKernelStats(llvm::outs(), *stats);
    llvm::outs().flush();
  }
};

} // namespace

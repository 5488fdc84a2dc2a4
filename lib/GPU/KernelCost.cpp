//===- KernelCost.cpp - circ-gpu-kernel-cost --------------------*- C++ -*-===//
//
// Static FLOP and byte counts of outlined GPU kernels, the inputs of the
// roofline in `--kernel-stats`. The counting rules are in Passes.td and
// docs/gpu.md.
//
//===----------------------------------------------------------------------===//

#include "circ/GPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/ADT/MapVector.h"

#include <cmath>

namespace mlir::circ {
#define GEN_PASS_DEF_CIRCGPUKERNELCOST
#include "circ/GPU/Passes.h.inc"
} // namespace mlir::circ

using namespace mlir;
using namespace mlir::circ;

namespace {

/// Work of one execution of a region, per thread.
struct Cost {
  double flops = 0;
  double sharedBytes = 0;
  /// Global bytes accessed, per (gpu.func argument number, mask of the
  /// hardware ids the address depends on): key = argNo << 8 | mask.
  llvm::SmallDenseMap<uint64_t, double> argBytes;
  /// Global bytes through memrefs that are not kernel arguments.
  double otherBytes = 0;
  bool exact = true;

  Cost &operator+=(const Cost &o) {
    flops += o.flops;
    sharedBytes += o.sharedBytes;
    for (auto [arg, bytes] : o.argBytes)
      argBytes[arg] += bytes;
    otherBytes += o.otherBytes;
    exact &= o.exact;
    return *this;
  }
  Cost scaled(double factor) const {
    Cost c = *this;
    c.flops *= factor;
    c.sharedBytes *= factor;
    for (auto &entry : c.argBytes)
      entry.second *= factor;
    c.otherBytes *= factor;
    return c;
  }
  double accessBytes() const {
    double total = otherBytes;
    for (auto [arg, bytes] : argBytes)
      total += bytes;
    return total;
  }
};

/// Lanes of a scalar or vector value type.
double lanes(Type type) {
  if (auto vec = dyn_cast<VectorType>(type))
    return double(vec.getNumElements());
  return 1;
}

double byteWidth(Type type) {
  if (auto vec = dyn_cast<VectorType>(type))
    return double(vec.getNumElements()) * double(vec.getElementTypeBitWidth()) /
           8;
  return double(type.getIntOrFloatBitWidth()) / 8;
}

bool isFloat(Type type) { return isa<FloatType>(getElementTypeOrSelf(type)); }

/// Bits of the hardware ids: blockIdx x/y/z = 0..2, threadIdx x/y/z = 3..5.
constexpr unsigned kNumIds = 6;

class KernelCounter {
public:
  explicit KernelCounter(gpu::GPUFuncOp kernel) : kernel(kernel) {}

  Cost count() { return regionCost(kernel.getBody()); }

private:
  gpu::GPUFuncOp kernel;
  llvm::DenseMap<Value, unsigned> idMasks;

  /// Which hardware ids `v` depends on (through any chain of ops, loop
  /// bounds and loads); kernel arguments and constants depend on none.
  unsigned idMask(Value v) {
    auto it = idMasks.find(v);
    if (it != idMasks.end())
      return it->second;
    idMasks[v] = 0; // cycles through iter_args end here
    unsigned mask = 0;
    if (auto arg = dyn_cast<BlockArgument>(v)) {
      Operation *owner = arg.getOwner()->getParentOp();
      if (owner && owner != kernel.getOperation())
        for (Value operand : owner->getOperands())
          mask |= idMask(operand);
    } else {
      Operation *def = v.getDefiningOp();
      if (auto id = dyn_cast<gpu::BlockIdOp>(def))
        mask = 1u << unsigned(id.getDimension());
      else if (auto id = dyn_cast<gpu::ThreadIdOp>(def))
        mask = 1u << (3 + unsigned(id.getDimension()));
      else if (auto id = dyn_cast<gpu::GlobalIdOp>(def))
        mask = (1u | 8u) << unsigned(id.getDimension());
      else
        for (Value operand : def->getOperands())
          mask |= idMask(operand);
    }
    return idMasks[v] = mask;
  }

  /// Records `bytes` of traffic through `memref` at `indices`: shared,
  /// private (free), or global (attributed to the kernel argument it views,
  /// with the ids its address depends on).
  void access(Value memref, ValueRange indices, double bytes, Cost &cost) {
    auto type = dyn_cast<MemRefType>(memref.getType());
    if (!type)
      return;
    if (gpu::GPUDialect::hasWorkgroupMemoryAddressSpace(type)) {
      cost.sharedBytes += bytes;
      return;
    }
    if (auto space =
            dyn_cast_or_null<gpu::AddressSpaceAttr>(type.getMemorySpace());
        space && space.getValue() == gpu::AddressSpace::Private)
      return;
    // Walk views back to their source.
    while (Operation *def = memref.getDefiningOp()) {
      auto view = dyn_cast<ViewLikeOpInterface>(def);
      if (!view)
        break;
      memref = view.getViewSource();
    }
    auto arg = dyn_cast<BlockArgument>(memref);
    if (arg && arg.getOwner() == &kernel.getBody().front() &&
        arg.getArgNumber() < kernel.getNumArguments()) {
      unsigned mask = 0;
      for (Value index : indices)
        mask |= idMask(index);
      cost.argBytes[uint64_t(arg.getArgNumber()) << 8 | mask] += bytes;
    } else
      cost.otherBytes += bytes;
  }

  /// Trip count of a loop with bounds (lb, ub, step), from constants or the
  /// producer's `circ.expected_trip_count`; nullopt if neither is known.
  static std::optional<double> tripCount(Operation *loop, Value lb, Value ub,
                                         Value step) {
    std::optional<int64_t> l = getConstantIntValue(lb);
    std::optional<int64_t> u = getConstantIntValue(ub);
    std::optional<int64_t> s = getConstantIntValue(step);
    if (l && u && s && *s > 0)
      return *u > *l ? double((*u - *l + *s - 1) / *s) : 0.0;
    if (auto hint =
            loop->getAttrOfType<IntegerAttr>("circ.expected_trip_count"))
      return double(hint.getInt());
    return std::nullopt;
  }

  static Cost loop(const Cost &body, std::optional<double> trips) {
    Cost c = body.scaled(trips.value_or(1));
    c.exact &= trips.has_value();
    return c;
  }

  Cost regionCost(Region &region) {
    Cost cost;
    for (Block &block : region)
      for (Operation &op : block)
        cost += opCost(&op);
    return cost;
  }

  Cost opCost(Operation *op) {
    Cost cost;
    if (auto forOp = dyn_cast<scf::ForOp>(op))
      return loop(regionCost(forOp.getRegion()),
                  tripCount(op, forOp.getLowerBound(), forOp.getUpperBound(),
                            forOp.getStep()));
    if (auto par = dyn_cast<scf::ParallelOp>(op)) {
      std::optional<double> trips = 1.0;
      for (auto [lb, ub, step] :
           llvm::zip(par.getLowerBound(), par.getUpperBound(), par.getStep()))
        if (std::optional<double> t = tripCount(op, lb, ub, step); t && trips)
          *trips *= *t;
        else
          trips = std::nullopt;
      return loop(regionCost(par.getRegion()), trips);
    }
    if (auto whileOp = dyn_cast<scf::WhileOp>(op)) {
      Cost body = regionCost(whileOp.getBefore());
      body += regionCost(whileOp.getAfter());
      std::optional<double> trips;
      if (auto hint =
              op->getAttrOfType<IntegerAttr>("circ.expected_trip_count"))
        trips = double(hint.getInt());
      return loop(body, trips);
    }
    if (auto ifOp = dyn_cast<scf::IfOp>(op)) {
      Cost thenCost = regionCost(ifOp.getThenRegion());
      Cost elseCost = regionCost(ifOp.getElseRegion());
      return thenCost.flops + thenCost.accessBytes() >=
                     elseCost.flops + elseCost.accessBytes()
                 ? thenCost
                 : elseCost;
    }
    if (auto call = dyn_cast<func::CallOp>(op)) {
      auto callee = SymbolTable::lookupNearestSymbolFrom<FunctionOpInterface>(
          op, call.getCalleeAttr());
      if (callee && !callee.isExternal()) {
        // Costs of a callee's argument accesses are not attributed to the
        // kernel's arguments; they count as other global traffic.
        KernelCounter inner(kernel);
        Cost c = inner.regionCost(*callee.getCallableRegion());
        Cost flat;
        flat.flops = c.flops;
        flat.sharedBytes = c.sharedBytes;
        flat.otherBytes = c.accessBytes();
        flat.exact = c.exact;
        return flat;
      }
      cost.exact = false;
      return cost;
    }

    // Memory.
    if (auto load = dyn_cast<memref::LoadOp>(op))
      access(load.getMemRef(), load.getIndices(), byteWidth(load.getType()),
             cost);
    else if (auto store = dyn_cast<memref::StoreOp>(op))
      access(store.getMemRef(), store.getIndices(),
             byteWidth(store.getValueToStore().getType()), cost);
    else if (auto load = dyn_cast<vector::LoadOp>(op))
      access(load.getBase(), load.getIndices(), byteWidth(load.getType()),
             cost);
    else if (auto store = dyn_cast<vector::StoreOp>(op))
      access(store.getBase(), store.getIndices(),
             byteWidth(store.getValueToStore().getType()), cost);
    else if (auto load = dyn_cast<vector::MaskedLoadOp>(op))
      access(load.getBase(), load.getIndices(), byteWidth(load.getType()),
             cost);
    else if (auto store = dyn_cast<vector::MaskedStoreOp>(op))
      access(store.getBase(), store.getIndices(),
             byteWidth(store.getValueToStore().getType()), cost);
    else if (auto read = dyn_cast<vector::TransferReadOp>(op))
      access(read.getBase(), read.getIndices(), byteWidth(read.getType()),
             cost);
    else if (auto write = dyn_cast<vector::TransferWriteOp>(op))
      access(write.getBase(), write.getIndices(),
             byteWidth(write.getVector().getType()), cost);

    // Arithmetic.
    else if (isa<arith::AddFOp, arith::SubFOp, arith::MulFOp, arith::DivFOp,
                 arith::RemFOp, arith::NegFOp, arith::MaximumFOp,
                 arith::MinimumFOp, arith::MaxNumFOp, arith::MinNumFOp>(op))
      cost.flops = lanes(op->getResult(0).getType());
    else if (isa<math::FmaOp, vector::FMAOp>(op))
      cost.flops = 2 * lanes(op->getResult(0).getType());
    else if (isa<math::ExpOp, math::Exp2Op, math::ExpM1Op, math::LogOp,
                 math::Log2Op, math::Log1pOp, math::ErfOp, math::TanhOp,
                 math::SqrtOp, math::RsqrtOp, math::PowFOp, math::SinOp,
                 math::CosOp>(op))
      cost.flops = lanes(op->getResult(0).getType());
    else if (auto red = dyn_cast<vector::ReductionOp>(op)) {
      if (isFloat(red.getVector().getType()))
        cost.flops =
            lanes(red.getVector().getType()) - 1 + (red.getAcc() ? 1 : 0);
    } else {
      // Any other op with regions: count its body once.
      for (Region &r : op->getRegions())
        cost += regionCost(r);
    }
    return cost;
  }
};

struct KernelTotal {
  double flops = 0, dramBytes = 0, accessBytes = 0, sharedBytes = 0;
  double threads = 0, blockThreads = 0;
  bool exact = true;
};

struct CircGpuKernelCostPass
    : public circ::impl::CircGpuKernelCostBase<CircGpuKernelCostPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    llvm::MapVector<StringAttr, KernelTotal> totals;
    llvm::DenseMap<Operation *, Cost> perThread;

    module.walk([&](gpu::LaunchFuncOp launch) {
      auto kernel = SymbolTable::lookupNearestSymbolFrom<gpu::GPUFuncOp>(
          launch, launch.getKernel());
      if (!kernel)
        return;
      auto it = perThread.find(kernel);
      if (it == perThread.end())
        it = perThread.try_emplace(kernel, KernelCounter(kernel).count()).first;
      const Cost &thread = it->second;

      bool exact = thread.exact;
      auto dim = [&](Value v) {
        if (std::optional<int64_t> c = getConstantIntValue(v))
          return double(*c);
        exact = false;
        return 1.0;
      };
      double block = dim(launch.getBlockSizeX()) * dim(launch.getBlockSizeY()) *
                     dim(launch.getBlockSizeZ());
      double threads = block * dim(launch.getGridSizeX()) *
                       dim(launch.getGridSizeY()) * dim(launch.getGridSizeZ());
      Cost all = thread.scaled(threads);

      KernelTotal &t = totals[kernel.getNameAttr()];
      t.flops += all.flops;
      t.accessBytes += all.accessBytes();
      t.sharedBytes += all.sharedBytes;
      t.threads += threads;
      t.blockThreads = block;
      // DRAM: threads whose addresses do not depend on a hardware id read
      // the same elements (perfect reuse), and each argument moves at most
      // its size.
      double extent[kNumIds] = {
          dim(launch.getGridSizeX()),  dim(launch.getGridSizeY()),
          dim(launch.getGridSizeZ()),  dim(launch.getBlockSizeX()),
          dim(launch.getBlockSizeY()), dim(launch.getBlockSizeZ())};
      t.dramBytes += all.otherBytes;
      llvm::SmallDenseMap<unsigned, double> unique;
      for (auto [key, bytes] : all.argBytes) {
        double shared = 1;
        for (unsigned id = 0; id < kNumIds; ++id)
          if (!(key & (1u << id)))
            shared *= extent[id];
        unique[unsigned(key >> 8)] += bytes / shared;
      }
      for (auto [argNo, bytes] : unique) {
        auto type = dyn_cast<MemRefType>(kernel.getArgument(argNo).getType());
        double size = bytes;
        if (type && type.hasStaticShape())
          size =
              double(type.getNumElements()) * byteWidth(type.getElementType());
        t.dramBytes += std::min(bytes, size);
      }
      t.exact &= exact;
    });

    if (totals.empty())
      return;
    Builder b(module.getContext());
    SmallVector<NamedAttribute> entries;
    for (auto &[name, t] : totals) {
      // Counts are whole numbers; i64 keeps the attribute readable.
      auto count = [&](double v) {
        return b.getI64IntegerAttr(int64_t(std::llround(v)));
      };
      SmallVector<NamedAttribute> fields = {
          b.getNamedAttr("flops", count(t.flops)),
          b.getNamedAttr("dram_bytes", count(t.dramBytes)),
          b.getNamedAttr("access_bytes", count(t.accessBytes)),
          b.getNamedAttr("shared_bytes", count(t.sharedBytes)),
          b.getNamedAttr("threads", count(t.threads)),
          b.getNamedAttr("block_threads", count(t.blockThreads))};
      if (!t.exact)
        fields.push_back(b.getNamedAttr("inexact", b.getUnitAttr()));
      entries.push_back(b.getNamedAttr(name, b.getDictionaryAttr(fields)));
    }
    module->setAttr("circ.kernel_costs", b.getDictionaryAttr(entries));
  }
};

} // namespace

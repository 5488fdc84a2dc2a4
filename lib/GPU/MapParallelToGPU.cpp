//===- MapParallelToGPU.cpp - circ-map-parallel-to-gpu ----------*- C++ -*-===//
//
// Maps the CPU-tested scf.parallel nests onto gpu.launch: promote independent
// inner loops to parallel dimensions, pick the coalescing dimension and a
// block shape, tile, and hand the mapped nest to MLIR's SCF-to-GPU patterns.
// The steps and their rules are in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "circ/GPU/Passes.h"

#include "mlir/Conversion/SCFToGPU/SCFToGPU.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/ParallelLoopMapper.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir::circ {
#define GEN_PASS_DEF_CIRCMAPPARALLELTOGPU
#include "circ/GPU/Passes.h.inc"
} // namespace mlir::circ

using namespace mlir;
using namespace mlir::circ;

namespace {

//===----------------------------------------------------------------------===//
// Memory accesses
//===----------------------------------------------------------------------===//

/// A load or store of a memref: the buffer, its indices, and whether it
/// writes.
struct Access {
  Value memref;
  ValueRange indices;
  bool writes;
};

std::optional<Access> getAccess(Operation *op) {
  if (auto o = dyn_cast<memref::LoadOp>(op))
    return Access{o.getMemRef(), o.getIndices(), false};
  if (auto o = dyn_cast<memref::StoreOp>(op))
    return Access{o.getMemRef(), o.getIndices(), true};
  if (auto o = dyn_cast<vector::LoadOp>(op))
    return Access{o.getBase(), o.getIndices(), false};
  if (auto o = dyn_cast<vector::StoreOp>(op))
    return Access{o.getBase(), o.getIndices(), true};
  if (auto o = dyn_cast<vector::MaskedLoadOp>(op))
    return Access{o.getBase(), o.getIndices(), false};
  if (auto o = dyn_cast<vector::MaskedStoreOp>(op))
    return Access{o.getBase(), o.getIndices(), true};
  if (auto o = dyn_cast<vector::TransferReadOp>(op))
    return Access{o.getBase(), o.getIndices(), false};
  if (auto o = dyn_cast<vector::TransferWriteOp>(op))
    return Access{o.getBase(), o.getIndices(), true};
  return std::nullopt;
}

/// The buffer a (possibly viewed) memref value refers to.
Value rootBuffer(Value memref) {
  while (Operation *def = memref.getDefiningOp()) {
    auto view = dyn_cast<ViewLikeOpInterface>(def);
    if (!view)
      break;
    memref = view.getViewSource();
  }
  return memref;
}

/// c if `index` is `iv + c` for a constant c (`iv` itself is c = 0).
std::optional<int64_t> shiftOf(Value index, Value iv) {
  if (index == iv)
    return 0;
  Operation *def = index.getDefiningOp();
  if (!isa_and_nonnull<arith::AddIOp, arith::SubIOp>(def))
    return std::nullopt;
  Value lhs = def->getOperand(0), rhs = def->getOperand(1);
  if (lhs == iv)
    if (std::optional<int64_t> c = getConstantIntValue(rhs))
      return isa<arith::AddIOp>(def) ? *c : -*c;
  if (isa<arith::AddIOp>(def) && rhs == iv)
    return getConstantIntValue(lhs);
  return std::nullopt;
}

bool isShiftOf(Value index, Value iv) { return shiftOf(index, iv).has_value(); }

/// Whether different iterations of `loop` touch different elements of every
/// buffer it writes: in some dimension every access to the buffer (through
/// the same memref value) is indexed `iv + c` with constants c spanning less
/// than the loop's step. Ops with unknown memory effects fail the test.
bool iterationsDisjoint(scf::ForOp loop) {
  Value iv = loop.getInductionVar();
  std::optional<int64_t> step = getConstantIntValue(loop.getStep());
  llvm::MapVector<Value, SmallVector<Access>> accesses;
  bool unknownEffects = false;
  loop.getBody()->walk([&](Operation *op) {
    if (std::optional<Access> a = getAccess(op)) {
      accesses[rootBuffer(a->memref)].push_back(*a);
      return;
    }
    if (op->getNumRegions() == 0 && !isMemoryEffectFree(op))
      unknownEffects = true;
  });
  if (unknownEffects)
    return false;

  for (auto &[buffer, list] : accesses) {
    if (llvm::none_of(list, [](const Access &a) { return a.writes; }))
      continue;
    const Access &first = list.front();
    bool separated = false;
    for (unsigned d = 0; d < first.indices.size() && !separated; ++d) {
      int64_t lo = INT64_MAX, hi = INT64_MIN;
      bool shifts = llvm::all_of(list, [&](const Access &a) {
        if (a.memref != first.memref || d >= a.indices.size())
          return false;
        std::optional<int64_t> c = shiftOf(a.indices[d], iv);
        if (!c)
          return false;
        lo = std::min(lo, *c);
        hi = std::max(hi, *c);
        return true;
      });
      separated = shifts && (hi == lo || (step && hi - lo < *step));
    }
    if (!separated)
      return false;
  }
  return true;
}

//===----------------------------------------------------------------------===//
// Step 1: promote independent inner loops
//===----------------------------------------------------------------------===//

/// Whether `loop` (directly inside `par`, whose other ops are pure) can
/// become a dimension of `par`: no loop-carried values, bounds defined above
/// `par`, and iterations that touch disjoint elements.
bool isIndependent(scf::ForOp loop, scf::ParallelOp par) {
  if (loop.getNumResults() != 0)
    return false;
  for (Value bound :
       {loop.getLowerBound(), loop.getUpperBound(), loop.getStep()})
    if (!par.isDefinedOutsideOfLoop(bound))
      return false;
  return iterationsDisjoint(loop);
}

/// Replaces `par { pure ops; scf.for {...} }` by one scf.parallel with the
/// loop's dimension appended, if the loop is independent and the nest has
/// fewer than three dimensions. Returns the new loop, or null.
scf::ParallelOp promoteInnerLoop(scf::ParallelOp par, IRRewriter &rewriter) {
  if (par.getNumResults() != 0 || par.getNumLoops() >= 3)
    return nullptr;
  scf::ForOp inner;
  for (Operation &op : par.getBody()->without_terminator()) {
    if (auto loop = dyn_cast<scf::ForOp>(op)) {
      if (inner)
        return nullptr; // two loops: keep their order
      inner = loop;
      continue;
    }
    if (!isPure(&op) || op.getNumRegions() != 0)
      return nullptr;
  }
  if (!inner || !isIndependent(inner, par))
    return nullptr;

  rewriter.setInsertionPoint(par);
  SmallVector<Value> lbs(par.getLowerBound()), ubs(par.getUpperBound()),
      steps(par.getStep());
  lbs.push_back(inner.getLowerBound());
  ubs.push_back(inner.getUpperBound());
  steps.push_back(inner.getStep());
  auto merged =
      scf::ParallelOp::create(rewriter, par.getLoc(), lbs, ubs, steps);
  merged->setDiscardableAttrs(par->getDiscardableAttrDictionary());

  IRMapping map;
  for (auto [from, to] :
       llvm::zip(par.getInductionVars(), merged.getInductionVars()))
    map.map(from, to);
  map.map(inner.getInductionVar(), merged.getInductionVars().back());
  rewriter.setInsertionPointToStart(merged.getBody());
  for (Operation &op : par.getBody()->without_terminator())
    if (&op != inner.getOperation())
      rewriter.clone(op, map);
  for (Operation &op : inner.getBody()->without_terminator())
    rewriter.clone(op, map);
  rewriter.eraseOp(par);
  return merged;
}

//===----------------------------------------------------------------------===//
// Steps 2 and 3: thread dimension and block shape
//===----------------------------------------------------------------------===//

std::optional<int64_t> staticExtent(scf::ParallelOp par, unsigned d) {
  std::optional<int64_t> lb = getConstantIntValue(par.getLowerBound()[d]);
  std::optional<int64_t> ub = getConstantIntValue(par.getUpperBound()[d]);
  std::optional<int64_t> step = getConstantIntValue(par.getStep()[d]);
  if (!lb || !ub || !step || *step <= 0)
    return std::nullopt;
  return *ub > *lb ? (*ub - *lb + *step - 1) / *step : 0;
}

/// How often an op runs per iteration of `par`: the product of the trip
/// counts of the loops between them (constant, else the producer's
/// `circ.expected_trip_count`, else 2: "more than once").
double executionWeight(Operation *op, scf::ParallelOp par) {
  double weight = 1;
  for (Operation *p = op->getParentOp(); p && p != par; p = p->getParentOp()) {
    auto loop = dyn_cast<scf::ForOp>(p);
    if (!loop)
      continue;
    std::optional<int64_t> lb = getConstantIntValue(loop.getLowerBound());
    std::optional<int64_t> ub = getConstantIntValue(loop.getUpperBound());
    std::optional<int64_t> step = getConstantIntValue(loop.getStep());
    if (lb && ub && step && *step > 0)
      weight *= double(std::max<int64_t>(0, (*ub - *lb + *step - 1) / *step));
    else if (auto hint =
                 loop->getAttrOfType<IntegerAttr>("circ.expected_trip_count"))
      weight *= double(hint.getInt());
    else
      weight *= 2;
  }
  return weight;
}

/// The dimension whose induction variable indexes the innermost axis of the
/// most executed accesses; ties go to the last dimension.
unsigned coalescingDim(scf::ParallelOp par) {
  SmallVector<double> score(par.getNumLoops(), 0);
  par.getBody()->walk([&](Operation *op) {
    std::optional<Access> a = getAccess(op);
    if (!a || a->indices.empty())
      return;
    Value last = a->indices.back();
    for (unsigned d = 0; d < par.getNumLoops(); ++d)
      if (isShiftOf(last, par.getInductionVars()[d]))
        score[d] += executionWeight(op, par);
  });
  unsigned best = par.getNumLoops() - 1;
  for (unsigned d = 0; d < par.getNumLoops(); ++d)
    if (score[d] > score[best])
      best = d;
  return best;
}

int64_t powerOfTwoCeil(int64_t v) {
  int64_t p = 1;
  while (p < v)
    p *= 2;
  return p;
}

/// Threads along x for a static extent (or unknown): a multiple of 32 (at
/// least 128 when the extent spans several blocks) that wastes the fewest
/// guarded-off threads, preferring larger blocks on ties.
int64_t chooseBlockX(std::optional<int64_t> extent, int64_t budget) {
  if (!extent)
    return budget;
  int64_t e = std::max<int64_t>(*extent, 1);
  if (e < 32)
    return powerOfTwoCeil(e);
  if (e <= budget)
    return (e + 31) / 32 * 32;
  int64_t best = budget;
  int64_t bestWaste = (e + budget - 1) / budget * budget - e;
  for (int64_t b = budget - 32; b >= std::min<int64_t>(128, budget); b -= 32) {
    int64_t waste = (e + b - 1) / b * b - e;
    if (waste < bestWaste) {
      best = b;
      bestWaste = waste;
    }
  }
  return best;
}

int64_t chooseBlockYZ(std::optional<int64_t> extent, int64_t budget) {
  if (budget <= 1)
    return 1;
  if (!extent)
    return budget;
  return std::min(budget, powerOfTwoCeil(std::max<int64_t>(*extent, 1)));
}

//===----------------------------------------------------------------------===//
// Tile nests: one iteration per block, scratch in shared memory
//===----------------------------------------------------------------------===//

/// How a nest whose iterations allocate scratch tiles runs: one iteration per
/// block, the tiles in workgroup (shared) memory, each top-level loop of the
/// body (a phase) spread over the block's threads (or run by thread 0 if its
/// iterations are not independent), a barrier after every phase.
/// Static shared memory a kernel may declare (more needs dynamic shared
/// memory and an opt-in at launch).
constexpr int64_t kMaxStaticShared = 48 * 1024;

struct TilePlan {
  SmallVector<memref::AllocaOp> scratch;
  int64_t sharedBytes = 0;
  int64_t threads = 0;
};

/// What one thread of the block does with a top-level op of the body.
enum class Role { Skip, Replicate, Distribute, Serial };

Role roleOf(Operation &op) {
  if (isa<memref::AllocaOp>(op))
    return Role::Skip;
  if (auto loop = dyn_cast<scf::ForOp>(op))
    return loop.getNumResults() == 0 && iterationsDisjoint(loop)
               ? Role::Distribute
               : Role::Serial;
  if (op.getNumRegions() == 0 &&
      (isPure(&op) || !hasEffect<MemoryEffects::Write>(&op)))
    return Role::Replicate;
  return Role::Serial;
}

/// Static trip count of a loop, if any.
std::optional<int64_t> tripCount(scf::ForOp loop) {
  std::optional<int64_t> lb = getConstantIntValue(loop.getLowerBound());
  std::optional<int64_t> ub = getConstantIntValue(loop.getUpperBound());
  std::optional<int64_t> step = getConstantIntValue(loop.getStep());
  if (!lb || !ub || !step || *step <= 0)
    return std::nullopt;
  return *ub > *lb ? (*ub - *lb + *step - 1) / *step : 0;
}

/// A plan if `par` allocates statically shaped scratch tiles per iteration
/// that are only loaded and stored, fit the 48 KiB of static shared memory,
/// and every serial op of the body has no results.
std::optional<TilePlan> planTileMapping(scf::ParallelOp par,
                                        int64_t blockThreads) {
  TilePlan plan;
  for (auto alloca : par.getBody()->getOps<memref::AllocaOp>()) {
    MemRefType type = alloca.getType();
    if (!type.hasStaticShape() || !type.getLayout().isIdentity())
      return std::nullopt;
    for (Operation *user : alloca->getUsers()) {
      std::optional<Access> a = getAccess(user);
      if (!a || a->memref != alloca.getResult())
        return std::nullopt;
    }
    plan.sharedBytes +=
        type.getNumElements() * int64_t(type.getElementTypeBitWidth() / 8);
    plan.scratch.push_back(alloca);
  }
  if (plan.scratch.empty() || par.getNumResults() != 0)
    return std::nullopt;
  int64_t widest = 32;
  for (Operation &op : par.getBody()->without_terminator()) {
    Role role = roleOf(op);
    if (role == Role::Serial && op.getNumResults() != 0)
      return std::nullopt;
    if (role == Role::Distribute)
      widest = std::max(widest,
                        tripCount(cast<scf::ForOp>(op)).value_or(blockThreads));
  }
  plan.threads = std::min(blockThreads, (widest + 31) / 32 * 32);
  return plan;
}

void buildTileLaunch(scf::ParallelOp par, const TilePlan &plan,
                     IRRewriter &rewriter) {
  Location loc = par.getLoc();
  MLIRContext *ctx = par.getContext();
  rewriter.setInsertionPoint(par);
  auto cst = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(rewriter, loc, v);
  };
  Value one = cst(1);
  SmallVector<Value> grid(3, one);
  for (unsigned d = 0; d < par.getNumLoops(); ++d) {
    Value extent = arith::SubIOp::create(rewriter, loc, par.getUpperBound()[d],
                                         par.getLowerBound()[d]);
    grid[d] =
        arith::CeilDivSIOp::create(rewriter, loc, extent, par.getStep()[d]);
  }
  SmallVector<Type> tileTypes;
  auto workgroup =
      gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  for (memref::AllocaOp alloca : plan.scratch) {
    MemRefType t = alloca.getType();
    tileTypes.push_back(MemRefType::get(t.getShape(), t.getElementType(),
                                        MemRefLayoutAttrInterface(),
                                        workgroup));
  }
  auto launch = gpu::LaunchOp::create(
      rewriter, loc, grid[0], grid[1], grid[2], cst(plan.threads), one, one,
      /*dynamicSharedMemorySize=*/nullptr, /*asyncTokenType=*/nullptr,
      /*asyncDependencies=*/{}, tileTypes);
  Block &body = launch.getBody().front();
  rewriter.setInsertionPointToStart(&body);

  IRMapping map;
  Value ids[3] = {launch.getBlockIds().x, launch.getBlockIds().y,
                  launch.getBlockIds().z};
  for (unsigned d = 0; d < par.getNumLoops(); ++d) {
    Value offset =
        arith::MulIOp::create(rewriter, loc, ids[d], par.getStep()[d]);
    map.map(
        par.getInductionVars()[d],
        arith::AddIOp::create(rewriter, loc, par.getLowerBound()[d], offset));
  }
  ArrayRef<BlockArgument> tiles = launch.getWorkgroupAttributions();
  for (auto [alloca, tile] : llvm::zip(plan.scratch, tiles))
    map.map(memref::AllocaOp(alloca).getResult(), tile);

  Value tid = launch.getThreadIds().x;
  Value threads = cst(plan.threads);
  for (Operation &op : par.getBody()->without_terminator()) {
    Role role = roleOf(op);
    switch (role) {
    case Role::Skip:
      continue;
    case Role::Replicate:
      rewriter.clone(op, map);
      continue;
    case Role::Distribute: {
      // Thread t runs iterations t, t + T, t + 2T, ... of the phase.
      auto loop = cast<scf::ForOp>(op);
      Value lb = map.lookupOrDefault(loop.getLowerBound());
      Value ub = map.lookupOrDefault(loop.getUpperBound());
      Value step = map.lookupOrDefault(loop.getStep());
      Value start = arith::AddIOp::create(
          rewriter, loc, lb, arith::MulIOp::create(rewriter, loc, tid, step));
      Value stride = arith::MulIOp::create(rewriter, loc, step, threads);
      auto spread = scf::ForOp::create(rewriter, loc, start, ub, stride);
      spread->setDiscardableAttrs(loop->getDiscardableAttrDictionary());
      if (std::optional<int64_t> trips = tripCount(loop))
        spread->setAttr("circ.expected_trip_count",
                        rewriter.getI64IntegerAttr((*trips + plan.threads - 1) /
                                                   plan.threads));
      map.map(loop.getInductionVar(), spread.getInductionVar());
      rewriter.setInsertionPointToStart(spread.getBody());
      for (Operation &inner : loop.getBody()->without_terminator())
        rewriter.clone(inner, map);
      rewriter.setInsertionPointAfter(spread);
      break;
    }
    case Role::Serial: {
      Value first = arith::CmpIOp::create(
          rewriter, loc, arith::CmpIPredicate::eq, tid, cst(0));
      auto guard = scf::IfOp::create(rewriter, loc, first,
                                     /*withElseRegion=*/false);
      rewriter.setInsertionPointToStart(guard.thenBlock());
      rewriter.clone(op, map);
      rewriter.setInsertionPointAfter(guard);
      break;
    }
    }
    // The next phase may read what this one wrote, in shared or global
    // memory, from another thread.
    gpu::BarrierOp::create(rewriter, loc);
  }
  gpu::TerminatorOp::create(rewriter, loc);
  rewriter.eraseOp(par);
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

struct CircMapParallelToGPUPass
    : public circ::impl::CircMapParallelToGPUBase<CircMapParallelToGPUPass> {
  using Base::Base;

  void runOnOperation() override {
    if (blockThreads < 32 || blockThreads > 1024 || blockThreads % 32) {
      getOperation().emitError()
          << "circ-map-parallel-to-gpu: block-threads must be a multiple of "
             "32 in [32, 1024], got "
          << int64_t(blockThreads);
      return signalPassFailure();
    }
    SmallVector<scf::ParallelOp> roots;
    getOperation().walk([&](func::FuncOp func) {
      func.walk([&](scf::ParallelOp par) {
        if (!par->getParentOfType<scf::ParallelOp>() &&
            !par->getParentOfType<gpu::LaunchOp>())
          roots.push_back(par);
      });
    });
    for (scf::ParallelOp par : roots)
      if (failed(mapLoop(par)))
        return signalPassFailure();

    ConversionTarget target(getContext());
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    configureParallelLoopToGPULegality(target);
    RewritePatternSet patterns(&getContext());
    populateParallelLoopToGPUPatterns(patterns);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      return signalPassFailure();
    finalizeParallelLoopToGPUConversion(getOperation());
    getOperation().walk(
        [](gpu::LaunchOp launch) { launch->removeAttr("SCFToGPU_visited"); });
  }

  LogicalResult mapLoop(scf::ParallelOp par) {
    if (par.getNumResults() != 0)
      return par.emitError("circ-map-parallel-to-gpu: an scf.parallel with "
                           "reductions cannot run as a GPU kernel; lower the "
                           "reduction to a loop inside the kernel first");
    IRRewriter rewriter(par.getContext());
    if (par.getNumLoops() <= 3)
      if (std::optional<TilePlan> plan = planTileMapping(par, blockThreads)) {
        if (plan->sharedBytes <= kMaxStaticShared) {
          buildTileLaunch(par, *plan, rewriter);
          return success();
        }
        par.emitWarning() << "circ-map-parallel-to-gpu: the scratch tiles of "
                             "this loop take "
                          << plan->sharedBytes
                          << " bytes, more than the 48 KiB of static shared "
                             "memory; each thread keeps its own copy (slow): "
                             "use smaller tiles";
      }
    if (promoteInnerLoops)
      while (scf::ParallelOp merged = promoteInnerLoop(par, rewriter))
        par = merged;

    // Thread order: the coalescing dimension first, then by extent.
    unsigned n = par.getNumLoops();
    SmallVector<unsigned> order = {coalescingDim(par)};
    SmallVector<unsigned> rest;
    for (unsigned d = 0; d < n; ++d)
      if (d != order.front())
        rest.push_back(d);
    llvm::sort(rest, [&](unsigned a, unsigned b) {
      int64_t ea = staticExtent(par, a).value_or(INT64_MAX);
      int64_t eb = staticExtent(par, b).value_or(INT64_MAX);
      return ea != eb ? ea > eb : a > b;
    });
    if (n > 3)
      return par.emitError("circ-map-parallel-to-gpu: ")
             << n << " parallel dimensions; a GPU grid has three";
    order.append(rest.begin(), rest.end());

    SmallVector<int64_t> tile(n, 1);
    if (auto fixed = par->getAttrOfType<DenseI64ArrayAttr>("circ.gpu.block")) {
      if (fixed.size() != 3 || fixed[0] * fixed[1] * fixed[2] > 1024 ||
          llvm::any_of(fixed.asArrayRef(), [](int64_t v) { return v < 1; }))
        return par.emitError("circ.gpu.block must be three positive sizes "
                             "with at most 1024 threads in all");
      for (unsigned i = 0; i < n; ++i)
        tile[order[i]] = fixed[i];
    } else {
      int64_t budget = blockThreads;
      for (unsigned i = 0; i < n; ++i) {
        std::optional<int64_t> extent = staticExtent(par, order[i]);
        tile[order[i]] = i == 0 ? chooseBlockX(extent, budget)
                                : chooseBlockYZ(extent, budget);
        budget /= tile[order[i]];
      }
    }

    // tileParallelLoop erases `par`.
    MLIRContext *ctx = par.getContext();
    auto [outer, inner] =
        scf::tileParallelLoop(par, tile, /*noMinMaxBounds=*/true);
    AffineMap id = AffineMap::getMultiDimIdentityMap(1, ctx);
    auto mapping = [&](scf::ParallelOp loop, bool threads) {
      SmallVector<gpu::ParallelLoopDimMappingAttr> dims(n);
      for (unsigned i = 0; i < n; ++i) {
        auto proc = gpu::Processor(unsigned(threads ? gpu::Processor::ThreadX
                                                    : gpu::Processor::BlockX) +
                                   i);
        dims[order[i]] =
            gpu::ParallelLoopDimMappingAttr::get(ctx, proc, id, id);
      }
      return gpu::setMappingAttr(loop, dims);
    };
    if (failed(mapping(outer, false)) || failed(mapping(inner, true)))
      return par.emitError("circ-map-parallel-to-gpu: invalid mapping");
    // Nested parallel loops inside the kernel run sequentially per thread.
    AffineMap seq = id;
    inner.getBody()->walk([&](scf::ParallelOp nested) {
      SmallVector<gpu::ParallelLoopDimMappingAttr> dims(
          nested.getNumLoops(), gpu::ParallelLoopDimMappingAttr::get(
                                    ctx, gpu::Processor::Sequential, seq, seq));
      (void)gpu::setMappingAttr(nested, dims);
    });
    return success();
  }
};

} // namespace

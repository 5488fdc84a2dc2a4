//===- CircToLoops.cpp - the convert-circ-to-loops pass ---------*- C++ -*-===//
//
// The type conversion (tensors to memrefs, weights to their layout's
// buffers), the function-signature conversion that names expanded weight
// arguments, the legality rules and the pass that applies every op family's
// patterns.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Func/Transforms/FuncConversions.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace mlir::circ {
#define GEN_PASS_DEF_CONVERTCIRCTOLOOPS
#include "circ/Conversion/Passes.h.inc"
} // namespace mlir::circ

using namespace mlir;
using namespace mlir::circ;

//===----------------------------------------------------------------------===//
// Types
//===----------------------------------------------------------------------===//

ArrayRef<StringRef> mlir::circ::weightBufferNames(SparseLayout layout) {
  static const StringRef dense[] = {"dense"};
  static const StringRef csr[] = {"dense",   "row_ptr", "col_idx", "values",
                                  "col_ptr", "row_idx", "values_t"};
  static const StringRef ell[] = {"dense", "ell_idx", "ell_values"};
  switch (layout) {
  case SparseLayout::csr:
    return csr;
  case SparseLayout::ell:
    return ell;
  case SparseLayout::dense:
  case SparseLayout::bsr:
    break;
  }
  return dense;
}

/// The buffers of a weight [N, K] with the given encoding.
static LogicalResult weightBufferTypes(RankedTensorType type,
                                      SparsityAttr sparsity,
                                      SmallVectorImpl<Type> &results) {
  MLIRContext *ctx = type.getContext();
  Type f32 = Float32Type::get(ctx), i32 = IntegerType::get(ctx, 32);
  results.push_back(MemRefType::get(type.getShape(), f32));
  if (type.getRank() != 2)
    return success(sparsity.getLayout() == SparseLayout::dense);
  int64_t n = type.getDimSize(0), k = type.getDimSize(1);
  auto plusOne = [](int64_t d) {
    return ShapedType::isDynamic(d) ? d : d + 1;
  };
  int64_t dyn = ShapedType::kDynamic;
  switch (sparsity.getLayout()) {
  case SparseLayout::dense:
    return success();
  case SparseLayout::csr:
    results.append({MemRefType::get({plusOne(n)}, i32),
                    MemRefType::get({dyn}, i32), MemRefType::get({dyn}, f32),
                    MemRefType::get({plusOne(k)}, i32),
                    MemRefType::get({dyn}, i32), MemRefType::get({dyn}, f32)});
    return success();
  case SparseLayout::ell: {
    if (sparsity.getAxis() == UnitAxis::none)
      return failure();
    int64_t units = sparsity.getAxis() == UnitAxis::rows ? n : k;
    results.append({MemRefType::get({units, dyn}, i32),
                    MemRefType::get({units, dyn}, f32)});
    return success();
  }
  case SparseLayout::bsr:
    return failure();
  }
  return failure();
}

CircTypeConverter::CircTypeConverter() {
  addConversion([](Type type) { return type; });
  addConversion([](RankedTensorType type, SmallVectorImpl<Type> &results)
                    -> std::optional<LogicalResult> {
    if (auto sparsity =
            dyn_cast_or_null<SparsityAttr>(type.getEncoding()))
      return weightBufferTypes(type, sparsity, results);
    if (type.getEncoding())
      return failure();
    results.push_back(MemRefType::get(type.getShape(), type.getElementType()));
    return success();
  });
}

//===----------------------------------------------------------------------===//
// Preconditions
//===----------------------------------------------------------------------===//

static LogicalResult checkType(Operation *op, Type type, StringRef what) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor) {
    if (isa<TensorType>(type))
      return op->emitError() << what << " has an unranked tensor type " << type
                             << "; the CPU kernels need ranked tensors";
    return success();
  }
  if (tensor.getRank() > 0 && tensor.isDynamicDim(tensor.getRank() - 1))
    return op->emitError() << what << " has a dynamic feature width (" << type
                           << "); the CPU kernels need a static last axis";
  auto sparsity = dyn_cast_or_null<SparsityAttr>(tensor.getEncoding());
  if (!sparsity) {
    if (tensor.getEncoding())
      return op->emitError() << what << " has an encoding that is not "
                             << "#circ.sparsity: " << type;
    return success();
  }
  if (sparsity.getLayout() == SparseLayout::bsr)
    return op->emitError() << what << " uses layout bsr, which has no CPU "
                           << "kernel; run circ-select-layouts or pick csr/ell";
  if (sparsity.getLayout() == SparseLayout::ell &&
      sparsity.getAxis() == UnitAxis::none)
    return op->emitError() << what << " uses layout ell with axis none; ELL "
                           << "stores a fixed count per unit, so it needs "
                           << "axis rows or cols";
  if (sparsity.getLayout() != SparseLayout::dense && tensor.getRank() != 2)
    return op->emitError() << what << " has a sparse layout but rank "
                           << tensor.getRank() << "; sparse weights are [N, K]";
  return success();
}

LogicalResult mlir::circ::verifyLoweringPreconditions(Operation *root) {
  WalkResult result = root->walk([&](Operation *op) {
    if (auto func = dyn_cast<func::FuncOp>(op)) {
      for (auto [i, type] : llvm::enumerate(func.getArgumentTypes()))
        if (failed(checkType(op, type, "argument #" + std::to_string(i))))
          return WalkResult::interrupt();
      return WalkResult::advance();
    }
    for (Value v : op->getResults())
      if (failed(checkType(op, v.getType(), "result")))
        return WalkResult::interrupt();
    return WalkResult::advance();
  });
  return failure(result.wasInterrupted());
}

//===----------------------------------------------------------------------===//
// Function signatures
//===----------------------------------------------------------------------===//

namespace {
/// Converts a function's signature; an argument that expands into several
/// buffers keeps its attributes on each buffer and gains `circ.buffer`.
struct FuncSignatureConversion : OpConversionPattern<func::FuncOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(func::FuncOp func, OpAdaptor,
                  ConversionPatternRewriter &rewriter) const override {
    const TypeConverter &converter = *getTypeConverter();
    FunctionType type = func.getFunctionType();
    TypeConverter::SignatureConversion signature(type.getNumInputs());
    SmallVector<Attribute> argAttrs;
    for (auto [i, argType] : llvm::enumerate(type.getInputs())) {
      SmallVector<Type> converted;
      if (failed(converter.convertType(argType, converted)))
        return rewriter.notifyMatchFailure(func, "unconvertible argument");
      signature.addInputs(i, converted);
      DictionaryAttr attrs = func.getArgAttrDict(i);
      auto tensor = dyn_cast<RankedTensorType>(argType);
      auto sparsity =
          tensor ? dyn_cast_or_null<SparsityAttr>(tensor.getEncoding())
                 : SparsityAttr();
      if (!sparsity) {
        argAttrs.push_back(attrs ? attrs : rewriter.getDictionaryAttr({}));
        continue;
      }
      for (StringRef name : weightBufferNames(sparsity.getLayout())) {
        NamedAttrList list(attrs);
        list.set("circ.buffer", rewriter.getStringAttr(name));
        argAttrs.push_back(list.getDictionary(getContext()));
      }
    }
    SmallVector<Type> results;
    if (failed(converter.convertTypes(type.getResults(), results)) ||
        results.size() != type.getNumResults())
      return rewriter.notifyMatchFailure(func, "unconvertible result");
    if (!func.isExternal() &&
        failed(rewriter.convertRegionTypes(&func.getBody(), converter,
                                           &signature)))
      return failure();
    rewriter.modifyOpInPlace(func, [&] {
      func.setType(rewriter.getFunctionType(signature.getConvertedTypes(),
                                            results));
      func.setAllArgAttrs(argAttrs);
    });
    return success();
  }
};
} // namespace

/// Turns the function's memref results into trailing output arguments
/// (attribute `circ.result = i`). A result that is a fresh allocation is
/// computed in place in the caller's buffer; anything else is copied.
static void resultsToOutputArguments(func::FuncOp func) {
  FunctionType type = func.getFunctionType();
  if (type.getNumResults() == 0)
    return;
  Block &entry = func.getBody().front();
  unsigned firstOutput = type.getNumInputs();
  Builder builder(func.getContext());
  for (auto [i, resultType] : llvm::enumerate(type.getResults())) {
    (void)func.insertArgument(
        firstOutput + i, resultType,
        builder.getDictionaryAttr(builder.getNamedAttr(
            "circ.result", builder.getI64IntegerAttr(i))),
        func.getLoc());
  }
  func.walk([&](func::ReturnOp ret) {
    OpBuilder b(ret);
    for (auto [i, value] : llvm::enumerate(ret.getOperands())) {
      Value output = entry.getArgument(firstOutput + i);
      auto alloc = value.getDefiningOp<memref::AllocOp>();
      if (alloc && alloc->getBlock() == &entry &&
          alloc.getType() == output.getType() &&
          llvm::count(ret.getOperands(), value) == 1) {
        alloc.replaceAllUsesWith(output);
        alloc.erase();
        continue;
      }
      memref::CopyOp::create(b, ret.getLoc(), value, output);
    }
    func::ReturnOp::create(b, ret.getLoc());
    ret.erase();
  });
  func.setType(FunctionType::get(func.getContext(),
                                 entry.getArgumentTypes(), {}));
}

//===----------------------------------------------------------------------===//
// Patterns, target, pass
//===----------------------------------------------------------------------===//

void mlir::circ::populateCircToLoopsPatterns(
    const TypeConverter &converter, RewritePatternSet &patterns,
    const CircToLoopsOptions &options) {
  MLIRContext *ctx = patterns.getContext();
  patterns.add<FuncSignatureConversion>(converter, ctx);
  populateReturnOpTypeConversionPattern(patterns, converter);
  populateCallOpTypeConversionPattern(patterns, converter);
  populateElementwiseLoweringPatterns(converter, patterns, options);
  populateNormalizationLoweringPatterns(converter, patterns, options);
  populateProjectionLoweringPatterns(converter, patterns, options);
  populateFusedProjectionLoweringPatterns(converter, patterns, options);
  populateActivationLoweringPatterns(converter, patterns, options);
  populateAttentionLoweringPatterns(converter, patterns, options);
  populateEmbeddingLoweringPatterns(converter, patterns, options);
  populateLossLoweringPatterns(converter, patterns, options);
  populateGradientLoweringPatterns(converter, patterns, options);
}

void mlir::circ::configureCircToLoopsTarget(ConversionTarget &target,
                                            const TypeConverter &converter) {
  target.addIllegalDialect<CircDialect>();
  target.addLegalDialect<arith::ArithDialect, math::MathDialect,
                         memref::MemRefDialect, scf::SCFDialect,
                         vector::VectorDialect>();
  // arith on tensors (splat constants, sums of logits or of gradients) is
  // lowered like the circ ops; on scalars and vectors it is the target.
  target.addDynamicallyLegalDialect<arith::ArithDialect>(
      [&](Operation *op) { return converter.isLegal(op); });
  target.addDynamicallyLegalOp<func::FuncOp>([&](func::FuncOp func) {
    return converter.isSignatureLegal(func.getFunctionType()) &&
           converter.isLegal(&func.getBody());
  });
  target.addDynamicallyLegalOp<func::ReturnOp, func::CallOp>(
      [&](Operation *op) { return converter.isLegal(op); });
  target.markUnknownOpDynamicallyLegal(
      [&](Operation *op) { return converter.isLegal(op); });
}

namespace {
struct ConvertCircToLoopsPass
    : circ::impl::ConvertCircToLoopsBase<ConvertCircToLoopsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (failed(verifyLoweringPreconditions(module)))
      return signalPassFailure();
    if (vectorWidth < 1 || !llvm::isPowerOf2_64(vectorWidth)) {
      module.emitError() << "vector-width must be a power of two, got "
                         << static_cast<int64_t>(vectorWidth);
      return signalPassFailure();
    }
    CircToLoopsOptions options;
    options.vectorWidth = vectorWidth;
    options.tileTokens = tileTokens;

    CircTypeConverter converter;
    ConversionTarget target(getContext());
    configureCircToLoopsTarget(target, converter);
    RewritePatternSet patterns(&getContext());
    populateCircToLoopsPatterns(converter, patterns, options);
    if (failed(applyFullConversion(module, target, std::move(patterns))))
      return signalPassFailure();
    for (auto func : module.getOps<func::FuncOp>())
      if (!func.isExternal())
        resultsToOutputArguments(func);
  }
};
} // namespace

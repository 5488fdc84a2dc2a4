//===- Differentiate.cpp - reverse-mode differentiation ---------*- C++ -*-===//
//
// `circ-differentiate`: clones a loss function into `@<func>_grad` and
// appends its backward pass, built from the ops' gradient rules
// (CircDifferentiableOpInterface) in reverse program order. Only "active"
// ops get a rule applied: those that depend on a differentiated parameter
// (varied) and whose results reach the loss (useful), so frozen weights and
// token-id arithmetic cost nothing.
//
//===----------------------------------------------------------------------===//

#include "dialects/Circ/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::circ {
#define GEN_PASS_DEF_CIRCDIFFERENTIATE
#include "dialects/Circ/Transforms/Passes.h.inc"
} // namespace mlir::circ

using namespace mlir;
using namespace mlir::circ;

/// Name of the result attribute naming the parameter a gradient belongs to.
static constexpr StringLiteral kGradAttrName = "circ.grad";

static bool isFloatTensor(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  return tensor && isa<FloatType>(tensor.getElementType());
}

/// Gradients have the value's shape, never its sparsity encoding.
static RankedTensorType gradType(Value v) {
  auto type = cast<RankedTensorType>(v.getType());
  return RankedTensorType::get(type.getShape(), type.getElementType());
}

static Value splat(OpBuilder &b, Location loc, RankedTensorType type,
                   double value) {
  auto attr = DenseElementsAttr::get(
      type, b.getFloatAttr(type.getElementType(), value));
  return arith::ConstantOp::create(b, loc, attr);
}

/// Whether two slices of one tensor share no element: on some axis with
/// static offsets, sizes and strides their index ranges do not meet.
static bool provablyDisjoint(tensor::ExtractSliceOp a,
                             tensor::ExtractSliceOp c) {
  ArrayRef<int64_t> offA = a.getStaticOffsets(), offC = c.getStaticOffsets();
  ArrayRef<int64_t> sizeA = a.getStaticSizes(), sizeC = c.getStaticSizes();
  ArrayRef<int64_t> strideA = a.getStaticStrides(),
                    strideC = c.getStaticStrides();
  for (size_t d = 0; d < offA.size(); ++d) {
    int64_t values[] = {offA[d],  offC[d],    sizeA[d],
                        sizeC[d], strideA[d], strideC[d]};
    if (llvm::any_of(values, ShapedType::isDynamic))
      continue;
    int64_t lastA = offA[d] + (sizeA[d] - 1) * strideA[d];
    int64_t lastC = offC[d] + (sizeC[d] - 1) * strideC[d];
    if (lastA < offC[d] || lastC < offA[d])
      return true;
  }
  return false;
}

namespace {

/// The gradient contributions of one value, summed when first read: whole
/// contributions (one per use) and slice contributions (one per
/// `tensor.extract_slice` of it).
struct Contributions {
  SmallVector<Value> whole;
  SmallVector<std::pair<tensor::ExtractSliceOp, Value>> slices;
};

/// Builds the backward pass of one function body.
class ReverseMode {
public:
  ReverseMode(Block &body, OpBuilder &builder) : body(body), b(builder) {}

  /// Differentiates the value returned by `ret` with respect to `wrt`;
  /// returns one gradient per entry of `wrt` or failure after an error.
  FailureOr<SmallVector<Value>> run(func::ReturnOp ret, ArrayRef<Value> wrt);

private:
  void analyse(Value loss, ArrayRef<Value> wrt);
  bool isActive(Operation *op) const;
  LogicalResult visit(Operation *op);
  void contribute(Value v, Value grad);
  /// The summed gradient of `v`, or null when nothing reached it.
  Value gradientOf(Value v);
  /// Sum of two gradients of equal type.
  Value add(Location loc, Value a, Value c);

  Block &body;
  OpBuilder &b;
  llvm::DenseSet<Value> varied, useful;
  llvm::MapVector<Value, Contributions> pending;
  llvm::DenseMap<Value, Value> done;
};

} // namespace

void ReverseMode::analyse(Value loss, ArrayRef<Value> wrt) {
  // Varied: depends on a differentiated parameter (forward sweep).
  varied.insert(wrt.begin(), wrt.end());
  for (Operation &op : body)
    if (llvm::any_of(op.getOperands(),
                     [&](Value v) { return varied.contains(v); }))
      for (Value r : op.getResults())
        if (isFloatTensor(r.getType()))
          varied.insert(r);
  // Useful: the loss depends on it (backward sweep).
  useful.insert(loss);
  for (Operation &op : llvm::reverse(body))
    if (llvm::any_of(op.getResults(),
                     [&](Value v) { return useful.contains(v); }))
      useful.insert(op.operand_begin(), op.operand_end());
}

bool ReverseMode::isActive(Operation *op) const {
  return llvm::any_of(op->getResults(), [&](Value r) {
    return varied.contains(r) && useful.contains(r);
  });
}

Value ReverseMode::add(Location loc, Value a, Value c) {
  return arith::AddFOp::create(b, loc, a, c);
}

void ReverseMode::contribute(Value v, Value grad) {
  assert(!done.count(v) && "gradient contributed after it was read");
  pending[v].whole.push_back(grad);
}

Value ReverseMode::gradientOf(Value v) {
  if (Value g = done.lookup(v))
    return g;
  auto it = pending.find(v);
  if (it == pending.end())
    return {};
  Contributions &c = it->second;
  Location loc = v.getLoc();
  Value sum;
  for (Value g : c.whole)
    sum = sum ? add(loc, sum, g) : g;
  // Slices go into zeros (or into the sum of the whole contributions). A
  // slot that may already hold a gradient is added to (extract, add,
  // insert); disjoint slots of a zero base, the q|k|v split, are written
  // directly.
  bool zeroBase = !sum;
  SmallVector<tensor::ExtractSliceOp> written;
  for (auto [slice, g] : c.slices) {
    Location sliceLoc = slice.getLoc();
    if (!sum)
      sum = splat(b, sliceLoc, gradType(v), 0.0);
    bool fresh = zeroBase && llvm::all_of(written, [&](auto other) {
                   return provablyDisjoint(slice, other);
                 });
    if (!fresh) {
      Value old = tensor::ExtractSliceOp::create(
          b, sliceLoc, cast<RankedTensorType>(g.getType()), sum,
          slice.getMixedOffsets(), slice.getMixedSizes(),
          slice.getMixedStrides());
      g = add(sliceLoc, old, g);
    }
    written.push_back(slice);
    sum = tensor::InsertSliceOp::create(
        b, sliceLoc, g, sum, slice.getMixedOffsets(), slice.getMixedSizes(),
        slice.getMixedStrides());
  }
  pending.erase(it);
  done[v] = sum;
  return sum;
}

LogicalResult ReverseMode::visit(Operation *op) {
  if (!isActive(op))
    return success();
  SmallVector<Value> resultGrads;
  for (Value r : op->getResults())
    resultGrads.push_back(isFloatTensor(r.getType()) ? gradientOf(r) : Value());
  // A result may reach the loss only through non-differentiable operands (an
  // index computed from it); then nothing flows back.
  if (llvm::all_of(resultGrads, [](Value g) { return !g; }))
    return success();
  // Rules get a gradient for every float result: zero where none arrived.
  for (auto [r, g] : llvm::zip(op->getResults(), resultGrads))
    if (!g && isFloatTensor(r.getType()))
      g = splat(b, op->getLoc(), gradType(r), 0.0);

  if (auto slice = dyn_cast<tensor::ExtractSliceOp>(op)) {
    if (varied.contains(slice.getSource()))
      pending[slice.getSource()].slices.push_back({slice, resultGrads[0]});
    return success();
  }
  if (auto sum = dyn_cast<arith::AddFOp>(op)) { // the logits + bigram sum
    for (Value operand : sum->getOperands())
      if (varied.contains(operand))
        contribute(operand, resultGrads[0]);
    return success();
  }
  auto differentiable = dyn_cast<CircDifferentiableOpInterface>(op);
  if (!differentiable)
    return op->emitOpError() << "circ-differentiate: cannot differentiate '"
                             << op->getName() << "'";
  SmallVector<bool> wanted;
  for (Value operand : op->getOperands())
    wanted.push_back(varied.contains(operand) &&
                     isFloatTensor(operand.getType()));
  SmallVector<Value> operandGrads;
  if (failed(
          differentiable.buildGradients(b, resultGrads, wanted, operandGrads)))
    return failure();
  for (auto [operand, grad] : llvm::zip(op->getOperands(), operandGrads))
    if (grad)
      contribute(operand, grad);
  return success();
}

FailureOr<SmallVector<Value>> ReverseMode::run(func::ReturnOp ret,
                                               ArrayRef<Value> wrt) {
  Value loss = ret.getOperand(0);
  analyse(loss, wrt);
  b.setInsertionPoint(ret);
  SmallVector<Operation *> ops;
  for (Operation &op : body.without_terminator())
    ops.push_back(&op);
  if (varied.contains(loss))
    contribute(loss, splat(b, ret.getLoc(), gradType(loss), 1.0));
  for (Operation *op : llvm::reverse(ops))
    if (failed(visit(op)))
      return failure();
  SmallVector<Value> grads;
  for (Value arg : wrt) {
    Value g = gradientOf(arg);
    grads.push_back(g ? g : splat(b, ret.getLoc(), gradType(arg), 0.0));
  }
  return grads;
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

namespace {
struct CircDifferentiatePass
    : public circ::impl::CircDifferentiateBase<CircDifferentiatePass> {
  using Base::Base;

  void runOnOperation() override;

private:
  /// Whether the parameter named `name` is selected by the `params` option.
  bool selected(StringRef name, SmallVectorImpl<bool> &patternUsed) const;
};
} // namespace

bool CircDifferentiatePass::selected(StringRef name,
                                     SmallVectorImpl<bool> &patternUsed) const {
  if (params.empty())
    return true;
  bool any = false;
  for (auto [i, pattern] : llvm::enumerate(params)) {
    StringRef p(pattern);
    bool match = p.consume_back("*") ? name.starts_with(p) : name == p;
    if (match)
      patternUsed[i] = any = true;
  }
  return any;
}

void CircDifferentiatePass::runOnOperation() {
  ModuleOp module = getOperation();
  auto func = module.lookupSymbol<func::FuncOp>(funcName);
  if (!func) {
    module.emitError() << "circ-differentiate: no function named '" << funcName
                       << "' to differentiate";
    return signalPassFailure();
  }
  std::string gradName = funcName + "_grad";
  if (Operation *clash = module.lookupSymbol(gradName)) {
    clash->emitError() << "circ-differentiate: '" << gradName
                       << "' already exists";
    return signalPassFailure();
  }
  if (func.isExternal() || !func.getBody().hasOneBlock()) {
    func.emitError() << "circ-differentiate: '" << funcName
                     << "' must have a body of exactly one block";
    return signalPassFailure();
  }
  auto ret = cast<func::ReturnOp>(func.getBody().front().getTerminator());
  auto scalar = RankedTensorType::get({}, Float32Type::get(&getContext()));
  if (ret.getNumOperands() != 1 || ret.getOperand(0).getType() != scalar) {
    func.emitError() << "circ-differentiate: '" << funcName
                     << "' must return exactly one tensor<f32> (the loss)";
    return signalPassFailure();
  }

  // The parameters to differentiate, in argument order.
  SmallVector<unsigned> wrtIndices;
  SmallVector<bool> patternUsed(params.size(), false);
  for (BlockArgument arg : func.getArguments()) {
    auto name = func.getArgAttrOfType<StringAttr>(arg.getArgNumber(),
                                                  CircDialect::kParamAttrName);
    if (name && isFloatTensor(arg.getType()) &&
        selected(name.getValue(), patternUsed))
      wrtIndices.push_back(arg.getArgNumber());
  }
  for (auto [used, pattern] : llvm::zip(patternUsed, params))
    if (!used) {
      func.emitError() << "circ-differentiate: no parameter of '" << funcName
                       << "' matches '" << pattern << "'";
      return signalPassFailure();
    }

  OpBuilder builder(func);
  builder.setInsertionPointAfter(func);
  auto gradFunc = cast<func::FuncOp>(builder.clone(*func));
  gradFunc.setSymName(gradName);
  Block &body = gradFunc.getBody().front();
  auto gradRet = cast<func::ReturnOp>(body.getTerminator());
  SmallVector<Value> wrt;
  for (unsigned i : wrtIndices)
    wrt.push_back(body.getArgument(i));

  ReverseMode reverse(body, builder);
  FailureOr<SmallVector<Value>> grads = reverse.run(gradRet, wrt);
  if (failed(grads)) {
    gradFunc.erase();
    return signalPassFailure();
  }

  SmallVector<Value> results{gradRet.getOperand(0)};
  llvm::append_range(results, *grads);
  builder.setInsertionPoint(gradRet);
  func::ReturnOp::create(builder, gradRet.getLoc(), results);
  gradRet.erase();

  SmallVector<Type> resultTypes;
  SmallVector<DictionaryAttr> resultAttrs{DictionaryAttr::get(&getContext())};
  for (Value v : results)
    resultTypes.push_back(v.getType());
  for (unsigned i : wrtIndices)
    resultAttrs.push_back(builder.getDictionaryAttr(builder.getNamedAttr(
        kGradAttrName, func.getArgAttr(i, CircDialect::kParamAttrName))));
  gradFunc.setFunctionType(
      builder.getFunctionType(gradFunc.getArgumentTypes(), resultTypes));
  gradFunc.setAllResultAttrs(resultAttrs);
}

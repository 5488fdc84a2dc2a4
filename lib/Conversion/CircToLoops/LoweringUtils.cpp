//===- LoweringUtils.cpp - building blocks of the circ kernels --*- C++ -*-===//
#include "LoweringUtils.h"

#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"

#include <limits>

using namespace mlir;
using namespace mlir::circ;

//===----------------------------------------------------------------------===//
// KernelBuilder: constants and arithmetic
//===----------------------------------------------------------------------===//

static bool isFloatLike(Value v) {
  return isa<FloatType>(getElementTypeOrSelf(v.getType()));
}

static bool isIndexLike(Value v) {
  return isa<IndexType>(getElementTypeOrSelf(v.getType()));
}

Value KernelBuilder::index(int64_t v) {
  return arith::ConstantIndexOp::create(*this, v);
}

Value KernelBuilder::f32(double v) {
  return arith::ConstantOp::create(*this, getF32FloatAttr(v));
}

Value KernelBuilder::i32(int64_t v) {
  return arith::ConstantOp::create(*this, getI32IntegerAttr(v));
}

Value KernelBuilder::i1(bool v) {
  return arith::ConstantOp::create(*this, getBoolAttr(v));
}

VectorType KernelBuilder::vecType(int64_t lanes, Type elt) {
  return VectorType::get({lanes}, elt ? elt : getF32Type());
}

Value KernelBuilder::splat(Value scalar, int64_t lanes) {
  return vector::BroadcastOp::create(*this, vecType(lanes, scalar.getType()),
                                     scalar);
}

Value KernelBuilder::splat(double v, int64_t lanes) {
  return arith::ConstantOp::create(
      *this, DenseElementsAttr::get(vecType(lanes),
                                    getF32FloatAttr(v).getValue()));
}

static arith::FastMathFlagsAttr contractFlags(MLIRContext *ctx) {
  return arith::FastMathFlagsAttr::get(ctx, arith::FastMathFlags::contract);
}

Value KernelBuilder::add(Value a, Value b) {
  if (isFloatLike(a))
    return arith::AddFOp::create(*this, a, b, contractFlags(getContext()));
  return createOrFold<arith::AddIOp>(a, b);
}

Value KernelBuilder::sub(Value a, Value b) {
  if (isFloatLike(a))
    return arith::SubFOp::create(*this, a, b, contractFlags(getContext()));
  return createOrFold<arith::SubIOp>(a, b);
}

Value KernelBuilder::mul(Value a, Value b) {
  if (isFloatLike(a))
    return arith::MulFOp::create(*this, a, b, contractFlags(getContext()));
  return createOrFold<arith::MulIOp>(a, b);
}

Value KernelBuilder::div(Value a, Value b) {
  if (isFloatLike(a))
    return arith::DivFOp::create(*this, a, b, contractFlags(getContext()));
  return createOrFold<arith::DivUIOp>(a, b);
}

Value KernelBuilder::rem(Value a, Value b) {
  return createOrFold<arith::RemUIOp>(a, b);
}

Value KernelBuilder::min(Value a, Value b) {
  if (isFloatLike(a))
    return select(cmp(Cmp::lt, a, b), a, b);
  return createOrFold<arith::MinSIOp>(a, b);
}

Value KernelBuilder::max(Value a, Value b) {
  if (isFloatLike(a))
    return select(cmp(Cmp::gt, a, b), a, b);
  return createOrFold<arith::MaxSIOp>(a, b);
}

Value KernelBuilder::neg(Value a) { return arith::NegFOp::create(*this, a); }

Value KernelBuilder::fma(Value a, Value b, Value c) {
  if (isa<VectorType>(a.getType()))
    return vector::FMAOp::create(*this, a, b, c);
  return math::FmaOp::create(*this, a, b, c);
}

Value KernelBuilder::abs(Value a) { return math::AbsFOp::create(*this, a); }
Value KernelBuilder::exp(Value a) { return math::ExpOp::create(*this, a); }
Value KernelBuilder::erf(Value a) { return math::ErfOp::create(*this, a); }
Value KernelBuilder::sqrt(Value a) { return math::SqrtOp::create(*this, a); }
Value KernelBuilder::log(Value a) { return math::LogOp::create(*this, a); }

Value KernelBuilder::cmp(Cmp pred, Value a, Value b) {
  if (isFloatLike(a)) {
    static const arith::CmpFPredicate fp[] = {
        arith::CmpFPredicate::OLT, arith::CmpFPredicate::OLE,
        arith::CmpFPredicate::OGT, arith::CmpFPredicate::OGE,
        arith::CmpFPredicate::OEQ, arith::CmpFPredicate::UNE};
    return arith::CmpFOp::create(*this, fp[static_cast<int>(pred)], a, b);
  }
  static const arith::CmpIPredicate ip[] = {
      arith::CmpIPredicate::slt, arith::CmpIPredicate::sle,
      arith::CmpIPredicate::sgt, arith::CmpIPredicate::sge,
      arith::CmpIPredicate::eq,  arith::CmpIPredicate::ne};
  return arith::CmpIOp::create(*this, ip[static_cast<int>(pred)], a, b);
}

Value KernelBuilder::select(Value cond, Value a, Value b) {
  return arith::SelectOp::create(*this, cond, a, b);
}

Value KernelBuilder::andi(Value a, Value b) {
  return arith::AndIOp::create(*this, a, b);
}

Value KernelBuilder::ori(Value a, Value b) {
  return arith::OrIOp::create(*this, a, b);
}

Value KernelBuilder::reduce(Reduce kind, Value vector) {
  bool isFloat = isFloatLike(vector);
  vector::CombiningKind k = vector::CombiningKind::ADD;
  if (kind == Reduce::max)
    k = isFloat ? vector::CombiningKind::MAXNUMF : vector::CombiningKind::MAXSI;
  else if (kind == Reduce::min)
    k = isFloat ? vector::CombiningKind::MINNUMF : vector::CombiningKind::MINSI;
  return vector::ReductionOp::create(*this, k, vector,
                                     arith::FastMathFlags::reassoc |
                                         arith::FastMathFlags::contract);
}

//===----------------------------------------------------------------------===//
// KernelBuilder: casts and memory
//===----------------------------------------------------------------------===//

Value KernelBuilder::toIndex(Value integer) {
  if (isIndexLike(integer))
    return integer;
  return arith::IndexCastOp::create(*this, getIndexType(), integer);
}

Value KernelBuilder::toI32(Value index) {
  if (!isIndexLike(index))
    return index;
  return arith::IndexCastOp::create(*this, getI32Type(), index);
}

Value KernelBuilder::toF32(Value v) {
  if (isIndexLike(v))
    v = arith::IndexCastOp::create(*this, getI64Type(), v);
  return arith::SIToFPOp::create(*this, getF32Type(), v);
}

Value KernelBuilder::bitsOf(Value f) {
  Type t = getI32Type();
  if (auto vt = dyn_cast<VectorType>(f.getType()))
    t = VectorType::get(vt.getShape(), t);
  return arith::BitcastOp::create(*this, t, f);
}

Value KernelBuilder::floatOf(Value bits) {
  Type t = getF32Type();
  if (auto vt = dyn_cast<VectorType>(bits.getType()))
    t = VectorType::get(vt.getShape(), t);
  return arith::BitcastOp::create(*this, t, bits);
}

Value KernelBuilder::load(Value memref, ValueRange indices) {
  return memref::LoadOp::create(*this, memref, indices);
}

void KernelBuilder::store(Value value, Value memref, ValueRange indices) {
  memref::StoreOp::create(*this, value, memref, indices);
}

Value KernelBuilder::vload(int64_t lanes, Value memref, ValueRange indices,
                           Value mask, Value passthru) {
  Type elt = cast<MemRefType>(memref.getType()).getElementType();
  VectorType type = vecType(lanes, elt);
  if (!mask)
    return vector::LoadOp::create(*this, type, memref, indices);
  if (!passthru)
    passthru = arith::ConstantOp::create(
        *this, type, cast<TypedAttr>(getZeroAttr(type)));
  return vector::MaskedLoadOp::create(*this, type, memref, indices, mask,
                                      passthru);
}

void KernelBuilder::vstore(Value value, Value memref, ValueRange indices,
                           Value mask) {
  if (!mask) {
    vector::StoreOp::create(*this, value, memref, indices);
    return;
  }
  vector::MaskedStoreOp::create(*this, memref, indices, mask, value);
}

Value KernelBuilder::dim(Value memref, int64_t axis) {
  auto type = cast<MemRefType>(memref.getType());
  if (!type.isDynamicDim(axis))
    return index(type.getDimSize(axis));
  return memref::DimOp::create(*this, memref, axis);
}

Value KernelBuilder::alloc(MemRefType type, ValueRange dynamicSizes) {
  return memref::AllocOp::create(*this, type, dynamicSizes,
                                 getI64IntegerAttr(64));
}

Value KernelBuilder::stackAlloc(MemRefType type, ValueRange dynamicSizes) {
  return memref::AllocaOp::create(*this, type, dynamicSizes,
                                  getI64IntegerAttr(64));
}

Value KernelBuilder::rows(Value memref2d, Value offset, Value size) {
  SmallVector<OpFoldResult> offsets = {offset, getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes = {size, dim(memref2d, 1)};
  SmallVector<OpFoldResult> strides = {getIndexAttr(1), getIndexAttr(1)};
  return memref::SubViewOp::create(*this, memref2d, offsets, sizes, strides);
}

//===----------------------------------------------------------------------===//
// KernelBuilder: control flow
//===----------------------------------------------------------------------===//

void KernelBuilder::forLoop(Value lb, Value ub, Value step, BodyFn body) {
  int64_t width = vectorWidth;
  scf::ForOp::create(*this, lb, ub, step, ValueRange{},
                     [&](OpBuilder &nested, Location loc, Value iv,
                         ValueRange) {
                       KernelBuilder kb(loc, nested, width);
                       body(kb, iv);
                       scf::YieldOp::create(kb);
                     });
}

SmallVector<Value> KernelBuilder::forLoop(Value lb, Value ub, Value step,
                                          ValueRange inits, IterBodyFn body) {
  int64_t width = vectorWidth;
  auto loop = scf::ForOp::create(
      *this, lb, ub, step, inits,
      [&](OpBuilder &nested, Location loc, Value iv, ValueRange iters) {
        KernelBuilder kb(loc, nested, width);
        SmallVector<Value> next = body(kb, iv, iters);
        scf::YieldOp::create(kb, next);
      });
  return SmallVector<Value>(loop.getResults());
}

void KernelBuilder::parallelFor(ValueRange lbs, ValueRange ubs,
                                ValueRange steps, ParallelBodyFn body) {
  int64_t width = vectorWidth;
  scf::ParallelOp::create(*this, lbs, ubs, steps,
                          [&](OpBuilder &nested, Location loc, ValueRange ivs) {
                            KernelBuilder kb(loc, nested, width);
                            body(kb, ivs);
                          });
}

void KernelBuilder::ifThen(Value cond,
                           function_ref<void(KernelBuilder &)> thenBody) {
  int64_t width = vectorWidth;
  scf::IfOp::create(*this, cond, [&](OpBuilder &nested, Location loc) {
    KernelBuilder kb(loc, nested, width);
    thenBody(kb);
    scf::YieldOp::create(kb);
  });
}

SmallVector<Value> KernelBuilder::ifThenElse(
    Value cond, TypeRange results,
    function_ref<SmallVector<Value>(KernelBuilder &)> thenBody,
    function_ref<SmallVector<Value>(KernelBuilder &)> elseBody) {
  auto op = scf::IfOp::create(*this, results, cond, /*withElseRegion=*/true);
  for (auto [region, fn] : {std::make_pair(&op.getThenRegion(), thenBody),
                            std::make_pair(&op.getElseRegion(), elseBody)}) {
    OpBuilder nested = OpBuilder::atBlockEnd(&region->front());
    KernelBuilder kb(getLoc(), nested, vectorWidth);
    // withElseRegion creates empty yields only for result-less ifs.
    if (!region->front().empty())
      kb.setInsertionPoint(region->front().getTerminator());
    SmallVector<Value> values = fn(kb);
    if (!region->front().empty())
      region->front().getTerminator()->erase();
    scf::YieldOp::create(kb, values);
  }
  return SmallVector<Value>(op.getResults());
}

Value KernelBuilder::laneMask(Value count, int64_t lanes) {
  return vector::CreateMaskOp::create(*this, vecType(lanes, getI1Type()),
                                      ValueRange{count});
}

void KernelBuilder::vectorLoop(Value n, VectorBodyFn body) {
  (void)vectorLoop(n, ValueRange{},
                   [&](KernelBuilder &b, Value iv, Value mask, ValueRange) {
                     body(b, iv, mask);
                     return SmallVector<Value>{};
                   });
}

SmallVector<Value> KernelBuilder::vectorLoop(Value n, ValueRange inits,
                                             VectorIterBodyFn body) {
  Value width = index(vectorWidth);
  Value full = sub(n, rem(n, width));
  SmallVector<Value> iters =
      forLoop(index(0), full, width, inits,
              [&](KernelBuilder &b, Value iv, ValueRange it) {
                return body(b, iv, Value(), it);
              });
  std::optional<int64_t> staticN = getConstantIntValue(n);
  if (staticN && *staticN % vectorWidth == 0)
    return iters;
  Value tail = sub(n, full);
  auto doTail = [&](KernelBuilder &b) {
    return body(b, full, b.laneMask(tail, vectorWidth), iters);
  };
  if (staticN)
    return doTail(*this);
  return ifThenElse(cmp(Cmp::gt, tail, index(0)), TypeRange(ValueRange(iters)),
                    doTail, [&](KernelBuilder &) {
                      return SmallVector<Value>(iters);
                    });
}

//===----------------------------------------------------------------------===//
// Math
//===----------------------------------------------------------------------===//

/// A constant of x's type (scalar or vector).
static Value constantLike(KernelBuilder &b, Value x, double v) {
  if (auto vt = dyn_cast<VectorType>(x.getType()))
    return b.splat(v, vt.getDimSize(0));
  return b.f32(v);
}

Value mlir::circ::emitNormalCdf(KernelBuilder &b, Value x) {
  static const double coefficients[] = {
      0.17087277,  -0.82215223, 1.48851587, -1.13520398, 0.27886807,
      -0.18628806, 0.09678418,  0.37409196, 1.00002368,  -1.26551223};
  auto c = [&](double v) { return constantLike(b, x, v); };
  Value z = b.mul(b.abs(x), c(M_SQRT1_2));
  Value t = b.div(c(1.0), b.fma(z, c(0.5), c(1.0)));
  Value poly = c(coefficients[0]);
  for (double coefficient : ArrayRef<double>(coefficients).drop_front())
    poly = b.fma(poly, t, c(coefficient));
  // hi must be the rounded product (no contraction into the subtraction
  // below) for hi + lo to equal z² exactly.
  Value hi = arith::MulFOp::create(b, z, z);
  Value lo = b.fma(z, z, b.neg(hi));
  // erfc(z) for z = |x|/√2 ≥ 0; e^{-lo} ≈ 1 - lo (|lo| ≤ ulp(z²)).
  Value erfcZ = b.mul(b.mul(t, b.exp(b.sub(poly, hi))), b.sub(c(1.0), lo));
  Value halfTail = b.mul(erfcZ, c(0.5));
  // Φ(x) = erfc(z)/2 for x < 0 and 1 − erfc(z)/2 otherwise.
  return b.select(b.cmp(Cmp::lt, x, c(0.0)), halfTail,
                  b.sub(c(1.0), halfTail));
}

Value mlir::circ::emitGelu(KernelBuilder &b, Value x) {
  return b.mul(x, emitNormalCdf(b, x));
}

Value mlir::circ::emitMaskGate(KernelBuilder &b, Value v, Value tau,
                               Value mean, Value col, Value mask) {
  auto vector = dyn_cast<VectorType>(v.getType());
  auto read = [&](Value buffer) {
    return vector ? b.vload(vector.getNumElements(), buffer, {col}, mask)
                  : b.load(buffer, {col});
  };
  Value zero = vector ? b.splat(0.0, vector.getNumElements()) : b.f32(0.0);
  Value keep = b.cmp(Cmp::ge, read(tau), zero);
  return b.select(keep, v, mean ? read(mean) : zero);
}

//===----------------------------------------------------------------------===//
// Buffers
//===----------------------------------------------------------------------===//

Value mlir::circ::emitRowLogSumExp(KernelBuilder &b, Value logits,
                                  Value row) {
  int64_t lanes = b.vectorWidth;
  Value width = b.dim(logits, 1);
  Value negInf = b.splat(-std::numeric_limits<double>::infinity(), lanes);
  Value maxV = b.vectorLoop(width, {negInf},
                            [&](KernelBuilder &b, Value col, Value mask,
                                ValueRange acc) -> SmallVector<Value> {
                              return {b.max(acc[0], b.vload(lanes, logits,
                                                            {row, col}, mask,
                                                            negInf))};
                            })[0];
  Value rowMax = b.reduce(Reduce::max, maxV);
  Value shift = b.splat(rowMax, lanes);
  // Masked-off lanes read -inf, whose exp is 0.
  Value sumV = b.vectorLoop(width, {b.splat(0.0, lanes)},
                            [&](KernelBuilder &b, Value col, Value mask,
                                ValueRange acc) -> SmallVector<Value> {
                              Value x = b.vload(lanes, logits, {row, col},
                                                mask, negInf);
                              return {b.add(acc[0], b.exp(b.sub(x, shift)))};
                            })[0];
  return b.add(rowMax, b.log(b.reduce(Reduce::add, sumV)));
}

Value mlir::circ::allocResult(KernelBuilder &b, RankedTensorType type,
                              Value shapeSource) {
  SmallVector<Value> dynamicSizes;
  for (int64_t i = 0, e = type.getRank(); i < e; ++i)
    if (type.isDynamicDim(i))
      dynamicSizes.push_back(b.dim(shapeSource, i));
  return b.alloc(MemRefType::get(type.getShape(), type.getElementType()),
                 dynamicSizes);
}

Value mlir::circ::flattenToRows(KernelBuilder &b, Value memref) {
  auto type = cast<MemRefType>(memref.getType());
  int64_t rank = type.getRank();
  if (rank == 2)
    return memref;
  if (rank == 1) {
    SmallVector<OpFoldResult> shape = {b.getIndexAttr(1),
                                       getAsOpFoldResult(b.dim(memref, 0))};
    auto resultType = MemRefType::get({1, type.getDimSize(0)},
                                      type.getElementType());
    return memref::ExpandShapeOp::create(b, resultType, memref,
                                         ArrayRef<ReassociationIndices>{{0, 1}},
                                         shape);
  }
  ReassociationIndices leading;
  for (int64_t i = 0; i < rank - 1; ++i)
    leading.push_back(i);
  return memref::CollapseShapeOp::create(
      b, memref, ArrayRef<ReassociationIndices>{leading, {rank - 1}});
}

Value mlir::circ::numElements(KernelBuilder &b, Value memref) {
  Value n = b.index(1);
  for (int64_t i = 0, e = cast<MemRefType>(memref.getType()).getRank(); i < e;
       ++i)
    n = b.mul(n, b.dim(memref, i));
  return n;
}

WeightBuffers WeightBuffers::get(RankedTensorType type, ValueRange converted) {
  WeightBuffers w;
  w.dense = converted.front();
  auto sparsity = dyn_cast_or_null<SparsityAttr>(type.getEncoding());
  if (!sparsity)
    return w;
  w.layout = sparsity.getLayout();
  w.axis = sparsity.getAxis();
  switch (w.layout) {
  case SparseLayout::csr:
    w.rowPtr = converted[1];
    w.colIdx = converted[2];
    w.values = converted[3];
    w.colPtr = converted[4];
    w.rowIdx = converted[5];
    w.valuesT = converted[6];
    break;
  case SparseLayout::ell:
    w.ellIdx = converted[1];
    w.ellValues = converted[2];
    break;
  case SparseLayout::dense:
  case SparseLayout::bsr:
    break;
  }
  return w;
}

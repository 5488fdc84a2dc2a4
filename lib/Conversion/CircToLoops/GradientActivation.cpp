//===- GradientActivation.cpp - gelu, abs_topk, mask_gate, rmsnorm grads --===//
//
// The backward kernels of the per-row and per-element ops. Row-local
// results (input gradients) are parallel over rows with vector loops along
// the width; per-channel results (gain, tau and mean gradients) are sums over
// rows, parallel over column chunks (see GradientUtils.h).
//
//===----------------------------------------------------------------------===//

#include "GradientUtils.h"

#include <cmath>

using namespace mlir;
using namespace mlir::circ;

namespace {

/// dx = dy · (Φ(x) + x · φ(x)), recomputed from the forward input.
struct GeluGradLowering : CircLoweringPattern<GeluGradOp> {
  using CircLoweringPattern::CircLoweringPattern;
  LogicalResult
  matchAndRewrite(GeluGradOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelBuilder b = kernelBuilder(op, rewriter);
    Value dy = flattenToRows(b, single(adaptor.getGrad()));
    Value x = flattenToRows(b, single(adaptor.getInput()));
    Value out = allocResult(b, op.getType(), single(adaptor.getGrad()));
    Value dx = flattenToRows(b, out);
    int64_t lanes = b.vectorWidth;
    Value width = b.dim(x, 1);
    b.parallelFor(
        b.index(0), b.dim(x, 0), b.index(1),
        [&](KernelBuilder &b, ValueRange ivs) {
          Value row = ivs[0];
          b.vectorLoop(width, [&](KernelBuilder &b, Value col, Value mask) {
            Value xv = b.vload(lanes, x, {row, col}, mask);
            Value g = b.vload(lanes, dy, {row, col}, mask);
            Value cdf = b.fma(b.erf(b.mul(xv, b.splat(M_SQRT1_2, lanes))),
                              b.splat(0.5, lanes), b.splat(0.5, lanes));
            Value pdf = b.mul(b.exp(b.mul(b.mul(xv, xv), b.splat(-0.5, lanes))),
                              b.splat(0.5 * M_2_SQRTPI * M_SQRT1_2, lanes));
            b.vstore(b.mul(g, b.fma(xv, pdf, cdf)), dx, {row, col}, mask);
          });
        });
    rewriter.replaceOp(op, out);
    return success();
  }
};

/// dx = dy on the entries AbsTopK kept, 0 elsewhere. The kept set comes from
/// the forward output: its nonzeros, plus, when a row has m < k of them, the
/// first k − m zero entries (the forward's ties-to-lower-index rule). That
/// second case needs a sequential scan; the common case is one vector pass.
struct AbsTopKGradLowering : CircLoweringPattern<AbsTopKGradOp> {
  using CircLoweringPattern::CircLoweringPattern;
  LogicalResult
  matchAndRewrite(AbsTopKGradOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelBuilder b = kernelBuilder(op, rewriter);
    Value dy = flattenToRows(b, single(adaptor.getGrad()));
    Value y = flattenToRows(b, single(adaptor.getOutput()));
    Value out = allocResult(b, op.getType(), single(adaptor.getGrad()));
    Value dx = flattenToRows(b, out);
    int64_t lanes = b.vectorWidth;
    Value width = b.dim(y, 1);
    Value k = b.i32(op.getK());
    b.parallelFor(
        b.index(0), b.dim(y, 0), b.index(1),
        [&](KernelBuilder &b, ValueRange ivs) {
          Value row = ivs[0];
          Value one = b.splat(b.i32(1), lanes), none = b.splat(b.i32(0), lanes);
          Value zero = b.splat(0.0, lanes);
          // Masked-off lanes read 0 and count as zeros: select on the mask.
          Value counts = b.vectorLoop(
              width, {none},
              [&](KernelBuilder &b, Value col, Value mask,
                  ValueRange acc) -> SmallVector<Value> {
                Value nz = b.cmp(Cmp::ne, b.vload(lanes, y, {row, col}, mask),
                                 zero);
                return {b.add(acc[0], b.select(nz, one, none))};
              })[0];
          Value zerosToKeep = b.sub(k, b.reduce(Reduce::add, counts));
          auto scan = [&](OpBuilder &nested, Location loc) {
            KernelBuilder b(loc, nested, lanes);
            b.forLoop(b.index(0), width, b.index(1), {zerosToKeep},
                      [&](KernelBuilder &b, Value col,
                          ValueRange left) -> SmallVector<Value> {
                        Value isZero =
                            b.cmp(Cmp::eq, b.load(y, {row, col}), b.f32(0.0));
                        Value takeZero = b.andi(
                            isZero, b.cmp(Cmp::gt, left[0], b.i32(0)));
                        Value keep = b.ori(
                            b.cmp(Cmp::eq, isZero, b.i1(false)), takeZero);
                        b.store(b.select(keep, b.load(dy, {row, col}),
                                         b.f32(0.0)),
                                dx, {row, col});
                        return {b.select(takeZero, b.sub(left[0], b.i32(1)),
                                         left[0])};
                      });
            scf::YieldOp::create(b);
          };
          auto vectorPass = [&](OpBuilder &nested, Location loc) {
            KernelBuilder b(loc, nested, lanes);
            b.vectorLoop(width, [&](KernelBuilder &b, Value col, Value mask) {
              Value nz =
                  b.cmp(Cmp::ne, b.vload(lanes, y, {row, col}, mask), zero);
              b.vstore(
                  b.select(nz, b.vload(lanes, dy, {row, col}, mask), zero),
                  dx, {row, col}, mask);
            });
            scf::YieldOp::create(b);
          };
          scf::IfOp::create(b, b.cmp(Cmp::gt, zerosToKeep, b.i32(0)), scan,
                            vectorPass);
        });
    rewriter.replaceOp(op, out);
    return success();
  }
};

/// One pass per column chunk over all rows: dx = m · dy, and the sums
/// Σ dy·(x − ablated) and Σ dy that the tau and mean gradients scale.
struct MaskGateGradLowering : CircLoweringPattern<MaskGateGradOp> {
  using CircLoweringPattern::CircLoweringPattern;
  LogicalResult
  matchAndRewrite(MaskGateGradOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelBuilder b = kernelBuilder(op, rewriter);
    Value dyIn = single(adaptor.getGrad());
    Value dy = flattenToRows(b, dyIn);
    Value x = flattenToRows(b, single(adaptor.getInput()));
    Value tau = single(adaptor.getTau());
    Value mean = op.getMean() ? single(adaptor.getMean()) : Value();
    Value dxOut = allocResult(b, op.getInputGrad().getType(), dyIn);
    Value dx = flattenToRows(b, dxOut);
    Value dtau = allocResult(b, op.getTauGrad().getType(), tau);
    Value dmean =
        mean ? allocResult(b, op.getMeanGrad().getType(), mean) : Value();
    int64_t lanes = b.vectorWidth;
    double temperature = op.getTemperature().convertToDouble();
    Value rows = b.dim(x, 0);
    parallelChunks(b, b.dim(x, 1), [&](KernelBuilder &b, Value col,
                                       Value mask) {
      Value zero = b.splat(0.0, lanes);
      Value t = b.vload(lanes, tau, {col}, mask);
      Value keep = b.cmp(Cmp::ge, t, zero);
      Value ablated = mean ? b.vload(lanes, mean, {col}, mask) : zero;
      SmallVector<Value> sums = b.forLoop(
          b.index(0), rows, b.index(1), {zero, zero},
          [&](KernelBuilder &b, Value row,
              ValueRange acc) -> SmallVector<Value> {
            Value g = b.vload(lanes, dy, {row, col}, mask);
            Value xv = b.vload(lanes, x, {row, col}, mask);
            b.vstore(b.select(keep, g, zero), dx, {row, col}, mask);
            return {b.fma(g, b.sub(xv, ablated), acc[0]), b.add(acc[1], g)};
          });
      // σ'(τ/T)/T with σ(u) = 1 / (1 + e^{−u}).
      Value invT = b.splat(1.0 / temperature, lanes);
      Value one = b.splat(1.0, lanes);
      Value sig = b.div(one, b.add(one, b.exp(b.neg(b.mul(t, invT)))));
      Value surrogate = b.mul(b.mul(sig, b.sub(one, sig)), invT);
      b.vstore(b.mul(sums[0], surrogate), dtau, {col}, mask);
      if (dmean)
        b.vstore(b.select(keep, zero, sums[1]), dmean, {col}, mask);
    });
    SmallVector<Value> results{dxOut, dtau};
    if (dmean)
      results.push_back(dmean);
    rewriter.replaceOp(op, results);
    return success();
  }
};

/// Per row, with r = sqrt(mean(x²) + ε) recomputed: dx = g·dy/r −
/// x·Σ(g·dy·x)/(D·r³). Then dgain[d] = Σ_rows dy·x/r, parallel over columns
/// from the 1/r each row stored.
struct RMSNormGradLowering : CircLoweringPattern<RMSNormGradOp> {
  using CircLoweringPattern::CircLoweringPattern;
  LogicalResult
  matchAndRewrite(RMSNormGradOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelBuilder b = kernelBuilder(op, rewriter);
    Value dyIn = single(adaptor.getGrad());
    Value dy = flattenToRows(b, dyIn);
    Value x = flattenToRows(b, single(adaptor.getInput()));
    Value gain = single(adaptor.getGain());
    Value dxOut = allocResult(b, op.getInputGrad().getType(), dyIn);
    Value dx = flattenToRows(b, dxOut);
    Value dgain = allocResult(b, op.getGainGrad().getType(), gain);
    int64_t lanes = b.vectorWidth;
    Value rows = b.dim(x, 0), width = b.dim(x, 1);
    Value invRms = b.alloc(MemRefType::get({ShapedType::kDynamic}, b.getF32Type()),
                           {rows});
    double epsilon = op.getEpsilon().convertToDouble();
    b.parallelFor(
        b.index(0), rows, b.index(1), [&](KernelBuilder &b, ValueRange ivs) {
          Value row = ivs[0];
          Value zero = b.splat(0.0, lanes);
          SmallVector<Value> sums = b.vectorLoop(
              width, {zero, zero},
              [&](KernelBuilder &b, Value col, Value mask,
                  ValueRange acc) -> SmallVector<Value> {
                Value xv = b.vload(lanes, x, {row, col}, mask);
                Value gdy = b.mul(b.vload(lanes, gain, {col}, mask),
                                  b.vload(lanes, dy, {row, col}, mask));
                return {b.fma(xv, xv, acc[0]), b.fma(gdy, xv, acc[1])};
              });
          Value widthF = b.toF32(width);
          Value inv = b.div(
              b.f32(1.0),
              b.sqrt(b.add(b.div(b.reduce(Reduce::add, sums[0]), widthF),
                           b.f32(epsilon))));
          b.store(inv, invRms, {row});
          Value coef = b.div(b.mul(b.reduce(Reduce::add, sums[1]),
                                   b.mul(inv, b.mul(inv, inv))),
                             widthF);
          Value invV = b.splat(inv, lanes), coefV = b.splat(coef, lanes);
          b.vectorLoop(width, [&](KernelBuilder &b, Value col, Value mask) {
            Value xv = b.vload(lanes, x, {row, col}, mask);
            Value gdy = b.mul(b.vload(lanes, gain, {col}, mask),
                              b.vload(lanes, dy, {row, col}, mask));
            b.vstore(b.sub(b.mul(gdy, invV), b.mul(xv, coefV)), dx,
                     {row, col}, mask);
          });
        });
    columnSums(b, rows, width, dgain,
               [&](KernelBuilder &b, Value row, Value col, Value mask) {
                 Value xv = b.vload(lanes, x, {row, col}, mask);
                 Value g = b.vload(lanes, dy, {row, col}, mask);
                 return b.mul(b.mul(g, xv),
                              b.splat(b.load(invRms, {row}), lanes));
               });
    rewriter.replaceOp(op, {dxOut, dgain});
    return success();
  }
};

} // namespace

void mlir::circ::populateGradientActivationLoweringPatterns(
    const TypeConverter &converter, RewritePatternSet &patterns,
    const CircToLoopsOptions &options) {
  patterns.add<GeluGradLowering, AbsTopKGradLowering, MaskGateGradLowering,
               RMSNormGradLowering>(converter, patterns.getContext(), options);
}

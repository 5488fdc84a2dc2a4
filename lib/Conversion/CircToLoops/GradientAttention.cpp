//===- GradientAttention.cpp - attention_grad, flash style ------*- C++ -*-===//
//
// The causal-attention gradient without a T × T matrix in memory. Per head:
//
//  1. rows i: the log-normaliser lse_i = log(e^{sink} + Σ_{j≤i} e^{s_ij})
//     (online max), D_i = dy_i · o_i, and the sink's share −a_sink,i · D_i;
//  2. rows i: dq_i = s · Σ_{j≤i} a_ij (dy_i · v_j − D_i) k_j;
//  3. columns j: dv_j = Σ_{i≥j} a_ij dy_i and dk_j = s · Σ_{i≥j} dS_ij q_i;
//  4. heads h: dsink_h = Σ_{b,i} −a_sink,i · D_i.
//
// with a_ij = exp(s_ij − lse_i) recomputed from q and k in 2 and 3, and
// s = 1/sqrt(d_head). Each parallel iteration owns its output rows, so
// there are no races and sums run in a fixed order. Work on row i of a
// causal triangle grows with i (or T − j), so iterations take rows in pairs
// (p, T − 1 − p) to balance the threads.
//
//===----------------------------------------------------------------------===//

#include "GradientUtils.h"

using namespace mlir;
using namespace mlir::circ;

namespace {

/// The views one attention gradient works on and the arithmetic on head
/// slices they share.
struct AttentionKernel {
  Value q, k, v, o, dy;    // [B, T, W]
  int64_t headDim;
  Value scale;             // f32 1/sqrt(d_head)

  /// Σ_c a[b, i, h·dh + c] · c[b, j, h·dh + c].
  Value dot(KernelBuilder &b, Value a, Value i, Value c, Value j, Value batch,
            Value head) const {
    int64_t lanes = b.vectorWidth;
    Value base = b.mul(head, b.index(headDim));
    Value sum = b.vectorLoop(
        b.index(headDim), {b.splat(0.0, lanes)},
        [&](KernelBuilder &b, Value col, Value mask,
            ValueRange acc) -> SmallVector<Value> {
          Value at = b.add(base, col);
          return {b.fma(b.vload(lanes, a, {batch, i, at}, mask),
                        b.vload(lanes, c, {batch, j, at}, mask), acc[0])};
        })[0];
    return b.reduce(Reduce::add, sum);
  }

  /// out[b, i, head slice] += factor · src[b, j, head slice].
  void axpy(KernelBuilder &b, Value factor, Value src, Value j, Value out,
            Value i, Value batch, Value head) const {
    int64_t lanes = b.vectorWidth;
    Value base = b.mul(head, b.index(headDim));
    Value f = b.splat(factor, lanes);
    b.vectorLoop(b.index(headDim), [&](KernelBuilder &b, Value col,
                                       Value mask) {
      Value at = b.add(base, col);
      Value acc = b.vload(lanes, out, {batch, i, at}, mask);
      b.vstore(b.fma(f, b.vload(lanes, src, {batch, j, at}, mask), acc), out,
               {batch, i, at}, mask);
    });
  }

  /// Scaled score s · q_i · k_j.
  Value score(KernelBuilder &b, Value i, Value j, Value batch,
              Value head) const {
    return b.mul(dot(b, q, i, k, j, batch, head), scale);
  }
};

/// parallel (b, h, p) over pairs p of rows {p, T − 1 − p}: body(b, batch,
/// head, row) once per row.
void parallelRowPairs(KernelBuilder &b, Value batches, Value heads,
                      Value seq,
                      function_ref<void(KernelBuilder &, Value, Value, Value)>
                          body) {
  Value pairs = b.div(b.add(seq, b.index(1)), b.index(2));
  b.parallelFor({b.index(0), b.index(0), b.index(0)}, {batches, heads, pairs},
                {b.index(1), b.index(1), b.index(1)},
                [&](KernelBuilder &b, ValueRange ivs) {
                  Value p = ivs[2];
                  body(b, ivs[0], ivs[1], p);
                  Value mirror = b.sub(b.sub(seq, b.index(1)), p);
                  b.ifThen(b.cmp(Cmp::ne, mirror, p), [&](KernelBuilder &b) {
                    body(b, ivs[0], ivs[1], mirror);
                  });
                });
}

struct AttentionGradLowering : CircLoweringPattern<AttentionGradOp> {
  using CircLoweringPattern::CircLoweringPattern;
  LogicalResult
  matchAndRewrite(AttentionGradOp op, OneToNOpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelBuilder b = kernelBuilder(op, rewriter);
    AttentionKernel kernel;
    kernel.q = single(adaptor.getQuery());
    kernel.k = single(adaptor.getKey());
    kernel.v = single(adaptor.getValue());
    kernel.o = single(adaptor.getOutput());
    kernel.dy = single(adaptor.getGrad());
    kernel.headDim = op.getHeadDim();
    kernel.scale = b.f32(1.0 / std::sqrt(static_cast<double>(kernel.headDim)));
    Value sink = op.getSink() ? single(adaptor.getSink()) : Value();
    Value q = kernel.q;
    RankedTensorType type = op.getQuery().getType();
    Value dq = allocZeroResult(b, type, q), dk = allocZeroResult(b, type, q),
          dv = allocZeroResult(b, type, q);
    Value batches = b.dim(q, 0), seq = b.dim(q, 1);
    auto numHeads = static_cast<int64_t>(op.getNumHeads());
    Value heads = b.index(numHeads);

    // Per-row statistics [B, H, T].
    auto rowStats = [&] {
      return b.alloc(MemRefType::get({ShapedType::kDynamic, numHeads,
                                      ShapedType::kDynamic},
                                     b.getF32Type()),
                     {batches, seq});
    };
    Value lse = rowStats(), delta = rowStats();
    Value sinkShare = sink ? rowStats() : Value();

    // 1. lse_i, D_i and the sink's share, by an online max over j ≤ i.
    parallelRowPairs(b, batches, heads, seq, [&](KernelBuilder &b, Value bi,
                                                 Value h, Value i) {
      Value s0 = kernel.score(b, i, b.index(0), bi, h);
      Value m0 = s0, l0 = b.f32(1.0);
      Value sinkLogit = sink ? b.load(sink, {h}) : Value();
      if (sink) {
        m0 = b.max(s0, sinkLogit);
        l0 = b.add(b.exp(b.sub(s0, m0)), b.exp(b.sub(sinkLogit, m0)));
      }
      SmallVector<Value> ml = b.forLoop(
          b.index(1), b.add(i, b.index(1)), b.index(1), {m0, l0},
          [&](KernelBuilder &b, Value j, ValueRange acc) -> SmallVector<Value> {
            Value s = kernel.score(b, i, j, bi, h);
            Value m = b.max(acc[0], s);
            Value l = b.add(b.mul(acc[1], b.exp(b.sub(acc[0], m))),
                            b.exp(b.sub(s, m)));
            return {m, l};
          });
      Value logZ = b.add(ml[0], b.log(ml[1]));
      b.store(logZ, lse, {bi, h, i});
      Value d = kernel.dot(b, kernel.dy, i, kernel.o, i, bi, h);
      b.store(d, delta, {bi, h, i});
      if (sink)
        b.store(b.neg(b.mul(b.exp(b.sub(sinkLogit, logZ)), d)), sinkShare,
                {bi, h, i});
    });

    // dS_ij / s is a_ij (dy_i · v_j − D_i); both loops below need it.
    auto weights = [&](KernelBuilder &b, Value bi, Value h, Value i,
                       Value j) -> std::pair<Value, Value> {
      Value a = b.exp(b.sub(kernel.score(b, i, j, bi, h),
                            b.load(lse, {bi, h, i})));
      Value dp = kernel.dot(b, kernel.dy, i, kernel.v, j, bi, h);
      return {a, b.mul(a, b.sub(dp, b.load(delta, {bi, h, i})))};
    };

    // 2. dq_i.
    parallelRowPairs(b, batches, heads, seq, [&](KernelBuilder &b, Value bi,
                                                 Value h, Value i) {
      b.forLoop(b.index(0), b.add(i, b.index(1)), b.index(1),
                [&](KernelBuilder &b, Value j) {
                  Value dS = weights(b, bi, h, i, j).second;
                  kernel.axpy(b, b.mul(dS, kernel.scale), kernel.k, j, dq, i,
                              bi, h);
                });
    });

    // 3. dk_j and dv_j.
    parallelRowPairs(b, batches, heads, seq, [&](KernelBuilder &b, Value bi,
                                                 Value h, Value j) {
      b.forLoop(j, seq, b.index(1), [&](KernelBuilder &b, Value i) {
        auto [a, dS] = weights(b, bi, h, i, j);
        kernel.axpy(b, a, kernel.dy, i, dv, j, bi, h);
        kernel.axpy(b, b.mul(dS, kernel.scale), kernel.q, i, dk, j, bi, h);
      });
    });

    SmallVector<Value> results{dq, dk, dv};
    // 4. dsink_h, one head per iteration.
    if (sink) {
      Value dsink = allocResult(b, op.getSinkGrad().getType(), sink);
      b.parallelFor(
          b.index(0), heads, b.index(1), [&](KernelBuilder &b, ValueRange ivs) {
            Value h = ivs[0];
            Value total = b.forLoop(
                b.index(0), batches, b.index(1), {b.f32(0.0)},
                [&](KernelBuilder &b, Value bi,
                    ValueRange acc) -> SmallVector<Value> {
                  return b.forLoop(
                      b.index(0), seq, b.index(1), {acc[0]},
                      [&](KernelBuilder &b, Value i,
                          ValueRange acc) -> SmallVector<Value> {
                        return {b.add(acc[0], b.load(sinkShare, {bi, h, i}))};
                      });
                })[0];
            b.store(total, dsink, {h});
          });
      results.push_back(dsink);
    }
    rewriter.replaceOp(op, results);
    return success();
  }
};

} // namespace

void mlir::circ::populateGradientAttentionLoweringPatterns(
    const TypeConverter &converter, RewritePatternSet &patterns,
    const CircToLoopsOptions &options) {
  patterns.add<AttentionGradLowering>(converter, patterns.getContext(),
                                      options);
}

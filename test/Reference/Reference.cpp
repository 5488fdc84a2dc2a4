//===- Reference.cpp - naive double-precision model (test oracle) ---------===//
#include "Reference/Reference.h"

#include "circ_runtime/Random.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace circ::reference {

namespace {

const Tensor &get(const Params &p, const std::string &name) {
  auto it = p.find(name);
  if (it == p.end())
    throw std::invalid_argument("reference: missing parameter '" + name + "'");
  return it->second;
}

const Gate *findGate(const Gates *gates, int64_t layer, NodeLocation loc) {
  if (!gates)
    return nullptr;
  auto it = gates->sites.find(nodeName(layer, loc));
  return it == gates->sites.end() ? nullptr : &it->second;
}

std::string layerName(int64_t l, const char *suffix) {
  return "h." + std::to_string(l) + "." + suffix;
}

void addInto(Tensor &dst, const Tensor &src) {
  for (size_t i = 0; i < dst.size(); ++i)
    dst[i] += src[i];
}

/// Columns [begin, begin + width) of a [rows, stride] tensor.
Tensor sliceCols(const Tensor &x, int64_t rows, int64_t stride, int64_t begin,
                 int64_t width) {
  Tensor out(rows * width);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < width; ++c)
      out[r * width + c] = x[r * stride + begin + c];
  return out;
}

NodeState nodeForward(const ModelConfig &config, int64_t layer,
                      NodeLocation loc, Tensor in, int64_t rows, int64_t width,
                      const Gates *gates) {
  NodeState s;
  s.width = width;
  s.in = std::move(in);
  Tensor kept = absTopK(s.in, rows, width, config.topK(loc, width), &s.kept);
  const Gate *g = findGate(gates, layer, loc);
  s.out = g ? applyGate(kept, rows, width, *g) : kept;
  return s;
}

/// Gradient w.r.t. the node's input; accumulates the gate's tau and mean
/// gradients when the node is gated.
Tensor nodeBackward(const NodeState &s, const Tensor &dOut, int64_t layer,
                    NodeLocation loc, const Gates *gates, Gradients &grads) {
  const int64_t width = s.width;
  const int64_t rows = static_cast<int64_t>(s.in.size()) / width;
  const Gate *g = findGate(gates, layer, loc);
  Tensor *dTau = nullptr, *dMean = nullptr;
  if (g) {
    std::string name = nodeName(layer, loc);
    dTau = &grads.tau[name];
    dMean = &grads.mean[name];
    dTau->assign(width, 0.0);
    dMean->assign(width, 0.0);
  }
  Tensor dIn(s.in.size(), 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < width; ++i) {
      const int64_t e = r * width + i;
      double d = dOut[e];
      if (g) {
        double m = g->maskAt(i);
        double topk = s.kept[e] ? s.in[e] : 0.0;
        (*dTau)[i] += d * (topk - g->mean[i]) *
                      gateSurrogate(g->tau[i], gates->temperature);
        (*dMean)[i] += d * (1.0 - m);
        d *= m;
      }
      dIn[e] = s.kept[e] ? d : 0.0;
    }
  return dIn;
}

/// dx, and accumulated dW, db, of y = x W^T + b.
Tensor linearBackward(const Tensor &x, int64_t rows, const Tensor &w,
                      int64_t out, int64_t in, const Tensor &dy, Tensor &dW,
                      Tensor *db) {
  Tensor dx(rows * in, 0.0);
  for (int64_t n = 0; n < rows; ++n)
    for (int64_t o = 0; o < out; ++o) {
      double d = dy[n * out + o];
      if (db)
        (*db)[o] += d;
      for (int64_t i = 0; i < in; ++i) {
        dx[n * in + i] += d * w[o * in + i];
        dW[o * in + i] += d * x[n * in + i];
      }
    }
  return dx;
}

/// dx, and accumulated dgain, of RMSNorm.
Tensor rmsNormBackward(const Tensor &x, int64_t rows, int64_t width,
                       const Tensor &gain, const Tensor &rms, const Tensor &dn,
                       Tensor &dGain) {
  Tensor dx(rows * width);
  for (int64_t n = 0; n < rows; ++n) {
    const double r = rms[n];
    double dot = 0.0;
    for (int64_t i = 0; i < width; ++i) {
      const int64_t e = n * width + i;
      dGain[i] += dn[e] * x[e] / r;
      dot += dn[e] * gain[i] * x[e];
    }
    for (int64_t i = 0; i < width; ++i) {
      const int64_t e = n * width + i;
      dx[e] = dn[e] * gain[i] / r - x[e] * dot / (width * r * r * r);
    }
  }
  return dx;
}

} // namespace

std::string nodeName(int64_t layer, NodeLocation loc) {
  return "h." + std::to_string(layer) + "." + nodeLocationName(loc);
}

//===----------------------------------------------------------------------===//
// Single operations
//===----------------------------------------------------------------------===//

Tensor linear(const Tensor &x, int64_t rows, const Tensor &w, int64_t out,
              int64_t in, const Tensor &b) {
  Tensor y(rows * out);
  for (int64_t n = 0; n < rows; ++n)
    for (int64_t o = 0; o < out; ++o) {
      double s = b.empty() ? 0.0 : b[o];
      for (int64_t i = 0; i < in; ++i)
        s += x[n * in + i] * w[o * in + i];
      y[n * out + o] = s;
    }
  return y;
}

Tensor rmsNorm(const Tensor &x, int64_t rows, int64_t width, const Tensor &gain,
               Tensor *rms) {
  Tensor y(rows * width);
  if (rms)
    rms->assign(rows, 0.0);
  for (int64_t n = 0; n < rows; ++n) {
    double ss = 0.0;
    for (int64_t i = 0; i < width; ++i)
      ss += x[n * width + i] * x[n * width + i];
    double r = std::sqrt(ss / width + kRmsNormEps);
    if (rms)
      (*rms)[n] = r;
    for (int64_t i = 0; i < width; ++i)
      y[n * width + i] = x[n * width + i] / r * gain[i];
  }
  return y;
}

Tensor absTopK(const Tensor &x, int64_t rows, int64_t width, int64_t k,
               std::vector<char> *kept) {
  Tensor y(x.size(), 0.0);
  std::vector<char> mask(x.size(), 0);
  std::vector<int64_t> order(width);
  for (int64_t n = 0; n < rows; ++n) {
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      double xa = std::fabs(x[n * width + a]), xb = std::fabs(x[n * width + b]);
      return xa != xb ? xa > xb : a < b;
    });
    for (int64_t j = 0; j < k; ++j) {
      mask[n * width + order[j]] = 1;
      y[n * width + order[j]] = x[n * width + order[j]];
    }
  }
  if (kept)
    *kept = std::move(mask);
  return y;
}

double gelu(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }

double geluGrad(double x) {
  const double pi = 3.14159265358979323846;
  double cdf = 0.5 * (1.0 + std::erf(x / std::sqrt(2.0)));
  double pdf = std::exp(-0.5 * x * x) / std::sqrt(2.0 * pi);
  return cdf + x * pdf;
}

Tensor attention(const Tensor &q, const Tensor &k, const Tensor &v,
                 int64_t batch, int64_t seqLen, int64_t heads, int64_t dHead,
                 const Tensor &sink, Tensor *probs, Tensor *sinkProb) {
  const int64_t width = heads * dHead, T = seqLen;
  const double scale = 1.0 / std::sqrt(static_cast<double>(dHead));
  Tensor y(batch * T * width, 0.0);
  if (probs)
    probs->assign(batch * heads * T * T, 0.0);
  if (sinkProb)
    sinkProb->assign(batch * heads * T, 0.0);
  std::vector<double> s(T);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < T; ++i) {
        const double *qi = &q[(b * T + i) * width + h * dHead];
        double mx = sink.empty() ? -INFINITY : sink[h];
        for (int64_t j = 0; j <= i; ++j) {
          const double *kj = &k[(b * T + j) * width + h * dHead];
          double dot = 0.0;
          for (int64_t c = 0; c < dHead; ++c)
            dot += qi[c] * kj[c];
          s[j] = dot * scale;
          mx = std::max(mx, s[j]);
        }
        double z = sink.empty() ? 0.0 : std::exp(sink[h] - mx);
        for (int64_t j = 0; j <= i; ++j)
          z += std::exp(s[j] - mx);
        for (int64_t j = 0; j <= i; ++j) {
          double a = std::exp(s[j] - mx) / z;
          if (probs)
            (*probs)[((b * heads + h) * T + i) * T + j] = a;
          for (int64_t c = 0; c < dHead; ++c)
            y[(b * T + i) * width + h * dHead + c] +=
                a * v[(b * T + j) * width + h * dHead + c];
        }
        if (sinkProb && !sink.empty())
          (*sinkProb)[(b * heads + h) * T + i] = std::exp(sink[h] - mx) / z;
      }
  return y;
}

Tensor applyGate(const Tensor &x, int64_t rows, int64_t width,
                 const Gate &gate) {
  Tensor y(x.size());
  for (int64_t n = 0; n < rows; ++n)
    for (int64_t i = 0; i < width; ++i) {
      double m = gate.maskAt(i);
      y[n * width + i] = m * x[n * width + i] + (1.0 - m) * gate.mean[i];
    }
  return y;
}

double gateSurrogate(double tau, double temperature) {
  double s = 1.0 / (1.0 + std::exp(-tau / temperature));
  return s * (1.0 - s) / temperature;
}

//===----------------------------------------------------------------------===//
// Parameters
//===----------------------------------------------------------------------===//

Params randomParams(const ModelConfig &config, uint64_t seed, double scale) {
  Params p;
  for (const ParamSpec &s : modelParameters(config)) {
    Tensor t(s.numel());
    uint64_t stream = rt::streamOf(s.name);
    for (int64_t i = 0; i < s.numel(); ++i) {
      double z = rt::normalAt(seed, stream, i);
      switch (s.kind) {
      case ParamKind::Gain:
        t[i] = 1.0 + 0.1 * z;
        break;
      case ParamKind::Bias:
      case ParamKind::Sink:
      case ParamKind::PositionalTable:
      case ParamKind::Bigram:
        t[i] = 0.1 * z;
        break;
      default:
        t[i] = scale * z;
      }
    }
    p[s.name] = std::move(t);
  }
  return p;
}

std::map<std::string, int64_t> sparsify(const ModelConfig &config,
                                        Params &params) {
  std::map<std::string, int64_t> keptCount;
  for (const ParamSpec &s : modelParameters(config)) {
    if (!s.isSparse())
      continue;
    Tensor &w = params.at(s.name);
    const int64_t n = s.numel(), rows = s.shape[0], cols = n / rows;
    bool embedding =
        s.kind == ParamKind::TokenEmbedding || s.kind == ParamKind::Unembedding;
    double density = embedding ? config.embedDensity : config.weightDensity;
    int64_t units = s.unitAxis == UnitAxis::Rows   ? rows
                    : s.unitAxis == UnitAxis::Cols ? cols
                                                   : 0;
    int64_t unitLen = s.unitAxis == UnitAxis::Rows ? cols : rows;
    int64_t budget = std::max<int64_t>(std::llround(density * n),
                                       std::min(config.minPerUnit * units, n));
    auto better = [&](int64_t a, int64_t b) {
      double x = std::fabs(w[a]), y = std::fabs(w[b]);
      return x != y ? x > y : a < b;
    };
    std::vector<char> keep(n, 0);
    int64_t forced = 0;
    for (int64_t u = 0; u < units; ++u) {
      std::vector<int64_t> members;
      for (int64_t j = 0; j < unitLen; ++j)
        members.push_back(s.unitAxis == UnitAxis::Rows ? u * cols + j
                                                       : j * cols + u);
      std::sort(members.begin(), members.end(), better);
      for (int64_t j = 0; j < std::min(config.minPerUnit, unitLen); ++j) {
        keep[members[j]] = 1;
        ++forced;
      }
    }
    std::vector<int64_t> rest;
    for (int64_t i = 0; i < n; ++i)
      if (!keep[i])
        rest.push_back(i);
    std::sort(rest.begin(), rest.end(), better);
    for (int64_t j = 0; j < budget - forced && j < (int64_t)rest.size(); ++j)
      keep[rest[j]] = 1;
    int64_t count = 0;
    for (int64_t i = 0; i < n; ++i) {
      if (!keep[i])
        w[i] = 0.0;
      count += keep[i];
    }
    keptCount[s.name] = count;
  }
  return keptCount;
}

Gates randomGates(const ModelConfig &config, uint64_t seed) {
  Gates g;
  for (int64_t l = 0; l < config.nLayer; ++l)
    for (int s = 0; s < kNumNodeLocations; ++s) {
      auto loc = static_cast<NodeLocation>(s);
      std::string name = nodeName(l, loc);
      int64_t width = config.siteWidth(loc);
      Gate gate;
      uint64_t stream = rt::streamOf(name);
      for (int64_t i = 0; i < width; ++i) {
        gate.tau.push_back(2.0 * rt::uniformAt(seed, stream, i) - 1.0);
        gate.mean.push_back(0.3 * rt::normalAt(seed, stream + 1, i));
      }
      g.sites[name] = std::move(gate);
    }
  return g;
}

//===----------------------------------------------------------------------===//
// Forward
//===----------------------------------------------------------------------===//

ForwardResult forward(const ModelConfig &config, const Params &params,
                      const std::vector<int64_t> &tokens, int64_t batch,
                      int64_t seqLen, const Gates *gates) {
  const int64_t D = config.dModel, H = config.nHead(), dh = config.dHead;
  const int64_t HD = H * dh, F = config.dMlp, V = config.vocab;
  const int64_t N = batch * seqLen;
  if (static_cast<int64_t>(tokens.size()) != N || seqLen > config.ctx)
    throw std::invalid_argument("reference: token count or length mismatch");
  ForwardResult r;
  r.batch = batch;
  r.seqLen = seqLen;
  r.tokens = tokens;

  const Tensor &wte = get(params, "wte.weight");
  Tensor x(N * D);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t d = 0; d < D; ++d) {
      x[n * D + d] = wte[tokens[n] * D + d];
      if (config.positionalTable)
        x[n * D + d] += get(params, "wpe.weight")[(n % seqLen) * D + d];
    }
  r.embedded = x;

  for (int64_t l = 0; l < config.nLayer; ++l) {
    LayerState s;
    auto P = [&](const char *suffix) -> const Tensor & {
      return get(params, layerName(l, suffix));
    };
    auto record = [&](const NodeState &node, NodeLocation loc) {
      r.nodes[nodeName(l, loc)] = node.out;
    };
    s.xIn = x;
    s.norm1 = rmsNorm(x, N, D, P("ln_1.weight"), &s.rms1);
    s.attnIn =
        nodeForward(config, l, NodeLocation::AttnIn, s.norm1, N, D, gates);
    Tensor qkv = linear(s.attnIn.out, N, P("attn.c_attn.weight"), 3 * HD, D,
                        P("attn.c_attn.bias"));
    s.q = nodeForward(config, l, NodeLocation::AttnQ,
                      sliceCols(qkv, N, 3 * HD, 0, HD), N, HD, gates);
    s.k = nodeForward(config, l, NodeLocation::AttnK,
                      sliceCols(qkv, N, 3 * HD, HD, HD), N, HD, gates);
    s.v = nodeForward(config, l, NodeLocation::AttnV,
                      sliceCols(qkv, N, 3 * HD, 2 * HD, HD), N, HD, gates);
    const Tensor noSink;
    s.y = attention(s.q.out, s.k.out, s.v.out, batch, seqLen, H, dh,
                    config.attentionSink ? P("attn.sink") : noSink, &s.probs,
                    &s.sinkProb);
    s.attnOut = nodeForward(
        config, l, NodeLocation::AttnOut,
        linear(s.y, N, P("attn.c_proj.weight"), D, HD, P("attn.c_proj.bias")),
        N, D, gates);
    for (int64_t e = 0; e < N * D; ++e)
      x[e] += s.attnOut.out[e];
    s.xMid = x;
    s.norm2 = rmsNorm(x, N, D, P("ln_2.weight"), &s.rms2);
    s.mlpIn = nodeForward(config, l, NodeLocation::MlpIn, s.norm2, N, D, gates);
    s.fc =
        linear(s.mlpIn.out, N, P("mlp.c_fc.weight"), F, D, P("mlp.c_fc.bias"));
    Tensor act(N * F);
    for (int64_t e = 0; e < N * F; ++e)
      act[e] = gelu(s.fc[e]);
    s.neuron =
        nodeForward(config, l, NodeLocation::MlpNeuron, act, N, F, gates);
    s.mlpOut = nodeForward(config, l, NodeLocation::MlpOut,
                           linear(s.neuron.out, N, P("mlp.c_proj.weight"), D, F,
                                  P("mlp.c_proj.bias")),
                           N, D, gates);
    for (int64_t e = 0; e < N * D; ++e)
      x[e] += s.mlpOut.out[e];
    record(s.attnIn, NodeLocation::AttnIn);
    record(s.q, NodeLocation::AttnQ);
    record(s.k, NodeLocation::AttnK);
    record(s.v, NodeLocation::AttnV);
    record(s.attnOut, NodeLocation::AttnOut);
    record(s.mlpIn, NodeLocation::MlpIn);
    record(s.neuron, NodeLocation::MlpNeuron);
    record(s.mlpOut, NodeLocation::MlpOut);
    r.layers.push_back(std::move(s));
  }

  r.xFinal = x;
  r.normF = rmsNorm(x, N, D, get(params, "ln_f.weight"), &r.rmsF);
  r.logits = linear(r.normF, N, get(params, "lm_head.weight"), V, D, {});
  if (config.bigramTable) {
    const Tensor &bigram = get(params, "bigram_table");
    for (int64_t n = 0; n < N; ++n)
      for (int64_t v = 0; v < V; ++v)
        r.logits[n * V + v] += bigram[tokens[n] * V + v];
  }
  return r;
}

//===----------------------------------------------------------------------===//
// Backward
//===----------------------------------------------------------------------===//

Gradients backward(const ModelConfig &config, const Params &params,
                   const ForwardResult &fwd, const Tensor &dLogits,
                   const Gates *gates) {
  const int64_t D = config.dModel, H = config.nHead(), dh = config.dHead;
  const int64_t HD = H * dh, F = config.dMlp, V = config.vocab;
  const int64_t B = fwd.batch, T = fwd.seqLen, N = B * T;
  const double scale = 1.0 / std::sqrt(static_cast<double>(dh));
  Gradients g;
  for (const auto &[name, value] : params)
    g.params[name].assign(value.size(), 0.0);
  auto G = [&](const std::string &name) -> Tensor & {
    return g.params.at(name);
  };

  if (config.bigramTable) {
    Tensor &dBigram = G("bigram_table");
    for (int64_t n = 0; n < N; ++n)
      for (int64_t v = 0; v < V; ++v)
        dBigram[fwd.tokens[n] * V + v] += dLogits[n * V + v];
  }
  Tensor dNorm = linearBackward(fwd.normF, N, get(params, "lm_head.weight"), V,
                                D, dLogits, G("lm_head.weight"), nullptr);
  Tensor dx = rmsNormBackward(fwd.xFinal, N, D, get(params, "ln_f.weight"),
                              fwd.rmsF, dNorm, G("ln_f.weight"));

  for (int64_t l = config.nLayer - 1; l >= 0; --l) {
    const LayerState &s = fwd.layers[l];
    auto P = [&](const char *suffix) -> const Tensor & {
      return get(params, layerName(l, suffix));
    };
    auto dP = [&](const char *suffix) -> Tensor & {
      return G(layerName(l, suffix));
    };
    // MLP block: x = xMid + mlpOut(...).
    Tensor dProj =
        nodeBackward(s.mlpOut, dx, l, NodeLocation::MlpOut, gates, g);
    Tensor dH =
        linearBackward(s.neuron.out, N, P("mlp.c_proj.weight"), D, F, dProj,
                       dP("mlp.c_proj.weight"), &dP("mlp.c_proj.bias"));
    Tensor dAct =
        nodeBackward(s.neuron, dH, l, NodeLocation::MlpNeuron, gates, g);
    for (int64_t e = 0; e < N * F; ++e)
      dAct[e] *= geluGrad(s.fc[e]);
    Tensor dIn =
        linearBackward(s.mlpIn.out, N, P("mlp.c_fc.weight"), F, D, dAct,
                       dP("mlp.c_fc.weight"), &dP("mlp.c_fc.bias"));
    Tensor dNorm2 =
        nodeBackward(s.mlpIn, dIn, l, NodeLocation::MlpIn, gates, g);
    addInto(dx, rmsNormBackward(s.xMid, N, D, P("ln_2.weight"), s.rms2, dNorm2,
                                dP("ln_2.weight")));

    // Attention block: xMid = xIn + attnOut(...).
    Tensor dO = nodeBackward(s.attnOut, dx, l, NodeLocation::AttnOut, gates, g);
    Tensor dY =
        linearBackward(s.y, N, P("attn.c_proj.weight"), D, HD, dO,
                       dP("attn.c_proj.weight"), &dP("attn.c_proj.bias"));
    Tensor dQ(N * HD, 0.0), dK(N * HD, 0.0), dV(N * HD, 0.0);
    Tensor *dSink = config.attentionSink ? &dP("attn.sink") : nullptr;
    const Tensor &q = s.q.out, &k = s.k.out, &v = s.v.out;
    std::vector<double> dA(T);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t i = 0; i < T; ++i) {
          const double *a = &s.probs[((b * H + h) * T + i) * T];
          const int64_t ri = (b * T + i) * HD + h * dh;
          double dot = 0.0;
          for (int64_t j = 0; j <= i; ++j) {
            const int64_t rj = (b * T + j) * HD + h * dh;
            dA[j] = 0.0;
            for (int64_t c = 0; c < dh; ++c) {
              dA[j] += dY[ri + c] * v[rj + c];
              dV[rj + c] += a[j] * dY[ri + c];
            }
            dot += a[j] * dA[j];
          }
          if (dSink)
            (*dSink)[h] -= s.sinkProb[(b * H + h) * T + i] * dot;
          for (int64_t j = 0; j <= i; ++j) {
            const int64_t rj = (b * T + j) * HD + h * dh;
            double ds = a[j] * (dA[j] - dot) * scale;
            for (int64_t c = 0; c < dh; ++c) {
              dQ[ri + c] += ds * k[rj + c];
              dK[rj + c] += ds * q[ri + c];
            }
          }
        }
    Tensor dQkv(N * 3 * HD);
    Tensor dq = nodeBackward(s.q, dQ, l, NodeLocation::AttnQ, gates, g);
    Tensor dk = nodeBackward(s.k, dK, l, NodeLocation::AttnK, gates, g);
    Tensor dv = nodeBackward(s.v, dV, l, NodeLocation::AttnV, gates, g);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = 0; c < HD; ++c) {
        dQkv[n * 3 * HD + c] = dq[n * HD + c];
        dQkv[n * 3 * HD + HD + c] = dk[n * HD + c];
        dQkv[n * 3 * HD + 2 * HD + c] = dv[n * HD + c];
      }
    Tensor dAttnIn =
        linearBackward(s.attnIn.out, N, P("attn.c_attn.weight"), 3 * HD, D,
                       dQkv, dP("attn.c_attn.weight"), &dP("attn.c_attn.bias"));
    Tensor dNorm1 =
        nodeBackward(s.attnIn, dAttnIn, l, NodeLocation::AttnIn, gates, g);
    addInto(dx, rmsNormBackward(s.xIn, N, D, P("ln_1.weight"), s.rms1, dNorm1,
                                dP("ln_1.weight")));
  }

  Tensor &dWte = G("wte.weight");
  for (int64_t n = 0; n < N; ++n)
    for (int64_t d = 0; d < D; ++d) {
      dWte[fwd.tokens[n] * D + d] += dx[n * D + d];
      if (config.positionalTable)
        G("wpe.weight")[(n % T) * D + d] += dx[n * D + d];
    }
  return g;
}

//===----------------------------------------------------------------------===//
// Losses
//===----------------------------------------------------------------------===//

std::vector<int64_t> nextTokenTargets(const std::vector<int64_t> &tokens,
                                      int64_t batch, int64_t seqLen) {
  std::vector<int64_t> targets(batch * seqLen, -1);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t + 1 < seqLen; ++t)
      targets[b * seqLen + t] = tokens[b * seqLen + t + 1];
  return targets;
}

double crossEntropy(const Tensor &logits, int64_t vocab,
                    const std::vector<int64_t> &targets, Tensor *dLogits) {
  const int64_t rows = static_cast<int64_t>(targets.size());
  int64_t count = 0;
  for (int64_t t : targets)
    count += t >= 0;
  if (dLogits)
    dLogits->assign(logits.size(), 0.0);
  double loss = 0.0;
  for (int64_t n = 0; n < rows; ++n) {
    if (targets[n] < 0)
      continue;
    const double *z = &logits[n * vocab];
    double mx = *std::max_element(z, z + vocab), sum = 0.0;
    for (int64_t v = 0; v < vocab; ++v)
      sum += std::exp(z[v] - mx);
    double logZ = mx + std::log(sum);
    loss += logZ - z[targets[n]];
    if (dLogits) {
      for (int64_t v = 0; v < vocab; ++v)
        (*dLogits)[n * vocab + v] = std::exp(z[v] - logZ) / count;
      (*dLogits)[n * vocab + targets[n]] -= 1.0 / count;
    }
  }
  return count ? loss / count : 0.0;
}

double contrastLoss(const Tensor &logits, int64_t seqLen, int64_t vocab,
                    const std::vector<ContrastPrompt> &prompts,
                    Tensor *dLogits) {
  if (dLogits)
    dLogits->assign(logits.size(), 0.0);
  const double count = static_cast<double>(prompts.size());
  double loss = 0.0;
  for (const ContrastPrompt &p : prompts) {
    const int64_t base = (p.row * seqLen + p.position) * vocab;
    double zc = logits[base + p.correct], zw = logits[base + p.wrong];
    double mx = std::max(zc, zw);
    double logZ = mx + std::log(std::exp(zc - mx) + std::exp(zw - mx));
    loss += logZ - zc;
    if (dLogits) {
      double pw = std::exp(zw - logZ);
      (*dLogits)[base + p.correct] -= pw / count;
      (*dLogits)[base + p.wrong] += pw / count;
    }
  }
  return prompts.empty() ? 0.0 : loss / count;
}

} // namespace circ::reference

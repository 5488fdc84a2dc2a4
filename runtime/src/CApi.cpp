//===- CApi.cpp - C ABI of the Circ runtime ---------------------*- C++ -*-===//
//
// Thin wrappers: an opaque handle is the C++ object itself. Every entry point
// catches whatever the C++ side could throw (only std::bad_alloc in practice)
// so that nothing unwinds into generated code.
//
//===----------------------------------------------------------------------===//
#include "circ_runtime/circ_runtime.h"

#include "circ_runtime/Optimizer.h"
#include "circ_runtime/ParamStore.h"
#include "circ_runtime/ThreadPool.h"

#include <exception>
#include <string>

using namespace circ;
using namespace circ::rt;

namespace {
thread_local std::string lastError;

void setError(std::string message) { lastError = std::move(message); }

// An optimizer handle also remembers its last step's figures.
struct OptimizerHandle {
  std::unique_ptr<Optimizer> opt;
  StepReport last;
};

ParamStore *unwrap(circrt_store *s) {
  return reinterpret_cast<ParamStore *>(s);
}
const ParamStore *unwrap(const circrt_store *s) {
  return reinterpret_cast<const ParamStore *>(s);
}
OptimizerHandle *unwrap(circrt_optimizer *o) {
  return reinterpret_cast<OptimizerHandle *>(o);
}
const OptimizerHandle *unwrap(const circrt_optimizer *o) {
  return reinterpret_cast<const OptimizerHandle *>(o);
}

bool valid(const circrt_store *s, int64_t i) {
  return s && i >= 0 && i < static_cast<int64_t>(unwrap(s)->size());
}

ModelConfig toModelConfig(const circrt_model_config &c) {
  ModelConfig m;
  m.nLayer = c.n_layer;
  m.dModel = c.d_model;
  m.dHead = c.d_head;
  m.dMlp = c.d_mlp;
  m.ctx = c.ctx;
  m.vocab = c.vocab;
  m.activationFraction = c.activation_fraction;
  m.abstopkSites = c.abstopk_sites;
  m.weightDensity = c.weight_density;
  m.embedDensity = c.embed_density;
  m.minPerUnit = c.min_per_unit;
  m.attentionSink = c.attention_sink != 0;
  m.bigramTable = c.bigram_table != 0;
  m.positionalTable = c.positional_table != 0;
  return m;
}

/// Runs fn, turning an escaping exception into `failure` and an error message.
template <typename R, typename Fn> R guarded(R failure, Fn &&fn) {
  try {
    return fn();
  } catch (const std::exception &e) {
    setError(std::string("circ runtime: ") + e.what());
  } catch (...) {
    setError("circ runtime: unknown failure");
  }
  return failure;
}
} // namespace

extern "C" {

const char *circrt_last_error(void) { return lastError.c_str(); }

void circrt_model_config_default(circrt_model_config *c) {
  ModelConfig m;
  c->n_layer = m.nLayer;
  c->d_model = m.dModel;
  c->d_head = m.dHead;
  c->d_mlp = m.dMlp;
  c->ctx = m.ctx;
  c->vocab = m.vocab;
  c->activation_fraction = m.activationFraction;
  c->abstopk_sites = m.abstopkSites;
  c->weight_density = m.weightDensity;
  c->embed_density = m.embedDensity;
  c->min_per_unit = m.minPerUnit;
  c->attention_sink = m.attentionSink;
  c->bigram_table = m.bigramTable;
  c->positional_table = m.positionalTable;
}

circrt_store *circrt_store_create(const circrt_model_config *config) {
  if (!config) {
    setError("circrt_store_create: null config");
    return nullptr;
  }
  return guarded<circrt_store *>(nullptr, [&]() -> circrt_store * {
    Expected<std::unique_ptr<ParamStore>> s =
        ParamStore::create(toModelConfig(*config));
    if (!s) {
      setError(s.message());
      return nullptr;
    }
    return reinterpret_cast<circrt_store *>(s->release());
  });
}

void circrt_store_destroy(circrt_store *store) { delete unwrap(store); }

int circrt_store_initialize(circrt_store *store, uint64_t seed) {
  return guarded<int>(1, [&] {
    if (Error e = unwrap(store)->initialize(seed)) {
      setError(e.message());
      return 1;
    }
    return 0;
  });
}

void circrt_store_zero_grads(circrt_store *store) {
  unwrap(store)->zeroGrads();
}

int circrt_store_rebuild_indices(circrt_store *store) {
  return guarded<int>(1, [&] {
    if (Error e = unwrap(store)->rebuildIndices(ThreadPool::global())) {
      setError(e.message());
      return 1;
    }
    return 0;
  });
}

int64_t circrt_store_num_params(const circrt_store *store) {
  return static_cast<int64_t>(unwrap(store)->size());
}

int64_t circrt_store_find(const circrt_store *store, const char *name) {
  if (!store || !name)
    return -1;
  std::optional<size_t> i = unwrap(store)->find(name);
  return i ? static_cast<int64_t>(*i) : -1;
}

const char *circrt_param_name(const circrt_store *store, int64_t i) {
  return valid(store, i) ? unwrap(store)->spec(i).name.c_str() : nullptr;
}

int64_t circrt_param_numel(const circrt_store *store, int64_t i) {
  return valid(store, i) ? unwrap(store)->numel(i) : 0;
}

int64_t circrt_param_rank(const circrt_store *store, int64_t i) {
  return valid(store, i)
             ? static_cast<int64_t>(unwrap(store)->spec(i).shape.size())
             : -1;
}

int64_t circrt_param_dim(const circrt_store *store, int64_t i, int64_t d) {
  if (!valid(store, i))
    return -1;
  const std::vector<int64_t> &shape = unwrap(store)->spec(i).shape;
  return d >= 0 && d < static_cast<int64_t>(shape.size()) ? shape[d] : -1;
}

float *circrt_param_values(circrt_store *s, int64_t i) {
  return valid(s, i) ? unwrap(s)->values(i) : nullptr;
}
float *circrt_param_grads(circrt_store *s, int64_t i) {
  return valid(s, i) ? unwrap(s)->grads(i) : nullptr;
}
float *circrt_param_adam_m(circrt_store *s, int64_t i) {
  return valid(s, i) ? unwrap(s)->adamM(i) : nullptr;
}
float *circrt_param_adam_v(circrt_store *s, int64_t i) {
  return valid(s, i) ? unwrap(s)->adamV(i) : nullptr;
}

static const SparseIndex *indexOf(const circrt_store *s, int64_t i) {
  return valid(s, i) ? unwrap(s)->index(i) : nullptr;
}

int circrt_param_is_sparse(const circrt_store *s, int64_t i) {
  return indexOf(s, i) != nullptr;
}
int64_t circrt_index_nnz(const circrt_store *s, int64_t i) {
  const SparseIndex *x = indexOf(s, i);
  return x ? x->nnz() : 0;
}
const int32_t *circrt_index_csr_row_ptr(const circrt_store *s, int64_t i) {
  const SparseIndex *x = indexOf(s, i);
  return x ? x->rowPtr.data() : nullptr;
}
const int32_t *circrt_index_csr_col_idx(const circrt_store *s, int64_t i) {
  const SparseIndex *x = indexOf(s, i);
  return x ? x->colIdx.data() : nullptr;
}
const float *circrt_index_csr_values(const circrt_store *s, int64_t i) {
  const SparseIndex *x = indexOf(s, i);
  return x ? x->rowValues.data() : nullptr;
}
const int32_t *circrt_index_csc_col_ptr(const circrt_store *s, int64_t i) {
  const SparseIndex *x = indexOf(s, i);
  return x ? x->colPtr.data() : nullptr;
}
const int32_t *circrt_index_csc_row_idx(const circrt_store *s, int64_t i) {
  const SparseIndex *x = indexOf(s, i);
  return x ? x->rowIdx.data() : nullptr;
}
const float *circrt_index_csc_values(const circrt_store *s, int64_t i) {
  const SparseIndex *x = indexOf(s, i);
  return x ? x->colValues.data() : nullptr;
}

void circrt_optimizer_config_default(circrt_optimizer_config *c,
                                     const circrt_model_config *model,
                                     int64_t totalSteps, double lr) {
  ModelConfig m;
  if (model)
    m = toModelConfig(*model);
  OptimizerConfig o = OptimizerConfig::forModel(m, totalSteps, lr);
  c->total_steps = o.schedule.totalSteps;
  c->lr = o.schedule.lr;
  c->warmup_fraction = o.schedule.warmupFraction;
  c->anneal_start = o.schedule.annealStart;
  c->anneal_end = o.schedule.annealEnd;
  c->weight_density = o.schedule.weightDensity;
  c->embed_density = o.schedule.embedDensity;
  c->sharkfin = o.schedule.sharkfin;
  c->beta1 = o.beta1;
  c->beta2 = o.beta2;
  c->eps = o.eps;
  c->weight_decay = o.weightDecay;
  c->grad_rms_eps = o.gradRmsEps;
  c->min_per_unit = o.minPerUnit;
  c->sparse_gradients = o.sparseGradients;
  c->regrow_every = o.regrowEvery;
  c->freeze_positional_table = o.freezePositionalTable;
}

circrt_optimizer *circrt_optimizer_create(circrt_store *store,
                                          const circrt_optimizer_config *c) {
  if (!store || !c) {
    setError("circrt_optimizer_create: null store or config");
    return nullptr;
  }
  return guarded<circrt_optimizer *>(nullptr, [&]() -> circrt_optimizer * {
    OptimizerConfig o;
    o.schedule.totalSteps = c->total_steps;
    o.schedule.lr = c->lr;
    o.schedule.warmupFraction = c->warmup_fraction;
    o.schedule.annealStart = c->anneal_start;
    o.schedule.annealEnd = c->anneal_end;
    o.schedule.weightDensity = c->weight_density;
    o.schedule.embedDensity = c->embed_density;
    o.schedule.sharkfin = c->sharkfin != 0;
    o.beta1 = c->beta1;
    o.beta2 = c->beta2;
    o.eps = c->eps;
    o.weightDecay = c->weight_decay;
    o.gradRmsEps = c->grad_rms_eps;
    o.minPerUnit = c->min_per_unit;
    o.sparseGradients = c->sparse_gradients != 0;
    o.regrowEvery = c->regrow_every;
    o.freezePositionalTable = c->freeze_positional_table != 0;
    Expected<std::unique_ptr<Optimizer>> opt =
        Optimizer::create(*unwrap(store), o);
    if (!opt) {
      setError(opt.message());
      return nullptr;
    }
    auto *h = new OptimizerHandle{std::move(*opt), StepReport()};
    return reinterpret_cast<circrt_optimizer *>(h);
  });
}

void circrt_optimizer_destroy(circrt_optimizer *opt) { delete unwrap(opt); }

int circrt_optimizer_needs_dense_grads(const circrt_optimizer *opt) {
  return unwrap(opt)->opt->needsDenseGradients();
}

int circrt_optimizer_step(circrt_optimizer *opt) {
  return guarded<int>(1, [&] {
    OptimizerHandle *h = unwrap(opt);
    Expected<StepReport> r = h->opt->step();
    if (!r) {
      setError(r.message());
      return 1;
    }
    h->last = *r;
    return 0;
  });
}

int64_t circrt_optimizer_steps_taken(const circrt_optimizer *opt) {
  return unwrap(opt)->opt->stepsTaken();
}
void circrt_optimizer_set_steps_taken(circrt_optimizer *opt, int64_t steps) {
  unwrap(opt)->opt->setStepsTaken(steps);
}
double circrt_optimizer_last_lr(const circrt_optimizer *opt) {
  return unwrap(opt)->last.lr;
}
double circrt_optimizer_last_grad_rms(const circrt_optimizer *opt) {
  return unwrap(opt)->last.gradRms;
}
int64_t circrt_optimizer_last_nonzeros(const circrt_optimizer *opt) {
  return unwrap(opt)->last.nonzeros;
}

} // extern "C"

/*===- circ_runtime.h - C ABI of the Circ runtime -----------------*- C -*-===*\
|*                                                                            *|
|* What generated code (JIT or object files) and non-C++ hosts call. Opaque   *|
|* handles, plain C types, no exceptions: a function that can fail returns 0  *|
|* on success (or a non-null pointer) and leaves a message for                *|
|* circrt_last_error() on the calling thread.                                 *|
|*                                                                            *|
|* A store holds every parameter of a model as dense fp32 arrays (values,     *|
|* gradients, Adam m and v; 64-byte aligned) and, for sparse parameters, the  *|
|* sparse index of the nonzeros: CSR (row_ptr[rows+1], col_idx[nnz],         *|
|* values[nnz]) for the forward product and CSC (col_ptr[cols+1],             *|
|* row_idx[nnz], values[nnz]) for the input gradient, int32 positions,        *|
|* rebuilt by every optimizer step. Index pointers stay valid until the next  *|
|* step or index rebuild.                                                     *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/
#ifndef CIRC_RUNTIME_CIRC_RUNTIME_H
#define CIRC_RUNTIME_CIRC_RUNTIME_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct circrt_store circrt_store;
typedef struct circrt_optimizer circrt_optimizer;

/* The last failure's message on this thread ("" if none). */
const char *circrt_last_error(void);

/*--- Model description (mirrors circ::ModelConfig) ------------------------*/
typedef struct circrt_model_config {
  int64_t n_layer, d_model, d_head, d_mlp, ctx, vocab;
  double activation_fraction;
  uint8_t abstopk_sites; /* bit i = node location i (attn_in = 0 ...) */
  double weight_density, embed_density;
  int64_t min_per_unit;
  int32_t attention_sink, bigram_table, positional_table; /* booleans */
} circrt_model_config;

/* ModelConfig's defaults. */
void circrt_model_config_default(circrt_model_config *config);

/*--- Parameter store ------------------------------------------------------*/
/* All arrays zero; NULL if the config is invalid or memory runs out. */
circrt_store *circrt_store_create(const circrt_model_config *config);
void circrt_store_destroy(circrt_store *store);
/* Paper initialisation from `seed` (deterministic for any thread count);
 * zeroes gradients and moments, rebuilds the indices. */
int circrt_store_initialize(circrt_store *store, uint64_t seed);
void circrt_store_zero_grads(circrt_store *store);
/* Rebuilds every sparse index from the nonzero values (after loading or
 * writing weights directly). */
int circrt_store_rebuild_indices(circrt_store *store);

int64_t circrt_store_num_params(const circrt_store *store);
/* Position of the parameter called `name`, or -1. */
int64_t circrt_store_find(const circrt_store *store, const char *name);

/* Parameter i (0 <= i < num_params; out-of-range i gives NULL / 0 / -1). */
const char *circrt_param_name(const circrt_store *store, int64_t i);
int64_t circrt_param_numel(const circrt_store *store, int64_t i);
int64_t circrt_param_rank(const circrt_store *store, int64_t i);
int64_t circrt_param_dim(const circrt_store *store, int64_t i, int64_t d);
float *circrt_param_values(circrt_store *store, int64_t i);
float *circrt_param_grads(circrt_store *store, int64_t i);
float *circrt_param_adam_m(circrt_store *store, int64_t i);
float *circrt_param_adam_v(circrt_store *store, int64_t i);

/* Sparse index of parameter i; 0 / NULL for a dense parameter. */
int circrt_param_is_sparse(const circrt_store *store, int64_t i);
int64_t circrt_index_nnz(const circrt_store *store, int64_t i);
const int32_t *circrt_index_csr_row_ptr(const circrt_store *store, int64_t i);
const int32_t *circrt_index_csr_col_idx(const circrt_store *store, int64_t i);
const float *circrt_index_csr_values(const circrt_store *store, int64_t i);
const int32_t *circrt_index_csc_col_ptr(const circrt_store *store, int64_t i);
const int32_t *circrt_index_csc_row_idx(const circrt_store *store, int64_t i);
const float *circrt_index_csc_values(const circrt_store *store, int64_t i);

/*--- Optimizer (mirrors circ::rt::OptimizerConfig) ------------------------*/
typedef struct circrt_optimizer_config {
  int64_t total_steps;
  double lr, warmup_fraction, anneal_start, anneal_end;
  double weight_density, embed_density; /* final densities */
  int32_t sharkfin;                     /* boolean */
  double beta1, beta2, eps, weight_decay, grad_rms_eps;
  int64_t min_per_unit;
  int32_t sparse_gradients; /* boolean; NOT the paper, see docs/training.md */
  int64_t regrow_every;
  int32_t freeze_positional_table; /* boolean */
} circrt_optimizer_config;

/* Paper defaults for a model trained `total_steps` steps at peak LR `lr`. */
void circrt_optimizer_config_default(circrt_optimizer_config *config,
                                     const circrt_model_config *model,
                                     int64_t total_steps, double lr);
/* NULL if the config is invalid. The store must outlive the optimizer. */
circrt_optimizer *circrt_optimizer_create(circrt_store *store,
                                          const circrt_optimizer_config *cfg);
void circrt_optimizer_destroy(circrt_optimizer *opt);
/* 1 if the next step reads every gradient entry; 0 if (sparse-gradient mode)
 * only the entries in each sparse parameter's index are read. */
int circrt_optimizer_needs_dense_grads(const circrt_optimizer *opt);
/* One step: RMS-normalise, Adam, top-k projection, weight decay, index
 * rebuild (paper §2.2). Gradients are left unmodified. */
int circrt_optimizer_step(circrt_optimizer *opt);
int64_t circrt_optimizer_steps_taken(const circrt_optimizer *opt);
void circrt_optimizer_set_steps_taken(circrt_optimizer *opt, int64_t steps);
/* Figures of the last step (0 before the first). */
double circrt_optimizer_last_lr(const circrt_optimizer *opt);
double circrt_optimizer_last_grad_rms(const circrt_optimizer *opt);
int64_t circrt_optimizer_last_nonzeros(const circrt_optimizer *opt);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* CIRC_RUNTIME_CIRC_RUNTIME_H */

/* Internal to the training loop (rt_train.c, rt_evaluate.c, rt_checkpoint.c): moving batches and
 * scalars into a compiled graph's io region and reading its outputs, following the model ABI
 * (frontend/fe_lower.h): attention targets are symbol ids + 2 followed by end tokens (go 0,
 * end 1), CTC targets symbol ids + 1 (blank 0); padding rows have target_len -1. */
#ifndef SMELT_RT_TRAIN_IO_H
#define SMELT_RT_TRAIN_IO_H

#include "runtime/rt_charset.h"
#include "runtime/rt_loader.h"
#include "runtime/rt_metrics.h"
#include "runtime/rt_model.h"
#include "runtime/rt_results.h"

enum { RT_GO = 0, RT_END = 1, RT_BLANK = 0 };

/* Copies images, targets and lengths of b into g's io; padding rows get target_len -1. */
void rt_io_put_batch(const RtModel *m, const RtGraphBin *g, void *io, const RtBatch *b);
/* Sets a scalar input (f32 or i32 by its slot); absent inputs are skipped. */
void rt_io_put_scalar(const RtGraphBin *g, void *io, const char *name, double v);

/* The loss hyperparameters, runtime scalars of both the training and the evaluation step (so
 * that val_loss is the training loss's formula on validation data). */
typedef struct RtLossScalars {
  double label_smoothing, focal_gamma, focal_alpha;
} RtLossScalars;
void rt_io_put_loss_scalars(const RtGraphBin *g, void *io, const RtLossScalars *s);
/* Reads output `name` (f32[]); NaN when absent. */
double rt_io_get_scalar(const RtGraphBin *g, const void *io, const char *name);
/* Adds the greedy predictions of g's `pred` output for the real rows of b to metrics. When
 * predicted is not NULL, predicted[sample] also receives each row's prediction as text in charset
 * cs, '?' for a class the charset does not use (malloc'd; replaces and frees what was there). */
void rt_io_score_batch(const RtModel *m, const RtGraphBin *g, const void *io, const RtBatch *b,
                       RtSeqMetrics *metrics, char **predicted, const RtCharset *cs);
/* CTC heads: adds to *blanks the time steps of b's real rows (padding rows left out) whose
 * greedy class in g's `pred` output is the blank, and to *steps all their time steps. */
void rt_io_count_blanks(const RtGraphBin *g, const void *io, const RtBatch *b, int64_t *blanks, int64_t *steps);

/* Attention heads: where the greedy decoder looks while it reads each label symbol, from g's
 * `attention` output (B, S, T). For every real row r and step t < its label length: the largest
 * weight (peak_sum, steps), and for t >= 1 whether that weight's time step lies right of step
 * t - 1's (forward, pairs). rt_io_attention_stats returns false (and adds nothing) when g has no
 * such output (CTC heads, graphs built before it existed). */
typedef struct RtAttentionStats {
  double peak_sum;
  int64_t steps, forward, pairs;
} RtAttentionStats;
bool rt_io_attention_stats(const RtGraphBin *g, const void *io, const RtBatch *b, RtAttentionStats *s);

/* The training step's per-layer gradient norms (RT_SLOT_GRAD_SQ outputs), summed over steps. */
typedef struct RtGradNorms {
  int n_layers;                  /* outputs found, 0 when the step has none */
  int n;                         /* entries: n_layers, or RT_GRAD_LAYERS_MAX when more (the last
                                  * one then sums the rest, named RT_GRAD_LAYERS_REST) */
  const RtSlot **slots;          /* (n_layers) malloc'ed */
  RtLayerNorm sum[RT_GRAD_LAYERS_MAX]; /* (n) sum over steps of each entry's L2 norm */
  double total;                  /* sum over steps of the global L2 norm */
  int64_t steps;
} RtGradNorms;

/* Finds g's layer-norm outputs; free with rt_grad_norms_free. */
void rt_grad_norms_init(RtGradNorms *n, const RtGraphBin *g);
void rt_grad_norms_free(RtGradNorms *n);
/* Starts an epoch: the sums back to zero. */
void rt_grad_norms_reset(RtGradNorms *n);
/* Adds the step just run (its outputs in io). */
void rt_grad_norms_add(RtGradNorms *n, const void *io);
/* The epoch's means into e (grad_norm entries and grad_norm_total); nothing without steps or
 * layers. */
void rt_grad_norms_mean(const RtGradNorms *n, RtEpochMetrics *e);

/* Weight of a batch's loss in an average over batches: the positions its loss averages over
 * (attention: symbols + end tokens of the real rows; ctc: real rows). */
double rt_io_loss_weight(const RtModel *m, const RtBatch *b);

#endif

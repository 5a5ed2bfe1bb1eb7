/* Validation through the compiled evaluation step (rt_train.h: rt_evaluate): the loss under
 * teacher forcing, averaged over the positions each batch's loss covers, the greedy predictions
 * scored against the labels (sequence and character accuracy, CER), and the plateau diagnostics:
 * for CTC heads the share of time steps predicted blank (a model stuck on all-blank output sits
 * near 1), for attention heads how sharply and in which order the decoder attends. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/rt_loader.h"
#include "runtime/rt_train.h"
#include "runtime/rt_train_io.h"
#include "support/rt_assert.h"

bool rt_evaluate(const RtModel *m, void *state, const RtDataset *ds, const RtLossScalars *loss, RtEpochMetrics *out,
                 char **predicted, void *shared_scratch, RtDiags *d) {
  const RtGraphBin *g = &m->eval;
  void *io = rt_region_alloc_named(g->io_bytes, "the evaluation step's inputs and outputs");
  void *scratch = shared_scratch ? shared_scratch
                                 : rt_region_alloc_named(g->scratch_bytes, "the evaluation step's scratch memory");
  rt_io_put_loss_scalars(g, io, loss);
  RtLoaderOptions lo = {.batch_size = m->batch, .label_width = m->max_len, .seed = 0, .shuffle = false};
  RtLoader *l = rt_loader_new(ds, &lo);
  rt_loader_start_epoch(l, 0);
  RtSeqMetrics metrics = {0};
  double loss_sum = 0, weight = 0;
  int64_t blanks = 0, steps = 0;
  RtAttentionStats att = {0};
  for (const RtBatch *b; (b = rt_loader_next(l));) {
    rt_io_put_batch(m, g, io, b);
    g->step(state, io, scratch);
    double w = rt_io_loss_weight(m, b);
    loss_sum += w * rt_io_get_scalar(g, io, "loss");
    weight += w;
    rt_io_score_batch(m, g, io, b, &metrics, predicted, &ds->charset);
    if (m->head == RT_HEAD_CTC) rt_io_count_blanks(g, io, b, &blanks, &steps);
    else rt_io_attention_stats(g, io, b, &att);
  }
  rt_loader_free(l);
  free(io);
  if (!shared_scratch) free(scratch);
  out->v[RT_METRIC_VAL_LOSS] = weight > 0 ? loss_sum / weight : NAN;
  out->v[RT_METRIC_VAL_CHAR_ACC] = rt_seq_metrics_char_acc(&metrics);
  out->v[RT_METRIC_VAL_SEQ_ACC] = rt_seq_metrics_seq_acc(&metrics);
  out->v[RT_METRIC_VAL_CER] = rt_seq_metrics_cer(&metrics);
  out->v[RT_METRIC_VAL_BLANK_RATE] = steps > 0 ? (double)blanks / (double)steps : NAN;
  out->v[RT_METRIC_VAL_ATTENTION_PEAK] = att.steps > 0 ? att.peak_sum / (double)att.steps : NAN;
  out->v[RT_METRIC_VAL_ATTENTION_FORWARD] = att.pairs > 0 ? (double)att.forward / (double)att.pairs : NAN;
  (void)d;
  return true;
}

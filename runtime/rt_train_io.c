/* Batches and scalars into io regions, predictions out (rt_train_io.h). */
#include "runtime/rt_train_io.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/rt_assert.h"

static void *at(void *io, const RtSlot *s) { return (char *)io + s->offset; }

void rt_io_put_batch(const RtModel *m, const RtGraphBin *g, void *io, const RtBatch *b) {
  const RtSlot *image = rt_graph_slot(g, "image"), *target = rt_graph_slot(g, "target");
  const RtSlot *len = rt_graph_slot(g, "target_len");
  RT_ASSERT(image && b->capacity == m->batch, "batch of %d for a model compiled for %d", b->capacity, m->batch);
  RT_ASSERT(rt_slot_numel(image) == (int64_t)b->capacity * b->height * b->width, "image size mismatch");
  memcpy(at(io, image), b->images, (size_t)rt_slot_numel(image) * sizeof(float));
  if (!target) return;
  int width = (int)target->dims[1];
  int32_t *t = at(io, target), *l = at(io, len);
  for (int r = 0; r < b->capacity; r++) {
    const int32_t *ids = b->labels + (int64_t)r * b->label_width;
    int n = r < b->size ? b->lengths[r] : -1;
    l[r] = n;
    for (int k = 0; k < width; k++) {
      if (m->head == RT_HEAD_ATTENTION) t[r * width + k] = k < n ? ids[k] + 2 : RT_END;
      else t[r * width + k] = k < n ? ids[k] + 1 : RT_BLANK;
    }
  }
}

void rt_io_put_scalar(const RtGraphBin *g, void *io, const char *name, double v) {
  const RtSlot *s = rt_graph_slot(g, name);
  if (!s) return;
  if (s->dtype == RT_F32) *(float *)at(io, s) = (float)v;
  else *(int32_t *)at(io, s) = (int32_t)v;
}

void rt_io_put_loss_scalars(const RtGraphBin *g, void *io, const RtLossScalars *s) {
  rt_io_put_scalar(g, io, "label_smoothing", s->label_smoothing);
  rt_io_put_scalar(g, io, "focal_gamma", s->focal_gamma);
  rt_io_put_scalar(g, io, "focal_alpha", s->focal_alpha);
}

double rt_io_get_scalar(const RtGraphBin *g, const void *io, const char *name) {
  const RtSlot *s = rt_graph_slot(g, name);
  return s ? (double)*(const float *)((const char *)io + s->offset) : NAN;
}

/* Symbol ids as text; a class beyond the charset (a head with room for more symbols) as '?'. */
static char *prediction_text(const RtCharset *cs, const int32_t *ids, int64_t n) {
  char *text = rt_xmalloc((size_t)n * 4 + 1), *o = text; /* UTF-8: at most 4 bytes a symbol */
  for (int64_t k = 0; k < n; k++)
    if (ids[k] >= 0 && ids[k] < cs->size) o += rt_utf8_encode(cs->cps[ids[k]], o);
    else *o++ = '?';
  *o = '\0';
  return text;
}

void rt_io_score_batch(const RtModel *m, const RtGraphBin *g, const void *io, const RtBatch *b,
                       RtSeqMetrics *metrics, char **predicted, const RtCharset *cs) {
  const RtSlot *pred = rt_graph_slot(g, "pred");
  RT_ASSERT(pred, "the evaluation graph has no pred output");
  int width = (int)pred->dims[1];
  const int32_t *p = (const int32_t *)((const char *)io + pred->offset);
  int32_t *decoded = rt_xmalloc((size_t)width * sizeof *decoded); /* a row decodes to at most width symbols */
  for (int r = 0; r < b->size; r++) {
    int64_t n = m->head == RT_HEAD_ATTENTION ? rt_decode_attention(p + (int64_t)r * width, width, RT_END, decoded)
                                              : rt_decode_ctc_greedy(p + (int64_t)r * width, width, RT_BLANK, decoded);
    int32_t shift = m->head == RT_HEAD_ATTENTION ? 2 : 1; /* back to symbol ids */
    for (int64_t k = 0; k < n; k++) decoded[k] -= shift;
    rt_seq_metrics_add(metrics, decoded, n, b->labels + (int64_t)r * b->label_width, b->lengths[r]);
    if (predicted && b->samples[r] >= 0) {
      free(predicted[b->samples[r]]);
      predicted[b->samples[r]] = prediction_text(cs, decoded, n);
    }
  }
  free(decoded);
}

void rt_io_count_blanks(const RtGraphBin *g, const void *io, const RtBatch *b, int64_t *blanks, int64_t *steps) {
  const RtSlot *pred = rt_graph_slot(g, "pred");
  RT_ASSERT(pred && pred->rank == 2, "the evaluation graph has no pred output (B, T)");
  int64_t width = pred->dims[1];
  const int32_t *p = (const int32_t *)((const char *)io + pred->offset);
  for (int64_t k = 0; k < (int64_t)b->size * width; k++) *blanks += p[k] == RT_BLANK;
  *steps += (int64_t)b->size * width;
}

bool rt_io_attention_stats(const RtGraphBin *g, const void *io, const RtBatch *b, RtAttentionStats *s) {
  const RtSlot *att = rt_graph_slot(g, "attention");
  if (!att) return false;
  RT_ASSERT(att->rank == 3 && att->dtype == RT_F32 && att->dims[0] == b->capacity,
            "the evaluation graph's attention output is not f32 (B, S, T)");
  int64_t S = att->dims[1], T = att->dims[2];
  const float *a = (const float *)((const char *)io + att->offset);
  for (int r = 0; r < b->size; r++) {
    int64_t steps = b->lengths[r] < S ? b->lengths[r] : S, previous = -1;
    for (int64_t t = 0; t < steps; t++) {
      const float *w = a + ((int64_t)r * S + t) * T;
      int64_t best = 0;
      for (int64_t k = 1; k < T; k++)
        if (w[k] > w[best]) best = k;
      s->peak_sum += w[best];
      s->steps++;
      if (t > 0) {
        s->forward += best > previous;
        s->pairs++;
      }
      previous = best;
    }
  }
  return true;
}

void rt_grad_norms_init(RtGradNorms *n, const RtGraphBin *g) {
  *n = (RtGradNorms){0};
  size_t plen = strlen(RT_SLOT_GRAD_SQ);
  n->slots = rt_xmalloc(((size_t)g->n_io + 1) * sizeof *n->slots);
  for (int i = 0; i < g->n_io; i++) {
    const RtSlot *s = &g->io[i];
    if (!s->name || strncmp(s->name, RT_SLOT_GRAD_SQ, plen)) continue;
    RT_ASSERT(s->dtype == RT_F32 && rt_slot_numel(s) == 1, "output %s is not an f32 scalar", s->name);
    RT_ASSERT(strlen(s->name + plen) < RT_LAYER_NAME_MAX, "layer name %s too long", s->name + plen);
    int k = n->n_layers++;
    n->slots[k] = s;
    if (k < RT_GRAD_LAYERS_MAX) snprintf(n->sum[k].layer, sizeof n->sum[k].layer, "%s", s->name + plen);
  }
  n->n = n->n_layers < RT_GRAD_LAYERS_MAX ? n->n_layers : RT_GRAD_LAYERS_MAX;
  if (n->n_layers > RT_GRAD_LAYERS_MAX) /* the last entry stands for every layer from it on */
    snprintf(n->sum[n->n - 1].layer, RT_LAYER_NAME_MAX, "%s", RT_GRAD_LAYERS_REST);
}

void rt_grad_norms_free(RtGradNorms *n) {
  free(n->slots);
  *n = (RtGradNorms){0};
}

void rt_grad_norms_reset(RtGradNorms *n) {
  for (int k = 0; k < n->n; k++) n->sum[k].norm = 0;
  n->total = 0;
  n->steps = 0;
}

void rt_grad_norms_add(RtGradNorms *n, const void *io) {
  if (!n->n_layers) return;
  double total = 0, rest = 0;
  for (int k = 0; k < n->n_layers; k++) {
    double sq = *(const float *)((const char *)io + n->slots[k]->offset);
    total += sq;
    if (n->n_layers == n->n || k < n->n - 1) n->sum[k].norm += sqrt(sq);
    else rest += sq;
  }
  if (n->n_layers > n->n) n->sum[n->n - 1].norm += sqrt(rest);
  n->total += sqrt(total);
  n->steps++;
}

void rt_grad_norms_mean(const RtGradNorms *n, RtEpochMetrics *e) {
  if (!n->n_layers || !n->steps) return;
  e->n_grad_norms = n->n;
  for (int k = 0; k < n->n; k++) {
    e->grad_norm[k] = n->sum[k];
    e->grad_norm[k].norm /= (double)n->steps;
  }
  e->v[RT_METRIC_GRAD_NORM_TOTAL] = n->total / (double)n->steps;
}

double rt_io_loss_weight(const RtModel *m, const RtBatch *b) {
  if (m->head == RT_HEAD_CTC) return b->size;
  double w = 0;
  for (int r = 0; r < b->size; r++) w += b->lengths[r] + 1;
  return w;
}

/* Small helpers over RtModel (rt_model.h). */
#include "runtime/rt_model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support/rt_assert.h"

void *rt_region_alloc_named(int64_t bytes, const char *what) {
  void *p = NULL;
  size_t n = (size_t)(bytes > 0 ? bytes : 64);
  n = (n + 63) / 64 * 64; /* kernels may touch whole vectors up to the rounded end */
  if (posix_memalign(&p, 64, n) != 0) rt_out_of_memory(what, n);
  memset(p, 0, n);
  return p;
}

void *rt_region_alloc(int64_t bytes) { return rt_region_alloc_named(bytes, "a tensor region"); }

int64_t rt_model_scratch_bytes(const RtModel *m) {
  int64_t bytes = m->train.scratch_bytes > m->eval.scratch_bytes ? m->train.scratch_bytes : m->eval.scratch_bytes;
  return m->update.scratch_bytes > bytes ? m->update.scratch_bytes : bytes;
}

const RtSlot *rt_graph_slot(const RtGraphBin *g, const char *name) {
  for (int i = 0; i < g->n_io; i++)
    if (!strcmp(g->io[i].name, name)) return &g->io[i];
  return NULL;
}

int64_t rt_slot_numel(const RtSlot *s) {
  int64_t n = 1;
  for (int d = 0; d < s->rank; d++) n *= s->dims[d];
  return n;
}

/* A forget gate open from the start lets the cell carry its state across many steps before it
 * has learnt to (Gers et al. 2000; Jozefowicz et al. 2015 found a bias of 1 a good default).
 * smelt's one bias is PyTorch's b_ih + b_hh, so this is b_ih[f] + b_hh[f] = value. */
static void set_forget_bias(float *bias, int64_t numel, double value) {
  int64_t h = numel / 4; /* blocks i, f, g, o */
  for (int64_t j = h; j < 2 * h; j++) bias[j] = (float)value;
}

void rt_model_init_state(const RtModel *m, void *state, uint64_t seed, double lstm_forget_bias) {
  for (int i = 0; i < m->n_state; i++) {
    const RtSlot *s = &m->state[i];
    float *dst = (float *)((char *)state + s->offset);
    rt_init_f32(dst, rt_slot_numel(s), s->init, s->init_value, seed, s->name);
    if (s->lstm_bias && !isnan(lstm_forget_bias)) set_forget_bias(dst, rt_slot_numel(s), lstm_forget_bias);
  }
}

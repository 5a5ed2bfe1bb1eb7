/* The moving average of the weights (rt_ema.h). */
#include "runtime/rt_ema.h"

#include <string.h>

bool rt_ema_covers(const RtSlot *s) { return s->dtype == RT_F32 && strncmp(s->name, "opt.", 4) != 0; }

double rt_ema_decay_at(double decay, int64_t n) {
  double warm = (1.0 + (double)n) / (10.0 + (double)n);
  return warm < decay ? warm : decay;
}

void rt_ema_start(const RtModel *m, void *avg, const void *state) {
  for (int i = 0; i < m->n_state; i++) {
    const RtSlot *s = &m->state[i];
    if (rt_ema_covers(s))
      memcpy((char *)avg + s->offset, (const char *)state + s->offset, (size_t)rt_slot_numel(s) * sizeof(float));
  }
}

void rt_ema_update(const RtModel *m, void *avg, const void *state, double decay, int64_t n) {
  float d = (float)rt_ema_decay_at(decay, n), keep = 1.0f - d;
  for (int i = 0; i < m->n_state; i++) {
    const RtSlot *s = &m->state[i];
    if (!rt_ema_covers(s)) continue;
    float *a = (float *)((char *)avg + s->offset);
    const float *w = (const float *)((const char *)state + s->offset);
    int64_t count = rt_slot_numel(s);
    for (int64_t k = 0; k < count; k++) a[k] = d * a[k] + keep * w[k];
  }
}

void rt_ema_swap(const RtModel *m, void *avg, void *state) {
  for (int i = 0; i < m->n_state; i++) {
    const RtSlot *s = &m->state[i];
    if (!rt_ema_covers(s)) continue;
    float *a = (float *)((char *)avg + s->offset), *w = (float *)((char *)state + s->offset);
    int64_t count = rt_slot_numel(s);
    for (int64_t k = 0; k < count; k++) {
      float t = a[k];
      a[k] = w[k];
      w[k] = t;
    }
  }
}

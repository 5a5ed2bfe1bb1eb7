/* Data-parallel training steps (rt_train_parallel.h). A shard's loss is the mean over its own
 * weight w (samples for CTC, target tokens for attention: rt_io_loss_weight), so the global
 * batch's loss is sum(w_r * loss_r) / W and its gradient sum((w_r / W) * grad_r), W = sum(w_r):
 * each process scales its gradients by w_r / W before the sum. A shard without real samples
 * (the end of an epoch) adds nothing. */
#include "runtime/rt_train_parallel.h"

#include <stdlib.h>
#include <string.h>

#include "runtime/rt_train_io.h"
#include "support/rt_assert.h"
#include "support/rt_crc32c.h"

void rt_parallel_init(RtParallel *p, const RtModel *m, RtComm *comm) {
  RT_ASSERT(m->update.step, "data-parallel training needs the model compiled in two phases");
  *p = (RtParallel){.comm = comm, .m = m};
  p->outputs = rt_xmalloc(((size_t)m->update.n_io + 1) * sizeof *p->outputs);
  p->inputs = rt_xmalloc(((size_t)m->update.n_io + 1) * sizeof *p->inputs);
  for (int i = 0; i < m->update.n_io; i++) {
    const RtSlot *in = &m->update.io[i];
    const RtSlot *out = rt_graph_slot(&m->train, in->name);
    if (!out) continue; /* the optimizer's scalars, the layer norms */
    RT_ASSERT(rt_slot_numel(out) == rt_slot_numel(in) && out->dtype == RT_F32, "gradient %s", in->name);
    p->outputs[p->n_grads] = out;
    p->inputs[p->n_grads++] = in;
  }
  RT_ASSERT(p->n_grads > 0, "a gradient phase without gradients");
}

void rt_parallel_free(RtParallel *p) {
  free(p->outputs);
  free(p->inputs);
  memset(p, 0, sizeof *p);
}

double rt_parallel_sum_gradients(const RtParallel *p, const RtBatch *b, const void *train_io, void *update_io,
                                 int64_t *samples) {
  const RtComm *c = p->comm;
  double w = b->size > 0 ? rt_io_loss_weight(p->m, b) : 0;
  double loss = rt_io_get_scalar(&p->m->train, train_io, "loss");
  double sums[3] = {w > 0 ? w * loss : 0, w, b->size};
  c->sum_f64(c, sums, 3);
  *samples = (int64_t)sums[2];
  float scale = sums[1] > 0 ? (float)(w / sums[1]) : 0;
  for (int k = 0; k < p->n_grads; k++) {
    const float *g = (const float *)((const char *)train_io + p->outputs[k]->offset);
    float *dst = (float *)((char *)update_io + p->inputs[k]->offset);
    int64_t n = rt_slot_numel(p->inputs[k]);
    if (w > 0)
      for (int64_t i = 0; i < n; i++) dst[i] = scale * g[i];
    else
      memset(dst, 0, (size_t)n * sizeof *dst);
    c->sum_f32(c, dst, n);
  }
  return sums[1] > 0 ? sums[0] / sums[1] : 0;
}

bool rt_parallel_agree(RtComm *comm, bool ok, RtDiags *d) {
  if (!rt_comm_parallel(comm)) return ok;
  double failed = ok ? 0 : 1;
  comm->sum_f64(comm, &failed, 1);
  if (failed == 0) return true;
  comm->failed_together = true;
  if (ok && comm->rank == 0) /* the others stop without a word: one line for the run */
    rt_diag_error(d, NULL, 0, 0, "stopping, as %.0f other process%s of the run failed (see %s messages)", failed,
                  failed == 1 ? "" : "es", failed == 1 ? "its" : "their");
  return false;
}

void rt_parallel_share_running_stats(RtComm *comm, const RtModel *m, void *state) {
  for (int i = 0; i < m->n_state; i++) {
    const RtSlot *s = &m->state[i];
    if (s->trainable || !strncmp(s->name, "opt.", 4)) continue;
    comm->broadcast(comm, (char *)state + s->offset, rt_slot_numel(s) * 4 /* f32 or i32 */);
  }
}

bool rt_parallel_same_state(RtComm *comm, const void *state, int64_t bytes, RtDiags *d) {
  uint32_t mine = rt_crc32c(0, state, (size_t)bytes), root = mine;
  comm->broadcast(comm, &root, sizeof root);
  if (mine == root) return true;
  rt_diag_error(d, NULL, 0, 0,
                "rank %d: its weights differ from rank 0's (checksum %08x vs %08x): the processes no longer "
                "train one model",
                comm->rank, mine, root);
  return false;
}

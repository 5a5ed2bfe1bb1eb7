/* Program plan (plan.h): region layout of leaves and outputs, buffer lifetimes over the kernel
 * schedule, in-place hints, and the scratch arena from the memory planner, checked by the
 * planner's independent validator every time. */
#include "passes/plan.h"

#include <stdlib.h>
#include <string.h>

#include "ir/ir_ops.h"
#include "passes/plan_updates.h"
#include "support/rt_assert.h"

static int64_t align_up(int64_t v) {
  return (v + PASS_MEMPLAN_ALIGNMENT - 1) / PASS_MEMPLAN_ALIGNMENT * PASS_MEMPLAN_ALIGNMENT;
}

int64_t pass_value_bytes(const IrGraph *g, IrId id) {
  const IrType *t = ir_type_of(g, id);
  return ir_shape_numel(&t->shape) * ir_dtype_size(t->dtype);
}

static void place(PassPlan *p, IrId id, PassRegion r) {
  if (p->slots[id].region != PASS_REGION_NONE) return;
  p->slots[id] = (PassSlot){r, p->region_bytes[r]};
  p->region_bytes[r] += align_up(pass_value_bytes(p->g, id));
}

/* The value whose memory a read of `id` touches: the base of a view, else itself. */
static IrId read_base(const PassFusion *f, IrId id) {
  return f->values[id].kind == PASS_VALUE_VIEW ? f->values[id].view.base : id;
}

/* Is operand `o` of kernel k read only at the kernel's own loop index, contiguous, in its main
 * phase (so an output of the same shape may overwrite it in place)? */
static bool read_at_own_index(const PassPlan *p, const PassKernel *k, IrId o) {
  const IrGraph *g = p->g;
  if (!ir_shape_eq(&ir_type_of(g, o)->shape, &k->space)) return false;
  for (int i = 0; i < k->n_ops; i++) {
    const IrNode *n = g->nodes[k->ops[i]];
    if (k->kind == PASS_KERNEL_GEMM && i == 0) {
      for (int j = 0; j < n->n_in; j++)
        if (read_base(p->fusion, n->in[j]) == o) return false; /* the library reads it */
      continue;
    }
    for (int j = 0; j < n->n_in; j++) {
      IrId in = n->in[j];
      if (in == o) {
        if (!ir_shape_eq(&n->type.shape, &k->space) || !ir_op_has(n->op, IR_OPF_POINTWISE)) return false;
      } else if (read_base(p->fusion, in) == o) {
        return false; /* also read through a view, at other indices */
      }
    }
  }
  return true;
}

/* Is any operand of a member of kernel k (directly or through a view) the value v? */
static bool kernel_reads(const PassPlan *p, const PassKernel *k, IrId v) {
  for (int i = 0; i < k->n_ops; i++) {
    const IrNode *n = p->g->nodes[k->ops[i]];
    for (int j = 0; j < n->n_in; j++)
      if (read_base(p->fusion, n->in[j]) == v) return true;
  }
  return false;
}

/* Updates written straight into their target: when the kernel computing the new value of a
 * param/state is the last to read the old one, and reads it only at its own index (Adam's
 * elementwise update), it can overwrite it in place; this saves a buffer and the copy after
 * the step (for the small model, three passes over 50 MB per step). Not when the update phase
 * still reads the old value: as another update's value (a delay line h2 <- h1) or as an
 * output (outputs are the values the step read). */
static void place_updates_in_place(PassPlan *p) {
  const IrGraph *g = p->g;
  const PassFusion *f = p->fusion;
  bool *read_after = rt_xcalloc((size_t)g->n_nodes + 1, sizeof *read_after);
  for (int i = 0; i < g->n_outputs; i++) read_after[g->outputs[i]] = true;
  for (int u = 0; u < g->n_updates; u++) read_after[g->updates[u].value] = true;
  for (int u = 0; u < g->n_updates; u++) {
    IrId t = g->updates[u].target, v = g->updates[u].value;
    if (g->nodes[v]->kind != IR_NODE_OP || f->values[v].kind != PASS_VALUE_BUFFER ||
        p->slots[v].region != PASS_REGION_NONE || read_after[t])
      continue;
    int kv = f->values[v].kernel;
    const PassKernel *own = &f->kernels[kv];
    bool ok = !kernel_reads(p, own, t) || (own->kind != PASS_KERNEL_OPAQUE && read_at_own_index(p, own, t));
    for (int k = 0; k < f->n_kernels && ok; k++)
      if ((k != kv && kernel_reads(p, &f->kernels[k], v)) || (k > kv && kernel_reads(p, &f->kernels[k], t))) ok = false;
    if (!ok) continue;
    p->slots[v] = p->slots[t];
    p->in_place_of[v] = t;
  }
  free(read_after);
}

static void plan_scratch(PassPlan *p, const PassPlanOptions *opt) {
  const IrGraph *g = p->g;
  const PassFusion *f = p->fusion;
  int nk = f->n_kernels;
  int *buffer_of = rt_xmalloc(((size_t)g->n_nodes + 1) * sizeof *buffer_of);
  PassBuffer *bufs = rt_xcalloc((size_t)g->n_nodes + (size_t)nk + 1, sizeof *bufs);
  IrId *buf_value = rt_xmalloc(((size_t)g->n_nodes + 1) * sizeof *buf_value);
  int nb = 0;
  for (IrId id = 0; id < g->n_nodes; id++) {
    buffer_of[id] = -1;
    if (f->values[id].kind != PASS_VALUE_BUFFER) continue;
    p->intermediate_bytes += align_up(pass_value_bytes(g, id));
    if (p->slots[id].region != PASS_REGION_NONE) continue; /* an output: in io */
    int k = f->values[id].kernel;
    bufs[nb] = (PassBuffer){.size = pass_value_bytes(g, id), .first = k, .last = k, .in_place_of = -1};
    buf_value[nb] = id;
    buffer_of[id] = nb++;
  }
  /* lifetimes: the last kernel reading each buffer (through views too); updates read at nk */
  for (int k = 0; k < nk; k++) {
    const PassKernel *pk = &f->kernels[k];
    for (int i = 0; i < pk->n_ops; i++) {
      const IrNode *n = g->nodes[pk->ops[i]];
      for (int j = 0; j < n->n_in; j++) {
        int b = buffer_of[read_base(f, n->in[j])];
        if (b >= 0 && bufs[b].last < k) bufs[b].last = k;
      }
    }
  }
  for (int u = 0; u < g->n_updates; u++) {
    int b = buffer_of[read_base(f, g->updates[u].value)];
    if (b >= 0) bufs[b].last = nk;
  }
  /* in-place hints: a loop or GEMM-epilogue output over a same-shape input dying here */
  for (int b = 0; b < nb; b++) {
    IrId v = buf_value[b];
    const PassKernel *pk = &f->kernels[bufs[b].first];
    const IrNode *n = g->nodes[v];
    bool elementwise = ir_op_has(n->op, IR_OPF_POINTWISE) && ir_shape_eq(&n->type.shape, &pk->space);
    if (pk->kind == PASS_KERNEL_OPAQUE || !elementwise) continue;
    for (int i = 0; i < pk->n_ops && bufs[b].in_place_of < 0; i++) {
      const IrNode *m = g->nodes[pk->ops[i]];
      for (int j = 0; j < m->n_in && bufs[b].in_place_of < 0; j++) {
        int a = buffer_of[m->in[j]];
        if (a >= 0 && bufs[a].first < bufs[b].first && bufs[a].last == bufs[b].first &&
            bufs[a].size >= bufs[b].size &&
            read_at_own_index(p, pk, m->in[j]))
          bufs[b].in_place_of = a;
      }
    }
  }
  /* kernel workspaces live for their kernel only */
  p->user = opt ? opt->user : NULL;
  p->workspace = rt_xmalloc(((size_t)nk + 1) * sizeof *p->workspace);
  p->workspace_size = rt_xcalloc((size_t)nk + 1, sizeof *p->workspace_size);
  int *ws_buf = rt_xmalloc(((size_t)nk + 1) * sizeof *ws_buf);
  for (int k = 0; k < nk; k++) {
    int64_t bytes = opt && opt->workspace_bytes ? opt->workspace_bytes(g, &f->kernels[k], p->workers, opt->user) : 0;
    p->workspace[k] = -1;
    p->workspace_size[k] = bytes;
    ws_buf[k] = -1;
    if (bytes > 0) {
      bufs[nb] = (PassBuffer){.size = bytes, .first = k, .last = k, .in_place_of = -1};
      ws_buf[k] = nb++;
    }
  }
  pass_memplan(bufs, nb, PASS_MEMPLAN_ALIGNMENT, &p->scratch);
  char err[256];
  RT_ASSERT(pass_memplan_validate(bufs, nb, p->scratch.arena_bytes, PASS_MEMPLAN_ALIGNMENT, err, sizeof err),
            "memory plan invalid: %s", err);
  for (IrId id = 0; id < g->n_nodes; id++) {
    int b = buffer_of[id];
    if (b < 0) continue;
    p->slots[id] = (PassSlot){PASS_REGION_SCRATCH, bufs[b].offset};
    if (bufs[b].placed_in_place) p->in_place_of[id] = buf_value[bufs[b].in_place_of];
  }
  for (int k = 0; k < nk; k++)
    if (ws_buf[k] >= 0) p->workspace[k] = bufs[ws_buf[k]].offset;
  p->region_bytes[PASS_REGION_SCRATCH] = p->scratch.arena_bytes;
  free(ws_buf);
  free(buffer_of);
  free(buf_value);
  free(bufs);
}

PassPlan *pass_plan(const IrGraph *g, const PassPlanOptions *opt) {
  PassPlan *p = rt_xcalloc(1, sizeof *p);
  p->g = g;
  p->workers = opt && opt->workers > 0 ? opt->workers : 1;
  p->fusion = pass_fuse(g, opt ? &opt->fuse : NULL);
  p->slots = rt_xmalloc(((size_t)g->n_nodes + 1) * sizeof *p->slots);
  p->in_place_of = rt_xmalloc(((size_t)g->n_nodes + 1) * sizeof *p->in_place_of);
  for (IrId id = 0; id < g->n_nodes; id++) {
    p->slots[id] = (PassSlot){PASS_REGION_NONE, 0};
    p->in_place_of[id] = IR_NONE;
  }
  const PassPlan *like = opt ? opt->state_like : NULL;
  if (like) p->region_bytes[PASS_REGION_STATE] = like->region_bytes[PASS_REGION_STATE];
  for (IrId id = 0; id < g->n_nodes; id++) {
    const IrNode *n = g->nodes[id];
    if (n->kind != IR_NODE_PARAM && n->kind != IR_NODE_STATE) continue;
    IrId other = like && n->name ? ir_graph_find(like->g, n->name) : IR_NONE;
    if (other != IR_NONE && like->slots[other].region == PASS_REGION_STATE &&
        ir_type_eq(&n->type, ir_type_of(like->g, other)))
      p->slots[id] = like->slots[other];
    else
      place(p, id, PASS_REGION_STATE);
  }
  for (IrId id = 0; id < g->n_nodes; id++)
    if (g->nodes[id]->kind == IR_NODE_INPUT) place(p, id, PASS_REGION_IO);
  for (int i = 0; i < g->n_outputs; i++) {
    IrId o = g->outputs[i];
    if (g->nodes[o]->kind == IR_NODE_OP) place(p, o, PASS_REGION_IO);
  }
  pass_plan_place_outputs(p);
  place_updates_in_place(p);
  plan_scratch(p, opt);
  pass_plan_schedule_copies(p);
  return p;
}

void pass_plan_free(PassPlan *p) {
  if (!p) return;
  pass_fusion_free(p->fusion);
  free(p->slots);
  free(p->in_place_of);
  free(p->output_slots);
  free(p->copies);
  free(p->workspace);
  free(p->workspace_size);
  free(p);
}

void pass_plan_print(const PassPlan *p, FILE *out) {
  static const char *const regions[] = {"state", "io", "scratch"};
  const IrGraph *g = p->g;
  for (int r = 0; r < PASS_REGION_COUNT; r++)
    fprintf(out, "region %s %lld bytes\n", regions[r], (long long)p->region_bytes[r]);
  for (IrId id = 0; id < g->n_nodes; id++) {
    PassSlot s = p->slots[id];
    if (s.region == PASS_REGION_NONE) continue;
    char lab[64], ty[96];
    fprintf(out, "  %-24s %-8s %10lld  %s", ir_node_label(g, id, lab, sizeof lab), regions[s.region],
            (long long)s.offset, ir_type_str(ir_type_of(g, id), ty, sizeof ty));
    if (p->in_place_of[id] != IR_NONE)
      fprintf(out, "  (in place of %s)", ir_node_label(g, p->in_place_of[id], lab, sizeof lab));
    fputc('\n', out);
  }
  for (int k = 0; k < p->fusion->n_kernels; k++)
    if (p->workspace[k] >= 0)
      fprintf(out, "  workspace of kernel %d: scratch %lld, %lld bytes\n", k, (long long)p->workspace[k],
              (long long)p->workspace_size[k]);
  char lab[64];
  for (int i = 0; i < g->n_outputs; i++) {
    PassSlot s = p->output_slots[i], own = p->slots[g->outputs[i]];
    if (s.region != own.region || s.offset != own.offset)
      fprintf(out, "  output %d (%s) %s %lld\n", i, ir_node_label(g, g->outputs[i], lab, sizeof lab), regions[s.region],
              (long long)s.offset);
  }
  for (int c = 0; c < p->n_copies; c++) {
    const PassCopy *cp = &p->copies[c];
    fprintf(out, "  copy %s %lld <- ", regions[cp->dst.region], (long long)cp->dst.offset);
    if (cp->src.region == PASS_REGION_NONE) fputs("const", out);
    else fprintf(out, "%s %lld", regions[cp->src.region], (long long)cp->src.offset);
    fprintf(out, ", %lld bytes (%s)\n", (long long)cp->bytes, ir_node_label(g, cp->src_node, lab, sizeof lab));
  }
}

/* cg_compare (cg_compare.h). Both sides start from the interpreter's leaf values (f32 rounded,
 * so both see the same numbers); the interpreter runs in double and is the reference. */
#include "codegen/cg_compare.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/rt_assert.h"

static void *region_alloc(int64_t bytes) {
  void *p = NULL;
  RT_ASSERT(posix_memalign(&p, 64, (size_t)(bytes > 0 ? bytes : 64)) == 0, "out of memory");
  memset(p, 0, (size_t)(bytes > 0 ? bytes : 64));
  return p;
}

static void to_native(const IrTensor *t, void *dst) {
  int64_t n = ir_shape_numel(&t->type.shape);
  for (int64_t i = 0; i < n; i++) {
    if (t->type.dtype == IR_F32) ((float *)dst)[i] = (float)t->data[i];
    else ((int32_t *)dst)[i] = (int32_t)t->data[i];
  }
}

void cg_compare_load_leaves(const CgProgram *p, IrInterp *it, void *state, void *io, void *scratch) {
  const IrGraph *g = p->plan->g;
  for (IrId id = 0; id < g->n_nodes; id++) {
    IrNodeKind k = g->nodes[id]->kind;
    if (k == IR_NODE_INPUT || k == IR_NODE_PARAM || k == IR_NODE_STATE)
      to_native(ir_interp_value(it, id), cg_program_slot(p, id, state, io, scratch));
  }
}

static double native_at(const IrType *t, const void *p, int64_t i) {
  return t->dtype == IR_F32 ? (double)((const float *)p)[i] : (double)((const int32_t *)p)[i];
}

/* Compares a native tensor with the reference; one report line; true when within tolerance. */
static bool compare_tensor(const IrGraph *g, IrId id, const char *what, const void *native,
                           const IrTensor *ref, const CgCompareOptions *o, CgCompareResult *r, FILE *report) {
  int64_t n = ir_shape_numel(&ref->type.shape);
  double max_abs = 0, max_rel = 0, scale = 0;
  int64_t bad = -1;
  for (int64_t i = 0; i < n; i++)
    if (isfinite(ref->data[i]) && fabs(ref->data[i]) > scale) scale = fabs(ref->data[i]);
  for (int64_t i = 0; i < n; i++) {
    double a = native_at(&ref->type, native, i), b = ref->data[i];
    if (ref->type.dtype == IR_F32) b = (float)b; /* the exact result as an f32 can hold it */
    if (isnan(a) && isnan(b)) continue;
    if (isinf(b) && a == b) continue;
    double size = fmax(fabs(b), CG_COMPARE_FLOOR * scale);
    double err = fabs(a - b), rel = err / (size > 1e-30 ? size : 1e-30);
    if (isnan(err)) err = rel = INFINITY;
    if (err > max_abs) max_abs = err;
    if (rel > max_rel && err > o->atol) max_rel = rel;
    if (!(err <= o->atol + o->rtol * size) && bad < 0) bad = i;
  }
  r->tensors++;
  if (max_abs > r->max_abs) r->max_abs = max_abs;
  if (max_rel > r->max_rel) r->max_rel = max_rel;
  char lab[96], ty[96];
  if (report)
    fprintf(report, "  %-7s %-24s %-16s max_abs_err %.3g  max_rel_err %.3g  %s\n", what,
            ir_node_label(g, id, lab, sizeof lab), ir_type_str(&ref->type, ty, sizeof ty), max_abs, max_rel,
            bad < 0 ? "ok" : "FAIL");
  if (bad >= 0) {
    r->failed++;
    if (report)
      fprintf(report, "          first mismatch at element %lld: jit %.9g, reference %.9g\n", (long long)bad,
              native_at(&ref->type, native, bad), ref->data[bad]);
  }
  return bad < 0;
}

bool cg_compare(const IrGraph *g, uint64_t seed, const CgCompareOptions *o, CgCompareResult *r,
                FILE *report, RtDiags *d) {
  CgCompareOptions defaults = {.atol = CG_COMPARE_ATOL, .rtol = CG_COMPARE_RTOL, .steps = 1};
  if (!o) o = &defaults;
  *r = (CgCompareResult){0};
  CgProgram *p = cg_program_compile(g, &o->compile, d);
  if (!p) return false;
  r->n_kernels = p->n_kernels;
  r->n_unique = p->n_unique;
  const PassPlan *plan = p->plan;
  void *regions[PASS_REGION_COUNT];
  for (int i = 0; i < PASS_REGION_COUNT; i++) regions[i] = region_alloc(plan->region_bytes[i]);
  IrInterp *it = ir_interp_new(g);
  ir_interp_init_leaves(it, seed);
  cg_compare_load_leaves(p, it, regions[0], regions[1], regions[2]);
  int steps = o->steps > 0 ? o->steps : 1;
  for (int s = 0; s < steps; s++) {
    ir_interp_run(it, NULL);
    p->step(regions[0], regions[1], regions[2]);
    if (s + 1 < steps) ir_interp_apply_updates(it);
  }
  bool ok = true;
  for (int i = 0; i < g->n_outputs; i++) {
    IrId id = g->outputs[i];
    ok &= compare_tensor(g, id, "output", cg_program_slot(p, id, regions[0], regions[1], regions[2]),
                         ir_interp_value(it, id), o, r, report);
  }
  for (int u = 0; u < g->n_updates; u++) {
    IrId t = g->updates[u].target;
    ok &= compare_tensor(g, t, "update", cg_program_slot(p, t, regions[0], regions[1], regions[2]),
                         ir_interp_value(it, g->updates[u].value), o, r, report);
  }
  ir_interp_free(it);
  for (int i = 0; i < PASS_REGION_COUNT; i++) free(regions[i]);
  cg_program_free(p);
  return ok;
}

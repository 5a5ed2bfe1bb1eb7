/* cg_compare (cg_compare.h). Both sides start from the interpreter's leaf values (f32 rounded,
 * so both see the same numbers); the interpreter runs in double and is the reference. */
#include "codegen/cg_compare.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support/rt_assert.h"

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
    else if (t->type.dtype == IR_I8) ((int8_t *)dst)[i] = (int8_t)t->data[i];
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
  switch (t->dtype) {
    case IR_F32: return (double)((const float *)p)[i];
    case IR_I8: return (double)((const int8_t *)p)[i];
    default: return (double)((const int32_t *)p)[i];
  }
}

/* How far a native tensor is from a reference (cg_compare.h says how elements are judged). */
typedef struct Verdict {
  double max_abs, max_rel;
  int64_t bad; /* first element outside the tolerance, -1 when none */
} Verdict;

static Verdict judge(const void *native, const IrTensor *ref, const CgCompareOptions *o) {
  int64_t n = ir_shape_numel(&ref->type.shape);
  double scale = 0;
  Verdict v = {0, 0, -1};
  for (int64_t i = 0; i < n; i++)
    if (isfinite(ref->data[i]) && fabs(ref->data[i]) > scale) scale = fabs(ref->data[i]);
  for (int64_t i = 0; i < n; i++) {
    double a = native_at(&ref->type, native, i), b = ref->data[i];
    if (ref->type.dtype == IR_F32) b = ir_f32_round(b); /* the exact result as an f32 can hold it */
    if (ref->type.dtype != IR_F32) { /* integers: exact, bit for bit */
      if (a != b && v.bad < 0) v.bad = i;
      if (fabs(a - b) > v.max_abs) v.max_abs = fabs(a - b);
      continue;
    }
    if (isnan(a) && isnan(b)) continue;
    if (isinf(b) && a == b) continue;
    double size = fmax(fabs(b), CG_COMPARE_FLOOR * scale);
    double err = fabs(a - b), rel = err / (size > 1e-30 ? size : 1e-30);
    if (isnan(err)) err = rel = INFINITY;
    if (err > v.max_abs) v.max_abs = err;
    if (rel > v.max_rel && err > o->atol) v.max_rel = rel;
    if (!(err <= o->atol + o->rtol * size) && v.bad < 0) v.bad = i;
  }
  return v;
}

/* The interpreter re-run with every f32 result rounded, once with IEEE subnormals and once with
 * them flushed as compiled kernels do. Built only when some tensor disagrees with the reference:
 * a tensor that matches the flushed run but not the IEEE f32 one differs by flush-to-zero alone
 * (an f32 rounding effect or a backend bug matches neither, or both). */
typedef struct FtzCheck {
  const IrGraph *g;
  uint64_t seed;
  int steps;
  bool scanned;
  IrId first;              /* the first op whose IEEE value has f32-subnormal elements */
  double example;          /* one of them */
  IrInterp *f32, *flushed; /* run only when there is such an op */
} FtzCheck;

static IrInterp *rerun(const FtzCheck *f, bool flush) {
  IrInterp *it = ir_interp_new(f->g);
  ir_interp_init_leaves(it, f->seed);
  for (int s = 0; s < f->steps; s++) {
    ir_interp_run(it, &(IrInterpOptions){.round_f32 = true, .flush_subnormals = flush});
    if (s + 1 < f->steps) ir_interp_apply_updates(it);
  }
  return it;
}

static void ftz_prepare(FtzCheck *f, IrInterp *ieee) {
  if (f->scanned) return;
  f->scanned = true;
  f->first = IR_NONE;
  for (IrId id = 0; id < f->g->n_nodes && f->first == IR_NONE; id++) {
    const IrTensor *t = ir_interp_value(ieee, id);
    if (f->g->nodes[id]->kind != IR_NODE_OP || t->type.dtype != IR_F32) continue;
    for (int64_t i = 0; i < ir_shape_numel(&t->type.shape); i++)
      if (ir_f32_is_subnormal(t->data[i])) {
        f->first = id;
        f->example = t->data[i];
        break;
      }
  }
  if (f->first == IR_NONE) return;
  f->f32 = rerun(f, false);
  f->flushed = rerun(f, true);
}

static bool explained_by_ftz(FtzCheck *f, IrInterp *ieee, IrId ref_id, const void *native,
                             const CgCompareOptions *o) {
  ftz_prepare(f, ieee);
  return f->first != IR_NONE && judge(native, ir_interp_value(f->flushed, ref_id), o).bad < 0 &&
         judge(native, ir_interp_value(f->f32, ref_id), o).bad >= 0;
}

/* Compares the native value of node `id` (an output, or an update's target) with the reference
 * value of `ref_id`; one report line; true when within tolerance or explained by flush-to-zero. */
static bool compare_tensor(const IrGraph *g, IrId id, IrId ref_id, const char *what, const void *native,
                           IrInterp *it, FtzCheck *ftz, const CgCompareOptions *o, CgCompareResult *r,
                           FILE *report) {
  const IrTensor *ref = ir_interp_value(it, ref_id);
  Verdict v = judge(native, ref, o);
  bool flushed = v.bad >= 0 && explained_by_ftz(ftz, it, ref_id, native, o);
  r->tensors++;
  if (v.max_abs > r->max_abs) r->max_abs = v.max_abs;
  if (v.max_rel > r->max_rel) r->max_rel = v.max_rel;
  char lab[96], ty[96];
  if (report)
    fprintf(report, "  %-7s %-24s %-16s max_abs_err %.3g  max_rel_err %.3g  %s\n", what,
            ir_node_label(g, id, lab, sizeof lab), ir_type_str(&ref->type, ty, sizeof ty), v.max_abs,
            v.max_rel, v.bad < 0 ? "ok" : flushed ? "FTZ" : "FAIL");
  if (v.bad < 0) return true;
  if (report)
    fprintf(report, "          first mismatch at element %lld: jit %.9g, reference %.9g\n", (long long)v.bad,
            native_at(&ref->type, native, v.bad), ref->data[v.bad]);
  if (flushed) {
    r->ftz++;
    if (report)
      fprintf(report, "          explained by flush-to-zero: %s (%s) is %.3g in IEEE f32, 0 in compiled code\n",
              ir_node_label(g, ftz->first, lab, sizeof lab), ir_op_info[g->nodes[ftz->first]->op].name, ftz->example);
    return true;
  }
  r->failed++;
  return false;
}

bool cg_compare_program(const CgProgram *p, uint64_t seed, const CgCompareOptions *o, CgCompareResult *r,
                        FILE *report) {
  CgCompareOptions defaults = {.atol = CG_COMPARE_ATOL, .rtol = CG_COMPARE_RTOL, .steps = 1};
  if (!o) o = &defaults;
  *r = (CgCompareResult){0};
  const IrGraph *g = p->plan->g;
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
  FtzCheck ftz = {.g = g, .seed = seed, .steps = steps};
  for (int i = 0; i < g->n_outputs; i++) {
    IrId id = g->outputs[i];
    ok &= compare_tensor(g, id, id, "output", cg_program_output(p, i, regions[0], regions[1], regions[2]), it,
                         &ftz, o, r, report);
  }
  for (int u = 0; u < g->n_updates; u++) {
    IrId t = g->updates[u].target;
    ok &= compare_tensor(g, t, g->updates[u].value, "update", cg_program_slot(p, t, regions[0], regions[1], regions[2]),
                         it, &ftz, o, r, report);
  }
  if (report && r->ftz)
    fprintf(report, "  %d tensor%s differ%s from the IEEE reference only by flush-to-zero: compiled code treats "
            "values below 1.18e-38 as 0 (runtime/rt_fpenv.h)\n", r->ftz, r->ftz > 1 ? "s" : "", r->ftz > 1 ? "" : "s");
  if (ftz.f32) {
    ir_interp_free(ftz.f32);
    ir_interp_free(ftz.flushed);
  }
  ir_interp_free(it);
  for (int i = 0; i < PASS_REGION_COUNT; i++) free(regions[i]);
  return ok;
}

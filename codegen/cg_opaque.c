/* OPAQUE kernels: ops with loops of their own shape, mirroring the reference implementations
 * (ir/eval_pool.c, eval_index.c, eval_reduce.c, eval_layout.c) rule for rule: pooling and its
 * gradients per (image, channel) plane (max pooling over tiling windows as branch-free
 * straight-line code), gather/scatter_add by rows, argmax along an axis,
 * concat and zero padding by contiguous runs, and CTC through the shared runtime code. */
#include <stdlib.h>
#include <string.h>

#include "codegen/cg_opaque.h"
#include "codegen/cg_ops.h"
#include "codegen/cg_symbols.h"
#include "support/rt_assert.h"

typedef enum PoolMode { POOL_MAX, POOL_MAX_GRAD, POOL_AVG, POOL_AVG_GRAD } PoolMode;

static void opaque_release(void *d) { free(d); }

static LLVMValueRef c64(CgContext *c, int64_t v) { return cg_i64(c, v); }
static LLVMValueRef mul(CgContext *c, LLVMValueRef a, int64_t k) { return LLVMBuildNSWMul(c->b, a, c64(c, k), ""); }
static LLVMValueRef add(CgContext *c, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildNSWAdd(c->b, a, b, ""); }
static LLVMValueRef ld(CgContext *c, LLVMTypeRef t, LLVMValueRef p, LLVMValueRef off) {
  return LLVMBuildLoad2(c->b, t, cg_gep(c, p, off), "");
}
static void st(CgContext *c, LLVMValueRef v, LLVMValueRef p, LLVMValueRef off) {
  LLVMBuildStore(c->b, v, cg_gep(c, p, off));
}

static LLVMValueRef in_range(CgContext *c, LLVMValueRef i, int64_t hi) {
  return LLVMBuildAnd(c->b, LLVMBuildICmp(c->b, LLVMIntSGE, i, c64(c, 0), ""),
                      LLVMBuildICmp(c->b, LLVMIntSLT, i, c64(c, hi), ""), "");
}

/* ---- describe ---- */

static int operand_arg(CgKernelSpec *s, IrId v) {
  const PassValue *pv = &s->plan->fusion->values[v];
  if (pv->kind == PASS_VALUE_VIEW) return cg_spec_arg(s, pv->view.base, pv->view.offset, false);
  return cg_spec_arg(s, v, 0, false);
}

void cg_describe_opaque(CgKernelSpec *s) {
  const PassKernel *k = &s->plan->fusion->kernels[s->index];
  const IrGraph *g = s->plan->g;
  const IrNode *n = g->nodes[k->ops[0]];
  Opaque *o = rt_xcalloc(1, sizeof *o);
  s->detail = o;
  s->release = opaque_release;
  o->op = n->op;
  RT_ASSERT(n->n_in < CG_MAX_ARGS, "opaque op with %d operands", n->n_in);
  cg_spec_key(s, "opaque %s in", ir_op_info[n->op].name);
  for (int i = 0; i < n->n_in; i++) {
    o->in[o->n_in++] = operand_arg(s, n->in[i]);
    char t[96];
    cg_spec_key(s, " a%d:%s", o->in[i], ir_type_str(ir_type_of(g, n->in[i]), t, sizeof t));
  }
  IrId mem = s->plan->in_place_of[k->ops[0]] != IR_NONE ? s->plan->in_place_of[k->ops[0]] : k->ops[0];
  o->out = cg_spec_arg(s, mem, 0, true);
  o->ws = s->plan->workspace[s->index] >= 0 ? cg_spec_arg(s, IR_NONE, 0, true) : -1;
  char t[96];
  cg_spec_key(s, " out a%d:%s attrs", o->out, ir_type_str(&n->type, t, sizeof t));
  for (int a = 0; a < IR_MAX_ATTRS && ir_op_info[n->op].attrs[a].name; a++)
    for (int i = 0; i < n->attr[a].n; i++) cg_spec_key(s, "%c%lld", i ? ',' : ' ', (long long)n->attr[a].v[i]);
  const CgOpaqueOp *row = cg_op_emit[n->op].opaque;
  RT_ASSERT(row, "no opaque lowering for %s", ir_op_info[n->op].name);
  s->parallel_items = 1;
  s->grain = 1;
  if (row->split) row->split(s, g, n);
}

static void split_planes(CgKernelSpec *s, const IrGraph *g, const IrNode *n) {
  const int64_t *xd = ir_type_of(g, n->in[0])->shape.dims;
  s->parallel_items = xd[0] * xd[1]; /* planes */
  s->grain = 4;
}

static void split_indices(CgKernelSpec *s, const IrGraph *g, const IrNode *n) {
  s->parallel_items = ir_shape_numel(&ir_type_of(g, n->in[1])->shape);
  s->grain = 64;
}

static void split_outer(CgKernelSpec *s, const IrGraph *g, const IrNode *n) {
  int64_t outer = 1;
  for (int d = 0; d < n->attr[0].v[0]; d++) outer *= n->type.shape.dims[d];
  s->parallel_items = outer;
  s->grain = 16;
}

/* ---- pooling ---- */

typedef struct Pool {
  int64_t h, w, oh, ow, kh, kw, sh, sw, pt, pl;
} Pool;

static Pool pool_geom(const IrGraph *g, const IrNode *n, PoolMode mode) {
  const IrShape *x = mode == POOL_AVG_GRAD ? &n->type.shape : &ir_type_of(g, n->in[0])->shape;
  const IrShape *y = mode == POOL_AVG_GRAD ? &ir_type_of(g, n->in[0])->shape
                     : mode == POOL_MAX_GRAD ? &ir_type_of(g, n->in[1])->shape : &n->type.shape;
  const int64_t *k = n->attr[0].v, *s = n->attr[1].v, *p = n->attr[2].v;
  return (Pool){x->dims[2], x->dims[3], y->dims[2], y->dims[3], k[0], k[1], s[0], s[1], p[0], p[1]};
}

/* The window of output (oy, ox): loops over ky, kx with the in-range input index; the body
 * callback gets the flat input offset. */
typedef void (*WindowBody)(CgContext *c, LLVMValueRef at, void *ctx);

static void for_window(CgContext *c, const Pool *p, LLVMValueRef oy, LLVMValueRef ox, WindowBody body, void *ctx) {
  CgLoopNest ly, lx;
  cg_loop_range(c, &ly, c64(c, 0), c64(c, p->kh), "ky");
  LLVMValueRef iy = add(c, mul(c, oy, p->sh), LLVMBuildNSWSub(c->b, ly.idx[0], c64(c, p->pt), ""));
  LLVMBasicBlockRef y_done = cg_if_begin(c, in_range(c, iy, p->h), "row");
  cg_loop_range(c, &lx, c64(c, 0), c64(c, p->kw), "kx");
  LLVMValueRef ix = add(c, mul(c, ox, p->sw), LLVMBuildNSWSub(c->b, lx.idx[0], c64(c, p->pl), ""));
  LLVMBasicBlockRef x_done = cg_if_begin(c, in_range(c, ix, p->w), "col");
  body(c, add(c, mul(c, iy, p->w), ix), ctx);
  cg_if_end(c, x_done);
  cg_loop_close(c, &lx);
  cg_if_end(c, y_done);
  cg_loop_close(c, &ly);
}

typedef struct ArgmaxWindow {
  LLVMValueRef plane, best_at, best_v; /* allocas */
} ArgmaxWindow;

/* first maximum of the window: the first valid element, then strictly greater ones */
static void argmax_body(CgContext *c, LLVMValueRef at, void *ctx) {
  ArgmaxWindow *w = ctx;
  LLVMValueRef v = ld(c, c->f32, w->plane, at);
  LLVMValueRef cur = LLVMBuildLoad2(c->b, c->i64, w->best_at, "");
  LLVMValueRef best = LLVMBuildLoad2(c->b, c->f32, w->best_v, "");
  LLVMValueRef take = LLVMBuildOr(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, cur, c64(c, 0), ""),
                                  LLVMBuildFCmp(c->b, LLVMRealOGT, v, best, ""), "");
  LLVMBuildStore(c->b, LLVMBuildSelect(c->b, take, at, cur, ""), w->best_at);
  LLVMBuildStore(c->b, LLVMBuildSelect(c->b, take, v, best, ""), w->best_v);
}

typedef struct SumWindow {
  LLVMValueRef plane, acc, value; /* acc: alloca (sum) or NULL; value: added into plane[at] */
} SumWindow;

static void sum_body(CgContext *c, LLVMValueRef at, void *ctx) {
  SumWindow *w = ctx;
  if (w->acc) {
    LLVMValueRef s = LLVMBuildFAdd(c->b, LLVMBuildLoad2(c->b, c->f32, w->acc, ""), ld(c, c->f32, w->plane, at), "");
    LLVMBuildStore(c->b, s, w->acc);
  } else {
    st(c, LLVMBuildFAdd(c->b, ld(c, c->f32, w->plane, at), w->value, ""), w->plane, at);
  }
}

/* Max pooling whose windows tile the input (stride = window, no padding; at most this many
 * elements a window), the presets' 2x2 and 2x1 pools: every window is in range, so its elements
 * are read as straight-line code, the first maximum kept with selects (the reference's rule:
 * the first element, then strictly greater ones), and the inner loop over output columns has
 * no branches for the vectoriser. The gradient writes each window whole (the gradient at its
 * first maximum, zeros elsewhere), so only rows and columns past the last window need the
 * plane cleared first. */
enum { POOL_TILED_MAX_WINDOW = 16 };

static bool pool_tiles(const Pool *p) {
  return p->pt == 0 && p->pl == 0 && p->sh == p->kh && p->sw == p->kw && p->kh * p->kw <= POOL_TILED_MAX_WINDOW;
}

static void emit_pool_tiled(CgContext *c, CgFn *f, const Opaque *o, const Pool *p, bool grad) {
  int64_t in_plane = p->h * p->w, out_plane = p->oh * p->ow, window = p->kh * p->kw;
  CgLoopNest planes, ly, lx;
  cg_loop_range(c, &planes, f->begin, f->end, "plane");
  LLVMValueRef pl = planes.idx[0];
  LLVMValueRef x = cg_gep(c, f->args[o->in[0]], mul(c, pl, in_plane));
  LLVMValueRef out = cg_gep(c, f->args[o->out], mul(c, pl, grad ? in_plane : out_plane));
  LLVMValueRef gy = grad ? cg_gep(c, f->args[o->in[1]], mul(c, pl, out_plane)) : NULL;
  if (grad && (p->oh * p->kh < p->h || p->ow * p->kw < p->w))
    LLVMBuildMemSet(c->b, out, LLVMConstInt(c->i8, 0, 0), c64(c, in_plane * 4), 4);
  cg_loop_range(c, &ly, c64(c, 0), c64(c, p->oh), "oy");
  cg_loop_range(c, &lx, c64(c, 0), c64(c, p->ow), "ox");
  LLVMValueRef base = add(c, mul(c, ly.idx[0], p->kh * p->w), mul(c, lx.idx[0], p->kw));
  LLVMValueRef at[POOL_TILED_MAX_WINDOW];
  LLVMValueRef best = NULL, best_k = cg_i32(c, 0);
  for (int64_t k = 0; k < window; k++) {
    at[k] = add(c, base, c64(c, (k / p->kw) * p->w + k % p->kw));
    LLVMValueRef v = ld(c, c->f32, x, at[k]);
    if (k == 0) {
      best = v;
      continue;
    }
    LLVMValueRef take = LLVMBuildFCmp(c->b, LLVMRealOGT, v, best, "");
    best = LLVMBuildSelect(c->b, take, v, best, "");
    best_k = LLVMBuildSelect(c->b, take, cg_i32(c, (int)k), best_k, "");
  }
  LLVMValueRef o_at = add(c, mul(c, ly.idx[0], p->ow), lx.idx[0]);
  if (!grad) {
    st(c, best, out, o_at);
  } else {
    /* 0 + dy, as the reference adds into a zeroed plane (the sign of a zero gradient) */
    LLVMValueRef d = LLVMBuildFAdd(c->b, cg_f32(c, 0), ld(c, c->f32, gy, o_at), "");
    for (int64_t k = 0; k < window; k++) {
      LLVMValueRef mine = LLVMBuildICmp(c->b, LLVMIntEQ, best_k, cg_i32(c, (int)k), "");
      st(c, LLVMBuildSelect(c->b, mine, d, cg_f32(c, 0), ""), out, at[k]);
    }
  }
  cg_loop_close(c, &lx);
  cg_loop_close(c, &ly);
  cg_loop_close(c, &planes);
}

static void emit_pool(CgContext *c, CgFn *f, const Opaque *o, const IrGraph *g, const IrNode *n, int mode) {
  Pool geom = pool_geom(g, n, (PoolMode)mode);
  const Pool *p = &geom;
  if ((mode == POOL_MAX || mode == POOL_MAX_GRAD) && pool_tiles(p)) {
    emit_pool_tiled(c, f, o, p, mode == POOL_MAX_GRAD);
    return;
  }
  LLVMValueRef best_at = LLVMBuildAlloca(c->b, c->i64, "best_at");
  LLVMValueRef best_v = LLVMBuildAlloca(c->b, c->f32, "best_v");
  LLVMValueRef acc = LLVMBuildAlloca(c->b, c->f32, "acc");
  CgLoopNest planes, ly, lx;
  cg_loop_range(c, &planes, f->begin, f->end, "plane");
  int64_t in_plane = p->h * p->w, out_plane = p->oh * p->ow;
  LLVMValueRef pl = planes.idx[0];
  bool grad = mode == POOL_MAX_GRAD || mode == POOL_AVG_GRAD;
  LLVMValueRef x = cg_gep(c, f->args[o->in[0]], mul(c, pl, mode == POOL_AVG_GRAD ? out_plane : in_plane));
  LLVMValueRef out = cg_gep(c, f->args[o->out], mul(c, pl, grad ? in_plane : out_plane));
  if (grad) LLVMBuildMemSet(c->b, out, LLVMConstInt(c->i8, 0, 0), c64(c, in_plane * 4), 4);
  cg_loop_range(c, &ly, c64(c, 0), c64(c, p->oh), "oy");
  cg_loop_range(c, &lx, c64(c, 0), c64(c, p->ow), "ox");
  LLVMValueRef o_at = add(c, mul(c, ly.idx[0], p->ow), lx.idx[0]);
  double area = (double)(p->kh * p->kw);
  switch ((PoolMode)mode) {
    case POOL_MAX:
    case POOL_MAX_GRAD: {
      LLVMBuildStore(c->b, c64(c, -1), best_at);
      LLVMBuildStore(c->b, cg_f32(c, 0), best_v);
      ArgmaxWindow w = {x, best_at, best_v};
      for_window(c, p, ly.idx[0], lx.idx[0], argmax_body, &w);
      if (mode == POOL_MAX) {
        st(c, LLVMBuildLoad2(c->b, c->f32, best_v, ""), out, o_at);
      } else {
        LLVMValueRef gy = cg_gep(c, f->args[o->in[1]], mul(c, pl, out_plane));
        LLVMValueRef at = LLVMBuildLoad2(c->b, c->i64, best_at, "");
        st(c, LLVMBuildFAdd(c->b, ld(c, c->f32, out, at), ld(c, c->f32, gy, o_at), ""), out, at);
      }
      break;
    }
    case POOL_AVG: {
      LLVMBuildStore(c->b, cg_f32(c, 0), acc);
      SumWindow w = {x, acc, NULL};
      for_window(c, p, ly.idx[0], lx.idx[0], sum_body, &w);
      st(c, LLVMBuildFDiv(c->b, LLVMBuildLoad2(c->b, c->f32, acc, ""), cg_f32(c, area), ""), out, o_at);
      break;
    }
    case POOL_AVG_GRAD: { /* each input in the window gets g / area */
      SumWindow w = {out, NULL, LLVMBuildFDiv(c->b, ld(c, c->f32, x, o_at), cg_f32(c, area), "")};
      for_window(c, p, ly.idx[0], lx.idx[0], sum_body, &w);
    }
  }
  cg_loop_close(c, &lx);
  cg_loop_close(c, &ly);
  cg_loop_close(c, &planes);
}

/* ---- indexing ---- */

static int64_t tail_numel(const IrShape *s, int from) {
  int64_t n = 1;
  for (int d = from; d < s->rank; d++) n *= s->dims[d];
  return n;
}

static void emit_gather(CgContext *c, CgFn *f, const Opaque *o, const IrGraph *g, const IrNode *n, int mode) {
  const IrShape *t = &ir_type_of(g, n->in[0])->shape;
  int64_t rows = t->dims[0], row = tail_numel(t, 1);
  LLVMTypeRef et = cg_dtype(c, n->type.dtype);
  CgLoopNest li, lj;
  cg_loop_range(c, &li, f->begin, f->end, "index");
  LLVMValueRef k = LLVMBuildSExt(c->b, ld(c, c->i32, f->args[o->in[1]], li.idx[0]), c->i64, "");
  LLVMValueRef ok = in_range(c, k, rows);
  LLVMValueRef src = cg_gep(c, f->args[o->in[0]], mul(c, LLVMBuildSelect(c->b, ok, k, c64(c, 0), ""), row));
  LLVMValueRef dst = cg_gep(c, f->args[o->out], mul(c, li.idx[0], row));
  cg_loop_range(c, &lj, c64(c, 0), c64(c, row), "elem");
  LLVMValueRef v = ld(c, et, src, lj.idx[0]);
  st(c, LLVMBuildSelect(c->b, ok, v, LLVMConstNull(et), ""), dst, lj.idx[0]);
  cg_loop_close(c, &lj);
  cg_loop_close(c, &li);
}

static void emit_scatter_add(CgContext *c, CgFn *f, const Opaque *o, const IrGraph *g, const IrNode *n, int mode) {
  int64_t rows = n->type.shape.dims[0], row = tail_numel(&n->type.shape, 1);
  int64_t count = ir_shape_numel(&ir_type_of(g, n->in[0])->shape);
  LLVMBuildMemSet(c->b, f->args[o->out], LLVMConstInt(c->i8, 0, 0), c64(c, rows * row * 4), 4);
  CgLoopNest li, lj;
  cg_loop_range(c, &li, c64(c, 0), c64(c, count), "index");
  LLVMValueRef k = LLVMBuildSExt(c->b, ld(c, c->i32, f->args[o->in[0]], li.idx[0]), c->i64, "");
  LLVMBasicBlockRef done = cg_if_begin(c, in_range(c, k, rows), "valid");
  LLVMValueRef src = cg_gep(c, f->args[o->in[1]], mul(c, li.idx[0], row));
  LLVMValueRef dst = cg_gep(c, f->args[o->out], mul(c, k, row));
  cg_loop_range(c, &lj, c64(c, 0), c64(c, row), "elem");
  st(c, LLVMBuildFAdd(c->b, ld(c, c->f32, dst, lj.idx[0]), ld(c, c->f32, src, lj.idx[0]), ""), dst, lj.idx[0]);
  cg_loop_close(c, &lj);
  cg_if_end(c, done);
  cg_loop_close(c, &li);
}

/* first maximum along the axis; NaNs are skipped unless all are NaN (then index 0) */
static void emit_argmax(CgContext *c, CgFn *f, const Opaque *o, const IrGraph *g, const IrNode *n, int mode) {
  const IrShape *x = &ir_type_of(g, n->in[0])->shape;
  int axis = (int)n->attr[0].v[0];
  int64_t outer = 1, len = x->dims[axis], inner = tail_numel(x, axis + 1);
  for (int d = 0; d < axis; d++) outer *= x->dims[d];
  LLVMValueRef best = LLVMBuildAlloca(c->b, c->i64, "best");
  CgLoopNest lo, li, lk;
  cg_loop_range(c, &lo, c64(c, 0), c64(c, outer), "outer");
  cg_loop_range(c, &li, c64(c, 0), c64(c, inner), "inner");
  LLVMValueRef base = add(c, mul(c, lo.idx[0], len * inner), li.idx[0]);
  LLVMBuildStore(c->b, c64(c, 0), best);
  cg_loop_range(c, &lk, c64(c, 1), c64(c, len), "k");
  LLVMValueRef b = LLVMBuildLoad2(c->b, c->i64, best, "");
  LLVMValueRef vk = ld(c, c->f32, f->args[o->in[0]], add(c, base, mul(c, lk.idx[0], inner)));
  LLVMValueRef vb = ld(c, c->f32, f->args[o->in[0]], add(c, base, mul(c, b, inner)));
  LLVMValueRef take = LLVMBuildOr(c->b, LLVMBuildFCmp(c->b, LLVMRealOGT, vk, vb, ""),
                                  LLVMBuildAnd(c->b, LLVMBuildFCmp(c->b, LLVMRealUNO, vb, vb, ""),
                                               LLVMBuildFCmp(c->b, LLVMRealORD, vk, vk, ""), ""), "");
  LLVMBuildStore(c->b, LLVMBuildSelect(c->b, take, lk.idx[0], b, ""), best);
  cg_loop_close(c, &lk);
  LLVMValueRef r = LLVMBuildTrunc(c->b, LLVMBuildLoad2(c->b, c->i64, best, ""), c->i32, "");
  st(c, r, f->args[o->out], add(c, mul(c, lo.idx[0], inner), li.idx[0]));
  cg_loop_close(c, &li);
  cg_loop_close(c, &lo);
}

/* ---- layout: concat and pad ---- */

static void emit_concat(CgContext *c, CgFn *f, const Opaque *o, const IrGraph *g, const IrNode *n, int mode) {
  int axis = (int)n->attr[0].v[0];
  int64_t out_run = tail_numel(&n->type.shape, axis);
  CgLoopNest lo, lj;
  cg_loop_range(c, &lo, f->begin, f->end, "outer");
  int64_t at = 0;
  for (int i = 0; i < n->n_in; i++) {
    int64_t run = tail_numel(&ir_type_of(g, n->in[i])->shape, axis);
    LLVMValueRef src = cg_gep(c, f->args[o->in[i]], mul(c, lo.idx[0], run));
    LLVMValueRef dst = cg_gep(c, f->args[o->out], add(c, mul(c, lo.idx[0], out_run), c64(c, at)));
    cg_loop_range(c, &lj, c64(c, 0), c64(c, run), "copy");
    st(c, ld(c, c->i32, src, lj.idx[0]), dst, lj.idx[0]); /* 4-byte elements of either dtype */
    cg_loop_close(c, &lj);
    at += run;
  }
  cg_loop_close(c, &lo);
}

static void emit_pad(CgContext *c, CgFn *f, const Opaque *o, const IrGraph *g, const IrNode *n, int mode) {
  const IrShape *in = &ir_type_of(g, n->in[0])->shape, *out = &n->type.shape;
  LLVMBuildMemSet(c->b, f->args[o->out], LLVMConstInt(c->i8, 0, 0), c64(c, ir_shape_numel(out) * 4), 4);
  int64_t is[IR_MAX_RANK], os[IR_MAX_RANK], base = 0;
  ir_shape_strides(in, is);
  ir_shape_strides(out, os);
  for (int d = 0; d < in->rank; d++) base += n->attr[0].v[d] * os[d];
  CgLoopNest l = {.rank = in->rank};
  for (int d = 0; d < in->rank; d++) l.lo[d] = c64(c, 0), l.hi[d] = c64(c, in->dims[d]);
  cg_loop_open(c, &l, "pad");
  st(c, ld(c, c->i32, f->args[o->in[0]], cg_loop_offset(c, &l, is, 0)), f->args[o->out], cg_loop_offset(c, &l, os, base));
  cg_loop_close(c, &l);
}

/* ---- CTC: the runtime's shared implementation ---- */

static void emit_ctc(CgContext *c, CgFn *f, const Opaque *o, const IrGraph *g, const IrNode *n, int grad) {
  const int64_t *d = ir_type_of(g, n->in[0])->shape.dims;
  int64_t L = ir_type_of(g, n->in[1])->shape.dims[1];
  LLVMValueRef a[11];
  int k = 0;
  for (int i = 0; i < (grad ? 4 : 3); i++) a[k++] = f->args[o->in[i]];
  int64_t dims[5] = {d[0], d[1], d[2], L, n->attr[0].v[0]};
  for (int i = 0; i < 5; i++) a[k++] = c64(c, dims[i]);
  a[k++] = f->args[o->out];
  LLVMValueRef fn = cg_declare_extern(c, grad ? "smelt_rt_ctc_loss_grad" : "smelt_rt_ctc_loss");
  LLVMBuildCall2(c->b, LLVMGlobalGetValueType(fn), fn, a, (unsigned)k, "");
}

/* ---- all_sum: a copy, then the runtime's sum over the processes (runtime/rt_collective.h) ---- */

static void emit_all_sum(CgContext *c, CgFn *f, const Opaque *o, const IrGraph *g, const IrNode *n, int mode) {
  int64_t numel = ir_shape_numel(&n->type.shape);
  LLVMBuildMemCpy(c->b, f->args[o->out], 4, f->args[o->in[0]], 4, c64(c, numel * 4));
  LLVMValueRef a[2] = {f->args[o->out], c64(c, numel)};
  LLVMValueRef fn = cg_declare_extern(c, "smelt_rt_all_sum");
  LLVMBuildCall2(c->b, LLVMGlobalGetValueType(fn), fn, a, 2, "");
}

int64_t cg_opaque_workspace_bytes(const IrGraph *g, const IrNode *n, int workers) {
  const CgOpaqueOp *row = cg_op_emit[n->op].opaque;
  return row->workspace ? row->workspace(g, n, workers) : 0;
}

void cg_emit_opaque(CgContext *c, CgFn *f, const CgKernelSpec *s) {
  const Opaque *o = s->detail;
  const IrGraph *g = s->plan->g;
  const IrNode *n = g->nodes[s->plan->fusion->kernels[s->index].ops[0]];
  const CgOpaqueOp *row = cg_op_emit[o->op].opaque;
  row->emit(c, f, o, g, n, row->mode);
}

/* ---- the rows ---- */

const CgOpaqueOp cg_opaque_maxpool2d = {.emit = emit_pool, .split = split_planes, .mode = POOL_MAX};
const CgOpaqueOp cg_opaque_maxpool2d_grad = {.emit = emit_pool, .split = split_planes, .mode = POOL_MAX_GRAD};
const CgOpaqueOp cg_opaque_avgpool2d = {.emit = emit_pool, .split = split_planes, .mode = POOL_AVG};
const CgOpaqueOp cg_opaque_avgpool2d_grad = {.emit = emit_pool, .split = split_planes, .mode = POOL_AVG_GRAD};
const CgOpaqueOp cg_opaque_gather = {.emit = emit_gather, .split = split_indices, .mode = 0};
const CgOpaqueOp cg_opaque_scatter_add = {.emit = emit_scatter_add, .split = NULL, .mode = 0};
const CgOpaqueOp cg_opaque_argmax = {.emit = emit_argmax, .split = NULL, .mode = 0};
/* never split: the runtime's collective runs on the thread that runs the step */
const CgOpaqueOp cg_opaque_all_sum = {.emit = emit_all_sum, .split = NULL, .mode = 0};
const CgOpaqueOp cg_opaque_concat = {.emit = emit_concat, .split = split_outer, .mode = 0};
const CgOpaqueOp cg_opaque_pad = {.emit = emit_pad, .split = NULL, .mode = 0};
const CgOpaqueOp cg_opaque_ctc_loss = {.emit = emit_ctc, .split = NULL, .mode = 0};
const CgOpaqueOp cg_opaque_ctc_loss_grad = {.emit = emit_ctc, .split = NULL, .mode = 1};

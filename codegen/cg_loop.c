/* LOOP kernels: one loop nest over the kernel's iteration space S computing its elementwise
 * members in registers, accumulating its reductions in their result buffers (a long innermost
 * sum in blocks, see "blocked summation"), then an epilogue over the reduced space. Every memory access is a set of strides over the dims of S (0 where
 * broadcast or reduced), so a read through a transpose/slice/broadcast view, a reduction's
 * accumulator and a store are all the same thing. Loop order: the first kept dim first (it is
 * the parallel dim: threads own disjoint accumulators), the rest in memory order; adjacent dims
 * that every access walks contiguously are merged so the innermost loop is long and unit-stride,
 * which is what LLVM's vectoriser wants. GEMM epilogues reuse this code (cg_loop_emit_members). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/cg_loop.h"
#include "codegen/cg_ops.h"
#include "support/rt_assert.h"

/* What the emission table (cg_ops.h) says of a member: how it is computed. */
static const CgOpEmit *row(IrOp op) { return &cg_op_emit[op]; }
static bool is_layout(IrOp op) { return row(op)->kind == CG_EMIT_VIEW; }
static bool needs(IrOp op, unsigned what) { return (row(op)->needs & what) != 0; }

/* ---- describing ---- */

static int add_access(CgLoop *l, int arg, const int64_t *strides, IrDType dtype) {
  for (int i = 0; i < l->n_access; i++)
    if (l->access[i].arg == arg && l->access[i].dtype == dtype &&
        !memcmp(l->access[i].strides, strides, sizeof(int64_t) * (size_t)l->space.rank))
      return i;
  if (l->n_access == l->cap_access) {
    l->cap_access = l->cap_access ? 2 * l->cap_access : 16;
    l->access = rt_xrealloc(l->access, (size_t)l->cap_access * sizeof *l->access);
  }
  CgAccess *a = &l->access[l->n_access];
  memset(a, 0, sizeof *a);
  a->arg = arg;
  a->dtype = dtype;
  memcpy(a->strides, strides, sizeof(int64_t) * (size_t)l->space.rank);
  return l->n_access++;
}

/* Strides over S of a value of shape `vs` read through view strides `vstr`, broadcast
 * right-aligned into S (main phase) or into the reduced space and from there into S. */
static void strides_over_space(const CgLoop *l, const IrShape *vs, const int64_t *vstr, bool epilogue,
                               int64_t *out) {
  const IrShape *target = epilogue ? &l->reduced : &l->space;
  int64_t t[IR_MAX_RANK] = {0};
  for (int d = 0; d < target->rank; d++) {
    int j = d - (target->rank - vs->rank);
    t[d] = (j < 0 || vs->dims[j] == 1) ? 0 : vstr[j];
  }
  if (!epilogue) {
    memcpy(out, t, sizeof t);
    return;
  }
  bool keepdims = l->reduced.rank == l->space.rank;
  for (int d = 0, r = 0; d < l->space.rank; d++) {
    if (l->is_reduced[d]) {
      out[d] = 0;
      if (keepdims) r++;
    } else {
      out[d] = t[r++];
    }
  }
}

/* The argument and view of the memory behind value v (a LEAF/BUFFER or a VIEW of one). */
static int value_arg(CgKernelSpec *s, IrId v, PassView *view) {
  const PassFusion *f = s->plan->fusion;
  *view = f->values[v].view;
  if (f->values[v].kind != PASS_VALUE_VIEW) {
    view->base = v;
    view->offset = 0;
    ir_shape_strides(&ir_type_of(s->plan->g, v)->shape, view->strides);
  }
  return cg_spec_arg(s, view->base, view->offset, false);
}

/* Members are described in graph order (ascending ids, checked as they are added), so a binary
 * search finds one: a kernel can hold thousands of members (a long elementwise chain). */
static int member_index(const CgLoop *l, IrId id) {
  for (int lo = 0, hi = l->n_members; lo < hi;) {
    int mid = lo + (hi - lo) / 2;
    if (l->members[mid].id == id) return mid;
    if (l->members[mid].id < id) lo = mid + 1;
    else hi = mid;
  }
  return -1;
}

static int store_access(CgKernelSpec *s, CgLoop *l, IrId id, bool epilogue, bool reduction) {
  const PassPlan *p = s->plan;
  const IrShape *vs = &ir_type_of(p->g, id)->shape;
  int64_t nat[IR_MAX_RANK], str[IR_MAX_RANK];
  ir_shape_strides(vs, nat);
  strides_over_space(l, vs, nat, epilogue || reduction, str);
  IrId mem = p->in_place_of[id] != IR_NONE ? p->in_place_of[id] : id;
  int arg = cg_spec_arg(s, mem, 0, true);
  return add_access(l, arg, str, ir_type_of(p->g, id)->dtype);
}

void cg_loop_describe(CgKernelSpec *s, CgLoop *l, const IrShape *space, const IrShape *reduced,
                      const bool *is_reduced, const IrId *ops, int n_ops, const bool *epilogue) {
  const IrGraph *g = s->plan->g;
  const PassFusion *f = s->plan->fusion;
  l->space = *space;
  l->reduced = reduced ? *reduced : *space;
  for (int d = 0; d < space->rank; d++) l->is_reduced[d] = is_reduced && is_reduced[d];
  l->members = rt_xcalloc((size_t)n_ops + 1, sizeof *l->members);
  l->flat_access = -1;
  l->onehot = false;
  for (int i = 0; i < n_ops; i++) {
    IrId id = ops[i];
    const IrNode *n = g->nodes[id];
    RT_ASSERT(i == 0 || ops[i - 1] < id, "kernel members out of graph order at %d", i);
    CgMember *m = &l->members[l->n_members++];
    m->id = id;
    m->epilogue = epilogue && epilogue[i];
    m->reduction = ir_op_is_reduce(n->op);
    m->store = -1;
    CgEmitKind kind = row(n->op)->kind;
    RT_ASSERT(kind == CG_EMIT_SCALAR || kind == CG_EMIT_REDUCE || kind == CG_EMIT_VIEW,
              "%s cannot be a loop member", ir_op_info[n->op].name);
    if (needs(n->op, CG_NEEDS_CLASS_DIM)) l->onehot = true;
    if (is_layout(n->op)) { /* a materialised layout op: one read through the composed view */
      PassView in, v;
      int arg = value_arg(s, n->in[0], &in);
      bool viewable = pass_view_compose(g, n, &in, &v);
      RT_ASSERT(viewable, "fusion left a layout op it cannot view");
      int64_t str[IR_MAX_RANK];
      strides_over_space(l, &n->type.shape, v.strides, m->epilogue, str);
      arg = cg_spec_arg(s, v.base, v.offset, false);
      m->in[0] = (CgRef){.kind = CG_REF_READ, .index = add_access(l, arg, str, n->type.dtype)};
    } else {
      for (int j = 0; j < n->n_in; j++) {
        IrId o = n->in[j];
        int mi = member_index(l, o);
        if (mi >= 0 && !l->members[mi].reduction && l->members[mi].epilogue == m->epilogue) {
          m->in[j] = (CgRef){.kind = CG_REF_MEMBER, .index = mi};
          continue;
        }
        if (mi >= 0 && l->members[mi].reduction) { /* epilogue reads the finished accumulator */
          m->in[j] = (CgRef){.kind = CG_REF_READ, .index = l->members[mi].store};
          continue;
        }
        const IrNode *on = g->nodes[o];
        if (on->kind == IR_NODE_CONST && on->init != IR_INIT_DATA) { /* an immediate */
          double v = on->init == IR_INIT_ONES ? 1.0 : on->init == IR_INIT_FILL ? on->value : 0.0;
          m->in[j] = (CgRef){.kind = CG_REF_CONST, .value = v, .dtype = on->type.dtype};
          continue;
        }
        PassView v;
        int arg = value_arg(s, o, &v);
        const IrShape *os = &ir_type_of(g, o)->shape;
        int64_t str[IR_MAX_RANK] = {0};
        if (needs(n->op, CG_NEEDS_CLASS_DIM)) /* the operand has S's shape without the last (class) dim */
          for (int d = 0; d < os->rank; d++) str[d] = os->dims[d] == 1 ? 0 : v.strides[d];
        else
          strides_over_space(l, os, v.strides, m->epilogue, str);
        m->in[j] = (CgRef){.kind = CG_REF_READ, .index = add_access(l, arg, str, ir_type_of(g, o)->dtype)};
      }
    }
    if (needs(n->op, CG_NEEDS_FLAT_INDEX) && l->flat_access < 0) {
      int64_t nat[IR_MAX_RANK];
      ir_shape_strides(space, nat);
      l->flat_access = add_access(l, -1, nat, IR_I32);
    }
    bool stored = m->reduction || f->values[id].kind == PASS_VALUE_BUFFER;
    if (stored) m->store = store_access(s, l, id, m->epilogue, m->reduction);
  }
}

/* Loop order and merging of adjacent dims; fills loop_* fields. */
void cg_loop_shape(CgLoop *l, bool allow_merge) {
  int r = l->space.rank, order[IR_MAX_RANK], n = 0;
  int p = -1;
  bool any_reduced = false;
  for (int d = 0; d < r; d++) any_reduced |= l->is_reduced[d];
  if (any_reduced)
    for (int d = 0; d < r && p < 0; d++)
      if (!l->is_reduced[d]) p = d;
  if (p >= 0) order[n++] = p;
  for (int d = 0; d < r; d++)
    if (d != p) order[n++] = d;
  l->n_loops = 0;
  for (int i = 0; i < r; i++) {
    int d = order[i];
    bool merge = allow_merge && l->n_loops > 0 && i > 0;
    if (merge) {
      int prev = order[i - 1];
      merge = l->is_reduced[prev] == l->is_reduced[d] && !(l->onehot && d == r - 1) && prev == d - 1;
      for (int a = 0; merge && a < l->n_access; a++)
        merge = l->access[a].strides[prev] == l->access[a].strides[d] * l->space.dims[d];
    }
    if (merge) {
      l->loop_size[l->n_loops - 1] *= l->space.dims[d];
      l->loop_dim[l->n_loops - 1] = d;
    } else {
      l->loop_size[l->n_loops] = l->space.dims[d];
      l->loop_dim[l->n_loops] = d;
      l->loop_reduced[l->n_loops] = l->is_reduced[d];
      l->n_loops++;
    }
  }
  l->parallel = l->n_loops > 0 && !l->loop_reduced[0];
}

void cg_loop_key(CgKernelSpec *s, const CgLoop *l) {
  const IrGraph *g = s->plan->g;
  cg_spec_key(s, "loops");
  for (int i = 0; i < l->n_loops; i++) cg_spec_key(s, " %lld%s", (long long)l->loop_size[i], l->loop_reduced[i] ? "r" : "");
  cg_spec_key(s, "|acc");
  for (int a = 0; a < l->n_access; a++) {
    cg_spec_key(s, " a%d%s:", l->access[a].arg, ir_dtype_name(l->access[a].dtype));
    for (int i = 0; i < l->n_loops; i++) cg_spec_key(s, "%lld,", (long long)l->access[a].strides[l->loop_dim[i]]);
  }
  cg_spec_key(s, "|m");
  for (int i = 0; i < l->n_members; i++) {
    const CgMember *m = &l->members[i];
    const IrNode *n = g->nodes[m->id];
    cg_spec_key(s, " %s%s%s(", ir_op_info[n->op].name, m->epilogue ? "@e" : "", n->type.dtype == IR_I32 ? ":i" : n->type.dtype == IR_I8 ? ":b" : "");
    int nin = is_layout(n->op) ? 1 : n->n_in;
    for (int j = 0; j < nin; j++) {
      if (m->in[j].kind == CG_REF_CONST)
        cg_spec_key(s, "k%a,", m->in[j].value);
      else
        cg_spec_key(s, "%c%d,", m->in[j].kind == CG_REF_MEMBER ? 'm' : 'r', m->in[j].index);
    }
    cg_spec_key(s, ")s%d", m->store);
    if (needs(n->op, CG_NEEDS_ATTR0_KEY)) cg_spec_key(s, "#%lld", (long long)n->attr[0].v[0]);
    if (ir_op_is_reduce(n->op) && row(n->op)->reduce.mean) cg_spec_key(s, "/%lld", (long long)(ir_shape_numel(&l->space) / ir_shape_numel(&l->reduced)));
  }
}

void cg_loop_free(CgLoop *l) {
  free(l->members);
  free(l->access);
}

/* ---- emitting ---- */

static LLVMValueRef access_ptr(CgContext *c, const CgLoop *l, const CgFn *f, const CgLoopNest *nest, int a) {
  int64_t str[IR_MAX_RANK];
  for (int i = 0; i < l->n_loops; i++) str[i] = l->access[a].strides[l->loop_dim[i]];
  LLVMValueRef off = cg_loop_offset(c, nest, str, 0);
  return LLVMBuildInBoundsGEP2(c->b, cg_dtype(c, l->access[a].dtype), f->args[l->access[a].arg], &off, 1, "");
}

static LLVMValueRef load(CgContext *c, const CgLoop *l, const CgFn *f, const CgLoopNest *nest, int a) {
  return LLVMBuildLoad2(c->b, cg_dtype(c, l->access[a].dtype), access_ptr(c, l, f, nest, a), "");
}

static double reduce_init(IrOp op) { return row(op)->reduce.init; }

/* Opens the first `rank` loops; reduced loops get extent 1 in the init/epilogue passes
 * (accumulator strides are 0 there); the parallel loop takes [begin, end), or bounds[] when
 * given. */
static void open_outer_loops(CgContext *c, const CgLoop *l, const CgFn *f, CgLoopNest *nest, int rank,
                             bool kept_only, const char *name, LLVMValueRef const *lo, LLVMValueRef const *hi) {
  nest->rank = rank;
  for (int i = 0; i < rank; i++) {
    nest->lo[i] = lo ? lo[i] : cg_i64(c, 0);
    nest->hi[i] = hi ? hi[i] : cg_i64(c, kept_only && l->loop_reduced[i] ? 1 : l->loop_size[i]);
  }
  if (!lo && l->parallel && rank > 0) {
    nest->lo[0] = f->begin;
    nest->hi[0] = f->end;
  }
  cg_loop_open(c, nest, name);
}

static void open_loops(CgContext *c, const CgLoop *l, const CgFn *f, CgLoopNest *nest, bool kept_only,
                       const char *name, LLVMValueRef const *lo, LLVMValueRef const *hi) {
  open_outer_loops(c, l, f, nest, l->n_loops, kept_only, name, lo, hi);
}

static LLVMValueRef member_value(CgContext *c, const CgLoop *l, const CgFn *f, const CgLoopNest *nest,
                                 const IrGraph *g, int mi, LLVMValueRef *vals) {
  const CgMember *m = &l->members[mi];
  const IrNode *n = g->nodes[m->id];
  if (is_layout(n->op)) return load(c, l, f, nest, m->in[0].index);
  LLVMValueRef x[4];
  for (int j = 0; j < n->n_in; j++) {
    const CgRef *r = &m->in[j];
    if (r->kind == CG_REF_CONST)
      x[j] = r->dtype == IR_F32 ? cg_f32(c, r->value) : LLVMConstInt(cg_dtype(c, r->dtype), (unsigned long long)(long long)r->value, 1);
    else
      x[j] = r->kind == CG_REF_MEMBER ? vals[r->index] : load(c, l, f, nest, r->index);
  }
  CgIndex at = {NULL, NULL};
  if (needs(n->op, CG_NEEDS_CLASS_DIM)) { /* the last dim of S is a loop of its own: its index */
    int last = 0;
    for (int i = 0; i < l->n_loops; i++)
      if (l->loop_dim[i] == l->space.rank - 1) last = i;
    at.class_index = nest->idx[last];
  }
  if (needs(n->op, CG_NEEDS_FLAT_INDEX)) {
    int64_t str[IR_MAX_RANK];
    for (int i = 0; i < l->n_loops; i++) str[i] = l->access[l->flat_access].strides[l->loop_dim[i]];
    at.flat = cg_loop_offset(c, nest, str, 0);
  }
  if (m->reduction) return x[0];
  return row(n->op)->scalar(c, n, x, &at);
}

/* Adds x into its accumulator: the reduction's store access, or `partial` (a register-held
 * block sum, see emit_main_blocked) when given. */
static void accumulate(CgContext *c, const CgLoop *l, const CgFn *f, const CgLoopNest *nest, IrOp op,
                       int store, LLVMValueRef partial, LLVMValueRef x) {
  LLVMValueRef ptr = partial ? partial : access_ptr(c, l, f, nest, store);
  LLVMValueRef acc = LLVMBuildLoad2(c->b, c->f32, ptr, "acc");
  LLVMValueRef r;
  if (row(op)->reduce.max) { /* NaN-propagating, like the reference */
    LLVMValueRef take = LLVMBuildOr(c->b, LLVMBuildFCmp(c->b, LLVMRealOGT, x, acc, ""),
                                    LLVMBuildFCmp(c->b, LLVMRealUNO, x, x, ""), "");
    r = LLVMBuildSelect(c->b, take, x, acc, "max");
  } else {
    r = LLVMBuildFAdd(c->b, acc, x, "sum");
    LLVMSetFastMathFlags(r, LLVMFastMathAllowReassoc); /* lets the vectoriser split the sum */
  }
  LLVMBuildStore(c->b, r, ptr);
}

/* Computes the members of one phase at the current index and stores/accumulates them;
 * partials[i] (may be NULL) is where reduction member i accumulates instead of memory. */
static void emit_phase(CgContext *c, const CgLoop *l, const CgFn *f, const CgLoopNest *nest,
                       const IrGraph *g, bool epilogue, LLVMValueRef const *partials) {
  LLVMValueRef *vals = rt_xcalloc((size_t)l->n_members + 1, sizeof *vals);
  for (int i = 0; i < l->n_members; i++) {
    const CgMember *m = &l->members[i];
    if (m->epilogue != epilogue) continue;
    vals[i] = member_value(c, l, f, nest, g, i, vals);
    if (m->reduction)
      accumulate(c, l, f, nest, g->nodes[m->id]->op, m->store, partials ? partials[i] : NULL, vals[i]);
    else if (m->store >= 0)
      LLVMBuildStore(c->b, vals[i], access_ptr(c, l, f, nest, m->store));
  }
  free(vals);
}

/* ---- blocked summation ----
 * One f32 running sum per vector lane loses about n * 2^-24 relative accuracy over n terms (4M
 * copies of 0.1 came out 0.2% low). A long innermost reduced loop therefore runs in blocks of
 * CG_SUM_BLOCK elements: each block is summed from zero in a register (vectorised, each lane
 * adding at most CG_SUM_BLOCK / VF terms), the block sums are added in double, and that total
 * goes into the accumulator in memory once per pass over the loop. The error is then that of
 * one block, whatever the length; max reductions are exact and keep accumulating in memory. */
enum { CG_SUM_BLOCK = 2048 };

static bool is_sum(IrOp op) { return !row(op)->reduce.max; }

static bool blocked_sums(const CgLoop *l, const IrGraph *g) {
  int in = l->n_loops - 1;
  if (in < 0 || !l->loop_reduced[in] || l->loop_size[in] <= CG_SUM_BLOCK) return false;
  for (int i = 0; i < l->n_members; i++)
    if (l->members[i].reduction && is_sum(g->nodes[l->members[i].id]->op)) return true;
  return false;
}

/* A stack slot in the function's entry block, where mem2reg turns it into a register. */
static LLVMValueRef entry_slot(CgContext *c, LLVMTypeRef t, const char *name) {
  LLVMBasicBlockRef entry = LLVMGetEntryBasicBlock(LLVMGetBasicBlockParent(LLVMGetInsertBlock(c->b)));
  LLVMBuilderRef b = LLVMCreateBuilderInContext(c->ctx);
  LLVMValueRef first = LLVMGetFirstInstruction(entry);
  if (first) LLVMPositionBuilderBefore(b, first);
  else LLVMPositionBuilderAtEnd(b, entry);
  LLVMValueRef slot = LLVMBuildAlloca(b, t, name);
  LLVMDisposeBuilder(b);
  return slot;
}

/* The main pass with the innermost (reduced) loop split into blocks: outer loops, then per
 * sum member total = 0 (double); for each block: partial = 0 (f32), partial += x over the
 * block, total += partial; after the blocks, accumulator += total. */
static void emit_main_blocked(CgContext *c, const CgLoop *l, const CgFn *f, const IrGraph *g) {
  int in = l->n_loops - 1, n = l->n_members;
  int64_t size = l->loop_size[in];
  LLVMTypeRef f64 = LLVMDoubleTypeInContext(c->ctx);
  LLVMValueRef *partial = rt_xcalloc((size_t)n + 1, sizeof *partial);
  LLVMValueRef *total = rt_xcalloc((size_t)n + 1, sizeof *total);
  for (int i = 0; i < n; i++)
    if (l->members[i].reduction && is_sum(g->nodes[l->members[i].id]->op)) {
      partial[i] = entry_slot(c, c->f32, "block_sum");
      total[i] = entry_slot(c, f64, "total");
    }
  CgLoopNest outer, blocks, elems;
  open_outer_loops(c, l, f, &outer, in, false, "main", NULL, NULL);
  for (int i = 0; i < n; i++)
    if (total[i]) LLVMBuildStore(c->b, LLVMConstReal(f64, 0.0), total[i]);
  blocks = (CgLoopNest){.rank = 1, .lo = {cg_i64(c, 0)}, .hi = {cg_i64(c, (size + CG_SUM_BLOCK - 1) / CG_SUM_BLOCK)}};
  cg_loop_open(c, &blocks, "block");
  for (int i = 0; i < n; i++)
    if (partial[i]) LLVMBuildStore(c->b, cg_f32(c, 0.0), partial[i]);
  LLVMValueRef start = LLVMBuildNSWMul(c->b, blocks.idx[0], cg_i64(c, CG_SUM_BLOCK), "block_start");
  LLVMValueRef stop = LLVMBuildNSWAdd(c->b, start, cg_i64(c, CG_SUM_BLOCK), "");
  LLVMValueRef past = LLVMBuildICmp(c->b, LLVMIntSGT, stop, cg_i64(c, size), "");
  elems = (CgLoopNest){.rank = 1, .lo = {start}, .hi = {LLVMBuildSelect(c->b, past, cg_i64(c, size), stop, "block_end")}};
  cg_loop_open(c, &elems, "elem");
  CgLoopNest at = outer; /* the full index: the outer loops', then the element's */
  at.rank = l->n_loops;
  at.idx[in] = elems.idx[0];
  emit_phase(c, l, f, &at, g, false, partial);
  cg_loop_close(c, &elems);
  for (int i = 0; i < n; i++) {
    if (!total[i]) continue;
    LLVMValueRef p = LLVMBuildFPExt(c->b, LLVMBuildLoad2(c->b, c->f32, partial[i], ""), f64, "");
    LLVMBuildStore(c->b, LLVMBuildFAdd(c->b, LLVMBuildLoad2(c->b, f64, total[i], ""), p, ""), total[i]);
  }
  cg_loop_close(c, &blocks);
  for (int i = 0; i < n; i++) {
    if (!total[i]) continue;
    LLVMValueRef ptr = access_ptr(c, l, f, &outer, l->members[i].store);
    LLVMValueRef acc = LLVMBuildFPExt(c->b, LLVMBuildLoad2(c->b, c->f32, ptr, "acc"), f64, "");
    LLVMValueRef sum = LLVMBuildFAdd(c->b, acc, LLVMBuildLoad2(c->b, f64, total[i], ""), "");
    LLVMBuildStore(c->b, LLVMBuildFPTrunc(c->b, sum, c->f32, "sum"), ptr);
  }
  cg_loop_close(c, &outer);
  free(partial);
  free(total);
}

void cg_loop_emit(CgContext *c, const CgLoop *l, const CgFn *f, const IrGraph *g,
                  LLVMValueRef const *lo, LLVMValueRef const *hi) {
  CgLoopNest nest;
  bool reductions = false, epilogue = false;
  for (int i = 0; i < l->n_members; i++) {
    reductions |= l->members[i].reduction;
    epilogue |= l->members[i].epilogue;
  }
  if (reductions) { /* accumulators start at the reduction's identity */
    open_loops(c, l, f, &nest, true, "init", lo, hi);
    for (int i = 0; i < l->n_members; i++)
      if (l->members[i].reduction)
        LLVMBuildStore(c->b, cg_f32(c, reduce_init(g->nodes[l->members[i].id]->op)),
                       access_ptr(c, l, f, &nest, l->members[i].store));
    cg_loop_close(c, &nest);
  }
  if (!lo && blocked_sums(l, g)) {
    emit_main_blocked(c, l, f, g);
  } else {
    open_loops(c, l, f, &nest, false, "main", lo, hi);
    emit_phase(c, l, f, &nest, g, false, NULL);
    cg_loop_close(c, &nest);
  }
  if (!reductions && !epilogue) return;
  open_loops(c, l, f, &nest, reductions, "epilogue", lo, hi);
  for (int i = 0; i < l->n_members; i++) {
    const CgMember *m = &l->members[i];
    if (!m->reduction || !row(g->nodes[m->id]->op)->reduce.mean) continue;
    double count = (double)ir_shape_numel(&l->space) / (double)ir_shape_numel(&l->reduced);
    LLVMValueRef ptr = access_ptr(c, l, f, &nest, m->store);
    LLVMValueRef v = LLVMBuildLoad2(c->b, c->f32, ptr, "");
    LLVMBuildStore(c->b, LLVMBuildFDiv(c->b, v, cg_f32(c, count), "mean"), ptr);
  }
  emit_phase(c, l, f, &nest, g, true, NULL);
  cg_loop_close(c, &nest);
}

/* ---- the LOOP kernel kind ---- */

static void loop_release(void *detail) {
  cg_loop_free(detail);
  free(detail);
}

void cg_describe_loop(CgKernelSpec *s) {
  const PassKernel *k = &s->plan->fusion->kernels[s->index];
  const IrGraph *g = s->plan->g;
  CgLoop *l = rt_xcalloc(1, sizeof *l);
  s->detail = l;
  s->release = loop_release;
  bool is_reduced[IR_MAX_RANK] = {0};
  IrShape reduced = k->space;
  for (int i = 0; i < k->n_ops; i++) {
    const IrNode *n = g->nodes[k->ops[i]];
    if (!ir_op_is_reduce(n->op)) continue;
    for (int a = 0; a < n->attr[0].n; a++) is_reduced[n->attr[0].v[a]] = true;
    reduced = n->type.shape;
  }
  cg_loop_describe(s, l, &k->space, k->n_reductions ? &reduced : NULL, is_reduced, k->ops, k->n_ops,
                   k->epilogue);
  cg_loop_shape(l, true);
  cg_spec_key(s, "loop|");
  cg_loop_key(s, l);
  int64_t inner = 1;
  for (int i = 1; i < l->n_loops; i++) inner *= l->loop_size[i];
  s->parallel_items = l->parallel ? l->loop_size[0] : 1;
  s->grain = inner >= 16384 ? 1 : (16384 + inner - 1) / inner;
}

void cg_emit_loop(CgContext *c, CgFn *f, const CgKernelSpec *s) {
  const CgLoop *l = s->detail;
  cg_loop_emit(c, l, f, s->plan->g, NULL, NULL);
}


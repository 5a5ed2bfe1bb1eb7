/* Program emission (cg_program.h): kernels are described in schedule order, identical code keys
 * share one function, and the step function calls each kernel (through the thread pool when it
 * has parallel work) with pointers into the three regions, then applies the updates; and the
 * loading of a compiled object into the JIT. Planning and the pipeline are the driver's. */
#include "codegen/cg_program.h"

#include <stdlib.h>
#include <string.h>

#include "codegen/cg_cache.h"
#include "codegen/cg_kernel.h"
#include "codegen/cg_symbols.h"
#include "ir/ir_ops.h"
#include "support/rt_assert.h"

typedef struct Emitted {
  char *key;
  LLVMValueRef fn, tramp;
  LLVMValueRef prologue_tramp; /* NULL when the kernel has no prologue */
  char name[96];
} Emitted;

typedef struct ProgramEmit {
  CgContext *c;
  const PassPlan *plan;
  Emitted *table; /* open addressing on the key hash */
  int cap, count;
  LLVMValueRef step, regions[PASS_REGION_COUNT];
  LLVMValueRef *const_globals; /* (n_nodes) */
} ProgramEmit;

static uint64_t key_hash(const char *k) { return cg_hash_fnv1a64(k, strlen(k)); }

static Emitted *lookup(ProgramEmit *pe, const char *key) {
  uint64_t h = key_hash(key);
  for (int i = (int)(h % (uint64_t)pe->cap);; i = (i + 1) % pe->cap) {
    if (!pe->table[i].key || !strcmp(pe->table[i].key, key)) return &pe->table[i];
  }
}

static void describe(CgKernelSpec *s) {
  switch (s->plan->fusion->kernels[s->index].kind) {
    case PASS_KERNEL_LOOP: cg_describe_loop(s); break;
    case PASS_KERNEL_GEMM: cg_describe_gemm(s); break;
    default: cg_describe_opaque(s);
  }
}

/* void tramp(ptr ctx, i64 begin, i64 end, i32 worker): unpacks the pointers for the pool */
static LLVMValueRef emit_trampoline(CgContext *c, LLVMValueRef kernel, int n_args, const char *name) {
  LLVMTypeRef params[4] = {c->ptr, c->i64, c->i64, c->i32};
  LLVMValueRef fn = LLVMAddFunction(c->mod, name, LLVMFunctionType(c->void_t, params, 4, 0));
  LLVMSetLinkage(fn, LLVMInternalLinkage);
  LLVMBasicBlockRef saved = LLVMGetInsertBlock(c->b);
  LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->ctx, fn, "entry"));
  LLVMValueRef args[CG_MAX_ARGS + 3];
  for (int i = 0; i < n_args; i++) {
    LLVMValueRef idx = cg_i64(c, i);
    LLVMValueRef slot = LLVMBuildInBoundsGEP2(c->b, c->ptr, LLVMGetParam(fn, 0), &idx, 1, "");
    args[i] = LLVMBuildLoad2(c->b, c->ptr, slot, "");
  }
  for (int i = 1; i < 4; i++) args[n_args + i - 1] = LLVMGetParam(fn, (unsigned)i);
  LLVMBuildCall2(c->b, LLVMGlobalGetValueType(kernel), kernel, args, (unsigned)n_args + 3, "");
  LLVMBuildRetVoid(c->b);
  LLVMPositionBuilderAtEnd(c->b, saved);
  return fn;
}

/* The layer a kernel belongs to, for its name (k12.conv2d@conv2d_2 in profiles): the name of
 * the first parameter its ops read, without the part after its last '.' ("conv2d_6.weight" ->
 * "conv2d_6"); "" when it reads none. Kernels with the same code share the first one's name. */
static void kernel_layer(const IrGraph *g, const PassKernel *k, char *out, size_t size) {
  out[0] = 0;
  for (int i = 0; i < k->n_ops; i++) {
    const IrNode *op = g->nodes[k->ops[i]];
    for (int j = 0; j < op->n_in; j++) {
      const IrNode *in = g->nodes[op->in[j]];
      if (in->kind != IR_NODE_PARAM || !in->name) continue;
      const char *dot = strrchr(in->name, '.');
      int len = dot ? (int)(dot - in->name) : (int)strlen(in->name);
      snprintf(out, size, "%.*s", len, in->name);
      return;
    }
  }
}

/* The kernel function of spec (or of its prologue) and its trampoline. */
static LLVMValueRef emit_phase(ProgramEmit *pe, CgKernelSpec *s, const char *name, bool prologue) {
  CgContext *c = pe->c;
  const PassKernel *k = &pe->plan->fusion->kernels[s->index];
  LLVMBasicBlockRef saved = LLVMGetInsertBlock(c->b);
  CgFn f;
  cg_fn_begin(c, &f, s, name);
  f.prologue = prologue;
  switch (k->kind) {
    case PASS_KERNEL_LOOP: cg_emit_loop(c, &f, s); break;
    case PASS_KERNEL_GEMM: cg_emit_gemm(c, &f, s); break;
    default: cg_emit_opaque(c, &f, s);
  }
  cg_fn_end(c, &f);
  LLVMPositionBuilderAtEnd(c->b, saved);
  char tname[112];
  snprintf(tname, sizeof tname, "%s.tramp", name);
  return emit_trampoline(c, f.fn, s->n_args, tname);
}

static Emitted *kernel_function(ProgramEmit *pe, CgKernelSpec *s) {
  Emitted *e = lookup(pe, s->key);
  if (e->key) return e;
  const PassKernel *k = &pe->plan->fusion->kernels[s->index];
  char name[96], layer[48];
  kernel_layer(pe->plan->g, k, layer, sizeof layer);
  snprintf(name, sizeof name, "k%d.%s%s%s", pe->count, ir_op_info[pe->plan->g->nodes[k->ops[0]]->op].name,
           layer[0] ? "@" : "", layer);
  e->key = rt_xstrdup(s->key);
  snprintf(e->name, sizeof e->name, "%s", name);
  e->tramp = emit_phase(pe, s, name, false);
  if (s->prologue_items > 0) {
    char pname[112];
    snprintf(pname, sizeof pname, "%s.prologue", name);
    e->prologue_tramp = emit_phase(pe, s, pname, true);
  }
  pe->count++;
  return e;
}

/* A const node's data as a private global (f32 or i32 array). */
static LLVMValueRef const_global(ProgramEmit *pe, IrId id) {
  if (pe->const_globals[id]) return pe->const_globals[id];
  CgContext *c = pe->c;
  const IrNode *n = pe->plan->g->nodes[id];
  int64_t count = ir_shape_numel(&n->type.shape);
  LLVMTypeRef et = cg_dtype(c, n->type.dtype);
  LLVMValueRef *vals = rt_xmalloc((size_t)count * sizeof *vals);
  for (int64_t i = 0; i < count; i++) {
    double v = n->init == IR_INIT_DATA ? n->data[i] : n->init == IR_INIT_ONES ? 1.0 : n->init == IR_INIT_FILL ? n->value : 0.0;
    vals[i] = n->type.dtype == IR_F32 ? cg_f32(c, v) : LLVMConstInt(et, (unsigned long long)(long long)v, 1);
  }
  LLVMValueRef init = LLVMConstArray2(et, vals, (uint64_t)count);
  free(vals);
  LLVMValueRef gv = LLVMAddGlobal(c->mod, LLVMTypeOf(init), "const");
  LLVMSetInitializer(gv, init);
  LLVMSetGlobalConstant(gv, 1);
  LLVMSetLinkage(gv, LLVMPrivateLinkage);
  LLVMSetAlignment(gv, 64);
  return pe->const_globals[id] = gv;
}

/* ---- the step function: a loop over a table of calls ----
 * Straight-line code with thousands of calls makes LLVM's optimiser and code generator slow
 * (superlinear in function size), so the step is data: one record per kernel call (trampoline,
 * parallel range, where its arguments live) and one per update copy, walked by a small loop. */

enum { REGION_CONST = PASS_REGION_COUNT }; /* an argument pointing into a const global */

typedef struct TableBuild {
  LLVMValueRef *calls, *args, *copies;
  int n_calls, n_args, n_copies, cap_calls, cap_args, cap_copies;
} TableBuild;

static void push(LLVMValueRef **a, int *n, int *cap, LLVMValueRef v) {
  if (*n == *cap) {
    *cap = *cap ? 2 * *cap : 256;
    *a = rt_xrealloc(*a, (size_t)*cap * sizeof **a);
  }
  (*a)[(*n)++] = v;
}

/* {i32 region, ptr global, i64 byte offset}: where one argument points */
static LLVMTypeRef arg_type(CgContext *c) {
  LLVMTypeRef f[3] = {c->i32, c->ptr, c->i64};
  return LLVMStructTypeInContext(c->ctx, f, 3, 0);
}

/* {ptr trampoline, i32 first arg, i32 arg count, i64 items, i64 grain} */
static LLVMTypeRef call_type(CgContext *c) {
  LLVMTypeRef f[5] = {c->ptr, c->i32, c->i32, c->i64, c->i64};
  return LLVMStructTypeInContext(c->ctx, f, 5, 0);
}

/* {arg dst, arg src, i64 bytes} */
static LLVMTypeRef copy_type(CgContext *c) {
  LLVMTypeRef f[3] = {arg_type(c), arg_type(c), c->i64};
  return LLVMStructTypeInContext(c->ctx, f, 3, 0);
}

/* The record of a slot; region NONE is the const node id's global. */
static LLVMValueRef slot_record(ProgramEmit *pe, PassSlot slot, IrId id, int64_t byte_offset) {
  CgContext *c = pe->c;
  int region = slot.region;
  LLVMValueRef global = LLVMConstNull(c->ptr);
  int64_t off = byte_offset;
  if (region == PASS_REGION_NONE) {
    RT_ASSERT(id != IR_NONE && pe->plan->g->nodes[id]->kind == IR_NODE_CONST, "value %d has no memory", id);
    region = REGION_CONST;
    global = const_global(pe, id);
  } else {
    off += slot.offset;
  }
  LLVMValueRef f[3] = {cg_i32(c, region), global, cg_i64(c, off)};
  return LLVMConstNamedStruct(arg_type(c), f, 3);
}

static LLVMValueRef arg_record(ProgramEmit *pe, IrId id, int64_t elem_offset) {
  return slot_record(pe, pe->plan->slots[id], id, elem_offset * ir_dtype_size(ir_type_of(pe->plan->g, id)->dtype));
}

static void table_call(ProgramEmit *pe, TableBuild *t, const CgKernelSpec *s, const Emitted *e) {
  CgContext *c = pe->c;
  int first = t->n_args;
  for (int i = 0; i < s->n_args; i++) {
    const CgArg *a = &s->args[i];
    LLVMValueRef rec;
    if (a->value == IR_NONE) { /* the kernel's workspace */
      LLVMValueRef f[3] = {cg_i32(c, PASS_REGION_SCRATCH), LLVMConstNull(c->ptr), cg_i64(c, pe->plan->workspace[s->index])};
      rec = LLVMConstNamedStruct(arg_type(c), f, 3);
    } else {
      rec = arg_record(pe, a->value, a->offset);
    }
    push(&t->args, &t->n_args, &t->cap_args, rec);
  }
  if (e->prologue_tramp) {
    LLVMValueRef f[5] = {e->prologue_tramp, cg_i32(c, first), cg_i32(c, s->n_args), cg_i64(c, s->prologue_items),
                         cg_i64(c, 1)};
    push(&t->calls, &t->n_calls, &t->cap_calls, LLVMConstNamedStruct(call_type(c), f, 5));
  }
  int64_t items = s->parallel_items > 0 ? s->parallel_items : 1;
  LLVMValueRef f[5] = {e->tramp, cg_i32(c, first), cg_i32(c, s->n_args), cg_i64(c, items),
                       cg_i64(c, s->grain > 0 ? s->grain : 1)};
  push(&t->calls, &t->n_calls, &t->cap_calls, LLVMConstNamedStruct(call_type(c), f, 5));
}

/* After the kernels: the plan's update phase (output snapshots, update values into targets). */
static void table_updates(ProgramEmit *pe, TableBuild *t) {
  CgContext *c = pe->c;
  for (int i = 0; i < pe->plan->n_copies; i++) {
    const PassCopy *cp = &pe->plan->copies[i];
    LLVMValueRef fields[3] = {slot_record(pe, cp->dst, IR_NONE, 0), slot_record(pe, cp->src, cp->src_node, 0),
                              cg_i64(c, cp->bytes)};
    push(&t->copies, &t->n_copies, &t->cap_copies, LLVMConstNamedStruct(copy_type(c), fields, 3));
  }
}

static LLVMValueRef table_global(CgContext *c, LLVMTypeRef type, LLVMValueRef *items, int n, const char *name) {
  LLVMValueRef init = LLVMConstArray2(type, items, (uint64_t)n);
  LLVMValueRef gv = LLVMAddGlobal(c->mod, LLVMTypeOf(init), name);
  LLVMSetInitializer(gv, init);
  LLVMSetGlobalConstant(gv, 1);
  LLVMSetLinkage(gv, LLVMPrivateLinkage);
  return gv;
}

static LLVMValueRef field(CgContext *c, LLVMTypeRef st, LLVMValueRef rec, unsigned i, LLVMTypeRef t) {
  return LLVMBuildLoad2(c->b, t, LLVMBuildStructGEP2(c->b, st, rec, i, ""), "");
}

/* The pointer an argument record stands for. */
static LLVMValueRef resolve_arg(CgContext *c, LLVMValueRef regions, LLVMValueRef rec) {
  LLVMTypeRef at = arg_type(c);
  LLVMValueRef region = field(c, at, rec, 0, c->i32), global = field(c, at, rec, 1, c->ptr);
  LLVMValueRef off = field(c, at, rec, 2, c->i64);
  LLVMValueRef is_const = LLVMBuildICmp(c->b, LLVMIntEQ, region, cg_i32(c, REGION_CONST), "");
  LLVMValueRef r = LLVMBuildSelect(c->b, is_const, cg_i32(c, 0), region, "");
  LLVMValueRef idx = LLVMBuildZExt(c->b, r, c->i64, "");
  LLVMValueRef base = LLVMBuildLoad2(c->b, c->ptr, LLVMBuildInBoundsGEP2(c->b, c->ptr, regions, &idx, 1, ""), "");
  base = LLVMBuildSelect(c->b, is_const, global, base, "");
  return LLVMBuildGEP2(c->b, c->i8, base, &off, 1, "arg");
}

/* for (i = 0; i < n; i++) body(i) with the builder left in the body; returns the index */
static LLVMValueRef open_loop(CgContext *c, CgLoopNest *l, int64_t n, const char *name) {
  l->rank = 1;
  l->lo[0] = cg_i64(c, 0);
  l->hi[0] = cg_i64(c, n);
  cg_loop_open(c, l, name);
  return l->idx[0];
}

static void emit_step_body(ProgramEmit *pe, TableBuild *t) {
  CgContext *c = pe->c;
  LLVMValueRef regions = LLVMBuildArrayAlloca(c->b, c->ptr, cg_i64(c, PASS_REGION_COUNT), "regions");
  for (int r = 0; r < PASS_REGION_COUNT; r++) {
    LLVMValueRef idx = cg_i64(c, r);
    LLVMBuildStore(c->b, pe->regions[r], LLVMBuildInBoundsGEP2(c->b, c->ptr, regions, &idx, 1, ""));
  }
  LLVMValueRef ctx = LLVMBuildArrayAlloca(c->b, c->ptr, cg_i64(c, CG_MAX_ARGS), "ctx");
  LLVMValueRef calls = table_global(c, call_type(c), t->calls, t->n_calls, "calls");
  LLVMValueRef args = t->n_args ? table_global(c, arg_type(c), t->args, t->n_args, "args") : NULL;
  CgLoopNest lc, la;
  LLVMValueRef i = open_loop(c, &lc, t->n_calls, "call");
  LLVMTypeRef ct = call_type(c);
  LLVMValueRef rec = LLVMBuildInBoundsGEP2(c->b, ct, calls, &i, 1, "");
  LLVMValueRef tramp = field(c, ct, rec, 0, c->ptr);
  LLVMValueRef first = LLVMBuildZExt(c->b, field(c, ct, rec, 1, c->i32), c->i64, "");
  LLVMValueRef n_args = LLVMBuildZExt(c->b, field(c, ct, rec, 2, c->i32), c->i64, "");
  LLVMValueRef items = field(c, ct, rec, 3, c->i64), grain = field(c, ct, rec, 4, c->i64);
  if (args) {
    la.rank = 1;
    la.lo[0] = cg_i64(c, 0);
    la.hi[0] = n_args;
    cg_loop_open(c, &la, "arg");
    LLVMValueRef k = LLVMBuildNSWAdd(c->b, first, la.idx[0], "");
    LLVMValueRef p = resolve_arg(c, regions, LLVMBuildInBoundsGEP2(c->b, arg_type(c), args, &k, 1, ""));
    LLVMBuildStore(c->b, p, LLVMBuildInBoundsGEP2(c->b, c->ptr, ctx, &la.idx[0], 1, ""));
    cg_loop_close(c, &la);
  }
  LLVMTypeRef tp[4] = {c->ptr, c->i64, c->i64, c->i32};
  LLVMTypeRef tramp_type = LLVMFunctionType(c->void_t, tp, 4, 0);
  if (c->threaded) {
    LLVMValueRef pf = cg_declare_extern(c, "smelt_rt_parallel_for");
    LLVMValueRef a[4] = {tramp, ctx, items, grain};
    LLVMBuildCall2(c->b, LLVMGlobalGetValueType(pf), pf, a, 4, "");
  } else {
    LLVMValueRef a[4] = {ctx, cg_i64(c, 0), items, cg_i32(c, 0)};
    LLVMBuildCall2(c->b, tramp_type, tramp, a, 4, "");
  }
  cg_loop_close(c, &lc);
  if (t->n_copies) {
    LLVMTypeRef cp = copy_type(c);
    LLVMValueRef copies = table_global(c, cp, t->copies, t->n_copies, "copies");
    LLVMValueRef u = open_loop(c, &lc, t->n_copies, "copy");
    LLVMValueRef r = LLVMBuildInBoundsGEP2(c->b, cp, copies, &u, 1, "");
    LLVMValueRef dst = resolve_arg(c, regions, LLVMBuildStructGEP2(c->b, cp, r, 0, ""));
    LLVMValueRef src = resolve_arg(c, regions, LLVMBuildStructGEP2(c->b, cp, r, 1, ""));
    LLVMBuildMemCpy(c->b, dst, 4, src, 4, field(c, cp, r, 2, c->i64));
    cg_loop_close(c, &lc);
  }
}

/* <name>_kernels: {trampoline, name} per unique kernel, and <name>_kernel_count, for profiles */
static LLVMValueRef name_row(CgContext *c, LLVMTypeRef row_type, LLVMValueRef tramp, const char *text) {
  LLVMValueRef str = LLVMConstStringInContext(c->ctx, text, (unsigned)strlen(text), 0);
  LLVMValueRef gs = LLVMAddGlobal(c->mod, LLVMTypeOf(str), "kname");
  LLVMSetInitializer(gs, str);
  LLVMSetGlobalConstant(gs, 1);
  LLVMSetLinkage(gs, LLVMPrivateLinkage);
  LLVMValueRef v[2] = {tramp, gs};
  return LLVMConstNamedStruct(row_type, v, 2);
}

static void emit_kernel_names(ProgramEmit *pe, const char *step) {
  CgContext *c = pe->c;
  LLVMTypeRef f[2] = {c->ptr, c->ptr};
  LLVMTypeRef et = LLVMStructTypeInContext(c->ctx, f, 2, 0);
  LLVMValueRef *rows = rt_xmalloc((2 * (size_t)pe->count + 1) * sizeof *rows);
  int n = 0;
  for (int i = 0; i < pe->cap; i++) {
    const Emitted *e = &pe->table[i];
    if (!e->key) continue;
    rows[n++] = name_row(c, et, e->tramp, e->name);
    if (e->prologue_tramp) {
      char pname[112];
      snprintf(pname, sizeof pname, "%s.prologue", e->name);
      rows[n++] = name_row(c, et, e->prologue_tramp, pname);
    }
  }
  char name[160];
  snprintf(name, sizeof name, "%s_kernels", step);
  LLVMValueRef table = table_global(c, et, rows, n, name);
  LLVMSetLinkage(table, LLVMExternalLinkage);
  snprintf(name, sizeof name, "%s_kernel_count", step);
  LLVMValueRef count = LLVMAddGlobal(c->mod, c->i32, name);
  LLVMSetInitializer(count, cg_i32(c, n));
  LLVMSetGlobalConstant(count, 1);
  free(rows);
}

int cg_program_emit_module(CgContext *c, const PassPlan *plan, const char *name) {
  ProgramEmit pe = {.c = c, .plan = plan};
  int nk = plan->fusion->n_kernels;
  pe.cap = 2 * nk + 16;
  pe.table = rt_xcalloc((size_t)pe.cap, sizeof *pe.table);
  pe.const_globals = rt_xcalloc((size_t)plan->g->n_nodes + 1, sizeof *pe.const_globals);
  LLVMTypeRef params[3] = {c->ptr, c->ptr, c->ptr};
  pe.step = LLVMAddFunction(c->mod, name, LLVMFunctionType(c->void_t, params, 3, 0));
  static const char *const names[3] = {"state", "io", "scratch"};
  for (int r = 0; r < PASS_REGION_COUNT; r++) {
    pe.regions[r] = LLVMGetParam(pe.step, (unsigned)r);
    LLVMSetValueName2(pe.regions[r], names[r], strlen(names[r]));
  }
  LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->ctx, pe.step, "entry"));
  TableBuild t = {0};
  for (int k = 0; k < nk; k++) {
    CgKernelSpec s = {.plan = plan, .index = k, .parallel_items = 1, .grain = 1};
    describe(&s);
    Emitted *e = kernel_function(&pe, &s);
    table_call(&pe, &t, &s, e);
    cg_spec_free(&s);
  }
  table_updates(&pe, &t);
  emit_step_body(&pe, &t);
  LLVMBuildRetVoid(c->b);
  emit_kernel_names(&pe, name);
  free(t.calls);
  free(t.args);
  free(t.copies);
  for (int i = 0; i < pe.cap; i++) free(pe.table[i].key);
  free(pe.table);
  free(pe.const_globals);
  return pe.count;
}

int cg_program_count_unique(const PassPlan *plan) {
  int nk = plan->fusion->n_kernels, cap = 2 * nk + 16, unique = 0;
  char **keys = rt_xcalloc((size_t)cap, sizeof *keys);
  for (int k = 0; k < nk; k++) {
    CgKernelSpec s = {.plan = plan, .index = k, .parallel_items = 1, .grain = 1};
    describe(&s);
    int i = (int)(key_hash(s.key) % (uint64_t)cap);
    while (keys[i] && strcmp(keys[i], s.key)) i = (i + 1) % cap;
    if (!keys[i]) {
      keys[i] = s.key;
      s.key = NULL;
      unique++;
    }
    cg_spec_free(&s);
  }
  for (int i = 0; i < cap; i++) free(keys[i]);
  free(keys);
  return unique;
}

/* ---- loading an object into the JIT ---- */

CgProgram *cg_program_load(const PassPlan *plan, const char *step, const void *obj, size_t len, RtDiags *d) {
  CgProgram *p = rt_xcalloc(1, sizeof *p);
  p->plan = plan;
  p->n_kernels = plan->fusion->n_kernels;
  p->jit = cg_jit_new(d);
  bool ok = p->jit && cg_jit_add_object(p->jit, obj, len, d);
  if (ok) p->step = (CgStepFn)cg_jit_lookup(p->jit, step, d);
  if (ok && p->step) {
    char name[160];
    snprintf(name, sizeof name, "%s_kernels", step);
    p->kernel_names = cg_jit_lookup(p->jit, name, d);
    snprintf(name, sizeof name, "%s_kernel_count", step);
    const int32_t *count = cg_jit_lookup(p->jit, name, d);
    p->n_kernel_names = count ? *count : 0;
  }
  if (!ok || !p->step) {
    cg_program_free(p);
    return NULL;
  }
  return p;
}

void cg_program_free(CgProgram *p) {
  if (!p) return;
  cg_jit_free(p->jit);
  free(p);
}

static void *slot_pointer(PassSlot s, void *state, void *io, void *scratch) {
  void *base[PASS_REGION_COUNT] = {state, io, scratch};
  if (s.region == PASS_REGION_NONE) return NULL;
  return (char *)base[s.region] + s.offset;
}

void *cg_program_slot(const CgProgram *p, IrId id, void *state, void *io, void *scratch) {
  return slot_pointer(p->plan->slots[id], state, io, scratch);
}

void *cg_program_output(const CgProgram *p, int i, void *state, void *io, void *scratch) {
  return slot_pointer(p->plan->output_slots[i], state, io, scratch);
}

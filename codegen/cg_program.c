/* Program emission (cg_program.h): kernels are described in schedule order, identical code keys
 * share one function, and the step function calls each kernel (through the thread pool when it
 * has parallel work) with pointers into the three regions, then applies the updates. */
#include "codegen/cg_program.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codegen/cg_cache.h"
#include "codegen/cg_kernel.h"
#include "codegen/cg_symbols.h"
#include "codegen/cg_target.h"
#include "ir/ir_ops.h"
#include "ir/ir_text.h"
#include "runtime/rt_assert.h"
#include "runtime/rt_pool.h"

typedef struct Emitted {
  char *key;
  LLVMValueRef fn, tramp;
} Emitted;

typedef struct ProgramEmit {
  CgContext *c;
  const PassPlan *plan;
  Emitted *table; /* open addressing on the key hash */
  int cap, count;
  LLVMValueRef step, regions[PASS_REGION_COUNT], ctx_buf;
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

static Emitted *kernel_function(ProgramEmit *pe, CgKernelSpec *s) {
  Emitted *e = lookup(pe, s->key);
  if (e->key) return e;
  CgContext *c = pe->c;
  const PassKernel *k = &pe->plan->fusion->kernels[s->index];
  char name[96];
  snprintf(name, sizeof name, "k%d.%s", pe->count, ir_op_info[pe->plan->g->nodes[k->ops[0]]->op].name);
  LLVMBasicBlockRef saved = LLVMGetInsertBlock(c->b);
  CgFn f;
  cg_fn_begin(c, &f, s, name);
  switch (k->kind) {
    case PASS_KERNEL_LOOP: cg_emit_loop(c, &f, s); break;
    case PASS_KERNEL_GEMM: cg_emit_gemm(c, &f, s); break;
    default: cg_emit_opaque(c, &f, s);
  }
  cg_fn_end(c, &f);
  LLVMPositionBuilderAtEnd(c->b, saved);
  e->key = rt_xstrdup(s->key);
  e->fn = f.fn;
  if (c->threaded) {
    char tname[112];
    snprintf(tname, sizeof tname, "%s.tramp", name);
    e->tramp = emit_trampoline(c, f.fn, s->n_args, tname);
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
    vals[i] = n->type.dtype == IR_F32 ? cg_f32(c, v) : cg_i32(c, (int)v);
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

/* Pointer to element `offset` of value id's memory in the step function. */
static LLVMValueRef value_ptr(ProgramEmit *pe, IrId id, int64_t offset) {
  CgContext *c = pe->c;
  const PassSlot *slot = &pe->plan->slots[id];
  if (slot->region == PASS_REGION_NONE) {
    RT_ASSERT(pe->plan->g->nodes[id]->kind == IR_NODE_CONST, "value %d has no memory", id);
    return cg_gep(c, const_global(pe, id), cg_i64(c, offset));
  }
  LLVMValueRef off = cg_i64(c, slot->offset + offset * 4);
  return LLVMBuildInBoundsGEP2(c->b, c->i8, pe->regions[slot->region], &off, 1, "");
}

static void emit_call(ProgramEmit *pe, const CgKernelSpec *s, const Emitted *e) {
  CgContext *c = pe->c;
  LLVMValueRef ptrs[CG_MAX_ARGS];
  for (int i = 0; i < s->n_args; i++) {
    const CgArg *a = &s->args[i];
    if (a->value == IR_NONE) { /* the kernel's workspace */
      LLVMValueRef off = cg_i64(c, pe->plan->workspace[s->index]);
      ptrs[i] = LLVMBuildInBoundsGEP2(c->b, c->i8, pe->regions[PASS_REGION_SCRATCH], &off, 1, "ws");
    } else {
      ptrs[i] = value_ptr(pe, a->value, a->offset);
    }
  }
  int64_t items = s->parallel_items > 0 ? s->parallel_items : 1;
  if (c->threaded && items > 1 && items > s->grain) {
    for (int i = 0; i < s->n_args; i++) {
      LLVMValueRef idx = cg_i64(c, i);
      LLVMBuildStore(c->b, ptrs[i], LLVMBuildInBoundsGEP2(c->b, c->ptr, pe->ctx_buf, &idx, 1, ""));
    }
    LLVMValueRef pf = cg_declare_extern(c, "smelt_rt_parallel_for");
    LLVMValueRef args[4] = {e->tramp, pe->ctx_buf, cg_i64(c, items), cg_i64(c, s->grain > 0 ? s->grain : 1)};
    LLVMBuildCall2(c->b, LLVMGlobalGetValueType(pf), pf, args, 4, "");
    return;
  }
  LLVMValueRef args[CG_MAX_ARGS + 3];
  memcpy(args, ptrs, (size_t)s->n_args * sizeof *ptrs);
  args[s->n_args] = cg_i64(c, 0);
  args[s->n_args + 1] = cg_i64(c, items);
  args[s->n_args + 2] = cg_i32(c, 0);
  LLVMBuildCall2(c->b, LLVMGlobalGetValueType(e->fn), e->fn, args, (unsigned)s->n_args + 3, "");
}

/* After the kernels: each update's value is copied into its target, unless already there. */
static void emit_updates(ProgramEmit *pe) {
  CgContext *c = pe->c;
  const IrGraph *g = pe->plan->g;
  const PassFusion *f = pe->plan->fusion;
  for (int u = 0; u < g->n_updates; u++) {
    IrId t = g->updates[u].target, v = g->updates[u].value;
    IrId src = v;
    int64_t off = 0;
    if (f->values[v].kind == PASS_VALUE_VIEW) { /* (fusion materialises sinks; kept for safety) */
      src = f->values[v].view.base;
      off = f->values[v].view.offset;
    }
    const PassSlot *a = &pe->plan->slots[t], *b = &pe->plan->slots[src];
    if (a->region == b->region && a->offset == b->offset && off == 0) continue;
    LLVMBuildMemCpy(c->b, value_ptr(pe, t, 0), 4, value_ptr(pe, src, off), 4,
                    cg_i64(c, pass_value_bytes(g, t)));
  }
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
  pe.ctx_buf = LLVMBuildArrayAlloca(c->b, c->ptr, cg_i64(c, CG_MAX_ARGS), "ctx");
  for (int k = 0; k < nk; k++) {
    CgKernelSpec s = {.plan = plan, .index = k, .parallel_items = 1, .grain = 1};
    describe(&s);
    Emitted *e = kernel_function(&pe, &s);
    emit_call(&pe, &s, e);
    cg_spec_free(&s);
  }
  emit_updates(&pe);
  LLVMBuildRetVoid(c->b);
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

/* ---- JIT compilation with the object cache ---- */

static double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* A fingerprint of the compiler itself: a hash of this executable's bytes, so that any rebuild
 * of smelt (a changed pass or emitter, even without a version bump) invalidates cached code. */
static uint64_t compiler_fingerprint(void) {
  static uint64_t cached;
  if (cached) return cached;
  FILE *f = fopen("/proc/self/exe", "rb");
  uint64_t h = 1;
  if (f) {
    char *buf = rt_xmalloc(1 << 20);
    size_t n;
    while ((n = fread(buf, 1, 1 << 20, f)) > 0) h = cg_hash_xxh64(buf, n, h);
    free(buf);
    fclose(f);
  }
  return cached = h;
}

/* The cache key: our optimised IR (the graph, printed), the plan's options, the target, smelt's
 * version and the compiler's fingerprint. */
static char *cache_key(const IrGraph *g, const CgOptions *opt, const CgTarget *t, int workers) {
  char *ir = ir_print_to_string(g);
  size_t n = strlen(ir) + strlen(t->features) + 512;
  char *key = rt_xmalloc(n);
  /* a shared state layout changes offsets baked into the code */
  uint64_t like = 0;
  if (opt->state_like)
    for (IrId i = 0; i < opt->state_like->g->n_nodes; i++)
      like = like * 31 + (uint64_t)opt->state_like->slots[i].offset + (uint64_t)opt->state_like->slots[i].region;
  snprintf(key, n, "smelt %s %016llx\ncpu %s\nfeatures %s\nworkers %d serial %d fusion %d like %llx\n%s",
           SMELT_VERSION, (unsigned long long)compiler_fingerprint(), t->cpu, t->features, workers,
           opt->serial, !opt->no_fusion, (unsigned long long)like, ir);
  free(ir);
  return key;
}

CgProgram *cg_program_compile(const IrGraph *g, const CgOptions *opt, RtDiags *d) {
  CgOptions defaults = {0};
  if (!opt) opt = &defaults;
  double t0 = now_seconds();
  if (!cg_target_init(d)) return NULL;
  CgTarget *target = cg_target_new(opt->cpu, d);
  if (!target) return NULL;
  CgProgram *p = rt_xcalloc(1, sizeof *p);
  int workers = opt->serial ? 1 : rt_pool_threads();
  PassPlanOptions po = {.fuse = {.no_fusion = opt->no_fusion, .explain = opt->explain},
                        .workers = workers, .workspace_bytes = cg_kernel_workspace_bytes,
                        .state_like = opt->state_like};
  p->plan = pass_plan(g, &po);
  p->n_kernels = p->plan->fusion->n_kernels;
  char *key = cache_key(g, opt, target, workers);
  void *obj = NULL;
  size_t len = 0;
  bool ok = true;
  p->from_cache = !opt->no_cache && cg_cache_load(key, strlen(key), &obj, &len);
  CgContext c;
  cg_context_init(&c, "smelt", "smelt");
  c.threaded = !opt->serial;
  c.vector_bits = target->vector_bits;
  p->n_unique = cg_program_emit_module(&c, p->plan, "smelt_step"); /* counts kernels even on a hit */
  if (!p->from_cache) {
    ok = cg_optimize(c.mod, target->tm, d) && cg_emit_object(c.mod, target->tm, &obj, &len, d);
    if (ok && !opt->no_cache) cg_cache_store(key, strlen(key), obj, len, d);
  }
  cg_context_dispose(&c);
  free(key);
  cg_target_free(target);
  if (ok) p->jit = cg_jit_new(d);
  ok = ok && p->jit && cg_jit_add_object(p->jit, obj, len, d);
  free(obj);
  if (ok) p->step = (CgStepFn)cg_jit_lookup(p->jit, "smelt_step", d);
  if (!ok || !p->step) {
    cg_program_free(p);
    return NULL;
  }
  p->compile_seconds = now_seconds() - t0;
  return p;
}

void cg_program_free(CgProgram *p) {
  if (!p) return;
  cg_jit_free(p->jit);
  pass_plan_free(p->plan);
  free(p);
}

void *cg_program_slot(const CgProgram *p, IrId id, void *state, void *io, void *scratch) {
  const PassSlot *s = &p->plan->slots[id];
  void *base[PASS_REGION_COUNT] = {state, io, scratch};
  if (s->region == PASS_REGION_NONE) return NULL;
  return (char *)base[s->region] + s->offset;
}

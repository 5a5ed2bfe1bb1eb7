/* The pipeline (drv_pipeline.h): one function per stage, a table of them in DRV_STAGES order,
 * and drv_run walking the table. Nothing else in smelt calls the passes, the emitter or the
 * object writer in sequence. */
#include "driver/drv_pipeline.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/cg_cache.h"
#include "codegen/cg_host.h"
#include "codegen/cg_kernel.h"
#include "ir/ir_text.h"
#include "passes/remat.h"
#include "passes/schedule.h"
#include "passes/simplify.h"
#include "passes/train_split.h"
#include "runtime/rt_amx.h"
#include "runtime/rt_blas.h"
#include "runtime/rt_pool.h"
#include "runtime/rt_progress.h"
#include "support/rt_assert.h"

typedef bool (*DrvStageFn)(DrvProgram *p, RtDiags *d);

/* ---- per-unit stages ---- */

/* A given graph skips the stages it has been through. */
static bool unit_skips(const DrvUnit *u, DrvStage s) { return u->in.graph && u->in.done >= s; }

static bool unit_trains(const DrvUnit *u) { return u->in.preset ? u->in.kind == FE_GRAPH_TRAIN : u->in.train; }

static bool build_unit(DrvUnit *u, RtDiags *d) {
  if (u->in.graph) return true; /* borrowed: u->graph already points at it */
  if (u->in.preset) {
    FeLowerOptions lo = {.kind = u->in.kind, .batch = u->in.batch, .loss = u->in.loss, .quant = u->in.quant,
                         .sync_processes = u->in.sync_processes};
    u->graph = fe_lower(u->in.preset, &lo, NULL, d);
  } else {
    u->graph = ir_parse_file(u->in.ir_path, d);
  }
  u->owns_graph = true;
  return u->graph != NULL;
}

/* Replaces a training unit's step by the phase it compiles. The gradient phase goes through
 * simplification as a training graph without an update phase (rematerialisation included); the
 * update phase as a plain graph. Its layer norms are the update phase's only outputs. */
static void keep_phase(DrvUnit *u) {
  IrGraph *gradients, *update;
  pass_split_training(u->graph, &u->training, &gradients, &update);
  if (u->owns_graph) ir_graph_free(u->graph);
  bool keep_gradients = u->in.phase == DRV_PHASE_GRADIENTS;
  ir_graph_free(keep_gradients ? update : gradients);
  u->graph = keep_gradients ? gradients : update;
  u->owns_graph = true;
  PassTraining *t = &u->training;
  t->params = t->grads = NULL; /* in the freed step's arena */
  t->trained = NULL;
  t->n_params = 0;
  t->grad_norm = IR_NONE;
  t->grads_end = keep_gradients ? u->graph->n_nodes : 0;
  t->first_update = keep_gradients ? u->graph->n_updates : 0;
  if (keep_gradients) t->n_layers = 0;
  else t->first_norm_output = 0;
}

static bool grad_unit(DrvUnit *u, const PassOptimizer *opt, RtDiags *d) {
  if (unit_skips(u, DRV_STAGE_GRAD) || !unit_trains(u)) return true;
  IrGraph *g = u->graph;
  if (g->n_outputs < 1) {
    rt_diag_error(d, u->in.ir_path, 0, 0, "no output to differentiate (output 0 must be a scalar loss)");
    return false;
  }
  int before = d->errors;
  if (!pass_build_training(g, g->outputs[0], opt, &u->training, d) || d->errors != before) return false;
  if (u->in.phase != DRV_PHASE_STEP) keep_phase(u);
  return true;
}

/* The simplified graph's update phase: the nodes standing only for nodes the optimizer built
 * (old ids from grads_end on; CSE may merge one into a node of the gradient phase, which then
 * stays there). */
static bool *update_phase(const IrGraph *old, const IrId *map, IrId grads_end, const IrGraph *s) {
  bool *update = rt_xcalloc((size_t)s->n_nodes + 1, sizeof *update);
  bool *gradient = rt_xcalloc((size_t)s->n_nodes + 1, sizeof *gradient);
  for (IrId id = 0; id < old->n_nodes; id++)
    if (map[id] != IR_NONE) (id >= grads_end ? update : gradient)[map[id]] = true;
  for (IrId id = 0; id < s->n_nodes; id++) update[id] = update[id] && !gradient[id];
  free(gradient);
  return update;
}

/* Simplification; for the training graphs built here, then rematerialisation (after CSE, which
 * would merge its copies back) and the update phase scheduled eagerly (after rematerialisation,
 * so that an update waits for the copies that read its old value). */
static void simplify_unit(DrvUnit *u) {
  if (unit_skips(u, DRV_STAGE_SIMPLIFIED)) return;
  IrId *map = rt_xmalloc(((size_t)u->graph->n_nodes + 1) * sizeof *map);
  IrGraph *s = pass_simplify_map(u->graph, NULL, map);
  if (unit_trains(u) && u->training.grads_end > 0) {
    bool *update = update_phase(u->graph, map, u->training.grads_end, s);
    IrId *remap = rt_xmalloc(((size_t)s->n_nodes + 1) * sizeof *remap);
    IrGraph *r = pass_remat(s, NULL, remap);
    bool *moved = rt_xcalloc((size_t)r->n_nodes + 1, sizeof *moved);
    for (IrId id = 0; id < s->n_nodes; id++)
      if (remap[id] != IR_NONE) moved[remap[id]] = update[id];
    ir_graph_free(s);
    s = pass_schedule_updates(r, moved);
    ir_graph_free(r);
    free(moved);
    free(remap);
    free(update);
  }
  free(map);
  if (u->owns_graph) ir_graph_free(u->graph);
  u->graph = s;
  u->owns_graph = true;
}

int drv_conv_winograd_m(bool im2col) {
  if (im2col) return 0;
  const char *conv = getenv("SMELT_CONV");
  int def = cg_kernel_options(NULL).winograd_m;
  if (!conv || !*conv || !strcmp(conv, "winograd")) return def;
  if (!strcmp(conv, "winograd4")) return 4;
  if (!strcmp(conv, "im2col")) return 0;
  static bool warned;
  if (!warned)
    fprintf(stderr, "smelt: warning: SMELT_CONV=%s is none of 'winograd', 'winograd4', 'im2col'; using winograd\n", conv);
  warned = true;
  return def;
}

static void plan_unit(DrvProgram *p, int i) {
  DrvUnit *u = &p->units[i];
  PassPlanOptions po = {.fuse = {.no_fusion = p->opt.no_fusion, .explain = p->opt.explain},
                        .workers = p->workers, .workspace_bytes = cg_kernel_workspace_bytes, .user = &p->kernels,
                        .state_like = i == 0 ? p->opt.state_like : p->units[0].plan};
  u->plan = pass_plan(u->graph, &po);
  u->n_kernels = u->plan->fusion->n_kernels;
}

static const char *step_name(const DrvUnit *u) { return u->in.step ? u->in.step : "smelt_step"; }

/* ---- the stages ---- */

static bool stage_built(DrvProgram *p, RtDiags *d) {
  for (int i = 0; i < p->n_units; i++)
    if (!build_unit(&p->units[i], d)) return false;
  return true;
}

static bool stage_grad(DrvProgram *p, RtDiags *d) {
  for (int i = 0; i < p->n_units; i++)
    if (!grad_unit(&p->units[i], &p->opt.optimizer, d)) return false;
  return true;
}

static bool stage_simplified(DrvProgram *p, RtDiags *d) {
  for (int i = 0; i < p->n_units; i++) simplify_unit(&p->units[i]);
  return true;
}

static bool stage_planned(DrvProgram *p, RtDiags *d) {
  for (int i = 0; i < p->n_units; i++) plan_unit(p, i);
  return true;
}

static bool need_target(DrvProgram *p, RtDiags *d) {
  if (p->target) return true;
  if (!cg_target_init(d)) return false;
  char why[256];
  if (p->opt.bf16 && !drv_bf16_supported(p->opt.cpu, why, sizeof why)) {
    rt_diag_error(d, NULL, 0, 0, "precision: bf16: %s", why);
    return false;
  }
  p->target = cg_target_new(p->opt.cpu, d);
  return p->target != NULL;
}

bool drv_bf16_supported(const char *cpu, char *why, size_t size) {
  if (cpu && cpu[0] && strcmp(cpu, "native") != 0) {
    snprintf(why, size, "bf16 products are compiled for this machine's CPU only, not for --cpu %s", cpu);
    return false;
  }
  CgHostInfo host;
  cg_host_info(&host);
  if (!cg_host_has_feature(&host, "avx512bf16")) {
    snprintf(why, size, "this CPU (%s) has no AVX512-BF16", host.cpu);
    return false;
  }
  return true;
}

/* The arithmetic of the program's GEMMs: 0 fp32; 1 bf16 products (AVX512-BF16); 2 the same on
 * AMX tiles, where the target has AMX-BF16 and Linux grants this process AMX state. */
static int gemm_precision(const DrvProgram *p) {
  if (!p->opt.bf16 || p->opt.blas_gemm || p->target->vector_bits != 512) return 0;
  const char *f = p->target->features;
  return cg_features_have(f, "amx-bf16") && cg_features_have(f, "amx-tile") && rt_amx_enable() ? 2 : 1;
}

/* Whether the program's int8 GEMMs may use AMX-INT8 tiles: a 512-bit target with AMX-INT8, code
 * that runs in this process or in one that asks Linux for AMX state as ours does (not smelt
 * emit's deployable objects), and Linux granting it. */
static bool gemm_amx_int8(const DrvProgram *p) {
  const char *f = p->target->features;
  return !p->opt.deployable && p->target->vector_bits == 512 && cg_features_have(f, "amx-int8") &&
         cg_features_have(f, "amx-tile") && rt_amx_enable();
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
static char *cache_key(const DrvProgram *p) {
  const DrvOptions *opt = &p->opt;
  const CgTarget *t = p->target;
  char *ir = ir_print_to_string(p->units[0].graph);
  size_t n = strlen(ir) + strlen(t->features) + 512;
  char *key = rt_xmalloc(n);
  /* a shared state layout changes offsets baked into the code */
  uint64_t like = 0;
  if (opt->state_like)
    for (IrId i = 0; i < opt->state_like->g->n_nodes; i++)
      like = like * 31 + (uint64_t)opt->state_like->slots[i].offset + (uint64_t)opt->state_like->slots[i].region;
  snprintf(key, n,
           "smelt %s %016llx\ncpu %s\nfeatures %s\nworkers %d serial %d fusion %d gemm %d precision %d amx-int8 %d winograd %d "
           "like %llx\n%s",
           SMELT_VERSION, (unsigned long long)compiler_fingerprint(), t->cpu, t->features, p->workers, opt->serial,
           !opt->no_fusion, opt->blas_gemm, gemm_precision(p), gemm_amx_int8(p), p->kernels.winograd_m,
           (unsigned long long)like, ir);
  free(ir);
  return key;
}

/* On a hit the object is the cached one and no LLVM module is built: kernel counts come from
 * the plan. Only single-unit programs are cached (the JIT's). */
static bool stage_cached(DrvProgram *p, RtDiags *d) {
  if (p->opt.no_cache) return true;
  RT_ASSERT(p->n_units == 1, "the object cache holds single-graph programs");
  if (!need_target(p, d)) return false;
  p->cache_key = cache_key(p);
  p->from_cache = cg_cache_load(p->cache_key, strlen(p->cache_key), &p->object, &p->object_len);
  if (p->from_cache) p->units[0].n_unique = cg_program_count_unique(p->units[0].plan);
  return true;
}

static bool stage_emitted(DrvProgram *p, RtDiags *d) {
  if (p->from_cache) return true;
  if (!need_target(p, d)) return false;
  CgContext *c = &p->module;
  cg_context_init(c, p->opt.module ? p->opt.module : "smelt", p->opt.prefix ? p->opt.prefix : "smelt");
  p->has_module = p->built_module = true;
  c->threaded = !p->opt.serial;
  c->vector_bits = p->target->vector_bits;
  c->own_gemm = !p->opt.blas_gemm;
  int precision = gemm_precision(p);
  c->bf16 = precision > 0;
  c->amx = precision == 2;
  c->vnni = cg_features_have(p->target->features, "avx512vnni");
  c->amx_int8 = gemm_amx_int8(p);
  for (int i = 0; i < p->n_units; i++)
    p->units[i].n_unique = cg_program_emit_module(c, p->units[i].plan, step_name(&p->units[i]));
  return !p->opt.on_emitted || p->opt.on_emitted(c, p, p->opt.user, d);
}

/* The one place a module becomes an object: for the JIT, for every AOT output, and for the
 * modules built outside the graph pipeline (the peak benchmark's). */
bool drv_module_object(LLVMModuleRef m, const CgTarget *t, void **object, size_t *len, RtDiags *d) {
  double ta = rt_now_seconds();
  bool ok = cg_optimize(m, t->tm, d);
  double tb = rt_now_seconds();
  if (getenv("SMELT_DUMP_IR")) LLVMPrintModuleToFile(m, getenv("SMELT_DUMP_IR"), NULL);
  ok = ok && cg_emit_object(m, t->tm, object, len, d);
  if (getenv("SMELT_TIMING")) fprintf(stderr, "optimise %.2fs codegen %.2fs\n", tb - ta, rt_now_seconds() - tb);
  return ok;
}

static bool stage_object(DrvProgram *p, RtDiags *d) {
  if (p->from_cache) return true;
  if (getenv("SMELT_TIMING")) fprintf(stderr, "emit %.2fs ", p->seconds[DRV_STAGE_EMITTED]);
  bool ok = drv_module_object(p->module.mod, p->target, &p->object, &p->object_len, d);
  if (ok && p->cache_key) cg_cache_store(p->cache_key, strlen(p->cache_key), p->object, p->object_len, d);
  cg_context_dispose(&p->module);
  p->has_module = false;
  return ok;
}

static bool stage_loaded(DrvProgram *p, RtDiags *d) {
  RT_ASSERT(p->n_units == 1, "the JIT loads single-graph programs");
  rt_blas_single_threaded(); /* our pool splits the GEMMs; no second pool on the same cores */
  DrvUnit *u = &p->units[0];
  u->program = cg_program_load(u->plan, step_name(u), p->object, p->object_len, d);
  if (!u->program) return false;
  u->program->n_unique = u->n_unique;
  u->program->from_cache = p->from_cache;
  cg_jit_release_compiler_pages(); /* the steps run no LLVM code: its pages leave the resident set */
  malloc_trim(0); /* and the heap LLVM freed goes back to the system rather than stay resident */
  return true;
}

/* The pipeline, in DRV_STAGES order: the one place the sequence is written. */
static const struct {
  const char *name, *doc;
  DrvStageFn run;
} STAGES[DRV_STAGE_COUNT] = {
#define DRV_STAGE_ROW(id, nm, dc) [DRV_STAGE_##id] = {#nm, dc, stage_##nm},
    DRV_STAGES(DRV_STAGE_ROW)
#undef DRV_STAGE_ROW
};

const char *drv_stage_name(DrvStage s) { return s >= 0 && s < DRV_STAGE_COUNT ? STAGES[s].name : NULL; }
const char *drv_stage_doc(DrvStage s) { return s >= 0 && s < DRV_STAGE_COUNT ? STAGES[s].doc : NULL; }

DrvStage drv_stage_parse(const char *name) {
  for (int s = 0; s < DRV_STAGE_COUNT; s++)
    if (!strcmp(name, STAGES[s].name)) return (DrvStage)s;
  return DRV_STAGE_NONE;
}

DrvProgram *drv_program_new(const DrvInput *in, int n_units, const DrvOptions *opt) {
  RT_ASSERT(n_units >= 1 && n_units <= DRV_MAX_UNITS, "a program has 1..%d graphs, not %d", DRV_MAX_UNITS, n_units);
  DrvProgram *p = rt_xcalloc(1, sizeof *p);
  if (opt) p->opt = *opt;
  p->n_units = n_units;
  p->reached = DRV_STAGE_NONE;
  for (int i = 0; i < n_units; i++) {
    DrvUnit *u = &p->units[i];
    u->in = in[i];
    RT_ASSERT(!!u->in.preset + !!u->in.ir_path + !!u->in.graph == 1, "unit %d needs exactly one source", i);
    u->graph = (IrGraph *)u->in.graph;
  }
  p->workers = p->opt.workers > 0 ? p->opt.workers : p->opt.serial ? 1 : rt_pool_threads();
  if (rt_gemm_openblas()) p->opt.blas_gemm = true;
  p->kernels = cg_kernel_options(NULL);
  p->kernels.winograd_m = drv_conv_winograd_m(p->opt.im2col);
  return p;
}

bool drv_run(DrvProgram *p, DrvStage stop, RtDiags *d) {
  RT_ASSERT(stop < DRV_STAGE_COUNT, "no stage %d", stop);
  for (int s = p->reached + 1; s <= stop; s++) {
    double t0 = rt_now_seconds();
    bool ok = STAGES[s].run(p, d);
    p->seconds[s] += rt_now_seconds() - t0;
    if (!ok) return false;
    p->reached = (DrvStage)s;
  }
  if (p->reached >= DRV_STAGE_LOADED && p->units[0].program)
    p->units[0].program->compile_seconds = drv_seconds(p, DRV_STAGE_PLANNED, DRV_STAGE_LOADED);
  return true;
}

DrvProgram *drv_compile(const DrvInput *in, const DrvOptions *opt, DrvStage stop, RtDiags *d) {
  DrvProgram *p = drv_program_new(in, 1, opt);
  if (drv_run(p, stop, d)) return p;
  drv_program_free(p);
  return NULL;
}

PassOptimizer drv_optimizer(const FeOptimizer *o, bool clip) {
  static const PassOptimizerKind kinds[FE_OPT_COUNT] = {[FE_OPT_ADAM] = PASS_OPT_ADAM, [FE_OPT_ADAMW] = PASS_OPT_ADAMW,
                                                        [FE_OPT_SGD] = PASS_OPT_SGD};
  return (PassOptimizer){.kind = kinds[o->kind], .nesterov = o->nesterov, .clip_grad_norm = clip};
}

double drv_seconds(const DrvProgram *p, DrvStage from, DrvStage to) {
  double s = 0;
  for (int i = from; i <= to; i++) s += p->seconds[i];
  return s;
}

void drv_program_free(DrvProgram *p) {
  if (!p) return;
  for (int i = 0; i < p->n_units; i++) {
    DrvUnit *u = &p->units[i];
    cg_program_free(u->program);
    pass_plan_free(u->plan);
    if (u->owns_graph) ir_graph_free(u->graph);
  }
  if (p->has_module) cg_context_dispose(&p->module);
  free(p->object);
  free(p->cache_key);
  cg_target_free(p->target);
  free(p);
}

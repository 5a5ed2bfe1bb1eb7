/* The compiler driver: the one owner of the pipeline from a model to runnable code. The stages
 * are data (DRV_STAGES below, run in that order by drv_run); every user of the compiler (the
 * JIT of train/eval/predict, `smelt build`, `smelt emit`, `smelt ir --stage`, `smelt bench`,
 * `smelt run-ir --compare`) describes its input and options and says where to stop, instead of
 * spelling the sequence again. A program holds one or two graphs ("units": a standalone trainer
 * puts its training and evaluation steps in one object); each unit gets its own step function. */
#ifndef SMELT_DRV_PIPELINE_H
#define SMELT_DRV_PIPELINE_H

#include <stdbool.h>
#include <stdio.h>

#include "codegen/cg_context.h"
#include "codegen/cg_program.h"
#include "codegen/cg_target.h"
#include "frontend/fe_config.h"
#include "frontend/fe_lower.h"
#include "passes/plan.h"
#include "passes/train_graph.h"

/* The pipeline, in the order it runs: X(ID, name, what the program holds once the stage has run).
 * drv_pipeline.c runs stage `name` with its function stage_<name>. */
#define DRV_STAGES(X)                                                                               \
  X(BUILT, built, "the graph: lowered from a preset, parsed from IR text, or given")               \
  X(GRAD, grad, "training graphs: output 0 differentiated, the optimizer update appended")        \
  X(SIMPLIFIED, simplified, "folding, identities, CSE and DCE to a fixed point")                   \
  X(PLANNED, planned, "fusion into kernels, schedule, memory regions (passes/plan.h)")             \
  X(CACHED, cached, "the object cache consulted (JIT programs); a hit skips the next two")          \
  X(EMITTED, emitted, "an LLVM module: one function per unique kernel, a step function per unit")   \
  X(OBJECT, object, "optimised (O3) and compiled to an ELF object (stored in the cache)")          \
  X(LOADED, loaded, "linked into the JIT, the step function resolved")

typedef enum DrvStage {
#define DRV_STAGE_ENUM(id, name, doc) DRV_STAGE_##id,
  DRV_STAGES(DRV_STAGE_ENUM)
#undef DRV_STAGE_ENUM
  DRV_STAGE_COUNT,
  DRV_STAGE_NONE = -1 /* nothing run yet */
} DrvStage;

#define DRV_MAX_UNITS 3 /* a data-parallel trainer: gradient and update phases, evaluation */

typedef struct DrvProgram DrvProgram;

/* Which part of a training step a training unit compiles: the whole step (one call per batch,
 * the default), or one of its two phases (passes/train_split.h), which data-parallel training
 * calls with an all-reduce of the gradients between them. */
typedef enum DrvPhase { DRV_PHASE_STEP, DRV_PHASE_GRADIENTS, DRV_PHASE_UPDATE } DrvPhase;

/* Where one unit's graph comes from: a preset (lowered at kind/batch/loss), an IR text file, or
 * a graph the caller keeps (borrowed; it must outlive the program). A given graph goes through
 * the stages after `done`: GRAD (with `train`) changes it in place, SIMPLIFIED makes the
 * program's own copy; done = SIMPLIFIED compiles it exactly as given. */
typedef struct DrvInput {
  const FePreset *preset;
  FeGraphKind kind; /* preset: which graph (TRAIN also runs GRAD) */
  int batch;        /* preset: B >= 1 */
  FeLossKind loss;  /* preset: the experiment's loss (ignored for INFER) */
  FeQuantMode quant; /* preset, EVAL or INFER: f32, calibration outputs, or int8 products */
  int sync_processes; /* preset, TRAIN: batch norm synchronised over that many processes (> 1) */
  const char *ir_path;
  const IrGraph *graph;
  DrvStage done;    /* graph: the last stage it has been through (e.g. SIMPLIFIED: compile it as is) */
  bool train;       /* IR text or graph: run GRAD (output 0 must be a scalar loss) */
  DrvPhase phase;   /* training units: the step or one of its phases */
  const char *step; /* the unit's exported step function; NULL: "smelt_step" */
} DrvInput;

typedef struct DrvOptions {
  PassOptimizer optimizer; /* GRAD */
  bool no_fusion;          /* PLANNED: one kernel per op (differential tests of single ops) */
  FILE *explain;           /* PLANNED: fusion decisions, when set */
  const PassPlan *state_like; /* PLANNED: unit 0 shares this plan's state layout (later units
                               * always share unit 0's) */
  int workers;             /* threads kernels are split over; 0: 1 when serial, else the pool's */
  bool serial;             /* no thread pool in the code (deployable objects, single-thread runs) */
  const char *cpu;         /* NULL: the host (see cg_target_new) */
  bool blas_gemm;          /* EMITTED: GEMMs call OpenBLAS's cblas_sgemm (the reference) instead
                            * of our own kernels (codegen/cg_sgemm.h); also on when $SMELT_GEMM
                            * is "openblas" */
  bool im2col;             /* PLANNED: every convolution by im2col + GEMM, none by Winograd
                            * (codegen/cg_winograd.h); $SMELT_CONV chooses too (drv_program_new) */
  bool bf16;               /* EMITTED: the GEMMs multiply bf16-rounded inputs, summing in fp32 (the
                            * `precision: bf16` setting; drv_bf16_check says whether the target can),
                            * on AMX tiles where the target has them */
  bool no_cache;           /* CACHED/OBJECT: neither read nor write the object cache */
  bool deployable;         /* EMITTED: code for programs other than smelt's (smelt emit): no AMX
                            * tiles, which need the process to ask Linux for AMX state */
  const char *module, *prefix; /* EMITTED: the LLVM module's name and symbol prefix; NULL: "smelt" */
  /* EMITTED: called after the units' step functions are in the module (extra functions, checks);
   * false (with a diagnostic) stops the program. */
  bool (*on_emitted)(CgContext *c, const DrvProgram *p, void *user, RtDiags *d);
  void *user;
} DrvOptions;

typedef struct DrvUnit {
  DrvInput in;
  IrGraph *graph;     /* the unit's graph at the program's stage */
  bool owns_graph;    /* false while graph is the caller's in.graph */
  PassTraining training; /* from GRAD (training graphs): the update's scalar inputs, params */
  PassPlan *plan;     /* owned, from PLANNED */
  int n_kernels, n_unique; /* from PLANNED / EMITTED (or the plan, on a cache hit) */
  CgProgram *program; /* owned, from LOADED: the step function over this unit's plan */
} DrvUnit;

struct DrvProgram {
  DrvOptions opt;
  DrvUnit units[DRV_MAX_UNITS];
  int n_units;
  DrvStage reached;           /* the last stage run */
  int workers;
  CgKernelOptions kernels;    /* how kernels are generated (the plan's PassPlanOptions.user) */
  CgTarget *target;           /* owned, made by the first stage that needs it */
  char *cache_key;            /* owned; NULL when the cache is not used */
  bool from_cache;            /* the object came from the cache: no module was built */
  bool built_module;          /* EMITTED built an LLVM module (false on a cache hit) */
  bool has_module;
  CgContext module;           /* EMITTED (until OBJECT consumes it) */
  void *object;               /* owned, from OBJECT (or CACHED on a hit) */
  size_t object_len;
  double seconds[DRV_STAGE_COUNT]; /* time spent in each stage */
};

/* The stage's name ("planned") and a line on what it produces; NULL out of range. */
const char *drv_stage_name(DrvStage s);
const char *drv_stage_doc(DrvStage s);
/* The stage of that name, or DRV_STAGE_NONE. */
DrvStage drv_stage_parse(const char *name);

/* The Winograd tile for 3x3 stride-1 convolutions of 16 channels and more: $SMELT_CONV
 * "winograd" (2: F(2,3), the default), "winograd4" (4: F(4,3)) or "im2col" (0: none; any other
 * value is warned about on stderr, once); `im2col` (DrvOptions.im2col) forces 0. */
int drv_conv_winograd_m(bool im2col);

/* A program of n_units (1..DRV_MAX_UNITS) graphs; nothing runs yet. Free with drv_program_free. */
DrvProgram *drv_program_new(const DrvInput *in, int n_units, const DrvOptions *opt);
/* Whether GEMMs can take bf16 products when compiled for cpu (NULL: the host), and if not why
 * (one line into why): the host must have AVX512-BF16. */
bool drv_bf16_supported(const char *cpu, char *why, size_t size);
/* Runs the stages after p->reached up to and including `stop`. A stage with nothing to do for
 * this program (GRAD of an inference graph, CACHED without the cache, EMITTED and OBJECT on a
 * cache hit) passes through. False with diagnostics on failure (p->reached stays at the last
 * stage that succeeded; the program can still be freed). */
bool drv_run(DrvProgram *p, DrvStage stop, RtDiags *d);
void drv_program_free(DrvProgram *p);

/* Convenience: one unit run to `stop`; NULL with diagnostics on failure. */
DrvProgram *drv_compile(const DrvInput *in, const DrvOptions *opt, DrvStage stop, RtDiags *d);

/* The GRAD stage's optimizer for an experiment's optimizer settings (clip: global-norm clipping). */
PassOptimizer drv_optimizer(const FeOptimizer *o, bool clip);

/* Optimises m (O3) and compiles it for t into an ELF object (*object malloc'ed, caller frees),
 * as the OBJECT stage does with a program's module; for modules built outside the graph
 * pipeline (codegen/cg_peak.h). m is rewritten in place; the caller still disposes it. */
bool drv_module_object(LLVMModuleRef m, const CgTarget *t, void **object, size_t *len, RtDiags *d);

/* Seconds spent in the stages from `from` to `to` inclusive. */
double drv_seconds(const DrvProgram *p, DrvStage from, DrvStage to);

#endif

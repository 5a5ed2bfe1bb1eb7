/* Emission of a planned graph: one LLVM function per unique kernel, and the step function that
 * runs them over caller-owned regions:
 *     void <name>(void *state, void *io, void *scratch)
 * (plan.h says what lives where); and a compiled object loaded into the JIT as a CgProgram. The
 * pipeline around them (planning, the object cache, optimisation, object files) is the driver's
 * (driver/drv_pipeline.h). */
#ifndef SMELT_CG_PROGRAM_H
#define SMELT_CG_PROGRAM_H

#include <stdio.h>

#include "codegen/cg_context.h"
#include "codegen/cg_jit.h"
#include "passes/plan.h"
#include "runtime/rt_profile.h"

typedef void (*CgStepFn)(void *state, void *io, void *scratch);

typedef struct CgProgram {
  const PassPlan *plan; /* not owned; it and plan->g must outlive the program */
  CgJit *jit;
  CgStepFn step;
  int n_kernels, n_unique;
  const RtKernelName *kernel_names; /* (n_kernel_names) for rt_profile_report */
  int n_kernel_names;
  bool from_cache;        /* set by the driver */
  double compile_seconds; /* plan + emit + optimise + codegen + load (or cache load); the driver's */
} CgProgram;

/* How kernels are generated where there is a choice; the planner's PassPlanOptions.user (kept
 * as PassPlan.user, so that describing a kernel agrees with the workspace planned for it). NULL
 * means the defaults: Winograd F(2,3) for 3x3 stride-1 convolutions. */
typedef struct CgKernelOptions {
  int winograd_m; /* Winograd output tile (2 or 4); 0: every convolution by im2col */
} CgKernelOptions;

/* The kernel options of a plan (the defaults when it has none). */
CgKernelOptions cg_kernel_options(const PassPlan *p);

/* Emits the program of plan into c's module; the step function is named `name` and exported.
 * Returns the number of unique kernel functions. */
int cg_program_emit_module(CgContext *c, const PassPlan *plan, const char *name);

/* Kernels with distinct code in plan (what cg_program_emit_module would emit), without LLVM. */
int cg_program_count_unique(const PassPlan *plan);

/* Links obj (an ELF object holding the step function `step` of plan and its kernel table
 * `<step>_kernels`) into a new JIT; obj is copied. NULL with diagnostics on failure. */
CgProgram *cg_program_load(const PassPlan *plan, const char *step, const void *obj, size_t len, RtDiags *d);
void cg_program_free(CgProgram *p);

/* Convenience for callers: the address of a value's slot in the given regions, or NULL for a
 * value without one (consts, locals, views). */
void *cg_program_slot(const CgProgram *p, IrId id, void *state, void *io, void *scratch);
/* The address of output i after a step: its own slot, or the io copy the step made of a leaf
 * the updates overwrote (outputs are the values the step read) or of a const. */
void *cg_program_output(const CgProgram *p, int i, void *state, void *io, void *scratch);

#endif

/* A whole graph compiled to native code: plan (fusion, schedule, memory), one LLVM function per
 * unique kernel, and the step function that runs them over caller-owned regions:
 *     void <name>(void *state, void *io, void *scratch)
 * (plan.h says what lives where). JIT use: cg_program_compile; AOT use: cg_program_emit_module
 * into a module of one's own, then cg_emit_object. */
#ifndef SMELT_CG_PROGRAM_H
#define SMELT_CG_PROGRAM_H

#include <stdio.h>

#include "codegen/cg_context.h"
#include "codegen/cg_jit.h"
#include "passes/plan.h"
#include "runtime/rt_profile.h"

typedef struct CgOptions {
  const char *cpu;  /* NULL: the host */
  bool serial;      /* no thread pool (deployable objects); else kernels split over workers */
  bool no_fusion;   /* one kernel per op (differential tests of single ops) */
  bool no_cache;    /* always compile; do not read or write the object cache */
  FILE *explain;    /* fusion decisions, when set */
  const PassPlan *state_like; /* share this plan's state layout (see PassPlanOptions) */
} CgOptions;

typedef void (*CgStepFn)(void *state, void *io, void *scratch);

typedef struct CgProgram {
  PassPlan *plan; /* owned; plan->g is the caller's graph, which must outlive the program */
  CgJit *jit;
  CgStepFn step;
  int n_kernels, n_unique;
  const RtKernelName *kernel_names; /* (n_kernel_names) for rt_profile_report */
  int n_kernel_names;
  bool from_cache;
  double compile_seconds; /* emit + optimise + codegen + load (or cache load) */
} CgProgram;

/* Emits the program of plan into c's module; the step function is named `name` and exported.
 * Returns the number of unique kernel functions. */
int cg_program_emit_module(CgContext *c, const PassPlan *plan, const char *name);

/* The plan cg_program_compile makes (fusion, schedule, memory, kernel workspaces for `workers`
 * threads), for callers that emit the module themselves (the AOT paths). */
PassPlan *cg_program_plan(const IrGraph *g, const CgOptions *opt, int workers);

/* Kernels with distinct code in plan (what cg_program_emit_module would emit), without LLVM. */
int cg_program_count_unique(const PassPlan *plan);

/* Plans, emits, optimises, compiles (or loads from the cache) and links g for this machine.
 * NULL with diagnostics on failure. */
CgProgram *cg_program_compile(const IrGraph *g, const CgOptions *opt, RtDiags *d);
void cg_program_free(CgProgram *p);

/* Convenience for callers: the address of a value's slot in the given regions, or NULL for a
 * value without one (consts, locals, views). */
void *cg_program_slot(const CgProgram *p, IrId id, void *state, void *io, void *scratch);
/* The address of output i after a step: its own slot, or the io copy the step made of a leaf
 * the updates overwrote (outputs are the values the step read) or of a const. */
void *cg_program_output(const CgProgram *p, int i, void *state, void *io, void *scratch);

#endif

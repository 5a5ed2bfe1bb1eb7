/* Differential testing of the compiled backend against the reference interpreter: the same
 * graph, the same seeded leaves, one run each, every output and every updated param/state
 * compared element by element. Used by `smelt run-ir --compare` and the backend tests through
 * driver/drv_compare.h, which compiles the graph first. */
#ifndef SMELT_CG_COMPARE_H
#define SMELT_CG_COMPARE_H

#include <stdio.h>

#include "codegen/cg_program.h"
#include "ir/ir_interp.h"

/* An element passes when |jit - ref| <= atol + rtol * max(|ref|, CG_COMPARE_FLOOR * scale),
 * scale being the tensor's largest |ref|: values far from zero are judged by their relative
 * error (a sum 6e-4 off at 0.1 fails), values near zero, where f32 rounding of larger terms
 * that cancelled shows up, against 1% of the tensor's scale or atol. The defaults leave about
 * 100x room over what f32 kernels reach on the example programs and tiny presets. i32 and i8
 * tensors (indices, int8 products) must match exactly. */
#define CG_COMPARE_ATOL 1e-6
#define CG_COMPARE_RTOL 1e-4
#define CG_COMPARE_FLOOR 1e-2

typedef struct CgCompareOptions {
  double atol, rtol; /* see above [CG_COMPARE_ATOL, CG_COMPARE_RTOL] */
  int steps;         /* runs of the step, updates applied in between [1] */
} CgCompareOptions;

typedef struct CgCompareResult {
  int tensors, failed;
  int ftz; /* tensors outside the tolerance that agree with the interpreter run the way compiled
            * kernels compute (f32, subnormals flushed: runtime/rt_fpenv.h); not failures */
  double max_abs, max_rel; /* worst over all tensors; rel = |jit - ref| / max(|ref|, floor * scale) */
  int n_kernels, n_unique;
} CgCompareResult;

/* Runs p (compiled from p->plan->g, e.g. by driver/drv_compare.h) and the interpreter (in
 * double) on leaves initialised from `seed`, and compares. One line per tensor goes to report
 * (may be NULL): ok, FAIL, or FTZ when the difference is flush-to-zero's (with the first op that
 * produced subnormal values). False on any element outside the tolerance not explained so. */
bool cg_compare_program(const CgProgram *p, uint64_t seed, const CgCompareOptions *o, CgCompareResult *r,
                        FILE *report);

/* Copies the interpreter's input, param and state values into their slots of p's regions,
 * rounded to the native types (f32, i32): how the comparison and the tests start a compiled
 * program from the same seeded leaves as the interpreter. */
void cg_compare_load_leaves(const CgProgram *p, IrInterp *it, void *state, void *io, void *scratch);

#endif

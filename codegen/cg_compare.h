/* Differential testing of the compiled backend against the reference interpreter: the same
 * graph, the same seeded leaves, one run each, every output and every updated param/state
 * compared element by element. Used by `smelt run-ir --compare` and the backend tests. */
#ifndef SMELT_CG_COMPARE_H
#define SMELT_CG_COMPARE_H

#include <stdio.h>

#include "codegen/cg_program.h"
#include "ir/ir_interp.h"

typedef struct CgCompareOptions {
  CgOptions compile;
  double atol, rtol; /* |jit - ref| <= atol + rtol * |ref| per element [1e-4, 1e-3] */
  int steps;         /* runs of the step, updates applied in between [1] */
} CgCompareOptions;

typedef struct CgCompareResult {
  int tensors, failed;
  double max_abs, max_rel; /* worst over all tensors */
  int n_kernels, n_unique;
} CgCompareResult;

/* Compiles g, runs it and the interpreter (in double) on leaves initialised from `seed`, and
 * compares. One line per tensor goes to report (may be NULL). False on compile failure (with
 * diagnostics) or any element outside the tolerance. */
bool cg_compare(const IrGraph *g, uint64_t seed, const CgCompareOptions *o, CgCompareResult *r,
                FILE *report, RtDiags *d);

/* Copies the interpreter's input, param and state values into their slots of p's regions,
 * rounded to the native types (f32, i32): how the comparison and the tests start a compiled
 * program from the same seeded leaves as the interpreter. */
void cg_compare_load_leaves(const CgProgram *p, IrInterp *it, void *state, void *io, void *scratch);

#endif

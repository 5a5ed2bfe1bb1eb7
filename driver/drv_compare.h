/* Differential testing through the driver: a graph compiled as given (no simplification: the
 * graph under test is the one compiled) and compared with the reference interpreter by
 * codegen/cg_compare.h. Used by `smelt run-ir --compare`/`--backend jit` and the backend tests. */
#ifndef SMELT_DRV_COMPARE_H
#define SMELT_DRV_COMPARE_H

#include "codegen/cg_compare.h"
#include "driver/drv_pipeline.h"

typedef struct DrvCompareOptions {
  DrvOptions compile;
  double atol, rtol; /* see codegen/cg_compare.h [CG_COMPARE_ATOL, CG_COMPARE_RTOL] */
  int steps;         /* runs of the step, updates applied in between [1] */
} DrvCompareOptions;

/* Compiles g (borrowed) to the JIT, runs it and the interpreter on leaves initialised from
 * `seed`, and compares (cg_compare_program). o NULL: the default tolerances, one step, the
 * object cache on. False on compile failure (with diagnostics) or a failed comparison. */
bool drv_compare(const IrGraph *g, uint64_t seed, const DrvCompareOptions *o, CgCompareResult *r, FILE *report,
                 RtDiags *d);

#endif

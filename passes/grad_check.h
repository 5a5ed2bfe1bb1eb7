/* Gradient checking: the VJP rules and autodiff against central finite differences, both run in
 * double precision by the reference interpreter. Used by the VJP unit tests and by
 * `smelt run-ir FILE --grad-check`. */
#ifndef SMELT_PASS_GRAD_CHECK_H
#define SMELT_PASS_GRAD_CHECK_H

#include <stdint.h>
#include <stdio.h>

#include "ir/ir.h"

/* Zero fields take the defaults given in brackets. */
typedef struct PassGradCheckOptions {
  bool check_inputs; /* also differentiate w.r.t. f32 input nodes, not only params */
  int max_samples;   /* elements checked per tensor, a seeded random sample when it has more [64] */
  double step;       /* finite-difference step h, relative: h = step * max(1, |x|)  [1e-6] */
  double atol;       /* an element passes when |a - n| <= atol + rtol * max(|a|, |n|) [1e-6] */
  double rtol;       /* [1e-4] */
  const char *file;  /* names the program in diagnostics [none] */
} PassGradCheckOptions;

/* g: a program whose output 0 is a scalar f32 loss (not modified; updates are ignored). Copies
 * it, appends gradients w.r.t. every param (and f32 input if asked), initialises all leaves
 * from their IrInit with `seed`, and compares each gradient element (or sample) with
 * (f(x + h) - f(x - h)) / 2h. Prints one line per tensor to `report` (may be NULL):
 *   %name  f32[2,3]  checked 6/6  max_abs_err 1.2e-11  max_rel_err 3.4e-10  ok
 * and returns false when any element is outside the tolerance, or when the graph has no output,
 * does not verify or cannot be differentiated (the diagnostics, naming o->file, are printed to
 * `report`). o may be NULL
 * (all defaults). */
bool pass_grad_check(const IrGraph *g, uint64_t seed, const PassGradCheckOptions *o, FILE *report);

#endif

/* Helpers shared by the reference interpreter's tests (test_interp*.c): constant leaves from
 * literal arrays, and running a graph to compare one node's value with expected numbers.
 * Include after <cmocka.h>. Everything is static: each test binary gets its own copy. */
#ifndef SMELT_TESTS_INTERP_CHECK_H
#define SMELT_TESTS_INTERP_CHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "ir/ir_builder.h"
#include "ir/ir_interp.h"

/* f32 / i32 constant of the given shape holding `data` (numel elements). */
static inline IrId cf(IrGraph *g, IrShape s, const double *data) {
  return ir_const_data(g, IR_F32, s, data);
}
static inline IrId ci(IrGraph *g, IrShape s, const double *data) {
  return ir_const_data(g, IR_I32, s, data);
}
#define VALS(...) ((const double[]){__VA_ARGS__})

/* Runs g (in double) and returns a malloc'ed copy of node id's value; *type gets its type. */
static inline double *run_node(IrGraph *g, IrId id, IrType *type) {
  if (id == IR_NONE) fail_msg("graph construction failed: %s", g->error);
  IrInterp *it = ir_interp_new(g);
  ir_interp_run(it, NULL);
  const IrTensor *t = ir_interp_value(it, id);
  size_t count = (size_t)ir_shape_numel(&t->type.shape);
  double *copy = malloc((count ? count : 1) * sizeof *copy);
  for (size_t i = 0; i < count; i++) copy[i] = t->data[i];
  if (type) *type = t->type;
  ir_interp_free(it);
  return copy;
}

/* |got - want| <= tol * max(1, |want|); nan matches nan, infinities must match exactly. */
static inline bool close_to(double got, double want, double tol) {
  if (isnan(want)) return isnan(got);
  if (isinf(want)) return got == want;
  return fabs(got - want) <= tol * fmax(1.0, fabs(want));
}

/* Compares count values, failing the test at the first mismatch with its index. */
static inline void expect_array(const double *got, const double *want, int64_t count, double tol,
                                const char *what) {
  for (int64_t i = 0; i < count; i++)
    if (!close_to(got[i], want[i], tol))
      fail_msg("%s: element %lld is %.17g, expected %.17g", what, (long long)i, got[i], want[i]);
}

/* Runs g and checks node id: its shape must be `shape`, its dtype `dtype` and its elements
 * `want` (within tol, relative). */
static inline void expect_node(IrGraph *g, IrId id, IrDType dtype, IrShape shape,
                               const double *want, double tol) {
  IrType t;
  double *got = run_node(g, id, &t);
  IrType expected = {dtype, shape};
  if (!ir_type_eq(&t, &expected)) {
    char a[96], b[96];
    fail_msg("%s: type %s, expected %s", ir_op_info[ir_node(g, id)->op].name,
             ir_type_str(&t, a, sizeof a), ir_type_str(&expected, b, sizeof b));
  }
  expect_array(got, want, ir_shape_numel(&shape), tol, ir_op_info[ir_node(g, id)->op].name);
  free(got);
}

#endif

/* Internal to the simplification passes (simplify*.c, cse.c, dce.c): each pass with an optional
 * old-id -> new-id map as output, so that pass_simplify can compose the maps of its rounds, and
 * the small helpers they share. */
#ifndef SMELT_PASS_SIMPLIFY_IMPL_H
#define SMELT_PASS_SIMPLIFY_IMPL_H

#include "passes/rewrite.h"
#include "passes/simplify.h"

/* Each runs one pass; map (g->n_nodes entries, may be NULL) receives the new id standing for
 * each old node, IR_NONE for a dropped one. stats may be NULL. */
IrGraph *pass_fold_constants_map(const IrGraph *g, PassSimplifyStats *stats, IrId *map);
IrGraph *pass_apply_identities_map(const IrGraph *g, PassSimplifyStats *stats, IrId *map);
IrGraph *pass_cse_map(const IrGraph *g, PassSimplifyStats *stats, IrId *map);
IrGraph *pass_dce_map(const IrGraph *g, PassSimplifyStats *stats, IrId *map);

/* Finishes rw into the result of a pass: copies rw's map to map (when non-NULL) and records the
 * node counts in stats (when non-NULL). */
IrGraph *simplify_finish(PassRewrite *rw, PassSimplifyStats *stats, IrId *map);

/* True when n is a const whose every element is the same value (zeros, ones, fill(v)); *value
 * gets it as the program sees it, rounded to float for an f32 const as every backend loads it. */
bool simplify_const_uniform(const IrNode *n, double *value);

static inline void simplify_count(PassSimplifyStats *stats, PassSimplifyRule rule) {
  if (stats) stats->fired[rule]++;
}

#endif

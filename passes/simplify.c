/* The simplification driver (simplify.h): rounds of fold -> identities -> cse -> dce until a
 * round fires no rule, composing each pass's old-id -> new-id map; rule names and statistics.
 * Folding exposes identities (x * fold(...) = x * 1), identities expose duplicates (two
 * transposes of transposes that become the same op) and dead nodes, so one round usually does
 * everything and the second only confirms it. In debug builds every pass's result is verified. */
#include <stdlib.h>
#include <string.h>

#include "ir/ir_verify.h"
#include "passes/simplify_impl.h"
#include "support/rt_assert.h"

enum { SIMPLIFY_MAX_ROUNDS = 8 };

static const char *const RULE_NAMES[PASS_RULE_COUNT] = {
    [PASS_RULE_FOLD] = "fold",
    [PASS_RULE_MUL_ONE] = "mul_one",
    [PASS_RULE_DIV_ONE] = "div_one",
    [PASS_RULE_ADD_ZERO] = "add_zero",
    [PASS_RULE_SUB_ZERO] = "sub_zero",
    [PASS_RULE_NEG_NEG] = "neg_neg",
    [PASS_RULE_TRANSPOSE_TRANSPOSE] = "transpose_transpose",
    [PASS_RULE_TRANSPOSE_IDENTITY] = "transpose_identity",
    [PASS_RULE_RESHAPE_RESHAPE] = "reshape_reshape",
    [PASS_RULE_RESHAPE_SAME] = "reshape_same",
    [PASS_RULE_BROADCAST_BROADCAST] = "broadcast_broadcast",
    [PASS_RULE_BROADCAST_SAME] = "broadcast_same",
    [PASS_RULE_SLICE_FULL] = "slice_full",
    [PASS_RULE_CONCAT_ONE] = "concat_one",
    [PASS_RULE_PAD_NONE] = "pad_none",
    [PASS_RULE_REDUCE_NONE] = "reduce_none",
    [PASS_RULE_CSE_OP] = "cse_op",
    [PASS_RULE_CSE_CONST] = "cse_const",
    [PASS_RULE_DCE] = "dce",
};

const char *pass_simplify_rule_name(PassSimplifyRule rule) {
  return rule >= 0 && rule < PASS_RULE_COUNT && RULE_NAMES[rule] ? RULE_NAMES[rule] : "?";
}

void pass_simplify_stats_print(const PassSimplifyStats *stats, FILE *out) {
  fprintf(out, "nodes: %d -> %d\n", stats->nodes_before, stats->nodes_after);
  for (int r = 0; r < PASS_RULE_COUNT; r++)
    if (stats->fired[r])
      fprintf(out, "  %s: %lld\n", pass_simplify_rule_name((PassSimplifyRule)r),
              (long long)stats->fired[r]);
}

IrGraph *simplify_finish(PassRewrite *rw, PassSimplifyStats *stats, IrId *map) {
  const IrGraph *src = rw->src;
  if (map) memcpy(map, rw->map, (size_t)src->n_nodes * sizeof *map);
  IrGraph *out = pass_rewrite_finish(rw);
  if (stats) {
    stats->nodes_before = src->n_nodes;
    stats->nodes_after = out->n_nodes;
  }
#ifndef NDEBUG
  RtDiags d = {0};
  if (!ir_verify(out, NULL, &d)) {
    rt_diags_print(&d, stderr);
    RT_ASSERT(false, "a simplification pass broke graph '%s'", src->name);
  }
  rt_diags_free(&d);
#endif
  return out;
}

static int64_t total_fired(const PassSimplifyStats *s) {
  int64_t total = 0;
  for (int r = 0; r < PASS_RULE_COUNT; r++) total += s->fired[r];
  return total;
}

IrGraph *pass_simplify_map(const IrGraph *g, PassSimplifyStats *stats, IrId *map) {
  typedef IrGraph *(*PassFn)(const IrGraph *, PassSimplifyStats *, IrId *);
  static const PassFn passes[] = {pass_fold_constants_map, pass_apply_identities_map,
                                  pass_cse_map, pass_dce_map};
  PassSimplifyStats local = {0};
  /* total[i]: the current graph's node standing for g's node i; step: one pass's map */
  IrId *total = rt_xmalloc((size_t)(g->n_nodes ? g->n_nodes : 1) * sizeof *total);
  for (IrId i = 0; i < g->n_nodes; i++) total[i] = i;
  IrId *step = NULL;
  const IrGraph *cur = g;
  IrGraph *owned = NULL;
  for (int round = 0; round < SIMPLIFY_MAX_ROUNDS; round++) {
    int64_t before = total_fired(&local);
    for (size_t p = 0; p < sizeof passes / sizeof *passes; p++) {
      step = rt_xrealloc(step, (size_t)(cur->n_nodes ? cur->n_nodes : 1) * sizeof *step);
      IrGraph *next = passes[p](cur, &local, step);
      for (IrId i = 0; i < g->n_nodes; i++)
        if (total[i] != IR_NONE) total[i] = step[total[i]];
      ir_graph_free(owned);
      cur = owned = next;
    }
    local.rounds++;
    if (total_fired(&local) == before) break;
  }
  free(step);
  if (map) memcpy(map, total, (size_t)g->n_nodes * sizeof *map);
  free(total);
  if (stats) {
    for (int r = 0; r < PASS_RULE_COUNT; r++) stats->fired[r] += local.fired[r];
    stats->rounds += local.rounds;
    stats->nodes_before = g->n_nodes;
    stats->nodes_after = owned->n_nodes;
  }
  return owned;
}

IrGraph *pass_simplify(const IrGraph *g, PassSimplifyStats *stats) {
  return pass_simplify_map(g, stats, NULL);
}

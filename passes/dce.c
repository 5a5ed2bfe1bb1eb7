/* Dead-code elimination (pass_dce in simplify.h): marks what the outputs and update values
 * depend on, walking the nodes backwards once (operands always precede their users, so one
 * reverse walk reaches every ancestor), then copies the live nodes. Inputs, params and states
 * are always kept, used or not: they are the program's interface and checkpoint layout. */
#include <stdlib.h>

#include "passes/simplify_impl.h"
#include "support/rt_assert.h"

IrGraph *pass_dce_map(const IrGraph *g, PassSimplifyStats *stats, IrId *map) {
  bool *live = rt_xcalloc((size_t)g->n_nodes + 1, sizeof *live);
  for (int i = 0; i < g->n_outputs; i++) live[g->outputs[i]] = true;
  for (int i = 0; i < g->n_updates; i++) live[g->updates[i].value] = true;
  for (IrId id = g->n_nodes - 1; id >= 0; id--) {
    const IrNode *n = g->nodes[id];
    if (n->kind != IR_NODE_OP && n->kind != IR_NODE_CONST) live[id] = true;
    if (!live[id]) continue;
    for (int i = 0; i < n->n_in; i++) live[n->in[i]] = true;
  }
  PassRewrite rw;
  pass_rewrite_begin(&rw, g);
  for (IrId id = 0; id < g->n_nodes; id++) {
    if (live[id]) {
      pass_rewrite_copy(&rw, id);
    } else {
      pass_rewrite_drop(&rw, id);
      simplify_count(stats, PASS_RULE_DCE);
    }
  }
  free(live);
  return simplify_finish(&rw, stats, map);
}

IrGraph *pass_dce(const IrGraph *g, PassSimplifyStats *stats) { return pass_dce_map(g, stats, NULL); }

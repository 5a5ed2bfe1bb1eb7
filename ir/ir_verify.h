/* The IR verifier: checks that a graph is well formed, with every problem reported as a
 * diagnostic. It runs after the text parser, after every pass in debug builds, and in tests.
 * A graph that passes can be printed, interpreted and compiled without further checks. */
#ifndef SMELT_IR_VERIFY_H
#define SMELT_IR_VERIFY_H

#include "ir/ir.h"
#include "support/rt_diag.h"

/* Limits on what a verified graph holds, so that every size computation fits in 64 bits:
 * tensors have at most IR_MAX_NUMEL elements, attribute values at most IR_MAX_ATTR_VALUE in
 * magnitude. */
#define IR_MAX_NUMEL ((int64_t)INT32_MAX)
#define IR_MAX_ATTR_VALUE ((int64_t)INT32_MAX)

/* Where a statement was parsed from, for diagnostics. */
typedef struct IrSrcPos {
  int line, col;
} IrSrcPos;

/* Checks operands (defined before their use), arity, attribute counts and ranges, each op
 * node's recorded type against its shape rule, leaf types and inits, names, outputs and
 * updates. Reports each problem at the node's line:col when it was parsed, else as
 * "graph 'NAME': %17 (matmul): ...". Returns true when there is none. Never crashes, whatever
 * the graph holds. file may be NULL. */
bool ir_verify(const IrGraph *g, const char *file, RtDiags *d);

/* The same, with the positions of the output and update statements (g->n_outputs and
 * g->n_updates entries, or NULL), for the text parser. */
bool ir_verify_at(const IrGraph *g, const char *file, const IrSrcPos *output_pos,
                  const IrSrcPos *update_pos, RtDiags *d);

#endif

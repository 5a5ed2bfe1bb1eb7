/* Simplification passes, run on training and inference graphs before fusion: constant folding,
 * algebraic identities, common-subexpression elimination and dead-code elimination. Each takes
 * a verified graph and returns a new verified graph (graphs are append-only) that computes the
 * same outputs and updates, with every input, param and state node kept (name, type, init) in
 * its original relative order, outputs and updates in order, and the names of op nodes that
 * survive. Everything is linear in the graph size, up to hashing (the training graph of a small
 * model has tens of thousands of nodes). */
#ifndef SMELT_PASS_SIMPLIFY_H
#define SMELT_PASS_SIMPLIFY_H

#include <stdint.h>
#include <stdio.h>

#include "ir/ir.h"

/* Every rewrite a pass can make, counted separately in the stats. */
typedef enum PassSimplifyRule {
  /* pass_fold_constants */
  PASS_RULE_FOLD,      /* an op whose operands are all consts became a const */
  /* pass_apply_identities */
  PASS_RULE_MUL_ONE,   /* x * 1, 1 * x -> x */
  PASS_RULE_DIV_ONE,   /* x / 1 -> x */
  PASS_RULE_ADD_ZERO,  /* x + 0, 0 + x -> x */
  PASS_RULE_SUB_ZERO,  /* x - 0 -> x */
  PASS_RULE_NEG_NEG,   /* neg(neg(x)) -> x */
  PASS_RULE_TRANSPOSE_TRANSPOSE, /* transpose(transpose(x, p), q) -> transpose(x, p o q) or x */
  PASS_RULE_TRANSPOSE_IDENTITY,  /* transpose(x, [0, 1, ...]) -> x */
  PASS_RULE_RESHAPE_RESHAPE,     /* reshape(reshape(x)) -> reshape(x) or x */
  PASS_RULE_RESHAPE_SAME,        /* reshape of x to x's own shape -> x */
  PASS_RULE_BROADCAST_BROADCAST, /* broadcast(broadcast(x)) -> broadcast(x) */
  PASS_RULE_BROADCAST_SAME,      /* broadcast of x to x's own shape -> x */
  PASS_RULE_SLICE_FULL,          /* a slice taking every element in order -> x */
  PASS_RULE_CONCAT_ONE,          /* concat of a single operand -> x */
  PASS_RULE_PAD_NONE,            /* pad by zero everywhere -> x */
  PASS_RULE_REDUCE_NONE,         /* a reduction that reduces nothing (out type = in type) -> x */
  /* pass_cse */
  PASS_RULE_CSE_OP,    /* an op equal to an earlier one (op, operands, attributes) */
  PASS_RULE_CSE_CONST, /* a const equal to an earlier one (type and value) */
  /* pass_dce */
  PASS_RULE_DCE,       /* an op or const no output or update depends on */
  PASS_RULE_COUNT
} PassSimplifyRule;

typedef struct PassSimplifyStats {
  int nodes_before, nodes_after; /* of the whole call (pass_simplify) or of the single pass */
  int rounds;                    /* pass_simplify: rounds of the four passes that were run */
  int64_t fired[PASS_RULE_COUNT]; /* times each rule applied; accumulates across calls */
} PassSimplifyStats;

/* Each pass alone. g must be verified and is not modified; the result is a new graph (caller
 * frees with ir_graph_free). stats may be NULL.
 *
 * pass_fold_constants: an op whose operands are all consts (except rng_uniform, which stays
 * random by its seed) is computed with the op table's reference eval and becomes a const that
 * keeps the op's name: fill(v) when every element equals v, else data(...); f32 results are
 * rounded to float, as an f32 backend would store them. Results are only materialised up to a
 * modest size: a bigger result is folded only when it is a fill (an elementwise or layout op of
 * fill operands), and nothing is folded into nan, which a const cannot hold. */
IrGraph *pass_fold_constants(const IrGraph *g, PassSimplifyStats *stats);

/* pass_apply_identities: the PASS_RULE_MUL_ONE .. PASS_RULE_REDUCE_NONE rewrites. A "one" or
 * "zero" is a const filled with that value, of any shape. x op c is only replaced by x when the
 * result has exactly x's type (a broadcast to a bigger shape is left alone). Never x * 0 -> 0
 * (nan * 0 is nan, inf * 0 is nan), never to_f32(to_i32(x)) -> x (truncation). */
IrGraph *pass_apply_identities(const IrGraph *g, PassSimplifyStats *stats);

/* pass_cse: an op node with the same op, remapped operands and attributes as an earlier one
 * is replaced by it (operands of add, mul, eq and ne compare in either order); a const with the
 * same type and elements as an earlier const likewise (zeros = fill(0), ones = fill(1), fills
 * compared as loaded: f32 values rounded to float). Inputs, params and states are never
 * merged. Hash-based, linear in the graph size. */
IrGraph *pass_cse(const IrGraph *g, PassSimplifyStats *stats);

/* pass_dce: drops op and const nodes on which no output or update value depends. */
IrGraph *pass_dce(const IrGraph *g, PassSimplifyStats *stats);

/* Runs fold, identities, cse and dce in rounds until a round changes nothing (at most a few
 * rounds; each one only shrinks the graph or shortens chains). */
IrGraph *pass_simplify(const IrGraph *g, PassSimplifyStats *stats);
/* The same, and map (g->n_nodes entries) receives for each node of g the node of the result
 * that holds its value, or IR_NONE when it was dropped as dead: what carries ids such as a
 * training graph's gradients (train_graph.h) over to the simplified graph. */
IrGraph *pass_simplify_map(const IrGraph *g, PassSimplifyStats *stats, IrId *map);

const char *pass_simplify_rule_name(PassSimplifyRule rule); /* "mul_one", "cse_op", ... */
/* "nodes: B -> A" then one "  rule: count" line per rule that fired. */
void pass_simplify_stats_print(const PassSimplifyStats *stats, FILE *out);

#endif

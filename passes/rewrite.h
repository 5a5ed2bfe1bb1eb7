/* Graph rewriting for passes. Graphs are append-only, so a pass that changes a graph builds a
 * new one: it walks the old graph in id order and, for each node, copies it (operands
 * remapped), maps it to a value that already exists in the new graph (a replacement), or drops
 * it. The old-id -> new-id map then carries the outputs and updates over. Walking in id order
 * keeps the new graph in definition order and keeps every copied node in its relative place
 * (leaves in particular: they are the program's interface and checkpoint layout). */
#ifndef SMELT_PASS_REWRITE_H
#define SMELT_PASS_REWRITE_H

#include "ir/ir.h"

typedef struct PassRewrite {
  const IrGraph *src; /* not owned; must not change during the rewrite */
  IrGraph *dst;       /* the graph being built; handed to the caller by pass_rewrite_finish */
  IrId *map;          /* (src->n_nodes) new id of each old node; IR_NONE: dropped or not yet seen */
  IrId *scratch;      /* operand buffer for copies, grown to the largest operand count */
  int scratch_cap;
} PassRewrite;

/* Starts a rewrite of src into a new empty graph of the same name. */
void pass_rewrite_begin(PassRewrite *rw, const IrGraph *src);

/* The new id of old node `old`; asserts that it was copied or replaced (not dropped). */
IrId pass_rewrite_value(const PassRewrite *rw, IrId old);
/* The new node standing for operand i of old node `old` (after remapping). */
const IrNode *pass_rewrite_operand(const PassRewrite *rw, IrId old, int i);

/* Appends a copy of old node `old` (kind, op, type, attrs, name, init, data, source position)
 * with its operands remapped, maps old to it and returns its new id. The shape rule is not run
 * again: a copy has the same operand types, so its type still holds. */
IrId pass_rewrite_copy(PassRewrite *rw, IrId old);

/* Appends a copy of old node `old` whose operands are `operands` (ids of the new graph, of the
 * same types as old's), without mapping old to it (so old may also be copied, or copied again):
 * a node computed twice (rematerialisation) or a user of such a copy. Unnamed unless `named`
 * (then it takes old's name: only for the one copy that stands for old). */
IrId pass_rewrite_copy_with(PassRewrite *rw, IrId old, const IrId *operands, bool named);

/* Maps old node `old` to `value`, a node of the new graph of the same type, which then stands
 * for it in every later operand, output and update. With take_name, an unnamed `value` that
 * was created for this replacement inherits old's name (the node survives in another form);
 * otherwise old's name disappears with it. */
void pass_rewrite_replace(PassRewrite *rw, IrId old, IrId value, bool take_name);

/* Drops old node `old`: nothing may refer to it afterwards (asserted on use). */
void pass_rewrite_drop(PassRewrite *rw, IrId old);

/* Appends an op to the new graph through its shape rule, asserting that it is well formed
 * (the passes only build ops whose validity they have established). */
IrId pass_rewrite_add_op(PassRewrite *rw, IrOp op, int n_in, const IrId *in, const IrAttr *attrs);

/* Copies the outputs and updates through the map, releases the rewrite's own memory and
 * returns the new graph (caller frees with ir_graph_free). Every output and update must map to
 * a node. */
IrGraph *pass_rewrite_finish(PassRewrite *rw);

/* Releases the rewrite's own memory and returns the new graph with no outputs or updates: for a
 * pass that keeps only some of them (it adds those to rw->dst, through pass_rewrite_value,
 * before this call). Caller frees with ir_graph_free. */
IrGraph *pass_rewrite_take(PassRewrite *rw);

/* Releases everything, including the new graph, when a pass gives up midway. */
void pass_rewrite_abort(PassRewrite *rw);

#endif

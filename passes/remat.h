/* Rematerialisation of cheap forward values in the backward pass of a training graph.
 *
 * A training step keeps every forward value its backward pass reads alive from the forward pass
 * until that read, and the largest such values (a batch norm's output after its ReLU, at the
 * first layers' resolution) set the peak of the scratch arena. When such a value is pointwise
 * (IR_OPF_POINTWISE, not random) and its operands are at hand in the backward pass anyway
 * (leaves, small values, values the backward pass reads itself, or values that can be recomputed
 * in turn), pass_remat computes it a second time right before its first backward reader and
 * points the backward readers at that copy: the forward one then dies after its last forward
 * reader, and the copy lives only through the backward pass's use of it. The work added is one
 * pointwise pass over the value, which fusion usually merges into the reader's kernel.
 *
 * Forward and backward are told apart by the loss: nodes up to outputs[0] (the loss of a
 * training graph) are the forward pass, later ones read by the backward pass or the update.
 * The result computes the same outputs and updates, bit for bit (a recomputed pointwise value
 * is the same function of the same operands). Run it after the simplification passes (common-
 * subexpression elimination would merge the copies back into the originals) and before
 * pass_schedule_updates (so that an update waits for the copies that read its old value). */
#ifndef SMELT_PASS_REMAT_H
#define SMELT_PASS_REMAT_H

#include "ir/ir.h"

typedef struct PassRematStats {
  int values;    /* forward values whose backward readers now read a recomputed copy */
  int recomputed; /* op nodes added (a value's copy and the copies of its operands' chain) */
  int64_t bytes; /* bytes of the values no longer kept from the forward pass to the backward */
} PassRematStats;

/* A new graph with the rematerialisations made (a copy of g when there is none to make; the
 * caller frees it); stats may be NULL; map, when not NULL, gets each node's id in the new graph
 * (g->n_nodes entries). g must be a training graph: output 0 its loss. */
IrGraph *pass_remat(const IrGraph *g, PassRematStats *stats, IrId *map);

#endif

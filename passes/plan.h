/* The program plan: fusion, schedule and memory layout of one graph, everything codegen needs
 * to emit it. Memory is three regions (Glow / TVM AOT style), each a caller-owned byte array:
 *   state    params and state nodes, in graph order: the checkpoint layout;
 *   io       inputs, then outputs (per call);
 *   scratch  every intermediate buffer and kernel workspace, placed by the memory planner.
 * Const nodes live in the compiled code. Kernels run in fusion order; after the last one, the
 * copies of the update phase run (PassCopy): updates are one simultaneous assignment that reads
 * the values from before the step, and outputs are the values the step read. */
#ifndef SMELT_PASS_PLAN_H
#define SMELT_PASS_PLAN_H

#include "passes/fuse.h"
#include "passes/memplan.h"

typedef enum PassRegion { PASS_REGION_STATE, PASS_REGION_IO, PASS_REGION_SCRATCH, PASS_REGION_COUNT,
                          PASS_REGION_NONE = -1 } PassRegion;

/* Where a value lives: region and byte offset. */
typedef struct PassSlot {
  PassRegion region;
  int64_t offset;
} PassSlot;

/* One copy of the update phase, in order: `bytes` from src to dst. It snapshots an output the
 * updates overwrite (or a const output) into io, saves an update target that a cycle of updates
 * (a swap) reads into a scratch temporary, or moves an update value into its target. A src of
 * region NONE is the data of the const node src_node. */
typedef struct PassCopy {
  PassSlot dst, src;
  IrId src_node; /* the value copied (a node; for a temporary, the target it saves) */
  int64_t bytes;
} PassCopy;

typedef struct PassPlan PassPlan;

typedef struct PassPlanOptions {
  PassFuseOptions fuse;
  int workers; /* threads kernels may be split over; workspaces are sized for this many (>= 1) */
  /* scratch bytes a kernel needs for itself (e.g. im2col), for `workers` threads; may be NULL */
  int64_t (*workspace_bytes)(const IrGraph *g, const PassKernel *k, int workers, void *user);
  void *user;
  /* When set, params and state nodes sit at the offsets of the same-named nodes of this plan,
   * so that several graphs of one model (training step, evaluation, inference) share one state
   * region; nodes it does not have are placed after its state. */
  const PassPlan *state_like;
} PassPlanOptions;

struct PassPlan {
  const IrGraph *g; /* not owned */
  PassFusion *fusion;
  PassSlot *slots;         /* (g->n_nodes) every non-const leaf and BUFFER value; NONE otherwise */
  IrId *in_place_of;       /* (g->n_nodes) BUFFER written over this dying input, else IR_NONE;
                            * for an update written in place, its value over its target */
  PassSlot *output_slots;  /* (g->n_outputs) where output i is after the step: the node's own
                            * slot, or an io slot of its own for an updated leaf or a const */
  PassCopy *copies;        /* (n_copies) the update phase, in the order it runs */
  int n_copies;
  int64_t *workspace;      /* (n_kernels) scratch offset of the kernel's workspace, -1: none */
  int64_t *workspace_size; /* (n_kernels) bytes */
  int64_t region_bytes[PASS_REGION_COUNT];
  PassMemPlanStats scratch;
  int64_t intermediate_bytes; /* every BUFFER value's bytes, summed (naive, no reuse) */
  int workers;
  void *user; /* PassPlanOptions.user: what the workspaces were sized for (the code generator's
               * options, which must describe the kernels the same way) */
};

PassPlan *pass_plan(const IrGraph *g, const PassPlanOptions *opt);
void pass_plan_free(PassPlan *p);
/* Byte size of a node's value. */
int64_t pass_value_bytes(const IrGraph *g, IrId id);
/* Human-readable layout for `smelt ir --stage planned`. */
void pass_plan_print(const PassPlan *p, FILE *out);

#endif

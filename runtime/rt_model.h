/* A compiled model as the training loop sees it, whoever compiled it (the JIT in `smelt train`,
 * or object code linked into a standalone trainer): the state region's layout (params, batch-norm
 * statistics, optimizer moments: also the checkpoint schema), and for each graph (the training
 * step, the evaluation step) its step function and where its named inputs and outputs live in
 * its io region. Inputs and outputs follow the model ABI of frontend/fe_lower.h. */
#ifndef SMELT_RT_MODEL_H
#define SMELT_RT_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/rt_profile.h"
#include "support/rt_init.h"

typedef enum RtDtype { RT_F32, RT_I32 } RtDtype;

enum { RT_MODEL_MAX_RANK = 6 };

/* A named tensor at a byte offset of a region. */
typedef struct RtSlot {
  const char *name;
  RtDtype dtype;
  int rank;
  int64_t dims[RT_MODEL_MAX_RANK];
  int64_t offset;
  /* state only: how it starts, and whether the optimizer trains it */
  RtInitKind init;
  double init_value;
  bool trainable;
  bool lstm_bias; /* an LSTM's gate bias (4h: blocks i, f, g, o), which lstm_forget_bias sets */
} RtSlot;

/* Prefix of the training step's outputs "grad_sq.<layer>": one f32[] per layer with trained
 * params, the squared L2 norm of its raw gradients (before clipping) in the step just run. */
#define RT_SLOT_GRAD_SQ "grad_sq."

typedef void (*RtStepFn)(void *state, void *io, void *scratch);

typedef struct RtGraphBin {
  RtStepFn step;
  int64_t io_bytes, scratch_bytes;
  const RtSlot *io; /* (n_io) named inputs and outputs */
  int n_io;
  const RtKernelName *kernels; /* (n_kernels) for profiles; may be empty */
  int n_kernels;
} RtGraphBin;

typedef enum RtHead { RT_HEAD_ATTENTION, RT_HEAD_CTC } RtHead;

typedef struct RtModel {
  int64_t state_bytes;
  const RtSlot *state; /* (n_state) params and state, in region order */
  int n_state;
  RtGraphBin train, eval;
  /* Data-parallel training's two phases: train.step is then the gradient phase (outputs loss,
   * logits and one "grad.<param>" per trained param, which the caller sums over processes and
   * writes into update's inputs of the same names) and update.step the optimizer (its scalar
   * inputs lr, step... and its outputs the per-layer gradient norms). update.step is NULL when the
   * model was compiled as one fused step. */
  RtGraphBin update;
  RtHead head;
  int batch, channels, height, width;
  int max_len;    /* L: longest label */
  int classes;    /* attention: symbols + 2 (go 0, end 1); ctc: symbols + 1 (blank 0) */
  int time_steps; /* T: width of a ctc prediction */
  int symbols;    /* classes the charset may use */
  int64_t params; /* trainable scalars */
  const char *preset_name, *preset_text;
  bool blas_gemm; /* its steps' matrix products call OpenBLAS (SMELT_GEMM=openblas when compiled),
                   * which maps a buffer per calling thread (rt_memory.h) */
} RtModel;

/* Scratch bytes for training with m: its training and evaluation steps share one region. */
int64_t rt_model_scratch_bytes(const RtModel *m);
/* The io slot `name` of g, or NULL. */
const RtSlot *rt_graph_slot(const RtGraphBin *g, const char *name);
int64_t rt_slot_numel(const RtSlot *s);
/* A zeroed region of `bytes` (rounded up to 64), 64-byte aligned; free() it. Out of memory ends
 * the process with a message naming `what` (rt_out_of_memory). */
void *rt_region_alloc_named(int64_t bytes, const char *what);
/* The same, named "a tensor region". */
void *rt_region_alloc(int64_t bytes);
/* Fills every state slot of m from its init with `seed` (rt_init.h): the model's first weights.
 * Unless lstm_forget_bias is NaN, the forget-gate block of every LSTM gate bias is then set to
 * it (the other blocks keep their draw). */
void rt_model_init_state(const RtModel *m, void *state, uint64_t seed, double lstm_forget_bias);

#endif

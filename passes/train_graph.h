/* The training step as one graph: forward, gradients of the loss w.r.t. every param (autodiff),
 * then the optimizer update as elementwise graph ops with param/state updates, so that it fuses
 * with the rest and needs no extra pass over memory. Every hyperparameter a sweep may vary is a
 * runtime scalar input (names below), never a constant: one compiled step serves every
 * experiment. The optimizer kind and whether clipping exists are compile-time choices. */
#ifndef SMELT_PASS_TRAIN_GRAPH_H
#define SMELT_PASS_TRAIN_GRAPH_H

#include "ir/ir.h"
#include "support/rt_diag.h"

typedef enum PassOptimizerKind {
  PASS_OPT_SGD,   /* SGD with momentum (momentum = 0 is plain SGD); L2 weight decay in the gradient */
  PASS_OPT_ADAM,  /* Adam (Kingma & Ba 2015) with bias correction; L2 weight decay in the gradient */
  PASS_OPT_ADAMW, /* Adam with decoupled weight decay p -= lr * wd * p (Loshchilov & Hutter 2019) */
  PASS_OPT_KIND_COUNT
} PassOptimizerKind;

typedef struct PassOptimizer {
  PassOptimizerKind kind;
  bool nesterov;  /* SGD: Nesterov momentum (Sutskever et al. 2013, PyTorch's formulation) */
  bool clip_grad_norm; /* first scale all gradients by min(1, clip_norm / (global_norm + 1e-6)) */
  bool layer_norms;    /* extra outputs, one f32[] per layer (pass_grad_layers): the squared L2 norm
                        * of its params' raw gradients, for watching training (a few scalars) */
} PassOptimizer;

/* Names of the runtime scalar inputs (f32[]) the update reads; each exists only when the chosen
 * optimizer uses it. If g already has an f32[] input of that name, it is reused; a created one
 * carries init FILL with the default in brackets (what `smelt run-ir` feeds it). */
#define PASS_INPUT_LR "lr"                     /* learning rate [1e-3] */
#define PASS_INPUT_MOMENTUM "momentum"         /* SGD momentum factor (0: plain SGD) [0.9] */
#define PASS_INPUT_BETA1 "beta1"               /* Adam first-moment decay, [0.9] */
#define PASS_INPUT_BETA2 "beta2"               /* Adam second-moment decay, [0.999] */
#define PASS_INPUT_EPS "eps"                   /* Adam denominator epsilon, [1e-8] */
#define PASS_INPUT_WEIGHT_DECAY "weight_decay" /* L2 (SGD, Adam) or decoupled (AdamW); 0: off [0] */
#define PASS_INPUT_CLIP_NORM "clip_norm"       /* max global gradient norm (clipping only) [1] */
#define PASS_INPUT_STEP "step"                 /* 1-based step count t, for 1 - beta^t (Adam) [1] */

typedef struct PassTraining {
  int n_params;
  IrId *params; /* (n_params) every param of g, in graph order */
  IrId *grads;  /* (n_params) raw d loss / d params[i]: before clipping and weight decay */
  bool *trained; /* (n_params) false for a param the loss does not depend on: it gets no update
                  * (as in PyTorch, where its .grad stays None) */
  /* Phase boundary: op nodes with id < grads_end compute the outputs, the loss and the raw
   * gradients; op nodes with id >= grads_end are the optimizer update, and read only leaves and
   * grads[]. Data-parallel training can all-reduce grads[] between the two phases. */
  IrId grads_end;
  int first_update; /* g->updates[first_update..] are the optimizer's; earlier ones are the
                     * forward pass's own (e.g. batch-norm running statistics) */
  IrId grad_norm;   /* global L2 norm of the raw gradients, when clipping; else IR_NONE */
  int first_norm_output, n_layers; /* layer_norms: outputs[first_norm_output + i] is the squared
                                    * norm of layer i (pass_grad_layers); n_layers is 0 without */
  /* the runtime scalar inputs, IR_NONE when the optimizer does not use them */
  IrId lr, momentum, beta1, beta2, eps, weight_decay, clip_norm, step;
} PassTraining;

/* Turns g, whose output 0 is the scalar f32 loss `loss` (added as output 0 if g has no outputs),
 * into a training step: gradients w.r.t. every param, then the update of `opt` with
 * ir_graph_add_update(param <- new value) and moment states (zero-initialised) named
 * opt.mom.<param> (SGD), opt.m.<param> and opt.v.<param> (Adam, AdamW), each with its own
 * update. Output 0 stays the loss. The arrays of *out live in g's arena (freed with g).
 * Returns false with diagnostics in d when g cannot be differentiated or a name it needs is
 * taken by a node of another kind or type; g may then hold unused appended nodes. Params the
 * loss does not depend on get a warning. */
bool pass_build_training(IrGraph *g, IrId loss, const PassOptimizer *opt, PassTraining *out, RtDiags *d);

/* The layers of a training step's gradients: the params the optimizer updates (those with an
 * update in g), grouped by the part of their name before the first '.' ("conv2d_1.weight" and
 * "conv2d_1.bias" -> "conv2d_1", "lstm_1.l0.weight_ih" -> "lstm_1"; an unnamed param is a layer
 * of its own, "%<id>"), in order of first appearance. Sets *names to the n names (copied into
 * `arena`) and returns n. With layer_norms, pass_build_training appends one output per layer in
 * this order, and the same call on the simplified graph gives the same list (simplification
 * keeps params, their names and updates), so whoever compiles the step names the outputs. */
int pass_grad_layers(const IrGraph *g, RtArena *arena, const char ***names);

#endif

/* From an experiment to a compiled model: the driver compiles the preset's training step (with
 * the experiment's loss and optimizer) and its evaluation graph (sharing the training step's
 * state layout) for the JIT, and this file describes both as an RtModel for the training loop.
 * Experiments with the same preset, batch size, loss kind, optimizer and clipping produce the
 * same graphs, so the second one loads from the object cache. */
#ifndef SMELT_DRIVER_MODEL_BUILD_H
#define SMELT_DRIVER_MODEL_BUILD_H

#include "driver/drv_pipeline.h"
#include "frontend/fe_config.h"
#include "runtime/rt_model.h"

typedef struct ModelBuild {
  RtModel model;
  DrvProgram *train, *eval;          /* owned: simplified graphs, plans, compiled steps */
  DrvProgram *update;                /* owned, with phases: the update phase (train is then the
                                      * gradient phase); else NULL */
  RtSlot *state, *train_io, *eval_io;
  double build_seconds;              /* lowering, passes, compilation (or cache loads) */
  RtArena arena;                     /* names */
} ModelBuild;

typedef struct ModelBuildOptions {
  bool serial;        /* no thread pool */
  FILE *log;          /* one line on what was compiled, or NULL */
  int shards;         /* data-parallel processes (0 or 1: one): above one, the steps are compiled
                       * at batch_size / shards (which must divide) and the training step as its
                       * two phases (RtModel.update) */
} ModelBuildOptions;

/* Builds the model of experiment e. False with diagnostics on failure (then *b is freed). */
bool model_build(const FeExperiment *e, const ModelBuildOptions *o, ModelBuild *b, RtDiags *d);
void model_build_free(ModelBuild *b);

/* The compile-time training choices of experiment e: its optimizer, clipping when grad_clip > 0,
 * and the per-layer gradient norms the loop records (every trained model has them). */
PassOptimizer model_optimizer(const FeExperiment *e);

/* The driver's input for graph `kind` of experiment e's preset at its batch size and loss, with
 * step function `step` (NULL: the driver's default). */
DrvInput model_input(const FeExperiment *e, FeGraphKind kind, const char *step);

/* The io slots of a compiled graph: its named inputs, then outputs[0..n_outputs) under the given
 * names (allocated in b's arena). */
RtSlot *model_io_slots(ModelBuild *b, const IrGraph *g, const PassPlan *plan, const char *const *outputs,
                       int n_outputs, int *n);

/* RtModel fields of a compiled graph pair (used by the JIT build and the standalone trainer).
 * `training` is what the GRAD stage recorded of the training step (NULL: nothing, as for an
 * evaluation graph in its place); its layer-norm outputs (pass_grad_layers) become io slots
 * named RT_SLOT_GRAD_SQ "<layer>". */
void model_describe(const FePreset *p, int batch, const IrGraph *train, const PassPlan *train_plan,
                    const PassTraining *training, const IrGraph *eval, const PassPlan *eval_plan, ModelBuild *b);

/* With phases: after model_describe (given the gradient phase as the training step), the update
 * phase's io slots into m->update, and the gradient phase's outputs named as the update's
 * gradient inputs (PASS_GRAD_INPUT_PREFIX "<param>"), which they feed. */
void model_describe_update(const IrGraph *gradients, const PassPlan *gradients_plan, const IrGraph *update,
                           const PassPlan *update_plan, ModelBuild *b);

#endif

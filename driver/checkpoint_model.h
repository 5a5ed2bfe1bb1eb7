/* A trained model back from its checkpoint: the preset rebuilt from the YAML text stored in the
 * metadata, the charset, the loss kind and its hyperparameters (from the stored config), one graph (EVAL: loss + greedy
 * predictions; INFER: predictions) compiled for this machine, and the checkpoint's weights in
 * its state region. Used by `smelt eval` and `smelt predict`. */
#ifndef SMELT_DRIVER_CHECKPOINT_MODEL_H
#define SMELT_DRIVER_CHECKPOINT_MODEL_H

#include "driver/drv_pipeline.h"
#include "frontend/fe_lower.h"
#include "runtime/rt_model.h"
#include "runtime/rt_safetensors.h"
#include "runtime/rt_train_io.h"

typedef struct CheckpointModel {
  FePreset *preset;
  char *charset;    /* UTF-8 symbols in id order */
  FeLossKind loss;
  FeQuantMode quant; /* int8 for a quantized checkpoint */
  RtLossScalars loss_scalars; /* label smoothing, focal gamma and alpha, for the EVAL loss */
  DrvProgram *compiled; /* owned: the graph through the driver, to the JIT */
  const IrGraph *graph; /* simplified, compiled's */
  const CgProgram *program; /* compiled's */
  RtModel model;    /* model.eval is the compiled graph; model.state its state slots */
  void *state;      /* the checkpoint's weights, in the graph's state layout */
  RtSlot *slots;
  RtArena arena;
} CheckpointModel;

/* Opens a checkpoint for a command that rebuilds its model (eval, predict, emit): the metadata
 * checked as every command checks it (rt_checkpoint_check_meta), the stored preset parsed (named
 * as stored), the charset checked against the preset's symbols. On success the caller owns *file
 * and *preset (rt_st_free, fe_preset_free); on failure both are NULL and d says why, naming path. */
bool checkpoint_open(const char *path, RtStFile **file, FePreset **preset, RtDiags *d);

/* The quantization an opened checkpoint's model takes: *quant becomes FE_QUANT_INT8 when it is a
 * quantized checkpoint (smelt quantize); false after an error naming path when that does not fit
 * what *quant asked (OBSERVE), or the checkpoint's quantization is unknown. */
bool checkpoint_quant(const RtStFile *f, const char *path, FeQuantMode *quant, RtDiags *d);

/* The model of checkpoint `path` as graph `kind` (EVAL or INFER) at `batch`, with its weights.
 * A quantized checkpoint (smelt quantize) is always an int8 model, whatever `quant` asks; quant
 * OBSERVE (calibration outputs, named "absmax.<weight>" after the graph's own) needs an fp32
 * checkpoint. */
bool checkpoint_model_load(const char *path, FeGraphKind kind, int batch, FeQuantMode quant, CheckpointModel *m,
                           RtDiags *d);
void checkpoint_model_free(CheckpointModel *m);

#endif

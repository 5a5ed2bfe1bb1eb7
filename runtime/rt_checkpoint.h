/* Training checkpoints: every state tensor of a model (params, batch-norm statistics, optimizer
 * moments) in a safetensors file, with the metadata to rebuild the model and to resume the run
 * exactly (docs/outputs.md lists the keys). Written atomically. */
#ifndef SMELT_RT_CHECKPOINT_H
#define SMELT_RT_CHECKPOINT_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/rt_model.h"
#include "runtime/rt_results.h"
#include "runtime/rt_safetensors.h"
#include "runtime/rt_schedule.h"
#include "support/rt_diag.h"

typedef struct RtCheckpointInfo {
  int32_t epoch;   /* epochs completed */
  int64_t step;    /* optimizer steps taken */
  uint64_t seed;
  RtMetric best_metric;
  double best_value;
  int32_t best_epoch;
  RtSchedule schedule;
  RtEarlyStop early;
  /* run totals so far, so that a resumed run reports its whole wall time and throughput */
  double wall_seconds, train_seconds;
  int64_t trained_samples;
  const char *charset, *config_json;
  /* the moving average of the weights (rt_ema.h), a region laid out as the state: saved with the
   * state when not NULL; on load, read into it when the file has one (has_ema says whether) */
  void *ema;
  bool has_ema;
} RtCheckpointInfo;

bool rt_checkpoint_save(const char *path, const RtModel *m, const void *state, const RtCheckpointInfo *info,
                        RtDiags *d);
/* The metadata that every command reading a checkpoint relies on, judged one way for all of them
 * (smelt eval, predict, emit, train --resume, a built trainer's --resume): the format this smelt
 * writes, a stored preset, and a charset of distinct, printable UTF-8 symbols. Each problem is an
 * error naming path; false when there was one. */
bool rt_checkpoint_check_meta(const RtStFile *f, const char *path, RtDiags *d);
/* The stored charset (already checked above) fits a model with room for `symbols` symbols. */
bool rt_checkpoint_check_symbols(const RtStFile *f, const char *path, int symbols, RtDiags *d);

/* Checks the metadata as rt_checkpoint_check_meta and _symbols (m->symbols) do, reads every
 * state tensor of m (by name, dtype and shape) into state and the resume metadata into *info (charset and config_json point into memory the caller frees with free()). */
bool rt_checkpoint_load(const char *path, const RtModel *m, void *state, RtCheckpointInfo *info, RtDiags *d);

#endif

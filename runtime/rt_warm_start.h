/* Warm start (`init: CHECKPOINT`): a new run's first weights taken from another run's checkpoint,
 * the standard recipe for few labelled samples (pretrain on generated data, fine-tune on the real
 * set). Every model tensor (parameters and batch-norm statistics; never optimizer moments) whose
 * name and shape match is copied. When the charsets differ, the head's class-indexed tensors
 * (one row per class: output layer, attention embedding) are remapped row by row: the special
 * classes (blank; go and end) and every symbol both charsets share keep their trained rows, new
 * symbols keep their fresh initialisation. Everything else keeps its initialisation and is
 * reported. */
#ifndef SMELT_RT_WARM_START_H
#define SMELT_RT_WARM_START_H

#include <stdbool.h>
#include <stdio.h>

#include "runtime/rt_model.h"
#include "support/rt_diag.h"

typedef struct RtWarmStartReport {
  int loaded;       /* tensors copied whole */
  int remapped;     /* class-indexed tensors copied row by row (charsets differ) */
  int kept;         /* model tensors left at their initialisation (absent or other shape) */
  int unused;       /* checkpoint model tensors this model has no place for */
  int shared_symbols, new_symbols; /* when remapping: symbols found in both charsets / only in ours */
} RtWarmStartReport;

/* Overwrites state (already initialised by rt_model_init_state) with what the checkpoint at path
 * offers for model m trained on `charset` (UTF-8, class-id order). log (may be NULL) gets one line
 * per tensor left at its initialisation and a summary. False, with an error naming path, when the
 * file is not a smelt checkpoint or shares no tensor with m. */
bool rt_warm_start(const char *path, const RtModel *m, void *state, const char *charset, FILE *log,
                   RtWarmStartReport *report, RtDiags *d);

#endif

/* What `smelt train` (and tune, and the standalone trainer) needs of an experiment besides its
 * model: the training loop's settings, the experiment as JSON (stored in checkpoints and
 * results), and its data: folders of labels.tsv + images, or the built-in synthetic CAPTCHAs
 * generated once into the cache. */
#ifndef SMELT_DRIVER_EXPERIMENT_H
#define SMELT_DRIVER_EXPERIMENT_H

#include <stdio.h>

#include "frontend/fe_config.h"
#include "runtime/rt_dataset.h"
#include "runtime/rt_train.h"
#include "runtime/rt_trainer_main.h"

/* The loop's settings; out_dir and config_json are referenced, not copied. */
RtTrainConfig experiment_train_config(const FeExperiment *e, const char *out_dir, const char *config_json);

/* The experiment's settings as JSON text (caller frees). */
char *experiment_json(const FeExperiment *e);

typedef struct ExperimentData {
  bool skip_bad; /* skip bad samples with a count instead of failing */
  FILE *log;     /* progress of generation and loading; NULL: quiet */
} ExperimentData;

/* The experiment named (or the only one); NULL with a diagnostic listing the config's names. */
const FeExperiment *experiment_pick(const FeConfig *cfg, const char *name, RtDiags *d);

/* Applies an --epochs override (0: none) and checks what depends on the epoch count again: a
 * cosine schedule's warm-up must end before the last epoch. False with an error otherwise. */
bool experiment_set_epochs(FeExperiment *e, int epochs, RtDiags *d);

/* e's data settings for the runtime (folders made absolute, in arena). */
RtTrainerData experiment_data(const FeExperiment *e, RtArena *arena);

/* Where the synthetic set of e is (or will be) generated (rt_trainer_synth_dir). */
void experiment_synth_dir(const FeExperiment *e, char *buf, size_t size);

/* Loads (generating first when synthetic) the training and validation sets of e, through the
 * same runtime code a standalone trainer uses (rt_trainer_load_data). */
bool experiment_load_data(const FeExperiment *e, const ExperimentData *o, RtDataset **train, RtDataset **val,
                          RtDiags *d);

#endif

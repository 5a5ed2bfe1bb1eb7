/* The training loop of one experiment: epochs of seeded batches through the compiled training
 * step, validation through the compiled evaluation step every epoch, learning-rate schedule,
 * early stopping, checkpoints (best by the early-stopping metric, last for resuming), and the
 * run's logs (metrics.jsonl, TensorBoard events, results.json), all in one output folder.
 * A run resumed from last.safetensors ends with the same metrics as an uninterrupted one: data
 * order, augmentation and dropout depend only on (seed, epoch, step). Data-parallel (cfg->comm):
 * each process trains its rows of every batch and rank 0 alone validates and writes the files
 * (rt_train_parallel.h). */
#ifndef SMELT_RT_TRAIN_H
#define SMELT_RT_TRAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/rt_augment.h"
#include "runtime/rt_comm.h"
#include "runtime/rt_dataset.h"
#include "runtime/rt_fresh.h"
#include "runtime/rt_model.h"
#include "runtime/rt_results.h"
#include "runtime/rt_schedule.h"
#include "runtime/rt_train_io.h"
#include "support/rt_diag.h"

typedef struct RtTrainConfig {
  const char *experiment; /* name, for logs and results */
  const char *out_dir;    /* this experiment's folder (created) */
  int epochs;
  uint64_t seed;          /* initialisation, shuffling, augmentation, dropout */
  /* optimizer and loss hyperparameters: the runtime scalars of the compiled step */
  double lr, beta1, beta2, eps, momentum, weight_decay, grad_clip;
  double dropout, label_smoothing, focal_gamma, focal_alpha;
  double lstm_forget_bias;   /* initial forget-gate bias of every LSTM; NaN: PyTorch's uniform draw */
  double ema_decay;          /* > 0: a moving average of the weights (rt_ema.h) is validated and saved
                                as the best model; 0 = off */
  RtScheduleConfig schedule; /* base_lr, epochs and steps_per_epoch are filled in by the loop */
  RtMetric schedule_metric;  /* what reduce-on-plateau watches (default: val_loss) */
  bool early_stopping;
  RtMetric early_metric;     /* also picks the best checkpoint */
  int patience;
  double min_delta;
  RtAugmentSettings augment;
  bool resume;               /* continue from out_dir/last.safetensors when it exists */
  bool overwrite;            /* start afresh even where out_dir holds an earlier run (deleted) */
  bool background_loader;    /* prepare batches in a thread (off: deterministic single thread) */
  int progress;              /* 0 quiet, 1 one line per epoch, 2 also a live progress bar */
  const char *config_json;   /* the experiment's settings (stored in checkpoints and results) */
  const char *charset;       /* UTF-8 symbols in id order (stored in checkpoints) */
  int64_t max_steps;         /* stop after this many optimizer steps (tests); 0 = no limit */
  const char *init_path;     /* warm start: a fresh run's first weights from this checkpoint
                                (rt_warm_start.h); NULL = the preset's initialisation */
  RtFreshConfig fresh;       /* enabled: every epoch trains on a set of its own (rt_fresh.h), and
                                rt_train's `train` may be NULL */
  int curriculum_epochs;     /* K > 0: the first K epochs train on short labels only
                                (rt_curriculum_max_len); 0 = off */
  RtComm *comm;              /* data-parallel processes (rt_train_parallel.h), the model compiled
                                in two phases at batch / comm->size; NULL: this process alone */
} RtTrainConfig;

/* The curriculum on label length: the longest label epoch `epoch` (0-based) trains on, for data
 * whose labels have shortest..longest symbols and a curriculum of `epochs` (K) epochs:
 * shortest + floor((longest - shortest) * epoch / K) while epoch < K, then longest. Epoch 0
 * trains on the shortest labels only; the bound grows linearly and reaches longest at epoch K. */
int rt_curriculum_max_len(int shortest, int longest, int epochs, int64_t epoch);

/* Sensible defaults for everything but the model-specific parts. */
RtTrainConfig rt_train_config_defaults(void);

typedef struct RtTrainSummary {
  RtRunStatus status;
  int epochs_run, best_epoch;
  RtEpochMetrics best, last;
  int64_t steps, diverged_at_step;
  double samples_per_s, wall_seconds; /* over the whole run, every process of a resumed one */
  char error[256];
} RtTrainSummary;

/* Trains m on train (with cfg->fresh: on a fresh set per epoch; train is then unused and may be
 * NULL), validating on val. Returns true when the run ended normally (ok, early
 * stopped, or diverged: all recorded in results.json); false when it could not run, with
 * diagnostics in d. A run that cannot start (bad data for the model, an earlier run in the
 * folder without resume or overwrite, a checkpoint that is corrupt or from other settings)
 * writes nothing; one that fails later (an unwritable file) says failed in results.json when it
 * can. */
bool rt_train(const RtModel *m, const RtTrainConfig *cfg, const RtDataset *train, const RtDataset *val,
              RtTrainSummary *summary, RtDiags *d);

/* Validation metrics of the weights in `state` on ds through m's evaluation step, its loss with
 * the hyperparameters in `loss`: fills RT_METRIC_VAL_LOSS, VAL_CHAR_ACC, VAL_SEQ_ACC, VAL_CER
 * and VAL_BLANK_RATE (NaN unless a CTC head) of *out. predicted (NULL, or ds->count entries)
 * receives each sample's greedy prediction as text (rt_io_score_batch). The step runs in
 * `scratch` (at least m->eval.scratch_bytes: the training step's, which never runs at the same
 * time), or in memory of its own when scratch is NULL. */
bool rt_evaluate(const RtModel *m, void *state, const RtDataset *ds, const RtLossScalars *loss, RtEpochMetrics *out,
                 char **predicted, void *scratch, RtDiags *d);

#endif

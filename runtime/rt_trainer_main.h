/* The main program of a standalone trainer (`smelt build`): the generated C file of a trainer
 * holds only the RtModel's tables, the experiment's settings as the JSON text `smelt train`
 * records (read back here with rt_settings_from_json), what it was built from, and a `main` that
 * calls rt_trainer_main, which parses `smelt train`'s command line (rt_train_cli.h), loads the
 * data the same way and runs rt_train. Runtime only: a trainer links libsmelt_runtime.a,
 * libsmelt_support.a, OpenBLAS, cJSON, FreeType and zlib, never LLVM. */
#ifndef SMELT_RT_TRAINER_MAIN_H
#define SMELT_RT_TRAINER_MAIN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "runtime/rt_dataset.h"
#include "runtime/rt_model.h"
#include "runtime/rt_train.h"
#include "support/rt_diag.h"

/* The share of a training folder held out for validation when a config says nothing (FeData). */
#define RT_DEFAULT_VAL_SPLIT 0.1

/* Where an experiment's data comes from (FeData of the config, resolved at build time). Folders,
 * synthetic data, or both (mixed): synthetic with `fresh` and train_dir set trains every epoch on
 * the folder's samples and train_count generated ones, and validates on the folders. */
typedef struct RtTrainerData {
  bool synthetic;
  /* folders (labels.tsv + images): val_dir NULL holds out val_split of train_dir */
  const char *train_dir, *val_dir;
  double val_split;
  /* synthetic: generated once into rt_trainer_synth_dir()/{train,val} (as `smelt train` does) */
  int train_count, val_count;
  int64_t synth_seed;
  int min_len, max_len;
  bool fresh;          /* synthetic: new training samples every epoch, rendered in memory
                          (rt_fresh.h); only the validation set is generated into the folder */
  const char *charset; /* symbols in id order; NULL: from the labels (generator: 0-9A-Z) */
  /* synthetic: the generator's style and size, as in RtSynthOptions (all 0: the default mix) */
  int synth_lines, synth_height, synth_width;
  bool synth_char_colours, synth_grey, synth_mixed;
  const char *synth_fonts; /* NULL: the generator's DejaVu fonts */
  double synth_distort;
} RtTrainerData;

/* The training loop's fresh-sample settings of data (enabled when synthetic with `fresh`). */
RtFreshConfig rt_trainer_fresh_config(const RtTrainerData *data);

typedef struct RtTrainerSpec {
  const RtModel *model;     /* step functions linked in */
  const char *config_json;  /* the experiment as `smelt train` records it: name, settings, data */
  int max_threads;          /* kernel workspaces were planned for this many threads */
  const char *built_from;   /* lines for --help: preset, config and settings hash, target CPU */
  int processes;            /* built with --mpi N: the model's steps are one of N processes'
                             * (batch_size / N samples, two phases), to be run by mpirun -np N */
  RtComm *comm;             /* those processes, when mpirun started this one; else NULL */
} RtTrainerSpec;

/* Runs the trainer's command line; returns the process exit code (0 ok, 1 failure, 2 usage). */
int rt_trainer_main(int argc, char **argv, const RtTrainerSpec *spec);

/* Loads (generating first when synthetic) the training and validation sets, exactly like
 * `smelt train` (driver/experiment.c): train_dir / val_dir override the spec's folders (and
 * `fresh`); mixed data loads its folders (the fresh samples come epoch by epoch); fresh synthetic data has no fixed training set (*train is NULL: the training loop
 * renders one per epoch) and its validation set is read with the generator's charset; a folder
 * without a validation folder is split by val_split (0: 0.2) with RT_SPLIT_SEED, the same for
 * every experiment and training seed, so that experiments are validated on the same samples. */
enum { RT_SPLIT_SEED = 0x5e1f };
typedef struct RtTrainerDataOptions {
  const char *train_dir, *val_dir;
  bool skip_bad;
  int max_label_len, height, width; /* of the model */
  int ctc_steps;                     /* a CTC model's time steps, else 0 (RtDatasetOptions) */
  FILE *log;                         /* progress; NULL: quiet */
} RtTrainerDataOptions;
/* The name of a synthetic set's folder from its parameters (seed, counts, lengths, a hash of the
 * charset), and the folder itself: <cache>/data/<name> (rt_cache_dir). */
void rt_trainer_synth_name(const RtTrainerData *data, char *buf, size_t size);
void rt_trainer_synth_dir(const RtTrainerData *data, char *buf, size_t size);
/* The `data` object of an experiment's settings (the config JSON stored in checkpoints and
 * results) for folder data: absolute paths, so that a resume from another folder compares the
 * same data; val_dir NULL records val_split instead; charset NULL is left out. Caller owns it. */
struct cJSON *rt_trainer_folder_data_json(const char *train_dir, const char *val_dir, double val_split,
                                          const char *charset);
/* The same for either form: synthetic parameters or folders. Caller owns it. */
struct cJSON *rt_trainer_data_json(const RtTrainerData *data);
/* Reads a `data` object back (strings point into it); false with an error naming `what`. */
bool rt_trainer_data_from_json(const struct cJSON *o, RtTrainerData *data, const char *what, RtDiags *d);
/* The closing lines of a run: status, epochs, best epoch's accuracies, samples/s, results path. */
void rt_train_print_summary(const char *experiment, const RtTrainSummary *s, const char *out_dir);

bool rt_trainer_load_data(const RtTrainerData *data, const RtTrainerDataOptions *o, RtDataset **train,
                          RtDataset **val, RtDiags *d);

#endif

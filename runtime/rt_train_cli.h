/* The training command line that `smelt train` (tools/cmd_train.c) and every built trainer
 * (rt_trainer_main.c) share: one option table, one parser with one-line usage errors (exit code 2),
 * and one help text, so the two cannot drift apart. `smelt train` adds its CONFIG argument and
 * --experiment; everything else is common. */
#ifndef SMELT_RT_TRAIN_CLI_H
#define SMELT_RT_TRAIN_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "runtime/rt_dataset.h"
#include "runtime/rt_train.h"

typedef struct RtTrainArgs {
  const char *config, *experiment; /* smelt train only */
  const char *data, *val, *out;    /* out: "runs" unless given */
  const char *init;                /* --init: warm start from this checkpoint */
  int epochs;                      /* 0: the configured number */
  bool resume, overwrite, skip_bad, quiet;
} RtTrainArgs;

typedef struct RtTrainCli {
  const char *prog;  /* prefix of error lines: "smelt", or a trainer's argv[0] */
  const char *usage; /* the whole help text: printed for --help and after a usage error */
  bool with_config;  /* smelt train: one CONFIG argument and --experiment */
} RtTrainCli;

/* Parses argv (argv[0] is the command). Returns 0 to run, -1 after printing the help to stdout,
 * 2 after printing "PROG: message" and the usage to stderr. */
int rt_train_args_parse(const RtTrainCli *cli, int argc, char **argv, RtTrainArgs *a);

/* The "options:" list of the help, in either tool's words: `source` is whose data and val_split
 * --data replaces ("config's", "experiment's"). Returns buf. */
const char *rt_train_options_help(bool with_config, const char *source, char *buf, size_t size);

/* What the command line says about a run of `experiment`: its folder OUT/<experiment> (written
 * into out_dir, which tc then references), --resume, --overwrite, --init and the progress display. */
void rt_train_args_apply(const RtTrainArgs *a, const char *experiment, char *out_dir, size_t size, RtTrainConfig *tc);

/* The lines both tools print before training: the charset and what is trained on what. With
 * fresh data enabled, train may be NULL (fresh->count new samples every epoch), or a folder's
 * set that the fresh samples are mixed into. */
void rt_train_print_start(const char *experiment, const char *preset, long long params, int batch, int epochs,
                          const RtDataset *train, const RtDataset *val, const RtFreshConfig *fresh);

/* The length every training label has (fresh data: the generator's range; mixed: both sets'), or
 * 0 when they differ or there are none. */
int rt_train_single_label_length(const RtDataset *train, const RtFreshConfig *fresh);

/* A note on stdout when a CTC model starts from its initialisation (no --init, no --resume) on
 * labels that all have one length: measured in docs/recipes.md ("Label lengths"), CTC leaves its
 * all-blank start much later on such labels, or not at all on large charsets. */
void rt_train_note_label_length(bool ctc, bool from_scratch, const RtDataset *train, const RtFreshConfig *fresh);

#endif

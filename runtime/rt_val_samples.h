/* A few validation samples read back from a run's val_predictions.tsv (written with its best
 * checkpoint) and printed label next to prediction: what `smelt train`, built trainers and
 * `smelt tune` show at the end of a run, so that a user sees the model read (or not). */
#ifndef SMELT_RT_VAL_SAMPLES_H
#define SMELT_RT_VAL_SAMPLES_H

#include <stdbool.h>
#include <stdio.h>

enum { RT_VAL_SAMPLES_SHOWN = 6 }; /* rows shown at the end of a run */

/* Prints up to `count` rows of run_dir/val_predictions.tsv as "  LABEL  PREDICTION  ok|wrong" (an empty prediction as "(none)"),
 * under a heading line, then one line with how many of the file's samples are read right and
 * that sequence accuracy's standard error (rt_seq_acc_stderr; left out when none or all are
 * read, where it is 0), then (when any sample is misread) one line with how many and the three
 * errors made most (rt_misreads.h); nothing when the file is absent or empty.
 * Returns whether it printed. */
bool rt_val_samples_print(const char *run_dir, int count, FILE *out);

/* The number of samples in run_dir/val_predictions.tsv (the validation set's size); 0 when the
 * file is absent or empty. */
int rt_val_samples_count(const char *run_dir);

#endif

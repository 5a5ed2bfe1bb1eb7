/* A dataset in memory: a folder's labels.tsv and images, checked, decoded once and kept as
 * model inputs, a byte a value (4,000 samples x 4 KiB = 16 MiB at 32 x 128; the loader reads them
 * back as floats), with labels as symbol ids. Problems are
 * diagnostics at labels.tsv:line; the caller picks whether they stop the load or skip the sample.
 * Also the deterministic train/validation split. A loaded dataset is read-only: any number of
 * threads (loaders) may read it at once. */
#ifndef SMELT_RT_DATASET_H
#define SMELT_RT_DATASET_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/rt_charset.h"
#include "support/rt_arena.h"
#include "support/rt_diag.h"

typedef enum RtDataPolicy {
  RT_DATA_STOP, /* any problem is an error and the load fails (after reporting all of them) */
  RT_DATA_SKIP, /* problems are warnings, the samples are left out and counted */
} RtDataPolicy;

/* At most this many problems are reported one by one; a note counts the rest. */
enum { RT_DATASET_MAX_REPORTED = 20 };

typedef struct RtDatasetOptions {
  const char *charset; /* symbols in id order (UTF-8); NULL = the sorted distinct symbols of the
                          labels that are kept */
  int max_label_len;   /* in symbols; 0 = no limit */
  int ctc_steps;       /* a CTC model's time steps T: a label needs one per symbol and a blank
                          between equal neighbours, so longer ones are refused; 0 = no check */
  RtDataPolicy policy;
  int height, width;   /* model input; 0 = RT_INPUT_H / RT_INPUT_W */
} RtDatasetOptions;

typedef struct RtDataset {
  int count;
  int height, width;    /* of every image */
  uint8_t *images;      /* (count, 1, height, width): model inputs in [-1, 1] (rt_image_to_input)
                           as bytes (rt_input_to_bytes) */
  int32_t *ids;         /* every label's symbol ids, concatenated */
  int64_t *label_start; /* (count) where sample i's ids start in ids */
  int32_t *label_len;   /* (count) symbols of sample i */
  int max_label_len;    /* the longest label here */
  const char **paths;   /* (count) image paths as written in labels.tsv */
  const char **texts;   /* (count) labels */
  int32_t *lines;       /* (count) line in labels.tsv, for messages */
  RtCharset charset;
  int skipped;          /* samples left out under RT_DATA_SKIP */
  char *labels_file;    /* "DIR/labels.tsv" */
  RtArena arena;        /* owns paths and texts */
} RtDataset;

/* Loads DIR/labels.tsv and its images (decoded in parallel on the runtime pool). Returns NULL
 * when an error was added to d: a missing labels.tsv, an invalid charset, no usable sample, or
 * under RT_DATA_STOP any problem: a bad line, a missing or undecodable image, a label longer than
 * max_label_len or than ctc_steps allow, a symbol outside an explicit charset. Under RT_DATA_SKIP those are warnings and
 * a summary warning says how many samples were skipped and why. opts may be NULL (stop, no
 * limit, charset from the labels). Caller frees with rt_dataset_free. */
RtDataset *rt_dataset_load(const char *dir, const RtDatasetOptions *opts, RtDiags *d);
void rt_dataset_free(RtDataset *ds);

/* The samples indices[0..n) of ds (copies; the charset is ds's). */
RtDataset *rt_dataset_subset(const RtDataset *ds, const int *indices, int n);
/* a's samples, then b's (copies; both with the same image size and charset, whose ids they
 * share; the labels file is a's): a folder's training set and a fresh epoch's, mixed. */
RtDataset *rt_dataset_concat(const RtDataset *a, const RtDataset *b);

/* Holds out a validation set: a seeded shuffle of the sample indices (Philox, rt_random.h) whose
 * last round(count * val_fraction) go to *val (at least 1, and at least 1 left for training),
 * both parts then in file order. The same (dataset, fraction, seed) always gives the same split.
 * Both share ds's charset. False with an error in d when ds has fewer than 2 samples or the
 * fraction is not in (0, 1). */
bool rt_dataset_split(const RtDataset *ds, double val_fraction, uint64_t seed, RtDataset **train,
                      RtDataset **val, RtDiags *d);

/* Sample i's image as stored (bytes), and as the model reads it (height * width floats). */
static inline const uint8_t *rt_dataset_pixels(const RtDataset *ds, int i) {
  return ds->images + (int64_t)i * ds->height * ds->width;
}
void rt_dataset_input(const RtDataset *ds, int i, float *out);
/* Bytes of the images of `count` samples of height x width. */
static inline int64_t rt_dataset_image_bytes(int64_t count, int height, int width) {
  return count * height * width * (int64_t)sizeof(uint8_t);
}
/* The label of sample i. */
static inline const int32_t *rt_dataset_label(const RtDataset *ds, int i) {
  return ds->ids + ds->label_start[i];
}

#endif

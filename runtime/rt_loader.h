/* Batches for the training loop: a seeded per-epoch order over a dataset, images copied (and
 * augmented, for training) into batch tensors, labels padded to a fixed width. Optionally a
 * background thread prepares the next batches while the caller trains (three buffers: one held,
 * two filled ahead). Batches depend only on (dataset, options, epoch), never on thread timing:
 * the background mode gives the same bytes as the synchronous one. */
#ifndef SMELT_RT_LOADER_H
#define SMELT_RT_LOADER_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/rt_augment.h"
#include "runtime/rt_dataset.h"

typedef struct RtBatch {
  int size;           /* real samples; less than capacity only in an epoch's last batch */
  int capacity;       /* the batch size B */
  int index;          /* batch number within the epoch, from 0 */
  int64_t epoch;
  int height, width, label_width;
  float *images;      /* (B, 1, H, W); rows [size, B) repeat the epoch's first images */
  int32_t *labels;    /* (B, L) symbol ids; 0 past each label's length and in padding rows */
  int32_t *lengths;   /* (B) label lengths; 0 for padding rows */
  int32_t *samples;   /* (B) dataset index of each row; -1 for padding rows */
} RtBatch;

typedef struct RtLoaderOptions {
  int batch_size;           /* >= 1 */
  int label_width;          /* L; 0 = the dataset's longest label. Must be >= that. */
  uint64_t seed;            /* shuffling and augmentation */
  bool shuffle;             /* false: file order every epoch (validation) */
  bool background;          /* prepare batches in a background thread (synchronous, with a
                             * warning, when the thread cannot start) */
  RtAugmentSettings augment; /* applied when augment.enabled (training only) */
  /* Data-parallel training: with shards > 1 the epoch goes in global batches of batch_size *
   * shards samples, and this loader gives rows [shard * batch_size, (shard + 1) * batch_size)
   * of each (in an epoch's last, shorter global batch, what remains of those rows: possibly
   * none, then every row is padding). Each process of a run takes its own shard of the same
   * order, so together they see exactly the batches of one process at the global batch size. */
  int shard, shards;
} RtLoaderOptions;

typedef struct RtLoader RtLoader;

/* A loader over ds, which must outlive it and stay unchanged. No epoch is started yet. */
RtLoader *rt_loader_new(const RtDataset *ds, const RtLoaderOptions *opts);
/* Stops the background thread and frees everything. NULL is allowed. */
void rt_loader_free(RtLoader *l);

/* Batches of the current epoch: ceil(samples / (batch_size * shards)) (before the first start:
 * of the whole dataset). */
int rt_loader_batches(const RtLoader *l);
/* Samples of the current epoch: the dataset's count, or those a length limit keeps. */
int rt_loader_samples(const RtLoader *l);

/* Starts (or restarts) epoch `epoch` (>= 0): the order is a Fisher-Yates shuffle driven by
 * Philox(seed, epoch), so the same seed and epoch always give the same order, and a resumed run
 * can start at any epoch. Batches of a previous epoch not yet taken are dropped. */
void rt_loader_start_epoch(RtLoader *l, int64_t epoch);
/* The same over dataset ds from now on (NULL: the current one), which must have the images' size
 * and fit the label width, and outlive its epochs (until the next start or rt_loader_free).
 * max_len > 0 keeps only the samples whose labels have at most max_len symbols (a curriculum),
 * in the order of the full shuffle, so the epoch depends on (seed, epoch, max_len) alone. At
 * least one sample must remain. */
void rt_loader_start_epoch_on(RtLoader *l, int64_t epoch, const RtDataset *ds, int max_len);

/* The next batch of the current epoch, or NULL at its end (or before the first start_epoch).
 * The batch stays valid until the next call of rt_loader_next, rt_loader_start_epoch or
 * rt_loader_free on l. In background mode it waits only if the batch is not ready yet. */
const RtBatch *rt_loader_next(RtLoader *l);

/* What rt_loader_next did since rt_loader_new: batches returned, and how many times and how
 * long it waited for the background thread (never in synchronous mode, where preparation
 * happens inside rt_loader_next). A training loop that keeps up shows waits at epoch starts only. */
typedef struct RtLoaderStats {
  int64_t batches, waits;
  double wait_seconds;
} RtLoaderStats;
RtLoaderStats rt_loader_stats(const RtLoader *l);

/* Thread-safety: one loader is driven by one thread (the training loop); the background thread
 * is internal. Several loaders may share one dataset. */

#endif

/* The batch loader. Batch b of an epoch lives in slot b % SLOTS; the producer (background thread,
 * or rt_loader_next itself in synchronous mode) may fill batch b once the batch that used the
 * slot before has been released by the consumer. An epoch generation number lets
 * rt_loader_start_epoch discard batches prepared for an epoch that was abandoned. */
#include "runtime/rt_loader.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "support/rt_assert.h"
#include "support/rt_random.h"

enum { SLOTS = 3 };

struct RtLoader {
  const RtDataset *ds; /* the current epoch's */
  RtLoaderOptions o;
  int batches;         /* of the current epoch */
  int n;               /* samples in the current epoch: ds->count, or fewer under a length limit */
  RtBatch slots[SLOTS];
  int *order;          /* (order_cap) dataset index of each position of the epoch, n used */
  int order_cap;
  float *decoded;      /* one image read back from the dataset's bytes, for augmentation (one
                          fill runs at a time: the producer's, or rt_loader_next's) */

  pthread_mutex_t mu;
  pthread_cond_t work_cv;  /* the producer waits here for work */
  pthread_cond_t ready_cv; /* the consumer waits for a batch, start_epoch for an idle producer */
  pthread_t thread;
  bool thread_started;
  /* under mu */
  bool quit, active, busy, held;
  int64_t epoch;
  uint64_t generation;
  int next_fill, consumed;
  int ready[SLOTS]; /* batch number ready in each slot, -1 = none */
  RtLoaderStats stats;
};

static int shard(const RtLoader *l) { return l->o.shards > 1 ? l->o.shard : 0; }
static int global_batch(const RtLoader *l) { return l->o.batch_size * (l->o.shards > 1 ? l->o.shards : 1); }

/* Fills slot s with batch b of epoch `epoch`. Reads only the dataset, the order and options. */
static void fill(const RtLoader *l, RtBatch *s, int b, int64_t epoch) {
  const RtDataset *ds = l->ds;
  int B = l->o.batch_size, L = s->label_width;
  int64_t pixels = (int64_t)ds->height * ds->width;
  int start = b * global_batch(l) + shard(l) * B, size = l->n - start < B ? l->n - start : B;
  if (size < 0) size = 0;
  s->size = size;
  s->index = b;
  s->epoch = epoch;
  memset(s->labels, 0, (size_t)B * L * sizeof *s->labels);
  for (int j = 0; j < B; j++) {
    float *img = s->images + j * pixels;
    if (j >= size) {
      /* a padding row: a copy of one of the epoch's first images, so that batch-norm statistics
       * in training mode see only real images; no label, and the loss and metrics leave it out */
      int i = l->order[(j - size) % l->n];
      rt_dataset_input(ds, i, l->decoded);
      rt_augment_apply(&l->o.augment, l->o.seed, epoch, i, ds->height, ds->width, l->decoded, img);
      s->lengths[j] = 0;
      s->samples[j] = -1;
      continue;
    }
    int i = l->order[start + j];
    rt_dataset_input(ds, i, l->decoded);
    rt_augment_apply(&l->o.augment, l->o.seed, epoch, i, ds->height, ds->width, l->decoded, img);
    memcpy(s->labels + (int64_t)j * L, rt_dataset_label(ds, i), (size_t)ds->label_len[i] * sizeof *s->labels);
    s->lengths[j] = ds->label_len[i];
    s->samples[j] = i;
  }
}

/* Batches below this may not be overwritten: the one the consumer holds and those after it. */
static int low_water(const RtLoader *l) { return l->consumed - (l->held ? 1 : 0); }

static void *producer(void *arg) {
  RtLoader *l = arg;
  pthread_mutex_lock(&l->mu);
  for (;;) {
    while (!l->quit && !(l->active && l->next_fill < l->batches && l->next_fill < low_water(l) + SLOTS))
      pthread_cond_wait(&l->work_cv, &l->mu);
    if (l->quit) break;
    int b = l->next_fill++, slot = b % SLOTS;
    uint64_t gen = l->generation;
    int64_t epoch = l->epoch;
    l->busy = true;
    pthread_mutex_unlock(&l->mu);
    fill(l, &l->slots[slot], b, epoch);
    pthread_mutex_lock(&l->mu);
    l->busy = false;
    if (gen == l->generation) l->ready[slot] = b;
    pthread_cond_broadcast(&l->ready_cv);
  }
  pthread_mutex_unlock(&l->mu);
  return NULL;
}

RtLoader *rt_loader_new(const RtDataset *ds, const RtLoaderOptions *opts) {
  RT_ASSERT(opts->batch_size >= 1, "batch size %d", opts->batch_size);
  RT_ASSERT(ds->count >= 1, "empty dataset");
  RT_ASSERT(opts->shards <= 1 || (opts->shard >= 0 && opts->shard < opts->shards), "shard %d of %d", opts->shard,
            opts->shards);
  RtLoader *l = rt_xcalloc(1, sizeof *l);
  l->ds = ds;
  l->o = *opts;
  int L = l->o.label_width ? l->o.label_width : ds->max_label_len;
  RT_ASSERT(L >= ds->max_label_len && L >= 1, "label width %d below the longest label (%d)", L,
            ds->max_label_len);
  l->o.label_width = L;
  l->n = ds->count;
  l->batches = (ds->count + global_batch(l) - 1) / global_batch(l);
  l->order_cap = ds->count;
  l->order = rt_xmalloc((size_t)ds->count * sizeof *l->order);
  int B = opts->batch_size;
  size_t pixels = (size_t)ds->height * (size_t)ds->width;
  l->decoded = rt_xmalloc_named(pixels * sizeof(float), "an image being loaded");
  for (int s = 0; s < SLOTS; s++) {
    l->slots[s] = (RtBatch){.capacity = B, .height = ds->height, .width = ds->width, .label_width = L};
    l->slots[s].images = rt_xmalloc_named((size_t)B * pixels * sizeof(float), "a batch of images");
    l->slots[s].labels = rt_xmalloc((size_t)B * L * sizeof(int32_t));
    l->slots[s].lengths = rt_xmalloc((size_t)B * sizeof(int32_t));
    l->slots[s].samples = rt_xmalloc((size_t)B * sizeof(int32_t));
    l->ready[s] = -1;
  }
  pthread_mutex_init(&l->mu, NULL);
  pthread_cond_init(&l->work_cv, NULL);
  pthread_cond_init(&l->ready_cv, NULL);
  if (opts->background) {
    /* without the thread (no memory for its stack, or a process limit) the same batches are
     * prepared in rt_loader_next: slower, never different */
    int err = pthread_create(&l->thread, NULL, producer, l);
    if (err) fprintf(stderr, "warning: cannot start the batch loader thread (%s); batches are prepared "
                             "in the training thread\n", strerror(err));
    l->thread_started = err == 0;
  }
  return l;
}

void rt_loader_free(RtLoader *l) {
  if (!l) return;
  if (l->thread_started) {
    pthread_mutex_lock(&l->mu);
    l->quit = true;
    pthread_cond_broadcast(&l->work_cv);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->thread, NULL);
  }
  pthread_mutex_destroy(&l->mu);
  pthread_cond_destroy(&l->work_cv);
  pthread_cond_destroy(&l->ready_cv);
  free(l->decoded);
  for (int s = 0; s < SLOTS; s++) {
    free(l->slots[s].images);
    free(l->slots[s].labels);
    free(l->slots[s].lengths);
    free(l->slots[s].samples);
  }
  free(l->order);
  free(l);
}

int rt_loader_batches(const RtLoader *l) { return l->batches; }

int rt_loader_samples(const RtLoader *l) { return l->n; }

void rt_loader_start_epoch(RtLoader *l, int64_t epoch) { rt_loader_start_epoch_on(l, epoch, NULL, 0); }

/* Keeps the positions of order[0..n) whose labels have at most max_len symbols, in order. */
static int keep_short(const RtDataset *ds, int *order, int n, int max_len) {
  int k = 0;
  for (int i = 0; i < n; i++)
    if (ds->label_len[order[i]] <= max_len) order[k++] = order[i];
  return k;
}

void rt_loader_start_epoch_on(RtLoader *l, int64_t epoch, const RtDataset *ds, int max_len) {
  RT_ASSERT(epoch >= 0, "epoch %lld", (long long)epoch);
  if (ds)
    RT_ASSERT(ds->count >= 1 && ds->height == l->ds->height && ds->width == l->ds->width &&
                  ds->max_label_len <= l->o.label_width,
              "a %dx%d set of %d samples with labels up to %d for a %dx%d loader of width %d", ds->height, ds->width,
              ds->count, ds->max_label_len, l->ds->height, l->ds->width, l->o.label_width);
  pthread_mutex_lock(&l->mu);
  l->generation++;
  l->active = false;
  while (l->busy) pthread_cond_wait(&l->ready_cv, &l->mu); /* it may be reading the order */
  if (ds) l->ds = ds;
  int n = l->ds->count;
  if (n > l->order_cap) {
    l->order = rt_xrealloc(l->order, (size_t)n * sizeof *l->order);
    l->order_cap = n;
  }
  for (int i = 0; i < n; i++) l->order[i] = i;
  if (l->o.shuffle) { /* Fisher-Yates: swap position i with j uniform in [0, i] */
    uint64_t stream = rt_random_stream_of("loader/shuffle") + (uint64_t)epoch;
    for (int i = n - 1; i > 0; i--) {
      uint32_t w = rt_random_words(l->o.seed, stream, (uint64_t)i).v[0];
      int j = (int)(((uint64_t)w * (uint64_t)(i + 1)) >> 32);
      int t = l->order[i];
      l->order[i] = l->order[j];
      l->order[j] = t;
    }
  }
  /* the length limit filters the whole shuffle: the epoch's order depends on (seed, epoch, limit)
   * alone, and the samples it keeps come in the order they would have without it */
  if (max_len > 0) n = keep_short(l->ds, l->order, n, max_len);
  RT_ASSERT(n >= 1, "no sample of %d with a label of at most %d symbols", l->ds->count, max_len);
  l->n = n;
  l->batches = (n + global_batch(l) - 1) / global_batch(l);
  for (int s = 0; s < SLOTS; s++) l->ready[s] = -1;
  l->epoch = epoch;
  l->next_fill = l->consumed = 0;
  l->held = false;
  l->active = true;
  pthread_cond_broadcast(&l->work_cv);
  pthread_mutex_unlock(&l->mu);
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

const RtBatch *rt_loader_next(RtLoader *l) {
  if (!l->thread_started) {
    if (!l->active || l->consumed == l->batches) return NULL;
    RtBatch *s = &l->slots[0];
    fill(l, s, l->consumed++, l->epoch);
    l->stats.batches++;
    return s;
  }
  pthread_mutex_lock(&l->mu);
  if (l->held) { /* the previous batch's slot may now be refilled */
    l->held = false;
    pthread_cond_broadcast(&l->work_cv);
  }
  if (!l->active || l->consumed == l->batches) {
    pthread_mutex_unlock(&l->mu);
    return NULL;
  }
  int b = l->consumed, slot = b % SLOTS;
  if (l->ready[slot] != b) {
    double t0 = now_seconds();
    while (l->ready[slot] != b) pthread_cond_wait(&l->ready_cv, &l->mu);
    l->stats.wait_seconds += now_seconds() - t0;
    l->stats.waits++;
  }
  l->stats.batches++;
  l->ready[slot] = -1;
  l->consumed++;
  l->held = true;
  pthread_mutex_unlock(&l->mu);
  return &l->slots[slot];
}

RtLoaderStats rt_loader_stats(const RtLoader *l) {
  pthread_mutex_lock((pthread_mutex_t *)&l->mu);
  RtLoaderStats s = l->stats;
  pthread_mutex_unlock((pthread_mutex_t *)&l->mu);
  return s;
}

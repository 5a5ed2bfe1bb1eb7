/* Epoch sets of fresh synthetic samples (rt_fresh.h). A job renders one set: samples are claimed
 * one at a time from an atomic counter, by the prefetch thread while the previous epoch trains
 * and by every pool thread once the set is needed, so whoever renders a sample, its bytes are the
 * same (each is a pure function of its index). At most one job exists besides the set training. */
#include "runtime/rt_fresh.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/rt_fpenv.h"
#include "runtime/rt_image.h"
#include "runtime/rt_pool.h"
#include "runtime/rt_synth.h"
#include "support/rt_assert.h"

/* The FreeType slot of the prefetch thread: pool threads use 0..rt_pool_threads()-1. */
enum { PREFETCH_WORKER = RT_POOL_MAX_THREADS - 1 };

typedef struct Job {
  const RtFresh *f;
  RtSynth *synth;     /* f->synth, borrowed */
  int64_t epoch, first;
  int max_len, count;
  size_t label_cap;   /* bytes per label slot */
  uint8_t *images;    /* (count, 1, H, W) model inputs as bytes (rt_input_to_bytes) */
  char *labels;       /* (count, label_cap) */
  _Atomic int64_t next; /* the next sample to claim; >= count: none left */
  pthread_t thread;
  bool thread_started;
} Job;

struct RtFresh {
  RtFreshConfig c;    /* charset points to charset.utf8 */
  RtCharset charset;
  int height, width;  /* model input */
  bool background;
  RtSynth *synth;     /* the generator of the last job's length range */
  int synth_max_len;
  Job *pending;       /* a prefetch, or NULL */
};

int64_t rt_fresh_first_index(const RtFreshConfig *c, int64_t epoch) {
  return epoch == 0 ? 0 : (int64_t)c->val_count + epoch * (int64_t)c->count;
}

const char *rt_fresh_charset(const RtFreshConfig *c) { return c->charset ? c->charset : RT_SYNTH_DEFAULT_CHARSET; }

/* The generator for labels of min_len..max_len; the previous one when the range is the same. */
static RtSynth *synth_for(RtFresh *f, int max_len, RtDiags *d) {
  if (f->synth && f->synth_max_len == max_len) return f->synth;
  rt_synth_free(f->synth);
  RtSynthOptions so = f->c.style;
  so.charset = f->c.charset;
  so.min_len = f->c.min_len;
  so.max_len = max_len;
  f->synth = rt_synth_new(&so, d);
  f->synth_max_len = max_len;
  return f->synth;
}

RtFresh *rt_fresh_new(const RtFreshConfig *c, int height, int width, bool background, RtDiags *d) {
  RT_ASSERT(c->count >= 1 && height > 0 && width > 0, "fresh set of %d samples, %dx%d", c->count, height, width);
  RtFresh *f = rt_xcalloc(1, sizeof *f);
  f->c = *c;
  char err[256];
  if (!rt_charset_init(&f->charset, rt_fresh_charset(c), err, sizeof err)) {
    rt_diag_error(d, "", 0, 0, "%s", err);
    free(f);
    return NULL;
  }
  f->c.charset = f->charset.utf8;
  f->height = height;
  f->width = width;
  /* the prefetch thread needs a FreeType slot no pool thread uses */
  f->background = background && rt_pool_threads() < RT_POOL_MAX_THREADS;
  if (!synth_for(f, c->max_len, d)) { /* options, fonts, glyphs: checked before the run starts */
    rt_fresh_free(f);
    return NULL;
  }
  return f;
}

/* Renders sample i of the job into its slots; rgb (H_synth, W_synth, 3) and input (H, W) are the
 * caller's scratch. */
static void render_one(Job *job, int64_t i, int worker, uint8_t *rgb, float *input) {
  const RtSynthOptions *o = rt_synth_options(job->synth);
  rt_synth_render(job->synth, job->f->c.seed, job->first + i, worker, job->labels + i * job->label_cap, rgb);
  RtImage img;
  rt_image_from_pixels(rgb, o->width, o->height, 3, &img);
  int64_t pixels = (int64_t)job->f->height * job->f->width;
  rt_image_to_input(&img, job->f->height, job->f->width, input);
  rt_input_to_bytes(input, pixels, job->images + i * pixels);
  rt_image_free(&img);
}

/* Renders samples until none is left to claim. */
static void claim_loop(Job *job, int worker) {
  const RtSynthOptions *o = rt_synth_options(job->synth);
  uint8_t *rgb = rt_xmalloc((size_t)o->height * (size_t)o->width * 3);
  float *input = rt_xmalloc((size_t)job->f->height * (size_t)job->f->width * sizeof *input);
  for (int64_t i; (i = atomic_fetch_add(&job->next, 1)) < job->count;) render_one(job, i, worker, rgb, input);
  free(input);
  free(rgb);
}

static void *prefetch_main(void *arg) {
  rt_fpenv_flush_denormals(); /* the mode of the pool threads that render the other samples */
  claim_loop(arg, PREFETCH_WORKER);
  return NULL;
}

static void pool_chunk(void *ctx, int64_t begin, int64_t end, int32_t worker) {
  (void)begin, (void)end;
  claim_loop(ctx, worker);
}

static Job *job_new(RtFresh *f, int64_t epoch, int max_len, RtDiags *d) {
  RtSynth *synth = synth_for(f, max_len, d);
  if (!synth) return NULL;
  Job *job = rt_xcalloc(1, sizeof *job);
  job->f = f;
  job->synth = synth;
  job->epoch = epoch;
  job->first = rt_fresh_first_index(&f->c, epoch);
  job->max_len = max_len;
  job->count = f->c.count;
  job->label_cap = 4 * (size_t)max_len + 1;
  job->images = rt_xmalloc_named((size_t)rt_dataset_image_bytes(job->count, f->height, f->width),
                                 "a set of fresh synthetic samples");
  job->labels = rt_xcalloc((size_t)job->count, job->label_cap);
  atomic_init(&job->next, 0);
  return job;
}

/* Stops the prefetch thread after the sample it is on, and joins it. */
static void job_stop(Job *job) {
  atomic_store(&job->next, job->count);
  if (job->thread_started) pthread_join(job->thread, NULL);
  job->thread_started = false;
}

static void job_free(Job *job) {
  if (!job) return;
  job_stop(job);
  free(job->images);
  free(job->labels);
  free(job);
}

/* Renders what is left on the pool, then waits for the prefetch thread's last sample. */
static void job_finish(Job *job) {
  smelt_rt_parallel_for(pool_chunk, job, rt_pool_threads(), 1);
  if (job->thread_started) pthread_join(job->thread, NULL);
  job->thread_started = false;
}

/* The finished job as a dataset laid out as rt_dataset_load lays out a folder of these samples
 * (paths as rt_synth_generate names the files, lines as labels.tsv numbers them). Takes the
 * job's images. */
static RtDataset *job_dataset(Job *job) {
  const RtFresh *f = job->f;
  int n = job->count;
  RtDataset *ds = rt_xcalloc(1, sizeof *ds);
  ds->count = n;
  ds->height = f->height;
  ds->width = f->width;
  ds->images = job->images;
  job->images = NULL;
  rt_charset_copy(&ds->charset, &f->charset);
  ds->ids = rt_xmalloc((size_t)n * (size_t)job->max_len * sizeof *ds->ids);
  ds->label_start = rt_xmalloc((size_t)n * sizeof *ds->label_start);
  ds->label_len = rt_xmalloc((size_t)n * sizeof *ds->label_len);
  ds->paths = rt_xmalloc((size_t)n * sizeof *ds->paths);
  ds->texts = rt_xmalloc((size_t)n * sizeof *ds->texts);
  ds->lines = rt_xmalloc((size_t)n * sizeof *ds->lines);
  int64_t off = 0;
  for (int i = 0; i < n; i++) {
    const char *text = job->labels + (size_t)i * job->label_cap;
    int len = rt_charset_encode(&ds->charset, text, ds->ids + off, job->max_len, NULL, NULL);
    RT_ASSERT(len >= 1 && len <= job->max_len, "generated label '%s' encodes to %d symbols", text, len);
    char path[32];
    snprintf(path, sizeof path, "images/%06lld.png", (long long)(job->first + i));
    ds->label_start[i] = off;
    ds->label_len[i] = len;
    if (len > ds->max_label_len) ds->max_label_len = len;
    ds->paths[i] = rt_arena_strdup(&ds->arena, path);
    ds->texts[i] = rt_arena_strdup(&ds->arena, text);
    ds->lines[i] = i + 1;
    off += len;
  }
  char name[96];
  snprintf(name, sizeof name, "fresh synthetic samples %lld-%lld (epoch %lld)", (long long)job->first,
           (long long)(job->first + n - 1), (long long)job->epoch + 1);
  ds->labels_file = rt_xstrdup(name);
  return ds;
}

/* The label length range a request stands for. */
static int clamp_len(const RtFresh *f, int max_len) {
  if (max_len <= 0 || max_len > f->c.max_len) return f->c.max_len;
  return max_len < f->c.min_len ? f->c.min_len : max_len;
}

RtDataset *rt_fresh_set(RtFresh *f, int64_t epoch, int max_len, RtDiags *d) {
  max_len = clamp_len(f, max_len);
  Job *job = f->pending;
  f->pending = NULL;
  if (job && (job->epoch != epoch || job->max_len != max_len)) {
    job_free(job);
    job = NULL;
  }
  if (!job && !(job = job_new(f, epoch, max_len, d))) return NULL;
  job_finish(job);
  RtDataset *ds = job_dataset(job);
  job_free(job);
  return ds;
}

bool rt_fresh_prefetch(RtFresh *f, int64_t epoch, int max_len, RtDiags *d) {
  max_len = clamp_len(f, max_len);
  job_free(f->pending);
  f->pending = NULL;
  Job *job = job_new(f, epoch, max_len, d);
  if (!job) return false;
  if (f->background) {
    int err = pthread_create(&job->thread, NULL, prefetch_main, job);
    if (err) fprintf(stderr, "warning: cannot start the thread that renders the next epoch's samples (%s); they "
                             "are rendered when the epoch starts\n", strerror(err));
    job->thread_started = err == 0;
  }
  f->pending = job;
  return true;
}

void rt_fresh_free(RtFresh *f) {
  if (!f) return;
  job_free(f->pending);
  rt_synth_free(f->synth);
  rt_charset_free(&f->charset);
  free(f);
}

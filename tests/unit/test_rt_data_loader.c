/* Augmentation and the batch loader (runtime/rt_augment.h, rt_loader.h): augmentation is a pure
 * function of (seed, epoch, sample), changes pixels by a sane amount and stays in [-1, 1]; the
 * loader visits every sample exactly once per epoch, repeats the order for the same (seed, epoch)
 * and changes it for another epoch, reports and pads the partial last batch, and its background
 * thread produces byte-identical batches to the synchronous mode, also across restarted epochs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <time.h>

#include "runtime/rt_augment.h"
#include "runtime/rt_loader.h"
#include "test_rt_data_fixture.h"

enum { H = 32, W = 128, P = H * W };

/* ---- augmentation ---- */

static void test_augment(void **state) {
  RtDataset *ds = fx_dataset(4, H, W);
  static float in[P], x[P];
  rt_dataset_input(ds, 1, in);
  float a[P], b[P], c[P];
  RtAugmentSettings s = rt_augment_defaults();
  assert_true(s.enabled);
  rt_augment_apply(&s, 42, 3, 1, H, W, in, a);
  rt_augment_apply(&s, 42, 3, 1, H, W, in, b);
  assert_memory_equal(a, b, sizeof a); /* pure function of (seed, epoch, sample) */
  memcpy(c, in, sizeof c);
  rt_augment_apply(&s, 42, 3, 1, H, W, c, c); /* in place */
  assert_memory_equal(a, c, sizeof a);
  rt_augment_apply(&s, 42, 4, 1, H, W, in, b); /* next epoch: different */
  assert_true(memcmp(a, b, sizeof a) != 0);
  rt_augment_apply(&s, 43, 3, 1, H, W, in, b); /* other seed: different */
  assert_true(memcmp(a, b, sizeof a) != 0);
  /* changed, but not beyond recognition: mean |difference| in (0.002, 0.3) on a [-1, 1] scale */
  for (int sample = 0; sample < 4; sample++) {
    rt_dataset_input(ds, sample, x);
    double diff = 0;
    rt_augment_apply(&s, 42, 0, sample, H, W, x, a);
    for (int i = 0; i < P; i++) {
      assert_true(a[i] >= -1.0f && a[i] <= 1.0f);
      diff += fabs(a[i] - x[i]);
    }
    diff /= P;
    assert_true(diff > 0.002 && diff < 0.3);
  }
  /* disabled (or NULL): a copy */
  s.enabled = false;
  rt_augment_apply(&s, 42, 3, 1, H, W, in, a);
  assert_memory_equal(a, in, sizeof a);
  rt_augment_apply(NULL, 42, 3, 1, H, W, in, a);
  assert_memory_equal(a, in, sizeof a);
  /* enabled with every strength zero: the identity, up to float rounding */
  s = (RtAugmentSettings){.enabled = true};
  rt_augment_apply(&s, 42, 3, 1, H, W, in, a);
  for (int i = 0; i < P; i++) assert_float_equal(a[i], in[i], 1e-5);
  /* each effect alone moves the pixels of a checkerboard of 4x4 squares */
  for (int i = 0; i < P; i++) in[i] = ((i % W) / 4 + (i / W) / 4) % 2 ? 0.8f : -0.8f;
  const RtAugmentSettings one[] = {{.enabled = true, .rotation = 10}, {.enabled = true, .shear = 20},
                                   {.enabled = true, .scale = 0.2},   {.enabled = true, .translate = 0.1},
                                   {.enabled = true, .noise = 0.1},   {.enabled = true, .blur = 3},
                                   {.enabled = true, .contrast = 0.5}, {.enabled = true, .brightness = 0.2}};
  for (int k = 0; k < 8; k++) {
    double diff = 0;
    rt_augment_apply(&one[k], 42, 3, 1, H, W, in, a);
    for (int i = 0; i < P; i++) diff += fabs(a[i] - in[i]);
    if (!(diff / P > 1e-3)) fail_msg("effect %d changed nothing (%g)", k, diff / P);
  }
  rt_dataset_free(ds);
}

/* The CAPTCHA effects (lines, wave, erase, invert, gamma) on an image of dark bars on a light
 * background: each one alone is a pure function of (seed, epoch, sample), changes the image in
 * some epoch and stays within its bound; all are off in the defaults. */
enum { EPOCHS = 8 };

static void bars(float *img) {
  for (int i = 0; i < P; i++) {
    int x = i % W, y = i / W;
    img[i] = (y >= 8 && y < 24 && x % 16 < 3) ? -0.8f : 0.6f;
  }
}

/* Applies s for epochs 0..EPOCHS-1 (sample 5), checks determinism and that some epoch changes
 * the image; check(in, out) tests the bound of each result. */
static void effect_case(const RtAugmentSettings *s, const char *name, void (*check)(const float *, const float *)) {
  float in[P], a[P], b[P];
  bars(in);
  bool changed = false;
  for (int e = 0; e < EPOCHS; e++) {
    rt_augment_apply(s, 42, e, 5, H, W, in, a);
    rt_augment_apply(s, 42, e, 5, H, W, in, b);
    if (memcmp(a, b, sizeof a) != 0) fail_msg("%s: not a function of (seed, epoch, sample)", name);
    for (int i = 0; i < P; i++) changed |= fabsf(a[i] - in[i]) > 1e-3f;
    check(in, a);
  }
  if (!changed) fail_msg("%s changed nothing in %d epochs", name, EPOCHS);
}

/* Strokes move pixels towards a colour between the ink (-0.8) and 60% of the way from the
 * background (0.6) to it (-0.24), and cover a bounded area (4 strokes, each at most 2 px wide plus
 * antialiasing, along a curve shorter than 2 W). */
static void check_lines(const float *in, const float *out) {
  int moved = 0;
  for (int i = 0; i < P; i++) {
    float lo = in[i] < -0.8f ? in[i] : -0.8f, hi = in[i] > -0.24f ? in[i] : -0.24f;
    if (out[i] < lo - 1e-5f || out[i] > hi + 1e-5f) fail_msg("lines: pixel %d left [%g, %g]: %g", i, lo, hi, out[i]);
    moved += fabsf(out[i] - in[i]) > 1e-5f;
  }
  if (moved > 4 * 2 * W * 4) fail_msg("lines: %d pixels changed", moved);
}

/* A displacement of at most 2 px: each pixel lies within the values of its 7x7 neighbourhood. */
static void check_wave(const float *in, const float *out) {
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      float lo = 1, hi = -1;
      for (int yy = y - 3; yy <= y + 3; yy++)
        for (int xx = x - 3; xx <= x + 3; xx++) {
          float v = (yy >= 0 && yy < H && xx >= 0 && xx < W) ? in[yy * W + xx] : 0.6f; /* background */
          lo = v < lo ? v : lo, hi = v > hi ? v : hi;
        }
      float v = out[y * W + x];
      if (v < lo - 1e-5f || v > hi + 1e-5f) fail_msg("wave: pixel (%d, %d) = %g outside [%g, %g]", y, x, v, lo, hi);
    }
}

/* Erased pixels take the background (0.6); at most 3 patches of (1 + H/3)^2 pixels. */
static void check_erase(const float *in, const float *out) {
  int erased = 0;
  for (int i = 0; i < P; i++) {
    if (fabsf(out[i] - in[i]) < 1e-5f) continue;
    if (fabsf(out[i] - 0.6f) > 1e-5f) fail_msg("erase: pixel %d became %g, not the background", i, out[i]);
    erased++;
  }
  if (erased > 3 * (1 + H / 3) * (1 + H / 3)) fail_msg("erase: %d pixels erased", erased);
}

/* invert 1: every image is the negative. */
static void check_invert(const float *in, const float *out) {
  for (int i = 0; i < P; i++) assert_float_equal(out[i], -in[i], 1e-5);
}

/* gamma 1: x^2 <= y <= x^(1/2) on [0, 1] intensities. */
static void check_gamma(const float *in, const float *out) {
  for (int i = 0; i < P; i++) {
    float x = (in[i] + 1) / 2, y = (out[i] + 1) / 2;
    if (y < x * x - 1e-5f || y > sqrtf(x) + 1e-5f) fail_msg("gamma: %g -> %g", x, y);
  }
}

static void test_augment_captcha_effects(void **state) {
  RtAugmentSettings d = rt_augment_defaults();
  assert_true(d.lines == 0 && d.wave == 0 && d.erase == 0 && d.invert == 0 && d.gamma == 0);
  effect_case(&(RtAugmentSettings){.enabled = true, .lines = 4}, "lines", check_lines);
  effect_case(&(RtAugmentSettings){.enabled = true, .wave = 2}, "wave", check_wave);
  effect_case(&(RtAugmentSettings){.enabled = true, .erase = 3}, "erase", check_erase);
  effect_case(&(RtAugmentSettings){.enabled = true, .invert = 1}, "invert", check_invert);
  effect_case(&(RtAugmentSettings){.enabled = true, .gamma = 1}, "gamma", check_gamma);
  /* invert 0.5: some samples inverted, some not */
  RtAugmentSettings half = {.enabled = true, .invert = 0.5};
  float in[P], out[P];
  bars(in);
  int inverted = 0;
  for (int sample = 0; sample < 32; sample++) {
    rt_augment_apply(&half, 42, 0, sample, H, W, in, out);
    inverted += out[0] < 0;
  }
  assert_true(inverted > 4 && inverted < 28);
  /* the effects depend on the epoch: strokes of epoch 0 and 1 differ */
  RtAugmentSettings lines = {.enabled = true, .lines = 20};
  float a[P], b[P];
  rt_augment_apply(&lines, 42, 0, 5, H, W, in, a);
  rt_augment_apply(&lines, 42, 1, 5, H, W, in, b);
  assert_true(memcmp(a, b, sizeof a) != 0);
}

/* ---- loader ---- */

/* Which dataset sample a batch row holds: fx_dataset images start at -0.8 + 0.8 i / n. */
static int sample_of_row(const float *img, int n) { return (int)lrintf((img[0] + 0.8f) * n / 0.8f); }

static void check_epoch(RtLoader *l, const RtDataset *ds, int batch, int64_t epoch, int *order) {
  static float stored[P];
  rt_loader_start_epoch(l, epoch);
  int seen[64] = {0}, pos = 0, batches = 0;
  const RtBatch *b;
  while ((b = rt_loader_next(l))) {
    assert_int_equal(b->index, batches);
    assert_int_equal(b->epoch, epoch);
    assert_int_equal(b->capacity, batch);
    bool last = batches == rt_loader_batches(l) - 1;
    assert_int_equal(b->size, last ? ds->count - batch * batches : batch);
    for (int j = 0; j < b->capacity; j++) {
      const float *img = b->images + (size_t)j * P;
      const int32_t *lab = b->labels + (size_t)j * b->label_width;
      if (j >= b->size) { /* padding rows */
        assert_int_equal(b->samples[j], -1);
        assert_int_equal(b->lengths[j], 0);
        /* a copy of one of the epoch's first images (real pixels for batch-norm statistics) */
        rt_dataset_input(ds, order[(j - b->size) % ds->count], stored);
        assert_memory_equal(img, stored, P * sizeof(float));
        for (int k = 0; k < b->label_width; k++) assert_int_equal(lab[k], 0);
        continue;
      }
      int i = b->samples[j];
      assert_true(i >= 0 && i < ds->count);
      assert_int_equal(sample_of_row(img, ds->count), i);
      rt_dataset_input(ds, i, stored);
      assert_memory_equal(img, stored, P * sizeof(float)); /* no augmentation */
      assert_int_equal(b->lengths[j], ds->label_len[i]);
      for (int k = 0; k < b->label_width; k++)
        assert_int_equal(lab[k], k < ds->label_len[i] ? rt_dataset_label(ds, i)[k] : 0);
      seen[i]++;
      order[pos++] = i;
    }
    batches++;
  }
  assert_int_equal(batches, rt_loader_batches(l));
  assert_null(rt_loader_next(l)); /* stays at the end */
  for (int i = 0; i < ds->count; i++) assert_int_equal(seen[i], 1);
}

static void test_loader_epochs(void **state) {
  RtDataset *ds = fx_dataset(10, H, W);
  for (int bg = 0; bg < 2; bg++) {
    RtLoaderOptions o = {.batch_size = 4, .seed = 9, .shuffle = true, .background = bg, .label_width = 5};
    RtLoader *l = rt_loader_new(ds, &o);
    assert_int_equal(rt_loader_batches(l), 3);
    assert_null(rt_loader_next(l)); /* no epoch started */
    int e0[10], e0again[10], e1[10];
    check_epoch(l, ds, 4, 0, e0);
    check_epoch(l, ds, 4, 1, e1);
    check_epoch(l, ds, 4, 0, e0again);
    assert_memory_equal(e0, e0again, sizeof e0);
    assert_true(memcmp(e0, e1, sizeof e0) != 0);
    bool identity = true;
    for (int i = 0; i < 10; i++) identity &= e0[i] == i;
    assert_false(identity);
    rt_loader_free(l);
    /* without shuffling: file order, every epoch */
    o.shuffle = false;
    l = rt_loader_new(ds, &o);
    check_epoch(l, ds, 4, 5, e1);
    for (int i = 0; i < 10; i++) assert_int_equal(e1[i], i);
    rt_loader_free(l);
  }
  /* a batch larger than the dataset: one partial batch */
  RtLoaderOptions o = {.batch_size = 16, .seed = 1, .shuffle = true};
  RtLoader *l = rt_loader_new(ds, &o);
  int order[10];
  check_epoch(l, ds, 16, 0, order);
  rt_loader_free(l);
  rt_dataset_free(ds);
}

/* Every batch of `epochs` epochs, concatenated (images, labels, lengths, samples, sizes). */
typedef struct Trace {
  unsigned char *bytes;
  size_t len, cap;
} Trace;

static void trace_add(Trace *t, const void *p, size_t n) {
  if (t->len + n > t->cap) {
    t->cap = 2 * (t->len + n);
    t->bytes = realloc(t->bytes, t->cap);
  }
  memcpy(t->bytes + t->len, p, n);
  t->len += n;
}

static void trace_batch(Trace *t, const RtBatch *b) {
  trace_add(t, &b->size, sizeof b->size);
  trace_add(t, b->images, (size_t)b->capacity * P * sizeof(float));
  trace_add(t, b->labels, (size_t)b->capacity * b->label_width * sizeof(int32_t));
  trace_add(t, b->lengths, (size_t)b->capacity * sizeof(int32_t));
  trace_add(t, b->samples, (size_t)b->capacity * sizeof(int32_t));
}

/* Runs epochs 0..2; with `restart`, epoch 1 is first abandoned after one batch and restarted. */
static Trace run(const RtDataset *ds, bool background, bool restart, int sleep_us, RtLoaderStats *stats) {
  RtLoaderOptions o = {.batch_size = 3, .seed = 77, .shuffle = true, .background = background,
                       .augment = rt_augment_defaults()};
  RtLoader *l = rt_loader_new(ds, &o);
  Trace t = {0};
  for (int64_t e = 0; e < 3; e++) {
    if (restart && e == 1) {
      rt_loader_start_epoch(l, 1);
      assert_non_null(rt_loader_next(l));
    }
    rt_loader_start_epoch(l, e);
    const RtBatch *b;
    while ((b = rt_loader_next(l))) {
      trace_batch(&t, b);
      if (sleep_us) nanosleep(&(struct timespec){0, sleep_us * 1000L}, NULL); /* "training" */
    }
  }
  if (stats) *stats = rt_loader_stats(l);
  rt_loader_free(l);
  return t;
}

static void test_loader_background(void **state) {
  RtDataset *ds = fx_dataset(11, H, W);
  Trace sync = run(ds, false, false, 0, NULL);
  Trace bg = run(ds, true, false, 0, NULL);
  Trace restarted = run(ds, true, true, 0, NULL);
  Trace sync_restarted = run(ds, false, true, 0, NULL);
  assert_int_equal(sync.len, bg.len);
  assert_memory_equal(sync.bytes, bg.bytes, sync.len);
  assert_int_equal(sync.len, restarted.len);
  assert_memory_equal(sync.bytes, restarted.bytes, sync.len);
  assert_memory_equal(sync.bytes, sync_restarted.bytes, sync.len);
  /* augmentation is on: the batches differ from the stored images */
  RtLoaderOptions o = {.batch_size = 3, .seed = 77, .augment = rt_augment_defaults()};
  RtLoader *l = rt_loader_new(ds, &o);
  rt_loader_start_epoch(l, 0);
  const RtBatch *b = rt_loader_next(l);
  static float stored[P];
  for (int j = 0; j < b->size; j++) {
    rt_dataset_input(ds, b->samples[j], stored);
    assert_true(memcmp(b->images + (size_t)j * P, stored, P * sizeof(float)) != 0);
  }
  rt_loader_free(l);
  /* a consumer slower than the producer hardly ever waits: only for the first batch of each
   * epoch, which starts being prepared at rt_loader_start_epoch (3 of the 12 batches). Preparation
   * time p per batch is measured (sanitizer builds are slow); the consumer "trains" 3p + 3 ms per
   * batch. Counted, not timed, so that a loaded machine's wake-up latency does not matter. */
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  Trace again = run(ds, false, false, 0, NULL);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double p = ((double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec)) / 12;
  free(again.bytes);
  RtLoaderStats stats;
  Trace slow = run(ds, true, false, (int)(1e6 * (3 * p + 0.003)), &stats);
  assert_memory_equal(sync.bytes, slow.bytes, sync.len);
  assert_int_equal(stats.batches, 12);
  if (stats.waits > 5) fail_msg("waited %lld times for batches prepared in %.4f s each", (long long)stats.waits, p);
  RtLoaderStats sync_stats;
  free(run(ds, false, false, 0, &sync_stats).bytes);
  assert_int_equal(sync_stats.waits, 0);
  assert_int_equal(sync_stats.batches, 12);
  free(sync.bytes);
  free(bg.bytes);
  free(restarted.bytes);
  free(sync_restarted.bytes);
  free(slow.bytes);
  rt_dataset_free(ds);
}

/* The samples of one epoch started with rt_loader_start_epoch_on, in batch order; checks that
 * every batch is full but the last, and that its padding rows hold no label. */
static int epoch_samples(RtLoader *l, int64_t epoch, const RtDataset *ds, int max_len, int *out) {
  rt_loader_start_epoch_on(l, epoch, ds, max_len);
  int n = 0, batches = 0;
  for (const RtBatch *b; (b = rt_loader_next(l)); batches++) {
    if (b->size < b->capacity) assert_int_equal(b->index, rt_loader_batches(l) - 1);
    for (int j = 0; j < b->capacity; j++) {
      if (j >= b->size) {
        assert_int_equal(b->samples[j], -1);
        assert_int_equal(b->lengths[j], 0);
        continue;
      }
      out[n++] = b->samples[j];
    }
  }
  assert_int_equal(batches, rt_loader_batches(l));
  assert_int_equal(n, rt_loader_samples(l));
  return n;
}

/* A curriculum's length limit: the epoch holds exactly the samples with labels that short, in the
 * order of the full shuffle, the same in background and synchronous mode and after a restart;
 * batches and samples follow the limit; and a loader moves on to another set of the same size
 * (fresh data: one set per epoch). */
static void test_loader_length_limit(void **state) {
  RtDataset *ds = fx_dataset(23, H, W); /* labels of 1 + i % 3 symbols: 8 of 1, 8 of 2, 7 of 3 */
  for (int bg = 0; bg < 2; bg++) {
    RtLoaderOptions o = {.batch_size = 3, .seed = 5, .shuffle = true, .background = bg};
    RtLoader *l = rt_loader_new(ds, &o);
    int all[23], short1[23], short2[23], again[23];
    assert_int_equal(epoch_samples(l, 2, NULL, 0, all), 23);
    assert_int_equal(rt_loader_batches(l), 8);
    int n1 = epoch_samples(l, 2, NULL, 1, short1);
    assert_int_equal(n1, 8);
    assert_int_equal(rt_loader_batches(l), 3);
    int n2 = epoch_samples(l, 2, NULL, 2, short2);
    assert_int_equal(n2, 16);
    assert_int_equal(rt_loader_batches(l), 6);
    /* the shuffle filtered: the kept samples in the order the whole epoch has them */
    int k1 = 0, k2 = 0;
    for (int i = 0; i < 23; i++) {
      if (ds->label_len[all[i]] <= 1) assert_int_equal(short1[k1++], all[i]);
      if (ds->label_len[all[i]] <= 2) assert_int_equal(short2[k2++], all[i]);
    }
    assert_int_equal(k1, n1);
    assert_int_equal(k2, n2);
    rt_loader_start_epoch_on(l, 2, NULL, 1); /* abandoned after one batch */
    assert_non_null(rt_loader_next(l));
    assert_int_equal(epoch_samples(l, 2, NULL, 2, again), 16);
    assert_memory_equal(again, short2, sizeof(int) * 16);
    assert_int_equal(epoch_samples(l, 2, NULL, 3, again), 23); /* a limit above every label: all */
    assert_memory_equal(again, all, sizeof all);
    /* another set: the epoch visits its samples (a smaller one, then a larger one than the first) */
    RtDataset *small = fx_dataset(7, H, W), *large = fx_dataset(40, H, W);
    int seen[40] = {0}, order[40];
    assert_int_equal(epoch_samples(l, 3, small, 0, order), 7);
    assert_int_equal(rt_loader_batches(l), 3);
    assert_int_equal(epoch_samples(l, 4, large, 0, order), 40);
    for (int i = 0; i < 40; i++) seen[order[i]]++;
    for (int i = 0; i < 40; i++) assert_int_equal(seen[i], 1);
    rt_loader_free(l);
    rt_dataset_free(small);
    rt_dataset_free(large);
  }
  rt_dataset_free(ds);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_augment),
      cmocka_unit_test(test_augment_captcha_effects),
      cmocka_unit_test(test_loader_epochs),
      cmocka_unit_test(test_loader_background),
      cmocka_unit_test(test_loader_length_limit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

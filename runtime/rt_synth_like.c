/* Measuring a labelled folder for `smelt data synth --like` (rt_synth_like.h): the dataset loader
 * gives the labels and the charset exactly as training sees them; the images are read again at
 * their own size (the loader keeps only the 32 x 128 model input), at most
 * RT_SYNTH_LIKE_MAX_IMAGES of them, for the median size and the share of greyscale pictures. */
#include "runtime/rt_synth_like.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/rt_dataset.h"
#include "runtime/rt_image.h"
#include "support/rt_assert.h"

/* An image counts as greyscale when at most 2% of its pixels show a colour (noise, JPEG fringes). */
#define GREY_MAX_COLOURFUL 0.02f

static int cmp_int(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

static int median(int *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_int);
  return v[n / 2];
}

static int clamp(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

bool rt_synth_like(const char *dir, RtSynthLike *out, RtDiags *d) {
  *out = (RtSynthLike){0};
  RtDatasetOptions o = {.policy = RT_DATA_SKIP};
  RtDataset *ds = rt_dataset_load(dir, &o, d);
  if (!ds) return false;
  int n = ds->count, step = (n + RT_SYNTH_LIKE_MAX_IMAGES - 1) / RT_SYNTH_LIKE_MAX_IMAGES;
  int *hs = rt_xmalloc((size_t)n * sizeof *hs), *ws = rt_xmalloc((size_t)n * sizeof *ws);
  int measured = 0, grey = 0, lo = ds->label_len[0], hi = 0;
  for (int i = 0; i < n; i++) {
    lo = ds->label_len[i] < lo ? ds->label_len[i] : lo;
    hi = ds->label_len[i] > hi ? ds->label_len[i] : hi;
  }
  size_t cap = strlen(dir) + 4096;
  char *path = rt_xmalloc(cap);
  for (int i = 0; i < n; i += step) {
    const char *p = ds->paths[i];
    if (p[0] == '/') snprintf(path, cap, "%s", p);
    else snprintf(path, cap, "%s/%s", dir, p);
    RtImage img;
    char err[256];
    if (!rt_image_load(path, &img, err, sizeof err)) continue; /* the loader read it: only a race */
    hs[measured] = img.h, ws[measured] = img.w;
    grey += img.colourful <= GREY_MAX_COLOURFUL;
    measured++;
    rt_image_free(&img);
  }
  free(path);
  bool ok = measured > 0;
  if (!ok) {
    rt_diag_error(d, ds->labels_file, 0, 0, "no image of this folder could be read again");
  } else {
    *out = (RtSynthLike){.charset = rt_xstrdup(ds->charset.utf8),
                         .min_len = lo < RT_SYNTH_MAX_LEN ? lo : RT_SYNTH_MAX_LEN,
                         .max_len = hi < RT_SYNTH_MAX_LEN ? hi : RT_SYNTH_MAX_LEN,
                         .height = clamp(median(hs, measured), RT_SYNTH_MIN_SIZE, RT_SYNTH_MAX_HEIGHT),
                         .width = clamp(median(ws, measured), RT_SYNTH_MIN_SIZE, RT_SYNTH_MAX_WIDTH),
                         .grey = 2 * grey > measured, .samples = n, .measured = measured,
                         .grey_images = grey};
  }
  free(hs);
  free(ws);
  rt_dataset_free(ds);
  return ok;
}

void rt_synth_like_free(RtSynthLike *l) {
  free(l->charset);
  *l = (RtSynthLike){0};
}

void rt_synth_like_apply(const RtSynthLike *l, RtSynthOptions *o) {
  o->charset = l->charset;
  o->min_len = l->min_len, o->max_len = l->max_len;
  o->height = l->height, o->width = l->width;
  o->grey = l->grey;
}

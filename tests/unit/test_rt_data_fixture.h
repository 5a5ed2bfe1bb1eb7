/* Helpers shared by the data tests (test_rt_data*.c): scratch folders under /tmp that are removed
 * afterwards, files and images written into them, diagnostics as the strings users see, and
 * small in-memory datasets. Header-only: every test binary includes it once. */
#ifndef SMELT_TEST_RT_DATA_FIXTURE_H
#define SMELT_TEST_RT_DATA_FIXTURE_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/rt_dataset.h"
#include "runtime/rt_image.h"
#include "support/rt_assert.h"
#include "support/rt_diag.h"

/* A fresh folder /tmp/smelt-data-XXXXXX; caller frees the string and removes the folder. */
static inline char *fx_tmpdir(void) {
  char *dir = rt_xstrdup("/tmp/smelt-data-XXXXXX");
  RT_ASSERT(mkdtemp(dir), "mkdtemp failed");
  return dir;
}

static inline int fx_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  return remove(path);
}

/* rm -rf dir, then frees the string. */
static inline void fx_rmdir(char *dir) {
  nftw(dir, fx_rm_one, 16, FTW_DEPTH | FTW_PHYS);
  free(dir);
}

/* "dir/name" in a static buffer (one at a time). */
static inline const char *fx_path(const char *dir, const char *name) {
  static char buf[1024];
  snprintf(buf, sizeof buf, "%s/%s", dir, name);
  return buf;
}

static inline void fx_write(const char *dir, const char *name, const void *data, size_t size) {
  FILE *f = fopen(fx_path(dir, name), "wb");
  RT_ASSERT(f, "cannot create %s/%s", dir, name);
  RT_ASSERT(fwrite(data, 1, size, f) == size, "short write");
  fclose(f);
}

static inline void fx_write_text(const char *dir, const char *name, const char *text) {
  fx_write(dir, name, text, strlen(text));
}

/* Reads a whole file; NULL if it cannot. Caller frees. */
static inline unsigned char *fx_read(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  *size = 0;
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *buf = malloc((size_t)n + 1);
  *size = fread(buf, 1, (size_t)n, f);
  buf[*size] = 0;
  fclose(f);
  return buf;
}

/* A w x h PNG of `channels` components, pixel (x, y) component c = fn(x, y, c). */
typedef unsigned char (*FxPixelFn)(int x, int y, int c);
static inline void fx_write_png(const char *dir, const char *name, int w, int h, int channels, FxPixelFn fn) {
  unsigned char *px = malloc((size_t)w * h * channels);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int c = 0; c < channels; c++) px[((size_t)y * w + x) * channels + c] = fn(x, y, c);
  char err[256];
  RT_ASSERT(rt_image_write_png(fx_path(dir, name), px, w, h, channels, err, sizeof err), "%s", err);
  free(px);
}

/* Diagnostic i as printed ("file:line:col: level: msg"), with the folder prefix cut off so
 * expectations do not depend on the temporary name. */
static inline const char *fx_diag(const RtDiags *d, int i, const char *dir) {
  static char buf[1400];
  if (i >= d->count) return "(no such diagnostic)";
  rt_diag_format(&d->items[i], buf, sizeof buf);
  size_t n = strlen(dir);
  if (strncmp(buf, dir, n) == 0 && buf[n] == '/') memmove(buf, buf + n + 1, strlen(buf + n + 1) + 1);
  return buf;
}

static inline void fx_print_diags(const RtDiags *d) { rt_diags_print(d, stderr); }

/* An in-memory dataset of n samples of h x w: pixel (x, y) of image i is
 * -0.8 + 0.8 i / n + 0.8 x / w (column 0 tells which sample a batch row holds; the ramp gives
 * warps something to move); label i is the ids (i % 5, (i + 1) % 5, ...) of length 1 + i % 3
 * over the charset "abcde". Free with rt_dataset_free. */
static inline RtDataset *fx_dataset(int n, int h, int w) {
  RtDataset *ds = rt_xcalloc(1, sizeof *ds);
  ds->count = n;
  ds->height = h;
  ds->width = w;
  ds->images = rt_xmalloc((size_t)rt_dataset_image_bytes(n, h, w));
  ds->ids = rt_xmalloc((size_t)n * 3 * sizeof(int32_t));
  ds->label_start = rt_xmalloc((size_t)n * sizeof(int64_t));
  ds->label_len = rt_xmalloc((size_t)n * sizeof(int32_t));
  ds->paths = rt_xmalloc((size_t)n * sizeof(char *));
  ds->texts = rt_xmalloc((size_t)n * sizeof(char *));
  ds->lines = rt_xmalloc((size_t)n * sizeof(int32_t));
  char err[128];
  RT_ASSERT(rt_charset_init(&ds->charset, "abcde", err, sizeof err), "%s", err);
  int64_t off = 0;
  for (int i = 0; i < n; i++) {
    for (int p = 0; p < h * w; p++) {
      /* a left-to-right ramp on top of the sample's level, so warps change pixels */
      float x = -0.8f + 0.8f * (float)i / n + 0.8f * (float)(p % w) / w;
      rt_input_to_bytes(&x, 1, ds->images + (size_t)i * h * w + p);
    }
    ds->label_start[i] = off;
    ds->label_len[i] = 1 + i % 3;
    char text[4] = {0};
    for (int k = 0; k < ds->label_len[i]; k++) {
      ds->ids[off + k] = (i + k) % 5;
      text[k] = (char)('a' + (i + k) % 5);
    }
    off += ds->label_len[i];
    if (ds->label_len[i] > ds->max_label_len) ds->max_label_len = ds->label_len[i];
    char name[32];
    snprintf(name, sizeof name, "img%d.png", i);
    ds->paths[i] = rt_arena_strdup(&ds->arena, name);
    ds->texts[i] = rt_arena_strdup(&ds->arena, text);
    ds->lines[i] = i + 1;
  }
  return ds;
}

#endif

/* Loading a dataset folder: labels.tsv (rt_labels.c) -> label checks against the charset and the
 * length limit -> images decoded and converted in parallel -> problems reported in line order
 * (whatever the thread timing) -> the kept samples packed into one tensor. Also subsets and the
 * seeded train/validation split. */
#include "runtime/rt_dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/rt_image.h"
#include "runtime/rt_labels.h"
#include "runtime/rt_pool.h"
#include "support/rt_assert.h"
#include "support/rt_fs.h"
#include "support/rt_random.h"

enum { MAX_LABELS_BYTES = 1 << 30 };

/* Why a sample was left out; counted for the summary. */
typedef enum Kind { KIND_LINE, KIND_IMAGE, KIND_LONG, KIND_CHARSET, KIND_COUNT } Kind;
static const char *const KIND_NAMES[KIND_COUNT][2] = {
    {"bad line", "bad lines"},
    {"missing or undecodable image", "missing or undecodable images"},
    {"label too long", "labels too long"},
    {"label with symbols outside the charset", "labels with symbols outside the charset"},
};

typedef struct Problem {
  int line, col;
  bool fatal;
  Kind kind;
  char *msg; /* owned */
} Problem;

typedef struct Problems {
  Problem *items;
  int count, cap;
} Problems;

static void problem_add(Problems *p, int line, int col, bool fatal, Kind kind, const char *msg) {
  if (p->count == p->cap) {
    p->cap = p->cap ? 2 * p->cap : 16;
    p->items = rt_xrealloc(p->items, (size_t)p->cap * sizeof *p->items);
  }
  p->items[p->count++] = (Problem){line, col, fatal, kind, rt_xstrdup(msg)};
}

static int problem_cmp(const void *a, const void *b) {
  const Problem *x = a, *y = b;
  if (x->line != y->line) return (x->line > y->line) - (x->line < y->line);
  return (x->col > y->col) - (x->col < y->col);
}

/* One sample that passed the label checks, waiting for its image. */
typedef struct Candidate {
  const RtLabelLine *line;
  int32_t *ids; /* (n_ids) owned */
  int n_ids;
  char *error;  /* image problem, owned; NULL = fine */
} Candidate;

typedef struct DecodeJob {
  const char *dir;
  Candidate *cands;
  uint8_t *images; /* (n, 1, H, W) as bytes */
  int height, width;
} DecodeJob;

static char *join_path(const char *dir, const char *rel) {
  if (rel[0] == '/') return rt_xstrdup(rel);
  size_t a = strlen(dir), b = strlen(rel);
  char *p = rt_xmalloc(a + b + 2);
  memcpy(p, dir, a);
  p[a] = '/';
  memcpy(p + a + 1, rel, b + 1);
  return p;
}

static void decode_range(void *ctx, int64_t begin, int64_t end, int32_t worker) {
  DecodeJob *job = ctx;
  int64_t pixels = (int64_t)job->height * job->width;
  float *input = rt_xmalloc((size_t)pixels * sizeof *input);
  for (int64_t i = begin; i < end; i++) {
    Candidate *c = &job->cands[i];
    char *path = join_path(job->dir, c->line->path);
    RtImage img;
    char err[256];
    if (rt_image_load(path, &img, err, sizeof err)) {
      rt_image_to_input(&img, job->height, job->width, input);
      rt_input_to_bytes(input, pixels, job->images + i * pixels);
      rt_image_free(&img);
    } else {
      char msg[512], path_text[200];
      snprintf(msg, sizeof msg, "image '%s': %s", rt_diag_shorten(c->line->path, path_text, sizeof path_text), err);
      c->error = rt_xstrdup(msg);
    }
    free(path);
  }
  free(input);
}

/* Whether an image path leaves the folder it is relative to: an absolute path, or one with more
 * '..' components than folders before them. Symbolic links are not followed: a link inside the
 * folder is the user's way of sharing images on purpose. */
static bool path_outside(const char *p) {
  if (p[0] == '/') return true;
  int depth = 0;
  while (*p) {
    size_t n = strcspn(p, "/");
    if (n == 2 && p[0] == '.' && p[1] == '.') {
      if (--depth < 0) return true;
    } else if (n > 0 && !(n == 1 && p[0] == '.')) {
      depth++;
    }
    p += n;
    while (*p == '/') p++;
  }
  return false;
}

/* One warning for the lines whose images are outside the folder: allowed (a shared image pool),
 * but such a folder is not self-contained, which the user may not know. */
static void warn_outside(const RtLabels *labels, const char *file, RtDiags *d) {
  int first = -1, count = 0;
  for (int i = 0; i < labels->count; i++)
    if (path_outside(labels->lines[i].path)) {
      if (first < 0) first = i;
      count++;
    }
  if (first < 0) return;
  char path[200];
  rt_diag_shorten(labels->lines[first].path, path, sizeof path);
  if (count == 1)
    rt_diag_add(d, RT_DIAG_WARNING, file, labels->lines[first].line, 1,
                "image path '%s' is outside the data folder: the folder is not self-contained (moved or copied "
                "alone, it loses it)", path);
  else
    rt_diag_add(d, RT_DIAG_WARNING, file, labels->lines[first].line, 1,
                "image path '%s' is outside the data folder, and so are the images of %d more line%s: the folder "
                "is not self-contained (moved or copied alone, it loses them)", path, count - 1, count == 2 ? "" : "s");
}

/* CTC time steps a label needs: one per symbol, plus a blank between two equal neighbours
 * (a path of fewer steps would merge them into one). */
static int64_t ctc_steps_needed(const char *text) {
  size_t n = strlen(text), off = 0;
  uint32_t prev = 0, cp;
  int64_t steps = 0;
  for (int len; off < n && (len = rt_utf8_decode(text + off, n - off, &cp)) > 0; off += (size_t)len) {
    steps += 1 + (steps > 0 && cp == prev);
    prev = cp;
  }
  return steps;
}

/* Checks one label: its symbols against an explicit charset, its length against the limits. */
static bool check_label(const RtLabelLine *l, const RtCharset *given, int max_len, int ctc_steps, Problems *p,
                        Candidate *c) {
  size_t n = strlen(l->text);
  int64_t count = rt_utf8_count(l->text, n, NULL);
  RT_ASSERT(count > 0, "the parser let an empty or invalid label through");
  c->ids = rt_xcalloc((size_t)count, sizeof *c->ids);
  c->n_ids = (int)count;
  if (given) {
    uint32_t cp = 0;
    size_t off = 0;
    int got = rt_charset_encode(given, l->text, c->ids, c->n_ids, &cp, &off);
    if (got < 0) {
      char sym[5] = {0}, msg[128];
      rt_utf8_encode(cp, sym);
      snprintf(msg, sizeof msg, "symbol '%s' (U+%04X) is not in the charset", sym, cp);
      /* column of the symbol: path, tab, then the byte offset in the label */
      problem_add(p, l->line, (int)(strlen(l->path) + 2 + off), true, KIND_CHARSET, msg);
      return false;
    }
  }
  if (max_len > 0 && count > max_len) {
    char msg[128];
    snprintf(msg, sizeof msg, "label has %lld symbols; the maximum is %d", (long long)count, max_len);
    problem_add(p, l->line, (int)strlen(l->path) + 2, true, KIND_LONG, msg);
    return false;
  }
  int64_t steps = ctc_steps > 0 ? ctc_steps_needed(l->text) : 0;
  if (steps > ctc_steps) {
    char msg[160];
    snprintf(msg, sizeof msg,
             "label needs %lld CTC time steps (a blank must separate repeated symbols); the model has %d",
             (long long)steps, ctc_steps);
    problem_add(p, l->line, (int)strlen(l->path) + 2, true, KIND_LONG, msg);
    return false;
  }
  return true;
}

/* Reports the problems in line order, at most RT_DATASET_MAX_REPORTED of them, then the summary. */
static void report(Problems *p, const char *file, RtDataPolicy policy, int total, int skipped,
                   const int *kinds, RtDiags *d) {
  if (p->count) qsort(p->items, (size_t)p->count, sizeof *p->items, problem_cmp);
  int shown = 0;
  for (int i = 0; i < p->count; i++) {
    Problem *q = &p->items[i];
    if (shown == RT_DATASET_MAX_REPORTED) {
      rt_diag_add(d, RT_DIAG_NOTE, file, 0, 0, "%d more problems not shown", p->count - i);
      break;
    }
    RtDiagLevel level = q->fatal && policy == RT_DATA_STOP ? RT_DIAG_ERROR : RT_DIAG_WARNING;
    rt_diag_add(d, level, file, q->line, q->col, "%s", q->msg);
    shown++;
  }
  if (policy != RT_DATA_SKIP || skipped == 0) return;
  char why[512] = "";
  size_t len = 0;
  for (int k = 0; k < KIND_COUNT; k++)
    if (kinds[k])
      len += (size_t)snprintf(why + len, sizeof why - len, "%s%d %s", len ? ", " : "", kinds[k],
                              KIND_NAMES[k][kinds[k] > 1]);
  rt_diag_add(d, RT_DIAG_WARNING, file, 0, 0, "skipped %d of %d samples (%s)", skipped, total, why);
}

/* Packs the kept candidates into a dataset (images already converted at cands' indices). */
static RtDataset *pack(Candidate *cands, int n, uint8_t *images, int keep, int height, int width) {
  RtDataset *ds = rt_xcalloc(1, sizeof *ds);
  int64_t pixels = (int64_t)height * width, total_ids = 0;
  for (int i = 0; i < n; i++)
    if (!cands[i].error) total_ids += cands[i].n_ids;
  ds->count = keep;
  ds->height = height;
  ds->width = width;
  ds->images = images; /* compacted in place below */
  ds->ids = rt_xmalloc((size_t)(total_ids ? total_ids : 1) * sizeof *ds->ids);
  ds->label_start = rt_xmalloc((size_t)(keep ? keep : 1) * sizeof *ds->label_start);
  ds->label_len = rt_xmalloc((size_t)(keep ? keep : 1) * sizeof *ds->label_len);
  ds->paths = rt_xmalloc((size_t)(keep ? keep : 1) * sizeof *ds->paths);
  ds->texts = rt_xmalloc((size_t)(keep ? keep : 1) * sizeof *ds->texts);
  ds->lines = rt_xmalloc((size_t)(keep ? keep : 1) * sizeof *ds->lines);
  int k = 0;
  int64_t off = 0;
  for (int i = 0; i < n; i++) {
    Candidate *c = &cands[i];
    if (c->error) continue;
    if (k != i) memmove(images + k * pixels, images + i * pixels, (size_t)pixels * sizeof *images);
    memcpy(ds->ids + off, c->ids, (size_t)c->n_ids * sizeof *ds->ids);
    ds->label_start[k] = off;
    ds->label_len[k] = c->n_ids;
    if (c->n_ids > ds->max_label_len) ds->max_label_len = c->n_ids;
    ds->paths[k] = rt_arena_strdup(&ds->arena, c->line->path);
    ds->texts[k] = rt_arena_strdup(&ds->arena, c->line->text);
    ds->lines[k] = c->line->line;
    off += c->n_ids;
    k++;
  }
  return ds;
}

RtDataset *rt_dataset_load(const char *dir, const RtDatasetOptions *opts, RtDiags *d) {
  RtDatasetOptions o = opts ? *opts : (RtDatasetOptions){0};
  if (o.height <= 0) o.height = RT_INPUT_H;
  if (o.width <= 0) o.width = RT_INPUT_W;
  char *file = join_path(dir, "labels.tsv");
  RtCharset given = {0};
  if (o.charset) {
    char err[256];
    if (!rt_charset_init(&given, o.charset, err, sizeof err)) {
      rt_diag_error(d, "", 0, 0, "%s", err);
      free(file);
      return NULL;
    }
  }
  uint8_t *text;
  size_t size;
  if (!rt_fs_read_file(file, &text, &size, d)) {
    rt_charset_free(&given);
    free(file);
    return NULL;
  }
  RtLabels labels;
  rt_labels_parse((const char *)text, size > MAX_LABELS_BYTES ? 0 : size, &labels);
  if (size > MAX_LABELS_BYTES) rt_diag_error(d, file, 0, 0, "larger than %d bytes", MAX_LABELS_BYTES);
  free(text);
  warn_outside(&labels, file, d);

  Problems problems = {0};
  int kinds[KIND_COUNT] = {0};
  for (int i = 0; i < labels.problem_count; i++) {
    const RtDataProblem *q = &labels.problems[i];
    problem_add(&problems, q->line, q->col, q->fatal, KIND_LINE, q->msg);
  }
  kinds[KIND_LINE] = labels.bad_lines;

  /* label checks, then the images of the labels that passed */
  Candidate *cands = rt_xcalloc((size_t)(labels.count ? labels.count : 1), sizeof *cands);
  int n = 0;
  for (int i = 0; i < labels.count; i++) {
    Candidate c = {.line = &labels.lines[i]};
    if (check_label(c.line, o.charset ? &given : NULL, o.max_label_len, o.ctc_steps, &problems, &c)) {
      cands[n++] = c;
    } else {
      kinds[problems.items[problems.count - 1].kind]++;
      free(c.ids);
    }
  }
  size_t pixels = (size_t)o.height * (size_t)o.width;
  char what[4200]; /* an out-of-memory message names the folder */
  snprintf(what, sizeof what, "the %d decoded images of %s", n, dir);
  uint8_t *images = rt_xmalloc_named((n ? (size_t)n : 1) * pixels * sizeof *images, what);
  DecodeJob job = {.dir = dir, .cands = cands, .images = images, .height = o.height, .width = o.width};
  smelt_rt_parallel_for(decode_range, &job, n, 4);
  int keep = 0;
  for (int i = 0; i < n; i++) {
    if (cands[i].error) {
      problem_add(&problems, cands[i].line->line, 0, true, KIND_IMAGE, cands[i].error);
      kinds[KIND_IMAGE]++;
    } else {
      keep++;
    }
  }
  int total = labels.count + labels.bad_lines, skipped = total - keep;
  report(&problems, file, o.policy, total, skipped, kinds, d);

  RtDataset *ds = NULL;
  bool failed = size > MAX_LABELS_BYTES || (o.policy == RT_DATA_STOP && skipped > 0);
  if (!failed && keep == 0) {
    rt_diag_error(d, file, 0, 0, total ? "no usable samples" : "no samples (the file is empty)");
    failed = true;
  }
  if (!failed) {
    ds = pack(cands, n, images, keep, o.height, o.width);
    images = NULL;
    ds->skipped = skipped;
    ds->labels_file = file;
    file = NULL;
    if (o.charset) {
      ds->charset = given;
      given = (RtCharset){0};
    } else { /* sorted distinct symbols of the kept labels; ids follow from it */
      rt_charset_build(&ds->charset, ds->texts, ds->count);
      for (int i = 0; i < ds->count; i++) {
        int got = rt_charset_encode(&ds->charset, ds->texts[i], ds->ids + ds->label_start[i],
                                    ds->label_len[i], NULL, NULL);
        RT_ASSERT(got == ds->label_len[i], "label %d re-encoded to %d symbols", i, got);
      }
    }
  }
  for (int i = 0; i < n; i++) {
    free(cands[i].ids);
    free(cands[i].error);
  }
  for (int i = 0; i < problems.count; i++) free(problems.items[i].msg);
  free(problems.items);
  free(cands);
  free(images);
  free(file);
  rt_charset_free(&given);
  rt_labels_free(&labels);
  return ds;
}

void rt_dataset_free(RtDataset *ds) {
  if (!ds) return;
  free(ds->images);
  free(ds->ids);
  free(ds->label_start);
  free(ds->label_len);
  free(ds->paths);
  free(ds->texts);
  free(ds->lines);
  free(ds->labels_file);
  rt_charset_free(&ds->charset);
  rt_arena_free(&ds->arena);
  free(ds);
}

void rt_dataset_input(const RtDataset *ds, int i, float *out) {
  RT_ASSERT(i >= 0 && i < ds->count, "sample %d of %d", i, ds->count);
  rt_input_from_bytes(rt_dataset_pixels(ds, i), (int64_t)ds->height * ds->width, out);
}

/* An empty set of n sample slots holding total_ids label symbols, with ds's image size, charset
 * and labels file; rt_dataset_subset and rt_dataset_concat fill it with copy_sample. */
static RtDataset *dataset_alloc(const RtDataset *ds, int n, int64_t total_ids, const char *what) {
  RtDataset *s = rt_xcalloc(1, sizeof *s);
  int64_t pixels = (int64_t)ds->height * ds->width;
  size_t slots = (size_t)(n ? n : 1);
  s->height = ds->height;
  s->width = ds->width;
  s->images = rt_xmalloc_named(slots * (size_t)pixels * sizeof *s->images, what);
  s->ids = rt_xmalloc((size_t)(total_ids ? total_ids : 1) * sizeof *s->ids);
  s->label_start = rt_xmalloc(slots * sizeof *s->label_start);
  s->label_len = rt_xmalloc(slots * sizeof *s->label_len);
  s->paths = rt_xmalloc(slots * sizeof *s->paths);
  s->texts = rt_xmalloc(slots * sizeof *s->texts);
  s->lines = rt_xmalloc(slots * sizeof *s->lines);
  rt_charset_copy(&s->charset, &ds->charset);
  s->labels_file = ds->labels_file ? rt_xstrdup(ds->labels_file) : NULL;
  return s;
}

/* Appends sample i of ds to s (its next slot); *ids: where the next label's ids go. */
static void copy_sample(RtDataset *s, const RtDataset *ds, int i, int64_t *ids) {
  int64_t pixels = (int64_t)ds->height * ds->width;
  int k = s->count++;
  memcpy(s->images + k * pixels, rt_dataset_pixels(ds, i), (size_t)pixels * sizeof *s->images);
  memcpy(s->ids + *ids, rt_dataset_label(ds, i), (size_t)ds->label_len[i] * sizeof *s->ids);
  s->label_start[k] = *ids;
  s->label_len[k] = ds->label_len[i];
  if (s->label_len[k] > s->max_label_len) s->max_label_len = s->label_len[k];
  s->paths[k] = rt_arena_strdup(&s->arena, ds->paths[i]);
  s->texts[k] = rt_arena_strdup(&s->arena, ds->texts[i]);
  s->lines[k] = ds->lines[i];
  *ids += ds->label_len[i];
}

RtDataset *rt_dataset_subset(const RtDataset *ds, const int *indices, int n) {
  int64_t total_ids = 0;
  for (int i = 0; i < n; i++) {
    RT_ASSERT(indices[i] >= 0 && indices[i] < ds->count, "index %d of %d", indices[i], ds->count);
    total_ids += ds->label_len[indices[i]];
  }
  RtDataset *s = dataset_alloc(ds, n, total_ids, "the images of a split data set");
  int64_t ids = 0;
  for (int k = 0; k < n; k++) copy_sample(s, ds, indices[k], &ids);
  return s;
}

RtDataset *rt_dataset_concat(const RtDataset *a, const RtDataset *b) {
  RT_ASSERT(a->height == b->height && a->width == b->width, "images of %dx%d and %dx%d", a->height, a->width,
            b->height, b->width);
  RT_ASSERT(strcmp(a->charset.utf8, b->charset.utf8) == 0, "two charsets");
  int64_t total_ids = 0;
  for (int i = 0; i < a->count; i++) total_ids += a->label_len[i];
  for (int i = 0; i < b->count; i++) total_ids += b->label_len[i];
  RtDataset *s = dataset_alloc(a, a->count + b->count, total_ids, "the images of a mixed data set");
  int64_t ids = 0;
  for (int i = 0; i < a->count; i++) copy_sample(s, a, i, &ids);
  for (int i = 0; i < b->count; i++) copy_sample(s, b, i, &ids);
  return s;
}

static int int_cmp(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

bool rt_dataset_split(const RtDataset *ds, double val_fraction, uint64_t seed, RtDataset **train,
                      RtDataset **val, RtDiags *d) {
  *train = *val = NULL;
  if (!(val_fraction > 0 && val_fraction < 1)) {
    rt_diag_error(d, ds->labels_file, 0, 0, "validation fraction %g is not in (0, 1)", val_fraction);
    return false;
  }
  if (ds->count < 2) {
    rt_diag_error(d, ds->labels_file, 0, 0, "%d sample%s cannot be split into training and validation",
                  ds->count, ds->count == 1 ? "" : "s");
    return false;
  }
  int n = ds->count;
  int n_val = (int)(n * val_fraction + 0.5);
  if (n_val < 1) n_val = 1;
  if (n_val > n - 1) n_val = n - 1;
  /* Fisher-Yates (Knuth, TAOCP vol. 2, algorithm P) driven by Philox: swap i with j in [0, i] */
  int *order = rt_xmalloc((size_t)n * sizeof *order);
  for (int i = 0; i < n; i++) order[i] = i;
  uint64_t stream = rt_random_stream_of("dataset/split");
  for (int i = n - 1; i > 0; i--) {
    uint32_t w = rt_random_words(seed, stream, (uint64_t)i).v[0];
    int j = (int)(((uint64_t)w * (uint64_t)(i + 1)) >> 32);
    int t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  qsort(order, (size_t)(n - n_val), sizeof *order, int_cmp);
  qsort(order + n - n_val, (size_t)n_val, sizeof *order, int_cmp);
  *train = rt_dataset_subset(ds, order, n - n_val);
  *val = rt_dataset_subset(ds, order + n - n_val, n_val);
  free(order);
  return true;
}

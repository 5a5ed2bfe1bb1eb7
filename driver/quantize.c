/* smelt quantize (quantize.h): calibration images in, the calibration graph run over them, the
 * scales and int8 weights computed, the inference checkpoint written. */
#include "driver/quantize.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "driver/checkpoint_model.h"
#include "runtime/rt_checkpoint.h"
#include "runtime/rt_dataset.h"
#include "runtime/rt_image.h"
#include "runtime/rt_safetensors.h"
#include "support/rt_assert.h"

/* ---- calibration images ---- */

typedef struct Images {
  int count;
  int64_t per;   /* floats an image */
  float *pixels; /* (count, per) model inputs */
} Images;

static bool is_image_name(const char *name) {
  const char *dot = strrchr(name, '.');
  return dot && (strcasecmp(dot, ".png") == 0 || strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0);
}

static int compare_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* A folder's PNG and JPEG files (sorted by name, the first max), read as predict reads images. */
static bool load_image_folder(const char *dir, const RtModel *m, int max, Images *out, RtDiags *d) {
  int before = d->errors;
  DIR *dh = opendir(dir);
  if (!dh) {
    rt_diag_error(d, dir, 0, 0, "cannot open the calibration folder");
    return false;
  }
  char **names = NULL;
  int n = 0, cap = 0;
  for (struct dirent *e; (e = readdir(dh));) {
    if (!is_image_name(e->d_name)) continue;
    if (n == cap) names = rt_xrealloc(names, (size_t)(cap = cap ? 2 * cap : 64) * sizeof *names);
    names[n++] = strdup(e->d_name);
  }
  closedir(dh);
  if (n == 0) {
    rt_diag_error(d, dir, 0, 0, "has no labels.tsv and no PNG or JPEG images to calibrate on");
    return false;
  }
  qsort(names, (size_t)n, sizeof *names, compare_names);
  out->count = n < max ? n : max;
  out->pixels = rt_xmalloc((size_t)(out->count * out->per) * sizeof(float) + 1);
  for (int i = 0; i < out->count && d->errors == before; i++) {
    char path[4096], err[256];
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    if (!rt_image_read_input(path, m->height, m->width, out->pixels + out->per * i, err, sizeof err))
      rt_diag_error(d, path, 0, 0, "%s", err);
  }
  for (int i = 0; i < n; i++) free(names[i]);
  free(names);
  return d->errors == before;
}

static bool load_images(const char *dir, const CheckpointModel *cm, int max, Images *out, RtDiags *d) {
  const RtModel *m = &cm->model;
  out->per = (int64_t)m->channels * m->height * m->width;
  char labels[4096];
  struct stat st;
  snprintf(labels, sizeof labels, "%s/labels.tsv", dir);
  if (stat(labels, &st) != 0) return load_image_folder(dir, m, max, out, d);
  RtDatasetOptions o = {.charset = cm->charset, .policy = RT_DATA_SKIP, .height = m->height, .width = m->width};
  RtDataset *ds = rt_dataset_load(dir, &o, d);
  if (!ds) return false;
  out->count = ds->count < max ? ds->count : max;
  out->pixels = rt_xmalloc((size_t)(out->count * out->per) * sizeof(float));
  for (int i = 0; i < out->count; i++) rt_dataset_input(ds, i, out->pixels + out->per * i);
  rt_dataset_free(ds);
  return true;
}

/* ---- calibration ---- */

/* The range each quantizable weight's activations are scaled to, from the calibration graph's
 * output "absmax" (one per weight) per batch, running the compiled batch over the images (the
 * last batch filled up with its own first images, so that only real images are seen): the
 * largest over all batches (QUANT_CALIB_MAX), or the mean of the batches' largest
 * (QUANT_CALIB_MEAN_MAX). */
static void calibrate(const CheckpointModel *cm, const Images *im, QuantCalibration method, const RtSlot *obs,
                      int n_obs, double *absmax) {
  const RtGraphBin *g = &cm->model.eval;
  const RtSlot *in = rt_graph_slot(g, "image");
  int batch = cm->model.batch;
  void *io = rt_region_alloc(g->io_bytes), *scratch = rt_region_alloc(g->scratch_bytes);
  float *pixels = (float *)((char *)io + in->offset);
  for (int i = 0; i < n_obs; i++) absmax[i] = 0;
  int batches = 0;
  for (int start = 0; start < im->count; start += batch) {
    int n = im->count - start < batch ? im->count - start : batch;
    for (int i = 0; i < batch; i++)
      memcpy(pixels + im->per * i, im->pixels + im->per * (start + i % n), (size_t)im->per * sizeof(float));
    g->step(cm->state, io, scratch);
    const float *v = (const float *)((const char *)io + obs->offset);
    for (int i = 0; i < n_obs; i++)
      absmax[i] = method == QUANT_CALIB_MAX ? (v[i] > absmax[i] ? v[i] : absmax[i]) : absmax[i] + v[i];
    batches++;
  }
  if (method == QUANT_CALIB_MEAN_MAX)
    for (int i = 0; i < n_obs; i++) absmax[i] /= batches;
  free(io);
  free(scratch);
}

/* ---- the quantized checkpoint ---- */

/* One quantized weight's tensors, kept until the file is written. */
typedef struct QuantWeight {
  int8_t *q;
  float *scale; /* (dims[0]) */
  float input_scale;
} QuantWeight;

/* w (rows x cols, row = output channel) -> q, scale: symmetric per output channel. Returns the
 * largest |w - q * scale| relative to that row's largest |w|, for the log. */
static double quantize_weight(const float *w, int64_t rows, int64_t cols, QuantWeight *out) {
  double worst = 0;
  for (int64_t r = 0; r < rows; r++) {
    const float *row = w + r * cols;
    float m = 0;
    for (int64_t k = 0; k < cols; k++) m = fmaxf(m, fabsf(row[k]));
    float s = m > 0 ? m / 127.0f : 1.0f;
    out->scale[r] = s;
    for (int64_t k = 0; k < cols; k++) {
      float q = rintf(row[k] / s);
      q = q > 127 ? 127 : q < -127 ? -127 : q;
      out->q[r * cols + k] = (int8_t)q;
      if (m > 0) worst = fmax(worst, fabs(row[k] - q * s) / m);
    }
  }
  return worst;
}

bool quantize_checkpoint(const QuantizeOptions *o, RtDiags *d) {
  CheckpointModel cm;
  enum { CALIB_BATCH = 32 };
  if (!checkpoint_model_load(o->checkpoint, FE_GRAPH_INFER, CALIB_BATCH, FE_QUANT_OBSERVE, &cm, d)) return false;
  Images im = {0};
  bool ok = load_images(o->calib, &cm, o->max_images, &im, d);
  RtStFile *src = ok ? rt_st_load(o->checkpoint, d) : NULL;
  ok = ok && src;
  static char names[FE_QUANT_MAX_WEIGHTS][128];
  int n_obs = fe_preset_quantizable_weights(cm.preset, names, FE_QUANT_MAX_WEIGHTS);
  const RtSlot *obs = rt_graph_slot(&cm.model.eval, "absmax");
  if (ok && (n_obs == 0 || !obs)) {
    rt_diag_error(d, o->checkpoint, 0, 0, "preset '%s' has no weight int8 inference quantizes", cm.preset->name);
    ok = false;
  }
  RT_ASSERT(!ok || (n_obs <= FE_QUANT_MAX_WEIGHTS && obs->rank == 1 && obs->dims[0] == n_obs),
            "the calibration output disagrees with the preset's quantizable weights");
  double absmax[FE_QUANT_MAX_WEIGHTS];
  if (ok) calibrate(&cm, &im, o->method, obs, n_obs, absmax);
  QuantWeight *qw = rt_xcalloc((size_t)cm.model.n_state + 1, sizeof *qw); /* at most one a slot */
  int n_quantized = 0;
  RtStWriter *w = rt_st_writer_new();
  int64_t bytes_before = 0, bytes_after = 0;
  for (int i = 0; ok && i < cm.model.n_state; i++) { /* every param and statistic the graph reads */
    const RtSlot *s = &cm.model.state[i];
    const float *data = (const float *)((const char *)cm.state + s->offset);
    int64_t numel = rt_slot_numel(s);
    int q = -1; /* its calibrated input's index, for a product's weight */
    for (int k = 0; k < n_obs && q < 0; k++)
      if (strcmp(names[k], s->name) == 0) q = k;
    bool recurrent = q < 0 && fe_preset_param_is_recurrent_weight(cm.preset, s->name); /* W_hh: no calibration */
    bytes_before += numel * 4;
    if (q < 0 && !recurrent) {
      rt_st_writer_add(w, s->name, RT_ST_F32, s->rank, s->dims, data);
      bytes_after += numel * 4;
      continue;
    }
    QuantWeight *x = &qw[n_quantized++];
    int64_t rows = s->dims[0], cols = numel / rows;
    x->q = rt_xmalloc((size_t)numel);
    x->scale = rt_xmalloc((size_t)rows * sizeof(float));
    double err = quantize_weight(data, rows, cols, x);
    if (recurrent)
      for (int64_t k = 0; k < rows; k++) x->scale[k] /= 127.0f; /* the hidden state's 127 levels a unit */
    char name[300];
    rt_st_writer_add(w, s->name, RT_ST_I8, s->rank, s->dims, x->q);
    snprintf(name, sizeof name, "%s.scale", s->name);
    rt_st_writer_add(w, name, RT_ST_F32, 1, &rows, x->scale);
    bytes_after += numel + rows * 4;
    if (!recurrent) {
      x->input_scale = absmax[q] > 0 ? (float)(absmax[q] / 127.0) : 1.0f;
      snprintf(name, sizeof name, "%s.input_scale", s->name);
      rt_st_writer_add(w, name, RT_ST_F32, 0, NULL, &x->input_scale);
      bytes_after += 4;
    }
    if (!o->log) continue;
    fprintf(o->log, "  %-32s int8 (%lld x %lld), ", s->name, (long long)rows, (long long)cols);
    if (recurrent)
      fprintf(o->log, "recurrent: hidden states at 127 levels a unit, ");
    else
      fprintf(o->log, "input range %.4g, ", absmax[q]);
    fprintf(o->log, "weight error <= %.2f%% of a row's largest\n", 100 * err);
  }
  if (ok) {
    for (int i = 0; i < rt_st_meta_count(src); i++) {
      const char *key, *value;
      rt_st_meta_at(src, i, &key, &value);
      rt_st_writer_set_meta(w, key, value);
    }
    char calib[600];
    snprintf(calib, sizeof calib, "%s (symmetric, / 127) over %d images of %s",
             o->method == QUANT_CALIB_MAX ? "max: the largest |x|" : "mean-max: the mean of each batch of 32's largest |x|",
             im.count, o->calib);
    rt_st_writer_set_meta(w, rt_ckpt_key(RT_CKPT_QUANTIZED), "int8");
    rt_st_writer_set_meta(w, rt_ckpt_key(RT_CKPT_CALIBRATION), calib);
    ok = rt_st_writer_write(w, o->out, d);
  }
  if (ok && o->log)
    fprintf(o->log, "%s: %d weights int8, calibrated on %d images; tensors %.1f MiB -> %.1f MiB\n", o->out,
            n_quantized, im.count, bytes_before / 1048576.0, bytes_after / 1048576.0);
  rt_st_writer_free(w);
  for (int i = 0; i < n_quantized; i++) {
    free(qw[i].q);
    free(qw[i].scale);
  }
  free(qw);
  rt_st_free(src);
  free(im.pixels);
  checkpoint_model_free(&cm);
  return ok;
}

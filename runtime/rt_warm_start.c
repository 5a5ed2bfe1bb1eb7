/* Warm start from another run's checkpoint (rt_warm_start.h). */
#include "runtime/rt_warm_start.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/rt_charset.h"
#include "runtime/rt_checkpoint.h"
#include "runtime/rt_results.h"
#include "runtime/rt_safetensors.h"

/* Optimizer moments belong to the run that made them: a new run starts its own. */
static bool is_model_tensor(const char *name) { return strncmp(name, "opt.", 4) != 0; }

static bool same_shape(const RtSlot *s, const RtStTensor *t) {
  if (t->rank != s->rank) return false;
  for (int i = 0; i < s->rank; i++)
    if (t->shape[i] != s->dims[i]) return false;
  return true;
}

/* A head tensor with one row per class (output layer, attention embedding): its first dimension
 * is the class count on both sides, the rest agree. */
static bool class_rows(const RtModel *m, const RtSlot *s, const RtStTensor *t, int old_symbols) {
  if (strncmp(s->name, "head.", 5) != 0 || s->rank < 1 || t->rank != s->rank || s->dims[0] != m->classes) return false;
  for (int i = 1; i < s->rank; i++)
    if (t->shape[i] != s->dims[i]) return false;
  return t->shape[0] >= (int64_t)(m->classes - m->symbols) + old_symbols;
}

/* Row r of the new tensor <- row old_row[r] of the checkpoint's (-1: keep the fresh row). */
static void copy_rows(const RtSlot *s, const RtStTensor *t, const int64_t *old_row, void *state) {
  int64_t row = rt_slot_numel(s) / s->dims[0];
  size_t bytes = (size_t)row * sizeof(float);
  char *dst = (char *)state + s->offset;
  for (int64_t r = 0; r < s->dims[0]; r++)
    if (old_row[r] >= 0) memcpy(dst + (size_t)r * bytes, t->data + (size_t)old_row[r] * bytes, bytes);
}

/* old_row for each class of m: the special classes map to themselves, a symbol to its row in the
 * checkpoint's charset, or -1. Counts the symbols found and missing. */
static int64_t *class_map(const RtModel *m, const RtCharset *ours, const RtCharset *theirs, RtWarmStartReport *r) {
  int special = m->classes - m->symbols;
  int64_t *map = malloc((size_t)m->classes * sizeof *map);
  for (int c = 0; c < m->classes; c++) map[c] = c < special ? c : -1;
  r->shared_symbols = r->new_symbols = 0;
  for (int i = 0; i < ours->size; i++) {
    int32_t id = rt_charset_id(theirs, ours->cps[i]);
    map[special + i] = id >= 0 ? special + id : -1;
    if (id >= 0) r->shared_symbols++;
    else r->new_symbols++;
  }
  return map;
}

static void log_kept(FILE *log, const RtSlot *s, const RtStTensor *t) {
  if (!log) return;
  if (!t) {
    fprintf(log, "  %s: not in the checkpoint, initialised afresh\n", s->name);
    return;
  }
  char ours[96] = "", theirs[96] = "";
  for (int i = 0; i < s->rank; i++)
    snprintf(ours + strlen(ours), sizeof ours - strlen(ours), "%s%lld", i ? "x" : "", (long long)s->dims[i]);
  for (int i = 0; i < t->rank; i++)
    snprintf(theirs + strlen(theirs), sizeof theirs - strlen(theirs), "%s%lld", i ? "x" : "", (long long)t->shape[i]);
  fprintf(log, "  %s: shape %s here, %s in the checkpoint, initialised afresh\n", s->name, ours, theirs);
}

static int count_unused(const RtStFile *f, const RtModel *m) {
  int unused = 0;
  for (int i = 0; i < rt_st_count(f); i++) {
    const RtStTensor *t = rt_st_tensor(f, i);
    if (!is_model_tensor(t->name)) continue;
    bool found = false;
    for (int k = 0; k < m->n_state && !found; k++) found = strcmp(m->state[k].name, t->name) == 0;
    unused += !found;
  }
  return unused;
}

static void log_summary(FILE *log, const char *path, const RtWarmStartReport *r) {
  if (!log) return;
  fprintf(log, "init: %d of %d model tensors from %s", r->loaded + r->remapped, r->loaded + r->remapped + r->kept,
          path);
  if (r->remapped)
    fprintf(log, "; the charsets differ: %d class-indexed head tensor%s remapped by symbol (%d shared, %d new)",
            r->remapped, r->remapped == 1 ? "" : "s", r->shared_symbols, r->new_symbols);
  if (r->unused) fprintf(log, "; %d checkpoint tensor%s unused", r->unused, r->unused == 1 ? "" : "s");
  fprintf(log, "\n");
}

bool rt_warm_start(const char *path, const RtModel *m, void *state, const char *charset, FILE *log,
                   RtWarmStartReport *report, RtDiags *d) {
  RtWarmStartReport r = {0};
  struct stat st;
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
    rt_diag_error(d, path, 0, 0, "is a folder; give a checkpoint file such as %s/best.safetensors", path);
    return false;
  }
  RtStFile *f = rt_st_load(path, d);
  if (!f) return false;
  if (!rt_checkpoint_check_meta(f, path, d)) {
    rt_st_free(f);
    return false;
  }
  if (rt_st_meta(f, rt_ckpt_key(RT_CKPT_QUANTIZED))) { /* its int8 weights would be skipped unsaid */
    rt_diag_error(d, path, 0, 0, "is a quantized inference checkpoint (smelt quantize): start from the fp32 checkpoint it "
                  "was made from");
    rt_st_free(f);
    return false;
  }
  RtCharset ours = {0}, theirs = {0};
  char err[256];
  bool ok = rt_charset_init(&ours, charset, err, sizeof err) &&
            rt_charset_init(&theirs, rt_st_meta(f, rt_ckpt_key(RT_CKPT_CHARSET)), err, sizeof err);
  if (!ok) {
    rt_diag_error(d, path, 0, 0, "cannot compare charsets: %s", err);
    rt_charset_free(&ours);
    rt_charset_free(&theirs);
    rt_st_free(f);
    return false;
  }
  bool same_charset = strcmp(ours.utf8, theirs.utf8) == 0;
  int64_t *map = NULL;
  for (int i = 0; i < m->n_state; i++) {
    const RtSlot *s = &m->state[i];
    if (!is_model_tensor(s->name) || s->dtype != RT_F32) continue;
    const RtStTensor *t = rt_st_find(f, s->name);
    bool usable = t && t->dtype == RT_ST_F32;
    bool per_class = usable && class_rows(m, s, t, theirs.size); /* rows follow the charset */
    if (usable && same_shape(s, t) && (same_charset || !per_class)) {
      memcpy((char *)state + s->offset, t->data, (size_t)t->nbytes);
      r.loaded++;
    } else if (per_class) {
      if (!map) map = class_map(m, &ours, &theirs, &r);
      copy_rows(s, t, map, state);
      r.remapped++;
    } else {
      log_kept(log, s, usable ? t : NULL);
      r.kept++;
    }
  }
  r.unused = count_unused(f, m);
  free(map);
  rt_charset_free(&ours);
  rt_charset_free(&theirs);
  rt_st_free(f);
  if (r.loaded + r.remapped == 0) {
    rt_diag_error(d, path, 0, 0, "the checkpoint shares no tensor (by name and shape) with preset '%s'",
                  m->preset_name ? m->preset_name : "?");
    return false;
  }
  log_summary(log, path, &r);
  if (report) *report = r;
  return true;
}

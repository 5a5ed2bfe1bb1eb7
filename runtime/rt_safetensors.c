/* Safetensors writer and validating reader (rt_safetensors.h), after the format's reference
 * implementation (huggingface/safetensors, safetensors/src/tensor.rs): header at most 100 MB,
 * valid UTF-8 starting with '{', entries sorted by offsets must tile the data section exactly
 * (first begins at 0, each begins where the previous ends, the last ends at the end of the
 * file), end - begin = product(shape) * dtype size with overflow checks, no duplicate names,
 * __metadata__ maps strings to strings. We are stricter in two places: unknown keys in a tensor
 * entry are errors, and numbers must be exact integers below 2^53 (cJSON reads doubles). */
#include "runtime/rt_safetensors.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/rt_charset.h"
#include "support/rt_arena.h"
#include "support/rt_assert.h"
#include "support/rt_fs.h"
#include "support/rt_suggest.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors data is little-endian; we memcpy it");

enum { MAX_HEADER = 100000000 }; /* as the reference reader */
#define MAX_EXACT_INT 9007199254740992.0 /* 2^53: beyond it a double skips integers */

static const struct {
  const char *name;
  size_t size;
} DTYPES[] = {
    [RT_ST_BOOL] = {"BOOL", 1},       [RT_ST_U8] = {"U8", 1},   [RT_ST_I8] = {"I8", 1},
    [RT_ST_F8_E5M2] = {"F8_E5M2", 1}, [RT_ST_F8_E4M3] = {"F8_E4M3", 1},
    [RT_ST_I16] = {"I16", 2},         [RT_ST_U16] = {"U16", 2}, [RT_ST_F16] = {"F16", 2},
    [RT_ST_BF16] = {"BF16", 2},       [RT_ST_I32] = {"I32", 4}, [RT_ST_U32] = {"U32", 4},
    [RT_ST_F32] = {"F32", 4},         [RT_ST_F64] = {"F64", 8}, [RT_ST_I64] = {"I64", 8},
    [RT_ST_U64] = {"U64", 8},
};
_Static_assert(sizeof DTYPES / sizeof DTYPES[0] == RT_ST_DTYPE_COUNT, "one DTYPES row per RtStDtype");

const char *rt_st_dtype_name(RtStDtype t) { return DTYPES[t].name; }
size_t rt_st_dtype_size(RtStDtype t) { return DTYPES[t].size; }

int rt_st_dtype_parse(const char *s) {
  for (int t = 0; t < RT_ST_DTYPE_COUNT; t++)
    if (strcmp(s, DTYPES[t].name) == 0) return t;
  return -1;
}

/* ---- Writer ---- */

typedef struct WTensor {
  char *name;
  RtStDtype dtype;
  int rank;
  int64_t shape[RT_ST_MAX_RANK];
  const void *data;
  size_t nbytes;
} WTensor;

struct RtStWriter {
  WTensor *t;
  int n, cap;
  char **keys, **vals;
  int nmeta, capmeta;
};

RtStWriter *rt_st_writer_new(void) { return rt_xcalloc(1, sizeof(RtStWriter)); }

void rt_st_writer_free(RtStWriter *w) {
  if (!w) return;
  for (int i = 0; i < w->n; i++) free(w->t[i].name);
  for (int i = 0; i < w->nmeta; i++) free(w->keys[i]), free(w->vals[i]);
  free(w->t);
  free(w->keys);
  free(w->vals);
  free(w);
}

void rt_st_writer_add(RtStWriter *w, const char *name, RtStDtype dtype, int rank, const int64_t *shape,
                      const void *data) {
  RT_ASSERT(name && strcmp(name, "__metadata__") != 0, "bad tensor name '%s'", name ? name : "(null)");
  RT_ASSERT(dtype >= 0 && dtype < RT_ST_DTYPE_COUNT, "bad dtype %d", (int)dtype);
  RT_ASSERT(rank >= 0 && rank <= RT_ST_MAX_RANK, "tensor '%s': rank %d", name, rank);
  for (int i = 0; i < w->n; i++) RT_ASSERT(strcmp(w->t[i].name, name) != 0, "tensor '%s' added twice", name);
  uint64_t bytes = DTYPES[dtype].size;
  for (int k = 0; k < rank; k++) {
    RT_ASSERT(shape[k] >= 0, "tensor '%s': negative dimension", name);
    RT_ASSERT(!__builtin_mul_overflow(bytes, (uint64_t)shape[k], &bytes), "tensor '%s' too large", name);
  }
  RT_ASSERT(bytes == 0 || data, "tensor '%s' has no data", name);
  if (w->n == w->cap) {
    w->cap = w->cap ? 2 * w->cap : 16;
    w->t = rt_xrealloc(w->t, (size_t)w->cap * sizeof *w->t);
  }
  WTensor *t = &w->t[w->n++];
  *t = (WTensor){.name = rt_xstrdup(name), .dtype = dtype, .rank = rank, .data = data, .nbytes = (size_t)bytes};
  if (rank) memcpy(t->shape, shape, (size_t)rank * sizeof *shape);
}

void rt_st_writer_set_meta(RtStWriter *w, const char *key, const char *value) {
  for (int i = 0; i < w->nmeta; i++)
    if (strcmp(w->keys[i], key) == 0) {
      free(w->vals[i]);
      w->vals[i] = rt_xstrdup(value);
      return;
    }
  if (w->nmeta == w->capmeta) {
    w->capmeta = w->capmeta ? 2 * w->capmeta : 16;
    w->keys = rt_xrealloc(w->keys, (size_t)w->capmeta * sizeof *w->keys);
    w->vals = rt_xrealloc(w->vals, (size_t)w->capmeta * sizeof *w->vals);
  }
  w->keys[w->nmeta] = rt_xstrdup(key);
  w->vals[w->nmeta++] = rt_xstrdup(value);
}

/* File order: decreasing element size, insertion order within a size (a stable sort). */
static int *writer_order(const RtStWriter *w) {
  int *order = rt_xmalloc((size_t)(w->n ? w->n : 1) * sizeof *order);
  int k = 0;
  for (size_t size = 8; size >= 1; size /= 2)
    for (int i = 0; i < w->n; i++)
      if (DTYPES[w->t[i].dtype].size == size) order[k++] = i;
  RT_ASSERT(k == w->n, "a dtype size outside {1, 2, 4, 8}");
  return order;
}

/* Integers as raw text: cJSON prints doubles with 15 significant digits when that reads back
 * within an epsilon, which would round offsets above 10^15. */
static cJSON *json_int_array(const int64_t *v, int n) {
  cJSON *a = cJSON_CreateArray();
  for (int i = 0; i < n; i++) {
    char buf[24];
    snprintf(buf, sizeof buf, "%lld", (long long)v[i]);
    cJSON_AddItemToArray(a, cJSON_CreateRaw(buf));
  }
  return a;
}

/* The header JSON padded with spaces to a multiple of 8 (caller frees); *data_size gets the size
 * of the data section. */
static char *header_build(const RtStWriter *w, const int *order, size_t *len, size_t *data_size) {
  cJSON *root = cJSON_CreateObject();
  if (w->nmeta) {
    cJSON *meta = cJSON_AddObjectToObject(root, "__metadata__");
    for (int i = 0; i < w->nmeta; i++) cJSON_AddStringToObject(meta, w->keys[i], w->vals[i]);
  }
  uint64_t offset = 0;
  for (int k = 0; k < w->n; k++) {
    const WTensor *t = &w->t[order[k]];
    RT_ASSERT(offset + t->nbytes <= (uint64_t)MAX_EXACT_INT, "checkpoint larger than 2^53 bytes");
    cJSON *e = cJSON_AddObjectToObject(root, t->name);
    cJSON_AddStringToObject(e, "dtype", DTYPES[t->dtype].name);
    cJSON_AddItemToObject(e, "shape", json_int_array(t->shape, t->rank));
    int64_t offs[2] = {(int64_t)offset, (int64_t)(offset + t->nbytes)};
    cJSON_AddItemToObject(e, "data_offsets", json_int_array(offs, 2));
    offset += t->nbytes;
  }
  char *json = cJSON_PrintUnformatted(root);
  RT_ASSERT(json, "cJSON could not print a safetensors header");
  cJSON_Delete(root);
  size_t n = strlen(json), padded = (n + 7) / 8 * 8;
  char *out = rt_xmalloc(padded + 1);
  memcpy(out, json, n);
  memset(out + n, ' ', padded - n);
  out[padded] = 0;
  cJSON_free(json);
  *len = padded;
  *data_size = (size_t)offset;
  return out;
}

uint8_t *rt_st_writer_serialize(const RtStWriter *w, size_t *size) {
  int *order = writer_order(w);
  size_t hlen, dlen;
  char *header = header_build(w, order, &hlen, &dlen);
  uint8_t *out = rt_xmalloc(8 + hlen + dlen + 1);
  uint64_t n = hlen;
  memcpy(out, &n, 8);
  memcpy(out + 8, header, hlen);
  size_t at = 8 + hlen;
  for (int k = 0; k < w->n; k++) {
    const WTensor *t = &w->t[order[k]];
    if (t->nbytes) memcpy(out + at, t->data, t->nbytes);
    at += t->nbytes;
  }
  free(header);
  free(order);
  *size = at;
  return out;
}

bool rt_st_writer_write(const RtStWriter *w, const char *path, RtDiags *d) {
  RtFsAtomic *a = rt_fs_atomic_begin(path, d);
  if (!a) return false;
  int *order = writer_order(w);
  size_t hlen, dlen;
  char *header = header_build(w, order, &hlen, &dlen);
  uint64_t n = hlen;
  rt_fs_atomic_write(a, &n, 8);
  rt_fs_atomic_write(a, header, hlen);
  for (int k = 0; k < w->n; k++) rt_fs_atomic_write(a, w->t[order[k]].data, w->t[order[k]].nbytes);
  free(header);
  free(order);
  return rt_fs_atomic_commit(a, d);
}

/* ---- Reader ---- */

struct RtStFile {
  char *path;
  uint8_t *buf; /* the whole file */
  RtArena arena;
  RtStTensor *tensors; /* (count) in offset order */
  int count;
  int *by_name; /* (count) indices into tensors, sorted by name */
  const char **meta_keys, **meta_vals;
  int meta_count;
};

void rt_st_free(RtStFile *f) {
  if (!f) return;
  free(f->path);
  free(f->buf);
  rt_arena_free(&f->arena);
  free(f);
}

/* An exact non-negative integer in [0, 2^53]. */
static bool json_uint(const cJSON *v, uint64_t *out) {
  if (!cJSON_IsNumber(v)) return false;
  double x = v->valuedouble;
  if (!(x >= 0 && x <= MAX_EXACT_INT) || x != floor(x)) return false;
  *out = (uint64_t)x;
  return true;
}

/* Builds one tensor from its header entry; false after reporting what is wrong. */
static bool entry_parse(const char *path, const cJSON *e, uint64_t data_size, RtStTensor *t, uint64_t *begin,
                        uint64_t *end, RtDiags *d) {
  const char *name = e->string;
  if (!cJSON_IsObject(e)) {
    rt_diag_error(d, path, 0, 0, "tensor '%s': entry is not an object", name);
    return false;
  }
  const cJSON *dtype = NULL, *shape = NULL, *offs = NULL;
  bool ok = true;
  for (const cJSON *c = e->child; c; c = c->next) {
    const cJSON **slot = strcmp(c->string, "dtype") == 0          ? &dtype
                         : strcmp(c->string, "shape") == 0        ? &shape
                         : strcmp(c->string, "data_offsets") == 0 ? &offs
                                                                  : NULL;
    if (!slot) {
      rt_diag_error(d, path, 0, 0, "tensor '%s': unknown key '%s' (expected dtype, shape, data_offsets)", name,
                    c->string);
      ok = false;
    } else if (*slot) {
      rt_diag_error(d, path, 0, 0, "tensor '%s': duplicate key '%s'", name, c->string);
      ok = false;
    } else {
      *slot = c;
    }
  }
  const char *missing = !dtype ? "dtype" : !shape ? "shape" : !offs ? "data_offsets" : NULL;
  if (missing) {
    rt_diag_error(d, path, 0, 0, "tensor '%s': missing '%s'", name, missing);
    return false;
  }
  int dt = cJSON_IsString(dtype) ? rt_st_dtype_parse(dtype->valuestring) : -1;
  if (dt < 0) {
    rt_diag_error(d, path, 0, 0, "tensor '%s': unknown dtype %s%s%s", name, cJSON_IsString(dtype) ? "'" : "",
                  cJSON_IsString(dtype) ? dtype->valuestring : "(not a string)", cJSON_IsString(dtype) ? "'" : "");
    ok = false;
  }
  int rank = cJSON_IsArray(shape) ? cJSON_GetArraySize(shape) : -1;
  if (rank < 0 || rank > RT_ST_MAX_RANK) {
    rt_diag_error(d, path, 0, 0, "tensor '%s': shape must be an array of at most %d sizes", name, RT_ST_MAX_RANK);
    return false;
  }
  uint64_t count = 1, dims[RT_ST_MAX_RANK];
  bool overflow = false;
  int k = 0;
  for (const cJSON *c = shape->child; c; c = c->next, k++) {
    if (!json_uint(c, &dims[k])) {
      rt_diag_error(d, path, 0, 0, "tensor '%s': shape[%d] is not a non-negative integer", name, k);
      return false;
    }
    overflow |= __builtin_mul_overflow(count, dims[k], &count);
  }
  uint64_t b = 0, en = 0;
  if (cJSON_GetArraySize(offs) != 2 || !cJSON_IsArray(offs) || !json_uint(offs->child, &b) ||
      !json_uint(offs->child->next, &en)) {
    rt_diag_error(d, path, 0, 0, "tensor '%s': data_offsets must be [begin, end], two non-negative integers", name);
    return false;
  }
  if (b > en || en > data_size) {
    rt_diag_error(d, path, 0, 0, "tensor '%s': data_offsets [%llu, %llu] %s (the data section has %llu bytes)", name,
                  (unsigned long long)b, (unsigned long long)en, b > en ? "end before begin" : "past the end of the file",
                  (unsigned long long)data_size);
    return false;
  }
  if (!ok) return false;
  uint64_t bytes = 0;
  overflow |= __builtin_mul_overflow(count, (uint64_t)DTYPES[dt].size, &bytes);
  if (overflow || bytes != en - b) {
    char need[32];
    snprintf(need, sizeof need, overflow ? "more than 2^64" : "%llu", (unsigned long long)bytes);
    rt_diag_error(d, path, 0, 0, "tensor '%s': %llu bytes at data_offsets, but shape and dtype %s need %s", name,
                  (unsigned long long)(en - b), DTYPES[dt].name, need);
    return false;
  }
  *t = (RtStTensor){.dtype = (RtStDtype)dt, .rank = rank, .count = (int64_t)count, .nbytes = (size_t)bytes};
  for (int i = 0; i < rank; i++) t->shape[i] = (int64_t)dims[i];
  *begin = b;
  *end = en;
  return true;
}

typedef struct Span {
  uint64_t begin, end;
  int index;
} Span;

static int span_cmp(const void *a, const void *b) {
  const Span *x = a, *y = b;
  if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
  if (x->end != y->end) return x->end < y->end ? -1 : 1;
  return x->index - y->index;
}

static int cstr_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Reports keys that occur twice among names[0..n) (sorts names). */
static bool names_unique(const char *path, const char *what, const char **names, int n, RtDiags *d) {
  qsort(names, (size_t)n, sizeof *names, cstr_cmp);
  bool ok = true;
  for (int i = 1; i < n; i++)
    if (strcmp(names[i - 1], names[i]) == 0 && (i < 2 || strcmp(names[i - 2], names[i]) != 0)) {
      rt_diag_error(d, path, 0, 0, "duplicate %s '%s'", what, names[i]);
      ok = false;
    }
  return ok;
}

/* Checks that the spans tile [0, data_size) exactly, as the format requires. */
static bool spans_tile(const char *path, Span *s, int n, const cJSON **entries, uint64_t data_size, RtDiags *d) {
  qsort(s, (size_t)n, sizeof *s, span_cmp);
  uint64_t at = 0;
  int last = -1; /* the span that reaches furthest so far */
  bool ok = true;
  for (int i = 0; i < n; i++) {
    const char *name = entries[s[i].index]->string;
    if (s[i].begin > at)
      rt_diag_error(d, path, 0, 0, "gap of %llu bytes before tensor '%s' at data offset %llu (tensors must be contiguous)",
                    (unsigned long long)(s[i].begin - at), name, (unsigned long long)s[i].begin);
    else if (s[i].begin < at)
      rt_diag_error(d, path, 0, 0, "tensor '%s' [%llu, %llu) overlaps tensor '%s' that ends at %llu", name,
                    (unsigned long long)s[i].begin, (unsigned long long)s[i].end,
                    entries[s[last].index]->string, (unsigned long long)at);
    ok &= s[i].begin == at;
    if (s[i].end > at || last < 0) at = s[i].end, last = i;
  }
  if (ok && at != data_size) {
    rt_diag_error(d, path, 0, 0, "%llu bytes after the last tensor belong to no tensor (truncated header or extra data)",
                  (unsigned long long)(data_size - at));
    ok = false;
  }
  return ok;
}

/* Validates buf[0..size) (owned from here on) and builds the file; NULL after reporting. */
static RtStFile *parse_owned(const char *path, uint8_t *buf, size_t size, RtDiags *d) {
  int errors = d->errors;
  RtStFile *f = rt_xcalloc(1, sizeof *f);
  f->path = rt_xstrdup(path);
  f->buf = buf;
  cJSON *root = NULL;
  uint64_t hlen = 0;
  if (size < 8) {
    rt_diag_error(d, path, 0, 0, "not a safetensors file: %zu bytes, fewer than the 8-byte header length", size);
    goto fail;
  }
  memcpy(&hlen, buf, 8);
  if (hlen > MAX_HEADER || hlen > size - 8) {
    rt_diag_error(d, path, 0, 0, "header length %llu exceeds the %s (%zu bytes)", (unsigned long long)hlen,
                  hlen > MAX_HEADER ? "100 MB limit" : "file size", size);
    goto fail;
  }
  const char *header = (const char *)buf + 8;
  size_t bad_at = 0;
  if (rt_utf8_count(header, hlen, &bad_at) < 0) { /* RFC 3629, as the format requires */
    rt_diag_error(d, path, 0, 0, "header is not valid UTF-8 (at header byte %zu)", bad_at);
    goto fail;
  }
  if (hlen == 0 || header[0] != '{') {
    rt_diag_error(d, path, 0, 0, "header does not start with '{'");
    goto fail;
  }
  const char *end = NULL;
  root = cJSON_ParseWithLengthOpts(header, hlen, &end, 0);
  size_t at = end ? (size_t)(end - header) : 0;
  if (!root) {
    rt_diag_error(d, path, 0, 0, "header is not valid JSON (error near header byte %zu)", at);
    goto fail;
  }
  for (size_t i = at; i < hlen; i++)
    if (!strchr(" \t\r\n", header[i]) || !header[i]) {
      rt_diag_error(d, path, 0, 0, "header has bytes after its JSON object (at header byte %zu)", i);
      goto fail;
    }
  if (!cJSON_IsObject(root)) {
    rt_diag_error(d, path, 0, 0, "header is not a JSON object");
    goto fail;
  }
  uint64_t data_size = size - 8 - hlen;
  int n = 0, nmeta = 0;
  const cJSON *meta = NULL;
  for (const cJSON *c = root->child; c; c = c->next) {
    if (strcmp(c->string, "__metadata__") != 0) {
      n++;
    } else if (meta) {
      rt_diag_error(d, path, 0, 0, "duplicate key '__metadata__'");
    } else {
      meta = c;
    }
  }
  if (meta && !cJSON_IsObject(meta)) rt_diag_error(d, path, 0, 0, "__metadata__ is not an object");
  if (cJSON_IsObject(meta))
    for (const cJSON *c = meta->child; c; c = c->next, nmeta++)
      if (!cJSON_IsString(c)) rt_diag_error(d, path, 0, 0, "__metadata__ value of '%s' is not a string", c->string);
  f->tensors = rt_arena_alloc(&f->arena, (size_t)(n ? n : 1) * sizeof *f->tensors);
  const cJSON **entries = rt_arena_alloc(&f->arena, (size_t)(n ? n : 1) * sizeof *entries);
  Span *spans = rt_arena_alloc(&f->arena, (size_t)(n ? n : 1) * sizeof *spans);
  const char **names = rt_arena_alloc(&f->arena, (size_t)(n + nmeta + 1) * sizeof *names);
  int k = 0, good = 0;
  for (const cJSON *c = root->child; c; c = c->next) {
    if (c == meta || strcmp(c->string, "__metadata__") == 0) continue;
    entries[k] = c;
    names[k] = c->string;
    good += entry_parse(path, c, data_size, &f->tensors[k], &spans[k].begin, &spans[k].end, d);
    spans[k].index = k;
    k++;
  }
  names_unique(path, "tensor name", names, n, d);
  if (cJSON_IsObject(meta)) {
    int m = 0;
    for (const cJSON *c = meta->child; c; c = c->next) names[m++] = c->string;
    names_unique(path, "__metadata__ key", names, m, d);
  }
  if (good == n) spans_tile(path, spans, n, entries, data_size, d);
  if (d->errors > errors) goto fail;

  /* Valid: lay tensors out in offset order, names and metadata copied into the arena. */
  RtStTensor *sorted = rt_arena_alloc(&f->arena, (size_t)(n ? n : 1) * sizeof *sorted);
  for (int i = 0; i < n; i++) {
    sorted[i] = f->tensors[spans[i].index];
    sorted[i].name = rt_arena_strdup(&f->arena, entries[spans[i].index]->string);
    sorted[i].data = buf + 8 + hlen + spans[i].begin;
  }
  f->tensors = sorted;
  f->count = n;
  f->by_name = rt_arena_alloc(&f->arena, (size_t)(n ? n : 1) * sizeof *f->by_name);
  for (int i = 0; i < n; i++) f->by_name[i] = i;
  for (int i = 1; i < n; i++) /* insertion sort of indices by name; n is a few hundred */
    for (int j = i; j > 0 && strcmp(sorted[f->by_name[j - 1]].name, sorted[f->by_name[j]].name) > 0; j--) {
      int t = f->by_name[j];
      f->by_name[j] = f->by_name[j - 1];
      f->by_name[j - 1] = t;
    }
  f->meta_keys = rt_arena_alloc(&f->arena, (size_t)(nmeta ? nmeta : 1) * sizeof *f->meta_keys);
  f->meta_vals = rt_arena_alloc(&f->arena, (size_t)(nmeta ? nmeta : 1) * sizeof *f->meta_vals);
  if (meta)
    for (const cJSON *c = meta->child; c; c = c->next, f->meta_count++) {
      f->meta_keys[f->meta_count] = rt_arena_strdup(&f->arena, c->string);
      f->meta_vals[f->meta_count] = rt_arena_strdup(&f->arena, c->valuestring);
    }
  cJSON_Delete(root);
  return f;
fail:
  cJSON_Delete(root);
  rt_st_free(f);
  return NULL;
}

RtStFile *rt_st_load(const char *path, RtDiags *d) {
  uint8_t *buf;
  size_t size;
  if (!rt_fs_read_file(path, &buf, &size, d)) return NULL;
  return parse_owned(path, buf, size, d);
}

RtStFile *rt_st_parse(const char *name, const uint8_t *bytes, size_t size, RtDiags *d) {
  uint8_t *buf = rt_xmalloc(size + 1);
  if (size) memcpy(buf, bytes, size);
  return parse_owned(name, buf, size, d);
}

int rt_st_count(const RtStFile *f) { return f->count; }

const RtStTensor *rt_st_tensor(const RtStFile *f, int i) {
  RT_ASSERT(i >= 0 && i < f->count, "tensor index %d of %d", i, f->count);
  return &f->tensors[i];
}

const RtStTensor *rt_st_find(const RtStFile *f, const char *name) {
  int lo = 0, hi = f->count; /* binary search over by_name */
  while (lo < hi) {
    int mid = (lo + hi) / 2, c = strcmp(f->tensors[f->by_name[mid]].name, name);
    if (c == 0) return &f->tensors[f->by_name[mid]];
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return NULL;
}

int rt_st_meta_count(const RtStFile *f) { return f->meta_count; }

void rt_st_meta_at(const RtStFile *f, int i, const char **key, const char **value) {
  RT_ASSERT(i >= 0 && i < f->meta_count, "metadata index %d of %d", i, f->meta_count);
  *key = f->meta_keys[i];
  *value = f->meta_vals[i];
}

const char *rt_st_meta(const RtStFile *f, const char *key) {
  for (int i = 0; i < f->meta_count; i++)
    if (strcmp(f->meta_keys[i], key) == 0) return f->meta_vals[i];
  return NULL;
}

static void shape_format(char *buf, size_t cap, int rank, const int64_t *shape) {
  size_t at = (size_t)snprintf(buf, cap, "[");
  for (int i = 0; i < rank && at < cap; i++)
    at += (size_t)snprintf(buf + at, cap - at, "%s%lld", i ? ", " : "", (long long)shape[i]);
  if (at < cap) snprintf(buf + at, cap - at, "]");
}

bool rt_st_read(const RtStFile *f, const char *name, RtStDtype dtype, int rank, const int64_t *shape,
                void *dst, RtDiags *d) {
  const RtStTensor *t = rt_st_find(f, name);
  if (!t) {
    const char **names = rt_xmalloc((size_t)(f->count ? f->count : 1) * sizeof *names);
    for (int i = 0; i < f->count; i++) names[i] = f->tensors[i].name;
    const char *s = rt_suggest(name, names, f->count);
    rt_diag_error(d, f->path, 0, 0, "no tensor '%s'%s%s%s", name, s ? " (did you mean '" : "", s ? s : "", s ? "'?)" : "");
    free(names);
    return false;
  }
  bool same = t->dtype == dtype && t->rank == rank;
  for (int i = 0; same && i < rank; i++) same = t->shape[i] == shape[i];
  if (!same) {
    char have[160], want[160];
    shape_format(have, sizeof have, t->rank, t->shape);
    shape_format(want, sizeof want, rank, shape);
    rt_diag_error(d, f->path, 0, 0, "tensor '%s' is %s %s, expected %s %s", name, DTYPES[t->dtype].name, have,
                  DTYPES[dtype].name, want);
    return false;
  }
  if (t->nbytes) memcpy(dst, t->data, t->nbytes);
  return true;
}

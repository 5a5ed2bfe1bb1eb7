/* UTF-8 (RFC 3629) and charsets: building, validating and the text <-> ids mapping. A charset
 * keeps its symbols in id order and a sorted copy for binary-search lookup, so a charset given
 * in any order (a checkpoint's) keeps its ids. */
#include "runtime/rt_charset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/rt_assert.h"

int rt_utf8_decode(const char *s, size_t n, uint32_t *cp) {
  if (n == 0) return 0;
  const unsigned char *u = (const unsigned char *)s;
  unsigned char b = u[0];
  if (b < 0x80) {
    *cp = b;
    return 1;
  }
  int len;
  uint32_t v, min;
  if (b >= 0xC2 && b <= 0xDF) len = 2, v = b & 0x1F, min = 0x80;
  else if (b >= 0xE0 && b <= 0xEF) len = 3, v = b & 0x0F, min = 0x800;
  else if (b >= 0xF0 && b <= 0xF4) len = 4, v = b & 0x07, min = 0x10000;
  else return 0; /* continuation byte, C0/C1 (overlong two-byte) or F5..FF */
  if (n < (size_t)len) return 0;
  for (int i = 1; i < len; i++) {
    if ((u[i] & 0xC0) != 0x80) return 0;
    v = v << 6 | (u[i] & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
  *cp = v;
  return len;
}

int rt_utf8_encode(uint32_t cp, char out[4]) {
  RT_ASSERT(cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF), "not a scalar value U+%04X", cp);
  if (cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (char)(0xC0 | cp >> 6);
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | cp >> 12);
    out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | cp >> 18);
  out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
  out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
  out[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

int64_t rt_utf8_count(const char *s, size_t n, size_t *bad) {
  int64_t count = 0;
  for (size_t i = 0; i < n; count++) {
    uint32_t cp;
    int len = rt_utf8_decode(s + i, n - i, &cp);
    if (!len) {
      if (bad) *bad = i;
      return -1;
    }
    i += (size_t)len;
  }
  return count;
}

bool rt_symbol_is_forbidden(uint32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0xFEFF || cp == 0x2028 || cp == 0x2029;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* Fills every field from cps[0..n) (distinct, in id order; the array is taken over). */
static void charset_set(RtCharset *cs, uint32_t *cps, int n) {
  size_t slots = (size_t)(n ? n : 1);
  cs->cps = cps;
  cs->size = n;
  cs->utf8 = rt_xmalloc(slots * 4 + 1);
  size_t len = 0;
  for (int i = 0; i < n; i++) len += (size_t)rt_utf8_encode(cps[i], cs->utf8 + len);
  cs->utf8[len] = '\0';
  /* (cp, id) pairs packed in one word sort by cp first */
  uint64_t *pairs = rt_xmalloc(slots * sizeof *pairs);
  for (int i = 0; i < n; i++) pairs[i] = (uint64_t)cps[i] << 32 | (uint32_t)i;
  qsort(pairs, (size_t)n, sizeof *pairs, cmp_u64);
  cs->by_cp = rt_xmalloc(slots * sizeof *cs->by_cp);
  cs->by_cp_id = rt_xmalloc(slots * sizeof *cs->by_cp_id);
  for (int i = 0; i < n; i++) {
    cs->by_cp[i] = (uint32_t)(pairs[i] >> 32);
    cs->by_cp_id[i] = (int32_t)(uint32_t)pairs[i];
  }
  free(pairs);
}

bool rt_charset_init(RtCharset *cs, const char *utf8, char *err, size_t err_size) {
  *cs = (RtCharset){0};
  size_t n = strlen(utf8), bad = 0;
  int64_t count = rt_utf8_count(utf8, n, &bad);
  if (count < 0) {
    snprintf(err, err_size, "charset is not valid UTF-8 (byte %zu)", bad + 1);
    return false;
  }
  if (count == 0) {
    snprintf(err, err_size, "charset is empty");
    return false;
  }
  if (count > INT32_MAX / 8) {
    snprintf(err, err_size, "charset has too many symbols (%lld)", (long long)count);
    return false;
  }
  uint32_t *cps = rt_xmalloc((size_t)count * sizeof *cps);
  for (size_t i = 0, k = 0; i < n; k++) i += (size_t)rt_utf8_decode(utf8 + i, n - i, &cps[k]);
  for (int64_t i = 0; i < count; i++)
    if (rt_symbol_is_forbidden(cps[i])) {
      snprintf(err, err_size, "charset symbol %lld is a control character (U+%04X)",
               (long long)i + 1, cps[i]);
      free(cps);
      return false;
    }
  uint32_t *sorted = rt_xmalloc((size_t)count * sizeof *sorted);
  memcpy(sorted, cps, (size_t)count * sizeof *sorted);
  qsort(sorted, (size_t)count, sizeof *sorted, cmp_u32);
  for (int64_t i = 1; i < count; i++)
    if (sorted[i] == sorted[i - 1]) {
      char sym[5] = {0};
      rt_utf8_encode(sorted[i], sym);
      snprintf(err, err_size, "charset repeats the symbol '%s' (U+%04X)", sym, sorted[i]);
      free(sorted);
      free(cps);
      return false;
    }
  free(sorted);
  charset_set(cs, cps, (int)count);
  return true;
}

void rt_charset_build(RtCharset *cs, const char *const *texts, int n) {
  size_t total = 0;
  for (int i = 0; i < n; i++) total += strlen(texts[i]);
  uint32_t *cps = rt_xmalloc((total ? total : 1) * sizeof *cps);
  size_t k = 0;
  for (int i = 0; i < n; i++) {
    size_t len = strlen(texts[i]);
    for (size_t j = 0; j < len;) {
      int step = rt_utf8_decode(texts[i] + j, len - j, &cps[k]);
      RT_ASSERT(step > 0, "label %d is not valid UTF-8", i);
      j += (size_t)step;
      k++;
    }
  }
  qsort(cps, k, sizeof *cps, cmp_u32);
  size_t distinct = 0;
  for (size_t i = 0; i < k; i++)
    if (distinct == 0 || cps[i] != cps[distinct - 1]) cps[distinct++] = cps[i];
  *cs = (RtCharset){0};
  charset_set(cs, cps, (int)distinct);
}

void rt_charset_copy(RtCharset *dst, const RtCharset *src) {
  uint32_t *cps = rt_xmalloc((size_t)(src->size ? src->size : 1) * sizeof *cps);
  memcpy(cps, src->cps, (size_t)src->size * sizeof *cps);
  *dst = (RtCharset){0};
  charset_set(dst, cps, src->size);
}

void rt_charset_free(RtCharset *cs) {
  free(cs->utf8);
  free(cs->cps);
  free(cs->by_cp);
  free(cs->by_cp_id);
  *cs = (RtCharset){0};
}

int32_t rt_charset_id(const RtCharset *cs, uint32_t cp) {
  int lo = 0, hi = cs->size;
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (cs->by_cp[mid] < cp) lo = mid + 1;
    else hi = mid;
  }
  return lo < cs->size && cs->by_cp[lo] == cp ? cs->by_cp_id[lo] : -1;
}

int rt_charset_encode(const RtCharset *cs, const char *text, int32_t *ids, int cap,
                      uint32_t *bad_cp, size_t *bad_offset) {
  size_t n = strlen(text);
  int count = 0;
  for (size_t i = 0; i < n;) {
    uint32_t cp;
    int len = rt_utf8_decode(text + i, n - i, &cp);
    if (!len) {
      if (bad_offset) *bad_offset = i;
      return RT_ENCODE_BAD_UTF8;
    }
    int32_t id = rt_charset_id(cs, cp);
    if (id < 0) {
      if (bad_cp) *bad_cp = cp;
      if (bad_offset) *bad_offset = i;
      return RT_ENCODE_UNKNOWN;
    }
    if (count < cap) ids[count] = id;
    count++;
    i += (size_t)len;
  }
  return count;
}

int64_t rt_charset_decode(const RtCharset *cs, const int32_t *ids, int n, char *out, size_t out_size) {
  size_t len = 0;
  for (int i = 0; i < n; i++) {
    char buf[4];
    if (ids[i] < 0 || ids[i] >= cs->size) goto fail;
    int k = rt_utf8_encode(cs->cps[ids[i]], buf);
    if (len + (size_t)k + 1 > out_size) goto fail;
    memcpy(out + len, buf, (size_t)k);
    len += (size_t)k;
  }
  if (out_size == 0) return -1;
  out[len] = '\0';
  return (int64_t)len;
fail:
  if (out_size > 0) out[0] = '\0';
  return -1;
}

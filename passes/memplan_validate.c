/* Independent checker of a scratch-arena layout (see pass_memplan_validate in memplan.h). It
 * shares no code with the planner on purpose: it knows nothing of blocks or orderings, only the
 * contract. Pairs of buffers with intersecting lifetimes are enumerated by sorting on first use:
 * after i, only the buffers starting no later than i's last use can intersect it. */
#include "passes/memplan.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "runtime/rt_assert.h"

typedef struct FirstKey {
  int first, idx;
} FirstKey;

static int first_key_cmp(const void *pa, const void *pb) {
  const FirstKey *a = pa, *b = pb;
  if (a->first != b->first) return a->first < b->first ? -1 : 1;
  return (a->idx > b->idx) - (a->idx < b->idx);
}

__attribute__((format(printf, 3, 4))) static bool fail(char *err, size_t errlen, const char *fmt,
                                                      ...) {
  if (err && errlen > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return false;
}

/* Bytes owned by a buffer: its size rounded up to the alignment. */
static int64_t extent(const PassBuffer *b, int64_t alignment) {
  return (b->size + alignment - 1) / alignment * alignment;
}

/* b = bufs[i] claims to be written in place over bufs[b->in_place_of]: is that a legal pair? */
static bool check_in_place(const PassBuffer *bufs, int n, int i, char *err, size_t errlen) {
  const PassBuffer *b = &bufs[i];
  int a = b->in_place_of;
  if (a < 0 || a >= n || a == i)
    return fail(err, errlen, "buffer %d: placed in place of %d, which is not another buffer", i, a);
  const PassBuffer *in = &bufs[a];
  if (in->last != b->first)
    return fail(err, errlen,
                "buffer %d: placed in place of buffer %d, but %d dies at %d, not at %d's first "
                "use %d",
                i, a, a, in->last, i, b->first);
  if (in->size < b->size)
    return fail(err, errlen,
                "buffer %d: placed in place of buffer %d, but it is larger (%" PRId64 " > %" PRId64
                " bytes)", i, a, b->size, in->size);
  if (in->offset != b->offset)
    return fail(err, errlen,
                "buffer %d: placed in place of buffer %d at another offset (%" PRId64 " vs %" PRId64
                ")", i, a, b->offset, in->offset);
  return true;
}

bool pass_memplan_validate(const PassBuffer *bufs, int n, int64_t arena_bytes, int64_t alignment,
                           char *err, size_t errlen) {
  if (alignment <= 0 || arena_bytes < 0 || n < 0)
    return fail(err, errlen, "bad arguments: n = %d, arena %" PRId64 " bytes, alignment %" PRId64,
                n, arena_bytes, alignment);
  for (int i = 0; i < n; i++) {
    const PassBuffer *b = &bufs[i];
    if (b->size <= 0 || b->size > PASS_MEMPLAN_MAX_SIZE || b->first > b->last)
      return fail(err, errlen, "buffer %d: bad input: size %" PRId64 ", lifetime [%d, %d]", i,
                  b->size, b->first, b->last);
    if (b->offset < 0 || b->offset % alignment != 0)
      return fail(err, errlen,
                  "buffer %d: offset %" PRId64 " is not a nonnegative multiple of %" PRId64, i,
                  b->offset, alignment);
    if (b->offset > arena_bytes - extent(b, alignment))
      return fail(err, errlen,
                  "buffer %d: [%" PRId64 ", %" PRId64 ") ends outside the arena of %" PRId64
                  " bytes",
                  i, b->offset, b->offset + extent(b, alignment), arena_bytes);
    if (b->placed_in_place && !check_in_place(bufs, n, i, err, errlen)) return false;
  }
  FirstKey *keys = rt_xmalloc((size_t)n * sizeof *keys);
  for (int i = 0; i < n; i++) keys[i] = (FirstKey){bufs[i].first, i};
  qsort(keys, (size_t)n, sizeof *keys, first_key_cmp);
  bool ok = true;
  for (int s = 0; s < n && ok; s++) {
    int i = keys[s].idx;
    const PassBuffer *a = &bufs[i];
    for (int t = s + 1; t < n && keys[t].first <= a->last; t++) {
      int j = keys[t].idx;
      const PassBuffer *b = &bufs[j];
      bool disjoint = a->offset + extent(a, alignment) <= b->offset ||
                      b->offset + extent(b, alignment) <= a->offset;
      bool in_place = (b->placed_in_place && b->in_place_of == i) ||
                      (a->placed_in_place && a->in_place_of == j);
      if (disjoint || in_place) continue;
      int lo = i < j ? i : j, hi = i < j ? j : i;
      const PassBuffer *x = &bufs[lo], *y = &bufs[hi];
      ok = fail(err, errlen,
                "buffers %d and %d overlap while both live: %d at [%" PRId64 ", %" PRId64
                ") live [%d, %d], %d at [%" PRId64 ", %" PRId64 ") live [%d, %d]",
                lo, hi, lo, x->offset, x->offset + extent(x, alignment), x->first, x->last, hi,
                y->offset, y->offset + extent(y, alignment), y->first, y->last);
      break;
    }
  }
  free(keys);
  return ok;
}

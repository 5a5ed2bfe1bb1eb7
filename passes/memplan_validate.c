/* Independent checker of a scratch-arena layout (see pass_memplan_validate in memplan.h). It
 * shares no code with the planner on purpose: it knows nothing of blocks or orderings, only the
 * contract. A sweep over schedule positions keeps the live buffers by offset; in a valid layout
 * they are disjoint but for in-place pairs, so each arriving buffer meets at most its partner
 * and the check is O(n log n), where enumerating every pair of intersecting lifetimes was
 * quadratic in a training step (its saved activations are all live together). */
#include "passes/memplan.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "support/rt_assert.h"

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

/* Is (a, b) a taken in-place pair, in either direction? */
static bool in_place_pair(const PassBuffer *bufs, int a, int b) {
  return (bufs[b].placed_in_place && bufs[b].in_place_of == a) ||
         (bufs[a].placed_in_place && bufs[a].in_place_of == b);
}

static int cmp_int64(const void *pa, const void *pb) {
  int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;
  return (a > b) - (a < b);
}

/* Live set of the sweep: groups of live buffers at one offset (a buffer and the buffers written
 * in place over it, at most a few), indexed by the rank of that offset among all offsets; a
 * Fenwick tree over the ranks counts the occupied ones, to find the neighbours of an offset. */
typedef struct LiveSet {
  int m;           /* distinct offsets */
  int64_t *offs;   /* (m) sorted */
  int *tree;       /* (m + 1) Fenwick tree of occupied ranks */
  int *head;       /* (m) first member of the group at each rank, -1: none */
  int *next;       /* (n) next member of the same group, -1: end */
} LiveSet;

static void tree_add(LiveSet *s, int r, int delta) {
  for (r++; r <= s->m; r += r & -r) s->tree[r] += delta;
}

static int tree_prefix(const LiveSet *s, int r) { /* occupied ranks < r */
  int c = 0;
  for (; r > 0; r -= r & -r) c += s->tree[r];
  return c;
}

static int tree_kth(const LiveSet *s, int k) { /* rank of the k-th occupied (1-based), else m */
  int pos = 0, step = 1;
  while (step * 2 <= s->m) step *= 2;
  for (; step; step /= 2)
    if (pos + step <= s->m && s->tree[pos + step] < k) pos += step, k -= s->tree[pos];
  return pos;
}

static int rank_of(const LiveSet *s, int64_t off) {
  int lo = 0, hi = s->m;
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (s->offs[mid] < off) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/* End of the bytes a group owns: its largest member's. */
static int64_t group_end(const LiveSet *s, const PassBuffer *bufs, int r, int64_t alignment) {
  int64_t end = s->offs[r];
  for (int x = s->head[r]; x >= 0; x = s->next[x]) {
    int64_t e = bufs[x].offset + extent(&bufs[x], alignment);
    if (e > end) end = e;
  }
  return end;
}

static void group_remove(LiveSet *s, int r, int i) {
  int *p = &s->head[r];
  while (*p != i) p = &s->next[*p];
  *p = s->next[i];
  if (s->head[r] < 0) tree_add(s, r, -1);
}

static bool overlap_fail(const PassBuffer *bufs, int i, int j, int64_t alignment, char *err,
                         size_t errlen) {
  int lo = i < j ? i : j, hi = i < j ? j : i;
  const PassBuffer *x = &bufs[lo], *y = &bufs[hi];
  return fail(err, errlen,
              "buffers %d and %d overlap while both live: %d at [%" PRId64 ", %" PRId64
              ") live [%d, %d], %d at [%" PRId64 ", %" PRId64 ") live [%d, %d]",
              lo, hi, lo, x->offset, x->offset + extent(x, alignment), x->first, x->last, hi,
              y->offset, y->offset + extent(y, alignment), y->first, y->last);
}

/* Buffer i arrives: every live group its bytes meet must consist of its in-place partners (then
 * it joins that group: a partner has the same offset), else two buffers overlap. */
static bool live_insert(LiveSet *s, const PassBuffer *bufs, int i, int64_t alignment, char *err,
                        size_t errlen) {
  int64_t off = bufs[i].offset, end = off + extent(&bufs[i], alignment);
  int r = rank_of(s, off);
  int below = tree_prefix(s, r), live = tree_prefix(s, s->m);
  /* groups are disjoint: only the nearest one below off can reach over it */
  int k = below > 0 && group_end(s, bufs, tree_kth(s, below), alignment) > off ? below : below + 1;
  for (; k <= live; k++) {
    int g = tree_kth(s, k);
    if (s->offs[g] >= end) break;
    for (int x = s->head[g]; x >= 0; x = s->next[x])
      if (!in_place_pair(bufs, i, x)) return overlap_fail(bufs, i, x, alignment, err, errlen);
  }
  if (s->head[r] < 0) tree_add(s, r, 1);
  s->next[i] = s->head[r];
  s->head[r] = i;
  return true;
}

/* The sweep: at each first use, the buffers dead before it leave, then the arrivals enter in
 * index order. */
static bool check_overlaps(const PassBuffer *bufs, int n, int64_t alignment, char *err,
                           size_t errlen) {
  size_t cap = (size_t)n + 1;
  FirstKey *arrive = rt_xmalloc(cap * sizeof *arrive);
  FirstKey *leave = rt_xmalloc(cap * sizeof *leave); /* keyed by last use */
  for (int i = 0; i < n; i++) {
    arrive[i] = (FirstKey){bufs[i].first, i};
    leave[i] = (FirstKey){bufs[i].last, i};
  }
  qsort(arrive, (size_t)n, sizeof *arrive, first_key_cmp);
  qsort(leave, (size_t)n, sizeof *leave, first_key_cmp);
  LiveSet s = {.offs = rt_xmalloc(cap * sizeof *s.offs), .next = rt_xmalloc(cap * sizeof *s.next)};
  for (int i = 0; i < n; i++) s.offs[i] = bufs[i].offset;
  qsort(s.offs, (size_t)n, sizeof *s.offs, cmp_int64);
  for (int i = 0; i < n; i++)
    if (s.m == 0 || s.offs[s.m - 1] != s.offs[i]) s.offs[s.m++] = s.offs[i];
  s.tree = rt_xcalloc((size_t)s.m + 1, sizeof *s.tree);
  s.head = rt_xmalloc(cap * sizeof *s.head);
  for (int r = 0; r < s.m; r++) s.head[r] = -1;
  bool ok = true;
  for (int a = 0, l = 0; a < n && ok; a++) {
    int i = arrive[a].idx;
    for (; l < n && leave[l].first < bufs[i].first; l++) {
      int x = leave[l].idx;
      group_remove(&s, rank_of(&s, bufs[x].offset), x);
    }
    ok = live_insert(&s, bufs, i, alignment, err, errlen);
  }
  free(arrive), free(leave), free(s.offs), free(s.next), free(s.tree), free(s.head);
  return ok;
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
  return check_overlaps(bufs, n, alignment, err, errlen);
}

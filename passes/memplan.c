/* Scratch-arena planner (see memplan.h): input checks, the in-place hints, merging in-place
 * chains into blocks (so placement only sees rectangles lifetime x bytes that must not overlap
 * when their lifetimes intersect), the lower bound, the orderings, and keeping the best of the
 * placements (memplan_place.c) they give. */
#include "passes/memplan.h"

#include <stdlib.h>
#include <string.h>

#include "passes/memplan_place.h"
#include "support/rt_assert.h"

/* Sort key: ascending lexicographic on (k1, k2, k3, idx); descending criteria are negated. */
typedef struct OrderKey {
  int64_t k1, k2, k3;
  int idx;
} OrderKey;

enum { ORDER_SIZE, ORDER_FIRST_USE, ORDER_CONFLICTS, ORDER_COUNT }; /* bit numbers of the mask */
static const char *const ORDER_NAME[ORDER_COUNT] = {"size", "first_use", "conflicts"};
_Static_assert(PASS_MEMPLAN_ALL_ORDERS == (1 << ORDER_COUNT) - 1, "one name per ordering bit");

static int64_t round_up(int64_t x, int64_t a) { return (x + a - 1) / a * a; }

static int order_key_cmp(const void *pa, const void *pb) {
  const OrderKey *a = pa, *b = pb;
  if (a->k1 != b->k1) return a->k1 < b->k1 ? -1 : 1;
  if (a->k2 != b->k2) return a->k2 < b->k2 ? -1 : 1;
  if (a->k3 != b->k3) return a->k3 < b->k3 ? -1 : 1;
  return (a->idx > b->idx) - (a->idx < b->idx);
}

static int int_cmp(const void *pa, const void *pb) {
  int a = *(const int *)pa, b = *(const int *)pb;
  return (a > b) - (a < b);
}

/* Number of elements of the sorted v[0..n) that are < x. */
static int count_below(const int *v, int n, int x) {
  int lo = 0, hi = n;
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (v[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/* Conflicts of block i: blocks j != i with first[j] <= last[i] and last[j] >= first[i], i.e.
 * all of them minus those ending before i starts and those starting after i ends. */
static void count_conflicts(const PassMemBlocks *b, int64_t *conflicts) {
  int *firsts = rt_xmalloc((size_t)b->n * sizeof *firsts);
  int *lasts = rt_xmalloc((size_t)b->n * sizeof *lasts);
  memcpy(firsts, b->first, (size_t)b->n * sizeof *firsts);
  memcpy(lasts, b->last, (size_t)b->n * sizeof *lasts);
  qsort(firsts, (size_t)b->n, sizeof *firsts, int_cmp);
  qsort(lasts, (size_t)b->n, sizeof *lasts, int_cmp);
  for (int i = 0; i < b->n; i++) {
    int ended_before = count_below(lasts, b->n, b->first[i]);
    int start_after = b->n - count_below(firsts, b->n, b->last[i] + 1);
    conflicts[i] = b->n - ended_before - start_after - 1;
  }
  free(firsts);
  free(lasts);
}

/* Fills order[] with the block indices in placement order for ordering number `which`. */
static void make_order(const PassMemBlocks *b, int which, const int64_t *conflicts, OrderKey *keys,
                       int *order) {
  for (int i = 0; i < b->n; i++) {
    int64_t size = b->size[i], len = (int64_t)b->last[i] - b->first[i], first = b->first[i];
    OrderKey *k = &keys[i];
    k->idx = i;
    switch (which) {
    case ORDER_SIZE: k->k1 = -size, k->k2 = -len, k->k3 = first; break;
    case ORDER_FIRST_USE: k->k1 = first, k->k2 = -size, k->k3 = -len; break;
    default: k->k1 = -conflicts[i], k->k2 = -size, k->k3 = first; break;
    }
  }
  qsort(keys, (size_t)b->n, sizeof *keys, order_key_cmp);
  for (int i = 0; i < b->n; i++) order[i] = keys[i].idx;
}

/* Takes the in-place hints (lowest buffer index first) into pred[] (-1: none) and sets
 * placed_in_place. A buffer with first == last may not be in the middle of a chain: its
 * predecessor and successor would both be live at that one position in the same memory. A
 * smaller output is not merged: its block would hold the input's size for the output's whole
 * life, up to twice the lower bound on random sets; an elementwise output has its input's type. */
static int take_in_place_hints(PassBuffer *bufs, int n, int64_t alignment, int *pred) {
  bool *claimed = rt_xcalloc((size_t)n, sizeof *claimed);
  int taken = 0;
  for (int i = 0; i < n; i++) pred[i] = -1, bufs[i].placed_in_place = false;
  for (int i = 0; i < n; i++) {
    PassBuffer *b = &bufs[i];
    int a = b->in_place_of;
    RT_ASSERT(-1 <= a && a < n, "memplan: buffer %d: in_place_of %d not -1 or in [0, %d)", i, a, n);
    if (a < 0) continue;
    const PassBuffer *in = &bufs[a];
    bool take = a != i && in->last == b->first && in->size >= b->size &&
                round_up(in->size, alignment) == round_up(b->size, alignment) && !claimed[a] &&
                !(in->first == in->last && in->placed_in_place) &&
                !(b->first == b->last && claimed[i]);
    if (!take) continue;
    claimed[a] = true;
    pred[i] = a;
    b->placed_in_place = true;
    taken++;
  }
  free(claimed);
  return taken;
}

/* Merges each chain into one block: block_of[i] = block of buffer i. Chains have no cycles
 * (lifetimes only move forward along a chain, and a same-position cycle would need a buffer with
 * first == last in its middle), so walking pred[] always reaches a head. */
static void build_blocks(const PassBuffer *bufs, int n, int64_t alignment, const int *pred,
                         int *block_of, PassMemBlocks *b) {
  b->n = 0;
  for (int i = 0; i < n; i++) block_of[i] = pred[i] < 0 ? b->n++ : -1;
  b->size = rt_xcalloc((size_t)b->n, sizeof *b->size);
  b->first = rt_xmalloc((size_t)b->n * sizeof *b->first);
  b->last = rt_xmalloc((size_t)b->n * sizeof *b->last);
  for (int k = 0; k < b->n; k++) b->first[k] = INT32_MAX, b->last[k] = INT32_MIN;
  for (int i = 0; i < n; i++) {
    int head = i;
    while (block_of[head] < 0) head = pred[head];
    int k = block_of[head];
    for (int j = i; block_of[j] < 0; j = pred[j]) block_of[j] = k; /* path compression */
    int64_t size = round_up(bufs[i].size, alignment);
    if (size > b->size[k]) b->size[k] = size;
    if (bufs[i].first < b->first[k]) b->first[k] = bufs[i].first;
    if (bufs[i].last > b->last[k]) b->last[k] = bufs[i].last;
  }
}

typedef struct Event {
  int64_t time, delta;
} Event;

static int event_cmp(const void *pa, const void *pb) {
  const Event *a = pa, *b = pb;
  return (a->time > b->time) - (a->time < b->time);
}

/* max over positions t of sum(size of buffers live at t) - sum(size of b for taken pairs a->b
 * with a.last == b.first == t): b lies inside a there. A sweep over +size/-size events. */
static int64_t lower_bound(const PassBuffer *bufs, int n, int64_t alignment, const int *pred) {
  Event *ev = rt_xmalloc((size_t)n * 4 * sizeof *ev);
  int ne = 0;
  for (int i = 0; i < n; i++) {
    int64_t size = round_up(bufs[i].size, alignment);
    ev[ne++] = (Event){bufs[i].first, size};
    ev[ne++] = (Event){(int64_t)bufs[i].last + 1, -size};
    if (pred[i] >= 0) {
      ev[ne++] = (Event){bufs[i].first, -size};
      ev[ne++] = (Event){(int64_t)bufs[i].first + 1, size};
    }
  }
  qsort(ev, (size_t)ne, sizeof *ev, event_cmp);
  int64_t live = 0, best = 0;
  for (int e = 0; e < ne; e++) {
    live += ev[e].delta;
    if ((e + 1 == ne || ev[e + 1].time != ev[e].time) && live > best) best = live;
  }
  free(ev);
  return best;
}

void pass_memplan_orders(PassBuffer *bufs, int n, int64_t alignment, unsigned order_mask,
                         PassMemPlanStats *stats) {
  RT_ASSERT(n >= 0 && alignment > 0, "memplan: n = %d, alignment = %lld", n, (long long)alignment);
  RT_ASSERT(order_mask != 0 && (order_mask & ~(unsigned)PASS_MEMPLAN_ALL_ORDERS) == 0,
            "memplan: bad order mask %#x", order_mask);
  int64_t naive = 0;
  for (int i = 0; i < n; i++) {
    const PassBuffer *b = &bufs[i];
    RT_ASSERT(b->size > 0 && b->size <= PASS_MEMPLAN_MAX_SIZE, "memplan: buffer %d: size %lld", i,
              (long long)b->size);
    RT_ASSERT(0 <= b->first && b->first <= b->last && b->last < INT32_MAX,
              "memplan: buffer %d: lifetime [%d, %d]", i, b->first, b->last);
    naive += round_up(b->size, alignment);
  }
  int *pred = rt_xmalloc((size_t)n * sizeof *pred);
  int *block_of = rt_xmalloc((size_t)n * sizeof *block_of);
  int taken = take_in_place_hints(bufs, n, alignment, pred);
  PassMemBlocks b;
  build_blocks(bufs, n, alignment, pred, block_of, &b);

  size_t nb = (size_t)b.n;
  int64_t *conflicts = rt_xmalloc(nb * sizeof *conflicts);
  OrderKey *keys = rt_xmalloc(nb * sizeof *keys);
  int *order = rt_xmalloc(nb * sizeof *order);
  int64_t *offset = rt_xmalloc(nb * sizeof *offset), *best_offset = rt_xcalloc(nb, sizeof *offset);
  if (order_mask & PASS_MEMPLAN_BY_CONFLICTS) count_conflicts(&b, conflicts);
  int64_t best_arena = -1;
  int best_which = 0;
  for (int which = 0; which < ORDER_COUNT; which++) {
    if (!(order_mask & (1u << which))) continue;
    make_order(&b, which, conflicts, keys, order);
    int64_t arena = which == ORDER_FIRST_USE ? pass_memplan_place_sweep(&b, order, offset)
                                             : pass_memplan_place(&b, order, offset);
    if (best_arena < 0 || arena < best_arena) {
      best_arena = arena, best_which = which;
      memcpy(best_offset, offset, nb * sizeof *offset);
    }
  }
  for (int i = 0; i < n; i++) bufs[i].offset = best_offset[block_of[i]];

  if (stats) {
    stats->naive_bytes = naive;
    stats->lower_bound_bytes = lower_bound(bufs, n, alignment, pred);
    stats->arena_bytes = best_arena;
    stats->in_place_taken = taken;
    stats->strategy = ORDER_NAME[best_which];
  }
  free(offset), free(best_offset), free(order), free(keys), free(conflicts);
  free(b.size), free(b.first), free(b.last);
  free(pred), free(block_of);
}

void pass_memplan(PassBuffer *bufs, int n, int64_t alignment, PassMemPlanStats *stats) {
  pass_memplan_orders(bufs, n, alignment, PASS_MEMPLAN_ALL_ORDERS, stats);
}

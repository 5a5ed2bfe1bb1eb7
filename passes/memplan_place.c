/* Greedy best-fit placement engines of the memory planner (see memplan_place.h). The general
 * one keeps the placed blocks sorted by offset, as TFLite Micro's GreedyMemoryPlanner does, so
 * the gaps around a new block come from one linear scan with no sort. The sweep is a classic
 * heap simulation (free list with coalescing), valid when blocks arrive by first use. */
#include "passes/memplan_place.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "support/rt_assert.h"

/* Placed blocks, sorted by offset (ties in any order), in chunks that are themselves in offset
 * order (a B+-tree's leaf level): an insertion moves at most CHUNK_CAP entries. A summary tree
 * over the chunks lets find_offset pass a whole run of entries at once when none of them is live
 * in the queried lifetime, or when all are and they leave no gap the block fits between them
 * (the saved activations of a training step: thousands of blocks live together, stacked without
 * gaps, which a walk over every chunk made quadratic). */
enum { CHUNK_CAP = 256 };
_Static_assert(CHUNK_CAP % 8 == 0, "find_offset reads the live bytes eight at a time");
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "find_offset reads bytes as words");

/* What find_offset needs of a run of consecutive entries (n > 0) without walking them. */
typedef struct Summary {
  int n;
  int min_first, max_last; /* none is live in a lifetime ending before / starting after these */
  int max_first, min_last; /* all are live in a lifetime that meets [max_first, min_last] */
  int64_t off0, max_end;   /* the first entry's offset, the highest end */
  int64_t max_gap;         /* >= every gap the walk meets after the first entry when all are
                            * live (off - highest end before it); -1: none */
} Summary;

typedef struct Chunk {
  int n;
  Summary sum;
  int first[CHUNK_CAP], last[CHUNK_CAP]; /* entries n.. are INT32_MAX, INT32_MIN: never live */
  int64_t off[CHUNK_CAP], end[CHUNK_CAP]; /* [off, end) */
} Chunk;

typedef struct Placed {
  int n, cap;
  Chunk **chunks; /* (cap) n in use, none empty */
  int leaves;     /* a power of two >= n */
  Summary *tree;  /* (2 * leaves) node k sums 2k and 2k + 1; leaf leaves + i is chunk i */
} Placed;

/* The summary of run a followed by run b (higher offsets). */
static Summary summary_join(const Summary *a, const Summary *b) {
  if (a->n == 0) return *b;
  if (b->n == 0) return *a;
  Summary s = {.n = a->n + b->n, .off0 = a->off0};
  s.min_first = a->min_first < b->min_first ? a->min_first : b->min_first;
  s.max_last = a->max_last > b->max_last ? a->max_last : b->max_last;
  s.max_first = a->max_first > b->max_first ? a->max_first : b->max_first;
  s.min_last = a->min_last < b->min_last ? a->min_last : b->min_last;
  s.max_end = a->max_end > b->max_end ? a->max_end : b->max_end;
  s.max_gap = a->max_gap > b->max_gap ? a->max_gap : b->max_gap;
  if (b->off0 - a->max_end > s.max_gap) s.max_gap = b->off0 - a->max_end;
  return s;
}

/* Recomputes a chunk's summary exactly (after a split). */
static void chunk_summarize(Chunk *c) {
  Summary s = {c->n, INT32_MAX, INT32_MIN, INT32_MIN, INT32_MAX, c->off[0], INT64_MIN, -1};
  for (int j = 0; j < c->n; j++) {
    if (c->first[j] < s.min_first) s.min_first = c->first[j];
    if (c->first[j] > s.max_first) s.max_first = c->first[j];
    if (c->last[j] < s.min_last) s.min_last = c->last[j];
    if (c->last[j] > s.max_last) s.max_last = c->last[j];
    if (j > 0 && c->off[j] - s.max_end > s.max_gap) s.max_gap = c->off[j] - s.max_end;
    if (c->end[j] > s.max_end) s.max_end = c->end[j];
  }
  c->sum = s;
}

/* Updates the summary for the entry just inserted at j, in O(1): max_gap stays an upper bound,
 * as the gaps after j only narrow and the new ones are at most the distance to a neighbour's
 * end. */
static void chunk_note(Chunk *c, int j) {
  Summary *s = &c->sum;
  int f = c->first[j], l = c->last[j];
  if (c->n == 1) {
    *s = (Summary){1, f, l, f, l, c->off[0], c->end[0], -1};
    return;
  }
  s->n = c->n;
  if (f < s->min_first) s->min_first = f;
  if (f > s->max_first) s->max_first = f;
  if (l < s->min_last) s->min_last = l;
  if (l > s->max_last) s->max_last = l;
  s->off0 = c->off[0];
  if (c->end[j] > s->max_end) s->max_end = c->end[j];
  int64_t below = j > 0 ? c->off[j] - c->end[j - 1] : -1;
  int64_t above = j + 1 < c->n ? c->off[j + 1] - c->end[j] : -1;
  if (below > s->max_gap) s->max_gap = below;
  if (above > s->max_gap) s->max_gap = above;
}

static Chunk *chunk_new(void) {
  Chunk *c = rt_xcalloc(1, sizeof *c);
  for (int j = 0; j < CHUNK_CAP; j++) c->first[j] = INT32_MAX, c->last[j] = INT32_MIN;
  return c;
}

static void tree_rebuild(Placed *p) {
  int leaves = 1;
  while (leaves < p->n) leaves *= 2;
  if (leaves != p->leaves) {
    p->leaves = leaves;
    p->tree = rt_xrealloc(p->tree, 2 * (size_t)leaves * sizeof *p->tree);
  }
  for (int i = 0; i < leaves; i++)
    p->tree[leaves + i] = i < p->n ? p->chunks[i]->sum : (Summary){0};
  for (int k = leaves - 1; k >= 1; k--)
    p->tree[k] = summary_join(&p->tree[2 * k], &p->tree[2 * k + 1]);
}

static void tree_update(Placed *p, int ci) {
  int k = p->leaves + ci;
  p->tree[k] = p->chunks[ci]->sum;
  for (k /= 2; k >= 1; k /= 2) p->tree[k] = summary_join(&p->tree[2 * k], &p->tree[2 * k + 1]);
}

/* Best fit among the placed blocks live during [first, last]: walking them by offset, `top` is
 * the highest end seen so far, so a block starting above it leaves a free gap [top, off). The
 * smallest gap that holds `size` wins (the lowest among equal gaps, so an exact fit ends the
 * search); without one, the block goes at the final top, just above all it conflicts with. */
typedef struct Fit {
  int first, last;
  int64_t size, top, best, best_gap;
} Fit;

/* Offers the gap below off; true on an exact fit (the search is over). */
static bool fit_gap(Fit *f, int64_t off) {
  int64_t gap = off - f->top;
  if (gap < f->size || gap >= f->best_gap) return false;
  f->best_gap = gap, f->best = f->top;
  return gap == f->size;
}

/* The live test is unpredictable, so the chunk is first filtered into bytes by a branch-free
 * loop over all of it (which the compiler vectorises; unused entries never test live), then
 * only the live entries are walked, found eight bytes at a time. */
static bool fit_chunk(Fit *f, const Chunk *c) {
  uint8_t live[CHUNK_CAP];
  for (int j = 0; j < CHUNK_CAP; j++) live[j] = (c->first[j] <= f->last) & (c->last[j] >= f->first);
  for (int w = 0; w < c->n; w += 8) {
    uint64_t bits; /* byte j of the word is live[w + j] */
    memcpy(&bits, &live[w], sizeof bits);
    for (; bits; bits &= bits - 1) {
      int j = w + __builtin_ctzll(bits) / 8;
      if (fit_gap(f, c->off[j])) return true;
      if (c->end[j] > f->top) f->top = c->end[j];
    }
  }
  return false;
}

/* Walks tree node k (its run of entries, in offset order); true on an exact fit. A run with
 * every entry live and no inner gap that fits offers only the gap below its first entry, then
 * the top is its highest end (which is above the old top: that one was at most off0). */
static bool fit_node(Fit *f, const Placed *p, int k) {
  const Summary *s = &p->tree[k];
  if (s->n == 0 || s->min_first > f->last || s->max_last < f->first) return false;
  bool all_live = s->max_first <= f->last && s->min_last >= f->first;
  if (all_live && s->max_gap < f->size && f->top <= s->off0) {
    if (fit_gap(f, s->off0)) return true;
    f->top = s->max_end;
    return false;
  }
  if (k >= p->leaves) return fit_chunk(f, p->chunks[k - p->leaves]);
  return fit_node(f, p, 2 * k) || fit_node(f, p, 2 * k + 1);
}

static int64_t find_offset(const Placed *p, int first, int last, int64_t size) {
  if (p->n == 0) return 0;
  Fit f = {first, last, size, 0, -1, INT64_MAX};
  if (fit_node(&f, p, 1)) return f.best;
  return f.best >= 0 ? f.best : f.top;
}

/* Moves the upper half of the full chunk ci into a new chunk ci + 1. */
static void placed_split(Placed *p, int ci) {
  if (p->n == p->cap) {
    p->cap = p->cap ? 2 * p->cap : 16;
    p->chunks = rt_xrealloc(p->chunks, (size_t)p->cap * sizeof *p->chunks);
  }
  memmove(&p->chunks[ci + 2], &p->chunks[ci + 1], (size_t)(p->n - ci - 1) * sizeof *p->chunks);
  p->n++;
  Chunk *lo = p->chunks[ci], *hi = p->chunks[ci + 1] = chunk_new();
  int half = lo->n / 2;
  hi->n = lo->n - half;
  memcpy(hi->first, &lo->first[half], (size_t)hi->n * sizeof *hi->first);
  memcpy(hi->last, &lo->last[half], (size_t)hi->n * sizeof *hi->last);
  memcpy(hi->off, &lo->off[half], (size_t)hi->n * sizeof *hi->off);
  memcpy(hi->end, &lo->end[half], (size_t)hi->n * sizeof *hi->end);
  for (int j = half; j < lo->n; j++) lo->first[j] = INT32_MAX, lo->last[j] = INT32_MIN;
  lo->n = half;
  chunk_summarize(lo);
  chunk_summarize(hi);
  tree_rebuild(p); /* chunk indices moved; splits are rare (one per CHUNK_CAP / 2 insertions) */
}

/* Inserts [off, end) x [first, last] after every entry with an offset <= off. */
static void placed_insert(Placed *p, int64_t off, int64_t end, int first, int last) {
  if (p->n == 0) {
    if (p->cap == 0) p->cap = 16, p->chunks = rt_xmalloc(16 * sizeof *p->chunks);
    p->chunks[p->n++] = chunk_new();
  }
  int ci = 0; /* the last chunk starting at or below off, else the first */
  for (int lo = 1, hi = p->n; lo < hi;) {
    int mid = lo + (hi - lo) / 2;
    if (p->chunks[mid]->off[0] <= off) ci = mid, lo = mid + 1;
    else hi = mid;
  }
  if (p->chunks[ci]->n == CHUNK_CAP) {
    placed_split(p, ci);
    if (p->chunks[ci + 1]->off[0] <= off) ci++;
  }
  Chunk *c = p->chunks[ci];
  int j = c->n;
  while (j > 0 && c->off[j - 1] > off) j--;
  size_t tail = (size_t)(c->n - j);
  memmove(&c->first[j + 1], &c->first[j], tail * sizeof *c->first);
  memmove(&c->last[j + 1], &c->last[j], tail * sizeof *c->last);
  memmove(&c->off[j + 1], &c->off[j], tail * sizeof *c->off);
  memmove(&c->end[j + 1], &c->end[j], tail * sizeof *c->end);
  c->first[j] = first, c->last[j] = last, c->off[j] = off, c->end[j] = end;
  c->n++;
  chunk_note(c, j);
  if (p->n > p->leaves) tree_rebuild(p);
  else tree_update(p, ci);
}

int64_t pass_memplan_place(const PassMemBlocks *b, const int *order, int64_t *offset) {
  Placed p = {0};
  int64_t arena = 0;
  for (int i = 0; i < b->n; i++) {
    int k = order[i];
    int64_t off = find_offset(&p, b->first[k], b->last[k], b->size[k]);
    offset[k] = off;
    placed_insert(&p, off, off + b->size[k], b->first[k], b->last[k]);
    if (off + b->size[k] > arena) arena = off + b->size[k];
  }
  for (int ci = 0; ci < p.n; ci++) free(p.chunks[ci]);
  free(p.chunks);
  free(p.tree);
  return arena;
}

/* ---- sweep by first use ---- */

/* Free memory below the top of the live blocks, as maximal gaps sorted by offset. */
typedef struct FreeList {
  int n;
  int64_t top;          /* highest end of a live block (0: none live) */
  int64_t *start, *end; /* (blocks) gap [start, end); each lies just below a live block */
} FreeList;

/* Returns [s, e) to the free list, merging it with the gaps and the top it touches. */
static void free_list_release(FreeList *f, int64_t s, int64_t e) {
  int pos = 0, hi = f->n; /* pos: the first gap starting above s */
  while (pos < hi) {
    int mid = pos + (hi - pos) / 2;
    if (f->start[mid] < s) pos = mid + 1;
    else hi = mid;
  }
  bool joins_below = pos > 0 && f->end[pos - 1] == s;
  bool joins_above = pos < f->n && f->start[pos] == e;
  if (e == f->top) { /* the top comes down, through the gap just below if any */
    f->top = joins_below ? f->start[--f->n] : s;
    return;
  }
  if (joins_below && joins_above) {
    f->end[pos - 1] = f->end[pos];
    memmove(&f->start[pos], &f->start[pos + 1], (size_t)(f->n - pos - 1) * sizeof *f->start);
    memmove(&f->end[pos], &f->end[pos + 1], (size_t)(f->n - pos - 1) * sizeof *f->end);
    f->n--;
  } else if (joins_below) {
    f->end[pos - 1] = e;
  } else if (joins_above) {
    f->start[pos] = s;
  } else {
    memmove(&f->start[pos + 1], &f->start[pos], (size_t)(f->n - pos) * sizeof *f->start);
    memmove(&f->end[pos + 1], &f->end[pos], (size_t)(f->n - pos) * sizeof *f->end);
    f->start[pos] = s, f->end[pos] = e;
    f->n++;
  }
}

/* Best fit from the free list (same rule as find_offset), else at the top. */
static int64_t free_list_take(FreeList *f, int64_t size) {
  int best = -1;
  for (int g = 0; g < f->n; g++) {
    int64_t gap = f->end[g] - f->start[g];
    if (gap >= size && (best < 0 || gap < f->end[best] - f->start[best])) {
      best = g;
      if (gap == size) break;
    }
  }
  if (best < 0) {
    f->top += size;
    return f->top - size;
  }
  int64_t off = f->start[best];
  f->start[best] += size;
  if (f->start[best] == f->end[best]) {
    memmove(&f->start[best], &f->start[best + 1], (size_t)(f->n - best - 1) * sizeof *f->start);
    memmove(&f->end[best], &f->end[best + 1], (size_t)(f->n - best - 1) * sizeof *f->end);
    f->n--;
  }
  return off;
}

typedef struct LastKey {
  int last, idx;
} LastKey;

static int last_key_cmp(const void *pa, const void *pb) {
  const LastKey *a = pa, *b = pb;
  if (a->last != b->last) return a->last < b->last ? -1 : 1;
  return (a->idx > b->idx) - (a->idx < b->idx);
}

int64_t pass_memplan_place_sweep(const PassMemBlocks *b, const int *order, int64_t *offset) {
  size_t cap = (size_t)b->n;
  LastKey *dies = rt_xmalloc(cap * sizeof *dies); /* blocks by last use */
  for (int k = 0; k < b->n; k++) dies[k] = (LastKey){b->last[k], k};
  qsort(dies, (size_t)b->n, sizeof *dies, last_key_cmp);
  FreeList f = {0, 0, rt_xmalloc(cap * sizeof *f.start), rt_xmalloc(cap * sizeof *f.end)};
  int64_t arena = 0;
  for (int i = 0, d = 0; i < b->n; i++) {
    int k = order[i];
    RT_ASSERT(i == 0 || b->first[order[i - 1]] <= b->first[k],
              "memplan: sweep order not by first use at %d", i);
    /* every block dying before k's first use was placed already: its first use is earlier */
    for (; d < b->n && dies[d].last < b->first[k]; d++) {
      int x = dies[d].idx;
      free_list_release(&f, offset[x], offset[x] + b->size[x]);
    }
    offset[k] = free_list_take(&f, b->size[k]);
    if (offset[k] + b->size[k] > arena) arena = offset[k] + b->size[k];
  }
  free(f.start), free(f.end), free(dies);
  return arena;
}

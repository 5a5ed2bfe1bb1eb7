/* Greedy best-fit placement engines of the memory planner (see memplan_place.h). The general
 * one keeps the placed blocks sorted by offset, as TFLite Micro's GreedyMemoryPlanner does, so
 * the gaps around a new block come from one linear scan with no sort. The sweep is a classic
 * heap simulation (free list with coalescing), valid when blocks arrive by first use. */
#include "passes/memplan_place.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/rt_assert.h"

/* Placed blocks, sorted by offset (ties in any order), in chunks that are themselves in offset
 * order (a B+-tree's leaf level): an insertion moves at most CHUNK_CAP entries, and a chunk
 * whose summary shows no entry live in the queried lifetime is skipped whole, as is one whose
 * entries are all live and leave no gap between them that the block fits (the saved
 * activations of a training step: thousands of blocks live together, stacked without gaps). */
enum { CHUNK_CAP = 256 };
_Static_assert(CHUNK_CAP % 8 == 0, "find_offset reads the live bytes eight at a time");
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "find_offset reads bytes as words");

typedef struct Chunk {
  int n;
  int min_first, max_last;               /* over the n entries */
  int max_first, min_last;               /* over the n entries: all are live in [max_first, min_last] */
  int64_t max_end;                       /* over the n entries */
  int64_t max_gap; /* largest gap between entries when all are live (as find_offset walks them,
                    * below the highest end so far); -1: none */
  int first[CHUNK_CAP], last[CHUNK_CAP]; /* entries n.. are INT32_MAX, INT32_MIN: never live */
  int64_t off[CHUNK_CAP], end[CHUNK_CAP]; /* [off, end) */
} Chunk;

typedef struct Placed {
  int n, cap;
  Chunk **chunks; /* (cap) n in use, none empty */
} Placed;

/* Recomputes the summary after the entries changed (as cheap as the insertion's move). */
static void chunk_summarize(Chunk *c) {
  c->min_first = c->min_last = INT32_MAX, c->max_first = c->max_last = INT32_MIN;
  c->max_end = INT64_MIN, c->max_gap = -1;
  for (int j = 0; j < c->n; j++) {
    if (c->first[j] < c->min_first) c->min_first = c->first[j];
    if (c->first[j] > c->max_first) c->max_first = c->first[j];
    if (c->last[j] < c->min_last) c->min_last = c->last[j];
    if (c->last[j] > c->max_last) c->max_last = c->last[j];
    if (j > 0 && c->off[j] - c->max_end > c->max_gap) c->max_gap = c->off[j] - c->max_end;
    if (c->end[j] > c->max_end) c->max_end = c->end[j];
  }
}

static Chunk *chunk_new(void) {
  Chunk *c = rt_xcalloc(1, sizeof *c);
  for (int j = 0; j < CHUNK_CAP; j++) c->first[j] = INT32_MAX, c->last[j] = INT32_MIN;
  chunk_summarize(c);
  return c;
}

/* Best fit among the placed blocks live during [first, last]: walking them by offset, `top` is
 * the highest end seen so far, so a block starting above it leaves a free gap [top, off). The
 * smallest gap that holds `size` wins (the lowest among equal gaps, so an exact fit ends the
 * search); without one, the block goes at the final top, just above all it conflicts with.
 * The live test is unpredictable, so each chunk is first filtered into bytes by a branch-free
 * loop over the whole chunk (which the compiler vectorises; unused entries never test live),
 * then only the live entries are walked, found eight bytes at a time. */
static int64_t find_offset(const Placed *p, int first, int last, int64_t size) {
  int64_t top = 0, best = -1, best_gap = INT64_MAX;
  uint8_t live[CHUNK_CAP];
  for (int ci = 0; ci < p->n; ci++) {
    const Chunk *c = p->chunks[ci];
    if (c->min_first > last || c->max_last < first) continue;
    if (c->max_first <= last && c->min_last >= first && c->max_gap < size && top <= c->off[0]) {
      /* all live, nothing fits between them: the walk below would only see the gap under the
       * first entry and end at the highest end */
      int64_t gap = c->off[0] - top;
      if (gap >= size && gap < best_gap) {
        if (gap == size) return top;
        best_gap = gap, best = top;
      }
      top = c->max_end;
      continue;
    }
    for (int j = 0; j < CHUNK_CAP; j++) live[j] = (c->first[j] <= last) & (c->last[j] >= first);
    for (int w = 0; w < c->n; w += 8) {
      uint64_t bits; /* byte j of the word is live[w + j] */
      memcpy(&bits, &live[w], sizeof bits);
      for (; bits; bits &= bits - 1) {
        int j = w + __builtin_ctzll(bits) / 8;
        int64_t gap = c->off[j] - top;
        if (gap >= size && gap < best_gap) {
          if (gap == size) return top;
          best_gap = gap, best = top;
        }
        if (c->end[j] > top) top = c->end[j];
      }
    }
  }
  return best >= 0 ? best : top;
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
  chunk_summarize(c);
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

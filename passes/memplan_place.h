/* Internal to the memory planner (memplan.c and its tests): the two greedy placement engines.
 * Both place rectangles (lifetime x bytes) one by one in a given order, each at the best-fit
 * gap among the already placed blocks whose lifetimes intersect its own, and give identical
 * offsets for an order sorted by first use; the sweep is just faster there. */
#ifndef SMELT_PASS_MEMPLAN_PLACE_H
#define SMELT_PASS_MEMPLAN_PLACE_H

#include <stdint.h>

/* Blocks to place: an in-place chain is one block. */
typedef struct PassMemBlocks {
  int n;
  int64_t *size; /* (n) bytes, > 0, a multiple of the alignment */
  int *first;    /* (n) inclusive lifetime, first <= last < INT32_MAX */
  int *last;     /* (n) */
} PassMemBlocks;

/* Places b's blocks in order[0..n) (a permutation): each at the smallest gap between the placed
 * blocks live at the same time that holds it, the lowest such gap among equal ones, else just
 * above all of them. Writes offset[k] for every block and returns the arena size. Any order;
 * O(n^2) worst case. */
int64_t pass_memplan_place(const PassMemBlocks *b, const int *order, int64_t *offset);

/* The same result when order is sorted by first use (checked), as a heap simulation: blocks are
 * freed as the sweep passes their last use and placed from a free list. O(n * free gaps). */
int64_t pass_memplan_place_sweep(const PassMemBlocks *b, const int *order, int64_t *offset);

#endif

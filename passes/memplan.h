/* Scratch-arena memory planner: places every intermediate buffer (size, lifetime in kernel
 * schedule positions) at a byte offset so that no two buffers live at the same time overlap, and
 * the arena is small. Greedy best-fit in several orderings, keeping the smallest (TFLite Micro's
 * greedy planner, TVM USMP greedy_by_size / greedy_by_conflicts, XLA's "better of two heaps"),
 * with in-place reuse for elementwise kernels, and an independent validator of any layout. */
#ifndef SMELT_PASS_MEMPLAN_H
#define SMELT_PASS_MEMPLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Cache line and AVX-512 vector: every offset is a multiple of it, every buffer owns its size
 * rounded up to it (so kernels may load/store whole vectors up to that rounded end). */
#define PASS_MEMPLAN_ALIGNMENT 64
#define PASS_MEMPLAN_MAX_SIZE ((int64_t)1 << 48) /* per buffer; keeps all sums far from overflow */

typedef struct PassBuffer {
  /* inputs */
  int64_t size;    /* bytes, 0 < size <= PASS_MEMPLAN_MAX_SIZE */
  int first, last; /* inclusive schedule positions: first = the kernel writing it, last = the last
                    * kernel reading it; 0 <= first <= last < INT32_MAX */
  int in_place_of; /* hint, or -1: index of a buffer whose memory this one may take over in place
                    * (an elementwise kernel writing its output over an input that dies there).
                    * Taken when in.last == this.first, both sizes round up to the same bytes
                    * (and in.size >= this.size), the input is not taken over by another buffer,
                    * and no chain goes through a buffer with first == last (see pass_memplan). */
  /* results */
  int64_t offset;        /* byte offset in the arena, a multiple of the alignment */
  bool placed_in_place;  /* the hint was taken: offset == bufs[in_place_of].offset */
} PassBuffer;

/* The orderings the greedy placement can try (a bit mask; pass_memplan tries them all). */
enum {
  PASS_MEMPLAN_BY_SIZE = 1 << 0,      /* size descending, then longer lifetime first */
  PASS_MEMPLAN_BY_FIRST_USE = 1 << 1, /* first use ascending, then size descending */
  PASS_MEMPLAN_BY_CONFLICTS = 1 << 2, /* number of buffers live at the same time, descending */
  PASS_MEMPLAN_ALL_ORDERS = (1 << 3) - 1
};

/* All byte figures count sizes rounded up to the alignment. */
typedef struct PassMemPlanStats {
  int64_t naive_bytes;       /* sum of all sizes: one private slot per buffer */
  int64_t lower_bound_bytes; /* max over schedule positions of the live bytes, an in-place pair
                              * counted once where both are live: no layout can do better */
  int64_t arena_bytes;       /* max(offset + size): the scratch region to allocate */
  int in_place_taken;        /* hints taken */
  const char *strategy;      /* static string, the ordering that won: "size", "first_use" or
                              * "conflicts" */
} PassMemPlanStats;

/* Plans bufs[0..n) (fills offset and placed_in_place) trying every ordering; stats may be NULL.
 * (1) Take the in-place hints, lowest index first; each taken chain a->b->c becomes one block
 * with the merged lifetime [a.first, c.last] and their common rounded size. A hint whose output
 * rounds to fewer bytes than its input is declined: the block would keep the input's size for
 * the output's whole life, which can cost more than it saves. A chain never goes through a
 * buffer with first == last: its two neighbours would be live together at that position in the
 * same memory, which is not an in-place write. (2) Place the blocks greedily in each ordering,
 * each at the smallest gap between the blocks already placed and live at the same time that
 * holds it (best fit; the lowest offset among equal gaps), else just above them all. (3) Keep
 * the ordering with the smallest arena (ties: the lower bit).
 * Invalid input (size, lifetime, hint index, alignment <= 0) is a bug of the caller and aborts
 * via RT_ASSERT. Cost: O(b^2) per ordering in the number of blocks b (the first-use ordering is
 * a sweep, O(b x free gaps)); about 50 ms for 10k buffers of a training-like schedule. */
void pass_memplan(PassBuffer *bufs, int n, int64_t alignment, PassMemPlanStats *stats);

/* The same with only the orderings in order_mask (a nonzero subset of PASS_MEMPLAN_ALL_ORDERS). */
void pass_memplan_orders(PassBuffer *bufs, int n, int64_t alignment, unsigned order_mask,
                         PassMemPlanStats *stats);

/* Independent checker of a finished layout, sharing no code with the planner. A buffer owns
 * [offset, offset + round_up(size, alignment)). Checks that every offset is >= 0 and aligned,
 * every buffer ends within arena_bytes, every taken in-place hint is legal (in range, not itself,
 * input.last == this.first, input.size >= this.size, same offset), and that no two buffers whose
 * lifetimes intersect overlap in memory, except a taken in-place pair (b.placed_in_place and
 * b.in_place_of == a). Returns true if the layout is valid; otherwise false with a message naming
 * the buffer(s) in err (may be NULL). O(n log n): a sweep over schedule positions. */
bool pass_memplan_validate(const PassBuffer *bufs, int n, int64_t arena_bytes, int64_t alignment,
                           char *err, size_t errlen);

#endif

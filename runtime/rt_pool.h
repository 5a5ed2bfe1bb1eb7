/* The thread pool that generated kernels split their loops over (smelt_rt_parallel_for), and the
 * switch that keeps OpenBLAS from running a second pool on top of it. No LLVM here: the standalone
 * trainer links the runtime without it. One caller at a time uses the pool; a call made while
 * another thread's call is running, or from inside a chunk (nesting), runs inline instead. */
#ifndef SMELT_RT_POOL_H
#define SMELT_RT_POOL_H

#include <stdbool.h>
#include <stdint.h>

/* One chunk of a parallel loop: the indices [begin, end) of the range. `worker` is the chunk's
 * number in [0, rt_pool_threads()); chunks running at the same time have different numbers, so
 * a kernel can use it to pick its slice of a per-worker workspace. */
typedef void (*RtParallelFn)(void *ctx, int64_t begin, int64_t end, int32_t worker);

/* Splits [0, n) into contiguous chunks of at least `grain` indices (grain < 1 counts as 1), at
 * most one per thread, runs them on the pool's workers and the calling thread, and returns when
 * all are done. Runs fn(ctx, 0, n, 0) inline when n <= grain, when the pool has one thread, when
 * called from inside a chunk, or when another thread's call is in progress. n <= 0: no call.
 * Called by generated code (registered in the JIT by codegen/cg_symbols.c). */
void smelt_rt_parallel_for(RtParallelFn fn, void *ctx, int64_t n, int64_t grain);

/* Threads a parallel loop uses, counting the caller: $SMELT_THREADS if set (1..RT_POOL_MAX_THREADS),
 * else the CPUs this process may run on; or the value given to rt_pool_set_threads. */
enum { RT_POOL_MAX_THREADS = 256 };
int rt_pool_threads(void);

/* Sets the thread count (n < 1: back to the default above). Stops running workers if the count
 * changes; the pool restarts lazily at the next parallel loop. Not to be called while a parallel
 * loop runs. */
void rt_pool_set_threads(int n);

/* Starts the workers now instead of at the first parallel loop, so that their stacks are mapped
 * before a memory check (rt_memory.h). Returns the threads a loop will use, counting the caller
 * (fewer than rt_pool_threads() when some could not be created). */
int rt_pool_start_workers(void);

/* Stops and joins the workers (the pool restarts lazily if used again). For clean exits and tests. */
void rt_pool_shutdown(void);

/* Makes OpenBLAS run single-threaded (openblas_set_num_threads(1)), so that its own pool does not
 * fight ours: our pool splits GEMMs instead. Call once at start-up. */
void rt_blas_single_threaded(void);

#endif

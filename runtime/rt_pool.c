/* The thread pool behind smelt_rt_parallel_for: threads-1 workers that, with the calling thread,
 * claim contiguous chunks of a loop from one atomic ticket. Workers spin a few microseconds
 * after each loop (generated kernels come in quick succession), then sleep on a condition
 * variable so that they do not burn a core while the trainer does serial work. */
#include "runtime/rt_pool.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime/rt_fpenv.h"
#include "runtime/rt_profile.h"
#include "support/rt_assert.h"

/* libopenblas (Debian's pthread build); declared here so the runtime needs no cblas.h */
void openblas_set_num_threads(int num_threads);

enum { SPIN_NS = 50000 }; /* how long a waiting thread spins before it sleeps */

/* The ticket packs everything a worker needs to claim a chunk into one atomic word:
 * generation (bits 32-63, one per loop), chunk count (bits 16-31), next chunk (bits 0-15).
 * Claiming is a compare-and-swap that fails when a new loop has started, so a worker that wakes
 * late can never run a chunk of the next loop with the previous loop's function. */
#define TICKET(gen, chunks) ((uint64_t)(gen) << 32 | (uint64_t)(chunks) << 16)
#define TICKET_GEN(t) ((uint32_t)((t) >> 32))
#define TICKET_CHUNKS(t) ((int64_t)(((t) >> 16) & 0xffff))
#define TICKET_NEXT(t) ((int64_t)((t) & 0xffff))

typedef struct RtPool {
  pthread_mutex_t mu;
  pthread_cond_t work_cv; /* sleeping workers wait here for the next loop */
  pthread_cond_t done_cv; /* a sleeping caller waits here for the last chunk */
  pthread_t workers[RT_POOL_MAX_THREADS];
  int n_workers;             /* running workers; 0 = not started */
  _Atomic int threads;       /* set by rt_pool_set_threads; 0 = default */
  _Atomic bool stop;
  atomic_flag busy;          /* held by the thread whose loop uses the pool */
  /* the current loop: written by the caller before it publishes the ticket, read by a worker
   * only after it has claimed a chunk of it (the claim synchronises with the publication) */
  RtParallelFn fn;
  void *ctx;
  int64_t n;
  _Atomic uint64_t ticket;
  _Atomic int64_t remaining; /* chunks of the current loop not yet finished */
  _Atomic int sleepers;      /* workers blocked on work_cv */
} RtPool;

static RtPool pool = {
    .mu = PTHREAD_MUTEX_INITIALIZER,
    .work_cv = PTHREAD_COND_INITIALIZER,
    .done_cv = PTHREAD_COND_INITIALIZER,
    .busy = ATOMIC_FLAG_INIT,
};

static _Thread_local bool in_chunk; /* true on workers and on a caller running its chunks */

static void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ volatile("yield");
#endif
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- thread count ---- */

static pthread_once_t default_once = PTHREAD_ONCE_INIT;
static int default_count;

static void default_threads_init(void) {
  const char *env = getenv("SMELT_THREADS");
  if (env && *env) {
    char *end;
    errno = 0;
    long v = strtol(env, &end, 10);
    if (!errno && !*end && v >= 1 && v <= RT_POOL_MAX_THREADS) {
      default_count = (int)v;
      return;
    }
    fprintf(stderr, "smelt: warning: ignoring SMELT_THREADS=%s (expected an integer from 1 to %d)\n",
            env, RT_POOL_MAX_THREADS);
  }
  /* the CPUs we may run on (a container or taskset may allow fewer than are online) */
  long count = 0;
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) count = CPU_COUNT(&set);
  if (count < 1) count = sysconf(_SC_NPROCESSORS_ONLN);
  if (count < 1) count = 1;
  default_count = count > RT_POOL_MAX_THREADS ? RT_POOL_MAX_THREADS : (int)count;
}

int rt_pool_threads(void) {
  int t = atomic_load(&pool.threads);
  if (t > 0) return t;
  pthread_once(&default_once, default_threads_init);
  return default_count;
}

/* ---- workers ---- */

/* Chunk i of `chunks` near-equal contiguous parts of [0, n): the first n % chunks get one more. */
static void chunk_bounds(int64_t n, int64_t chunks, int64_t i, int64_t *begin, int64_t *end) {
  int64_t q = n / chunks, r = n % chunks;
  *begin = i * q + (i < r ? i : r);
  *end = *begin + q + (i < r ? 1 : 0);
}

/* Claims and runs chunks of loop `gen` until none are left or a newer loop has started. */
static void run_chunks(uint32_t gen) {
  uint64_t t = atomic_load(&pool.ticket);
  for (;;) {
    if (TICKET_GEN(t) != gen || TICKET_NEXT(t) >= TICKET_CHUNKS(t)) return;
    if (!atomic_compare_exchange_weak(&pool.ticket, &t, t + 1)) continue; /* t reloaded */
    int64_t i = TICKET_NEXT(t), begin, end;
    chunk_bounds(pool.n, TICKET_CHUNKS(t), i, &begin, &end);
    pool.fn(pool.ctx, begin, end, (int32_t)i);
    if (atomic_fetch_sub(&pool.remaining, 1) == 1) {
      pthread_mutex_lock(&pool.mu);
      pthread_cond_signal(&pool.done_cv);
      pthread_mutex_unlock(&pool.mu);
    }
    t = atomic_load(&pool.ticket);
  }
}

static bool new_loop(uint32_t seen) {
  return TICKET_GEN(atomic_load(&pool.ticket)) != seen || atomic_load(&pool.stop);
}

static void *worker_main(void *arg) {
  rt_fpenv_flush_denormals();
  in_chunk = true; /* a parallel loop inside a chunk runs inline */
  /* the generation before the loop that started the pool: reading the ticket here instead would
   * skip that loop whenever the thread starts after the caller has published it */
  uint32_t seen = (uint32_t)(uintptr_t)arg;
  for (;;) {
    int64_t deadline = now_ns() + SPIN_NS;
    for (int spins = 0; !new_loop(seen); spins++) {
      cpu_relax();
      if ((spins & 31) == 31 && now_ns() > deadline) break;
    }
    if (!new_loop(seen)) {
      pthread_mutex_lock(&pool.mu);
      atomic_fetch_add(&pool.sleepers, 1);
      while (!new_loop(seen)) pthread_cond_wait(&pool.work_cv, &pool.mu);
      atomic_fetch_sub(&pool.sleepers, 1);
      pthread_mutex_unlock(&pool.mu);
    }
    if (atomic_load(&pool.stop)) return NULL;
    seen = TICKET_GEN(atomic_load(&pool.ticket));
    run_chunks(seen);
  }
}

/* Starts threads-1 workers; with fewer (thread creation failed) the loops just use fewer. */
static void pool_start(int threads) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, (size_t)8 << 20); /* kernels may keep large tiles on the stack */
  void *gen = (void *)(uintptr_t)TICKET_GEN(atomic_load(&pool.ticket));
  for (int i = 0; i < threads - 1; i++) {
    if (pthread_create(&pool.workers[i], &attr, worker_main, gen) != 0) break;
    pool.n_workers++;
  }
  pthread_attr_destroy(&attr);
  if (pool.n_workers < threads - 1)
    fprintf(stderr, "smelt: warning: started %d of %d pool threads\n", pool.n_workers, threads - 1);
}

static void pool_stop(void) {
  if (!pool.n_workers) return;
  pthread_mutex_lock(&pool.mu);
  atomic_store(&pool.stop, true);
  pthread_cond_broadcast(&pool.work_cv);
  pthread_mutex_unlock(&pool.mu);
  for (int i = 0; i < pool.n_workers; i++) pthread_join(pool.workers[i], NULL);
  pool.n_workers = 0;
  atomic_store(&pool.stop, false);
}

/* Waits until no loop runs, then owns the pool (for reconfiguration). */
static void pool_acquire(void) {
  RT_ASSERT(!in_chunk, "the thread pool cannot be reconfigured from inside a parallel loop");
  while (atomic_flag_test_and_set(&pool.busy)) sched_yield();
}

void rt_pool_set_threads(int n) {
  if (n > RT_POOL_MAX_THREADS) n = RT_POOL_MAX_THREADS;
  pool_acquire();
  int old = rt_pool_threads();
  atomic_store(&pool.threads, n > 0 ? n : 0);
  if (rt_pool_threads() != old) pool_stop();
  atomic_flag_clear(&pool.busy);
}

int rt_pool_start_workers(void) {
  int threads = rt_pool_threads();
  if (threads <= 1) return 1;
  pool_acquire();
  if (!pool.n_workers) pool_start(threads);
  int running = pool.n_workers + 1;
  atomic_flag_clear(&pool.busy);
  return running;
}

void rt_pool_shutdown(void) {
  pool_acquire();
  pool_stop();
  atomic_flag_clear(&pool.busy);
}

/* ---- the parallel loop ---- */

static void parallel_for(RtParallelFn fn, void *ctx, int64_t n, int64_t grain);

void smelt_rt_parallel_for(RtParallelFn fn, void *ctx, int64_t n, int64_t grain) {
  if (!rt_profile_on || in_chunk) {
    parallel_for(fn, ctx, n, grain);
    return;
  }
  int64_t t0 = now_ns();
  parallel_for(fn, ctx, n, grain);
  rt_profile_record((const void *)fn, now_ns() - t0);
}

static void parallel_for(RtParallelFn fn, void *ctx, int64_t n, int64_t grain) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  int threads = rt_pool_threads();
  if (n <= grain || threads == 1 || in_chunk || atomic_flag_test_and_set(&pool.busy)) {
    fn(ctx, 0, n, 0);
    return;
  }
  if (!pool.n_workers) pool_start(threads);
  int64_t chunks = n / grain; /* every chunk gets at least `grain` indices */
  if (chunks > pool.n_workers + 1) chunks = pool.n_workers + 1;
  if (chunks <= 1) {
    atomic_flag_clear(&pool.busy);
    fn(ctx, 0, n, 0);
    return;
  }

  pool.fn = fn;
  pool.ctx = ctx;
  pool.n = n;
  atomic_store(&pool.remaining, chunks);
  uint32_t gen = TICKET_GEN(atomic_load(&pool.ticket)) + 1; /* wraps after 2^32 loops: fine,
                                                                * equality is all we compare */
  atomic_store(&pool.ticket, TICKET(gen, chunks));
  /* seq_cst store then load, against the worker's sleepers++ then ticket load: either the
   * worker sees the new ticket or we see it asleep and wake it (under the mutex) */
  if (atomic_load(&pool.sleepers) > 0) {
    pthread_mutex_lock(&pool.mu);
    pthread_cond_broadcast(&pool.work_cv);
    pthread_mutex_unlock(&pool.mu);
  }

  in_chunk = true;
  run_chunks(gen);
  in_chunk = false;

  int64_t deadline = now_ns() + SPIN_NS;
  for (int spins = 0; atomic_load(&pool.remaining) != 0; spins++) {
    cpu_relax();
    if ((spins & 31) == 31 && now_ns() > deadline) break;
  }
  if (atomic_load(&pool.remaining) != 0) {
    pthread_mutex_lock(&pool.mu);
    while (atomic_load(&pool.remaining) != 0) pthread_cond_wait(&pool.done_cv, &pool.mu);
    pthread_mutex_unlock(&pool.mu);
  }
  atomic_flag_clear(&pool.busy);
}

void rt_blas_single_threaded(void) { openblas_set_num_threads(1); }

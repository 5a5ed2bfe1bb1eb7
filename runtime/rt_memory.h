/* Memory a run needs against what the process may still use, checked before anything runs, so
 * that running out of memory is a clear error at start-up instead of an abort (or OpenBLAS
 * spinning forever) midway. The limits read: the address-space and data-segment rlimits
 * (`ulimit -v`, `ulimit -d`), the cgroup v2 memory.max of this process's cgroup and its parents,
 * and MemAvailable. Also reserves OpenBLAS's GEMM buffers while that can still be reported. */
#ifndef SMELT_RT_MEMORY_H
#define SMELT_RT_MEMORY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "runtime/rt_model.h"
#include "support/rt_diag.h"

/* One part of a run's memory, for the estimate and the messages. */
typedef struct RtMemItem {
  const char *what; /* "training step", "data" */
  int64_t bytes;
} RtMemItem;

/* What a run needs. `items` are still to be allocated; `loaded` (the data) is in memory
 * already, so it is reported but not compared with what is left. */
typedef struct RtMemNeed {
  const char *task; /* "training mini", "evaluating best.safetensors" */
  RtMemItem items[8];
  int n_items;
  int64_t loaded;
  bool loader_thread; /* a background loader thread will start (its stack) */
  bool blas;          /* GEMMs call OpenBLAS: its per-thread buffers count as address space */
} RtMemNeed;

void rt_mem_need_add(RtMemNeed *n, const char *what, int64_t bytes);

/* The memory a compiled model's run needs beyond its data: the io and scratch regions of the
 * evaluation step and the loader's batches; for training (`train`) also the state, the training
 * step's regions and a checkpoint file's bytes (built in memory when written, read whole when
 * resumed). Evaluation has its state from the checkpoint already. */
void rt_mem_need_model(RtMemNeed *n, const RtModel *m, bool train);

/* Headroom left under each limit, in bytes; -1 where there is no such limit. */
typedef struct RtMemAvail {
  int64_t address_space; /* RLIMIT_AS minus the address space in use (VmSize) */
  int64_t data;          /* RLIMIT_DATA minus the data segment in use (VmData) */
  int64_t cgroup;        /* smallest memory.max - memory.current up the cgroup tree */
  int64_t available;     /* MemAvailable of /proc/meminfo */
} RtMemAvail;

RtMemAvail rt_mem_available(void);

/* Bytes of address space OpenBLAS maps for one thread's GEMM buffer (BUFFER_SIZE of Debian's
 * DYNAMIC_ARCH x86-64 build, plus the page its malloc fallback adds); tests/unit/test_rt_memory.c
 * checks it against the library in use. */
#define RT_MEM_BLAS_BUFFER_BYTES ((int64_t)(128 << 20) + 4096)

/* Prepares a run that needs *need: starts the thread pool (its stacks count), compares the
 * need plus OpenBLAS's buffers and the loader's stack with every limit, prints the estimate on
 * `log` (when not NULL), and has OpenBLAS map one GEMM buffer per pool thread now. False with
 * an error naming the limit, the need and the headroom when it does not fit: OpenBLAS retries a
 * failed buffer mapping forever, so this is the last point where that can be reported. After a
 * refusal, a process that exits with a nonzero status skips library destructors (see
 * rt_memory.c: an OpenBLAS thread may be stuck). */
bool rt_mem_prepare(const RtMemNeed *need, FILE *log, RtDiags *d);

/* "1.5 GiB", "340.0 MiB", "12.0 KiB", "100 B". */
void rt_mem_format(int64_t bytes, char *buf, size_t size);

#endif

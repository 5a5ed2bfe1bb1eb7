/* The memory check before a run (rt_memory.h). Limits come from getrlimit, /proc/self/status,
 * /proc/self/cgroup with the cgroup file system (v2 memory.max/current, or v1
 * memory.limit_in_bytes/usage_in_bytes) and /proc/meminfo. The check ends with a trial mapping
 * of the whole address-space need, the ground truth under any policy (strict overcommit
 * included), and then OpenBLAS's buffers are mapped for real. */
#include "runtime/rt_memory.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "runtime/rt_pool.h"
#include "support/rt_assert.h"

/* libopenblas's buffer pool (driver/others/memory.c), exported by its shared library. A buffer
 * taken and given back stays mapped for the next GEMM, so taking one per thread at once leaves
 * a mapped buffer for every thread that may run a GEMM concurrently. */
void *blas_memory_alloc(int procpos);
void blas_memory_free(void *buffer);

enum { LOADER_STACK_BYTES = 8 << 20 }; /* glibc's default thread stack under `ulimit -s 8192` */

static int blas_buffers_mapped; /* buffers this process has had OpenBLAS map (they stay) */

void rt_mem_format(int64_t bytes, char *buf, size_t size) {
  static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) {
    snprintf(buf, size, "%" PRId64 " B", bytes);
    return;
  }
  double v = (double)bytes / 1024;
  int u = 0;
  while (v >= 1024 && u < 3) v /= 1024, u++;
  snprintf(buf, size, "%.1f %s", v, units[u]);
}

void rt_mem_need_add(RtMemNeed *n, const char *what, int64_t bytes) {
  RT_ASSERT(n->n_items < (int)(sizeof n->items / sizeof *n->items), "more than %d memory items", n->n_items);
  n->items[n->n_items++] = (RtMemItem){what, bytes};
}

void rt_mem_need_model(RtMemNeed *n, const RtModel *m, bool train) {
  n->blas = m->blas_gemm;
  if (train) rt_mem_need_add(n, "weights and state", m->state_bytes);
  if (train) {
    /* the two steps run one at a time in one scratch region (rt_model_scratch_bytes) */
    rt_mem_need_add(n, "training and evaluation steps", m->train.io_bytes + m->eval.io_bytes + m->update.io_bytes + rt_model_scratch_bytes(m));
  } else {
    rt_mem_need_add(n, "evaluation step", m->eval.io_bytes + m->eval.scratch_bytes);
  }
  /* the loader's three batch slots (images, labels, lengths), for training and for validation */
  int64_t batch = (int64_t)m->batch * ((int64_t)m->channels * m->height * m->width + m->max_len + 2) * 4;
  rt_mem_need_add(n, "batches", (train ? 6 : 3) * batch);
  if (train) rt_mem_need_add(n, "checkpoint file", m->state_bytes);
}

/* ---- limits ---- */

/* The value of `key` (in kB) in a /proc file of "Key:   123 kB" lines, in bytes; -1 if absent. */
static int64_t proc_kb(const char *path, const char *key) {
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  char line[256];
  int64_t v = -1;
  size_t k = strlen(key);
  while (v < 0 && fgets(line, sizeof line, f))
    if (!strncmp(line, key, k) && line[k] == ':') v = strtoll(line + k + 1, NULL, 10) * 1024;
  fclose(f);
  return v;
}

/* A number from a one-line cgroup file; -1 when absent or "max" (no limit). */
static int64_t read_number(const char *dir, const char *file) {
  char path[4400], text[64] = "";
  snprintf(path, sizeof path, "%s/%s", dir, file);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  bool got = fgets(text, sizeof text, f) != NULL;
  fclose(f);
  if (!got || !strncmp(text, "max", 3)) return -1;
  char *end;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  return errno || end == text || v < 0 ? -1 : (int64_t)v;
}

/* Smallest limit - usage from the cgroup directory `dir` up to `root`; -1 when none is set. A
 * v1 "no limit" is the largest page-aligned value, above any real memory. */
static int64_t cgroup_headroom(const char *root, const char *rel, const char *max_file, const char *cur_file) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s%s", root, rel);
  int64_t best = -1;
  for (;;) {
    int64_t max = read_number(dir, max_file), cur = read_number(dir, cur_file);
    if (max >= 0 && max < ((int64_t)1 << 60) && cur >= 0) {
      int64_t room = max > cur ? max - cur : 0;
      if (best < 0 || room < best) best = room;
    }
    char *slash = strrchr(dir, '/');
    if (!slash || (size_t)(slash - dir) < strlen(root)) break;
    *slash = '\0';
  }
  return best;
}

/* The cgroup headroom of this process: the v2 hierarchy's memory.max, else v1's memory
 * controller. */
static int64_t cgroup_available(void) {
  FILE *f = fopen("/proc/self/cgroup", "r");
  if (!f) return -1;
  char line[4096];
  int64_t best = -1;
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2) continue;
    *c2 = '\0';
    const char *controllers = c1 + 1, *rel = c2 + 1;
    int64_t room = -1;
    if (!strcmp(line, "0") && !controllers[0])
      room = cgroup_headroom("/sys/fs/cgroup", rel, "memory.max", "memory.current");
    else if (strstr(controllers, "memory"))
      room = cgroup_headroom("/sys/fs/cgroup/memory", rel, "memory.limit_in_bytes", "memory.usage_in_bytes");
    if (room >= 0 && (best < 0 || room < best)) best = room;
  }
  fclose(f);
  return best;
}

static int64_t rlimit_headroom(int resource, const char *in_use_key) {
  struct rlimit rl;
  if (getrlimit(resource, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return -1;
  int64_t used = proc_kb("/proc/self/status", in_use_key);
  int64_t limit = rl.rlim_cur > (rlim_t)INT64_MAX ? INT64_MAX : (int64_t)rl.rlim_cur;
  return used < 0 ? limit : limit > used ? limit - used : 0;
}

RtMemAvail rt_mem_available(void) {
  return (RtMemAvail){.address_space = rlimit_headroom(RLIMIT_AS, "VmSize"),
                      .data = rlimit_headroom(RLIMIT_DATA, "VmData"),
                      .cgroup = cgroup_available(),
                      .available = proc_kb("/proc/meminfo", "MemAvailable")};
}

/* ---- the check ---- */

/* "state 1.2 MiB, training step 30.0 MiB, ..." */
static void describe_items(const RtMemNeed *n, char *buf, size_t size) {
  size_t used = 0;
  buf[0] = '\0';
  for (int i = 0; i < n->n_items && used < size; i++) {
    char v[32];
    rt_mem_format(n->items[i].bytes, v, sizeof v);
    used += (size_t)snprintf(buf + used, size - used, "%s%s %s", i ? ", " : "", n->items[i].what, v);
  }
}

typedef struct Limit {
  const char *brief, *name; /* for the estimate line; for the error */
  int64_t room;             /* headroom, -1: none */
  int64_t need;             /* what the run adds under it */
} Limit;

/* After a refusal, an exit with an error status skips the libraries' destructors: OpenBLAS's
 * joins its threads, and one of them may be retrying a buffer mapping that cannot succeed
 * (its start-up buffer, when the limit was already too low at load time), so the process would
 * never end. Output is flushed first; every file was already written atomically. */
static void exit_without_destructors(int status, void *arg) {
  (void)arg;
  if (status == 0) return;
  fflush(stdout);
  fflush(stderr);
  _exit(status);
}

static void refused(void) {
  static bool registered;
  if (!registered) registered = on_exit(exit_without_destructors, NULL) == 0;
}

bool rt_mem_prepare(const RtMemNeed *need, FILE *log, RtDiags *d) {
  /* pool threads first: their stacks are then in use, and their count is the GEMM callers */
  int callers = rt_pool_start_workers();
  int new_buffers = need->blas && callers > blas_buffers_mapped ? callers - blas_buffers_mapped : 0;
  int64_t resident = 0;
  for (int i = 0; i < need->n_items; i++) resident += need->items[i].bytes;
  resident += resident / 20 + (16 << 20); /* allocator slack and small allocations */
  int64_t blas = new_buffers * RT_MEM_BLAS_BUFFER_BYTES;
  int64_t mapped = resident + blas + (need->loader_thread ? LOADER_STACK_BYTES : 0);
  RtMemAvail a = rt_mem_available();
  /* OpenBLAS's buffers are mapped whole but touched only as far as a GEMM's panels reach, and a
   * stack only as deep as it grows: they count against address-space limits, not memory */
  Limit limits[] = {{"address space (ulimit -v)", "the address-space limit (ulimit -v)", a.address_space, mapped},
                    {"data segment (ulimit -d)", "the data-segment limit (ulimit -d)", a.data, mapped},
                    {"cgroup (memory.max)", "the cgroup's memory limit", a.cgroup, resident},
                    {"available (MemAvailable)", "the memory available (MemAvailable)", a.available, resident}};
  char items[600], total[32], extra[200] = "", blas_s[32], loaded[32];
  describe_items(need, items, sizeof items);
  rt_mem_format(resident, total, sizeof total);
  rt_mem_format(RT_MEM_BLAS_BUFFER_BYTES, blas_s, sizeof blas_s);
  /* address space beyond the memory: OpenBLAS's buffers (when it runs the GEMMs), a stack */
  int used = need->blas ? snprintf(extra, sizeof extra, "OpenBLAS buffers %d x %s", new_buffers, blas_s) : 0;
  if (need->loader_thread)
    snprintf(extra + used, sizeof extra - (size_t)used, "%sloader thread stack 8.0 MiB", used ? ", " : "");
  rt_mem_format(need->loaded, loaded, sizeof loaded);
  if (log) {
    fprintf(log, "memory for %s: about %s (%s, with slack)%s%s", need->task, total, items,
            extra[0] ? " + address space for " : "", extra);
    if (need->loaded) fprintf(log, "; data %s loaded", loaded);
    const char *sep = "; headroom:";
    for (size_t i = 0; i < sizeof limits / sizeof *limits; i++) {
      if (limits[i].room < 0) continue;
      char room[32];
      rt_mem_format(limits[i].room, room, sizeof room);
      fprintf(log, "%s %s %s", sep, room, limits[i].brief);
      sep = ",";
    }
    fputc('\n', log);
    fflush(log);
  }
  for (size_t i = 0; i < sizeof limits / sizeof *limits; i++) {
    if (limits[i].room < 0 || limits[i].need <= limits[i].room) continue;
    char need_s[32], room[32];
    rt_mem_format(limits[i].need, need_s, sizeof need_s);
    rt_mem_format(limits[i].room, room, sizeof room);
    rt_diag_error(d, "", 0, 0,
                  "not enough memory for %s: it needs %s (%s%s%s) but %s leaves %s; raise the limit, or use a "
                  "smaller batch_size or fewer threads (SMELT_THREADS)",
                  need->task, need_s, items, limits[i].need > resident ? ", " : "",
                  limits[i].need > resident ? extra : "", limits[i].name, room);
    refused();
    return false;
  }
  /* a trial of the whole mapping: the limits above may not be all there is (vm.overcommit) */
  void *trial = mmap(NULL, (size_t)mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (trial == MAP_FAILED) {
    char s[32];
    rt_mem_format(mapped, s, sizeof s);
    rt_diag_error(d, "", 0, 0, "not enough memory for %s: cannot map %s (%s, %s): %s", need->task, s, items, extra,
                  strerror(errno));
    refused();
    return false;
  }
  munmap(trial, (size_t)mapped);
  if (!need->blas) return true; /* smelt's own GEMMs: OpenBLAS maps nothing more */
  /* now OpenBLAS maps its buffers while they fit: taken all at once, each is a new one */
  void *held[RT_POOL_MAX_THREADS];
  for (int i = 0; i < callers; i++) held[i] = blas_memory_alloc(0);
  for (int i = 0; i < callers; i++) blas_memory_free(held[i]);
  if (callers > blas_buffers_mapped) blas_buffers_mapped = callers;
  return true;
}

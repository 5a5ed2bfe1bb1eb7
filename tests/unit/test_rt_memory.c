/* Running out of memory (runtime/rt_memory.h, rt_assert.h): an allocation that fails (ours, or
 * C++'s operator new as LLVM uses it) ends the process with status 1 and a message naming what
 * and how much, never an abort; the memory check
 * reads an address-space limit, refuses a need above it with a message naming the limit, and
 * passes one below it; OpenBLAS's buffer is no larger than the size the check assumes; the batch
 * loader works without its thread when the thread cannot start. Each case that sets a limit runs
 * in a child process. */
#include <dlfcn.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "runtime/rt_loader.h"
#include "runtime/rt_memory.h"
#include "runtime/rt_model.h"
#include "support/rt_assert.h"

/* AddressSanitizer replaces malloc and operator new (a failure is its own report and abort
 * unless allocator_may_return_null) and cannot run under an address-space limit (its shadow
 * takes terabytes): the cases that exhaust memory are skipped in sanitized builds. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

void *blas_memory_alloc(int procpos);
void blas_memory_free(void *buffer);

typedef void (*ChildFn)(void);

/* Runs fn in a child with stderr captured into out; returns the child's wait status. */
static int run_child(ChildFn fn, char *out, size_t size) {
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    dup2(fds[1], STDERR_FILENO);
    close(fds[0]);
    fn();
    _exit(0);
  }
  close(fds[1]);
  size_t used = 0;
  for (ssize_t n; used + 1 < size && (n = read(fds[0], out + used, size - 1 - used)) > 0;) used += (size_t)n;
  out[used] = '\0';
  close(fds[0]);
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  return status;
}

static void expect_exit_1(ChildFn fn, const char *message) {
  char out[2000];
  int status = run_child(fn, out, sizeof out);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 1)
    fail_msg("expected exit status 1, got wait status %#x; stderr: %s", status, out);
  if (!strstr(out, message)) fail_msg("expected '%s' in: %s", message, out);
}

static void huge_malloc(void) { rt_xmalloc((size_t)1 << 62); }
static void huge_calloc(void) { rt_xcalloc((size_t)1 << 40, (size_t)1 << 22); }
static void huge_region(void) { rt_region_alloc_named((int64_t)1 << 62, "the training step's scratch memory"); }

/* C++'s operator new(size_t), as LLVM calls it */
static void huge_cxx_new(void) {
  if (!dlopen("libstdc++.so.6", RTLD_NOW | RTLD_GLOBAL)) _exit(8); /* smelt gets it with LLVM */
  rt_catch_cxx_out_of_memory("memory for LLVM");
  void *(*op_new)(size_t) = (void *(*)(size_t))dlsym(RTLD_DEFAULT, "_Znwm");
  if (!op_new) _exit(7);
  op_new((size_t)1 << 62);
}

static void test_allocation_failure_exits_1(void **state) {
  (void)state;
  if (SANITIZED) skip();
  expect_exit_1(huge_malloc, "error: out of memory: cannot allocate a buffer (4611686018427387904 bytes");
  expect_exit_1(huge_calloc, "error: out of memory: cannot allocate an array (4611686018427387904 bytes");
  expect_exit_1(huge_region, "error: out of memory: cannot allocate the training step's scratch memory (");
  expect_exit_1(huge_cxx_new, "error: out of memory: cannot allocate memory for LLVM; free some memory");
}

/* the process's address space in use, from /proc/self/status */
static int64_t vm_size(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  int64_t kb = -1;
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, "VmSize:", 7)) kb = strtoll(line + 7, NULL, 10);
  if (f) fclose(f);
  return kb * 1024;
}

static void limit_address_space(int64_t headroom) {
  struct rlimit rl = {.rlim_cur = (rlim_t)(vm_size() + headroom), .rlim_max = RLIM_INFINITY};
  setrlimit(RLIMIT_AS, &rl);
}

static void refused_under_limit(void) {
  limit_address_space((int64_t)64 << 20);
  RtMemAvail a = rt_mem_available();
  if (a.address_space < 0 || a.address_space > ((int64_t)64 << 20)) _exit(3); /* the limit was not read */
  RtMemNeed need = {.task = "training big", .blas = true};
  rt_mem_need_add(&need, "training step", (int64_t)100 << 20);
  RtDiags d = {0};
  bool ok = rt_mem_prepare(&need, NULL, &d);
  rt_diags_print(&d, stderr);
  _exit(ok ? 0 : 1);
}

/* A 1 MiB training step checked with the estimate on stderr; exits 0 when it fits. */
static void prepare_small(RtMemNeed need) {
  rt_mem_need_add(&need, "training step", (int64_t)1 << 20);
  RtDiags d = {0};
  bool ok = rt_mem_prepare(&need, stderr, &d);
  rt_diags_print(&d, stderr);
  _exit(ok ? 0 : 2);
}

static void passes_without_limit(void) { prepare_small((RtMemNeed){.task = "training small", .blas = true}); }

/* smelt's own GEMMs (the default) map no OpenBLAS buffers: the estimate names none */
static void passes_without_blas(void) { prepare_small((RtMemNeed){.task = "training own", .loader_thread = true}); }

static void test_memory_check(void **state) {
  (void)state;
  if (SANITIZED) skip();
  expect_exit_1(refused_under_limit, "error: not enough memory for training big: it needs ");
  char out[2000];
  run_child(refused_under_limit, out, sizeof out);
  assert_non_null(strstr(out, "(training step 100.0 MiB, OpenBLAS buffers "));
  assert_non_null(strstr(out, "but the address-space limit (ulimit -v) leaves "));
  int status = run_child(passes_without_limit, out, sizeof out);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) fail_msg("wait status %#x: %s", status, out);
  assert_non_null(strstr(out, "memory for training small: about "));
  assert_non_null(strstr(out, " MiB (training step 1.0 MiB, with slack) + address space for OpenBLAS buffers "));
  status = run_child(passes_without_blas, out, sizeof out);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) fail_msg("wait status %#x: %s", status, out);
  assert_non_null(strstr(out, " MiB (training step 1.0 MiB, with slack) + address space for loader thread stack 8.0 MiB"));
  assert_null(strstr(out, "OpenBLAS"));
}

/* The check counts RT_MEM_BLAS_BUFFER_BYTES of address space per thread: OpenBLAS's buffer must
 * not be larger (a fresh buffer is taken while the first is held). */
static void test_blas_buffer_size(void **state) {
  (void)state;
  void *first = blas_memory_alloc(0);
  int64_t before = vm_size();
  void *second = blas_memory_alloc(0);
  int64_t grew = vm_size() - before;
  blas_memory_free(second);
  blas_memory_free(first);
  if (grew > RT_MEM_BLAS_BUFFER_BYTES || grew < RT_MEM_BLAS_BUFFER_BYTES / 2)
    fail_msg("an OpenBLAS buffer took %lld bytes of address space; rt_memory.h assumes %lld", (long long)grew,
             (long long)RT_MEM_BLAS_BUFFER_BYTES);
}

static int block_fds[2];
static void *blocked(void *arg) {
  char c;
  (void)arg;
  return read(block_fds[0], &c, 1) < 0 ? NULL : NULL;
}

/* Too little address space for a thread stack: the loader warns and prepares batches itself. */
static void loader_without_thread(void) {
  /* the stacks of the parent's other threads are cached in a forked child and would serve the
   * loader's thread: occupy them first */
  if (pipe(block_fds) != 0) _exit(5);
  for (int i = 0; i < 16; i++) {
    pthread_t t;
    if (pthread_create(&t, NULL, blocked, NULL) != 0) _exit(6);
  }
  static uint8_t images[4 * 2 * 3];
  static int32_t ids[4] = {0, 1, 2, 3}, len[4] = {1, 1, 1, 1};
  static int64_t start[4] = {0, 1, 2, 3};
  RtDataset ds = {.count = 4, .height = 2, .width = 3, .images = images, .ids = ids, .label_start = start,
                  .label_len = len, .max_label_len = 1};
  limit_address_space((int64_t)1 << 20); /* below the 8 MiB a thread stack maps */
  RtLoaderOptions o = {.batch_size = 2, .label_width = 1, .background = true};
  RtLoader *l = rt_loader_new(&ds, &o);
  rt_loader_start_epoch(l, 0);
  int batches = 0;
  while (rt_loader_next(l)) batches++;
  rt_loader_free(l);
  _exit(batches == 2 ? 0 : 4);
}

static void test_loader_without_thread(void **state) {
  (void)state;
  if (SANITIZED) skip();
  char out[2000];
  int status = run_child(loader_without_thread, out, sizeof out);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) fail_msg("wait status %#x: %s", status, out);
  assert_non_null(strstr(out, "warning: cannot start the batch loader thread"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_allocation_failure_exits_1),
      cmocka_unit_test(test_memory_check),
      cmocka_unit_test(test_blas_buffer_size),
      cmocka_unit_test(test_loader_without_thread),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

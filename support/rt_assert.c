/* Implementation of RT_ASSERT's failure path and the allocation helpers that never return NULL. */
#include "support/rt_assert.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void rt_assert_fail(const char *file, int line, const char *cond, const char *fmt, ...) {
  fprintf(stderr, "%s:%d: internal error: assertion '%s' failed: ", file, line, cond);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  abort();
}

void rt_out_of_memory(const char *what, size_t bytes) {
  char size[64] = "";
  if (bytes) snprintf(size, sizeof size, " (%zu bytes, %.1f MiB)", bytes, (double)bytes / (1 << 20));
  fflush(stdout);
  fprintf(stderr,
          "error: out of memory: cannot allocate %s%s; free some memory or raise the limit (ulimit -v, "
          "the container's memory limit)\n",
          what, size);
  /* _exit: other threads may still be running kernels; exit() would run destructors under them */
  _exit(1);
}

static const char *cxx_what;

static void cxx_out_of_memory(void) { rt_out_of_memory(cxx_what, 0); }

/* std::set_new_handler, looked up by its Itanium-ABI name in the loaded C++ runtime: smelt is C,
 * and LLVM-C offers no hook for allocation failures. */
void rt_catch_cxx_out_of_memory(const char *what) {
  typedef void (*NewHandler)(void);
  NewHandler (*set_handler)(NewHandler) =
      (NewHandler(*)(NewHandler))dlsym(RTLD_DEFAULT, "_ZSt15set_new_handlerPFvvE");
  cxx_what = what;
  if (set_handler) set_handler(cxx_out_of_memory);
}

void *rt_xmalloc(size_t size) {
  void *p = malloc(size ? size : 1);
  if (!p) rt_out_of_memory("a buffer", size);
  return p;
}

void *rt_xmalloc_named(size_t size, const char *what) {
  void *p = malloc(size ? size : 1);
  if (!p) rt_out_of_memory(what, size);
  return p;
}

void *rt_xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p) rt_out_of_memory("an array", n && size > SIZE_MAX / n ? SIZE_MAX : n * size);
  return p;
}

void *rt_xrealloc(void *p, size_t size) {
  void *q = realloc(p, size ? size : 1);
  if (!q) rt_out_of_memory("a growing buffer", size);
  return q;
}

char *rt_xstrdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = rt_xmalloc(n);
  memcpy(d, s, n);
  return d;
}

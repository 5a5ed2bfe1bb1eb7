/* Implementation of RT_ASSERT's failure path and the allocation helpers that never return NULL. */
#include "runtime/rt_assert.h"

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
  double mib = (double)bytes / (1 << 20);
  fflush(stdout);
  fprintf(stderr,
          "error: out of memory: cannot allocate %s (%zu bytes, %.1f MiB); free some memory or raise the "
          "limit (ulimit -v, the container's memory limit)\n",
          what, bytes, mib);
  /* _exit: other threads may still be running kernels; exit() would run destructors under them */
  _exit(1);
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

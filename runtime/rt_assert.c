/* Implementation of RT_ASSERT's failure path and the allocation helpers that never return NULL. */
#include "runtime/rt_assert.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rt_assert_fail(const char *file, int line, const char *cond, const char *fmt, ...) {
  fprintf(stderr, "%s:%d: internal error: assertion '%s' failed: ", file, line, cond);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  abort();
}

void *rt_xmalloc(size_t size) {
  void *p = malloc(size ? size : 1);
  RT_ASSERT(p, "out of memory allocating %zu bytes", size);
  return p;
}

void *rt_xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  RT_ASSERT(p, "out of memory allocating %zu x %zu bytes", n, size);
  return p;
}

void *rt_xrealloc(void *p, size_t size) {
  void *q = realloc(p, size ? size : 1);
  RT_ASSERT(q, "out of memory reallocating to %zu bytes", size);
  return q;
}

char *rt_xstrdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = rt_xmalloc(n);
  memcpy(d, s, n);
  return d;
}

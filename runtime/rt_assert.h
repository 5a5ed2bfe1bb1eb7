/* Always-on invariant checks (ggml's GGML_ASSERT) and a debug-only tier (Lua's lua_assert).
 * A failed RT_ASSERT is a bug in smelt, never a user mistake: user mistakes become RtDiags.
 * It prints file:line, the condition and a message, then aborts. */
#ifndef SMELT_RT_ASSERT_H
#define SMELT_RT_ASSERT_H

#include <stddef.h>

_Noreturn void rt_assert_fail(const char *file, int line, const char *cond, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define RT_ASSERT(cond, ...) \
  ((cond) ? (void)0 : rt_assert_fail(__FILE__, __LINE__, #cond, __VA_ARGS__))

#ifdef NDEBUG
#define RT_DEBUG_ASSERT(cond, ...) ((void)0)
#else
#define RT_DEBUG_ASSERT(cond, ...) RT_ASSERT(cond, __VA_ARGS__)
#endif

/* malloc/calloc/realloc that abort with a message on exhaustion; never return NULL. */
void *rt_xmalloc(size_t size);
void *rt_xcalloc(size_t n, size_t size);
void *rt_xrealloc(void *p, size_t size);
char *rt_xstrdup(const char *s);

#endif

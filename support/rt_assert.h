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

/* Running out of memory is the user's condition (a limit, a model too large for the machine),
 * not a bug: prints `error: out of memory: cannot allocate WHAT (SIZE)` with what to do (bytes 0:
 * the size is not known), and exits with status 1. Files written so far stay consistent (each is replaced atomically), as
 * after a kill. */
_Noreturn void rt_out_of_memory(const char *what, size_t bytes);

/* Makes a failing C++ operator new (in a C++ library the process loaded, such as LLVM) end the
 * process through rt_out_of_memory(what, 0) instead of std::terminate and an abort. Nothing
 * happens when no C++ runtime is loaded. */
void rt_catch_cxx_out_of_memory(const char *what);

/* malloc/calloc/realloc that end the process through rt_out_of_memory on exhaustion; never
 * return NULL. */
void *rt_xmalloc(size_t size);
/* rt_xmalloc for a large allocation the message should name ("the images of DIR"). */
void *rt_xmalloc_named(size_t size, const char *what);
void *rt_xcalloc(size_t n, size_t size);
void *rt_xrealloc(void *p, size_t size);
char *rt_xstrdup(const char *s);

#endif

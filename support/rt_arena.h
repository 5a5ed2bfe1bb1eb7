/* Bump allocator (ggml-style arena): one per graph or compilation for nodes, names and small
 * arrays. Nothing in it is freed one by one; rt_arena_free releases every chunk at once.
 * Allocations are 16-byte aligned and zero-filled. */
#ifndef SMELT_RT_ARENA_H
#define SMELT_RT_ARENA_H

#include <stddef.h>

typedef struct RtArenaChunk RtArenaChunk;

typedef struct RtArena {
  RtArenaChunk *head; /* newest chunk first */
  size_t used_bytes;  /* total handed out, for statistics */
} RtArena;

void *rt_arena_alloc(RtArena *a, size_t size);
char *rt_arena_strdup(RtArena *a, const char *s);
char *rt_arena_strndup(RtArena *a, const char *s, size_t n);
void *rt_arena_memdup(RtArena *a, const void *p, size_t size);
void rt_arena_free(RtArena *a); /* releases everything; the arena can be reused afterwards */

#endif

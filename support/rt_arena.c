/* Chunked bump allocator behind RtArena. Large requests get a chunk of their own. */
#include "support/rt_arena.h"

#include <stdlib.h>
#include <string.h>

#include "support/rt_assert.h"

enum { ARENA_CHUNK_BYTES = 64 * 1024, ARENA_ALIGN = 16 };

struct RtArenaChunk {
  RtArenaChunk *next;
  size_t cap, used;
  _Alignas(16) unsigned char data[];
};

void *rt_arena_alloc(RtArena *a, size_t size) {
  size = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
  RtArenaChunk *c = a->head;
  if (!c || c->cap - c->used < size) {
    size_t cap = size > ARENA_CHUNK_BYTES ? size : ARENA_CHUNK_BYTES;
    c = rt_xmalloc(sizeof *c + cap);
    c->cap = cap;
    c->used = 0;
    c->next = a->head;
    a->head = c;
  }
  void *p = c->data + c->used;
  c->used += size;
  a->used_bytes += size;
  memset(p, 0, size);
  return p;
}

char *rt_arena_strndup(RtArena *a, const char *s, size_t n) {
  char *d = rt_arena_alloc(a, n + 1);
  memcpy(d, s, n);
  d[n] = 0;
  return d;
}

char *rt_arena_strdup(RtArena *a, const char *s) { return rt_arena_strndup(a, s, strlen(s)); }

void *rt_arena_memdup(RtArena *a, const void *p, size_t size) {
  void *d = rt_arena_alloc(a, size);
  if (size) memcpy(d, p, size);
  return d;
}

void rt_arena_free(RtArena *a) {
  RtArenaChunk *c = a->head;
  while (c) {
    RtArenaChunk *next = c->next;
    free(c);
    c = next;
  }
  a->head = NULL;
  a->used_bytes = 0;
}

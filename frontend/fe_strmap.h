/* A string -> int map (open addressing, FNV-1a) for the checks that must find an earlier equal
 * name among many: duplicate mapping keys, the config's preset cache, module groups. Keys are
 * byte strings with a length (they may hold NULs) and are not copied: they must outlive the map. */
#ifndef SMELT_FE_STRMAP_H
#define SMELT_FE_STRMAP_H

#include <stddef.h>

typedef struct FeStrMapSlot FeStrMapSlot;
typedef struct FeStrMap {
  FeStrMapSlot *slots; /* cap entries, a power of two; NULL until the first put */
  size_t cap, count;
} FeStrMap;

/* The value stored under key; when there is none, stores value under key and returns -1.
 * value must be >= 0. */
int fe_strmap_put(FeStrMap *m, const char *key, size_t len, int value);
/* The value stored under key, or -1. */
int fe_strmap_get(const FeStrMap *m, const char *key, size_t len);
/* Frees the table (not the keys) and empties the map. */
void fe_strmap_free(FeStrMap *m);

#endif

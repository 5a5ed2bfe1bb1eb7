/* The on-disk cache of compiled objects, so that a second run of the same experiment does not
 * compile again. The caller builds the key string (optimised IR text + target CPU + features +
 * smelt version); an entry is named by two independent 64-bit hashes of it (xxHash64 and
 * FNV-1a 64), written atomically, and verified on load (magic, version, length, checksum), so
 * that concurrent processes of a sweep never read half a file and a damaged entry is a miss. */
#ifndef SMELT_CG_CACHE_H
#define SMELT_CG_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "support/rt_diag.h"

/* The cache directory: support/rt_fs.h's rt_cache_dir (one rule for objects and data sets). */
bool cg_cache_dir(char *buf, size_t size);
/* The file an entry for key lives in (whether or not it exists). */
bool cg_cache_path(const char *key, size_t key_len, char *buf, size_t size);

/* On a hit, *obj (malloc'ed, caller frees) holds the *len bytes stored under key and the result
 * is true. A missing, truncated, corrupted or foreign file is a miss (false, *obj NULL). */
bool cg_cache_load(const char *key, size_t key_len, void **obj, size_t *len);
/* Stores obj under key, replacing any previous entry: temp file in the cache directory, fsync,
 * rename. Creates the directory if needed. On failure, a warning in d (the compiled object is
 * still good, only not cached) and false. */
bool cg_cache_store(const char *key, size_t key_len, const void *obj, size_t len, RtDiags *d);

/* xxHash64 (Yann Collet, XXH64 of xxhash 0.8, https://github.com/Cyan4973/xxHash, doc/
 * xxhash_spec.md), little-endian input reads; bit-exact with `xxhsum -H1` for seed 0. */
uint64_t cg_hash_xxh64(const void *data, size_t len, uint64_t seed);
/* FNV-1a 64 (Fowler, Noll, Vo): offset basis 0xcbf29ce484222325, prime 0x100000001b3. */
uint64_t cg_hash_fnv1a64(const void *data, size_t len);

#endif

/* Compiled-object cache on disk. An entry is one file, <xxh64(key)><fnv1a64(key)>.smo, holding a
 * 48-byte little-endian header and the object:
 *   0  "SMELTOBJ"   8  u32 format version   12  u32 header size   16  u64 object length
 *   24 u64 xxh64(object)   32 u64 xxh64(key)   40 u64 fnv1a64(key)
 * Writers go through a temp file and rename(2), which replaces the name atomically, so readers
 * see a whole old entry, a whole new one, or none. */
#include "codegen/cg_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support/rt_assert.h"
#include "support/rt_fs.h"
#include "support/rt_random.h"

enum { HEADER_SIZE = 48, FORMAT_VERSION = 1 };
static const char MAGIC[8] = {'S', 'M', 'E', 'L', 'T', 'O', 'B', 'J'};

/* ---- hashes ---- */

static const uint64_t P1 = 0x9E3779B185EBCA87u, P2 = 0xC2B2AE3D27D4EB4Fu, P3 = 0x165667B19E3779F9u,
                      P4 = 0x85EBCA77C2B2AE63u, P5 = 0x27D4EB2F165667C5u;

static uint64_t rotl64(uint64_t x, int r) { return x << r | x >> (64 - r); }

static uint64_t read_le(const uint8_t *p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

static void write_le(uint8_t *p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++, v >>= 8) p[i] = (uint8_t)v;
}

static uint64_t xxh_round(uint64_t acc, uint64_t input) {
  return rotl64(acc + input * P2, 31) * P1;
}

static uint64_t xxh_merge(uint64_t acc, uint64_t v) { return (acc ^ xxh_round(0, v)) * P1 + P4; }

uint64_t cg_hash_xxh64(const void *data, size_t len, uint64_t seed) {
  const uint8_t *p = data, *end = p + len;
  uint64_t h;
  if (len >= 32) { /* four lanes over 32-byte stripes */
    uint64_t v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed, v4 = seed - P1;
    for (; end - p >= 32; p += 32) {
      v1 = xxh_round(v1, read_le(p, 8));
      v2 = xxh_round(v2, read_le(p + 8, 8));
      v3 = xxh_round(v3, read_le(p + 16, 8));
      v4 = xxh_round(v4, read_le(p + 24, 8));
    }
    h = rotl64(v1, 1) + rotl64(v2, 7) + rotl64(v3, 12) + rotl64(v4, 18);
    h = xxh_merge(xxh_merge(xxh_merge(xxh_merge(h, v1), v2), v3), v4);
  } else {
    h = seed + P5;
  }
  h += (uint64_t)len;
  for (; end - p >= 8; p += 8) h = rotl64(h ^ xxh_round(0, read_le(p, 8)), 27) * P1 + P4;
  if (end - p >= 4) {
    h = rotl64(h ^ read_le(p, 4) * P1, 23) * P2 + P3;
    p += 4;
  }
  for (; p < end; p++) h = rotl64(h ^ *p * P5, 11) * P1;
  h ^= h >> 33; /* avalanche */
  h *= P2;
  h ^= h >> 29;
  h *= P3;
  return h ^ h >> 32;
}

uint64_t cg_hash_fnv1a64(const void *data, size_t len) { return rt_fnv1a64(data, len); }

/* ---- paths ---- */

bool cg_cache_dir(char *buf, size_t size) { return rt_cache_dir(buf, size); }

bool cg_cache_path(const char *key, size_t key_len, char *buf, size_t size) {
  char dir[PATH_MAX];
  if (!cg_cache_dir(dir, sizeof dir)) return false;
  int n = snprintf(buf, size, "%s/%016llx%016llx.smo", dir,
                   (unsigned long long)cg_hash_xxh64(key, key_len, 0),
                   (unsigned long long)cg_hash_fnv1a64(key, key_len));
  return n > 0 && (size_t)n < size;
}

/* mkdir -p, each missing level 0700 (the XDG spec's mode for cache directories) */
static bool make_dirs(const char *path) {
  char tmp[PATH_MAX];
  snprintf(tmp, sizeof tmp, "%s", path);
  for (char *p = tmp + 1;; p++) {
    if (*p != '/' && *p != 0) continue;
    char c = *p;
    *p = 0;
    if (mkdir(tmp, 0700) != 0 && errno != EEXIST) return false;
    *p = c;
    if (!c) break;
  }
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* ---- entries ---- */

static bool read_full(int fd, void *buf, size_t len) {
  for (uint8_t *p = buf; len;) {
    ssize_t got = read(fd, p, len);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    p += got;
    len -= (size_t)got;
  }
  return true;
}

static bool write_full(int fd, const void *buf, size_t len) {
  for (const uint8_t *p = buf; len;) {
    ssize_t put = write(fd, p, len);
    if (put < 0 && errno == EINTR) continue;
    if (put <= 0) return false;
    p += put;
    len -= (size_t)put;
  }
  return true;
}

bool cg_cache_load(const char *key, size_t key_len, void **obj, size_t *len) {
  *obj = NULL;
  *len = 0;
  char path[PATH_MAX];
  if (!cg_cache_path(key, key_len, path, sizeof path)) return false;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  uint8_t h[HEADER_SIZE];
  uint8_t *data = NULL;
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_size < HEADER_SIZE || !read_full(fd, h, sizeof h)) goto miss;
  uint64_t size = read_le(h + 16, 8);
  if (memcmp(h, MAGIC, sizeof MAGIC) || read_le(h + 8, 4) != FORMAT_VERSION ||
      read_le(h + 12, 4) != HEADER_SIZE || size != (uint64_t)st.st_size - HEADER_SIZE ||
      read_le(h + 32, 8) != cg_hash_xxh64(key, key_len, 0) ||
      read_le(h + 40, 8) != cg_hash_fnv1a64(key, key_len))
    goto miss;
  data = rt_xmalloc(size ? (size_t)size : 1);
  if (!read_full(fd, data, (size_t)size) || cg_hash_xxh64(data, (size_t)size, 0) != read_le(h + 24, 8))
    goto miss;
  close(fd);
  *obj = data;
  *len = (size_t)size;
  return true;
miss:
  free(data);
  close(fd);
  return false;
}

bool cg_cache_store(const char *key, size_t key_len, const void *obj, size_t len, RtDiags *d) {
  char dir[PATH_MAX], path[PATH_MAX], tmp[PATH_MAX];
  if (!cg_cache_dir(dir, sizeof dir) || !cg_cache_path(key, key_len, path, sizeof path)) {
    rt_diag_add(d, RT_DIAG_WARNING, NULL, 0, 0,
                "cache: no cache directory (set SMELT_CACHE_DIR or HOME); not caching");
    return false;
  }
  if (!make_dirs(dir)) {
    rt_diag_add(d, RT_DIAG_WARNING, dir, 0, 0, "cache: cannot create directory: %s", strerror(errno));
    return false;
  }
  int n = snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", path);
  if (n <= 0 || (size_t)n >= sizeof tmp) {
    rt_diag_add(d, RT_DIAG_WARNING, dir, 0, 0, "cache: path too long");
    return false;
  }
  int fd = mkostemp(tmp, O_CLOEXEC);
  if (fd < 0) {
    rt_diag_add(d, RT_DIAG_WARNING, dir, 0, 0, "cache: cannot create a file: %s", strerror(errno));
    return false;
  }
  uint8_t h[HEADER_SIZE];
  memcpy(h, MAGIC, sizeof MAGIC);
  write_le(h + 8, FORMAT_VERSION, 4);
  write_le(h + 12, HEADER_SIZE, 4);
  write_le(h + 16, len, 8);
  write_le(h + 24, cg_hash_xxh64(obj, len, 0), 8);
  write_le(h + 32, cg_hash_xxh64(key, key_len, 0), 8);
  write_le(h + 40, cg_hash_fnv1a64(key, key_len), 8);
  bool ok = write_full(fd, h, sizeof h) && write_full(fd, obj, len) && fsync(fd) == 0;
  int err = errno;
  if (close(fd) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (ok && rename(tmp, path) != 0) {
    ok = false;
    err = errno;
  }
  if (!ok) {
    unlink(tmp);
    rt_diag_add(d, RT_DIAG_WARNING, path, 0, 0, "cache: cannot write entry: %s", strerror(err));
    return false;
  }
  /* make the rename itself durable; failure here only risks losing the entry on a crash */
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return true;
}

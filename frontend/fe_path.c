/* Bounded file reading and path arithmetic for the frontend. Only regular files are read, and
 * never more than FE_FILE_MAX_BYTES, because paths come from user files and could name a device,
 * a FIFO or a directory. */
#include "frontend/fe_path.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "support/rt_assert.h"

char *fe_file_read(const char *path, size_t *len, char *why, size_t why_size) {
  struct stat st;
  if (stat(path, &st) != 0) {
    snprintf(why, why_size, "%s", strerror(errno));
    return NULL;
  }
  if (S_ISDIR(st.st_mode)) {
    snprintf(why, why_size, "is a directory, not a file");
    return NULL;
  }
  if (!S_ISREG(st.st_mode)) {
    snprintf(why, why_size, "is not a regular file");
    return NULL;
  }
  if (st.st_size > FE_FILE_MAX_BYTES) {
    snprintf(why, why_size, "file is larger than %d MiB", FE_FILE_MAX_BYTES >> 20);
    return NULL;
  }
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(why, why_size, "%s", strerror(errno));
    return NULL;
  }
  /* Read up to the limit rather than trusting st_size: the file may change between the calls. */
  size_t cap = (size_t)st.st_size + 2, n = 0, got;
  char *buf = rt_xmalloc(cap);
  while ((got = fread(buf + n, 1, cap - 1 - n, f)) > 0) {
    n += got;
    if (n > FE_FILE_MAX_BYTES) {
      fclose(f);
      free(buf);
      snprintf(why, why_size, "file is larger than %d MiB", FE_FILE_MAX_BYTES >> 20);
      return NULL;
    }
    if (n + 1 == cap) buf = rt_xrealloc(buf, cap *= 2);
  }
  int failed = ferror(f);
  fclose(f);
  if (failed) {
    free(buf);
    snprintf(why, why_size, "read error");
    return NULL;
  }
  buf[n] = 0;
  *len = n;
  return buf;
}

bool fe_path_is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool fe_path_is_file(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

char *fe_path_join(RtArena *a, const char *dir, const char *rel) {
  if (rel[0] == '/' || !dir[0] || strcmp(dir, ".") == 0) return rt_arena_strdup(a, rel);
  size_t nd = strlen(dir), nr = strlen(rel);
  int slash = dir[nd - 1] != '/';
  char *s = rt_arena_alloc(a, nd + slash + nr + 1);
  memcpy(s, dir, nd);
  if (slash) s[nd] = '/';
  memcpy(s + nd + slash, rel, nr + 1);
  return s;
}

char *fe_path_dir(RtArena *a, const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash) return rt_arena_strdup(a, ".");
  if (slash == path) return rt_arena_strdup(a, "/");
  return rt_arena_strndup(a, path, (size_t)(slash - path));
}

char *fe_path_stem(RtArena *a, const char *path) {
  const char *slash = strrchr(path, '/');
  const char *base = slash ? slash + 1 : path;
  const char *dot = strrchr(base, '.');
  size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
  return rt_arena_strndup(a, base, n);
}

bool fe_str_ends_with(const char *s, const char *suffix) {
  size_t ns = strlen(s), nx = strlen(suffix);
  return ns >= nx && memcmp(s + ns - nx, suffix, nx) == 0;
}

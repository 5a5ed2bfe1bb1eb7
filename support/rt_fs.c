/* mkdir -p, whole-file reads and atomic file replacement over POSIX file descriptors.
 * Atomic replacement follows the usual recipe (as in SQLite's and LevelDB's env code): the
 * temporary file lives in the target's directory so rename(2) never crosses file systems, the
 * data is fsync'ed before the rename, and the directory is fsync'ed after it so the new name
 * itself survives a power loss. Temporary names carry the pid and a counter, and O_EXCL makes two
 * writers (threads or MPI ranks) never share one. */
#include "support/rt_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support/rt_assert.h"

struct RtFsAtomic {
  int fd;
  char *path, *tmp;
  int error; /* first errno of a failed write, 0 when all went well */
};

static atomic_uint tmp_counter;

bool rt_fs_mkdirs(const char *path, RtDiags *d) {
  if (!path || !path[0]) {
    rt_diag_error(d, "", 0, 0, "empty directory name");
    return false;
  }
  char *p = rt_xstrdup(path);
  bool ok = true;
  /* Create each prefix ending before a '/', then the whole path. */
  for (char *s = p + 1;; s++) {
    if (*s != '/' && *s != '\0') continue;
    char saved = *s;
    *s = '\0';
    if (mkdir(p, 0777) != 0 && errno != EEXIST) {
      rt_diag_error(d, p, 0, 0, "cannot create directory: %s", strerror(errno));
      ok = false;
    } else {
      struct stat st;
      if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) {
        rt_diag_error(d, p, 0, 0, "exists and is not a directory");
        ok = false;
      }
    }
    *s = saved;
    if (!ok || saved == '\0') break;
    while (s[1] == '/') s++; /* "a//b" */
  }
  free(p);
  return ok;
}

bool rt_fs_read_file(const char *path, uint8_t **data, size_t *size, RtDiags *d) {
  *data = NULL;
  *size = 0;
  /* non-blocking: opening a FIFO (or a device) would otherwise wait for a writer forever; for a
   * regular file the flag changes nothing */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    rt_diag_error(d, path, 0, 0, "cannot open: %s", strerror(errno));
    return false;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    rt_diag_error(d, path, 0, 0, "not a regular file");
    close(fd);
    return false;
  }
  size_t want = (size_t)st.st_size, got = 0;
  uint8_t *buf = rt_xmalloc(want + 1);
  while (got < want) {
    ssize_t n = read(fd, buf + got, want - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      rt_diag_error(d, path, 0, 0, "read error: %s", strerror(errno));
      free(buf);
      close(fd);
      return false;
    }
    if (n == 0) break; /* the file shrank meanwhile: take what is there */
    got += (size_t)n;
  }
  close(fd);
  buf[got] = 0;
  *data = buf;
  *size = got;
  return true;
}

/* The directory part of path ("." when it has none). Caller frees. */
static char *dir_of(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash) return rt_xstrdup(".");
  if (slash == path) return rt_xstrdup("/");
  size_t n = (size_t)(slash - path);
  char *dir = rt_xmalloc(n + 1);
  memcpy(dir, path, n);
  dir[n] = 0;
  return dir;
}

RtFsAtomic *rt_fs_atomic_begin(const char *path, RtDiags *d) {
  size_t cap = strlen(path) + 64;
  char *tmp = rt_xmalloc(cap);
  int fd = -1;
  for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
    snprintf(tmp, cap, "%s.tmp.%ld.%u", path, (long)getpid(), atomic_fetch_add(&tmp_counter, 1));
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) {
    rt_diag_error(d, path, 0, 0, "cannot create temporary file '%s': %s", tmp, strerror(errno));
    free(tmp);
    return NULL;
  }
  RtFsAtomic *a = rt_xcalloc(1, sizeof *a);
  *a = (RtFsAtomic){.fd = fd, .path = rt_xstrdup(path), .tmp = tmp};
  return a;
}

void rt_fs_atomic_write(RtFsAtomic *a, const void *data, size_t size) {
  const uint8_t *p = data;
  while (size > 0 && !a->error) {
    ssize_t n = write(a->fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      a->error = n < 0 ? errno : EIO;
      break;
    }
    p += n;
    size -= (size_t)n;
  }
}

static void atomic_free(RtFsAtomic *a) {
  free(a->path);
  free(a->tmp);
  free(a);
}

void rt_fs_atomic_abort(RtFsAtomic *a) {
  if (!a) return;
  if (a->fd >= 0) close(a->fd);
  unlink(a->tmp);
  atomic_free(a);
}

/* fsync of the directory holding path, so that a rename into it is durable. Some file systems
 * refuse fsync on directories (EINVAL); the rename has still happened then. */
static int fsync_dir_of(const char *path) {
  char *dir = dir_of(path);
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  free(dir);
  if (fd < 0) return errno;
  int err = fsync(fd) != 0 && errno != EINVAL ? errno : 0;
  close(fd);
  return err;
}

bool rt_fs_atomic_commit(RtFsAtomic *a, RtDiags *d) {
  const char *what = NULL;
  int err = a->error;
  if (err) what = "write";
  if (!err && fsync(a->fd) != 0) err = errno, what = "fsync";
  if (close(a->fd) != 0 && !err) err = errno, what = "close";
  a->fd = -1;
  if (!err && rename(a->tmp, a->path) != 0) err = errno, what = "rename";
  if (err) {
    rt_diag_error(d, a->path, 0, 0, "cannot write (%s failed): %s", what, strerror(err));
    rt_fs_atomic_abort(a);
    return false;
  }
  err = fsync_dir_of(a->path);
  if (err) rt_diag_error(d, a->path, 0, 0, "written, but syncing its directory failed: %s", strerror(err));
  atomic_free(a);
  return err == 0;
}

/* Write errors, fsync and close of one member of a set; false with a diagnostic. */
static bool atomic_finish(RtFsAtomic *a, RtDiags *d) {
  const char *what = "write";
  int err = a->error;
  if (!err && fsync(a->fd) != 0) err = errno, what = "fsync";
  if (close(a->fd) != 0 && !err) err = errno, what = "close";
  a->fd = -1;
  if (err) rt_diag_error(d, a->path, 0, 0, "cannot write (%s failed): %s", what, strerror(err));
  return !err;
}

bool rt_fs_atomic_commit_all(RtFsAtomic **files, int n, RtDiags *d) {
  bool ok = true;
  for (int i = 0; i < n && ok; i++) ok = atomic_finish(files[i], d);
  for (int i = 0; i < n && ok; i++) {
    struct stat st;
    if (stat(files[i]->path, &st) == 0 && S_ISDIR(st.st_mode)) {
      rt_diag_error(d, files[i]->path, 0, 0, "cannot write: a folder has this name");
      ok = false;
    }
  }
  int renamed = 0;
  for (; ok && renamed < n; renamed++)
    if (rename(files[renamed]->tmp, files[renamed]->path) != 0) {
      rt_diag_error(d, files[renamed]->path, 0, 0, "cannot write (rename failed): %s", strerror(errno));
      ok = false;
      break;
    }
  for (int i = 0; i < n; i++) {
    if (i < renamed) {
      int err = fsync_dir_of(files[i]->path);
      if (err && ok) rt_diag_error(d, files[i]->path, 0, 0, "written, but syncing its directory failed: %s", strerror(err));
      ok = ok && !err;
      atomic_free(files[i]);
    } else {
      rt_fs_atomic_abort(files[i]);
    }
  }
  return ok;
}

/* Skips one or more decimal digits; NULL when there are none. */
static const char *skip_digits(const char *s) {
  const char *p = s;
  while (*p >= '0' && *p <= '9') p++;
  return p > s ? p : NULL;
}

bool rt_fs_is_atomic_tmp(const char *name, const char *target) {
  size_t n = strlen(target);
  if (strncmp(name, target, n) || strncmp(name + n, ".tmp.", 5)) return false;
  const char *p = skip_digits(name + n + 5); /* the pid */
  if (!p || *p != '.') return false;
  p = skip_digits(p + 1); /* the counter */
  return p && !*p;
}

bool rt_fs_write_atomic(const char *path, const void *data, size_t size, RtDiags *d) {
  RtFsAtomic *a = rt_fs_atomic_begin(path, d);
  if (!a) return false;
  rt_fs_atomic_write(a, data, size);
  return rt_fs_atomic_commit(a, d);
}

bool rt_cache_dir(char *buf, size_t size) {
  const char *dir = getenv("SMELT_CACHE_DIR");
  int n;
  if (dir && *dir) {
    n = snprintf(buf, size, "%s", dir);
  } else if ((dir = getenv("XDG_CACHE_HOME")) && dir[0] == '/') {
    n = snprintf(buf, size, "%s/smelt", dir);
  } else if ((dir = getenv("HOME")) && *dir) {
    n = snprintf(buf, size, "%s/.cache/smelt", dir);
  } else {
    return false;
  }
  return n > 0 && (size_t)n < size;
}

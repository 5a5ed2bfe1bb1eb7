/* File-system helpers for everything smelt writes into an output folder: `mkdir -p`, whole-file
 * reads, and atomic replacement (write a temporary file in the same directory, fsync it, rename it
 * over the target, fsync the directory), so a crash leaves either the old file or the new one,
 * never a torn mix. Failures become RtDiags naming the path and the system error; nothing aborts. */
#ifndef SMELT_RT_FS_H
#define SMELT_RT_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "support/rt_diag.h"

/* Creates path and every missing parent (mode 0777 less the umask). True when the directory
 * exists afterwards, also when another process created it concurrently. */
bool rt_fs_mkdirs(const char *path, RtDiags *d);

/* smelt's cache directory (compiled objects, generated data sets): $SMELT_CACHE_DIR, else
 * $XDG_CACHE_HOME/smelt (when absolute: XDG says relative is invalid), else $HOME/.cache/smelt.
 * false when none can be formed or it does not fit in size. */
bool rt_cache_dir(char *buf, size_t size);

/* Reads a whole regular file. *data gets size + 1 bytes with a NUL after the contents (handy for
 * text); the caller frees it. On failure *data is NULL and a diagnostic names the file. */
bool rt_fs_read_file(const char *path, uint8_t **data, size_t *size, RtDiags *d);

/* An atomic replacement in progress: bytes go to a temporary file beside the target. */
typedef struct RtFsAtomic RtFsAtomic;

/* Starts replacing path (its directory must exist). NULL with a diagnostic on failure. */
RtFsAtomic *rt_fs_atomic_begin(const char *path, RtDiags *d);
/* Appends bytes. A failure is remembered and reported by rt_fs_atomic_commit. */
void rt_fs_atomic_write(RtFsAtomic *a, const void *data, size_t size);
/* Makes the new contents durable and visible under the target name: fsync, close, rename, fsync
 * of the directory. Frees a. On any failure the temporary file is removed, the target is left as
 * it was, and false is returned with a diagnostic. */
bool rt_fs_atomic_commit(RtFsAtomic *a, RtDiags *d);
/* Gives up: removes the temporary file and frees a. NULL is allowed. */
void rt_fs_atomic_abort(RtFsAtomic *a);

/* Commits n replacements as one set, for outputs that are only valid together: every file is
 * written, fsync'ed and closed before any target is renamed, and a target that is a directory
 * is refused then too, so a full disk or a bad target leaves all n targets as they were (only a
 * rename failing after others succeeded could mix old and new, and same-directory renames do not
 * fail that way). Frees every a; on failure removes every temporary file. */
bool rt_fs_atomic_commit_all(RtFsAtomic **files, int n, RtDiags *d);

/* Whether `name` (a file name, no directory) is a temporary file of an atomic replacement of
 * `target` (also a bare name): "<target>.tmp.<pid>.<n>". A crash between begin and commit leaves
 * one behind; whoever owns the folder may delete it. */
bool rt_fs_is_atomic_tmp(const char *name, const char *target);

/* begin + write + commit for contents already in memory. */
bool rt_fs_write_atomic(const char *path, const void *data, size_t size, RtDiags *d);

#endif

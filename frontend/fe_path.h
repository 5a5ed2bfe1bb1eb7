/* Small file-system helpers for the frontend: bounded reading of regular files (so a preset path
 * naming /dev/zero or a directory cannot hang or crash the loader) and path arithmetic for
 * resolving names relative to a config file. Strings come from the given arena. */
#ifndef SMELT_FE_PATH_H
#define SMELT_FE_PATH_H

#include <stdbool.h>
#include <stddef.h>

#include "support/rt_arena.h"

enum { FE_FILE_MAX_BYTES = 16 << 20 };

/* Reads a regular file of at most FE_FILE_MAX_BYTES. Returns a malloc'd, NUL-terminated buffer
 * (caller frees) and its length, or NULL with a reason ("No such file or directory", "is a
 * directory", "file is larger than 16 MiB", ...) written to why. */
char *fe_file_read(const char *path, size_t *len, char *why, size_t why_size);

bool fe_path_is_dir(const char *path);
bool fe_path_is_file(const char *path);
/* rel itself when absolute or when dir is "" or "."; else dir/rel. */
char *fe_path_join(RtArena *a, const char *dir, const char *rel);
/* The folder part of path: "." for a bare file name, "/" for a file in the root. */
char *fe_path_dir(RtArena *a, const char *path);
/* The file name without folder and without its last extension: "presets/small.yaml" -> "small". */
char *fe_path_stem(RtArena *a, const char *path);
/* True when s ends in suffix. */
bool fe_str_ends_with(const char *s, const char *suffix);

#endif

/* Helpers shared by the unit tests (test_support.h). */
#define _XOPEN_SOURCE 700
#include "test_support.h"

#include <dirent.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/rt_diag.h"
#include "support/rt_fs.h"

char *test_read_text(const char *path, size_t *len) {
  RtDiags d = {0};
  uint8_t *data;
  size_t size;
  if (!rt_fs_read_file(path, &data, &size, &d)) fail_msg("%s", d.count ? d.items[0].msg : path);
  rt_diags_free(&d);
  if (len) *len = size;
  return (char *)data; /* rt_fs_read_file ends the bytes with a NUL */
}

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

char **test_list_files(const char *dir, const char *suffix, const char *except, int *n) {
  DIR *d = opendir(dir);
  if (!d) fail_msg("cannot open directory %s", dir);
  char **names = NULL;
  *n = 0;
  for (struct dirent *e; (e = readdir(d));) {
    if (!ends_with(e->d_name, suffix) || (except && ends_with(e->d_name, except))) continue;
    names = realloc(names, (size_t)(*n + 1) * sizeof *names);
    names[(*n)++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, (size_t)*n, sizeof *names, cmp_str);
  return names;
}

void test_expect_same_text(const char *got, const char *want, const char *what) {
  if (strcmp(got, want) == 0) return;
  int line = 1;
  const char *g = got, *w = want;
  while (*g && *g == *w) {
    if (*g == '\n') line++;
    g++, w++;
  }
  while (g > got && g[-1] != '\n') g--, w--;
  fprintf(stderr, "%s: line %d differs\n  expected: %.*s\n  got:      %.*s\n--- got, in full:\n%s", what, line,
          (int)strcspn(w, "\n"), w, (int)strcspn(g, "\n"), g, got);
  fail_msg("%s: output differs from the expected file at line %d", what, line);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  remove(path);
  return 0;
}

void test_remove_tree(const char *dir) { nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

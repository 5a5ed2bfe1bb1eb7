/* Helpers shared by the unit tests (test_support.h). */
#define _XOPEN_SOURCE 700
#include "test_support.h"

#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

char *test_read_text_if_any(const char *fmt, ...) {
  char path[2 * PATH_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(path, sizeof path, fmt, ap);
  va_end(ap);
  if (access(path, R_OK) != 0) return NULL;
  return test_read_text(path, NULL);
}

bool test_smelt_executable(char *buf, const char *given, const char *test) {
  if (given) {
    snprintf(buf, PATH_MAX, "%s", given);
  } else { /* build/tests/test_x -> build/smelt */
    ssize_t n = readlink("/proc/self/exe", buf, PATH_MAX - 16);
    if (n <= 0) return false;
    buf[n] = '\0';
    *strrchr(buf, '/') = '\0';
    *strrchr(buf, '/') = '\0';
    strcat(buf, "/smelt");
  }
  if (access(buf, X_OK) == 0) return true;
  fprintf(stderr, "%s: no smelt executable at %s (build the smelt target first)\n", test, buf);
  return false;
}

bool test_have_mpirun(const char *test) {
  if (system("command -v mpirun >/dev/null") == 0) return true;
  fprintf(stderr, "%s: no mpirun (scripts/deps.sh installs openmpi-bin)\n", test);
  return false;
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

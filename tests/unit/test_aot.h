/* Helpers of the AOT tests (test_aot_build.c, test_aot_emit.c): `smelt` subcommands run in this
 * process (getopt restarted for each), their standard output captured in a file, whole files
 * read back, and checkpoints compared tensor by tensor. Static inline functions: each test includes it. */
#ifndef SMELT_TEST_AOT_H
#define SMELT_TEST_AOT_H

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/rt_safetensors.h"
#include "tools/commands.h"

/* Runs a subcommand on a NULL-terminated argument list (argv[0] is the command's name). */
static inline int run_cmd(int (*cmd)(int, char **), const char *const *args) {
  int argc = 0;
  while (args[argc]) argc++;
  char **argv = calloc((size_t)argc + 1, sizeof *argv);
  for (int i = 0; i < argc; i++) argv[i] = strdup(args[i]);
  optind = 0; /* glibc: a full restart of getopt */
  int rc = cmd(argc, argv);
  for (int i = 0; i < argc; i++) free(argv[i]);
  free(argv);
  return rc;
}

/* The same with standard output sent to `path`. */
static inline int run_cmd_to(const char *path, int (*cmd)(int, char **), const char *const *args) {
  fflush(stdout);
  int saved = dup(1);
  FILE *f = fopen(path, "w");
  if (!f || saved < 0) return -1;
  dup2(fileno(f), 1);
  int rc = run_cmd(cmd, args);
  fflush(stdout);
  dup2(saved, 1);
  close(saved);
  fclose(f);
  return rc;
}

/* A whole file as a NUL-terminated string (caller frees), or NULL. */
static inline char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  size_t got = fread(s, 1, (size_t)n, f);
  s[got] = 0;
  fclose(f);
  return s;
}

/* Every tensor of a and b has the same bytes, and metadata key `meta` (if not NULL) is equal. */
static inline int same_checkpoints(const char *a, const char *b, const char *meta) {
  RtDiags d = {0};
  RtStFile *fa = rt_st_load(a, &d), *fb = rt_st_load(b, &d);
  int same = fa && fb && rt_st_count(fa) == rt_st_count(fb);
  for (int i = 0; same && i < rt_st_count(fa); i++) {
    const RtStTensor *x = rt_st_tensor(fa, i), *y = rt_st_find(fb, x->name);
    same = y && x->nbytes == y->nbytes && !memcmp(x->data, y->data, x->nbytes);
  }
  if (same && meta) {
    const char *ma = rt_st_meta(fa, meta), *mb = rt_st_meta(fb, meta);
    same = ma && mb && !strcmp(ma, mb);
  }
  rt_st_free(fa);
  rt_st_free(fb);
  rt_diags_print(&d, stderr);
  rt_diags_free(&d);
  return same;
}

#endif

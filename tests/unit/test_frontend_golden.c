/* Golden diagnostics: every tests/frontend/bad/NAME.yaml is loaded (as a preset when NAME starts
 * with "preset_", else as an experiment config) and its printed diagnostics must equal
 * NAME.expected byte for byte. Each file must produce at least one error and load must fail.
 * SMELT_UPDATE_GOLDEN=1 rewrites the .expected files instead (review the diff before committing). */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "frontend/fe_config.h"
#include "frontend/fe_path.h"
#include "frontend/fe_preset.h"

#define BAD_DIR "tests/frontend/bad"

static int compare(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Loads one file and returns its diagnostics as printed (malloc'd). */
static char *diagnostics_of(const char *path, const char *name, int *errors, bool *loaded) {
  RtDiags d = {0};
  FeLoadOptions opts = {.presets_dir = "presets"};
  if (strncmp(name, "preset_", 7) == 0) {
    FePreset *p = fe_preset_load(path, &d);
    *loaded = p != NULL;
    fe_preset_free(p);
  } else {
    FeConfig *c = fe_config_load(path, &opts, &d);
    *loaded = c != NULL;
    fe_config_free(c);
  }
  char *text;
  size_t len;
  FILE *f = open_memstream(&text, &len);
  rt_diags_print(&d, f);
  fclose(f);
  *errors = d.errors;
  rt_diags_free(&d);
  return text;
}

static void test_bad_corpus(void **state) {
  (void)state;
  assert_int_equal(chdir(SMELT_SOURCE_DIR), 0);
  DIR *dir = opendir(BAD_DIR);
  assert_non_null(dir);
  char *names[512];
  int n = 0;
  struct dirent *e;
  while ((e = readdir(dir)) && n < 512)
    if (fe_str_ends_with(e->d_name, ".yaml")) names[n++] = strdup(e->d_name);
  closedir(dir);
  qsort(names, (size_t)n, sizeof *names, compare);
  assert_true(n >= 20);
  bool update = getenv("SMELT_UPDATE_GOLDEN") && getenv("SMELT_UPDATE_GOLDEN")[0] == '1';
  int failures = 0;
  for (int i = 0; i < n; i++) {
    char path[600], expected_path[600], why[128];
    snprintf(path, sizeof path, "%s/%s", BAD_DIR, names[i]);
    snprintf(expected_path, sizeof expected_path, "%s/%.*s.expected", BAD_DIR,
             (int)strlen(names[i]) - 5, names[i]);
    int errors;
    bool loaded;
    char *got = diagnostics_of(path, names[i], &errors, &loaded);
    if (update) {
      FILE *f = fopen(expected_path, "w");
      assert_non_null(f);
      fputs(got, f);
      fclose(f);
    }
    size_t len;
    char *want = fe_file_read(expected_path, &len, why, sizeof why);
    if (!want || strcmp(want, got) != 0 || errors == 0 || loaded) {
      fprintf(stderr, "%s: diagnostics differ from %s (%s), errors %d, loaded %d\n--- got:\n%s--- want:\n%s",
              path, expected_path, want ? "mismatch" : why, errors, loaded, got, want ? want : "");
      failures++;
    }
    free(want);
    free(got);
    free(names[i]);
  }
  assert_int_equal(failures, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_bad_corpus)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}

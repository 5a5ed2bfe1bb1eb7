/* Atomic replacement of a set of files (rt_fs_atomic_commit_all): when one member cannot be
 * written (here a file-size limit stands in for a full disk, and a folder stands where a file
 * should go), no target changes and no temporary file stays; when all can, all are replaced. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "support/rt_fs.h"

static char tmp[] = "/tmp/smelt-fs-XXXXXX";

static char *path(const char *name) {
  static char buf[4][600];
  static int next;
  char *p = buf[next++ % 4];
  snprintf(p, 600, "%s/%s", tmp, name);
  return p;
}

static void put(const char *name, const char *text) {
  RtDiags d = {0};
  assert_true(rt_fs_write_atomic(path(name), text, strlen(text), &d));
}

static void expect(const char *name, const char *text) {
  RtDiags d = {0};
  uint8_t *data = NULL;
  size_t size = 0;
  assert_true(rt_fs_read_file(path(name), &data, &size, &d));
  assert_string_equal((char *)data, text);
  free(data);
}

/* Files in tmp, so that a leftover temporary shows. */
static int entries(void) {
  char cmd[700];
  snprintf(cmd, sizeof cmd, "ls -A %s | wc -l", tmp);
  FILE *p = popen(cmd, "r");
  int n = -1;
  assert_int_equal(fscanf(p, "%d", &n), 1);
  pclose(p);
  return n;
}

/* a, b, c as one set; the contents are the file names repeated up to `bytes[i]` bytes. */
static bool commit(const size_t bytes[3], RtDiags *d) {
  static const char *const names[] = {"a", "b", "c"};
  static char fill[8192];
  RtFsAtomic *files[3];
  for (int i = 0; i < 3; i++) {
    memset(fill, names[i][0], bytes[i]);
    files[i] = rt_fs_atomic_begin(path(names[i]), d);
    assert_non_null(files[i]);
    rt_fs_atomic_write(files[i], fill, bytes[i]);
  }
  return rt_fs_atomic_commit_all(files, 3, d);
}

static void test_write_failure_changes_nothing(void **state) {
  (void)state;
  put("a", "old a");
  put("b", "old b");
  put("c", "old c");
  struct rlimit saved;
  assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
  signal(SIGXFSZ, SIG_IGN); /* a write past the limit fails with EFBIG instead of killing us */
  struct rlimit small = {4096, saved.rlim_max};
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
  RtDiags d = {0};
  bool ok = commit((const size_t[]){100, 100, 8000}, &d);
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
  assert_false(ok);
  assert_int_equal(d.errors, 1);
  assert_non_null(strstr(d.items[0].msg, "write failed"));
  assert_string_equal(d.items[0].file, path("c"));
  rt_diags_free(&d);
  expect("a", "old a");
  expect("b", "old b");
  expect("c", "old c");
  assert_int_equal(entries(), 3);
}

static void test_folder_in_the_way_changes_nothing(void **state) {
  (void)state;
  put("a", "old a");
  put("b", "old b");
  unlink(path("c"));
  assert_int_equal(mkdir(path("c"), 0777), 0);
  RtDiags d = {0};
  assert_false(commit((const size_t[]){10, 10, 10}, &d));
  assert_int_equal(d.errors, 1);
  assert_non_null(strstr(d.items[0].msg, "a folder has this name"));
  rt_diags_free(&d);
  expect("a", "old a");
  expect("b", "old b");
  assert_int_equal(entries(), 3);
  assert_int_equal(rmdir(path("c")), 0);
}

static void test_all_replaced(void **state) {
  (void)state;
  put("c", "old c");
  RtDiags d = {0};
  assert_true(commit((const size_t[]){1, 2, 3}, &d));
  assert_int_equal(d.count, 0);
  expect("a", "a");
  expect("b", "bb");
  expect("c", "ccc");
  assert_int_equal(entries(), 3);
}

static int setup(void **state) {
  (void)state;
  return mkdtemp(tmp) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  char cmd[700];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
  return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_write_failure_changes_nothing),
      cmocka_unit_test(test_folder_in_the_way_changes_nothing),
      cmocka_unit_test(test_all_replaced),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

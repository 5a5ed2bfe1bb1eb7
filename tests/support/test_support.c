/* Helpers shared by the unit tests (test_support.h). */
#define _XOPEN_SOURCE 700
#include "test_support.h"

#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "runtime/rt_diag.h"
#include "runtime/rt_fs.h"

char *test_read_text(const char *path, size_t *len) {
  RtDiags d = {0};
  uint8_t *data;
  size_t size;
  if (!rt_fs_read_file(path, &data, &size, &d)) fail_msg("%s", d.count ? d.items[0].msg : path);
  rt_diags_free(&d);
  if (len) *len = size;
  return (char *)data; /* rt_fs_read_file ends the bytes with a NUL */
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  remove(path);
  return 0;
}

void test_remove_tree(const char *dir) { nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

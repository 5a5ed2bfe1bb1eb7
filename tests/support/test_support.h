/* Helpers shared by the unit tests (tests/unit/): whole-file reads and scratch folders.
 * Failures end the current test through CMocka, so callers need no error paths. */
#ifndef SMELT_TESTS_SUPPORT_H
#define SMELT_TESTS_SUPPORT_H

#include <stddef.h>

/* The whole file as a NUL-terminated string (malloc'ed); *len gets its size if len is not NULL. */
char *test_read_text(const char *path, size_t *len);

/* Removes dir and everything below it; a missing dir is not an error. */
void test_remove_tree(const char *dir);

#endif

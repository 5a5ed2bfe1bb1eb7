/* Large configs stay cheap to check: a mapping of 300,000 keys with a duplicate at its end, and a
 * config of 100,000 experiments spread over 16,384 compiled modules, checked and planned. Every
 * step that compared each key or experiment with all earlier ones took minutes at these sizes;
 * ctest's timeout for this binary (tests/CMakeLists.txt) turns such a regression into a failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "frontend/fe_config.h"
#include "frontend/fe_plan.h"
#include "frontend/fe_yaml.h"

/* A growing text buffer. */
typedef struct Text {
  char *s;
  size_t len, cap;
} Text;

__attribute__((format(printf, 2, 3))) static void put(Text *t, const char *fmt, ...) {
  va_list ap;
  for (;;) {
    va_start(ap, fmt);
    int n = vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    if ((size_t)n < t->cap - t->len) {
      t->len += (size_t)n;
      return;
    }
    t->cap = t->cap ? 2 * t->cap : 1 << 20;
    t->s = realloc(t->s, t->cap);
    assert_non_null(t->s);
  }
}

static void test_many_keys_and_a_duplicate(void **state) {
  (void)state;
  enum { KEYS = 300000 };
  Text t = {0};
  put(&t, "top:\n");
  for (int i = 0; i < KEYS; i++) put(&t, "  key%d: %d\n", i, i);
  put(&t, "  key17: again\n");
  FeDoc doc;
  RtDiags d = {0};
  assert_false(fe_yaml_parse(&doc, "big.yaml", t.s, t.len, &d));
  assert_int_equal(d.count, 1);
  char msg[256];
  rt_diag_format(&d.items[0], msg, sizeof msg);
  assert_string_equal(msg, "big.yaml:300002:3: error: duplicate key 'key17' (first defined at line 19)");
  const FeNode *top = fe_node_get(doc.root, "top");
  assert_int_equal(top->count, KEYS); /* the duplicate is dropped, every other key kept */
  assert_string_equal(fe_node_get(top, "key299999")->text, "299999");
  rt_diags_free(&d);
  fe_yaml_free(&doc);
  free(t.s);
}

static void test_many_experiments(void **state) {
  (void)state;
  enum { EXPERIMENTS = 100000, BATCHES = 4096 };
  static const char *const MODELS[] = {"small", "ctc_small", "medium", "large"};
  Text t = {0};
  put(&t, "defaults:\n  epochs: 2\nexperiments:\n");
  for (int i = 0; i < EXPERIMENTS; i++)
    put(&t, "  e%d: {model: %s, batch_size: %d}\n", i, MODELS[i / BATCHES % 4], i % BATCHES + 1);
  RtDiags d = {0};
  FeLoadOptions opts = {.presets_dir = SMELT_SOURCE_DIR "/presets"};
  FeConfig *c = fe_config_parse("big.yaml", t.s, t.len, &opts, &d);
  if (d.count) rt_diags_print(&d, stderr);
  assert_int_equal(d.count, 0);
  assert_non_null(c);
  assert_int_equal(c->count, EXPERIMENTS);
  assert_string_equal(fe_config_find(c, "e99999")->name, "e99999");

  int *group = malloc(EXPERIMENTS * sizeof *group);
  assert_int_equal(fe_config_module_groups(c, group), 4 * BATCHES);
  assert_int_equal(group[0], 0);
  assert_int_equal(group[BATCHES], BATCHES);       /* the next model: new groups, in order */
  assert_int_equal(group[4 * BATCHES + 5], 5);     /* small again at batch 6: the sixth group */
  assert_int_equal(group[EXPERIMENTS - 1], group[(EXPERIMENTS - 1) % (4 * BATCHES)]);
  free(group);

  char *plan = NULL;
  size_t size = 0;
  FILE *out = open_memstream(&plan, &size);
  fe_plan_print(c, out);
  fclose(out);
  assert_non_null(strstr(plan, "100000 experiments"));
  assert_non_null(strstr(plan, "16384 compiled modules"));
  /* the line of the first module lists its experiments, every 16,384th */
  assert_non_null(strstr(plan, "\n  small, batch 1, cross_entropy, adam: e0 e16384 e32768 e49152 e65536 e81920 e98304\n"));
  free(plan);
  fe_config_free(c);
  rt_diags_free(&d);
  free(t.s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_many_keys_and_a_duplicate),
      cmocka_unit_test(test_many_experiments),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

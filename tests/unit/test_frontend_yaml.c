/* The YAML loader and the schema helpers: node positions, scalar styles, structural errors
 * (duplicate keys, aliases, syntax, depth, several documents) and the typed scalar readers,
 * range messages and key suggestions that both schemas share. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "frontend/fe_schema.h"
#include "frontend/fe_yaml.h"

/* Parses text; returns the number of diagnostics and the first one formatted into first. */
static int parse(FeDoc *doc, const char *text, size_t len, char *first, size_t size) {
  RtDiags d = {0};
  fe_yaml_parse(doc, "t.yaml", text, len, &d);
  int n = d.count;
  first[0] = 0;
  if (n) rt_diag_format(&d.items[0], first, size);
  rt_diags_free(&d);
  return n;
}

static void test_positions_and_styles(void **state) {
  (void)state;
  const char *text = "top:\n  a: 1\n  b: 'quoted'\n  list: [x, \"y\", {k: v}]\nempty:\n";
  FeDoc doc;
  char msg[512];
  assert_int_equal(parse(&doc, text, strlen(text), msg, sizeof msg), 0);
  const FeNode *root = doc.root;
  assert_int_equal(root->kind, FE_NODE_MAP);
  assert_int_equal(root->count, 2);
  const FeNode *top = fe_node_get(root, "top");
  assert_int_equal(top->line, 2);
  assert_int_equal(top->col, 3);
  const FeNode *a = fe_node_get(top, "a");
  assert_string_equal(a->text, "1");
  assert_true(a->plain);
  assert_int_equal(a->line, 2);
  assert_int_equal(a->col, 6);
  const FeNode *b = fe_node_get(top, "b");
  assert_false(b->plain);
  assert_string_equal(b->text, "quoted");
  const FeNode *key = fe_node_key(top, "list");
  assert_int_equal(key->line, 4);
  assert_int_equal(key->col, 3);
  const FeNode *list = fe_node_get(top, "list");
  assert_int_equal(list->kind, FE_NODE_SEQ);
  assert_int_equal(list->count, 3);
  assert_int_equal(list->items[1]->col, 13);
  assert_string_equal(fe_node_get(list->items[2], "k")->text, "v");
  assert_true(fe_node_is_null(fe_node_get(root, "empty")));
  assert_null(fe_node_get(root, "missing"));
  assert_null(fe_node_get(a, "x")); /* not a mapping */
  fe_yaml_free(&doc);
}

static void test_structural_errors(void **state) {
  (void)state;
  FeDoc doc;
  char msg[512];
  const char *dup = "a: 1\nb: 2\na: 3\n";
  assert_int_equal(parse(&doc, dup, strlen(dup), msg, sizeof msg), 1);
  assert_string_equal(msg, "t.yaml:3:1: error: duplicate key 'a' (first defined at line 1)");
  assert_int_equal(doc.root->count, 2); /* the first value is kept, the tree stays usable */
  assert_string_equal(fe_node_get(doc.root, "a")->text, "1");
  fe_yaml_free(&doc);

  const char *alias = "x: &v 1\ny: *v\n";
  assert_int_equal(parse(&doc, alias, strlen(alias), msg, sizeof msg), 1);
  assert_non_null(strstr(msg, "t.yaml:2:4: error: YAML aliases"));
  assert_true(fe_node_is_null(fe_node_get(doc.root, "y")));
  fe_yaml_free(&doc);

  const char *syntax = "a: [1, 2\nb: 3\n";
  assert_int_equal(parse(&doc, syntax, strlen(syntax), msg, sizeof msg), 1);
  assert_non_null(strstr(msg, "YAML syntax error"));
  assert_null(doc.root);
  fe_yaml_free(&doc);

  const char *two = "a: 1\n---\nb: 2\n";
  assert_int_equal(parse(&doc, two, strlen(two), msg, sizeof msg), 1);
  assert_string_equal(msg, "t.yaml:2:1: error: a second YAML document; a file holds exactly one");
  fe_yaml_free(&doc);

  char deep[300];
  memset(deep, '[', 100);
  memset(deep + 100, ']', 100);
  deep[200] = 0;
  assert_int_equal(parse(&doc, deep, 200, msg, sizeof msg), 1);
  assert_string_equal(msg, "t.yaml:1:65: error: nesting is too deep (more than 64 levels)");
  assert_null(doc.root);
  fe_yaml_free(&doc);
}

static void test_odd_input_never_crashes(void **state) {
  (void)state;
  FeDoc doc;
  char msg[512];
  assert_int_equal(parse(&doc, "", 0, msg, sizeof msg), 0);
  assert_null(doc.root);
  fe_yaml_free(&doc);
  const char nul[] = "a: 1\0b: 2\n";
  assert_int_equal(parse(&doc, nul, sizeof nul - 1, msg, sizeof msg), 1);
  assert_non_null(strstr(msg, "t.yaml:1:5: error: invalid text"));
  fe_yaml_free(&doc);
  const char *esc = "k: \"a\\0b\\x01\"\n";
  assert_int_equal(parse(&doc, esc, strlen(esc), msg, sizeof msg), 0);
  const FeNode *k = fe_node_get(doc.root, "k");
  assert_int_equal(k->len, 4);
  char buf[96];
  assert_string_equal(fe_node_describe(k, buf, sizeof buf), "'a\\x00b\\x01'");
  fe_yaml_free(&doc);
  char big[300];
  memset(big, 'x', 200);
  strcpy(big + 200, ": 1\n");
  assert_int_equal(parse(&doc, big, strlen(big), msg, sizeof msg), 0);
  fe_node_describe(doc.root->keys[0], buf, sizeof buf);
  assert_true(strlen(buf) < 60);
  assert_non_null(strstr(buf, "...'"));
  fe_yaml_free(&doc);
  RtDiags d = {0};
  assert_false(fe_yaml_load(&doc, "/nonexistent/file.yaml", &d));
  assert_int_equal(d.count, 1);
  fe_yaml_free(&doc);
  assert_false(fe_yaml_load(&doc, "/", &d));
  assert_string_equal(d.items[1].msg, "cannot read: is a directory, not a file");
  fe_yaml_free(&doc);
  rt_diags_free(&d);
}

/* One scalar parsed from YAML, for the typed readers. */
static const FeNode *scalar(FeDoc *doc, const char *text) {
  char msg[256];
  assert_int_equal(parse(doc, text, strlen(text), msg, sizeof msg), 0);
  return doc->root;
}

static void test_scalar_readers(void **state) {
  (void)state;
  FeDoc doc;
  long long i;
  double x;
  bool b;
  assert_true(fe_scalar_int(scalar(&doc, "-42"), &i) && i == -42);
  fe_yaml_free(&doc);
  assert_false(fe_scalar_int(scalar(&doc, "'42'"), &i)); /* quoted: a string */
  fe_yaml_free(&doc);
  assert_false(fe_scalar_int(scalar(&doc, "4.0"), &i));
  fe_yaml_free(&doc);
  assert_false(fe_scalar_int(scalar(&doc, "99999999999999999999"), &i));
  fe_yaml_free(&doc);
  assert_true(fe_scalar_number(scalar(&doc, "1e-4"), &x) && x == 1e-4);
  fe_yaml_free(&doc);
  assert_false(fe_scalar_number(scalar(&doc, ".inf"), &x));
  fe_yaml_free(&doc);
  assert_false(fe_scalar_number(scalar(&doc, "0x10"), &x));
  fe_yaml_free(&doc);
  assert_false(fe_scalar_number(scalar(&doc, "1e999"), &x));
  fe_yaml_free(&doc);
  assert_true(fe_scalar_bool(scalar(&doc, "off"), &b) && !b);
  fe_yaml_free(&doc);
  assert_true(fe_scalar_bool(scalar(&doc, "True"), &b) && b);
  fe_yaml_free(&doc);
  assert_false(fe_scalar_bool(scalar(&doc, "'true'"), &b));
  fe_yaml_free(&doc);
}

typedef struct Opts {
  int count;
  double rate;
  int window[2];
  int mode;
  const char *label;
} Opts;
static const char *const MODES[] = {"fast", "slow"};
static const FeField FIELDS[] = {
    {"count", FE_FIELD_INT, offsetof(Opts, count), 1, 10, FE_REQUIRED, NULL, 0},
    {"rate", FE_FIELD_NUMBER, offsetof(Opts, rate), 0, 1, FE_OPEN_MAX, NULL, 0},
    {"window", FE_FIELD_INT_PAIR, offsetof(Opts, window), 1, 64, 0, NULL, 0},
    {"mode", FE_FIELD_ENUM, offsetof(Opts, mode), 0, 0, 0, MODES, 2},
    {"label", FE_FIELD_STRING, offsetof(Opts, label), 0, 0, 0, NULL, 0},
};
static const FeSchema SCHEMA = {"options", FIELDS, 5};

static void test_schema_decode(void **state) {
  (void)state;
  RtArena arena = {0};
  RtDiags d = {0};
  FeDoc doc;
  const char *good = "{count: 3, rate: 0.5, window: [2, 3], mode: slow, label: hi}";
  fe_yaml_parse(&doc, "s.yaml", good, strlen(good), &d);
  FeCtx c = {"s.yaml", &d, &arena};
  Opts o = {0};
  assert_int_equal(fe_schema_decode(&c, doc.root, &SCHEMA, &o, NULL, 0), 0x1f);
  assert_int_equal(d.count, 0);
  assert_int_equal(o.count, 3);
  assert_true(o.rate == 0.5);
  assert_int_equal(o.window[1], 3);
  assert_int_equal(o.mode, 1);
  assert_string_equal(o.label, "hi");
  fe_yaml_free(&doc);

  const char *bad = "{rate: 1, window: 9, mode: fsat, cuont: 2, zzz: 1}";
  fe_yaml_parse(&doc, "s.yaml", bad, strlen(bad), &d);
  Opts p = {0};
  assert_int_equal(fe_schema_decode(&c, doc.root, &SCHEMA, &p, NULL, 0), 1 << 2);
  assert_int_equal(p.window[0], 9);
  const char *want[] = {
      "s.yaml:1:8: error: rate must be in [0, 1), got '1'",
      "s.yaml:1:28: error: unknown mode 'fsat'; did you mean 'fast'? (known: fast, slow)",
      "s.yaml:1:34: error: unknown key 'cuont'; did you mean 'count'?",
      "s.yaml:1:44: error: unknown key 'zzz' for options (known: count, rate, window, mode, label)",
      "s.yaml:1:1: error: options needs 'count'",
  };
  assert_int_equal(d.count, 5);
  for (int i = 0; i < 5; i++) {
    char buf[512];
    rt_diag_format(&d.items[i], buf, sizeof buf);
    assert_string_equal(buf, want[i]);
  }
  fe_yaml_free(&doc);
  rt_diags_free(&d);
  rt_arena_free(&arena);
}

static void test_suggest(void **state) {
  (void)state;
  const char *const keys[] = {"width", "height", "channels"};
  assert_string_equal(fe_suggest("widht", keys, 3), "width");
  assert_string_equal(fe_suggest("hieght", keys, 3), "height");
  assert_string_equal(fe_suggest("chanels", keys, 3), "channels");
  assert_null(fe_suggest("depth", keys, 3));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_positions_and_styles), cmocka_unit_test(test_structural_errors),
      cmocka_unit_test(test_odd_input_never_crashes), cmocka_unit_test(test_scalar_readers),
      cmocka_unit_test(test_schema_decode),          cmocka_unit_test(test_suggest),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

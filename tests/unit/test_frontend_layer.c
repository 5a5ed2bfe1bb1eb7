/* The layer table (frontend/fe_layer.h): every layer kind has a complete row, a table with a row
 * left out or a row without its lower function is reported, and every kind goes through its row
 * from YAML to JSON and to all three graphs; rows and their helpers call no dispatcher. A kind
 * added to FE_LAYER_KINDS without a row, or without a case here, fails this test. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "frontend/fe_layer.h"
#include "frontend/fe_lower.h"

static void test_table_complete(void **state) {
  (void)state;
  char why[256];
  const char *problem = fe_layer_table_check(FE_LAYERS, FE_LAYER_KIND_COUNT, why, sizeof why);
  if (problem) fprintf(stderr, "%s\n", problem);
  assert_null(problem);
}

/* Each row left out in turn (as a designated initializer left out of fe_layer.c would be). */
static void test_missing_row_reported(void **state) {
  (void)state;
  for (int k = 0; k < FE_LAYER_KIND_COUNT; k++) {
    const FeLayerClass *table[FE_LAYER_KIND_COUNT];
    memcpy(table, FE_LAYERS, sizeof table);
    table[k] = NULL;
    char why[256], expect[128];
    const char *problem = fe_layer_table_check(table, FE_LAYER_KIND_COUNT, why, sizeof why);
    assert_non_null(problem);
    snprintf(expect, sizeof expect, "layer kind '%s' has no row", FE_LAYER_KIND_NAMES[k]);
    assert_string_equal(problem, expect);
  }
  char why[256];
  assert_non_null(fe_layer_table_check(FE_LAYERS, FE_LAYER_KIND_COUNT - 1, why, sizeof why));
}

static void test_incomplete_row_reported(void **state) {
  (void)state;
  const FeLayerClass *table[FE_LAYER_KIND_COUNT];
  char why[256];
  for (int k = 0; k < FE_LAYER_KIND_COUNT; k++) {
    FeLayerClass broken = *FE_LAYERS[k];
    broken.lower = NULL;
    memcpy(table, FE_LAYERS, sizeof table);
    table[k] = &broken;
    assert_non_null(fe_layer_table_check(table, FE_LAYER_KIND_COUNT, why, sizeof why));
    broken = *FE_LAYERS[k];
    broken.schema.what = "something else";
    assert_non_null(fe_layer_table_check(table, FE_LAYER_KIND_COUNT, why, sizeof why));
    broken = *FE_LAYERS[k];
    broken.loss = NULL; /* a head without its loss; an encoder layer is still complete */
    bool bad = fe_layer_table_check(table, FE_LAYER_KIND_COUNT, why, sizeof why) != NULL;
    assert_int_equal(bad, FE_LAYERS[k]->head);
  }
}

/* A small preset using each kind, input (2, 1, 6). Encoder kinds sit before a CTC head. */
typedef struct Case {
  const char *kind, *encoder, *head;
} Case;
#define CTC_HEAD "{kind: ctc, symbols: 3, max_length: 2}"
static const Case CASES[] = {
    {"conv2d", "[{kind: conv2d, channels: 3, kernel: 1}, {kind: collapse_height}]", CTC_HEAD},
    {"batchnorm", "[{kind: batchnorm}, {kind: collapse_height}]", CTC_HEAD},
    {"relu", "[{kind: relu}, {kind: collapse_height}]", CTC_HEAD},
    {"maxpool", "[{kind: maxpool, kernel: [1, 2]}, {kind: collapse_height}]", CTC_HEAD},
    {"dropout", "[{kind: dropout, rate: 0.5}, {kind: collapse_height}, {kind: dropout}]", CTC_HEAD},
    {"collapse_height", "[{kind: collapse_height}]", CTC_HEAD},
    {"lstm", "[{kind: collapse_height}, {kind: lstm, hidden: 3, bidirectional: true}]", CTC_HEAD},
    {"linear", "[{kind: collapse_height}, {kind: linear, features: 4}]", CTC_HEAD},
    {"attention", "[{kind: collapse_height}]",
     "{kind: attention, symbols: 3, max_length: 2, embedding: 4, attention: 4, hidden: 4}"},
    {"ctc", "[{kind: collapse_height}]", CTC_HEAD},
};

static const Case *case_of(const char *kind) {
  for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++)
    if (strcmp(CASES[i].kind, kind) == 0) return &CASES[i];
  return NULL;
}

static void lower_all_graphs(const FePreset *p) {
  bool ctc = fe_layer_class(p->head->kind)->ctc;
  for (int g = 0; g < FE_GRAPH_KIND_COUNT; g++) {
    RtDiags d = {0};
    FeLowerOptions o = {(FeGraphKind)g, 2, ctc ? FE_LOSS_CTC : FE_LOSS_CROSS_ENTROPY, FE_QUANT_NONE, 0};
    IrGraph *graph = fe_lower(p, &o, NULL, &d);
    if (d.count) rt_diags_print(&d, stderr);
    assert_int_equal(d.count, 0);
    assert_non_null(graph);
    ir_graph_free(graph);
    rt_diags_free(&d);
  }
}

static void test_every_kind_end_to_end(void **state) {
  (void)state;
  for (int k = 0; k < FE_LAYER_KIND_COUNT; k++) {
    const char *name = FE_LAYER_KIND_NAMES[k];
    const Case *c = case_of(name);
    if (!c) fprintf(stderr, "layer kind '%s' has no case in test_frontend_layer.c\n", name);
    assert_non_null(c);
    char yaml[512];
    snprintf(yaml, sizeof yaml, "input: {channels: 2, height: 1, width: 6}\nencoder: %s\nhead: %s\n", c->encoder,
             c->head);
    RtDiags d = {0};
    FePreset *p = fe_preset_parse("case.yaml", yaml, strlen(yaml), &d);
    if (d.count) rt_diags_print(&d, stderr);
    assert_non_null(p);
    int found = -1;
    for (int i = 0; i < p->layer_count && found < 0; i++)
      if (p->layers[i].kind == (FeLayerKind)k) found = i;
    assert_true(found >= 0);
    cJSON *json = fe_preset_json(p);
    cJSON *layer = cJSON_GetArrayItem(cJSON_GetObjectItem(json, "layers"), found);
    assert_string_equal(cJSON_GetObjectItem(layer, "kind")->valuestring, name);
    cJSON_Delete(json);
    lower_all_graphs(p);
    fe_preset_free(p);
    rt_diags_free(&d);
  }
}

/* An unknown key names the row's schema, so each kind's own field table is the one used. */
static void test_every_kind_uses_its_schema(void **state) {
  (void)state;
  for (int k = 0; k < FE_LAYER_KIND_COUNT; k++) {
    const FeLayerClass *row = FE_LAYERS[k];
    char yaml[256], expect[128];
    if (row->head)
      snprintf(yaml, sizeof yaml, "input: {channels: 1, height: 1, width: 4}\nencoder: [{kind: collapse_height}]\n"
               "head: {kind: %s, zzz: 1}\n", FE_LAYER_KIND_NAMES[k]);
    else
      snprintf(yaml, sizeof yaml, "input: {channels: 1, height: 1, width: 4}\nencoder: [{kind: %s, zzz: 1}]\n"
               "head: {kind: ctc}\n", FE_LAYER_KIND_NAMES[k]);
    RtDiags d = {0};
    FePreset *p = fe_preset_parse("case.yaml", yaml, strlen(yaml), &d);
    assert_null(p);
    snprintf(expect, sizeof expect, "unknown key 'zzz' for %s", row->schema.what);
    bool seen = false;
    for (int i = 0; i < d.count; i++) seen |= strstr(d.items[i].msg, expect) != NULL;
    if (!seen) rt_diags_print(&d, stderr);
    assert_true(seen);
    rt_diags_free(&d);
  }
}

static char *read_source(const char *rel) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", SMELT_SOURCE_DIR, rel);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *text = calloc(1, (size_t)n + 1);
  assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  return text;
}

/* The dependency direction that replaced the include circle of fe_lower.c and fe_lower_*.c:
 * drivers -> table -> rows -> helpers. A row or a helper that reached back into a dispatcher
 * (the table, the parameter walk, shape inference, the lowering driver) would close a circle. */
static void test_rows_and_helpers_reach_no_dispatcher(void **state) {
  (void)state;
  static const char *const dispatchers[] = {"fe_layer_class(", "FE_LAYERS", "fe_layer_params(",
                                            "fe_preset_infer(", "fe_lower(", "fe_preset_train_inputs("};
  char dir_path[512];
  snprintf(dir_path, sizeof dir_path, "%s/frontend", SMELT_SOURCE_DIR);
  DIR *dir = opendir(dir_path);
  assert_non_null(dir);
  int checked = 0;
  for (struct dirent *e; (e = readdir(dir));) {
    const char *n = e->d_name;
    bool row = strncmp(n, "fe_layer_", 9) == 0, helper = strcmp(n, "fe_lower_util.c") == 0;
    if (!(row || helper) || strcmp(n + strlen(n) - 2, ".c") != 0) continue;
    char rel[300];
    snprintf(rel, sizeof rel, "frontend/%s", n);
    char *text = read_source(rel);
    for (size_t i = 0; i < sizeof dispatchers / sizeof dispatchers[0]; i++) {
      if (strstr(text, dispatchers[i])) fprintf(stderr, "%s uses %s\n", rel, dispatchers[i]);
      assert_null(strstr(text, dispatchers[i]));
    }
    free(text);
    checked++;
  }
  closedir(dir);
  assert_int_equal(checked, FE_LAYER_KIND_COUNT + 2); /* the rows, fe_layer_util.c, fe_lower_util.c */
  char *impl = read_source("frontend/fe_lower_impl.h");
  assert_null(strstr(impl, "#include \"frontend/fe_layer.h\""));
  free(impl);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_table_complete),
      cmocka_unit_test(test_missing_row_reported),
      cmocka_unit_test(test_incomplete_row_reported),
      cmocka_unit_test(test_every_kind_end_to_end),
      cmocka_unit_test(test_every_kind_uses_its_schema),
      cmocka_unit_test(test_rows_and_helpers_reach_no_dispatcher),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

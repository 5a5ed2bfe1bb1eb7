/* Tests of the IR text form (ir_text.h): every .ir file of the repo round-trips byte for byte,
 * graphs built in code with every op print and parse back identical, non-canonical text is
 * accepted and canonicalised, and each file of tests/ir/bad gives exactly the diagnostics in
 * its .expected file. A small deterministic mutation loop checks the parser never crashes. */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_support.h"

#include "ir/ir_builder.h"
#include "ir/ir_ops.h"
#include "ir/ir_text.h"

#define SRC(rel) SMELT_SOURCE_DIR "/" rel

/* ---- helpers ---- */

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* sorted names of the files in dir ending in suffix; caller frees each and the array */
static char **list_files(const char *dir, const char *suffix, int *n) {
  DIR *d = opendir(dir);
  if (!d) fail_msg("cannot open directory %s", dir);
  char **names = NULL;
  *n = 0;
  for (struct dirent *e; (e = readdir(d));) {
    size_t len = strlen(e->d_name), sl = strlen(suffix);
    if (len <= sl || strcmp(e->d_name + len - sl, suffix) != 0) continue;
    names = realloc(names, (size_t)(*n + 1) * sizeof *names);
    names[(*n)++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, (size_t)*n, sizeof *names, cmp_str);
  return names;
}

static void free_list(char **names, int n) {
  for (int i = 0; i < n; i++) free(names[i]);
  free(names);
}

/* all diagnostics, one line each */
static char *diags_text(const RtDiags *d) {
  size_t cap = 256, len = 0;
  char *s = malloc(cap), line[1400];
  s[0] = 0;
  for (int i = 0; i < d->count; i++) {
    rt_diag_format(&d->items[i], line, sizeof line);
    size_t n = strlen(line);
    while (len + n + 2 > cap) s = realloc(s, cap *= 2);
    memcpy(s + len, line, n);
    len += n;
    s[len++] = '\n';
    s[len] = 0;
  }
  return s;
}

static IrGraph *parse_ok(const char *text, const char *file) {
  RtDiags d = {0};
  IrGraph *g = ir_parse(text, strlen(text), file, &d);
  if (!g || d.count) {
    char *msg = diags_text(&d);
    fail_msg("%s does not parse:\n%s", file, msg);
  }
  rt_diags_free(&d);
  return g;
}

/* print(g) parses back into a graph equal to g, which prints the same text */
static void check_reparse(const IrGraph *g, const char *what) {
  char *text = ir_print_to_string(g);
  IrGraph *back = parse_ok(text, what);
  char why[200];
  if (!ir_graph_equal(g, back, why, sizeof why)) fail_msg("%s: reparsed graph differs: %s\n%s", what, why, text);
  char *again = ir_print_to_string(back);
  assert_string_equal(again, text);
  free(again);
  free(text);
  ir_graph_free(back);
}

/* ---- the corpus ---- */

static int round_trip_dir(const char *dir) {
  int n;
  char **names = list_files(dir, ".ir", &n);
  for (int i = 0; i < n; i++) {
    char path[512];
    size_t len;
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    char *text = test_read_text(path, &len);
    IrGraph *g = parse_ok(text, names[i]);
    char *printed = ir_print_to_string(g);
    if (strcmp(printed, text) != 0) fail_msg("%s is not canonical; the printer gives:\n%s", path, printed);
    check_reparse(g, names[i]);
    free(printed);
    free(text);
    ir_graph_free(g);
  }
  free_list(names, n);
  return n;
}

static void test_corpus_round_trip(void **state) {
  assert_true(round_trip_dir(SRC("examples/ir")) >= 3);
  assert_true(round_trip_dir(SRC("tests/ir")) >= 4);
  const char *required[] = {"mlp.ir", "convnet.ir", "lstm_cell.ir"};
  for (int i = 0; i < 3; i++) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", SRC("examples/ir"), required[i]);
    RtDiags d = {0};
    IrGraph *g = ir_parse_file(path, &d);
    assert_non_null(g);
    /* runnable training programs: output 0 is a scalar f32 loss */
    assert_true(g->n_outputs >= 1);
    const IrType *t = ir_type_of(g, g->outputs[0]);
    assert_int_equal(t->dtype, IR_F32);
    assert_int_equal(t->shape.rank, 0);
    ir_graph_free(g);
    rt_diags_free(&d);
  }
}

/* ---- graphs built in code ---- */

static void build_every_op(IrGraph *g) {
  IrId a = ir_input(g, "a", IR_F32, IR_SHAPE(2, 3));
  IrId b = ir_param(g, "b", IR_SHAPE(3), IR_INIT_NORMAL, 0.02);
  IrId idx = ir_input(g, "idx", IR_I32, IR_SHAPE(2, 3));
  ir_node(g, idx)->init = IR_INIT_UNIFORM;
  ir_node(g, idx)->value = 4;
  IrId seed = ir_state(g, "seed", IR_I32, IR_SHAPE(), IR_INIT_FILL, 12345);
  IrId img = ir_input(g, NULL, IR_F32, IR_SHAPE(2, 3, 7, 6));
  IrId filt = ir_param(g, "conv.w", IR_SHAPE(4, 3, 3, 2), IR_INIT_UNIFORM, 0.1 / 3);
  IrId table = ir_param(g, "_table", IR_SHAPE(5, 2), IR_INIT_ONES, 0);
  IrId m = ir_state(g, "m", IR_F32, IR_SHAPE(2, 3), IR_INIT_ZEROS, 0);
  IrId pos = ir_exp(g, a);
  for (int op = IR_OP_NEG; op <= IR_OP_SQUARE; op++) ir_unary(g, (IrOp)op, pos);
  IrId fi = ir_to_f32(g, idx), ii = ir_to_i32(g, a);
  for (int op = IR_OP_ADD; op <= IR_OP_GE; op++) ir_binary(g, (IrOp)op, pos, b);
  ir_eq(g, ii, idx);
  IrId sel = ir_select(g, ir_gt(g, a, b), a, fi);
  ir_sum(g, sel, 1, (int[]){1}, true);
  ir_mean(g, sel, 2, (int[]){0, 1}, false);
  ir_reduce_max(g, sel, 0, NULL, false);
  ir_matmul(g, a, sel, true, false);
  IrId qa = ir_quantize(g, a, b);
  ir_matmul(g, qa, qa, false, true);
  ir_conv2d_ex(g, ir_quantize(g, img, ir_scalar(g, 0.01)), ir_param_i8(g, "qfilt", IR_SHAPE(2, 3, 2, 2)), ir_conv_spec(1, 0));
  IrConvSpec cs = {{2, 1}, {1, 0, 2, 1}, {1, 2}};
  IrId conv = ir_conv2d_ex(g, img, filt, cs);
  ir_conv2d_grad_input(g, conv, filt, cs, 7, 6);
  ir_conv2d_grad_filter(g, img, conv, cs, 3, 2);
  IrPoolSpec ps = {{3, 2}, {2, 1}, {1, 0, 1, 1}};
  IrId mp = ir_maxpool2d(g, img, ps);
  ir_maxpool2d_grad(g, img, mp, ps);
  IrId ap = ir_avgpool2d(g, img, ir_pool_spec(2, 2));
  ir_avgpool2d_grad(g, ap, ir_pool_spec(2, 2), 7, 6);
  IrId rs = ir_reshape(g, a, IR_SHAPE(3, 1, 2));
  ir_transpose(g, rs, 3, (int[]){2, 0, 1});
  ir_slice(g, img, (int64_t[]){1, 0, 2, 0}, (int64_t[]){2, 3, 7, 5}, (int64_t[]){1, 2, 3, 1});
  ir_concat(g, 3, (IrId[]){a, sel, pos}, 1);
  ir_pad(g, a, (int64_t[]){0, 2}, (int64_t[]){1, 0});
  ir_broadcast(g, b, IR_SHAPE(4, 1, 3));
  IrId ga = ir_gather(g, table, idx);
  ir_scatter_add(g, idx, ga, 5);
  ir_one_hot(g, idx, 7);
  ir_argmax(g, a, 1);
  ir_rng_uniform(g, seed, 9, IR_SHAPE(2, 3));
  IrId logits = ir_reshape(g, ir_concat(g, 2, (IrId[]){pos, sel}, 1), IR_SHAPE(2, 3, 2));
  IrId labels = ir_const_data(g, IR_I32, IR_SHAPE(2, 1), (const double[]){1, 0});
  IrId lens = ir_const_data(g, IR_I32, IR_SHAPE(2), (const double[]){1, 0});
  IrId w_hh[2] = {ir_param(g, "w_hh", IR_SHAPE(8, 2), IR_INIT_UNIFORM, 0.5),
                  ir_param(g, "w_hh_r", IR_SHAPE(8, 2), IR_INIT_UNIFORM, 0.5)};
  IrId xproj[2] = {ir_input(g, "gates", IR_F32, IR_SHAPE(3, 2, 8)), ir_input(g, "gates_r", IR_F32, IR_SHAPE(3, 2, 8))};
  IrId scan = ir_lstm_scan(g, 2, xproj, w_hh, true);
  IrId w_q = ir_param_i8(g, "w_hh_q", IR_SHAPE(8, 2)), w_s = ir_param(g, "w_hh_q.scale", IR_SHAPE(8), IR_INIT_ONES, 0);
  ir_graph_add_output(g, ir_lstm_scan_i8(g, 1, xproj, &w_q, &w_s));
  ir_graph_add_output(g, ir_all_sum(g, pos));
  ir_graph_add_output(g, ir_lstm_scan_grad(g, scan, scan, 2, w_hh));
  IrId ctc = ir_ctc_loss(g, logits, labels, lens, 0);
  IrId grad = ir_ctc_loss_grad(g, logits, labels, lens, ctc, 0);
  IrId loss = ir_sum_all(g, ctc);
  assert_true(grad != IR_NONE && loss != IR_NONE);
  ir_graph_set_name(g, loss, "loss");
  ir_graph_add_output(g, loss);
  ir_graph_add_output(g, grad);
  ir_graph_add_update(g, m, sel);
  ir_graph_add_update(g, b, ir_sub(g, b, ir_mul_scalar(g, b, 1e-3)));
  if (g->error[0]) fail_msg("builder: %s", g->error);
}

static void test_builder_round_trip(void **state) {
  IrGraph *g = ir_graph_new("every_op");
  build_every_op(g);
  bool seen[IR_OP_COUNT] = {0};
  for (IrId id = 0; id < g->n_nodes; id++)
    if (g->nodes[id]->kind == IR_NODE_OP) seen[g->nodes[id]->op] = true;
  for (int op = 0; op < IR_OP_COUNT; op++)
    if (!seen[op]) fail_msg("op %s is not exercised", ir_op_info[op].name);
  check_reparse(g, "every_op");
  ir_graph_free(g);
}

/* constants holding arbitrary finite doubles come back bit for bit */
static void test_random_doubles_round_trip(void **state) {
  uint64_t s = 0x9e3779b97f4a7c15ull;
  for (int round = 0; round < 20; round++) {
    IrGraph *g = ir_graph_new("doubles");
    double data[64];
    for (int i = 0; i < 64; i++) {
      double v;
      do {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17; /* xorshift64 */
        memcpy(&v, &s, sizeof v);
      } while (isnan(v));
      data[i] = v;
    }
    ir_const_data(g, IR_F32, IR_SHAPE(4, 16), data);
    ir_const_fill(g, IR_F32, IR_SHAPE(1), data[round]);
    check_reparse(g, "doubles");
    ir_graph_free(g);
  }
}

static void test_format_double(void **state) {
  const struct {
    double v;
    const char *s;
  } cases[] = {{0.1, "0.1"},   {1e-5, "1e-5"},       {1e20, "1e20"},     {-0.0, "-0"},
               {1.0, "1"},     {-2.5e-3, "-0.0025"}, {1e100, "1e100"},   {1.5e-300, "1.5e-300"},
               {INFINITY, "inf"}, {-INFINITY, "-inf"}, {NAN, "nan"},    {1.0 / 3, "0.3333333333333333"},
               {123456789.125, "123456789.125"}, {0.35, "0.35"}, {2147483647.0, "2147483647"}};
  char buf[40];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    assert_string_equal(ir_format_double(cases[i].v, buf, sizeof buf), cases[i].s);
}

/* ---- accepted, non-canonical text ---- */

static void test_parse_lenient(void **state) {
  const char *text =
      "# a comment before the graph\n"
      "\n"
      "graph   lenient{   # trailing comment\n"
      "  %in=input   uniform( 1 ):f32[ 2 , 3 ]\n"
      "\t%w = param normal(1.0e-1) : f32[3,3]\n"
      "  %5 = matmul(%in,%w){trans_b=0,trans_a=0}:f32[2,3]\n"
      "  output %5\n"
      "  %s = reduce_sum(%5) {keepdims=0, axes=1} : f32[2]\n"
      "  %m = state zeros : f32[2]\n"
      "  update %m <- %s\n"
      "  %c = concat(%s, %s) {axis=[0]} : f32[4]\n"
      "  %77 = relu(%c) {} : f32[4]\n"
      "  output %77\n"
      "}\n"
      "# after the graph\n";
  const char *canonical =
      "graph lenient {\n"
      "  %in = input uniform(1) : f32[2,3]\n"
      "  %w = param normal(0.1) : f32[3,3]\n"
      "  %2 = matmul(%in, %w) {trans_a=0, trans_b=0} : f32[2,3]\n"
      "  %s = reduce_sum(%2) {axes=[1], keepdims=0} : f32[2]\n"
      "  %m = state zeros : f32[2]\n"
      "  %c = concat(%s, %s) {axis=0} : f32[4]\n"
      "  %6 = relu(%c) : f32[4]\n"
      "  output %2\n"
      "  output %6\n"
      "  update %m <- %s\n"
      "}\n";
  IrGraph *g = parse_ok(text, "lenient.ir");
  char *printed = ir_print_to_string(g);
  assert_string_equal(printed, canonical);
  /* numbered labels leave nodes unnamed; positions are recorded */
  assert_null(ir_node(g, 2)->name);
  assert_string_equal(ir_node(g, 0)->name, "in");
  assert_int_equal(ir_node(g, 0)->line, 4);
  assert_int_equal(ir_node(g, 0)->col, 3);
  assert_int_equal(ir_node(g, 1)->line, 5);
  assert_int_equal(ir_node(g, 1)->col, 2);
  free(printed);
  ir_graph_free(g);
  /* text need not be NUL-terminated: only len bytes are read */
  const char *two = "graph a {\n}\ngarbage";
  RtDiags d = {0};
  g = ir_parse(two, 12, "cut.ir", &d);
  assert_non_null(g);
  assert_int_equal(d.count, 0);
  assert_int_equal(g->n_nodes, 0);
  ir_graph_free(g);
}

/* ---- rejected text ---- */

static void test_bad_corpus(void **state) {
  const char *dir = SRC("tests/ir/bad");
  int n;
  char **names = list_files(dir, ".ir", &n);
  assert_true(n >= 15);
  for (int i = 0; i < n; i++) {
    char path[512], expected_path[512];
    size_t len, elen;
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    snprintf(expected_path, sizeof expected_path, "%.*s.expected", (int)strlen(path) - 3, path);
    char *text = test_read_text(path, &len), *expected = test_read_text(expected_path, &elen);
    RtDiags d = {0};
    IrGraph *g = ir_parse(text, len, names[i], &d);
    if (g) fail_msg("%s parses, but it should not", names[i]);
    char *got = diags_text(&d);
    if (strcmp(got, expected) != 0) fail_msg("%s:\n-- expected --\n%s-- got --\n%s", names[i], expected, got);
    /* errors, then after parse errors one note that the verifier did not run */
    int notes = d.count - d.errors;
    assert_true(notes == 0 || (notes == 1 && d.items[d.count - 1].level == RT_DIAG_NOTE));
    free(got);
    free(text);
    free(expected);
    rt_diags_free(&d);
  }
  free_list(names, n);
}

static void test_parse_file_errors(void **state) {
  RtDiags d = {0};
  assert_null(ir_parse_file(SRC("tests/ir/no_such_file.ir"), &d));
  assert_int_equal(d.errors, 1);
  assert_non_null(strstr(d.items[0].msg, "cannot open"));
  assert_null(ir_parse_file(SRC("tests/ir"), &d)); /* a directory */
  assert_int_equal(d.errors, 2);
  assert_non_null(strstr(d.items[1].msg, "cannot read"));
  rt_diags_free(&d);
  /* NULL text and file */
  assert_null(ir_parse(NULL, 0, NULL, &d));
  assert_string_equal(d.items[0].file, "<string>");
  rt_diags_free(&d);
}

/* Every prefix and many random byte edits of each corpus file: the parser must not crash, and
 * whatever parses must round-trip. A deterministic stand-in for the libFuzzer target. */
static void mutate_and_parse(const char *text, size_t len, uint64_t *rng) {
  char *buf = malloc(len + 1);
  for (size_t cut = 0; cut <= len; cut++) {
    RtDiags d = {0};
    IrGraph *g = ir_parse(text, cut, "prefix", &d);
    if (g) check_reparse(g, "prefix");
    ir_graph_free(g);
    rt_diags_free(&d);
  }
  static const char alphabet[] = "%=(){}[],:<-#\n 0123456789.e+-_fix";
  for (int round = 0; round < 300; round++) {
    memcpy(buf, text, len);
    for (int k = 0; k < 3; k++) {
      *rng = *rng * 6364136223846793005ull + 1442695040888963407ull;
      size_t at = (size_t)(*rng >> 33) % len;
      buf[at] = (*rng & 1) ? (char)(*rng >> 8) : alphabet[(*rng >> 16) % (sizeof alphabet - 1)];
    }
    RtDiags d = {0};
    IrGraph *g = ir_parse(buf, len, "mutant", &d);
    if (g) check_reparse(g, "mutant");
    ir_graph_free(g);
    rt_diags_free(&d);
  }
  free(buf);
}

static void test_parse_never_crashes(void **state) {
  const char *files[] = {SRC("examples/ir/mlp.ir"), SRC("tests/ir/all_ops.ir"),
                         SRC("tests/ir/numbers.ir"), SRC("tests/ir/unnamed.ir")};
  uint64_t rng = 42;
  for (int i = 0; i < 4; i++) {
    size_t len;
    char *text = test_read_text(files[i], &len);
    mutate_and_parse(text, len, &rng);
    free(text);
  }
}

/* the printer is also a debugging dump: broken graphs print without crashing */
static void test_print_broken_graph(void **state) {
  IrGraph *g = ir_graph_new("broken");
  IrId x = ir_input(g, "x", IR_F32, IR_SHAPE(2));
  IrId r = ir_relu(g, x);
  ir_node(g, r)->in[0] = 99;
  ir_node(g, r)->type.shape.rank = 40;
  ir_node(g, x)->init = IR_INIT_DATA; /* without data */
  char *s = ir_print_to_string(g);
  assert_string_equal(s, "graph broken {\n  %x = input data() : f32[2]\n  %1 = relu(%99) : f32[2,0,0,0,0,0]\n}\n");
  free(s);
  ir_graph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_corpus_round_trip),  cmocka_unit_test(test_builder_round_trip),
      cmocka_unit_test(test_random_doubles_round_trip), cmocka_unit_test(test_format_double),
      cmocka_unit_test(test_parse_lenient),      cmocka_unit_test(test_bad_corpus),
      cmocka_unit_test(test_parse_file_errors),  cmocka_unit_test(test_parse_never_crashes),
      cmocka_unit_test(test_print_broken_graph),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

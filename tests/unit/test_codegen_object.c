/* Object emission: the compiled step of an example program, emitted as an ELF object, links with
 * the system C compiler into a small C program (`cc prog.c step.o -lm`, nothing of
 * smelt's) whose results are bit-identical to the same code run in the JIT. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "codegen/cg_compare.h"
#include "driver/drv_pipeline.h"
#include "codegen/cg_program.h"
#include "codegen/cg_target.h"
#include "ir/ir_builder.h"
#include "ir/ir_interp.h"
#include "ir/ir_text.h"
#include "passes/train_graph.h"
#include "support/rt_assert.h"

static const char PROGRAM[] =
    "#include <stdio.h>\n"
    "#include <stdlib.h>\n"
    "void test_step(void *state, void *io, void *scratch);\n"
    "static void *slurp(const char *path, long n) {\n"
    "  void *p = calloc(1, n > 0 ? n : 1); FILE *f = fopen(path, \"rb\");\n"
    "  if (!f || fread(p, 1, n, f) != (size_t)n) exit(3); fclose(f); return p; }\n"
    "static void spill(const char *path, void *p, long n) {\n"
    "  FILE *f = fopen(path, \"wb\"); if (!f || fwrite(p, 1, n, f) != (size_t)n) exit(4); fclose(f); }\n"
    "int main(int argc, char **argv) {\n"
    "  long ns = atol(argv[1]), ni = atol(argv[2]), nx = atol(argv[3]);\n"
    "  void *s = slurp(\"state.bin\", ns), *io = slurp(\"io.bin\", ni), *x = calloc(1, nx > 0 ? nx : 1);\n"
    "  test_step(s, io, x);\n"
    "  spill(\"state.out\", s, ns); spill(\"io.out\", io, ni); return 0; }\n";

static void write_file(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(p, 1, n, f), n);
  fclose(f);
}

static void *read_file(const char *path, size_t n) {
  void *p = calloc(1, n ? n : 1);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  assert_int_equal(fread(p, 1, n, f), n);
  fclose(f);
  return p;
}

static void *zalloc(int64_t n) {
  void *p = NULL;
  RT_ASSERT(posix_memalign(&p, 64, (size_t)(n > 0 ? n : 64)) == 0, "oom");
  memset(p, 0, (size_t)(n > 0 ? n : 64));
  return p;
}

static void test_object_links_and_matches_jit(void **state) {
  RtDiags d = {0};
  IrGraph *g = ir_parse_file(SMELT_SOURCE_DIR "/examples/ir/convnet.ir", &d);
  assert_non_null(g);
  PassOptimizer opt = {.kind = PASS_OPT_ADAM};
  PassTraining tr;
  assert_true(pass_build_training(g, g->outputs[0], &opt, &tr, &d));
  /* JIT, serial (deployable objects do not use the thread pool) */
  DrvInput in = {.graph = g, .done = DRV_STAGE_SIMPLIFIED, .step = "test_step"};
  DrvOptions co = {.serial = true, .no_cache = true, .module = "test", .prefix = "test"};
  DrvProgram *dp = drv_compile(&in, &co, DRV_STAGE_LOADED, &d);
  rt_diags_print(&d, stderr);
  assert_non_null(dp);
  const CgProgram *p = dp->units[0].program;
  int64_t nb[3];
  for (int r = 0; r < 3; r++) nb[r] = p->plan->region_bytes[r];
  void *regions[3] = {zalloc(nb[0]), zalloc(nb[1]), zalloc(nb[2])};
  IrInterp *it = ir_interp_new(g);
  ir_interp_init_leaves(it, 5);
  cg_compare_load_leaves(p, it, regions[0], regions[1], regions[2]);
  ir_interp_free(it);
  char dir[] = "/tmp/smelt-object-XXXXXX";
  assert_non_null(mkdtemp(dir));
  assert_int_equal(chdir(dir), 0);
  write_file("state.bin", regions[0], (size_t)nb[0]);
  write_file("io.bin", regions[1], (size_t)nb[1]);
  write_file("prog.c", PROGRAM, strlen(PROGRAM));
  p->step(regions[0], regions[1], regions[2]);
  /* the same program as an object file: the object the JIT loaded */
  write_file("step.o", dp->object, dp->object_len);
  assert_int_equal(system("cc -O1 -o prog prog.c step.o -lm"), 0);
  char cmd[256];
  snprintf(cmd, sizeof cmd, "./prog %lld %lld %lld", (long long)nb[0], (long long)nb[1], (long long)nb[2]);
  assert_int_equal(system(cmd), 0);
  void *state_out = read_file("state.out", (size_t)nb[0]), *io_out = read_file("io.out", (size_t)nb[1]);
  assert_memory_equal(state_out, regions[0], (size_t)nb[0]); /* updated params and moments */
  assert_memory_equal(io_out, regions[1], (size_t)nb[1]);    /* loss and outputs */
  /* the object exports only symbols of its own prefix (the step and its kernel table) */
  assert_int_equal(system("nm -g --defined-only step.o | grep -v ' test_step' | grep -q ."), 256);
  assert_int_equal(system("nm -g --defined-only step.o | grep -q ' T test_step$'"), 0);
  free(state_out);
  free(io_out);
  for (int r = 0; r < 3; r++) free(regions[r]);
  drv_program_free(dp);
  ir_graph_free(g);
  rt_diags_free(&d);
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
}

/* The host's assembly of g compiled alone (one worker), or NULL when the host has vectors narrower
 * than 512 bits (nothing to check there). Caller frees. */
static char *assembly_on_512_bit_host(const IrGraph *g) {
  RtDiags d = {0};
  assert_true(cg_target_init(&d));
  CgTarget *t = cg_target_new(NULL, &d);
  assert_non_null(t);
  if (t->vector_bits < 512) {
    printf("host has %d-bit vectors: skipping the zmm check\n", t->vector_bits);
    cg_target_free(t);
    return NULL;
  }
  PassPlanOptions po = {.workers = 1};
  PassPlan *plan = pass_plan(g, &po);
  CgContext c;
  cg_context_init(&c, g->name, g->name);
  cg_program_emit_module(&c, plan, "step");
  assert_true(cg_optimize(c.mod, t->tm, &d));
  char *asm_text = cg_emit_assembly(c.mod, t->tm, &d);
  assert_non_null(asm_text);
  cg_context_dispose(&c);
  pass_plan_free(plan);
  cg_target_free(t);
  return asm_text;
}

/* Fused elementwise loops use the host's full vector width (zmm registers on AVX-512). */
static void test_kernels_use_full_vector_width(void **state) {
  IrGraph *g = ir_graph_new("vector_width");
  IrId x = ir_input(g, "x", IR_F32, IR_SHAPE(64, 1000)), y = ir_input(g, "y", IR_F32, IR_SHAPE(1000));
  ir_graph_add_output(g, ir_tanh(g, ir_add(g, ir_mul(g, x, y), ir_scalar(g, 0.5))));
  char *asm_text = assembly_on_512_bit_host(g);
  if (asm_text) assert_non_null(strstr(asm_text, "zmm"));
  free(asm_text);
  ir_graph_free(g);
}

/* Does some line of the assembly hold both needles? */
static bool asm_line_has(const char *text, const char *a, const char *b) {
  for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
    const char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line) : strlen(line);
    char buf[256];
    if (len >= sizeof buf) continue;
    memcpy(buf, line, len);
    buf[len] = 0;
    if (strstr(buf, a) && strstr(buf, b)) return true;
  }
  return false;
}

/* A long reduction is summed in blocks (cg_loop.c): the block sums still run on full-width
 * vectors. */
static void test_blocked_sum_uses_full_vector_width(void **state) {
  IrGraph *g = ir_graph_new("blocked_sum");
  IrId x = ir_input(g, "x", IR_F32, IR_SHAPE(8, 100000));
  ir_graph_add_output(g, ir_reduce(g, IR_OP_REDUCE_SUM, x, 1, (int[]){1}, false));
  char *asm_text = assembly_on_512_bit_host(g);
  if (asm_text) assert_true(asm_line_has(asm_text, "vaddps", "zmm"));
  free(asm_text);
  ir_graph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_object_links_and_matches_jit),
                                     cmocka_unit_test(test_kernels_use_full_vector_width),
                                     cmocka_unit_test(test_blocked_sum_uses_full_vector_width)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}

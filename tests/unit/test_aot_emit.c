/* `smelt emit` and examples/deploy: objects emitted from checkpoints of the mini CTC and attention
 * presets (one epoch at a negligible learning rate, so predictions are the initial weights'),
 * linked by the system C compiler with nothing of smelt's, print what `smelt predict` prints on
 * the same images (embedded weights or a weights file, batch 1 or more). A probe program checks
 * the raw ids bit for bit against the JIT-compiled inference graph, runs two threads at once,
 * the argument checks, and NAME_decode on crafted rows (a charset with multi-byte symbols). */
#include <glob.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/wait.h>

#include "driver/checkpoint_model.h"
#include "runtime/rt_charset.h"
#include "runtime/rt_image.h"
#include "runtime/rt_metrics.h"
#include "runtime/rt_train_io.h"
#include "support/rt_random.h"
#include "test_aot.h"

static char tmp[] = "/tmp/smelt-aot-emit-XXXXXX";
static char **images; /* validation PNGs and the test images (JPEG and PNG of other sizes) */
static int n_images;
static glob_t found;

static char *path(const char *rel) {
  static char buf[8][700];
  static int next;
  char *p = buf[next++ % 8];
  snprintf(p, 700, "%s/%s", tmp, rel);
  return p;
}

static int sh(const char *cmd) {
  int rc = system(cmd);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* One epoch of a mini study at learning rate 1e-9 into tmp/<name>. */
static void train(const char *name, const char *preset, const char *loss, const char *charset, int count) {
  char text[1024], config[700];
  snprintf(text, sizeof text,
           "defaults:\n  epochs: 1\n  batch_size: 16\n  learning_rate: 1.0e-9\n  scheduler: constant\n"
           "  early_stopping: false\n  seed: 2\n"
           "  data: {synthetic: {train: %d, val: 32, seed: 3, length: [1, 3]}, charset: '%s'}\n"
           "experiments:\n  %s:\n    model: %s/tests/train/%s\n    loss: %s\n",
           count, charset, name, SMELT_SOURCE_DIR, preset, loss);
  snprintf(config, sizeof config, "%s/%s.yaml", tmp, name);
  FILE *f = fopen(config, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  const char *args[] = {"train", config, "--out", tmp, "--quiet", NULL};
  assert_int_equal(run_cmd_to("/dev/null", cmd_train, args), 0);
}

/* Emits checkpoint ckpt (for --cpu cpu, or NULL: this machine) into tmp/<dir>/model.{o,h},
 * builds examples/deploy against it, runs it on the images and checks that it prints what
 * `smelt predict` prints. */
static void deploy_checkpoint_matches_predict(const char *ckpt, const char *dir, const char *batch, bool weights_file,
                                              const char *cpu) {
  char out[700], cmd[8192];
  snprintf(out, sizeof out, "%s/%s", tmp, dir);
  const char *emit[12] = {"emit", ckpt, "-o", out, "--name", "model", "--batch", batch, cpu ? "--cpu" : NULL, cpu, NULL};
  if (weights_file) emit[cpu ? 10 : 8] = "--weights-file";
  assert_int_equal(run_cmd(cmd_emit, emit), 0);
  snprintf(cmd, sizeof cmd, "cc -O1 -I%s -o %s/deploy %s/examples/deploy/deploy.c %s/model.o -lm", out, out,
           SMELT_SOURCE_DIR, out);
  assert_int_equal(sh(cmd), 0);
  int n = snprintf(cmd, sizeof cmd, "%s/deploy%s%s%s", out, weights_file ? " -w " : "", weights_file ? out : "",
                   weights_file ? "/model.weights" : "");
  for (int i = 0; i < n_images; i++) n += snprintf(cmd + n, sizeof cmd - (size_t)n, " %s", images[i]);
  snprintf(cmd + n, sizeof cmd - (size_t)n, " > %s/deploy.txt", out);
  assert_int_equal(sh(cmd), 0);
  const char **predict = calloc((size_t)n_images + 3, sizeof *predict);
  predict[0] = "predict";
  predict[1] = ckpt;
  for (int i = 0; i < n_images; i++) predict[i + 2] = images[i];
  char expected[800];
  snprintf(expected, sizeof expected, "%s/predict.txt", out);
  assert_int_equal(run_cmd_to(expected, cmd_predict, predict), 0);
  free(predict);
  char *want = slurp(expected), *got = slurp(strcat(out, "/deploy.txt"));
  assert_non_null(want);
  assert_non_null(got);
  assert_string_equal(got, want);
  assert_non_null(strstr(got, images[0]));
  free(want);
  free(got);
}

/* The same for tmp/<name>/best.safetensors, compiled for this machine. */
static void deploy_matches_predict(const char *name, const char *dir, const char *batch, bool weights_file) {
  char ckpt[700];
  snprintf(ckpt, sizeof ckpt, "%s/%s/best.safetensors", tmp, name);
  deploy_checkpoint_matches_predict(ckpt, dir, batch, weights_file, NULL);
}

static void test_ctc_deploy_matches_predict(void **state) { deploy_matches_predict("ctc", "ctc1", "1", false); }

/* The ctc checkpoint quantized (docs/quantization.md) on its validation images: the int8 object,
 * for this machine (VNNI where it has it) and for AVX2 (the multiply path), reads as predict does.
 * The JPEG texture is a near tie for this untrained model, which int8's rounding breaks: it reads
 * the same only because the deploy example rounds a resized image's inputs to a data set's 256
 * levels as predict does (examples/deploy/preprocess.h, rule 5). */
static void test_int8_deploy_matches_predict(void **state) {
  char calib[700], ckpt[700];
  snprintf(calib, sizeof calib, "%s", images[0]);
  *strrchr(calib, '/') = 0; /* the validation images' folder */
  snprintf(ckpt, sizeof ckpt, "%s/ctc/best.int8.safetensors", tmp);
  const char *quantize[] = {"quantize", path("ctc/best.safetensors"), "--calib", calib, "-o", ckpt, NULL};
  assert_int_equal(run_cmd_to("/dev/null", cmd_quantize, quantize), 0);
  deploy_checkpoint_matches_predict(ckpt, "ctc8", "2", false, NULL);
  deploy_checkpoint_matches_predict(ckpt, "ctc8v3", "1", true, "x86-64-v3");
}

static void test_ctc_batch_with_weights_file(void **state) { deploy_matches_predict("ctc", "ctc4w", "4", true); }

static void test_attention_deploy_matches_predict(void **state) {
  deploy_matches_predict("attention", "attention3", "3", false);
}

/* Only model_ symbols are defined; only the C library's memory and math are used (no OpenBLAS);
 * nothing is writable. */
static void test_object_symbols(void **state) {
  char cmd[1000];
  snprintf(cmd, sizeof cmd, "nm -g --defined-only %s | grep -v ' model_'", path("ctc1/model.o"));
  assert_int_equal(sh(cmd), 1);
  snprintf(cmd, sizeof cmd, "nm -g --defined-only %s | grep -q ' T model_run$'", path("ctc1/model.o"));
  assert_int_equal(sh(cmd), 0);
  snprintf(cmd, sizeof cmd,
           "nm -u %s | grep -Ev ' (memcpy|memmove|memset|expf|logf|tanhf|powf|sqrtf|fmaxf|fminf)$'",
           path("ctc1/model.o"));
  assert_int_equal(sh(cmd), 1);
  /* no writable globals: only read-only data (.data.rel.ro is read-only once relocated) */
  snprintf(cmd, sizeof cmd, "size -A %s | grep -E '^[.](data|bss|tdata|tbss)' | grep -v '^[.]data[.]rel[.]ro '",
           path("ctc1/model.o"));
  assert_int_equal(sh(cmd), 1);
}

static const char PROBE[] =
    "#include <pthread.h>\n#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n#include \"model.h\"\n"
    "enum { P = MODEL_CHANNELS * MODEL_HEIGHT * MODEL_WIDTH, T = MODEL_TOKENS };\n"
    "static float *images; static int count; static int32_t *want;\n"
    "static void run_all(int32_t *out) {\n"
    "  void *scratch = aligned_alloc(64, (MODEL_SCRATCH_BYTES + 63) / 64 * 64);\n"
    "  for (int s = 0; s < count; s += MODEL_BATCH) {\n"
    "    int n = count - s < MODEL_BATCH ? count - s : MODEL_BATCH;\n"
    "    if (model_run(images + (size_t)s * P, n, out + (size_t)s * T, scratch)) exit(5);\n"
    "  }\n  free(scratch);\n}\n"
    "static void *worker(void *ok) {\n"
    "  int32_t *out = malloc(sizeof(int32_t) * count * T);\n"
    "  for (int r = 0; r < 20; r++) { run_all(out); if (memcmp(out, want, sizeof(int32_t) * count * T)) *(int *)ok = 0; }\n"
    "  free(out); return NULL;\n}\n"
    "static void *slurp(const char *p, long n) { void *b = malloc(n); FILE *f = fopen(p, \"rb\");\n"
    "  if (!f || fread(b, 1, n, f) != (size_t)n) exit(3); fclose(f); return b; }\n"
    "int main(int argc, char **argv) {\n"
    "  count = atoi(argv[2]); int rows = atoi(argv[5]);\n"
    "  images = slurp(argv[1], (long)count * P * 4); want = malloc(sizeof(int32_t) * count * T);\n"
    "  run_all(want);\n"
    "  FILE *f = fopen(argv[3], \"wb\"); fwrite(want, 4, (size_t)count * T, f); fclose(f);\n"
    "  pthread_t th[2]; int ok[2] = {1, 1};\n"
    "  for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, worker, &ok[i]);\n"
    "  for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);\n"
    "  if (!ok[0] || !ok[1]) return 6;\n"
    "  void *scratch = aligned_alloc(64, (MODEL_SCRATCH_BYTES + 63) / 64 * 64);\n"
    "  if (model_run(images, MODEL_BATCH + 1, want, scratch) != -1 || model_run(NULL, 1, want, scratch) != -1 ||\n"
    "      model_run(images, -1, want, scratch) != -1 || model_run(images, 1, want, NULL) != -1) return 7;\n"
    "  if (model_decode(NULL, NULL, 0) != -1 || strcmp(MODEL_CHARSET, model_charset)) return 8;\n"
    "  int32_t *rowv = slurp(argv[4], (long)rows * T * 4);\n"
    "  FILE *texts = fopen(argv[6], \"w\");\n"
    "  for (int r = 0; r < rows; r++) {\n"
    "    const int32_t *row = rowv + (size_t)r * T; char text[MODEL_TEXT_BYTES], small[4];\n"
    "    int len = model_decode(row, NULL, 0);\n"
    "    if (model_decode(row, text, sizeof text) != len || (int)strlen(text) != len) return 9;\n"
    "    model_decode(row, small, sizeof small);\n"
    "    if (strncmp(small, text, strlen(small)) || strlen(small) >= sizeof small) return 10;\n"
    "    fprintf(texts, \"%s|%s\\n\", text, small);\n"
    "  }\n"
    "  fclose(texts); free(scratch); free(rowv); free(images); free(want); return 0;\n}\n";

/* Expected text of a row, as smelt predict decodes it, and its prefix of whole symbols that fit
 * in 4 bytes with the NUL. */
static void expected_text(const RtCharset *cs, bool ctc, const int32_t *row, int width, char *text, char *small) {
  int32_t ids[256];
  int64_t n = ctc ? rt_decode_ctc_greedy(row, width, RT_BLANK, ids) : rt_decode_attention(row, width, RT_END, ids);
  size_t used = 0, fit = 0;
  for (int64_t k = 0; k < n; k++) {
    int id = ids[k] - (ctc ? 1 : 2);
    char utf8[4];
    int len = id >= 0 && id < cs->size ? rt_utf8_encode(cs->cps[id], utf8) : 0;
    memcpy(text + used, utf8, (size_t)len);
    if (fit == used && used + (size_t)len + 1 <= 4) fit += (size_t)len;
    used += (size_t)len;
  }
  text[used] = 0;
  memcpy(small, text, fit);
  small[fit] = 0;
}

/* The emitted object's raw ids equal the JIT's on the same inputs, also with two threads at once;
 * decoding of arbitrary rows (repeats, blanks, end tokens, ids outside the charset). */
static void probe(const char *name, const char *dir, bool ctc) {
  char ckpt[700], cmd[4000];
  snprintf(ckpt, sizeof ckpt, "%s/%s/best.safetensors", tmp, name);
  CheckpointModel m;
  RtDiags d = {0};
  int batch = ctc ? 1 : 3;
  assert_true(checkpoint_model_load(ckpt, FE_GRAPH_INFER, batch, FE_QUANT_NONE, &m, &d));
  const RtGraphBin *g = &m.model.eval;
  const RtSlot *in = rt_graph_slot(g, "image"), *pred = rt_graph_slot(g, "pred");
  int64_t per = (int64_t)m.model.height * m.model.width;
  int width = (int)pred->dims[1];
  float *pixels = calloc((size_t)(per * n_images), sizeof *pixels);
  int32_t *jit = calloc((size_t)width * n_images, sizeof *jit);
  void *io = rt_region_alloc(g->io_bytes), *scratch = rt_region_alloc(g->scratch_bytes);
  for (int i = 0; i < n_images; i++) {
    RtImage img;
    char err[256];
    assert_true(rt_image_load(images[i], &img, err, sizeof err));
    rt_image_to_input(&img, m.model.height, m.model.width, pixels + per * i);
    rt_image_free(&img);
  }
  for (int s = 0; s < n_images; s += batch) {
    int n = n_images - s < batch ? n_images - s : batch;
    memset((char *)io + in->offset, 0, (size_t)(per * batch) * sizeof(float));
    memcpy((char *)io + in->offset, pixels + per * s, (size_t)(per * n) * sizeof(float));
    g->step(m.state, io, scratch);
    memcpy(jit + (int64_t)s * width, (char *)io + pred->offset, (size_t)n * width * sizeof *jit);
  }
  /* crafted rows: random ids over [0, classes] (one beyond), runs of repeats */
  enum { ROWS = 200 };
  int32_t *rows = calloc((size_t)ROWS * width, sizeof *rows);
  for (int i = 0; i < ROWS * width; i++) {
    RtPhilox w = rt_random_words(11, 0, (uint64_t)i / 2); /* pairs of equal words: repeats */
    rows[i] = (int32_t)(w.v[0] % (uint32_t)(m.model.classes + 1));
  }
  char dirp[700];
  snprintf(dirp, sizeof dirp, "%s/%s", tmp, dir);
  snprintf(cmd, sizeof cmd, "%s/probe.c", dirp);
  FILE *f = fopen(cmd, "w");
  fputs(PROBE, f);
  fclose(f);
  snprintf(cmd, sizeof cmd, "%s/images.bin", dirp);
  f = fopen(cmd, "wb");
  fwrite(pixels, sizeof *pixels, (size_t)(per * n_images), f);
  fclose(f);
  snprintf(cmd, sizeof cmd, "%s/rows.bin", dirp);
  f = fopen(cmd, "wb");
  fwrite(rows, sizeof *rows, (size_t)ROWS * width, f);
  fclose(f);
  snprintf(cmd, sizeof cmd, "cd %s && cc -O1 -I. -o probe probe.c model.o -lm -lpthread && "
           "./probe images.bin %d tokens.bin rows.bin %d texts.txt", dirp, n_images, ROWS);
  assert_int_equal(sh(cmd), 0);
  snprintf(cmd, sizeof cmd, "%s/tokens.bin", dirp);
  int32_t *got = calloc((size_t)width * n_images, sizeof *got);
  f = fopen(cmd, "rb");
  assert_int_equal(fread(got, sizeof *got, (size_t)width * n_images, f), (size_t)width * n_images);
  fclose(f);
  assert_memory_equal(got, jit, (size_t)width * n_images * sizeof *got);
  snprintf(cmd, sizeof cmd, "%s/texts.txt", dirp);
  char *texts = slurp(cmd), *line = texts;
  RtCharset cs;
  char err[256];
  assert_true(rt_charset_init(&cs, m.charset, err, sizeof err));
  for (int r = 0; r < ROWS; r++) {
    char text[1024], small[8], want[1100];
    expected_text(&cs, ctc, rows + (int64_t)r * width, width, text, small);
    snprintf(want, sizeof want, "%s|%s\n", text, small);
    assert_memory_equal(line, want, strlen(want));
    line += strlen(want);
  }
  rt_charset_free(&cs);
  free(texts);
  free(got);
  free(rows);
  free(io);
  free(scratch);
  free(jit);
  free(pixels);
  checkpoint_model_free(&m);
}

static void test_ctc_object_matches_jit(void **state) { probe("ctc", "ctc1", true); }
static void test_attention_object_matches_jit(void **state) { probe("attention", "attention3", false); }

static void test_emit_errors(void **state) {
  const char *missing[] = {"emit", path("nope.safetensors"), "-o", path("x"), NULL};
  assert_int_equal(run_cmd(cmd_emit, missing), 1);
  const char *name[] = {"emit", path("ctc/best.safetensors"), "-o", path("x"), "--name", "9lives", NULL};
  assert_int_equal(run_cmd(cmd_emit, name), 2);
  const char *no_out[] = {"emit", path("ctc/best.safetensors"), NULL};
  assert_int_equal(run_cmd(cmd_emit, no_out), 2);
}

/* A failed emit leaves the folder as it was: here the weights file cannot be written (a folder
 * has its name), and the object and header of the previous emit must not be replaced by ones
 * that expect other weights. No temporary file stays behind. */
static void test_failed_emit_replaces_nothing(void **state) {
  char dir[700], cmd[2400];
  snprintf(dir, sizeof dir, "%s", path("partial"));
  snprintf(cmd, sizeof cmd, "mkdir -p %s/model.weights && printf 'old object' > %s/model.o && printf 'old header' > %s/model.h",
           dir, dir, dir);
  assert_int_equal(sh(cmd), 0);
  const char *emit[] = {"emit", path("ctc/best.safetensors"), "-o", dir, "--name", "model", "--weights-file", NULL};
  assert_int_equal(run_cmd(cmd_emit, emit), 1);
  char file[800];
  snprintf(file, sizeof file, "%s/model.o", dir);
  char *object = slurp(file);
  snprintf(file, sizeof file, "%s/model.h", dir);
  char *header = slurp(file);
  assert_non_null(object);
  assert_non_null(header);
  assert_string_equal(object, "old object");
  assert_string_equal(header, "old header");
  free(object);
  free(header);
  snprintf(cmd, sizeof cmd, "test \"$(ls -A %s | tr '\\n' ' ')\" = 'model.h model.o model.weights '", dir);
  assert_int_equal(sh(cmd), 0);
}

static int setup(void **state) {
  if (!mkdtemp(tmp)) return -1;
  if (!getenv("SMELT_CACHE_DIR")) setenv("SMELT_CACHE_DIR", path("cache"), 1);
  /* 0 é € 3: 1-, 2- and 3-byte symbols; different set sizes, so the sets do not share a folder */
  train("ctc", "mini_ctc.yaml", "ctc", "0\303\251\342\202\2543", 48);
  train("attention", "mini_attention.yaml", "cross_entropy", "0123", 40);
  char pattern[800];
  snprintf(pattern, sizeof pattern, "%s/data/synth-s3-n48+32-len1-3-c*/val/images/*.png", getenv("SMELT_CACHE_DIR"));
  if (glob(pattern, 0, NULL, &found) != 0) return -1;
  glob(SMELT_SOURCE_DIR "/tests/data/images/*", GLOB_APPEND, NULL, &found);
  images = found.gl_pathv;
  n_images = (int)found.gl_pathc;
  return 0;
}

static int teardown(void **state) {
  globfree(&found);
  char cmd[700];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
  return sh(cmd) == 0 ? 0 : -1;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ctc_deploy_matches_predict),
      cmocka_unit_test(test_ctc_batch_with_weights_file),
      cmocka_unit_test(test_int8_deploy_matches_predict),
      cmocka_unit_test(test_attention_deploy_matches_predict),
      cmocka_unit_test(test_object_symbols),
      cmocka_unit_test(test_ctc_object_matches_jit),
      cmocka_unit_test(test_attention_object_matches_jit),
      cmocka_unit_test(test_emit_errors),
      cmocka_unit_test(test_failed_emit_replaces_nothing),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

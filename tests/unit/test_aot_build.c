/* `smelt build`: a standalone trainer of the mini CTC study (tests/train/mini.yaml) links without
 * LLVM, says what it was built from, and ends with exactly the metrics (per-layer gradient norms
 * included) and weights of `smelt train` (one thread for both, so that every sum runs in the
 * same order); its options (--epochs, --resume, --out, --data) behave like train's; `--cpu
 * x86-64-v3` leaves out AVX-512. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/wait.h>

#include "codegen/cg_target.h"
#include "runtime/rt_results.h"
#include "runtime/rt_synth.h"
#include "support/rt_fs.h"
#include "test_aot.h"

static char tmp[] = "/tmp/smelt-aot-build-XXXXXX";
static const char CONFIG[] = SMELT_SOURCE_DIR "/tests/train/mini.yaml";

static char *path(const char *rel) {
  static char buf[8][600];
  static int next;
  char *p = buf[next++ % 8];
  snprintf(p, 600, "%s/%s", tmp, rel);
  return p;
}

static int sh(const char *fmt, const char *arg) {
  char cmd[1400];
  snprintf(cmd, sizeof cmd, fmt, arg, arg);
  int rc = system(cmd);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* Every recorded metric but the timings, epoch by epoch, and the run's outcome. */
static void assert_same_results(const char *a, const char *b, int epochs) {
  RtResults ra, rb;
  RtDiags d = {0};
  assert_true(rt_results_load(a, &ra, &d));
  assert_true(rt_results_load(b, &rb, &d));
  assert_int_equal(ra.history_count, epochs);
  assert_int_equal(rb.history_count, epochs);
  assert_int_equal(ra.status, rb.status);
  assert_int_equal(ra.best_epoch, rb.best_epoch);
  assert_int_equal(ra.params, rb.params);
  assert_string_equal(ra.config_json, rb.config_json);
  for (int e = 0; e < epochs; e++)
    for (int k = 0; k < RT_METRIC_COUNT; k++) {
      if (k == RT_METRIC_SAMPLES_PER_S || k == RT_METRIC_SECONDS) continue;
      assert_memory_equal(&ra.history[e].v[k], &rb.history[e].v[k], sizeof(double));
    }
  for (int e = 0; e < epochs; e++) { /* both record the per-layer gradient norms, bit for bit */
    const RtEpochMetrics *x = &ra.history[e], *y = &rb.history[e];
    assert_true(x->n_grad_norms > 0);
    assert_int_equal(x->n_grad_norms, y->n_grad_norms);
    for (int k = 0; k < x->n_grad_norms; k++) {
      assert_string_equal(x->grad_norm[k].layer, y->grad_norm[k].layer);
      assert_memory_equal(&x->grad_norm[k].norm, &y->grad_norm[k].norm, sizeof(double));
    }
  }
  rt_results_free(&ra);
  rt_results_free(&rb);
}

static void test_trainer_matches_smelt_train(void **state) {
  const char *build[] = {"build", CONFIG, "-o", path("trainer"), NULL};
  assert_int_equal(run_cmd(cmd_build, build), 0);
  assert_int_equal(sh("%s --out %s-aot --quiet", path("trainer")), 0);
  const char *train[] = {"train", CONFIG, "--out", path("trainer-jit"), "--quiet", NULL};
  assert_int_equal(run_cmd(cmd_train, train), 0);
  assert_same_results(path("trainer-aot/mini/results.json"), path("trainer-jit/mini/results.json"), 2);
  assert_true(same_checkpoints(path("trainer-aot/mini/last.safetensors"), path("trainer-jit/mini/last.safetensors"),
                               rt_ckpt_key(RT_CKPT_PRESET)));
  assert_true(same_checkpoints(path("trainer-aot/mini/best.safetensors"), path("trainer-jit/mini/best.safetensors"),
                               rt_ckpt_key(RT_CKPT_CONFIG)));
}

static void test_trainer_is_standalone_and_documented(void **state) {
  assert_int_equal(sh("ldd %s | grep -qi llvm", path("trainer")), 1); /* grep found nothing */
  assert_int_equal(sh("%s --help > %s.help", path("trainer")), 0);
  char *help = slurp(path("trainer.help"));
  assert_non_null(help);
  assert_non_null(strstr(help, "preset mini_ctc (" SMELT_SOURCE_DIR "/tests/train/mini_ctc.yaml)"));
  assert_non_null(strstr(help, "config " SMELT_SOURCE_DIR "/tests/train/mini.yaml, experiment mini, settings hash "));
  assert_non_null(strstr(help, "for CPU "));
  static const char *const options[] = {"--data DIR", "--val DIR", "--epochs N", "--out DIR", "--resume"};
  for (int i = 0; i < 5; i++) assert_non_null(strstr(help, options[i]));
  free(help);
  assert_int_equal(sh("%s --bogus 2> /dev/null", path("trainer")), 2);
  assert_int_equal(sh("%s --epochs 0 2> /dev/null", path("trainer")), 2);
}

/* One epoch, then --resume to the configured two: the weights of the uninterrupted run. */
static void test_trainer_resumes(void **state) {
  assert_int_equal(sh("%s --out %s-parts --epochs 1 --quiet > /dev/null", path("trainer")), 0);
  assert_int_equal(sh("%s --out %s-parts --resume --quiet > /dev/null", path("trainer")), 0);
  assert_true(same_checkpoints(path("trainer-parts/mini/last.safetensors"), path("trainer-aot/mini/last.safetensors"),
                               NULL));
  RtResults r;
  RtDiags d = {0};
  assert_true(rt_results_load(path("trainer-parts/mini/results.json"), &r, &d));
  assert_int_equal(r.history_count, 2);
  rt_results_free(&r);
}

/* A copy of checkpoint src at dst with metadata key set to value. */
static void rewrite_meta(const char *src, const char *dst, const char *key, const char *value) {
  RtDiags d = {0};
  RtStFile *f = rt_st_load(src, &d);
  assert_non_null(f);
  RtStWriter *w = rt_st_writer_new();
  for (int i = 0; i < rt_st_count(f); i++) {
    const RtStTensor *t = rt_st_tensor(f, i);
    rt_st_writer_add(w, t->name, t->dtype, t->rank, t->shape, t->data);
  }
  for (int i = 0; i < rt_st_meta_count(f); i++) {
    const char *k, *v;
    rt_st_meta_at(f, i, &k, &v);
    rt_st_writer_set_meta(w, k, strcmp(k, key) ? v : value);
  }
  assert_true(rt_st_writer_write(w, dst, &d));
  rt_st_writer_free(w);
  rt_st_free(f);
}

/* Runs cmd in this process with standard error sent to a file; exit code 1 and the output holds
 * `message`. */
static void expect_refused(int (*cmd)(int, char **), const char *const *args, const char *message) {
  fflush(stderr);
  int saved = dup(2);
  FILE *f = fopen(path("stderr.txt"), "w");
  assert_non_null(f);
  dup2(fileno(f), 2);
  int rc = run_cmd_to("/dev/null", cmd, args);
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  fclose(f);
  char *err = slurp(path("stderr.txt"));
  if (rc != 1 || !strstr(err, message))
    fail_msg("smelt %s exited with %d, and its output\n%s\ndoes not hold\n%s", args[0], rc, err, message);
  free(err);
}

/* Every command that reads a checkpoint judges its metadata the same way (one validator), and
 * says which file is wrong: a charset with a repeated symbol, a charset larger than the model's
 * symbols (mini_ctc has room for 4), a format this smelt does not know. train --resume and the
 * built trainer's --resume find the bad file as OUT/mini/last.safetensors of an earlier run. */
static void test_checkpoint_metadata_checked_everywhere(void **state) {
  static const struct {
    const char *key, *value, *message;
  } bad[] = {
      {"charset", "0120", "error: the checkpoint's charset repeats the symbol '0' (U+0030)"},
      {"charset", "01234", "error: the checkpoint's charset has 5 symbols, but its model has room for 4"},
      {"format", "smelt-checkpoint-99", "error: not a smelt checkpoint (format 'smelt-checkpoint-99', expected 'smelt-checkpoint-1')"},
  };
  char data[700], image[800], message[1400];
  snprintf(data, sizeof data, "%s/data/synth-s3-n96+32-len1-3-ce67a23d1/val", getenv("SMELT_CACHE_DIR"));
  snprintf(image, sizeof image, "%s/images/000096.png", data);
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    /* an earlier run's folder of each kind, its last checkpoint replaced by the bad one */
    assert_int_equal(sh("rm -rf %s-bad-jit %s-bad-aot", path("trainer")), 0);
    assert_int_equal(sh("cp -r %s-jit %s-bad-jit", path("trainer")), 0);
    assert_int_equal(sh("cp -r %s-aot %s-bad-aot", path("trainer")), 0);
    char ckpt[700];
    snprintf(ckpt, sizeof ckpt, "%s", path("trainer-bad-jit/mini/last.safetensors"));
    rewrite_meta(path("trainer-jit/mini/last.safetensors"), ckpt, bad[i].key, bad[i].value);
    assert_int_equal(sh("cp %s-bad-jit/mini/last.safetensors %s-bad-aot/mini/last.safetensors", path("trainer")), 0);
    snprintf(message, sizeof message, "%s: %s", ckpt, bad[i].message);
    const char *eval[] = {"eval", ckpt, "--data", data, NULL};
    expect_refused(cmd_eval, eval, message);
    const char *predict[] = {"predict", ckpt, image, NULL};
    expect_refused(cmd_predict, predict, message);
    char out[700];
    snprintf(out, sizeof out, "%s", path("emitted"));
    const char *emit[] = {"emit", ckpt, "-o", out, NULL};
    expect_refused(cmd_emit, emit, message);
    snprintf(out, sizeof out, "%s", path("trainer-bad-jit"));
    const char *train[] = {"train", CONFIG, "--out", out, "--epochs", "3", "--resume", NULL};
    expect_refused(cmd_train, train, message);
    char cmd[2000];
    snprintf(cmd, sizeof cmd, "%s --out %s --epochs 3 --resume --quiet > %s 2>&1", path("trainer"), path("trainer-bad-aot"),
             path("trainer.txt"));
    int rc = system(cmd);
    char *printed = slurp(path("trainer.txt"));
    snprintf(message, sizeof message, "%s: %s", path("trainer-bad-aot/mini/last.safetensors"), bad[i].message);
    if (!WIFEXITED(rc) || WEXITSTATUS(rc) != 1 || !strstr(printed, message))
      fail_msg("the built trainer's --resume printed\n%s\nnot\n%s", printed, message);
    free(printed);
  }
}

/* A folder given with --data (no validation folder: a seeded split) is loaded like train's. */
static void test_trainer_data_option(void **state) {
  char data[700], cmd[2000];
  snprintf(data, sizeof data, "%s/data/synth-s3-n96+32-len1-3-ce67a23d1/train", getenv("SMELT_CACHE_DIR"));
  snprintf(cmd, sizeof cmd, "%s --data %s --out %s --quiet > /dev/null", path("trainer"), data, path("data-aot"));
  assert_int_equal(system(cmd), 0);
  const char *train[] = {"train", CONFIG, "--data", data, "--out", path("data-jit"), "--quiet", NULL};
  assert_int_equal(run_cmd_to("/dev/null", cmd_train, train), 0);
  assert_same_results(path("data-aot/mini/results.json"), path("data-jit/mini/results.json"), 2);
  assert_true(same_checkpoints(path("data-aot/mini/last.safetensors"), path("data-jit/mini/last.safetensors"), NULL));
}

/* --epochs: the settings recorded are smelt train's with the same option, byte for byte (the
 * trainer rewrites its embedded settings with the same JSON writer). */
static void test_trainer_epochs_option(void **state) {
  assert_int_equal(sh("%s --epochs 1 --out %s-e1 --quiet > /dev/null", path("trainer")), 0);
  const char *train[] = {"train", CONFIG, "--epochs", "1", "--out", path("jit-e1"), "--quiet", NULL};
  assert_int_equal(run_cmd_to("/dev/null", cmd_train, train), 0);
  assert_same_results(path("trainer-e1/mini/results.json"), path("jit-e1/mini/results.json"), 1);
}

/* A trainer built from fresh data with a curriculum (tests/train/fresh.yaml) embeds both: it
 * renders the epochs' sets smelt train renders, with the same label bounds, and ends with the
 * same metrics and weights. */
static void test_fresh_trainer_matches_smelt_train(void **state) {
  static const char FRESH[] = SMELT_SOURCE_DIR "/tests/train/fresh.yaml";
  const char *build[] = {"build", FRESH, "-o", path("fresh-trainer"), NULL};
  assert_int_equal(run_cmd_to("/dev/null", cmd_build, build), 0);
  assert_int_equal(sh("%s --out %s-aot --quiet > /dev/null", path("fresh-trainer")), 0);
  const char *train[] = {"train", FRESH, "--out", path("fresh-jit"), "--quiet", NULL};
  assert_int_equal(run_cmd_to("/dev/null", cmd_train, train), 0);
  assert_same_results(path("fresh-trainer-aot/fresh/results.json"), path("fresh-jit/fresh/results.json"), 3);
  assert_true(same_checkpoints(path("fresh-trainer-aot/fresh/last.safetensors"),
                               path("fresh-jit/fresh/last.safetensors"), NULL));
  RtResults r;
  RtDiags d = {0};
  assert_true(rt_results_load(path("fresh-trainer-aot/fresh/results.json"), &r, &d));
  for (int e = 0; e < 3; e++) assert_true(r.history[e].v[RT_METRIC_MAX_LABEL_LEN] == e + 1);
  assert_non_null(strstr(r.config_json, "\"fresh\":true"));
  assert_non_null(strstr(r.config_json, "\"curriculum\":{\"epochs\":2}"));
  rt_results_free(&r);
}

/* A trainer built from a folder mixed with fresh samples renders the same epochs as smelt train
 * and ends with the same metrics and weights; the settings it records keep both. */
static void test_mixed_trainer_matches_smelt_train(void **state) {
  RtSynthOptions so = {.charset = "0123", .min_len = 2, .max_len = 2};
  RtDiags d = {0};
  assert_true(rt_synth_generate(path("mixed-folder"), 40, 9, &so, &d));
  char yaml[1600];
  snprintf(yaml, sizeof yaml,
           "defaults: {epochs: 2, batch_size: 16, learning_rate: 0.01, scheduler: constant, early_stopping: false}\n"
           "experiments:\n  mixed:\n    model: %s/tests/train/mini_ctc.yaml\n    loss: ctc\n"
           "    data: {train: %s, val_split: 0.25, synthetic: {train: 24, seed: 3, length: [1, 3], fresh: true}}\n",
           SMELT_SOURCE_DIR, path("mixed-folder"));
  assert_true(rt_fs_write_atomic(path("mixed.yaml"), yaml, strlen(yaml), &d));
  const char *build[] = {"build", path("mixed.yaml"), "-o", path("mixed-trainer"), NULL};
  assert_int_equal(run_cmd_to("/dev/null", cmd_build, build), 0);
  assert_int_equal(sh("%s --out %s-aot --quiet > /dev/null", path("mixed-trainer")), 0);
  const char *train[] = {"train", path("mixed.yaml"), "--out", path("mixed-jit"), "--quiet", NULL};
  assert_int_equal(run_cmd_to("/dev/null", cmd_train, train), 0);
  assert_same_results(path("mixed-trainer-aot/mixed/results.json"), path("mixed-jit/mixed/results.json"), 2);
  assert_true(same_checkpoints(path("mixed-trainer-aot/mixed/last.safetensors"),
                               path("mixed-jit/mixed/last.safetensors"), NULL));
  RtResults r;
  assert_true(rt_results_load(path("mixed-jit/mixed/results.json"), &r, &d));
  assert_int_equal(r.history[1].step, 8); /* an epoch: 30 of the folder's samples and 24 generated, 4 batches */
  assert_non_null(strstr(r.config_json, "\"synthetic_train\":24"));
  assert_non_null(strstr(r.config_json, "\"val_split\":0.25"));
  rt_results_free(&r);
  rt_diags_free(&d);
  (void)state;
}

/* x86-64-v3 code has no AVX-512 registers; the host's has them when the host does. */
static void test_cpu_option(void **state) {
  const char *build[] = {"build", CONFIG, "-o", path("trainer-v3"), "--cpu", "x86-64-v3", NULL};
  assert_int_equal(run_cmd(cmd_build, build), 0);
  assert_int_equal(sh("objdump -d --no-show-raw-insn %s | grep -q zmm", path("trainer-v3")), 1);
  RtDiags d = {0};
  CgTarget *host = cg_target_new(NULL, &d);
  assert_non_null(host);
  if (host->vector_bits == 512) assert_int_equal(sh("objdump -d --no-show-raw-insn %s | grep -q zmm", path("trainer")), 0);
  cg_target_free(host);
  assert_int_equal(sh("%s --out %s-run --epochs 1 --quiet > /dev/null", path("trainer-v3")), 0);
  const char *bad[] = {"build", CONFIG, "-o", path("nope"), "--cpu", "pentium-v9", NULL};
  assert_int_equal(run_cmd(cmd_build, bad), 1);
  const char *missing[] = {"build", CONFIG, NULL};
  assert_int_equal(run_cmd(cmd_build, missing), 2);
}

static int setup(void **state) {
  if (!mkdtemp(tmp)) return -1;
  if (!getenv("SMELT_CACHE_DIR")) setenv("SMELT_CACHE_DIR", path("cache"), 1);
  return 0;
}

static int teardown(void **state) { return sh("rm -rf %s", tmp) == 0 ? 0 : -1; }

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_trainer_matches_smelt_train),
      cmocka_unit_test(test_trainer_is_standalone_and_documented),
      cmocka_unit_test(test_trainer_resumes),
      cmocka_unit_test(test_checkpoint_metadata_checked_everywhere),
      cmocka_unit_test(test_trainer_data_option),
      cmocka_unit_test(test_trainer_epochs_option),
      cmocka_unit_test(test_cpu_option),
      cmocka_unit_test(test_fresh_trainer_matches_smelt_train),
      cmocka_unit_test(test_mixed_trainer_matches_smelt_train),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

/* Data-parallel training end to end: `mpirun -np 2 smelt train` (the smelt executable beside
 * this binary's folder, or argv[1]) on tests/train/data_parallel.yaml against one process.
 * Two processes at global batch 32 end with the weights and losses of one process at batch 32
 * (SGD and Adam, a last batch whose second shard is empty; batch norm with sync_batchnorm, and
 * not without), bit for bit the same on a second run;
 * a run resumes with another number of processes (with a moving average of the weights too); a
 * folder mixed with fresh samples trains alike; batch norm and dropout run (per-process batch
 * statistics, rank 0's running statistics); a trainer built with --mpi 2 ends as the JIT run does;
 * a batch that does not split and a refusal by rank 0 stop every process with one message.
 * Needs mpirun (openmpi-bin). */
#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "test_support.h"

#include "runtime/rt_safetensors.h"

static char tmp[] = "/tmp/smelt-dp-XXXXXX";
static char smelt[PATH_MAX];
static const char *config = "tests/train/data_parallel.yaml"; /* the runs' config */

/* Runs `smelt train CONFIG --experiment E --out tmp/OUT --quiet EXTRA` in `procs` processes
 * (mpirun when above 1), its output into tmp/OUT.log; returns the exit status. */
static int train(int procs, const char *experiment, const char *out, const char *extra) {
  char mpi[256] = "";
  if (procs > 1) /* no shared-memory single copy: containers often forbid the ptrace it needs */
    snprintf(mpi, sizeof mpi,
             "timeout 300 mpirun -np %d --oversubscribe --allow-run-as-root --mca btl_vader_single_copy_mechanism none ",
             procs);
  char cmd[3 * PATH_MAX];
  snprintf(cmd, sizeof cmd, "%s%s train %s --experiment %s --out %s/%s --quiet %s >%s/%s.log 2>&1", mpi, smelt,
           config, experiment, tmp, out, extra ? extra : "", tmp, out);
  int rc = system(cmd);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}


static RtStFile *checkpoint(const char *out, const char *experiment) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s/%s/last.safetensors", tmp, out, experiment);
  RtDiags d = {0};
  RtStFile *f = rt_st_load(path, &d);
  rt_diags_print(&d, stderr);
  rt_diags_free(&d);
  assert_non_null(f);
  return f;
}

/* The largest difference between the two runs' F32 tensors, relative to 1 + |a|; every tensor
 * of a in b with its shape. */
static double max_difference(const char *out_a, const char *out_b, const char *experiment) {
  RtStFile *a = checkpoint(out_a, experiment), *b = checkpoint(out_b, experiment);
  double worst = 0;
  assert_int_equal(rt_st_count(a), rt_st_count(b));
  for (int i = 0; i < rt_st_count(a); i++) {
    const RtStTensor *ta = rt_st_tensor(a, i), *tb = rt_st_find(b, ta->name);
    assert_non_null(tb);
    assert_int_equal(ta->count, tb->count);
    if (ta->dtype != RT_ST_F32) continue;
    for (int64_t k = 0; k < ta->count; k++) {
      float x, y;
      memcpy(&x, ta->data + 4 * k, 4);
      memcpy(&y, tb->data + 4 * k, 4);
      double diff = fabs((double)x - y) / (1 + fabs((double)x));
      if (!(diff <= worst)) worst = diff; /* NaN wins */
    }
  }
  rt_st_free(a);
  rt_st_free(b);
  return worst;
}

/* train_loss of each epoch in OUT/E/metrics.jsonl, into losses (returns the count). */
static int losses(const char *out, const char *experiment, double *v, int max) {
  char *text = test_read_text_if_any("%s/%s/%s/metrics.jsonl", tmp, out, experiment);
  assert_non_null(text);
  int n = 0;
  for (char *line = strtok(text, "\n"); line && n < max; line = strtok(NULL, "\n")) {
    cJSON *j = cJSON_Parse(line);
    assert_non_null(j);
    v[n++] = cJSON_GetNumberValue(cJSON_GetObjectItem(j, "train_loss"));
    cJSON_Delete(j);
  }
  free(text);
  return n;
}

static void assert_log_has(const char *out, const char *needle) {
  char *log = test_read_text_if_any("%s/%s.log", tmp, out);
  assert_non_null(log);
  if (!strstr(log, needle)) fprintf(stderr, "%s.log lacks '%s':\n%s\n", out, needle, log);
  assert_non_null(strstr(log, needle));
  free(log);
}

/* Largest relative weight difference between experiment's runs by one and by two processes. */
static double one_vs_two(const char *experiment) {
  char one[64], two[64];
  snprintf(one, sizeof one, "one-%s", experiment);
  snprintf(two, sizeof two, "two-%s", experiment);
  assert_int_equal(train(1, experiment, one, NULL), 0);
  assert_int_equal(train(2, experiment, two, NULL), 0);
  assert_log_has(two, "data-parallel over 2 processes");
  double a[4], b[4];
  assert_int_equal(losses(one, experiment, a, 4), 2);
  assert_int_equal(losses(two, experiment, b, 4), 2);
  if (strcmp(experiment, "localbn")) /* per-process statistics: other losses */
    for (int i = 0; i < 2; i++) assert_true(fabs(a[i] - b[i]) <= 1e-5 * (1 + fabs(a[i])));
  double diff = max_difference(one, two, experiment);
  printf("%s: largest relative weight difference between 1 and 2 processes %.2g\n", experiment, diff);
  return diff;
}

static void two_processes_match_one(const char *experiment) { assert_true(one_vs_two(experiment) <= 1e-4); }

static void test_sgd_two_processes_match_one(void **state) { two_processes_match_one("plain"); }

static void test_adam_two_processes_match_one(void **state) { two_processes_match_one("adam"); }

/* The run of experiment in `procs` processes into OUT, unless an earlier test made it. */
static void ensure_run(int procs, const char *experiment, const char *out) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s/%s/last.safetensors", tmp, out, experiment);
  if (access(path, R_OK) != 0) assert_int_equal(train(procs, experiment, out, NULL), 0);
}

/* sync_batchnorm: statistics over the global batch (all_sum), so two processes are one again;
 * without it each process normalises with its own half */
static void test_sync_batchnorm(void **state) {
  two_processes_match_one("syncbn");
  assert_true(one_vs_two("localbn") > 1e-3);
}

static void test_two_processes_repeat_exactly(void **state) {
  ensure_run(2, "adam", "two-adam");
  assert_int_equal(train(2, "adam", "again-adam", NULL), 0);
  assert_true(max_difference("two-adam", "again-adam", "adam") == 0);
}

static void test_resume_with_another_process_count(void **state) {
  assert_int_equal(train(2, "plain", "resumed", "--epochs 1"), 0);
  assert_int_equal(train(1, "plain", "resumed", "--resume"), 0);
  assert_log_has("resumed", "resuming plain after epoch 1");
  double v[4];
  assert_int_equal(losses("resumed", "plain", v, 4), 2);
  ensure_run(2, "plain", "two-plain");
  assert_true(max_difference("two-plain", "resumed", "plain") <= 1e-4);
}

/* ema_decay: the average (opt.ema.* of last.safetensors, batch-norm statistics included; rank 0
 * keeps it) and the weights end as one process's; a run started by two processes resumes in
 * one, and the other way round. */
static void test_ema_two_processes_match_one(void **state) {
  two_processes_match_one("ema");
  assert_int_equal(train(2, "ema", "ema-resumed", "--epochs 1"), 0);
  assert_int_equal(train(1, "ema", "ema-resumed", "--resume"), 0);
  assert_log_has("ema-resumed", "resuming ema after epoch 1");
  assert_true(max_difference("one-ema", "ema-resumed", "ema") <= 1e-4);
  assert_int_equal(train(1, "ema", "ema-resumed2", "--epochs 1"), 0);
  assert_int_equal(train(2, "ema", "ema-resumed2", "--resume"), 0);
  assert_true(max_difference("one-ema", "ema-resumed2", "ema") <= 1e-4);
}

/* A folder mixed with fresh samples: every process renders the epoch's samples and joins them to
 * the folder's (48 + 48 = 3 batches of 32), and two processes end as one. The folder and the
 * config are made here (a folder must exist when a config loads). */
static void test_mixed_two_processes_match_one(void **state) {
  char cmd[2 * PATH_MAX], path[PATH_MAX];
  snprintf(cmd, sizeof cmd, "%s data synth --out %s/folder --count 60 --seed 9 --length 2 --charset 0123 --quiet",
           smelt, tmp);
  assert_int_equal(system(cmd), 0);
  snprintf(path, sizeof path, "%s/mixed.yaml", tmp);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fprintf(f,
          "defaults: {epochs: 2, batch_size: 32, learning_rate: 0.01, scheduler: constant, early_stopping: false,\n"
          "           augmentation: false}\n"
          "experiments:\n  mixed:\n    model: %s/tests/train/mini_ctc.yaml\n    loss: ctc\n    optimizer: adam\n"
          "    sync_batchnorm: true\n"
          "    data: {train: %s/folder, val_split: 0.2, synthetic: {train: 48, seed: 3, length: [1, 3], fresh: true}}\n",
          SMELT_SOURCE_DIR, tmp);
  fclose(f);
  config = path;
  two_processes_match_one("mixed");
  assert_log_has("two-mixed", "48 train samples from the folder and 48 generated afresh every epoch");
  config = "tests/train/data_parallel.yaml";
}

static void test_batchnorm_and_dropout(void **state) {
  assert_int_equal(train(2, "batchnorm", "bn", NULL), 0);
  double v[4];
  assert_int_equal(losses("bn", "batchnorm", v, 4), 2);
  assert_true(isfinite(v[1]) && v[1] < v[0]);
}

/* `smelt build --mpi 2`: a trainer without LLVM that, under mpirun -np 2, ends where
 * `mpirun -np 2 smelt train` does, bit for bit; run otherwise, it says how to run it. */
static void test_built_trainer(void **state) {
  ensure_run(2, "adam", "two-adam");
  char cmd[3 * PATH_MAX];
  snprintf(cmd, sizeof cmd, "%s build %s --experiment adam -o %s/trainer --mpi 2 >%s/build.log 2>&1", smelt, config, tmp,
           tmp);
  assert_int_equal(system(cmd), 0);
  snprintf(cmd, sizeof cmd, "ldd %s/trainer | grep -qi llvm", tmp);
  assert_int_not_equal(system(cmd), 0);
  snprintf(cmd, sizeof cmd, "%s/trainer --out %s/alone >%s/alone.log 2>&1", tmp, tmp, tmp);
  assert_int_not_equal(system(cmd), 0);
  assert_log_has("alone", "built for 2 data-parallel processes; run it as mpirun -np 2");
  snprintf(cmd, sizeof cmd,
           "timeout 300 mpirun -np 2 --oversubscribe --allow-run-as-root --mca btl_vader_single_copy_mechanism none "
           "%s/trainer --out %s/built --quiet >%s/built.log 2>&1",
           tmp, tmp, tmp);
  assert_int_equal(system(cmd), 0);
  assert_true(max_difference("two-adam", "built", "adam") == 0);
}

static void test_batch_must_split_evenly(void **state) {
  assert_int_not_equal(train(3, "plain", "three", NULL), 0);
  assert_log_has("three", "batch_size 32 does not split evenly over 3 processes");
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/three/plain", tmp);
  struct stat st;
  assert_int_not_equal(stat(path, &st), 0); /* nothing written */
}

static void test_refusal_by_rank_0_stops_all(void **state) {
  assert_int_equal(train(2, "plain", "refused", "--epochs 1"), 0);
  assert_int_not_equal(train(2, "plain", "refused", NULL), 0); /* an earlier run, neither --resume nor --overwrite */
  char *log = test_read_text_if_any("%s/refused.log", tmp);
  assert_non_null(log);
  const char *first = strstr(log, "holds an earlier run of 'plain'");
  assert_non_null(first);
  assert_null(strstr(first + 1, "holds an earlier run")); /* said once, by rank 0 */
  assert_null(strstr(log, "rank 1")); /* which stops without a word of its own */
  free(log);
}

static const char *given_smelt; /* argv[1] */

static int setup(void **state) {
  bool ok = mkdtemp(tmp) && test_smelt_executable(smelt, given_smelt, "test_data_parallel") &&
            test_have_mpirun("test_data_parallel");
  return ok ? 0 : -1;
}

static int teardown(void **state) {
  test_remove_tree(tmp);
  return 0;
}

int main(int argc, char **argv) {
  given_smelt = argc > 1 ? argv[1] : NULL;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sgd_two_processes_match_one),
      cmocka_unit_test(test_adam_two_processes_match_one),
      cmocka_unit_test(test_sync_batchnorm),
      cmocka_unit_test(test_two_processes_repeat_exactly),
      cmocka_unit_test(test_resume_with_another_process_count),
      cmocka_unit_test(test_ema_two_processes_match_one),
      cmocka_unit_test(test_mixed_two_processes_match_one),
      cmocka_unit_test(test_batchnorm_and_dropout),
      cmocka_unit_test(test_built_trainer),
      cmocka_unit_test(test_batch_must_split_evenly),
      cmocka_unit_test(test_refusal_by_rank_0_stops_all),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

/* `mpirun -np 2 smelt tune` end to end (the smelt executable beside this binary's folder, or
 * argv[1]): a sweep of four experiments over two ranks ends with the summary of the same sweep
 * on one machine, its files under rank 0's OUT as a local sweep lays them out; a rank killed
 * (SIGKILL) while it trains costs only its run, which fails with the reason, or with --retries
 * goes back to the queue and finishes from its last mirrored checkpoint; a sweep left with a
 * failed run resumes without MPI; a rank without the data takes nothing. Needs mpirun (openmpi-bin). */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "test_support.h"

static char tmp[] = "/tmp/smelt-tune-mpi-XXXXXX";
static char smelt[PATH_MAX];

static const char MPIRUN[] =
    "SMELT_MPI_TIMEOUT=5 timeout 300 mpirun -np 2 --oversubscribe --allow-run-as-root --enable-recovery "
    "--mca btl_vader_single_copy_mechanism none ";

/* The command line of `smelt tune CONFIG --out tmp/OUT EXTRA`, under mpirun when mpi, its output
 * into tmp/OUT.log. */
static void tune_command(char *cmd, size_t size, bool mpi, const char *config, const char *out, const char *extra) {
  snprintf(cmd, size, "%s%s tune %s --out %s/%s %s >%s/%s.log 2>&1", mpi ? MPIRUN : "", smelt, config, tmp, out,
           extra ? extra : "", tmp, out);
}

static int run(const char *cmd) {
  int rc = system(cmd);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}


/* Removes what may differ between two equal sweeps: how they ran, and times. */
static void strip_run_details(cJSON *o) {
  cJSON_DeleteItemFromObjectCaseSensitive(o, "sweep");
  for (cJSON *c = o->child; c;) {
    cJSON *next = c->next;
    if (c->string && (strstr(c->string, "time") || strstr(c->string, "seconds") || strstr(c->string, "samples_per_s")))
      cJSON_Delete(cJSON_DetachItemViaPointer(o, c));
    else if (cJSON_IsObject(c) || cJSON_IsArray(c))
      strip_run_details(c);
    c = next;
  }
}

static char *summary_without_run_details(const char *out) {
  char *text = test_read_text_if_any("%s/%s/summary.json", tmp, out);
  assert_non_null(text);
  cJSON *o = cJSON_Parse(text);
  free(text);
  assert_non_null(o);
  strip_run_details(o);
  char *s = cJSON_Print(o);
  cJSON_Delete(o);
  return s;
}

static void assert_file_has(const char *needle, const char *fmt, const char *a, const char *b) {
  char *text = test_read_text_if_any(fmt, tmp, a, b);
  assert_non_null(text);
  if (!strstr(text, needle)) fprintf(stderr, "lacks '%s':\n%s\n", needle, text);
  assert_non_null(strstr(text, needle));
  free(text);
}

static void test_two_ranks_give_the_local_summary(void **state) {
  char cmd[3 * PATH_MAX];
  tune_command(cmd, sizeof cmd, false, "tests/tune/mpi.yaml", "local", NULL);
  assert_int_equal(run(cmd), 0);
  tune_command(cmd, sizeof cmd, true, "tests/tune/mpi.yaml", "ranks", NULL);
  assert_int_equal(run(cmd), 0);
  char *a = summary_without_run_details("local"), *b = summary_without_run_details("ranks");
  if (strcmp(a, b)) fprintf(stderr, "local:\n%s\nover two ranks:\n%s\n", a, b);
  assert_string_equal(a, b);
  free(a);
  free(b);
  assert_file_has("over 2 ranks on 1 host", "%s/%s.log", "ranks", "");
  assert_file_has("started on rank 1", "%s/%s.log", "ranks", "");
  assert_file_has("Run by 2 MPI ranks on 1 host", "%s/%s/report.md", "ranks", "");
  /* a worker's files, checkpoints named where they are now: OUT/<experiment>/ */
  char want[PATH_MAX];
  for (const char *const *e = (const char *const[]){"ctc", "attention", "ctc_fast", "attention_long", NULL}; *e; e++) {
    snprintf(want, sizeof want, "\"%s/ranks/%s/best.safetensors\"", tmp, *e);
    assert_file_has(want, "%s/%s/%s/results.json", "ranks", *e);
  }
}

/* A rank that cannot prepare the sweep's data (here: its cache cannot be created) takes no
 * experiment; rank 0 says so, runs them all itself, and the sweep ends at once, not when the
 * idle rank gives up waiting. */
static void test_rank_without_data_takes_nothing(void **state) {
  char cmd[4 * PATH_MAX];
  snprintf(cmd, sizeof cmd,
           "timeout 120 mpirun --oversubscribe --allow-run-as-root --mca btl_vader_single_copy_mechanism none "
           "-np 1 %s tune tests/tune/sweep.yaml --out %s/idle : -np 1 -x SMELT_CACHE_DIR=/proc/no/cache "
           "%s tune tests/tune/sweep.yaml --out %s/idle >%s/idle.log 2>&1",
           smelt, tmp, smelt, tmp, tmp);
  assert_int_equal(run(cmd), 0);
  assert_file_has("rank 1 (", "%s/%s.log", "idle", "");
  assert_file_has("takes no experiments", "%s/%s.log", "idle", "");
  char *log = test_read_text_if_any("%s/idle.log", tmp);
  assert_null(strstr(log, "on rank 1"));
  free(log);
  assert_file_has("\"status\":\t\"ok\"", "%s/%s/ctc/results.json", "idle", "");
}

/* The pid of rank `rank`'s `smelt tune`, from /proc (its launcher's environment), or 0. */
static pid_t rank_pid(int rank) {
  char want[64];
  snprintf(want, sizeof want, "OMPI_COMM_WORLD_RANK=%d", rank);
  DIR *dp = opendir("/proc");
  pid_t found = 0;
  for (struct dirent *e; dp && !found && (e = readdir(dp));) {
    pid_t pid = (pid_t)atoi(e->d_name);
    if (pid <= 0) continue;
    char path[64], buf[1 << 15];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    FILE *f = fopen(path, "rb");
    if (!f) continue;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    if (n == 0 || strcmp(buf + strlen(buf) + 1, "tune")) continue; /* argv[1] */
    snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
    if (!(f = fopen(path, "rb"))) continue;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    for (size_t at = 0; at < n && !found; at += strlen(buf + at) + 1)
      if (!strcmp(buf + at, want)) found = pid;
  }
  if (dp) closedir(dp);
  return found;
}

/* Lines of OUT/<experiment>/metrics.jsonl, as rank 0 has it. */
static int epochs_mirrored(const char *out, const char *experiment) {
  char *text = test_read_text_if_any("%s/%s/%s/metrics.jsonl", tmp, out, experiment);
  int n = 0;
  for (const char *p = text; p && *p; p++) n += *p == '\n';
  free(text);
  return n;
}

/* Runs the long sweep over two ranks and SIGKILLs rank 1 once it has mirrored 5 epochs of its
 * run; returns the sweep's log. */
static char *sweep_losing_rank_1(const char *out, const char *extra) {
  char cmd[3 * PATH_MAX];
  tune_command(cmd, sizeof cmd, true, "tests/tune/mpi_long.yaml", out, extra);
  pid_t sweep = fork();
  if (sweep == 0) {
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  assert_true(sweep > 0);
  bool killed = false;
  for (int i = 0; i < 1200 && !killed; i++) { /* up to two minutes */
    nanosleep(&(struct timespec){.tv_nsec = 100 * 1000 * 1000}, NULL);
    if (epochs_mirrored(out, "long_b") < 5) continue;
    pid_t worker = rank_pid(1);
    if (worker > 0) killed = kill(worker, SIGKILL) == 0;
  }
  int ws = 0;
  waitpid(sweep, &ws, 0);
  assert_true(killed);
  char *log = test_read_text_if_any("%s/%s.log", tmp, out);
  assert_non_null(log);
  return log;
}

/* Rank 0 killed mid-sweep (SIGKILL; the workers stop once it is silent for the timeout, and
 * mpirun ends), then --resume over two ranks again: the interrupted runs continue from their
 * checkpoints (rank 0 holds the last complete snapshot of each), one of them on rank 1, which
 * gets the run's files from rank 0 first. */
static void test_interrupted_sweep_resumes_over_ranks(void **state) {
  char cmd[3 * PATH_MAX];
  tune_command(cmd, sizeof cmd, true, "tests/tune/mpi_long.yaml", "stopped", NULL);
  pid_t sweep = fork();
  if (sweep == 0) {
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  assert_true(sweep > 0);
  char ckpt[PATH_MAX];
  snprintf(ckpt, sizeof ckpt, "%s/stopped/long_b/last.safetensors", tmp);
  for (int i = 0; i < 1200 && (epochs_mirrored("stopped", "long_b") < 5 || access(ckpt, R_OK) != 0); i++)
    nanosleep(&(struct timespec){.tv_nsec = 100 * 1000 * 1000}, NULL);
  assert_true(access(ckpt, R_OK) == 0); /* a checkpoint to resume from */
  pid_t root = rank_pid(0);
  assert_true(root > 0 && kill(root, SIGKILL) == 0);
  int ws = 0;
  waitpid(sweep, &ws, 0); /* the worker gives up on rank 0 after SMELT_MPI_TIMEOUT */
  assert_true(epochs_mirrored("stopped", "long_b") < 400);
  tune_command(cmd, sizeof cmd, true, "tests/tune/mpi_long.yaml", "stopped", "--resume");
  char *again = strstr(cmd, ">");
  memmove(again + 1, again, strlen(again) + 1); /* the second run's output after the first's */
  assert_int_equal(run(cmd), 0);
  char *log = test_read_text_if_any("%s/stopped.log", tmp);
  assert_non_null(log);
  if (!strstr(log, "on rank 1 (")) fprintf(stderr, "%s\n", log);
  assert_non_null(strstr(log, "resumed after epoch"));
  assert_non_null(strstr(log, "on rank 1 ("));
  free(log);
  assert_file_has("resuming long_b after epoch", "%s/%s/long_b/train.log", "stopped", "");
  assert_file_has("\"status\":\t\"ok\"", "%s/%s/long_b/results.json", "stopped", "");
  assert_int_equal(epochs_mirrored("stopped", "long_b"), 400);
}

static void test_lost_rank_fails_only_its_run(void **state) {
  char *log = sweep_losing_rank_1("lost", NULL);
  if (!strstr(log, "long_b") || !strstr(log, "was lost")) fprintf(stderr, "%s\n", log);
  assert_non_null(strstr(log, "FAILED: its rank 1 (host "));
  free(log);
  char *summary = test_read_text_if_any("%s/%s/summary.json", tmp, "lost");
  cJSON *o = cJSON_Parse(summary);
  free(summary);
  assert_non_null(o);
  const cJSON *counts = cJSON_GetObjectItem(o, "counts");
  assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(counts, "ok")), 2);
  assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(counts, "failed")), 1);
  assert_int_equal(cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "sweep"), "ranks_lost")), 1);
  cJSON_Delete(o);
  assert_file_has("1 rank was lost during the sweep", "%s/%s/report.md", "lost", "");
  /* the sweep resumes on one process: long_b continues from its mirrored checkpoint */
  char cmd[3 * PATH_MAX];
  tune_command(cmd, sizeof cmd, false, "tests/tune/mpi_long.yaml", "lost", "--resume");
  assert_int_equal(run(cmd), 0);
  assert_file_has("resuming long_b after epoch", "%s/%s/long_b/train.log", "lost", "");
  assert_int_equal(epochs_mirrored("lost", "long_b"), 400);
}

static void test_lost_rank_run_is_retried(void **state) {
  char *log = sweep_losing_rank_1("retried", "--retries 1");
  if (!strstr(log, "queued again (retry 1 of 1), from its last checkpoint")) fprintf(stderr, "%s\n", log);
  assert_non_null(strstr(log, "queued again (retry 1 of 1), from its last checkpoint"));
  free(log);
  assert_file_has("resuming long_b after epoch", "%s/%s/long_b/train.log", "retried", "");
  assert_file_has("\"status\":\t\"ok\"", "%s/%s/long_b/results.json", "retried", "");
  assert_int_equal(epochs_mirrored("retried", "long_b"), 400);
}

static const char *given_smelt; /* argv[1] */

static int setup(void **state) {
  bool ok = mkdtemp(tmp) && test_smelt_executable(smelt, given_smelt, "test_tune_mpi") &&
            test_have_mpirun("test_tune_mpi");
  return ok ? 0 : -1;
}

static int teardown(void **state) {
  test_remove_tree(tmp);
  return 0;
}

int main(int argc, char **argv) {
  given_smelt = argc > 1 ? argv[1] : NULL;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_two_ranks_give_the_local_summary),
      cmocka_unit_test(test_rank_without_data_takes_nothing),
      cmocka_unit_test(test_interrupted_sweep_resumes_over_ranks),
      cmocka_unit_test(test_lost_rank_fails_only_its_run),
      cmocka_unit_test(test_lost_rank_run_is_retried),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

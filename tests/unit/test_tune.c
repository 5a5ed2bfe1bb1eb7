/* `smelt tune`. Units: the median rule and its independence from reporting order, ranking (the
 * early-zero sequence accuracy trap), an ok run with fewer epochs than requested, a killed child,
 * the chart. End to end through the smelt executable (argv[1], else ../smelt beside this binary)
 * on tests/tune: a diverging run among three, --jobs 2 = --jobs 1, a SIGKILLed sweep or child
 * resumed to the uninterrupted summary, unknown preset or --only name, pruning. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "support/rt_fs.h"
#include "test_support.h"
#include "sweep/tune_chart.h"
#include "sweep/tune_outcome.h"
#include "sweep/tune_prune.h"
#include "sweep/tune_report.h"

static char tmp[] = "/tmp/smelt-tune-XXXXXX";
static char smelt[PATH_MAX];

/* ---- units on hand-made sweeps ---- */

static FePreset preset = {.name = "mini"};

/* A sweep of n runs whose run i has epochs[i] epochs of val_char_acc char[i][e] (val_seq_acc 0). */
static TuneSweep fake_sweep(int n, const int *epochs, double chars[][8]) {
  TuneSweep s = {.n = n, .runs = calloc((size_t)n, sizeof(TuneRun)), .rank_metric = RT_METRIC_VAL_CHAR_ACC,
                 .config_path = "study<&>.yaml", .out_dir = tmp, .jobs = 1, .threads = 1};
  static const char *const names[] = {"a", "b", "c", "d", "e"};
  for (int i = 0; i < n; i++) {
    TuneRun *r = &s.runs[i];
    r->e = fe_experiment_builtin();
    r->e.name = names[i];
    r->e.preset = &preset;
    r->e.epochs = r->config_epochs = 8;
    r->config_json = strdup("{}");
    r->status = TUNE_OK;
    r->n_history = epochs[i];
    r->history = calloc(8, sizeof *r->history);
    for (int e = 0; e < 8; e++) { /* beyond n_history too: tests reveal more epochs later */
      r->history[e].epoch = e + 1;
      for (int k = 0; k < RT_METRIC_COUNT; k++) r->history[e].v[k] = 0;
      r->history[e].v[RT_METRIC_VAL_CHAR_ACC] = chars[i][e];
      r->history[e].v[RT_METRIC_VAL_LOSS] = 1 - chars[i][e];
    }
  }
  return s;
}

static void free_sweep(TuneSweep *s) {
  for (int i = 0; i < s->n; i++) {
    free(s->runs[i].history);
    free(s->runs[i].config_json);
  }
  free(s->runs);
}

static void test_median_rule(void **state) {
  double odd[] = {0.3, NAN, 0.1, 0.2}, even[] = {0.4, 0.1, 0.2, 0.3};
  assert_float_equal(tune_median(odd, 4), 0.2, 0);
  assert_float_equal(tune_median(even, 4), 0.25, 1e-15);
  assert_true(isnan(tune_median(odd + 1, 1)));
  double two[] = {0.5, 0.6};
  assert_true(tune_prune_judge(RT_METRIC_VAL_CHAR_ACC, 0.4, two, 2));
  assert_false(tune_prune_judge(RT_METRIC_VAL_CHAR_ACC, 0.55, two, 2)); /* at the median: kept */
  assert_false(tune_prune_judge(RT_METRIC_VAL_CHAR_ACC, 0.1, two, 1));  /* too few others */
  assert_true(tune_prune_judge(RT_METRIC_VAL_CHAR_ACC, NAN, two, 2));
  double zeros[] = {0, 0, 0};
  assert_false(tune_prune_judge(RT_METRIC_VAL_SEQ_ACC, 0, zeros, 3)); /* sequence accuracy still 0 everywhere */
  double losses[] = {1.0, 2.0};
  assert_true(tune_prune_judge(RT_METRIC_VAL_LOSS, 1.6, losses, 2)); /* lower is better */
  assert_false(tune_prune_judge(RT_METRIC_VAL_LOSS, 1.4, losses, 2));
}

/* The decisions depend on the histories only: revealing them in any order gives the same. */
static void test_pruning_ignores_reporting_order(void **state) {
  double chars[4][8] = {{.1, .2, .3, .4}, {.1, .3, .5, .6}, {.1, .25, .2, .1}, {.1, .1, .45, .5}};
  int full[] = {4, 4, 4, 4};
  TuneSweep all = fake_sweep(4, full, chars);
  all.prune = true;
  all.prune_warmup = 1;
  tune_prune_update(&all);
  /* c is below the median of a and b (0.4) at epoch 3; d is below the median of a, b, c at 2 */
  assert_int_equal(all.runs[0].pruned_at, 0);
  assert_int_equal(all.runs[1].pruned_at, 0);
  assert_int_equal(all.runs[2].pruned_at, 3);
  assert_int_equal(all.runs[3].pruned_at, 2);
  assert_int_equal(all.runs[3].status, TUNE_PRUNED);
  assert_non_null(strstr(all.runs[3].reason, "epoch 2"));

  /* the same with d finished first and b still running at epoch 1: nothing about c or d is
   * decided until b's epochs arrive */
  int partial[] = {4, 1, 4, 4};
  TuneSweep later = fake_sweep(4, partial, chars);
  later.prune = true;
  later.prune_warmup = 1;
  later.runs[1].status = TUNE_RUNNING;
  assert_int_equal(tune_prune_update(&later), 0);
  assert_int_equal(later.runs[3].judged, 1);
  later.runs[1].n_history = 4;
  later.runs[1].status = TUNE_OK;
  assert_int_equal(tune_prune_update(&later), 2);
  for (int i = 0; i < 4; i++) assert_int_equal(later.runs[i].pruned_at, all.runs[i].pruned_at);
  free_sweep(&all);
  free_sweep(&later);
}

/* Ranked by the best character accuracy of any epoch, not at the epoch sequence accuracy picked
 * (it sits at 0 early on); ties go to the other accuracy. */
static void test_ranking(void **state) {
  double chars[3][8] = {{.2, .5, .4}, {.3, .3, .3}, {.3, .5, .1}};
  int epochs[] = {3, 3, 3};
  TuneSweep s = fake_sweep(3, epochs, chars);
  s.runs[2].history[2].v[RT_METRIC_VAL_SEQ_ACC] = 0.05; /* c: same best char acc as a, better seq acc */
  s.runs[1].status = TUNE_DIVERGED;
  TuneRow rows[3];
  assert_int_equal(tune_report_rank(&s, rows), 2);
  assert_int_equal(rows[0].run, 2);
  assert_int_equal(rows[0].rank, 1);
  assert_int_equal(rows[0].best_epoch, 2);
  assert_float_equal(rows[0].best[RT_METRIC_VAL_SEQ_ACC], 0.05, 0);
  assert_int_equal(rows[1].run, 0);
  assert_int_equal(rows[2].run, 1);
  assert_int_equal(rows[2].rank, 0);
  s.rank_metric = RT_METRIC_VAL_SEQ_ACC;
  tune_report_rank(&s, rows);
  assert_int_equal(rows[0].run, 2);
  free_sweep(&s);
}

/* A results.json in dir for a run that reports `status` after `ran` of `configured` epochs. */
static void write_results(const char *dir, RtRunStatus status, int ran, int configured, const char *config) {
  RtEpochMetrics h[8] = {0};
  for (int e = 0; e < ran; e++) {
    h[e].epoch = e + 1;
    h[e].step = 10 * (e + 1);
    h[e].v[RT_METRIC_VAL_CHAR_ACC] = 0.1 * (e + 1);
  }
  RtResults r = {.experiment = "a", .preset = "mini", .status = status, .diverged_at_step = -1,
                 .epochs_configured = configured, .best_epoch = ran, .best_metric = RT_METRIC_VAL_CHAR_ACC,
                 .history = h, .history_count = ran, .config_json = config};
  RtDiags d = {0};
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", dir, RT_FILE_RESULTS);
  assert_true(rt_fs_mkdirs(dir, &d) && rt_results_write(path, &r, &d));
  rt_diags_free(&d);
}

static int exit_status(int code) { return code << 8; } /* what waitpid reports for exit(code) */

/* The run that silently trained 2 of 50 epochs is failed and flagged, never ranked. */
static void test_short_ok_run_is_flagged(void **state) {
  double chars[1][8] = {{0}};
  int epochs[] = {0};
  TuneSweep s = fake_sweep(1, epochs, chars);
  TuneRun *r = &s.runs[0];
  r->e.epochs = 5;
  snprintf(r->dir, sizeof r->dir, "%s/short", tmp);
  write_results(r->dir, RT_RUN_OK, 2, 5, "{}");
  tune_outcome_finish(r, exit_status(0));
  assert_int_equal(r->status, TUNE_FAILED);
  assert_true(r->epochs_mismatch);
  assert_int_equal(r->n_history, 2);
  assert_non_null(strstr(r->reason, "ran 2 of 5 epochs"));
  char *json = tune_report_summary_json(&s, true);
  assert_non_null(strstr(json, "\"epochs_mismatch\":\ttrue"));
  free(json);
  FILE *f = tmpfile();
  tune_report_print(&s, f);
  rewind(f);
  char text[4096] = "";
  assert_true(fread(text, 1, sizeof text - 1, f) > 0);
  fclose(f);
  assert_non_null(strstr(text, "WARNING: a ran 2 of 5 configured epochs"));
  assert_non_null(strstr(text, "2 / 5 MISMATCH"));

  /* fewer epochs explained by early stopping are fine; a trainer configured for other epochs is not */
  write_results(r->dir, RT_RUN_EARLY_STOPPED, 2, 5, "{}");
  tune_outcome_finish(r, exit_status(0));
  assert_int_equal(r->status, TUNE_EARLY_STOPPED);
  assert_false(r->epochs_mismatch);
  write_results(r->dir, RT_RUN_OK, 2, 2, "{}");
  tune_outcome_finish(r, exit_status(0));
  assert_int_equal(r->status, TUNE_FAILED);
  assert_non_null(strstr(r->reason, "configured as 2, but the sweep asked for 5"));
  /* results of other settings are not this run's */
  write_results(r->dir, RT_RUN_OK, 5, 5, "{\"learning_rate\": 1}");
  tune_outcome_finish(r, exit_status(0));
  assert_int_equal(r->status, TUNE_FAILED);
  /* results that do not validate: the reason is the reader's, not a guess from the log */
  char path[PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/results.json", r->dir);
  FILE *f2 = fopen(path, "w");
  fputs("{\"status\": \"ok\"}\n", f2);
  fclose(f2);
  tune_outcome_finish(r, exit_status(0));
  assert_int_equal(r->status, TUNE_FAILED);
  assert_non_null(strstr(r->reason, "exit status 0; results.json is not usable: "));
  free_sweep(&s);
}

static void test_killed_child_reason(void **state) {
  double chars[1][8] = {{0}};
  int epochs[] = {0};
  TuneSweep s = fake_sweep(1, epochs, chars);
  TuneRun *r = &s.runs[0];
  snprintf(r->dir, sizeof r->dir, "%s/killed", tmp);
  write_results(r->dir, RT_RUN_OK, 1, 8, "{}"); /* rewritten after each epoch: "ok" means nothing yet */
  pid_t pid = fork();
  if (pid == 0) raise(SIGKILL);
  int ws;
  assert_int_equal(waitpid(pid, &ws, 0), pid);
  tune_outcome_finish(r, ws);
  assert_int_equal(r->status, TUNE_FAILED);
  assert_non_null(strstr(r->reason, "killed by signal 9 (SIGKILL) after 1 of 8 epochs"));
  free_sweep(&s);
}

static int count(const char *text, const char *what) {
  int n = 0;
  for (const char *p = text; (p = strstr(p, what)); p++) n++;
  return n;
}

static void test_chart(void **state) {
  double chars[3][8] = {{.1, .2, .3}, {.2, NAN, .4}, {.5}};
  int epochs[] = {3, 3, 1};
  TuneSweep s = fake_sweep(3, epochs, chars);
  s.runs[2].status = TUNE_PRUNED;
  char *svg = tune_chart_svg(&s);
  assert_true(!strncmp(svg, "<svg ", 5));
  assert_non_null(strstr(svg, "study&lt;&amp;&gt;.yaml"));
  /* character panel: a, b in two pieces (NaN breaks the line), c; sequence panel: a, b, c */
  assert_int_equal(count(svg, "<polyline"), 4 + 3);
  assert_int_equal(count(svg, "stroke-dasharray"), 2 + 1); /* c's lines and legend entry */
  assert_non_null(strstr(svg, "c (pruned)"));
  assert_non_null(strstr(svg, "</svg>\n"));
  free(svg);
  free_sweep(&s);
}

/* ---- end to end, through the smelt executable ---- */

/* Runs smelt with args (NULL-terminated) in the background, output to `log`; returns its pid. */
static pid_t start(const char *log, const char *const *args) {
  char *argv[32] = {smelt};
  int n = 1;
  for (; args[n - 1]; n++) argv[n] = (char *)args[n - 1];
  argv[n] = NULL;
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    execv(smelt, argv);
    _exit(127);
  }
  return pid;
}

static int finish(pid_t pid) {
  int ws;
  while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {}
  return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

static char *slurp(const char *path) {
  uint8_t *text = NULL;
  size_t n;
  RtDiags d = {0};
  rt_fs_read_file(path, &text, &n, &d);
  rt_diags_free(&d);
  return (char *)text;
}

/* Runs `smelt tune CONFIG --out tmp/OUT ARGS...` to its end; returns the exit code, and its
 * output in *out when out is not NULL (caller frees). */
static int tune(const char *config, const char *out, char **output, ...) {
  const char *args[24] = {"tune", NULL, "--out", NULL};
  char cfg[PATH_MAX], dir[PATH_MAX], log[PATH_MAX];
  snprintf(cfg, sizeof cfg, "%s/tests/tune/%s", SMELT_SOURCE_DIR, config);
  snprintf(dir, sizeof dir, "%s/%s", tmp, out);
  snprintf(log, sizeof log, "%s/%s.log", tmp, out);
  args[1] = cfg;
  args[3] = dir;
  int n = 4;
  va_list ap;
  va_start(ap, output);
  for (const char *a; (a = va_arg(ap, const char *));) args[n++] = a;
  va_end(ap);
  args[n] = NULL;
  int code = finish(start(log, args));
  char *text = slurp(log);
  if (output) *output = text;
  else free(text);
  return code;
}

/* summary.json of tmp/OUT without what may differ between equal sweeps: timings and `sweep`. */
static void strip_timings(cJSON *o) {
  cJSON_DeleteItemFromObject(o, "sweep");
  cJSON_DeleteItemFromObject(o, "time_s");
  cJSON_DeleteItemFromObject(o, "wall_time_s");
  for (cJSON *c = o->child; c; c = c->next)
    if (cJSON_IsObject(c) || cJSON_IsArray(c)) strip_timings(c);
}

static cJSON *summary(const char *out) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s/summary.json", tmp, out);
  char *text = slurp(path);
  assert_non_null(text);
  cJSON *o = cJSON_Parse(text);
  free(text);
  assert_non_null(o);
  strip_timings(o);
  return o;
}

static void assert_same_summary(const char *a, const char *b) {
  cJSON *x = summary(a), *y = summary(b);
  if (!cJSON_Compare(x, y, true)) {
    char *tx = cJSON_Print(x), *ty = cJSON_Print(y);
    fprintf(stderr, "%s:\n%s\n%s:\n%s\n", a, tx, b, ty);
    free(tx);
    free(ty);
    fail_msg("summary.json of %s and %s differ", a, b);
  }
  cJSON_Delete(x);
  cJSON_Delete(y);
}

static const cJSON *experiment(const cJSON *sum, const char *name) {
  const cJSON *e;
  cJSON_ArrayForEach(e, cJSON_GetObjectItem(sum, "experiments"))
    if (!strcmp(cJSON_GetObjectItem(e, "experiment")->valuestring, name)) return e;
  fail_msg("no experiment %s in the summary", name);
  return NULL;
}

static const char *str_of(const cJSON *o, const char *key) { return cJSON_GetObjectItem(o, key)->valuestring; }
static double num_of(const cJSON *o, const char *key) { return cJSON_GetObjectItem(o, key)->valuedouble; }

static bool exists(const char *out, const char *file) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s/%s", tmp, out, file);
  return access(path, F_OK) == 0;
}

static void test_sweep_ranks_two_and_records_divergence(void **state) {
  char *output;
  assert_int_equal(tune("sweep.yaml", "sweep", &output, NULL), 0);
  assert_non_null(strstr(output, "shared with ctc")); /* the plan says which runs share a module */
  assert_non_null(strstr(output, "ranked by best validation character accuracy"));
  assert_non_null(strstr(output, "tensorboard --logdir"));
  free(output);
  cJSON *s = summary("sweep");
  assert_int_equal((int)num_of(cJSON_GetObjectItem(s, "counts"), "ranked"), 2);
  assert_int_equal((int)num_of(cJSON_GetObjectItem(s, "counts"), "diverged"), 1);
  assert_string_equal(str_of(s, "best"), "attention");
  const cJSON *b = experiment(s, "blowup");
  assert_string_equal(str_of(b, "status"), "diverged");
  assert_true(cJSON_IsNull(cJSON_GetObjectItem(b, "rank")));
  assert_true(num_of(b, "diverged_at_step") >= 1);
  assert_non_null(strstr(str_of(b, "reason"), "step"));
  /* the child trainer got the experiment's own settings, lstm_forget_bias included */
  char results[PATH_MAX];
  snprintf(results, sizeof results, "%s/sweep/blowup/results.json", tmp);
  char *text = slurp(results);
  cJSON *blowup = cJSON_Parse(text);
  assert_true(num_of(cJSON_GetObjectItem(blowup, "config"), "lstm_forget_bias") == 1.0);
  cJSON_Delete(blowup);
  free(text);
  const cJSON *a = experiment(s, "attention");
  assert_int_equal((int)num_of(a, "rank"), 1);
  assert_int_equal((int)num_of(a, "epochs_run"), 3);
  assert_int_equal((int)num_of(a, "epochs_configured"), 3);
  assert_true(num_of(cJSON_GetObjectItem(a, "best"), "val_char_acc") > 0);
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(a, "history")), 3);
  assert_int_equal((int)num_of(experiment(s, "ctc"), "rank"), 2);
  cJSON_Delete(s);
  /* nothing lost: every run's own outputs are there, and the report with its chart */
  static const char *const files[] = {"ctc/results.json",       "ctc/best.safetensors",  "ctc/train.log",
                                      "attention/results.json", "attention/metrics.jsonl", "blowup/results.json",
                                      "blowup/train.log",       "report.md",             "accuracy.svg"};
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) assert_true(exists("sweep", files[i]));
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/sweep/report.md", tmp);
  char *md = slurp(path);
  assert_non_null(strstr(md, "| 1 | attention | "));
  assert_non_null(strstr(md, "| blowup | diverged | 0 / 3 diverged | loss became"));
  assert_non_null(strstr(md, "](accuracy.svg)"));
  assert_non_null(strstr(md, "## Best configuration: attention"));
  /* the noise line: the winner's standard error over its validation set, unless it reads none or all */
  snprintf(path, sizeof path, "%s/sweep/attention/val_predictions.tsv", tmp);
  char *tsv = slurp(path);
  int n = count(tsv, "\n");
  free(tsv);
  cJSON *again = summary("sweep");
  double p = num_of(cJSON_GetObjectItem(experiment(again, "attention"), "best"), "val_seq_acc");
  cJSON_Delete(again);
  char noise[200];
  snprintf(noise, sizeof noise, "On these %d validation samples the winner's sequence accuracy has a standard error of %.2f",
           n, 100 * sqrt(p * (1 - p) / n));
  if (p > 0 && p < 1) assert_non_null(strstr(md, noise));
  else assert_null(strstr(md, "standard error"));
  printf("winner's val_seq_acc %.4f over %d samples: noise line %s\n", p, n, p > 0 && p < 1 ? "checked" : "absent");
  free(md);
  /* the modules were compiled once: the run sharing ctc's loaded it from the cache */
  snprintf(path, sizeof path, "%s/sweep/blowup/train.log", tmp);
  char *log = slurp(path);
  assert_non_null(strstr(log, "from cache"));
  free(log);
}

static void test_jobs_2_matches_jobs_1(void **state) {
  char *output;
  assert_int_equal(tune("sweep.yaml", "jobs2", &output, "--jobs", "2", NULL), 0);
  assert_non_null(strstr(output, "2 at a time (SMELT_THREADS="));
  free(output);
  assert_same_summary("sweep", "jobs2");
}

static int lines(const char *out, const char *file) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s/%s", tmp, out, file);
  char *text = slurp(path);
  int n = text ? count(text, "\n") : 0;
  free(text);
  return n;
}

/* Waits until tmp/OUT/FILE has at least n lines (a minute at most). */
static void wait_lines(const char *out, const char *file, int n) {
  for (int i = 0; i < 12000 && lines(out, file) < n; i++) nanosleep(&(struct timespec){.tv_nsec = 5000000}, NULL);
  assert_true(lines(out, file) >= n);
}

/* The uninterrupted 12-epoch sweep the interrupted ones must end up equal to. */
static void ensure_whole(void) {
  static bool done;
  if (!done) assert_int_equal(tune("sweep.yaml", "whole", NULL, "--epochs", "12", NULL), 0);
  done = true;
}

/* True when a process (other than this one) has `what` among its arguments. */
static bool process_mentions(const char *what) {
  DIR *proc = opendir("/proc");
  bool found = false;
  for (struct dirent *e; proc && !found && (e = readdir(proc));) {
    pid_t pid = (pid_t)atoi(e->d_name);
    if (pid <= 0 || pid == getpid()) continue;
    char path[64], cmd[8192];
    snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
    int fd = open(path, O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, cmd, sizeof cmd - 1) : -1;
    if (fd >= 0) close(fd);
    for (ssize_t i = 0; i < n; i += (ssize_t)strlen(cmd + i) + 1) {
      cmd[n] = '\0';
      found |= !strcmp(cmd + i, what);
    }
  }
  if (proc) closedir(proc);
  return found;
}

static void test_killed_sweep_resumes_to_same_summary(void **state) {
  ensure_whole();
  char cfg[PATH_MAX], dir[PATH_MAX], log[PATH_MAX];
  snprintf(cfg, sizeof cfg, "%s/tests/tune/sweep.yaml", SMELT_SOURCE_DIR);
  snprintf(dir, sizeof dir, "%s/killed", tmp);
  snprintf(log, sizeof log, "%s/killed.log", tmp);
  const char *args[] = {"tune", cfg, "--out", dir, "--epochs", "12", NULL};
  pid_t pid = start(log, args);
  wait_lines("killed", "attention/metrics.jsonl", 2); /* ctc done, attention on its way */
  kill(pid, SIGKILL);
  assert_int_equal(finish(pid), 128 + SIGKILL);
  int ran = lines("killed", "attention/metrics.jsonl");
  assert_true(ran < 12); /* really interrupted mid-way */
  nanosleep(&(struct timespec){.tv_nsec = 300000000}, NULL);
  assert_false(process_mentions(dir)); /* its trainer died with it */
  char *output;
  assert_int_equal(tune("sweep.yaml", "killed", &output, "--epochs", "12", "--resume", NULL), 0);
  assert_non_null(strstr(output, "ctc: complete (ok, 12/12 epochs), not rerun"));
  assert_non_null(strstr(output, "attention: continues from its checkpoint"));
  free(output);
  assert_same_summary("whole", "killed");
  assert_int_equal(lines("killed", "ctc/train.log") , lines("whole", "ctc/train.log")); /* not rerun */
}

/* The pid of the sweep's child training `name`. */
static pid_t child_training(pid_t sweep, const char *name) {
  char path[64], kids[1024] = "";
  snprintf(path, sizeof path, "/proc/%d/task/%d/children", sweep, sweep);
  int kfd = open(path, O_RDONLY); /* a /proc file: its size says 0, read it as a stream */
  if (kfd >= 0 && read(kfd, kids, sizeof kids - 1) < 0) kids[0] = '\0';
  if (kfd >= 0) close(kfd);
  pid_t found = 0;
  for (char *p = kids, *end; p && *p && !found; p = end) {
    pid_t pid = (pid_t)strtol(p, &end, 10);
    if (end == p) break;
    snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
    int fd = open(path, O_RDONLY);
    char cmd[4096] = {0};
    ssize_t n = fd >= 0 ? read(fd, cmd, sizeof cmd - 1) : -1;
    if (fd >= 0) close(fd);
    for (ssize_t i = 0; i + 1 < n; i += (ssize_t)strlen(cmd + i) + 1)
      if (!strcmp(cmd + i, "--experiment") && !strcmp(cmd + i + strlen(cmd + i) + 1, name)) found = pid;
  }
  return found;
}

static void test_killed_child_is_recorded_and_resumed(void **state) {
  ensure_whole();
  char cfg[PATH_MAX], dir[PATH_MAX], log[PATH_MAX];
  snprintf(cfg, sizeof cfg, "%s/tests/tune/sweep.yaml", SMELT_SOURCE_DIR);
  snprintf(dir, sizeof dir, "%s/oom", tmp);
  snprintf(log, sizeof log, "%s/oom.log", tmp);
  const char *args[] = {"tune", cfg, "--out", dir, "--epochs", "12", NULL};
  pid_t pid = start(log, args);
  wait_lines("oom", "attention/metrics.jsonl", 2);
  pid_t child = child_training(pid, "attention");
  assert_true(child > 0);
  kill(child, SIGKILL); /* what the out-of-memory killer does */
  assert_int_equal(finish(pid), 1);
  cJSON *s = summary("oom");
  const cJSON *a = experiment(s, "attention");
  assert_string_equal(str_of(a, "status"), "failed");
  assert_non_null(strstr(str_of(a, "reason"), "killed by signal 9"));
  assert_string_equal(str_of(experiment(s, "ctc"), "status"), "ok");
  assert_string_equal(str_of(experiment(s, "blowup"), "status"), "diverged"); /* the sweep went on */
  cJSON_Delete(s);
  assert_int_equal(tune("sweep.yaml", "oom", NULL, "--epochs", "12", "--resume", NULL), 0);
  assert_same_summary("whole", "oom");
}

/* A finished sweep resumed with more --epochs extends its runs from their checkpoints instead of
 * deleting them, and ends like the sweep that asked for that many from the start. */
static void test_resume_with_more_epochs_extends(void **state) {
  ensure_whole();
  assert_int_equal(tune("sweep.yaml", "extended", NULL, "--epochs", "6", NULL), 0);
  char *output;
  assert_int_equal(tune("sweep.yaml", "extended", &output, "--epochs", "12", "--resume", NULL), 0);
  assert_non_null(strstr(output, "ctc: continues from its checkpoint (6 epochs recorded)"));
  assert_non_null(strstr(output, "attention: continues from its checkpoint (6 epochs recorded)"));
  assert_null(strstr(output, "settings changed"));
  free(output);
  assert_same_summary("whole", "extended");
}

static void test_unknown_preset_stops_before_anything_runs(void **state) {
  char cfg[PATH_MAX], log[PATH_MAX], out[PATH_MAX];
  snprintf(cfg, sizeof cfg, "%s/study.yaml", tmp);
  snprintf(out, sizeof out, "%s/study", tmp);
  FILE *f = fopen(cfg, "w");
  fputs("defaults: {epochs: 50}\nexperiments:\n  first: {model: small}\n  sixth_hour: {model: ctc, loss: ctc}\n", f);
  fclose(f);
  snprintf(log, sizeof log, "%s/study.log", tmp);
  const char *args[] = {"tune", cfg, "--out", out, NULL};
  assert_int_equal(finish(start(log, args)), 1);
  char *text = slurp(log);
  assert_non_null(strstr(text, "study.yaml:4:23: error: unknown preset 'ctc'; did you mean 'ctc_big48', 'ctc_fast', 'ctc_small' or 'ctc_wide48'?"));
  assert_non_null(strstr(text, "nothing was run"));
  free(text);
  assert_int_equal(access(out, F_OK), -1); /* not even the output folder */
}

static void test_only_unknown_name(void **state) {
  char *output;
  assert_int_equal(tune("sweep.yaml", "only", &output, "--only", "ctc,atention", NULL), 1);
  assert_non_null(
      strstr(output, "no experiment 'atention'; did you mean 'attention'? (known: ctc, attention, blowup)"));
  free(output);
  assert_false(exists("only", "ctc")); /* nothing ran */
  assert_int_equal(tune("sweep.yaml", "only", &output, "--only", ",", NULL), 1);
  assert_non_null(strstr(output, "--only ',' names no experiment"));
  free(output);
  assert_int_equal(tune("sweep.yaml", "only", NULL, "--only", "blowup,ctc", NULL), 0);
  cJSON *s = summary("only");
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(s, "experiments")), 2);
  cJSON_Delete(s);
  assert_false(exists("only", "attention"));
}

static void test_pruning(void **state) {
  char *output;
  assert_int_equal(tune("prune.yaml", "prune", &output, "--prune-warmup", "1", NULL), 0);
  free(output);
  cJSON *s = summary("prune");
  const cJSON *stuck = experiment(s, "stuck");
  assert_string_equal(str_of(stuck, "status"), "pruned");
  assert_int_equal((int)num_of(stuck, "pruned_at_epoch"), 2);
  assert_int_equal((int)num_of(stuck, "epochs_run"), 2);
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(stuck, "history")), 2);
  assert_non_null(strstr(str_of(stuck, "reason"), "worse than the median"));
  assert_int_equal((int)num_of(cJSON_GetObjectItem(s, "counts"), "ranked"), 2);
  cJSON_Delete(s);
  assert_int_equal(tune("prune.yaml", "prune2", NULL, "--prune-warmup", "1", "--jobs", "2", NULL), 0);
  assert_same_summary("prune", "prune2");
  /* resumed, the finished sweep is the same sweep: the pruned run keeps its params and checkpoint */
  assert_int_equal(tune("prune.yaml", "prune2", NULL, "--prune-warmup", "1", "--resume", NULL), 0);
  assert_same_summary("prune", "prune2");
}

/* Runs `sh -c CMD` with tmp as the working directory; its exit status. */
static int sh_in_tmp(const char *cmd) {
  char line[4 * PATH_MAX];
  snprintf(line, sizeof line, "cd %s && %s", tmp, cmd);
  return system(line);
}

/* A damaged results.json on --resume: the run continues from its checkpoint, saying why, and is
 * never wiped in silence. */
static void test_resume_with_damaged_results(void **state) {
  ensure_whole();
  assert_int_equal(sh_in_tmp("cp -r whole damaged && sed -i 's/val_char_acc/val_chr_acc/' damaged/ctc/results.json"), 0);
  char *output;
  assert_int_equal(tune("sweep.yaml", "damaged", &output, "--epochs", "12", "--resume", NULL), 0);
  assert_non_null(strstr(output, "ctc: continues from its checkpoint (12 epochs recorded); results.json was not usable: "));
  free(output);
  assert_same_summary("whole", "damaged");
}

/* A sweep that cannot start for its data leaves an earlier sweep's files as they were. */
static void test_bad_data_keeps_earlier_run(void **state) {
  char cmd[3 * PATH_MAX];
  snprintf(cmd, sizeof cmd,
           "mkdir -p set/images && printf 'images/gone.png\t12\n' > set/labels.tsv && "
           "sed 's|data: .*|data: {train: %s/set, val_split: 0.5}|; s|model: \\.\\./|model: %s/tests/|' "
           "%s/tests/tune/sweep.yaml > broken.yaml",
           tmp, SMELT_SOURCE_DIR, SMELT_SOURCE_DIR);
  assert_int_equal(sh_in_tmp(cmd), 0);
  assert_int_equal(tune("sweep.yaml", "kept", NULL, "--only", "ctc", NULL), 0);
  char cfg[PATH_MAX], dir[PATH_MAX], log[PATH_MAX];
  snprintf(cfg, sizeof cfg, "%s/broken.yaml", tmp);
  snprintf(dir, sizeof dir, "%s/kept", tmp);
  snprintf(log, sizeof log, "%s/kept.log", tmp);
  const char *args[] = {"tune", cfg, "--out", dir, "--only", "ctc", NULL};
  assert_int_equal(finish(start(log, args)), 1);
  char *text = slurp(log);
  assert_non_null(strstr(text, "gone.png"));
  assert_non_null(strstr(text, "no earlier run's files were touched"));
  free(text);
  assert_true(exists("kept", "ctc/results.json"));
  assert_true(exists("kept", "ctc/best.safetensors"));
}

static const char *given_smelt; /* argv[1] */

static int setup(void **state) {
  if (!mkdtemp(tmp)) return -1;
  if (!getenv("SMELT_CACHE_DIR")) {
    char cache[PATH_MAX];
    snprintf(cache, sizeof cache, "%s/cache", tmp);
    setenv("SMELT_CACHE_DIR", cache, 1);
  }
  return test_smelt_executable(smelt, given_smelt, "test_tune") ? 0 : -1;
}

static int teardown(void **state) {
  char cmd[PATH_MAX + 16];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
  return system(cmd) == 0 ? 0 : -1;
}

int main(int argc, char **argv) {
  given_smelt = argc > 1 ? argv[1] : NULL;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_median_rule),
      cmocka_unit_test(test_pruning_ignores_reporting_order),
      cmocka_unit_test(test_ranking),
      cmocka_unit_test(test_short_ok_run_is_flagged),
      cmocka_unit_test(test_killed_child_reason),
      cmocka_unit_test(test_chart),
      cmocka_unit_test(test_sweep_ranks_two_and_records_divergence),
      cmocka_unit_test(test_jobs_2_matches_jobs_1),
      cmocka_unit_test(test_killed_sweep_resumes_to_same_summary),
      cmocka_unit_test(test_killed_child_is_recorded_and_resumed),
      cmocka_unit_test(test_resume_with_more_epochs_extends),
      cmocka_unit_test(test_unknown_preset_stops_before_anything_runs),
      cmocka_unit_test(test_only_unknown_name),
      cmocka_unit_test(test_pruning),
      cmocka_unit_test(test_resume_with_damaged_results),
      cmocka_unit_test(test_bad_data_keeps_earlier_run),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

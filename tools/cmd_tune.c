/* `smelt tune CONFIG`: runs a whole study. The config is validated in full (and every data set
 * prepared) before the first epoch; then each experiment trains in its own child process
 * (tune_sched.c), up to --jobs at once, and the sweep ends with a ranked report in OUT
 * (tune_report.c). --resume picks an interrupted sweep up where it stopped. Under mpirun, rank 0
 * runs the sweep and the other ranks train the experiments it hands them (sweep/tune_mpi.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "driver/experiment.h"
#include "frontend/fe_plan.h"
#include "runtime/mpi/rt_mpi.h"
#include "runtime/rt_pool.h"
#include "runtime/rt_progress.h"
#include "support/rt_fs.h"
#include "support/rt_suggest.h"
#include "sweep/tune_mpi.h"
#include "sweep/tune_outcome.h"
#include "sweep/tune_report.h"
#include "sweep/tune_sched.h"
#include "sweep/tune_status.h"
#include "tools/cli.h"
#include "tools/commands.h"

static const char USAGE[] =
    "usage: smelt tune CONFIG [--only NAME,...] [--epochs N] [--jobs N] [--out DIR] [--resume]\n"
    "                         [--rank-by METRIC] [--prune] [--prune-warmup N] [--retries N]\n"
    "\n"
    "Runs every experiment of CONFIG (or the ones named), each in its own process so that a crash\n"
    "or a divergence ends that experiment only, and ranks them. The whole config is checked before\n"
    "anything runs. Writes OUT/report.md (ranking, failures, best configuration), summary.json,\n"
    "accuracy.svg, and per experiment OUT/<experiment>/ (checkpoints, metrics, TensorBoard, log).\n"
    "\n"
    "options:\n"
    "  --only NAME,...    run only these experiments\n"
    "  --epochs N         train every experiment N epochs instead of the configured number\n"
    "  --jobs N           run N experiments at once, splitting the cores between them (default 1)\n"
    "  --out DIR          output folder (default: runs)\n"
    "  --resume           keep the experiments OUT already holds complete, continue the interrupted\n"
    "                     ones from their last checkpoint\n"
    "  --rank-by METRIC   val_char_acc (default), val_seq_acc or val_loss; also what pruning compares\n"
    "  --prune            stop an experiment whose metric at an epoch is worse than the median of the\n"
    "                     experiments before it at that epoch (median rule)\n"
    "  --prune-warmup N   epochs never pruned (default 5; implies --prune)\n"
    "  --retries N        under MPI: queue a run again, up to N times, when its rank is lost (default 0)\n"
    "  -h, --help         show this help\n"
    "\n"
    "Under mpirun (mpirun -np N smelt tune ...; --enable-recovery lets a lost rank cost only its\n"
    "experiments), rank 0 hands the experiments out to every rank, longest first, each rank running\n"
    "--jobs of them at once; their files come back to rank 0's OUT (docs/distributed.md).\n"
    "\n"
    "exit status: 0 every experiment ran (ranked, diverged or pruned), 1 an experiment failed or\n"
    "the config has errors, 2 usage error, 130 interrupted (resume with --resume)\n";

typedef struct TuneArgs {
  const char *config, *only, *out;
  int64_t epochs, jobs, warmup, retries;
  bool resume, prune;
  RtMetric rank;
} TuneArgs;

static int parse_args(int argc, char **argv, TuneArgs *a) {
  static const struct option opts[] = {
      {"only", required_argument, NULL, 'o'},         {"epochs", required_argument, NULL, 'n'},
      {"jobs", required_argument, NULL, 'j'},         {"out", required_argument, NULL, 'd'},
      {"resume", no_argument, NULL, 'r'},             {"rank-by", required_argument, NULL, 'k'},
      {"prune", no_argument, NULL, 'p'},              {"prune-warmup", required_argument, NULL, 'w'},
      {"retries", required_argument, NULL, 't'},      {"help", no_argument, NULL, 'h'},
      {0}};
  *a = (TuneArgs){.out = "runs", .jobs = 1, .warmup = 5, .rank = RT_METRIC_VAL_CHAR_ACC};
  static const char *const rankable[] = {"val_char_acc", "val_seq_acc", "val_loss"};
  int c;
  while ((c = cli_getopt(argc, argv, "h", opts, USAGE)) != -1) {
    switch (c) {
      case 'h': fputs(USAGE, stdout); return -1;
      case 'o': a->only = optarg; break;
      case 'd': a->out = optarg; break;
      case 'r': a->resume = true; break;
      case 'p': a->prune = true; break;
      case 'n':
        if (!cli_parse_int("--epochs", optarg, 1, 100000, &a->epochs, USAGE)) return CLI_EXIT_USAGE;
        break;
      case 'j':
        if (!cli_parse_int("--jobs", optarg, 1, 256, &a->jobs, USAGE)) return CLI_EXIT_USAGE;
        break;
      case 't':
        if (!cli_parse_int("--retries", optarg, 0, 1000, &a->retries, USAGE)) return CLI_EXIT_USAGE;
        break;
      case 'w':
        if (!cli_parse_int("--prune-warmup", optarg, 0, 100000, &a->warmup, USAGE)) return CLI_EXIT_USAGE;
        a->prune = true;
        break;
      case 'k': {
        int m = -1;
        for (int i = 0; i < 3; i++)
          if (!strcmp(optarg, rankable[i])) m = rt_metric_parse(optarg);
        if (m < 0) {
          const char *guess = rt_suggest(optarg, rankable, 3);
          return cli_usage_error(USAGE, "--rank-by: unknown metric '%s'%s%s%s (known: %s, %s, %s)", optarg,
                                 guess ? "; did you mean '" : "", guess ? guess : "", guess ? "'?" : "", rankable[0],
                                 rankable[1], rankable[2]);
        }
        a->rank = (RtMetric)m;
        break;
      }
      default: return CLI_EXIT_USAGE;
    }
  }
  if (optind != argc - 1) return cli_usage_error(USAGE, "expected one CONFIG file");
  a->config = argv[optind];
  return CLI_EXIT_OK;
}

/* Marks the experiments named in `only` (all when NULL); false after listing the known names
 * when one is unknown. */
static bool select_experiments(const FeConfig *cfg, const char *path, const char *only, bool *chosen) {
  for (int i = 0; i < cfg->count; i++) chosen[i] = only == NULL;
  if (!only) return true;
  bool ok = true;
  const char **names = malloc((size_t)cfg->count * sizeof *names);
  for (int i = 0; i < cfg->count; i++) names[i] = cfg->experiments[i].name;
  char *list = strdup(only);
  for (char *save = NULL, *name = strtok_r(list, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
    const FeExperiment *e = fe_config_find(cfg, name);
    if (e) {
      chosen[e - cfg->experiments] = true;
      continue;
    }
    const char *guess = rt_suggest(name, names, cfg->count);
    fprintf(stderr, "%s: error: --only: no experiment '%s'", path, name);
    if (guess) fprintf(stderr, "; did you mean '%s'?", guess);
    fputs(" (known:", stderr);
    for (int i = 0; i < cfg->count; i++) fprintf(stderr, "%s %s", i ? "," : "", names[i]);
    fputs(")\n", stderr);
    ok = false;
  }
  free(list);
  free(names);
  bool any = false;
  for (int i = 0; i < cfg->count; i++) any |= chosen[i];
  if (ok && !any) {
    fprintf(stderr, "%s: error: --only '%s' names no experiment\n", path, only);
    ok = false;
  }
  return ok;
}

/* One sweep per output folder at a time: a second `smelt tune` on the same OUT would have two
 * trainers writing one experiment's files. The lock dies with the process. */
static int lock_out_dir(const char *out) {
  char path[PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/.tune.lock", out);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    fprintf(stderr, "smelt tune: cannot create %s: %s\n", path, strerror(errno));
    return -1;
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    fprintf(stderr, "smelt tune: another `smelt tune` is running with --out %s; wait for it or choose another folder\n",
            out);
    close(fd);
    return -1;
  }
  return fd;
}

static void print_plan(const TuneSweep *s) {
  if (s->ranks)
    fprintf(s->out, "smelt tune: %d experiment%s of %s over %d ranks on %d host%s, %d at a time on each, output in %s\n",
            s->n, s->n == 1 ? "" : "s", s->config_path, s->n_ranks, s->n_hosts, s->n_hosts == 1 ? "" : "s", s->jobs,
            s->out_dir);
  else
    fprintf(s->out, "smelt tune: %d experiment%s of %s, %d at a time (SMELT_THREADS=%d each), output in %s\n", s->n,
            s->n == 1 ? "" : "s", s->config_path, s->jobs, s->threads, s->out_dir);
  int w = 10;
  for (int i = 0; i < s->n; i++)
    if ((int)strlen(s->runs[i].e.name) > w) w = (int)strlen(s->runs[i].e.name);
  fprintf(s->out, "\n  %-*s  %-14s  %11s  %6s  %5s  %-9s  %-9s  %-36s  %s\n", w, "experiment", "preset", "params",
          "epochs", "batch", "lr", "optimizer", "loss", "compiled module");
  for (int i = 0; i < s->n; i++) {
    const TuneRun *r = &s->runs[i];
    char params[32], loss[96], lr[32], module[160];
    snprintf(lr, sizeof lr, "%g", r->e.learning_rate);
    bool shared = false;
    for (int j = i + 1; j < s->n; j++) shared |= s->runs[j].leader == i && j != i;
    if (r->leader != i) snprintf(module, sizeof module, "shared with %s", s->runs[r->leader].e.name);
    else snprintf(module, sizeof module, shared ? "compiled once, shared" : "own");
    fprintf(s->out, "  %-*s  %-14s  %11s  %6d  %5d  %-9s  %-9s  %-36s  %s\n", w, r->e.name, r->e.preset->name,
            fe_format_count(r->e.preset->params, params, sizeof params), r->e.epochs, r->e.batch_size, lr,
            FE_OPTIMIZER_NAMES[r->e.optimizer.kind], fe_loss_format(&r->e.loss, loss, sizeof loss), module);
  }
  int groups = 0;
  for (int i = 0; i < s->n; i++) groups += s->runs[i].leader == i;
  fprintf(s->out, "\n%d compiled module%s for %d experiments", groups, groups == 1 ? "" : "s", s->n);
  if (s->epochs_override) fprintf(s->out, "; --epochs %d replaces the configured epochs", s->epochs_override);
  /* Open MPI's mpirun ends the whole job when a process dies, unless told otherwise */
  if (s->ranks && getenv("OMPI_COMM_WORLD_SIZE") && !getenv("OMPI_MCA_orte_enable_recovery"))
    fprintf(s->out, "; a lost rank ends the whole sweep (`mpirun --enable-recovery` makes it cost only its "
                    "experiments; --resume continues either way)");
  if (s->prune)
    fprintf(s->out, "; pruning on %s after a warm-up of %d epoch%s", rt_metric_key(s->rank_metric), s->prune_warmup,
            s->prune_warmup == 1 ? "" : "s");
  fputs("\n\n", s->out);
}

/* Generates (synthetic) and loads every data set the runs will use, once each, so that a bad
 * folder or label stops the sweep before the first epoch, and children never generate the same
 * set at the same time. */
static bool prepare_data(const TuneSweep *s, RtDiags *d) {
  char (*keys)[5120] = calloc((size_t)s->n, sizeof *keys);
  bool ok = true;
  for (int i = 0; i < s->n && ok; i++) {
    const FeExperiment *e = &s->runs[i].e;
    if (s->runs[i].skip) continue;
    char where[4096 + 64];
    if (e->data.synthetic && !e->data.train) experiment_synth_dir(e, where, sizeof where); /* generated */
    else snprintf(where, sizeof where, "%s|%s|%g", e->data.train, e->data.val ? e->data.val : "", e->data.val_split);
    /* what loading depends on: the set, the charset, and the preset's image size and label length */
    snprintf(keys[i], sizeof keys[i], "%s|%s|%dx%d|%d|%d", where, e->data.charset ? e->data.charset : "",
             e->preset->height, e->preset->width, e->preset->head->head.max_length, e->data.fresh);
    bool seen = false;
    for (int j = 0; j < i && !seen; j++) seen = !strcmp(keys[i], keys[j]);
    if (seen) continue;
    RtDataset *train = NULL, *val = NULL;
    ExperimentData ed = {.log = s->out};
    ok = experiment_load_data(e, &ed, &train, &val, d);
    rt_dataset_free(train);
    rt_dataset_free(val);
  }
  free(keys);
  return ok;
}

static volatile sig_atomic_t interrupted;
static void on_signal(int sig) { interrupted = sig; }

static void rewrite_report(TuneSweep *s, TuneRun *r) {
  (void)r;
  RtDiags d = {0};
  if (!tune_report_write(s, false, &d)) rt_diags_print(&d, stderr);
  rt_diags_free(&d);
}

/* Sets up the runs of the chosen experiments and decides how each starts (tune_outcome_prepare);
 * deletes nothing. False on a folder that cannot be created. */
static bool setup_runs(TuneSweep *s, const bool *chosen, RtDiags *d) {
  bool ok = true;
  int *group_of = malloc((size_t)s->cfg->count * sizeof *group_of);
  fe_config_module_groups(s->cfg, group_of);
  for (int i = 0; i < s->cfg->count; i++) {
    if (!chosen[i]) continue;
    TuneRun *r = &s->runs[s->n++];
    r->e = s->cfg->experiments[i];
    r->config_epochs = r->e.epochs;
    if (!experiment_set_epochs(&r->e, s->epochs_override, d)) ok = false;
    r->group = group_of[i];
    r->config_json = experiment_json(&r->e);
    r->params = r->e.preset->params; /* known before anything runs: never reported as 0 */
    snprintf(r->dir, sizeof r->dir, "%s/%s", s->out_dir, r->e.name);
  }
  free(group_of);
  for (int i = 0; i < s->n && ok; i++) {
    char note[600];
    ok = tune_outcome_prepare(s, &s->runs[i], note, sizeof note, d);
    if (ok && note[0]) fprintf(s->out, "resume: %s\n", note);
  }
  /* the leader of a group is its first run this sweep launches; its siblings wait for its module */
  for (int i = 0; i < s->n; i++) {
    TuneRun *r = &s->runs[i];
    r->leader = i;
    for (int j = 0; j < i && r->leader == i; j++)
      if (s->runs[j].group == r->group && !s->runs[j].skip) r->leader = j;
  }
  return ok;
}

static void print_where(const TuneSweep *s) {
  TuneRow *rows = malloc((size_t)s->n * sizeof *rows);
  int ranked = tune_report_rank(s, rows);
  fprintf(s->out, "report:      %s/%s (chart %s/%s, data %s/%s)\n", s->out_dir, TUNE_FILE_REPORT, s->out_dir,
          TUNE_FILE_CHART, s->out_dir, TUNE_FILE_SUMMARY);
  if (ranked) {
    const char *best = s->runs[rows[0].run].e.name;
    fprintf(s->out, "best:        %s: %s/%s/%s\n", best, s->out_dir, best, RT_FILE_BEST_CKPT);
    fprintf(s->out, "deploy it:   smelt emit %s/%s/%s -o deploy/%s\n", s->out_dir, best, RT_FILE_BEST_CKPT, best);
  }
  fprintf(s->out, "checkpoints: %s/<experiment>/{%s,%s}\nlogs:        %s/<experiment>/{%s,%s,%s}\n", s->out_dir,
          RT_FILE_BEST_CKPT, RT_FILE_LAST_CKPT, s->out_dir, TUNE_FILE_LOG, RT_FILE_METRICS, RT_FILE_RESULTS);
  fprintf(s->out, "tensorboard: tensorboard --logdir %s\n", s->out_dir);
  free(rows);
}

/* A rank other than 0 of an MPI sweep: prepares the data of the chosen experiments on its host
 * (quietly: rank 0 reports), then trains what rank 0 hands it. */
static int work(const TuneArgs *a, RtComm *comm, const char *exe) {
  RtDiags d = {0};
  FeConfig *cfg = fe_config_load(a->config, NULL, &d);
  bool ready = cfg != NULL;
  char error[400] = "its copy of the config has errors";
  TuneSweep s = {.cfg = cfg};
  bool *chosen = cfg ? calloc((size_t)cfg->count, sizeof *chosen) : NULL;
  if (cfg) {
    FILE *quiet = fopen("/dev/null", "w");
    FILE *err = stderr;
    stderr = quiet ? quiet : err; /* rank 0 lists the config's problems */
    ready = select_experiments(cfg, a->config, a->only, chosen);
    stderr = err;
    if (quiet) fclose(quiet);
    s.runs = calloc((size_t)cfg->count, sizeof *s.runs);
    for (int i = 0; ready && i < cfg->count; i++)
      if (chosen[i]) s.runs[s.n++].e = cfg->experiments[i];
    rt_diags_free(&d);
    if (ready && !(ready = prepare_data(&s, &d)) && d.count) rt_diag_format(&d.items[0], error, sizeof error);
  }
  rt_diags_free(&d);
  int status = tune_worker(comm, exe, a->config, (int)a->jobs, ready, error);
  free(s.runs);
  free(chosen);
  fe_config_free(cfg);
  return status;
}

static int tune(const TuneArgs *a, RtComm *comm);

int cmd_tune(int argc, char **argv) {
  TuneArgs a;
  int rc = parse_args(argc, argv, &a);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  if (!rt_mpi_launched()) return tune(&a, NULL);
  RtComm comm;
  rt_mpi_start(&comm);
  if (comm.size == 1) {
    rc = tune(&a, NULL);
  } else if (comm.rank > 0) {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = '\0';
    rc = work(&a, &comm, exe);
    if (rc != CLI_EXIT_OK) _exit(rc); /* rank 0 is gone: MPI cannot end normally */
  } else {
    rc = tune(&a, &comm);
  }
  comm.failed_together = true; /* every rank knows how the sweep ended */
  rt_mpi_finish(&comm, rc == CLI_EXIT_OK);
  return rc;
}

/* Tells the other ranks of an MPI sweep that it is over. When one was lost, a message to it may
 * never complete and MPI cannot end normally: the process exits here with `status`. */
static void end_ranks(TuneRanks *ranks, int status) {
  if (!ranks || !tune_ranks_free(ranks)) return;
  fflush(NULL);
  _exit(status);
}

/* The sweep (comm: rank 0 of an MPI sweep, else NULL). */
static int tune(const TuneArgs *args, RtComm *comm) {
  const TuneArgs *a = args;
  /* first of all, so that the other ranks always hear how the sweep ends */
  TuneRanks *ranks = comm ? tune_ranks_new(comm, (int)a->jobs) : NULL;
  RtDiags d = {0};
  FeConfig *cfg = fe_config_load(a->config, NULL, &d);
  rt_diags_print(&d, stderr);
  rt_diags_free(&d);
  if (!cfg) {
    fprintf(stderr, "%s: nothing was run: fix the config first (`smelt check %s` lists every problem)\n", a->config,
            a->config);
    end_ranks(ranks, CLI_EXIT_FAIL);
    return CLI_EXIT_FAIL;
  }
  bool *chosen = calloc((size_t)cfg->count, sizeof *chosen);
  char exe[PATH_MAX];
  ssize_t exe_len = readlink("/proc/self/exe", exe, sizeof exe - 1);
  int lock = -1, status = CLI_EXIT_FAIL;
  TuneSweep s = {.config_path = a->config, .out_dir = a->out, .exe = exe, .cfg = cfg, .jobs = (int)a->jobs,
                 .rank_metric = a->rank, .prune = a->prune, .prune_warmup = (int)a->warmup,
                 .epochs_override = (int)a->epochs, .resume = a->resume, .out = stdout,
                 .tty = isatty(STDOUT_FILENO) && isatty(STDERR_FILENO), .started = rt_now_seconds(),
                 .interrupted = &interrupted, .ranks = ranks, .retries = (int)a->retries, .n_ranks = 1,
                 .n_hosts = 1};
  if (ranks) {
    s.n_ranks = tune_ranks_size(ranks);
    s.n_hosts = tune_ranks_hosts(ranks);
  }
  s.runs = calloc((size_t)cfg->count, sizeof *s.runs);
  int cores = rt_pool_threads() / (comm ? rt_mpi_host_processes() : 1); /* ranks of a host share it */
  s.threads = cores / s.jobs > 1 ? cores / s.jobs : 1;
  if (s.jobs > rt_pool_threads())
    fprintf(stderr, "smelt tune: warning: --jobs %d on %d cores: the experiments share cores and each runs slower\n",
            s.jobs, rt_pool_threads());
  if (exe_len <= 0) {
    fprintf(stderr, "smelt tune: cannot find the smelt executable (/proc/self/exe): %s\n", strerror(errno));
    goto done;
  }
  exe[exe_len] = '\0';
  if (!select_experiments(cfg, a->config, a->only, chosen)) goto done;
  if (!rt_fs_mkdirs(a->out, &d) || (lock = lock_out_dir(a->out)) < 0) goto done;
  if (!setup_runs(&s, chosen, &d)) goto done;
  print_plan(&s);
  if (!prepare_data(&s, &d)) {
    rt_diags_print(&d, stderr);
    rt_diags_free(&d);
    fprintf(stderr, "%s: nothing was trained and no earlier run's files were touched: the data is not usable\n",
            a->config);
    goto done;
  }
  /* only now, with the config and data checked, do runs that start over lose an earlier run's files */
  for (int i = 0; i < s.n; i++)
    if (!tune_outcome_clear(&s.runs[i], &d)) goto done;
  struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: the poll loop's sleep returns */
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  bool finished = tune_sched_run(&s, rewrite_report);
  if (!tune_report_write(&s, finished, &d)) goto done;
  tune_report_print(&s, s.out);
  print_where(&s);
  if (!finished) {
    fprintf(stderr, "\ninterrupted: run the same command with --resume to continue (finished experiments are kept)\n");
    status = 128 + SIGINT;
    goto done;
  }
  status = CLI_EXIT_OK;
  for (int i = 0; i < s.n; i++)
    if (s.runs[i].status == TUNE_FAILED) status = CLI_EXIT_FAIL;
done:
  rt_diags_print(&d, stderr);
  rt_diags_free(&d);
  for (int i = 0; i < s.n; i++) {
    free(s.runs[i].config_json);
    free(s.runs[i].history);
  }
  free(s.runs);
  free(chosen);
  if (lock >= 0) close(lock);
  fe_config_free(cfg);
  end_ranks(ranks, status);
  return status;
}

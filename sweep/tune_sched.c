/* The sweep's process scheduler (tune_sched.h): a poll loop every 100 ms that reaps ended
 * children (waitpid), follows the running ones' metrics.jsonl, applies the median rule, starts
 * runs while fewer than `jobs` are alive, and redraws the status line. Between fork and exec the
 * child only makes system calls (the environment and argv are built before the fork), as a
 * multithreaded parent requires. */
#include "sweep/tune_sched.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/rt_progress.h"
#include "sweep/tune_outcome.h"
#include "sweep/tune_prune.h"
#include "sweep/tune_status.h"

extern char **environ;

/* The parent's environment with the thread settings replaced: our pool gets its share of the
 * cores, and no BLAS or OpenMP pool may add threads on top (oversubscription). */
static char **child_environment(const TuneSweep *s, char *threads_var, size_t size) {
  static const char *const replaced[] = {"SMELT_THREADS=", "OPENBLAS_NUM_THREADS=", "OMP_NUM_THREADS=",
                                         "GOTO_NUM_THREADS="};
  enum { N_REPLACED = sizeof replaced / sizeof *replaced };
  size_t n = 0;
  while (environ[n]) n++;
  char **env = calloc(n + N_REPLACED + 1, sizeof *env);
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    bool drop = false;
    for (int j = 0; j < N_REPLACED; j++) drop |= !strncmp(environ[i], replaced[j], strlen(replaced[j]));
    if (!drop) env[k++] = environ[i];
  }
  snprintf(threads_var, size, "SMELT_THREADS=%d", s->threads);
  env[k++] = threads_var;
  env[k++] = "OPENBLAS_NUM_THREADS=1";
  env[k++] = "OMP_NUM_THREADS=1";
  env[k++] = "GOTO_NUM_THREADS=1";
  env[k] = NULL;
  return env;
}

static void fail_to_start(TuneSweep *s, TuneRun *r, const char *what) {
  snprintf(r->reason, sizeof r->reason, "could not start its trainer: %.300s: %s", what, strerror(errno));
  r->status = TUNE_FAILED;
  tune_status_event(s, r, "FAILED: %s", r->reason);
}

static void spawn(TuneSweep *s, TuneRun *r, char **env) {
  char log[PATH_MAX + 32], epochs[16];
  snprintf(log, sizeof log, "%s/%s", r->dir, TUNE_FILE_LOG);
  snprintf(epochs, sizeof epochs, "%d", r->e.epochs);
  char *argv[] = {(char *)s->exe, "train", (char *)s->config_path, "--experiment", (char *)r->e.name,
                  "--out", (char *)s->out_dir, "--epochs", epochs, "--quiet", r->resume ? "--resume" : NULL, NULL};
  int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    fail_to_start(s, r, log);
    return;
  }
  dprintf(fd, "== smelt tune: %s train %s --experiment %s --out %s --epochs %s --quiet%s (SMELT_THREADS=%d)\n",
          s->exe, s->config_path, r->e.name, s->out_dir, epochs, r->resume ? " --resume" : "", s->threads);
  r->log_scanned = lseek(fd, 0, SEEK_END);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    /* dies with the sweep; the check closes the race with a parent that died before prctl */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(128 + SIGKILL);
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0) dup2(null, STDIN_FILENO);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    execve(s->exe, argv, env);
    static const char msg[] = "smelt tune: execve of the smelt executable failed\n";
    ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)w;
    _exit(127);
  }
  close(fd);
  if (pid < 0) {
    fail_to_start(s, r, "fork");
    return;
  }
  r->pid = pid;
  r->status = TUNE_RUNNING;
  r->started = rt_now_seconds();
  r->shown_epochs = tune_run_epochs(r);
  if (r->resume)
    tune_status_event(s, r, "resumed after epoch %d (log: %s)", r->n_history, log);
  else
    tune_status_event(s, r, "started: %s, %d epochs (log: %s)", r->e.preset->name, r->e.epochs, log);
}

bool tune_sched_can_start(const TuneSweep *s, int i) {
  const TuneRun *r = &s->runs[i];
  if (r->status != TUNE_PENDING || r->skip || r->pid) return false;
  if (r->leader != i) {
    const TuneRun *l = &s->runs[r->leader];
    if (l->status == TUNE_PENDING || (l->status == TUNE_RUNNING && !l->module_ready)) return false;
  }
  return !s->prune || r->judged >= r->n_history;
}

static void announce_end(TuneSweep *s, TuneRun *r) {
  r->announced = true;
  char v[16], t[16];
  double best;
  int epoch = tune_history_best(r->history, tune_run_epochs(r), s->rank_metric, &best);
  double took = rt_now_seconds() - r->started;
  switch (r->status) {
    case TUNE_OK:
    case TUNE_EARLY_STOPPED:
      tune_status_event(s, r, "%s: %d/%d epochs, best %s %s at epoch %d (%s)", tune_status_name(r->status),
                        r->n_history, r->e.epochs, rt_metric_key(s->rank_metric),
                        tune_format_metric(s->rank_metric, best, v, sizeof v), epoch,
                        tune_format_seconds(took, t, sizeof t));
      break;
    case TUNE_FAILED: tune_status_event(s, r, "FAILED: %s", r->reason); break;
    default: tune_status_event(s, r, "%s: %s", tune_status_name(r->status), r->reason); break;
  }
}

/* Stops the children of runs the median rule has just pruned. */
static void stop_pruned(TuneSweep *s, const int *was_pruned_at) {
  for (int i = 0; i < s->n; i++) {
    TuneRun *r = &s->runs[i];
    if (r->pruned_at == 0 || was_pruned_at[i]) continue;
    if (r->pid > 0) { /* its end, once reaped, says it was pruned */
      r->pruning_kill = true;
      kill(r->pid, SIGKILL); /* its checkpoints and logs are written atomically: nothing is torn */
    } else if (r->announced) { /* else its end, about to be announced, says it */
      tune_status_event(s, r, "pruned after it ended (once the runs before it reached epoch %d): %s", r->pruned_at,
                        r->reason);
    }
  }
}

static void apply_pruning(TuneSweep *s, int *pruned_at) {
  for (int i = 0; i < s->n; i++) pruned_at[i] = s->runs[i].pruned_at;
  if (tune_prune_update(s)) stop_pruned(s, pruned_at);
}

static TuneRun *run_of(TuneSweep *s, pid_t pid) {
  for (int i = 0; i < s->n; i++)
    if (s->runs[i].pid == pid) return &s->runs[i];
  return NULL;
}

static void stop_all(TuneSweep *s) {
  for (int i = 0; i < s->n; i++)
    if (s->runs[i].pid > 0) kill(s->runs[i].pid, SIGTERM);
  for (int i = 0; i < s->n; i++) {
    TuneRun *r = &s->runs[i];
    if (r->pid <= 0) continue;
    int ws = 0;
    while (waitpid(r->pid, &ws, 0) < 0 && errno == EINTR) {}
    r->pid = 0;
    /* our SIGTERM, or the terminal's Ctrl-C, which reaches the children too */
    bool stopped_here = WIFSIGNALED(ws) && (WTERMSIG(ws) == SIGTERM || WTERMSIG(ws) == SIGINT);
    if (stopped_here && !r->pruning_kill && r->pruned_at == 0) {
      r->status = TUNE_PENDING; /* interrupted: --resume continues it */
      tune_outcome_poll(r);
    } else {
      tune_outcome_finish(r, ws); /* it had ended by itself, or was being pruned */
    }
  }
}

bool tune_sched_run(TuneSweep *s, void (*on_end)(TuneSweep *s, TuneRun *r)) {
  char threads_var[64];
  char **env = child_environment(s, threads_var, sizeof threads_var);
  int *pruned_at = calloc((size_t)s->n + 1, sizeof *pruned_at);
  int running = 0;
  apply_pruning(s, pruned_at); /* runs complete on disk may already decide some epochs */
  while (!*s->interrupted) {
    int ws;
    for (pid_t pid; (pid = waitpid(-1, &ws, WNOHANG)) > 0;) {
      TuneRun *r = run_of(s, pid);
      if (!r) continue;
      r->pid = 0;
      running--;
      tune_outcome_finish(r, ws);
      tune_status_epochs(s, r);
      apply_pruning(s, pruned_at);
      announce_end(s, r);
      if (on_end) on_end(s, r);
      if (!s->tty) {
        char line[512];
        tune_status_format(s, line, sizeof line);
        tune_status_event(s, NULL, "-- %s", line);
      }
    }
    for (int i = 0; i < s->n; i++) {
      TuneRun *r = &s->runs[i];
      if (r->pid <= 0) continue;
      if (tune_outcome_poll(r)) tune_status_epochs(s, r);
      tune_outcome_scan_log(r);
    }
    apply_pruning(s, pruned_at);
    int pending = 0;
    for (int i = 0; i < s->n; i++) pending += s->runs[i].status == TUNE_PENDING && !s->runs[i].skip;
    for (int i = 0; i < s->n && running < s->jobs; i++) {
      if (!tune_sched_can_start(s, i)) continue;
      spawn(s, &s->runs[i], env);
      running += s->runs[i].pid > 0;
    }
    if (running == 0 && pending == 0) break;
    if (running == 0) { /* cannot happen by construction; never spin on it */
      for (int i = 0; i < s->n && running == 0; i++)
        if (s->runs[i].status == TUNE_PENDING && !s->runs[i].skip) {
          spawn(s, &s->runs[i], env);
          running += s->runs[i].pid > 0;
        }
      continue;
    }
    tune_status_draw(s);
    nanosleep(&(struct timespec){.tv_nsec = 100 * 1000 * 1000}, NULL);
  }
  bool interrupted = *s->interrupted != 0;
  if (interrupted) stop_all(s);
  apply_pruning(s, pruned_at);
  tune_status_clear(s);
  free(pruned_at);
  free(env);
  return !interrupted;
}

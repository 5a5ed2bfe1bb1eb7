/* The sweep's process scheduler (tune_sched.h): a poll loop every 100 ms that reaps ended
 * children (waitpid), follows the running ones' metrics.jsonl, applies the median rule, starts
 * runs while fewer than `jobs` are alive, and redraws the status line. */
#include "sweep/tune_sched.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/rt_progress.h"
#include "sweep/tune_child.h"
#include "sweep/tune_mpi.h"
#include "sweep/tune_outcome.h"
#include "sweep/tune_prune.h"
#include "sweep/tune_status.h"

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
  pid_t pid = tune_child_start(s->exe, argv, env, fd);
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

static TuneRun *run_of(TuneSweep *s, pid_t pid) {
  for (int i = 0; i < s->n; i++)
    if (s->runs[i].pid == pid) return &s->runs[i];
  return NULL;
}

/* Whether r's trainer is alive, here (pid) or on another rank: the median rule marks a run
 * pruned before its trainer has ended. */
static bool in_flight(const TuneRun *r) { return r->pid > 0 || r->rank > 0; }

/* Stops the trainers of runs the median rule has just pruned. */
static void stop_pruned(TuneSweep *s, const int *was_pruned_at) {
  for (int i = 0; i < s->n; i++) {
    TuneRun *r = &s->runs[i];
    if (r->pruned_at == 0 || was_pruned_at[i]) continue;
    if (in_flight(r)) { /* its end, once reported, says it was pruned */
      r->pruning_kill = true;
      /* its checkpoints and logs are written atomically: nothing is torn */
      if (r->pid > 0) kill(r->pid, SIGKILL);
      else tune_ranks_signal(s->ranks, s, r, SIGKILL);
    } else if (r->announced) { /* else its end, about to be announced, says it */
      tune_status_event(s, r, "pruned after it ended (once the runs before it reached epoch %d): %s", r->pruned_at,
                        r->reason);
    }
  }
}

static void apply_pruning(TuneSweep *s) {
  int *pruned_at = malloc(((size_t)s->n + 1) * sizeof *pruned_at);
  for (int i = 0; i < s->n; i++) pruned_at[i] = s->runs[i].pruned_at;
  if (tune_prune_update(s)) stop_pruned(s, pruned_at);
  free(pruned_at);
}

/* A run's trainer ended (here or on another rank) with wait status ws. */
static void run_ended(TuneSweep *s, TuneRun *r, int ws) {
  r->pid = 0;
  r->rank = -1;
  tune_outcome_finish(r, ws);
  tune_status_epochs(s, r);
  apply_pruning(s);
  announce_end(s, r);
  if (s->on_end) s->on_end(s, r);
  if (!s->tty) {
    char line[512];
    tune_status_format(s, line, sizeof line);
    tune_status_event(s, NULL, "-- %s", line);
  }
}

/* A trainer that ended while the sweep was being stopped: one our SIGTERM (or the terminal's
 * Ctrl-C, which reaches it too) stopped is left pending, for --resume. */
static void run_stopped(TuneSweep *s, TuneRun *r, int ws) {
  r->pid = 0;
  r->rank = -1;
  bool stopped_here = WIFSIGNALED(ws) && (WTERMSIG(ws) == SIGTERM || WTERMSIG(ws) == SIGINT);
  if (stopped_here && !r->pruning_kill && r->pruned_at == 0) {
    r->status = TUNE_PENDING;
    tune_outcome_poll(r);
  } else {
    tune_outcome_finish(r, ws); /* it had ended by itself, or was being pruned */
  }
}

static void stop_all(TuneSweep *s) {
  for (int i = 0; i < s->n; i++) {
    TuneRun *r = &s->runs[i];
    if (r->pid > 0) kill(r->pid, SIGTERM);
    else if (r->rank > 0) tune_ranks_signal(s->ranks, s, r, SIGTERM);
  }
  for (int i = 0; i < s->n; i++) {
    TuneRun *r = &s->runs[i];
    if (r->pid <= 0) continue;
    int ws = 0;
    while (waitpid(r->pid, &ws, 0) < 0 && errno == EINTR) {}
    run_stopped(s, r, ws);
  }
  /* the other ranks' trainers send their last files, then their end */
  for (bool remote = s->ranks != NULL; remote;) {
    tune_ranks_poll(s->ranks, s, run_stopped);
    remote = false;
    for (int i = 0; i < s->n; i++) remote |= s->runs[i].rank > 0;
    if (remote) nanosleep(&(struct timespec){.tv_nsec = 50 * 1000 * 1000}, NULL);
  }
}

/* The order runs are handed out in: config order on one machine; longest expected first over
 * MPI ranks (forward FLOPs x samples x epochs still to train), so that the last run to end is a
 * short one. */
static double expected_cost(const TuneRun *r) {
  const FeExperiment *e = &r->e;
  double samples = e->data.synthetic ? e->data.train_count : 1;
  return e->preset->flops * samples * (e->epochs - r->n_history);
}

static int *start_order(const TuneSweep *s) {
  int *order = malloc(((size_t)s->n + 1) * sizeof *order);
  for (int i = 0; i < s->n; i++) order[i] = i;
  if (!s->ranks) return order;
  for (int i = 1; i < s->n; i++) /* stable insertion sort, longest first */
    for (int j = i; j > 0 && expected_cost(&s->runs[order[j]]) > expected_cost(&s->runs[order[j - 1]]); j--) {
      int t = order[j];
      order[j] = order[j - 1];
      order[j - 1] = t;
    }
  return order;
}

/* Starts run r in a free slot: one of ours while we have fewer than `jobs` trainers, else one of
 * another rank. False when no slot is free. */
static bool start_run(TuneSweep *s, TuneRun *r, char **env, int local_running) {
  if (local_running < s->jobs) {
    spawn(s, r, env);
    if (r->pid > 0) r->rank = 0;
    return true;
  }
  int rank = s->ranks ? tune_ranks_free_slot(s->ranks, r->resume) : -1;
  if (rank < 0) return false;
  char log[PATH_MAX + 32];
  snprintf(log, sizeof log, "%s/%s", r->dir, TUNE_FILE_LOG);
  struct stat st;
  r->log_scanned = stat(log, &st) == 0 ? (long)st.st_size : 0;
  if (!tune_ranks_start(s->ranks, s, r, rank)) return true; /* the rank is lost: r waits for another */
  r->status = TUNE_RUNNING;
  r->started = rt_now_seconds();
  r->shown_epochs = tune_run_epochs(r);
  const char *host = tune_ranks_host(s->ranks, rank);
  if (r->resume)
    tune_status_event(s, r, "resumed after epoch %d on rank %d (%s)", r->n_history, rank, host);
  else
    tune_status_event(s, r, "started on rank %d (%s): %s, %d epochs", rank, host, r->e.preset->name, r->e.epochs);
  return true;
}

static int count_local(const TuneSweep *s) {
  int n = 0;
  for (int i = 0; i < s->n; i++) n += s->runs[i].pid > 0;
  return n;
}

bool tune_sched_run(TuneSweep *s, void (*on_end)(TuneSweep *s, TuneRun *r)) {
  char threads_var[64];
  char **env = tune_child_environment(s->threads, threads_var, sizeof threads_var);
  int *order = start_order(s);
  s->on_end = on_end;
  for (int i = 0; i < s->n; i++) s->runs[i].rank = -1;
  apply_pruning(s); /* runs complete on disk may already decide some epochs */
  while (!*s->interrupted) {
    int ws;
    for (pid_t pid; (pid = waitpid(-1, &ws, WNOHANG)) > 0;) {
      TuneRun *r = run_of(s, pid);
      if (r) run_ended(s, r, ws);
    }
    if (s->ranks) tune_ranks_poll(s->ranks, s, run_ended);
    for (int i = 0; i < s->n; i++) {
      TuneRun *r = &s->runs[i];
      if (r->status != TUNE_RUNNING) continue;
      if (tune_outcome_poll(r)) tune_status_epochs(s, r);
      tune_outcome_scan_log(r);
    }
    apply_pruning(s);
    int pending = 0, running = 0;
    for (int i = 0; i < s->n; i++) {
      pending += s->runs[i].status == TUNE_PENDING && !s->runs[i].skip;
      running += in_flight(&s->runs[i]);
    }
    for (int k = 0; k < s->n; k++) {
      TuneRun *r = &s->runs[order[k]];
      if (!tune_sched_can_start(s, order[k])) continue;
      if (!start_run(s, r, env, count_local(s))) break;
      running += in_flight(r);
    }
    if (running == 0 && pending == 0) break;
    if (running == 0) { /* cannot happen by construction; never spin on it */
      for (int k = 0; k < s->n && running == 0; k++) {
        TuneRun *r = &s->runs[order[k]];
        if (r->status != TUNE_PENDING || r->skip) continue;
        spawn(s, r, env);
        running += r->pid > 0;
      }
      continue;
    }
    tune_status_draw(s);
    nanosleep(&(struct timespec){.tv_nsec = 100 * 1000 * 1000}, NULL);
  }
  bool interrupted = *s->interrupted != 0;
  if (interrupted) stop_all(s);
  apply_pruning(s);
  tune_status_clear(s);
  free(order);
  free(env);
  return !interrupted;
}

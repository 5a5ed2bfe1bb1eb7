/* `smelt tune`: the state its parts share. A sweep is a list of runs (one per experiment, in
 * config order), each trained by a child `smelt train` and judged only from what the trainer wrote,
 * read through the validating readers of runtime/rt_results.h. tune_outcome: files + exit ->
 * status; tune_sched: the children; tune_prune: the median rule; tune_report, tune_chart: the
 * report; tune_status: the terminal. */
#ifndef SMELT_SWEEP_TUNE_SWEEP_H
#define SMELT_SWEEP_TUNE_SWEEP_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "frontend/fe_config.h"
#include "runtime/rt_results.h"

typedef enum TuneStatus {
  TUNE_PENDING,       /* not started (or interrupted before it ended) */
  TUNE_RUNNING,       /* its child is alive */
  TUNE_OK,            /* every requested epoch ran */
  TUNE_EARLY_STOPPED, /* early stopping ended it */
  TUNE_DIVERGED,      /* a NaN/Inf loss ended it (with the step) */
  TUNE_PRUNED,        /* the median rule stopped it (with the epoch) */
  TUNE_FAILED,        /* an error, a crash, a kill, or fewer epochs than requested with no reason */
  TUNE_STATUS_COUNT
} TuneStatus;

/* "pending", "running", "ok", "early_stopped", "diverged", "pruned", "failed". */
const char *tune_status_name(TuneStatus s);
/* ok and early_stopped runs are ranked; the others are listed below the ranking. */
bool tune_status_ranked(TuneStatus s);
bool tune_status_ended(TuneStatus s);

typedef struct TuneRun {
  FeExperiment e;            /* the config's experiment with the requested epochs */
  int config_epochs;         /* the epochs the config itself asks for (--epochs may differ) */
  int group;                 /* compiled-module group (fe_config_module_groups) */
  int leader;                /* the group's first run that this sweep launches (may be itself) */
  char dir[PATH_MAX];        /* OUT/<experiment> */
  char *config_json;         /* experiment_json(&e), owned: what results.json must record */

  TuneStatus status;
  char reason[512];          /* why it failed, diverged or was pruned; "" otherwise */
  int64_t diverged_at_step;  /* -1 unless diverged */
  int pruned_at;             /* epoch the median rule stopped it at; 0 when not pruned */
  bool epochs_mismatch;      /* ended without error after fewer (or more) epochs than requested */
  RtEpochMetrics *history;   /* (n_history) epochs 1..n, malloc'ed; cut at pruned_at in reports */
  int n_history;
  int checkpoint_epoch;      /* epoch of best.safetensors (results.json best_epoch), or -1 */
  int64_t params;
  double wall_seconds;       /* results.json wall_time_s of the trainer's last process */

  bool skip;                 /* complete on disk (--resume): not launched again */
  bool resume;               /* launched with `train --resume` */
  pid_t pid;                 /* while running here (rank 0); 0 otherwise */
  int rank;                  /* MPI sweeps: the rank running it (0: here), -1 when none */
  int retries_used;          /* times it was queued again after its rank was lost */
  double started;            /* rt_now_seconds() at launch */
  bool module_ready;         /* its log says the model is compiled (siblings may start) */
  long log_scanned;          /* bytes of train.log already searched for that line */
  long long metrics_stamp;   /* size + mtime of metrics.jsonl when last read */
  int shown_epochs;          /* epoch lines already printed */
  bool pruning_kill;         /* the sweep killed it for the median rule */
  bool announced;            /* its end was printed */
  int judged;                /* median rule: epochs decided (not pruned at any of them) */
} TuneRun;

typedef struct TuneSweep {
  const char *config_path;   /* as given: children get the same path */
  const char *out_dir;
  const char *exe;           /* the smelt executable children run */
  const FeConfig *cfg;
  TuneRun *runs;             /* (n) in config order */
  int n;
  int jobs;                  /* children at once */
  int threads;               /* SMELT_THREADS of each child: max(1, cores / jobs) */
  RtMetric rank_metric;      /* val_char_acc (default), val_seq_acc or val_loss */
  bool prune;
  int prune_warmup;          /* epochs never pruned */
  int epochs_override;       /* --epochs, or 0 */
  bool resume;
  FILE *out;                 /* the terminal (stdout) */
  bool tty;                  /* out is a terminal: redraw the status line in place */
  bool status_drawn;         /* a status line is on screen (tty) */
  double started;
  volatile sig_atomic_t *interrupted; /* set by SIGINT/SIGTERM */
  struct TuneRanks *ranks;   /* MPI sweeps (rank 0): the other ranks (sweep/tune_mpi.h); else NULL */
  int retries;               /* --retries: times a run may be queued again after its rank was lost */
  int n_ranks, n_hosts;      /* processes and hosts that ran the sweep (1, 1 without MPI) */
  void (*on_end)(struct TuneSweep *s, TuneRun *r); /* tune_sched_run's */
} TuneSweep;

/* Fewest earlier runs with a value at an epoch before the median rule prunes against them. */
enum { TUNE_PRUNE_MIN_OTHERS = 2 };

/* The best value of metric m over the first n epochs of h and its (first) epoch; NaN values are
 * never best. Returns the epoch (1-based), or 0 when no epoch has a finite value. */
int tune_history_best(const RtEpochMetrics *h, int n, RtMetric m, double *value);

/* The epochs of a run that count: its history, cut at the epoch where it was pruned. */
int tune_run_epochs(const TuneRun *r);

#endif

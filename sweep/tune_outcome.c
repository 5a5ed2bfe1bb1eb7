/* A run's start and end as the sweep sees them (tune_outcome.h). The trainer rewrites
 * results.json after every epoch with status "ok", so "ok" alone never means finished: a run is
 * finished only when its child exited cleanly (or, on --resume, when the file records as many
 * epochs as were requested), and an ok run with any other epoch count is flagged, not ranked. */
#include "sweep/tune_outcome.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/rt_fs.h"

static void path_in(const TuneRun *r, const char *file, char *buf, size_t size) {
  snprintf(buf, size, "%s/%s", r->dir, file);
}

/* Loads results.json; false when it is missing or does not validate, then `why` (when not NULL)
 * gets the reader's first error, or "" for a missing file. */
static bool load_results(const TuneRun *r, RtResults *res, char *why, size_t why_size) {
  char path[PATH_MAX + 32];
  path_in(r, RT_FILE_RESULTS, path, sizeof path);
  RtDiags d = {0};
  bool ok = access(path, F_OK) == 0 && rt_results_load(path, res, &d);
  if (why) {
    why[0] = '\0';
    if (!ok && d.count) rt_diag_format(&d.items[0], why, why_size);
  }
  rt_diags_free(&d);
  return ok;
}

static void set_history(TuneRun *r, const RtEpochMetrics *h, int n) {
  free(r->history);
  r->history = n ? malloc((size_t)n * sizeof *h) : NULL;
  if (n) memcpy(r->history, h, (size_t)n * sizeof *h);
  r->n_history = n;
}

/* Takes what the report needs from a loaded results.json. */
static void take_results(TuneRun *r, const RtResults *res) {
  set_history(r, res->history, res->history_count);
  r->checkpoint_epoch = res->best_epoch;
  r->params = res->params;
  r->wall_seconds = res->wall_time_s;
}

/* The status a results.json of this run's settings stands for, once its trainer has ended. */
static TuneStatus judge_results(TuneRun *r, const RtResults *res) {
  int want = r->e.epochs, ran = res->history_count;
  r->reason[0] = '\0';
  r->diverged_at_step = -1;
  r->epochs_mismatch = false;
  switch (res->status) {
    case RT_RUN_DIVERGED:
      r->diverged_at_step = res->diverged_at_step;
      if (res->error) snprintf(r->reason, sizeof r->reason, "%s", res->error);
      else snprintf(r->reason, sizeof r->reason, "loss became NaN/Inf at step %lld", (long long)res->diverged_at_step);
      return TUNE_DIVERGED;
    case RT_RUN_FAILED:
      snprintf(r->reason, sizeof r->reason, "%s", res->error ? res->error : "the trainer failed");
      return TUNE_FAILED;
    case RT_RUN_EARLY_STOPPED:
      if (res->epochs_configured == want && ran <= want) return TUNE_EARLY_STOPPED;
      break;
    default:
      if (res->epochs_configured == want && ran == want) return TUNE_OK;
      break;
  }
  r->epochs_mismatch = true;
  if (res->epochs_configured != want)
    snprintf(r->reason, sizeof r->reason,
             "the trainer ran %d epochs configured as %d, but the sweep asked for %d", ran, res->epochs_configured,
             want);
  else
    snprintf(r->reason, sizeof r->reason,
             "ran %d of %d epochs and reported %s: no early stopping, divergence or pruning explains it", ran, want,
             rt_run_status_name(res->status));
  return TUNE_FAILED;
}

/* Removes what an earlier trainer left in the run's folder (only smelt's own file names). */
static bool clear_previous(const TuneRun *r, RtDiags *d) {
  char path[PATH_MAX + 300];
  path_in(r, TUNE_FILE_LOG, path, sizeof path);
  bool ok = unlink(path) == 0 || errno == ENOENT;
  if (!ok) rt_diag_error(d, path, 0, 0, "cannot remove the previous run's file: %s", strerror(errno));
  return rt_run_dir_clear(r->dir, d) && ok;
}

static bool file_exists(const TuneRun *r, const char *file) {
  char path[PATH_MAX + 32];
  path_in(r, file, path, sizeof path);
  return access(path, F_OK) == 0;
}

/* The history so far of a run about to resume (metrics.jsonl; the checkpoint may be an epoch
 * behind it, and the trainer redoes that epoch with the same result). */
static void load_partial_history(TuneRun *r) {
  char path[PATH_MAX + 32];
  path_in(r, RT_FILE_METRICS, path, sizeof path);
  RtEpochMetrics *h = NULL;
  int32_t n = 0;
  RtDiags d = {0};
  if (rt_epoch_log_load(path, -1, &h, &n, &d)) set_history(r, h, n);
  free(h);
  rt_diags_free(&d);
}

bool tune_outcome_prepare(const TuneSweep *s, TuneRun *r, char *note, size_t note_size, RtDiags *d) {
  note[0] = '\0';
  r->status = TUNE_PENDING;
  r->diverged_at_step = -1;
  r->checkpoint_epoch = -1;
  if (!rt_fs_mkdirs(r->dir, d)) return false;
  if (!s->resume) return true;
  RtResults res;
  char why[300];
  bool checkpoint = file_exists(r, RT_FILE_LAST_CKPT);
  if (!load_results(r, &res, why, sizeof why)) {
    /* a checkpoint without usable results (killed between the two writes, or a damaged file):
     * the trainer checks the checkpoint's settings itself and refuses, keeping the files, when
     * they are another experiment's */
    if (checkpoint) {
      r->resume = true;
      load_partial_history(r);
      snprintf(note, note_size, "%s: continues from its checkpoint (%d epochs recorded)%s%s", r->e.name,
               r->n_history, why[0] ? "; results.json was not usable: " : "", why);
    } else if (why[0]) {
      snprintf(note, note_size, "%s: starting over: results.json was not usable (%s) and there is no checkpoint",
               r->e.name, why);
    }
    return true;
  }
  /* other --epochs do not start a run over: the trainer extends it from its checkpoint (or
   * refuses, keeping it, when it has already run more) */
  bool same = rt_config_resumable(res.config_json, r->config_json, NULL, 0);
  bool done = same && res.epochs_configured == r->e.epochs &&
              (res.status == RT_RUN_EARLY_STOPPED || res.status == RT_RUN_DIVERGED ||
               (res.status == RT_RUN_OK && res.history_count == r->e.epochs));
  if (done) {
    take_results(r, &res);
    r->status = judge_results(r, &res);
    r->skip = true;
    snprintf(note, note_size, "%s: complete (%s, %d/%d epochs), not rerun", r->e.name,
             rt_run_status_name(res.status), res.history_count, r->e.epochs);
  } else if (same && checkpoint) {
    r->resume = true;
    r->checkpoint_epoch = res.best_epoch; /* until the trainer writes its next results */
    load_partial_history(r);
    snprintf(note, note_size, "%s: continues from its checkpoint (%d epochs recorded)", r->e.name, r->n_history);
  } else if (!same) {
    snprintf(note, note_size, "%s: its settings changed since the last run, starting over", r->e.name);
  }
  rt_results_free(&res);
  return true;
}

bool tune_outcome_clear(const TuneRun *r, RtDiags *d) { return r->skip || r->resume || clear_previous(r, d); }

void tune_outcome_requeue(TuneRun *r) {
  r->status = TUNE_PENDING;
  r->pid = 0;
  r->rank = -1;
  r->module_ready = false;
  r->resume = file_exists(r, RT_FILE_LAST_CKPT);
  if (r->resume) {
    load_partial_history(r);
    return;
  }
  RtDiags d = {0};
  if (!clear_previous(r, &d)) rt_diags_print(&d, stderr);
  rt_diags_free(&d);
  set_history(r, NULL, 0);
}

/* The last line of the run's log that reports an error, else its last line. */
static void log_error_line(const TuneRun *r, char *buf, size_t size) {
  char path[PATH_MAX + 32];
  path_in(r, TUNE_FILE_LOG, path, sizeof path);
  uint8_t *text;
  size_t n;
  RtDiags d = {0};
  buf[0] = '\0';
  if (!rt_fs_read_file(path, &text, &n, &d)) {
    rt_diags_free(&d);
    return;
  }
  const char *best = NULL, *last = NULL;
  size_t best_len = 0, last_len = 0;
  for (const char *line = (const char *)text; *line;) {
    const char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line) : strlen(line);
    if (len) {
      last = line;
      last_len = len;
      if (memmem(line, len, "error:", 6)) best = line, best_len = len;
    }
    line += len + (end ? 1 : 0);
  }
  if (!best) best = last, best_len = last_len;
  if (best) snprintf(buf, size, "%.*s", (int)best_len, best);
  free(text);
}

void tune_outcome_finish(TuneRun *r, int ws) {
  RtResults res;
  char why[300];
  bool loaded = load_results(r, &res, why, sizeof why);
  if (loaded && !rt_config_same(res.config_json, r->config_json)) {
    rt_results_free(&res); /* another run's */
    loaded = false;
  }
  tune_outcome_poll(r);
  if (loaded) {
    /* a killed trainer's metrics.jsonl can be an epoch ahead of its results.json */
    int n = r->n_history;
    RtEpochMetrics *h = r->history;
    r->history = NULL;
    take_results(r, &res);
    if (n > r->n_history) set_history(r, h, n);
    free(h);
  }
  if (r->pruning_kill || r->pruned_at > 0) {
    r->status = TUNE_PRUNED; /* the reason was set when the rule decided */
  } else if (WIFSIGNALED(ws)) {
    int sig = WTERMSIG(ws);
    const char *name = sigabbrev_np(sig);
    snprintf(r->reason, sizeof r->reason, "killed by signal %d (SIG%s) after %d of %d epochs%s", sig,
             name ? name : "?", r->n_history, r->e.epochs,
             sig == SIGKILL ? "; a SIGKILL nobody sent by hand is usually the out-of-memory killer (see dmesg)" : "");
    r->status = TUNE_FAILED;
  } else if (loaded && (res.status == RT_RUN_DIVERGED || res.status == RT_RUN_FAILED || WEXITSTATUS(ws) == 0)) {
    r->status = judge_results(r, &res);
  } else if (why[0]) { /* the trainer ended, but what it wrote cannot be trusted */
    snprintf(r->reason, sizeof r->reason, "exit status %d; results.json is not usable: %s",
             WIFEXITED(ws) ? WEXITSTATUS(ws) : -1, why);
    r->status = TUNE_FAILED;
  } else {
    char line[400];
    log_error_line(r, line, sizeof line);
    snprintf(r->reason, sizeof r->reason, "exit status %d%s%s", WIFEXITED(ws) ? WEXITSTATUS(ws) : -1,
             line[0] ? ": " : "", line);
    r->status = TUNE_FAILED;
  }
  if (loaded) rt_results_free(&res);
}

bool tune_outcome_poll(TuneRun *r) {
  char path[PATH_MAX + 32];
  path_in(r, RT_FILE_METRICS, path, sizeof path);
  struct stat st;
  if (stat(path, &st) != 0) return false;
  long long stamp =
      (long long)st.st_size * 1000003LL + (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
  if (stamp == r->metrics_stamp) return false;
  RtEpochMetrics *h = NULL;
  int32_t n = 0;
  RtDiags d = {0};
  bool grew = false;
  if (rt_epoch_log_load(path, -1, &h, &n, &d)) {
    r->metrics_stamp = stamp;
    grew = n > r->n_history;
    /* a resumed trainer first cuts the log back to its checkpoint: keep the longer view, the
     * epochs it redoes come out the same */
    if (n >= r->n_history) set_history(r, h, n);
  }
  free(h);
  rt_diags_free(&d);
  return grew;
}

void tune_outcome_scan_log(TuneRun *r) {
  if (r->module_ready) return;
  /* a fresh run's metrics.jsonl was removed before it started; the training loop creates it once
   * the model is built, which is sooner than the trainer's block-buffered stdout shows it */
  if (!r->resume && file_exists(r, RT_FILE_METRICS)) {
    r->module_ready = true;
    return;
  }
  char path[PATH_MAX + 32];
  path_in(r, TUNE_FILE_LOG, path, sizeof path);
  FILE *f = fopen(path, "r");
  if (!f) return;
  if (fseek(f, r->log_scanned, SEEK_SET) == 0) {
    char line[1024];
    long at = r->log_scanned;
    /* `smelt train` prints "compiled <preset> ..." once model_build is done (from the cache or
     * not); only whole lines count, a partial one is read again next time */
    while (fgets(line, sizeof line, f)) {
      size_t len = strlen(line);
      if (!len || line[len - 1] != '\n') break;
      at += (long)len;
      if (!strncmp(line, "compiled ", 9)) r->module_ready = true;
    }
    r->log_scanned = at;
  }
  fclose(f);
}

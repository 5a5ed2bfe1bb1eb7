/* The training loop (rt_train.h). One epoch: seeded batches (augmented) through the training
 * step, a NaN/Inf loss stops the run as diverged, the step's per-layer gradient norms averaged
 * for the logs (rt_train_io.h, RtGradNorms); then validation (of the weights' moving average
 * with ema_decay, rt_ema.h), the epoch's line, logs,
 * early stopping and the schedule; then the checkpoints. results.json is rewritten after every
 * epoch, so an interrupted run always leaves a consistent report. */
#include "runtime/rt_train.h"

#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/rt_checkpoint.h"
#include "runtime/rt_collective.h"
#include "runtime/rt_ema.h"
#include "runtime/rt_loader.h"
#include "runtime/rt_memory.h"
#include "runtime/rt_progress.h"
#include "runtime/rt_settings.h"
#include "runtime/rt_tensorboard.h"
#include "runtime/rt_train_io.h"
#include "runtime/rt_train_parallel.h"
#include "runtime/rt_warm_start.h"
#include "support/rt_assert.h"
#include "support/rt_fs.h"
#include "support/rt_random.h"

RtTrainConfig rt_train_config_defaults(void) {
  return (RtTrainConfig){
      .epochs = 10, .seed = 42, .lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .momentum = 0.9,
      .schedule = {.kind = RT_SCHED_PLATEAU, .factor = 0.5, .patience = 10, .min_lr = 1e-6, .pct_start = 0.3,
                   .div_factor = 25, .final_div_factor = 1e4},
      .schedule_metric = RT_METRIC_VAL_LOSS, .early_metric = RT_METRIC_VAL_SEQ_ACC, .patience = 15,
      .focal_gamma = 2, .focal_alpha = 1, .lstm_forget_bias = NAN, .background_loader = true, .progress = 1};
}

typedef struct Run {
  const RtModel *m;
  const RtTrainConfig *cfg;
  void *state, *train_io, *train_scratch;
  void *update_io;       /* data-parallel: the update phase's inputs and outputs; else NULL */
  void *ema;             /* ema_decay: the moving average of the weights (rt_ema.h); else NULL */
  bool root;             /* the process that reads and writes the run's files (rank 0) */
  RtParallel par;        /* data-parallel: the gradient exchange */
  char path_last[4096], path_best[4096], path_metrics[4096], path_results[4096];
  RtSchedule schedule;
  RtEarlyStop early;
  RtEpochMetrics *history;
  int n_history;
  int64_t step;
  double t_start;        /* when this process started the run */
  double earlier_wall;   /* wall time of the processes before a resume */
  double train_seconds;  /* time in training steps, over the whole run */
  int64_t trained_samples;
  RtTrainSummary *summary;
} Run;

int rt_curriculum_max_len(int shortest, int longest, int epochs, int64_t epoch) {
  if (epochs <= 0 || epoch >= epochs || longest <= shortest) return longest;
  return shortest + (int)((int64_t)(longest - shortest) * epoch / epochs);
}

/* Wall time of the whole run so far, across resumes. */
static double run_wall_seconds(const Run *r) { return r->earlier_wall + rt_now_seconds() - r->t_start; }

static void join_path(char *dst, size_t n, const char *dir, const char *file) { snprintf(dst, n, "%s/%s", dir, file); }

static bool file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

/* Checks that the data fits the compiled model before anything runs. */
static bool check_data(const RtModel *m, const RtDataset *ds, const char *what, RtDiags *d) {
  int before = d->errors;
  if (ds->count < 1) rt_diag_error(d, ds->labels_file, 0, 0, "the %s set is empty", what);
  if (m->channels != 1)
    rt_diag_error(d, ds->labels_file, 0, 0, "the model takes %d-channel images; training data are grayscale",
                  m->channels);
  if (ds->height != m->height || ds->width != m->width)
    rt_diag_error(d, ds->labels_file, 0, 0, "%s images are %dx%d but the model takes %dx%d", what, ds->height,
                  ds->width, m->height, m->width);
  if (ds->max_label_len > m->max_len)
    rt_diag_error(d, ds->labels_file, 0, 0, "the %s set has labels of %d symbols; the preset reads at most %d",
                  what, ds->max_label_len, m->max_len);
  return d->errors == before;
}

/* Fresh sets are generated for the model: their labels must fit it whatever the generator draws
 * (a CTC label of n symbols needs up to 2n - 1 time steps, when every neighbour repeats). */
static bool check_fresh(const RtModel *m, const RtFreshConfig *f, RtDiags *d) {
  int before = d->errors;
  const char *what = "fresh synthetic data";
  RtCharset cs;
  char err[256];
  if (!rt_charset_init(&cs, rt_fresh_charset(f), err, sizeof err)) {
    rt_diag_error(d, what, 0, 0, "%s", err);
  } else {
    if (cs.size > m->symbols)
      rt_diag_error(d, what, 0, 0, "the charset has %d symbols; the preset has %d classes for symbols", cs.size,
                    m->symbols);
    rt_charset_free(&cs);
  }
  if (f->max_len > m->max_len)
    rt_diag_error(d, what, 0, 0, "labels of up to %d symbols; the preset reads at most %d", f->max_len, m->max_len);
  else if (m->time_steps > 0 && 2 * f->max_len - 1 > m->time_steps)
    rt_diag_error(d, what, 0, 0,
                  "labels of up to %d symbols may need %d CTC time steps (a blank between repeated symbols); the "
                  "model has %d: shorten `length`",
                  f->max_len, 2 * f->max_len - 1, m->time_steps);
  return d->errors == before;
}

/* Before anything is written: the run's memory against the limits, its estimate printed with the
 * start-up lines (rt_memory.h). Fresh data holds two sets at a time (the epoch's and the next). */
static bool check_memory(const RtModel *m, const RtTrainConfig *cfg, const RtDataset *train, const RtDataset *val,
                         bool root, RtDiags *d) {
  char task[300];
  snprintf(task, sizeof task, "training %s", cfg->experiment ? cfg->experiment : "the model");
  RtMemNeed need = {.task = task, .loader_thread = cfg->background_loader};
  rt_mem_need_model(&need, m, true);
  /* ema_decay: the average's region, and its copy in the checkpoint file being written (rank 0 only) */
  if (cfg->ema_decay > 0 && root) rt_mem_need_add(&need, "moving average of the weights", 2 * m->state_bytes);
  int64_t fresh = cfg->fresh.enabled ? cfg->fresh.count : 0, folder = train ? train->count : 0;
  /* a mixed epoch (rt_dataset_concat) is made while the last one and the folder's set still exist */
  int64_t samples = (fresh && folder ? 3 * (fresh + folder) : fresh ? 2 * fresh : folder) + val->count;
  need.loaded = rt_dataset_image_bytes(samples, val->height, val->width);
  return rt_mem_prepare(&need, cfg->progress >= 1 ? stdout : NULL, d);
}

/* Whether epoch metrics e beat the best epoch so far on the metric that settles a tie of the
 * early-stopping metric: character accuracy, or sequence accuracy when character accuracy is the
 * early-stopping metric. Read from the history, so a resumed run decides as an uninterrupted one. */
static bool wins_tie(const Run *r, const RtEpochMetrics *e) {
  RtMetric m = r->cfg->early_metric == RT_METRIC_VAL_CHAR_ACC ? RT_METRIC_VAL_SEQ_ACC : RT_METRIC_VAL_CHAR_ACC;
  return r->early.has_best && e->v[m] > r->history[r->early.best_epoch].v[m];
}

/* Scalar `name` into the step that reads it: the fused step, or either phase. */
static void put_scalar(const Run *r, const char *name, double v) {
  rt_io_put_scalar(&r->m->train, r->train_io, name, v);
  if (r->update_io) rt_io_put_scalar(&r->m->update, r->update_io, name, v);
}

/* Scalars that stay fixed for the run. */
static void put_constant_scalars(const Run *r) {
  const RtTrainConfig *c = r->cfg;
  put_scalar(r, "beta1", c->beta1);
  put_scalar(r, "beta2", c->beta2);
  put_scalar(r, "eps", c->eps);
  put_scalar(r, "momentum", c->momentum);
  put_scalar(r, "weight_decay", c->weight_decay);
  put_scalar(r, "clip_norm", c->grad_clip > 0 ? c->grad_clip : INFINITY);
  put_scalar(r, "dropout", c->dropout);
}

static RtCheckpointInfo checkpoint_info(const Run *r, int epochs_done) {
  RtCheckpointInfo info = {.epoch = epochs_done, .step = r->step, .seed = r->cfg->seed,
                           .best_metric = r->cfg->early_metric, .best_value = r->early.best,
                           .best_epoch = r->early.best_epoch + 1, .schedule = r->schedule, .early = r->early,
                           .wall_seconds = run_wall_seconds(r), .train_seconds = r->train_seconds,
                           .trained_samples = r->trained_samples, .charset = r->cfg->charset,
                           .config_json = r->cfg->config_json};
  return info;
}

static bool write_results(Run *r, RtRunStatus status, const char *error, int64_t diverged_at, RtDiags *d) {
  RtResults res = {.experiment = r->cfg->experiment, .preset = r->m->preset_name, .status = status,
                   .error = error, .diverged_at_step = diverged_at, .epochs_configured = r->cfg->epochs,
                   .best_epoch = r->early.has_best ? r->early.best_epoch + 1 : -1, .best_metric = r->cfg->early_metric,
                   .history = r->history, .history_count = r->n_history, .params = r->m->params,
                   .wall_time_s = run_wall_seconds(r),
                   .samples_per_s = r->train_seconds > 0 ? (double)r->trained_samples / r->train_seconds : 0,
                   .best_checkpoint = file_exists(r->path_best) ? r->path_best : NULL,
                   .last_checkpoint = file_exists(r->path_last) ? r->path_last : NULL,
                   .config_json = r->cfg->config_json ? r->cfg->config_json : "{}"};
  if (res.best_epoch > res.history_count) res.best_epoch = res.history_count;
  return rt_results_write(r->path_results, &res, d);
}

/* The per-step dropout seed: a function of (run seed, step) only; each data-parallel process
 * draws its own masks (rank 0 those of one process alone). */
static int32_t step_seed(uint64_t seed, int64_t step, int rank) {
  return (int32_t)rt_random_words(seed, 0x5eed + ((uint64_t)rank << 32), (uint64_t)step).v[0];
}

static void print_epoch(const Run *r, const RtEpochMetrics *e) {
  if (r->cfg->progress < 1) return;
  const double *v = e->v;
  char curriculum[32] = "";
  if (!isnan(v[RT_METRIC_MAX_LABEL_LEN])) snprintf(curriculum, sizeof curriculum, "  max_len %.0f", v[RT_METRIC_MAX_LABEL_LEN]);
  printf("epoch %3d/%d  train_loss %.4f  val_loss %.4f  char_acc %6.2f%%  seq_acc %6.2f%%  cer %.4f  lr %.3g%s  "
         "(%.1f s, %.1f samples/s)\n",
         e->epoch, r->cfg->epochs, v[RT_METRIC_TRAIN_LOSS], v[RT_METRIC_VAL_LOSS], 100 * v[RT_METRIC_VAL_CHAR_ACC],
         100 * v[RT_METRIC_VAL_SEQ_ACC], v[RT_METRIC_VAL_CER], v[RT_METRIC_LR], curriculum, v[RT_METRIC_SECONDS],
         v[RT_METRIC_SAMPLES_PER_S]);
  fflush(stdout);
}

/* The label lengths the curriculum grows over: the training set's range, the generator's, or
 * (mixed) both. */
static void label_range(const RtTrainConfig *cfg, const RtDataset *train, int *shortest, int *longest) {
  *shortest = cfg->fresh.enabled ? cfg->fresh.min_len : INT_MAX;
  *longest = cfg->fresh.enabled ? cfg->fresh.max_len : 0;
  for (int i = 0; train && i < train->count; i++) {
    if (train->label_len[i] < *shortest) *shortest = train->label_len[i];
    if (train->label_len[i] > *longest) *longest = train->label_len[i];
  }
}

/* Where a per-step schedule stands at batch i of an epoch of `batches`: an epoch that a curriculum
 * shortened moves it as far as a whole one, so the schedule is where it would be without the
 * curriculum at every epoch start. Equal to the optimizer step when every epoch is whole. */
static long schedule_step(const RtScheduleConfig *sc, int epoch, int i, int batches) {
  return (long)epoch * sc->steps_per_epoch + (long)i * sc->steps_per_epoch / batches;
}

/* Before a fresh start: files of an earlier run in the folder are work that a new run would
 * overwrite, so they stay unless the caller asked to start over (--overwrite). --resume gets here
 * only without last.safetensors: a run killed in its first epoch leaves nothing worth keeping,
 * but a best checkpoint or a results file without it is kept too. */
static bool prepare_fresh_start(const Run *r, RtDiags *d) {
  bool earlier = file_exists(r->path_last) || file_exists(r->path_best) || file_exists(r->path_results);
  if (!earlier || r->cfg->overwrite) return rt_run_dir_clear(r->cfg->out_dir, d); /* also a stray log */
  if (r->cfg->resume)
    rt_diag_error(d, r->cfg->out_dir, 0, 0,
                  "holds an earlier run of '%s' but no %s to resume from; --overwrite starts over (deleting "
                  "its checkpoints and logs), or choose another --out",
                  r->cfg->experiment, RT_FILE_LAST_CKPT);
  else
    rt_diag_error(d, r->cfg->out_dir, 0, 0,
                  "holds an earlier run of '%s'; --resume continues it, --overwrite starts over (deleting its "
                  "checkpoints and logs), or choose another --out",
                  r->cfg->experiment);
  return false;
}

/* Resumes from last.safetensors: weights, optimizer moments, schedule, early stopping, history. */
/* RT_FILE_VAL_PREDICTIONS: each validation sample's image, label and prediction at the best
 * epoch so far, written with the best checkpoint, for reading the model's mistakes. */
static bool write_predictions(const char *out_dir, const RtDataset *val, const char *const *predicted, RtDiags *d) {
  size_t size = 0, cap = 4096;
  char *text = rt_xmalloc(cap);
  /* image paths as the folder's labels.tsv writes them, made usable from anywhere */
  const char *slash = val->labels_file ? strrchr(val->labels_file, '/') : NULL;
  int dir_len = slash ? (int)(slash - val->labels_file) : 0;
  for (int i = 0; i < val->count; i++) {
    const char *p = predicted[i] ? predicted[i] : "", *image = val->paths[i];
    bool relative = image[0] != '/' && dir_len > 0;
    size_t need = (size_t)dir_len + strlen(image) + strlen(val->texts[i]) + strlen(p) + 5;
    while (size + need > cap) text = rt_xrealloc(text, cap *= 2);
    size += (size_t)sprintf(text + size, "%.*s%s%s\t%s\t%s\n", relative ? dir_len : 0, val->labels_file,
                            relative ? "/" : "", image, val->texts[i], p);
  }
  char path[4096];
  join_path(path, sizeof path, out_dir, RT_FILE_VAL_PREDICTIONS);
  bool ok = rt_fs_write_atomic(path, text, size, d);
  free(text);
  return ok;
}

/* A fresh run's first weights from another run's checkpoint (`init`), before anything in the
 * output folder changes, so that a bad checkpoint leaves it as it was. */
static bool warm_start(Run *r, RtDiags *d) {
  const RtTrainConfig *c = r->cfg;
  if (!c->init_path) return true;
  return rt_warm_start(c->init_path, r->m, r->state, c->charset, c->progress >= 1 ? stdout : NULL, NULL, d);
}

static bool resume(Run *r, int *start_epoch, RtDiags *d) {
  RtCheckpointInfo info = {.ema = r->ema};
  if (!rt_checkpoint_load(r->path_last, r->m, r->state, &info, d)) return false;
  char key[64];
  bool same = rt_config_resumable(info.config_json, r->cfg->config_json, key, sizeof key);
  /* the charset maps class ids to symbols: relabelled data would shift them silently */
  bool same_charset = !strcmp(info.charset ? info.charset : "", r->cfg->charset ? r->cfg->charset : "");
  char values[300] = "";
  if (!same && key[0]) rt_config_difference(info.config_json, r->cfg->config_json, key, values, sizeof values);
  free((void *)info.charset);
  free((void *)info.config_json);
  if (!same || !same_charset) {
    char what[400] = "config differs";
    if (!same && key[0] && values[0]) snprintf(what, sizeof what, "setting '%s' differs: %s", key, values);
    else if (!same && key[0]) snprintf(what, sizeof what, "setting '%s' differs", key);
    else if (!same_charset) snprintf(what, sizeof what, "charset, the symbols of the data's labels, differs");
    rt_diag_error(d, r->path_last, 0, 0,
                  "was trained with other settings (its %s); resuming would mix two runs: "
                  "leave out --resume and give --overwrite to start over, or use another --out",
                  what);
    return false;
  }
  if (r->ema && !info.has_ema) { /* the same settings, so the file lost it */
    rt_diag_error(d, r->path_last, 0, 0,
                  "has no moving average of the weights (tensors %s*) although its run set ema_decay: "
                  "damaged; --overwrite starts over",
                  RT_EMA_PREFIX);
    return false;
  }
  if (info.epoch > r->cfg->epochs) {
    rt_diag_error(d, r->path_last, 0, 0, "has completed %d epochs, more than the %d asked for", info.epoch,
                  r->cfg->epochs);
    return false;
  }
  if (rt_schedule_spans_run(r->cfg->schedule.kind) && info.schedule.cfg.epochs != r->cfg->epochs) {
    rt_diag_error(d, r->path_last, 0, 0,
                  "follows a %s schedule over %d epochs; resuming with %d would bend its curve midway "
                  "(give --epochs %d, or start over with --overwrite)",
                  RT_SCHEDULER_NAMES[r->cfg->schedule.kind], info.schedule.cfg.epochs, r->cfg->epochs,
                  info.schedule.cfg.epochs);
    return false;
  }
  *start_epoch = info.epoch;
  r->step = info.step;
  r->schedule.lr = info.schedule.lr;
  r->schedule.best = info.schedule.best;
  r->schedule.has_best = info.schedule.has_best;
  r->schedule.bad_epochs = info.schedule.bad_epochs;
  r->schedule.reductions = info.schedule.reductions;
  r->early.best = info.early.best;
  r->early.has_best = info.early.has_best;
  r->early.best_epoch = info.early.best_epoch;
  r->early.bad_epochs = info.early.bad_epochs;
  r->earlier_wall = info.wall_seconds;
  r->train_seconds = info.train_seconds;
  r->trained_samples = info.trained_samples;
  RtEpochMetrics *hist = NULL;
  int32_t n = 0;
  if (!rt_epoch_log_load(r->path_metrics, info.epoch, &hist, &n, d)) return false;
  if (n < info.epoch) {
    rt_diag_error(d, r->path_metrics, 0, 0, "has %d epochs but the checkpoint is at epoch %d", n, info.epoch);
    free(hist);
    return false;
  }
  memcpy(r->history, hist, (size_t)info.epoch * sizeof *hist);
  r->n_history = info.epoch;
  free(hist);
  if (r->cfg->progress >= 1) printf("resuming %s after epoch %d (step %" PRId64 ")\n", r->cfg->experiment, info.epoch, r->step);
  return true;
}

/* What rank 0 tells the other processes once the run has started (fresh, warm-started or
 * resumed): where it stands, then its history and weights. */
typedef struct StartInfo {
  int start_epoch;
  bool resuming;
  int64_t step;
  RtSchedule schedule;
  RtEarlyStop early;
  int n_history;
} StartInfo;

static void share_start(Run *r, int *start_epoch, bool *resuming) {
  RtComm *c = r->cfg->comm;
  StartInfo s = {*start_epoch, *resuming, r->step, r->schedule, r->early, r->n_history};
  c->broadcast(c, &s, sizeof s);
  *start_epoch = s.start_epoch;
  *resuming = s.resuming;
  r->step = s.step;
  r->schedule = s.schedule;
  r->early = s.early;
  r->n_history = s.n_history;
  c->broadcast(c, r->history, (int64_t)s.n_history * (int64_t)sizeof *r->history);
  c->broadcast(c, r->state, r->m->state_bytes);
}

bool rt_train(const RtModel *m, const RtTrainConfig *cfg, const RtDataset *train, const RtDataset *val,
              RtTrainSummary *summary, RtDiags *d) {
  *summary = (RtTrainSummary){.status = RT_RUN_FAILED, .best_epoch = -1, .diverged_at_step = -1};
  bool fresh = cfg->fresh.enabled, mixed = fresh && train; /* mixed: a folder's samples and fresh ones */
  RT_ASSERT(fresh || train, "no training set");
  RtFreshConfig fresh_cfg = cfg->fresh;
  if (mixed && !fresh_cfg.charset) fresh_cfg.charset = train->charset.utf8; /* the folder's symbols and ids */
  bool fits = (!fresh || check_fresh(m, &fresh_cfg, d)) & (!train || check_data(m, train, "training", d)) &
              check_data(m, val, "validation", d);
  if (mixed && strcmp(rt_fresh_charset(&fresh_cfg), train->charset.utf8) != 0) {
    rt_diag_error(d, train->labels_file, 0, 0,
                  "the generated samples' charset \"%s\" is not the folder's \"%s\": leave the charset to the "
                  "folder (or give data a charset for both)",
                  rt_fresh_charset(&fresh_cfg), train->charset.utf8);
    fits = false;
  }
  const RtDataset *symbols = train ? train : val; /* one charset for both sets */
  if (symbols->charset.size > m->symbols) {
    rt_diag_error(d, symbols->labels_file, 0, 0, "the charset has %d symbols; the preset has %d classes for symbols",
                  symbols->charset.size, m->symbols);
    fits = false;
  }
  RtComm *comm = cfg->comm;
  bool parallel = rt_comm_parallel(comm), root = !parallel || comm->rank == 0;
  bool opened = fits && check_memory(m, cfg, train, val, root, d);
  /* rank 0 alone owns the output folder */
  int lock = -1;
  if (opened && root) opened = rt_fs_mkdirs(cfg->out_dir, d) && (lock = rt_run_dir_lock(cfg->out_dir, d)) >= 0;
  /* the generator's fonts are read before any file of the run is touched */
  RtFresh *source = NULL;
  if (opened && fresh) opened = (source = rt_fresh_new(&fresh_cfg, m->height, m->width, cfg->background_loader, d));
  if (!rt_parallel_agree(comm, opened, d)) {
    rt_fresh_free(source);
    if (lock >= 0) close(lock);
    return false;
  }
  Run r = {.m = m, .cfg = cfg, .summary = summary, .t_start = rt_now_seconds(), .root = root};
  join_path(r.path_last, sizeof r.path_last, cfg->out_dir, RT_FILE_LAST_CKPT);
  join_path(r.path_best, sizeof r.path_best, cfg->out_dir, RT_FILE_BEST_CKPT);
  join_path(r.path_metrics, sizeof r.path_metrics, cfg->out_dir, RT_FILE_METRICS);
  join_path(r.path_results, sizeof r.path_results, cfg->out_dir, RT_FILE_RESULTS);
  r.state = rt_region_alloc_named(m->state_bytes, "the weights and optimizer state");
  r.train_io = rt_region_alloc_named(m->train.io_bytes, "the training step's inputs and outputs");
  if (parallel) {
    r.update_io = rt_region_alloc_named(m->update.io_bytes, "the update phase's inputs and outputs");
    rt_parallel_init(&r.par, m, comm);
    rt_collective_set(comm); /* a synchronised batch norm's sums (all_sum) */
  }
  /* validation runs in the training step's scratch memory: the two never run at the same time */
  r.train_scratch = rt_region_alloc_named(rt_model_scratch_bytes(m), "the training step's scratch memory");
  r.history = rt_xcalloc((size_t)cfg->epochs + 1, sizeof *r.history);
  rt_model_init_state(m, r.state, cfg->seed, cfg->lstm_forget_bias);
  /* rank 0 alone validates and saves: the others need no average */
  if (cfg->ema_decay > 0 && root) r.ema = rt_region_alloc_named(m->state_bytes, "the moving average of the weights");
  if (getenv("SMELT_PROFILE")) {
    rt_profile_reset();
    rt_profile_enable(true);
  }

  int global_batch = m->batch * (parallel ? comm->size : 1); /* m->batch is one process's share */
  int count = (fresh ? cfg->fresh.count : 0) + (train ? train->count : 0);
  int batches = (count + global_batch - 1) / global_batch;
  int shortest, longest;
  label_range(cfg, train, &shortest, &longest);
  RtScheduleConfig sc = cfg->schedule;
  sc.base_lr = cfg->lr;
  sc.epochs = cfg->epochs;
  sc.steps_per_epoch = batches;
  sc.higher_is_better = rt_metric_higher_is_better(cfg->schedule_metric);
  rt_schedule_init(&r.schedule, &sc);
  rt_early_stop_init(&r.early, cfg->early_stopping, rt_metric_higher_is_better(cfg->early_metric), cfg->patience,
                     cfg->min_delta);
  int start_epoch = 0;
  bool resuming = root && cfg->resume && file_exists(r.path_last);
  /* the lock is ours: no writer is mid-write, so temporary files here are a crashed one's */
  bool started = !root || ((resuming ? resume(&r, &start_epoch, d) : warm_start(&r, d) && prepare_fresh_start(&r, d)) &&
                           rt_run_dir_remove_tmp(cfg->out_dir, d));
  if (started && r.ema && !resuming) rt_ema_start(m, r.ema, r.state); /* the first (or warm-started) weights */
  if (started && r.ema && cfg->progress >= 1)
    printf("ema_decay %g: every epoch validates, and best.safetensors keeps, a moving average of the weights\n",
           cfg->ema_decay);
  if (rt_parallel_agree(comm, started, d) && parallel) share_start(&r, &start_epoch, &resuming);
  if (!started || (comm && comm->failed_together)) {
    /* refused: an earlier run's checkpoints and logs stay as they were (unless --overwrite) */
    if (rt_profile_on) rt_profile_enable(false);
    rt_fresh_free(source);
    free(r.history);
    free(r.state);
    free(r.ema);
    free(r.train_io);
    free(r.update_io);
    rt_parallel_free(&r.par);
    rt_collective_set(NULL);
    free(r.train_scratch);
    if (lock >= 0) close(lock);
    return false;
  }
  RtEpochLog *log = root ? rt_epoch_log_open(r.path_metrics, start_epoch, d) : NULL;
  RtTbWriter *tb = log ? rt_tb_open(cfg->out_dir, d) : NULL;
  bool ok = rt_parallel_agree(comm, !root || (log && tb), d);
  RtLoaderOptions lo = {.batch_size = m->batch, .label_width = m->max_len, .seed = cfg->seed, .shuffle = true,
                        .background = cfg->background_loader, .augment = cfg->augment,
                        .shard = parallel ? comm->rank : 0, .shards = parallel ? comm->size : 1};
  RtLoader *loader = NULL; /* made at the first epoch, from its set */
  /* fresh data: the epoch's set (the loader reads it until the next epoch starts); the next
   * epoch's is rendered meanwhile (rt_fresh_prefetch) */
  RtDataset *epoch_set = NULL;
  put_constant_scalars(&r);
  RtGradNorms norms; /* the training step's per-layer gradient norms, averaged per epoch */
  rt_grad_norms_init(&norms, parallel ? &m->update : &m->train);
  RtLossScalars loss_scalars = {cfg->label_smoothing, cfg->focal_gamma, cfg->focal_alpha};
  rt_io_put_loss_scalars(&m->train, r.train_io, &loss_scalars);

  char **predicted = rt_xcalloc((size_t)val->count, sizeof *predicted); /* the latest validation's */
  RtRunStatus status = RT_RUN_OK;
  char error[256] = "";
  int64_t diverged_at = -1;
  if (resuming && rt_early_stop_done(&r.early)) {
    status = RT_RUN_EARLY_STOPPED; /* it had stopped early before the interruption */
    if (cfg->progress >= 1) printf("%s had already stopped early; nothing to resume\n", cfg->experiment);
  }
  for (int epoch = start_epoch; ok && epoch < cfg->epochs && status == RT_RUN_OK; epoch++) {
    double t0 = rt_now_seconds();
    int max_len = rt_curriculum_max_len(shortest, longest, cfg->curriculum_epochs, epoch);
    RtDataset *next_set = NULL;
    if (fresh && !(next_set = rt_fresh_set(source, epoch, max_len, d))) { /* the prefetch, finished */
      ok = false;
      break;
    }
    if (mixed) { /* the folder's samples, then the generated ones (the loader shuffles them together) */
      RtDataset *both = rt_dataset_concat(train, next_set);
      rt_dataset_free(next_set);
      next_set = both;
    }
    if (!loader) loader = rt_loader_new(fresh ? next_set : train, &lo);
    /* a fixed set follows the curriculum by leaving longer labels out of the epoch's order (a
     * fresh one is generated within the bound) */
    rt_loader_start_epoch_on(loader, epoch, next_set, (fresh && !mixed) || max_len >= longest ? 0 : max_len);
    if (fresh) {
      rt_dataset_free(epoch_set); /* the loader has let go of it */
      epoch_set = next_set;
      if (epoch + 1 < cfg->epochs &&
          !rt_fresh_prefetch(source, epoch + 1,
                             rt_curriculum_max_len(shortest, longest, cfg->curriculum_epochs, epoch + 1), d)) {
        ok = false;
        break;
      }
    }
    int epoch_batches = rt_loader_batches(loader);
    char label[64];
    snprintf(label, sizeof label, "epoch %d/%d", epoch + 1, cfg->epochs);
    RtProgress bar;
    rt_progress_begin(&bar, label, rt_loader_samples(loader), cfg->progress >= 2);
    double loss_sum = 0, lr = 0;
    long seen = 0;
    rt_grad_norms_reset(&norms);
    int steps_done = 0;
    for (const RtBatch *b; (b = rt_loader_next(loader));) {
      lr = rt_schedule_lr(&r.schedule, epoch, schedule_step(&sc, epoch, b->index, epoch_batches));
      rt_io_put_batch(m, &m->train, r.train_io, b);
      put_scalar(&r, "lr", lr);
      put_scalar(&r, "step", (double)(r.step + 1));
      put_scalar(&r, "seed", step_seed(cfg->seed, r.step, parallel ? comm->rank : 0));
      m->train.step(r.state, r.train_io, r.train_scratch);
      double loss;
      int64_t samples = b->size;
      if (parallel) { /* the global batch's gradients, then the same update everywhere */
        loss = rt_parallel_sum_gradients(&r.par, b, r.train_io, r.update_io, &samples);
        m->update.step(r.state, r.update_io, r.train_scratch);
      } else {
        loss = rt_io_get_scalar(&m->train, r.train_io, "loss");
      }
      r.step++;
      if (r.ema) rt_ema_update(m, r.ema, r.state, cfg->ema_decay, r.step - 1);
      if (!isfinite(loss)) {
        status = RT_RUN_DIVERGED;
        diverged_at = r.step;
        snprintf(error, sizeof error, "loss became %g at step %" PRId64 " (epoch %d)", loss, r.step, epoch + 1);
        break;
      }
      loss_sum += loss;
      rt_grad_norms_add(&norms, parallel ? r.update_io : r.train_io);
      steps_done++;
      seen += samples;
      rt_progress_update(&bar, seen, loss_sum / steps_done);
      if (cfg->max_steps && r.step >= cfg->max_steps) break;
    }
    rt_progress_end(&bar);
    double t_train = rt_now_seconds() - t0;
    r.train_seconds += t_train;
    r.trained_samples += seen;
    if (status == RT_RUN_DIVERGED) {
      if (cfg->progress >= 1) printf("epoch %3d/%d  diverged: %s\n", epoch + 1, cfg->epochs, error);
      break;
    }
    RtEpochMetrics e = {.epoch = epoch + 1, .step = r.step};
    for (int k = 0; k < RT_METRIC_COUNT; k++) e.v[k] = NAN;
    if (parallel) rt_parallel_share_running_stats(comm, m, r.state);
    /* with ema_decay the average is validated, and saved as the best model, in the weights' place */
    if (r.ema) rt_ema_swap(m, r.ema, r.state);
    if (root) rt_evaluate(m, r.state, val, &loss_scalars, &e, predicted, r.train_scratch, d);
    e.v[RT_METRIC_TRAIN_LOSS] = steps_done ? loss_sum / steps_done : NAN;
    e.v[RT_METRIC_LR] = lr;
    e.v[RT_METRIC_SAMPLES_PER_S] = t_train > 0 ? (double)seen / t_train : 0;
    e.v[RT_METRIC_SECONDS] = rt_now_seconds() - t0;
    e.v[RT_METRIC_MAX_LABEL_LEN] = cfg->curriculum_epochs > 0 ? max_len : NAN;
    rt_grad_norms_mean(&norms, &e);
    /* rank 0's validation drives the schedule and early stopping of every process */
    if (parallel) comm->broadcast(comm, &e, sizeof e);
    r.history[r.n_history++] = e;
    print_epoch(&r, &e);
    if (root) ok = rt_epoch_log_append(log, &e, d) && rt_epoch_to_tensorboard(tb, &e, r.step, d);
    bool improved;
    bool stop = rt_early_stop_update(&r.early, epoch, e.v[cfg->early_metric], wins_tie(&r, &e), &improved);
    rt_schedule_epoch_end(&r.schedule, epoch, e.v[cfg->schedule_metric]);
    RtCheckpointInfo info = checkpoint_info(&r, epoch + 1);
    if (root && ok && improved) ok = rt_checkpoint_save(r.path_best, m, r.state, &info, d) &&
                                     write_predictions(cfg->out_dir, val, (const char *const *)predicted, d);
    if (r.ema) rt_ema_swap(m, r.ema, r.state); /* the weights back, to train on */
    info.ema = r.ema; /* last.safetensors resumes the average too */
    if (root && ok) ok = rt_checkpoint_save(r.path_last, m, r.state, &info, d);
    if (root && ok) ok = write_results(&r, RT_RUN_OK, NULL, -1, d);
    if (parallel) ok = rt_parallel_agree(comm, rt_parallel_same_state(comm, r.state, m->state_bytes, d) && ok, d);
    if (stop) {
      status = RT_RUN_EARLY_STOPPED;
      if (cfg->progress >= 1)
        printf("early stopping: no %s improvement for %d epochs (best %.4f at epoch %d)\n",
               rt_metric_key(cfg->early_metric), r.early.bad_epochs, r.early.best, r.early.best_epoch + 1);
    }
    if (cfg->max_steps && r.step >= cfg->max_steps) break;
  }
  /* the event file is closed before the final results, so that a failure there is reported */
  if (tb && !rt_tb_close(tb, d)) ok = false;
  tb = NULL;
  if (!ok && !error[0] && d->count) rt_diag_format(&d->items[d->count - 1], error, sizeof error);
  if (!ok) status = RT_RUN_FAILED;
  if (root && !write_results(&r, status, error[0] ? error : NULL, diverged_at, d)) {
    ok = false;
    status = RT_RUN_FAILED;
  }
  summary->wall_seconds = run_wall_seconds(&r);
  summary->status = status;
  summary->epochs_run = r.n_history;
  summary->best_epoch = r.early.has_best ? r.early.best_epoch + 1 : -1;
  if (summary->best_epoch > 0) summary->best = r.history[summary->best_epoch - 1];
  if (r.n_history) summary->last = r.history[r.n_history - 1];
  summary->steps = r.step;
  summary->diverged_at_step = diverged_at;
  summary->samples_per_s = r.train_seconds > 0 ? (double)r.trained_samples / r.train_seconds : 0;
  snprintf(summary->error, sizeof summary->error, "%s", error);
  if (rt_profile_on) { /* SMELT_PROFILE: where the time went, kernel by kernel */
    int n = m->train.n_kernels + m->eval.n_kernels;
    RtKernelName *names = rt_xmalloc(((size_t)n + 1) * sizeof *names);
    memcpy(names, m->train.kernels, (size_t)m->train.n_kernels * sizeof *names);
    memcpy(names + m->train.n_kernels, m->eval.kernels, (size_t)m->eval.n_kernels * sizeof *names);
    fprintf(stderr, "profile of %s (training and evaluation steps):\n", cfg->experiment);
    rt_profile_report(stderr, names, n, 30);
    free(names);
    rt_profile_enable(false);
  }
  for (int i = 0; i < val->count; i++) free(predicted[i]);
  free(predicted);
  rt_loader_free(loader);
  rt_dataset_free(epoch_set);
  rt_fresh_free(source); /* stops a prefetch under way */
  rt_epoch_log_close(log);
  rt_grad_norms_free(&norms);
  free(r.history);
  free(r.state);
  free(r.ema);
  free(r.train_io);
  free(r.update_io);
  rt_parallel_free(&r.par);
  rt_collective_set(NULL);
  free(r.train_scratch);
  if (lock >= 0) close(lock);
  return ok;
}

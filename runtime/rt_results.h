/* The schema of what a training run leaves in its output folder (docs/outputs.md): the file
 * names, the per-epoch metric keys (metrics.jsonl, results.json, TensorBoard tags), the
 * checkpoint metadata keys, and the results.json writer and validating reader.
 * Every key comes from one table here, used by every writer and reader, so a metric cannot be
 * recorded under a wrong or misspelt key: the struct holds metrics in an array indexed by RtMetric,
 * and the reader rejects unknown and missing keys. */
#ifndef SMELT_RT_RESULTS_H
#define SMELT_RT_RESULTS_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/rt_tensorboard.h"
#include "support/rt_arena.h"
#include "support/rt_diag.h"

/* File names inside an experiment's output folder. */
#define RT_FILE_BEST_CKPT "best.safetensors"
#define RT_FILE_LAST_CKPT "last.safetensors"
#define RT_FILE_METRICS "metrics.jsonl"
#define RT_FILE_RESULTS "results.json"
#define RT_FILE_VAL_PREDICTIONS "val_predictions.tsv" /* image<TAB>label<TAB>prediction, best epoch */

/* Removes the files a run writes from its folder (the names above and TensorBoard event files,
 * nothing else), so that a fresh start leaves no earlier checkpoint or curve behind. Missing
 * files are fine; false with an error naming the file when one cannot be removed. */
bool rt_run_dir_clear(const char *dir, RtDiags *d);

/* Removes the temporary files that atomic writes of the files above left behind when a trainer
 * was killed mid-write (`best.safetensors.tmp.<pid>.<n>`: up to a checkpoint's size each), and
 * nothing else. Only for the holder of the folder's lock, so that no writer is mid-write. False
 * with an error naming the file when one cannot be removed. */
bool rt_run_dir_remove_tmp(const char *dir, RtDiags *d);

/* Takes the run folder for this process: an exclusive lock on DIR/.train.lock, released when
 * the returned descriptor is closed (or the process ends, even killed). -1 with an error when
 * another trainer holds it: two runs writing one folder would interleave their files. */
int rt_run_dir_lock(const char *dir, RtDiags *d);

/* Whether two experiments' settings (config JSON, experiment_json) are the same, a setting that
 * one of them lacks (recorded before smelt had it) counting as its default. */
bool rt_config_same(const char *a, const char *b);

/* Whether two experiments' settings (config JSON, experiment_json) train the same way, apart
 * from `epochs`, which a resumed run may extend; a missing setting counts as its default. When they differ and `key` is not NULL, it gets
 * the name of the first top-level setting that differs ("" when a text is not JSON). */
bool rt_config_resumable(const char *stored, const char *current, char *key, size_t key_size);

/* For a message: "was X, now Y", the values of setting `key` in the two texts ("not set" for
 * one that lacks it), or "" when either is too long to quote or a text is not JSON. */
void rt_config_difference(const char *stored, const char *current, const char *key, char *out, size_t size);

/* Per-epoch metrics. Add one here and a row in rt_results.c's table (checked at compile time). */
typedef enum RtMetric {
  RT_METRIC_TRAIN_LOSS,    /* mean training loss over the epoch's batches */
  RT_METRIC_VAL_LOSS,      /* mean validation loss */
  RT_METRIC_VAL_CHAR_ACC,  /* validation character accuracy, max(0, 1 - CER) */
  RT_METRIC_VAL_SEQ_ACC,   /* validation sequence accuracy (exact match rate) */
  RT_METRIC_VAL_CER,       /* validation character error rate */
  RT_METRIC_LR,            /* learning rate used in the epoch (at its last step) */
  RT_METRIC_SAMPLES_PER_S, /* training throughput of the epoch */
  RT_METRIC_SECONDS,       /* wall time of the epoch, training and validation */
  RT_METRIC_MAX_LABEL_LEN, /* the curriculum's longest training label in the epoch; NaN (and left
                              out of metrics.jsonl and results.json) without a curriculum */
  RT_METRIC_GRAD_NORM_TOTAL, /* mean over the epoch's steps of the global L2 norm of the raw
                                gradients (before clipping); NaN (left out) when the training step
                                has no layer norms (RT_SLOT_GRAD_SQ) */
  RT_METRIC_VAL_BLANK_RATE,  /* CTC heads: share of the validation time steps whose greedy class is
                                the blank; NaN (left out) for attention heads */
  RT_METRIC_VAL_ATTENTION_PEAK,    /* attention heads: mean over the validation labels' symbols of
                                      the largest attention weight of the greedy step that reads
                                      the symbol (1/T when spread evenly, 1 when on one time
                                      step); NaN (left out) for CTC heads */
  RT_METRIC_VAL_ATTENTION_FORWARD, /* attention heads: share of consecutive symbol steps whose most
                                      attended time step lies right of the previous step's (a
                                      left-to-right reading alignment nears 1); NaN for CTC */
  RT_METRIC_COUNT
} RtMetric;

const char *rt_metric_key(RtMetric m);    /* JSON key: "val_char_acc" */
const char *rt_metric_tb_tag(RtMetric m); /* TensorBoard tag ("val/char_acc"), or NULL when none */
bool rt_metric_higher_is_better(RtMetric m);
/* The metric whose key is s, or -1. */
int rt_metric_parse(const char *s);
/* True when a is strictly better than b for metric m; NaN is never better. */
bool rt_metric_better(RtMetric m, double a, double b);

/* Checkpoint metadata keys (safetensors __metadata__, all values are strings). */
typedef enum RtCkptKey {
  RT_CKPT_FORMAT,        /* "smelt-checkpoint-1" */
  RT_CKPT_SMELT_VERSION, /* version of smelt that wrote it */
  RT_CKPT_PRESET_NAME,   /* preset name */
  RT_CKPT_PRESET,        /* preset YAML text, enough to rebuild the model */
  RT_CKPT_CHARSET,       /* the symbols, in class-id order, UTF-8 */
  RT_CKPT_INPUT_SIZE,    /* "CxHxW", e.g. "1x32x128" */
  RT_CKPT_CONFIG,        /* the experiment's settings, JSON text */
  RT_CKPT_EPOCH,         /* epochs completed, decimal */
  RT_CKPT_STEP,          /* optimizer steps taken, decimal */
  RT_CKPT_RNG_STATE,     /* RNG state to resume with (format owned by the training loop) */
  RT_CKPT_DATA_ORDER,    /* data-order state to resume with (format owned by the training loop) */
  RT_CKPT_BEST_METRIC,   /* key of the metric that picks the best epoch (an RtMetric key) */
  RT_CKPT_BEST_VALUE,    /* its best value so far, "%.17g" */
  RT_CKPT_BEST_EPOCH,    /* epoch where it was reached, decimal */
  RT_CKPT_TRAINER_STATE, /* learning-rate schedule and early-stopping state, JSON text */
  RT_CKPT_QUANTIZED,     /* "int8" in a quantized checkpoint (smelt quantize), absent otherwise */
  RT_CKPT_CALIBRATION,   /* a quantized checkpoint's calibration: method, images, their folder */
  RT_CKPT_KEY_COUNT
} RtCkptKey;

const char *rt_ckpt_key(RtCkptKey k);

/* The key of the per-layer gradient norms in an epoch's JSON object: an object of layer name ->
 * mean over the epoch's steps of that layer's gradient L2 norm (before clipping), in the
 * training step's layer order; left out when there are none. A model with more than
 * RT_GRAD_LAYERS_MAX layers with params records the first RT_GRAD_LAYERS_MAX - 1 and, under
 * RT_GRAD_LAYERS_REST, the norm of all the others together. Its TensorBoard tags are
 * RT_TB_GRAD_NORM "<layer>". */
#define RT_KEY_GRAD_NORM "grad_norm"
#define RT_TB_GRAD_NORM "grad_norm/"
#define RT_GRAD_LAYERS_REST "(rest)"
enum { RT_GRAD_LAYERS_MAX = 48, RT_LAYER_NAME_MAX = 32 /* bytes with the NUL: preset layer names have <= 25 */ };

typedef struct RtLayerNorm {
  char layer[RT_LAYER_NAME_MAX];
  double norm;
} RtLayerNorm;

/* One epoch's line of metrics.jsonl and entry of results.json's history. Non-finite values are
 * written as JSON null and read back as NaN, except an optional metric's (max_label_len,
 * grad_norm_total, val_blank_rate): a NaN one is left out, and a missing one reads as NaN. */
typedef struct RtEpochMetrics {
  int32_t epoch;                /* 1-based */
  int64_t step;                 /* optimizer steps taken at the end of the epoch */
  double v[RT_METRIC_COUNT];    /* indexed by RtMetric */
  int32_t n_grad_norms;         /* 0: no RT_KEY_GRAD_NORM */
  RtLayerNorm grad_norm[RT_GRAD_LAYERS_MAX]; /* (n_grad_norms) */
} RtEpochMetrics;

typedef enum RtRunStatus { RT_RUN_OK, RT_RUN_EARLY_STOPPED, RT_RUN_DIVERGED, RT_RUN_FAILED, RT_RUN_STATUS_COUNT } RtRunStatus;
const char *rt_run_status_name(RtRunStatus s); /* "ok", "early_stopped", "diverged", "failed" */

/* Everything results.json holds. For writing, the pointers are the caller's; a loaded one owns
 * its strings and history in `arena` (rt_results_free). */
typedef struct RtResults {
  const char *experiment;      /* experiment name */
  const char *preset;          /* preset name */
  RtRunStatus status;
  const char *error;           /* why it failed or diverged; NULL otherwise (required for failed) */
  int64_t diverged_at_step;    /* step whose loss was NaN/Inf; -1 unless status is diverged */
  int32_t epochs_configured;
  int32_t best_epoch;          /* epoch of the best value of best_metric; -1 when no epoch ran */
  RtMetric best_metric;        /* the early-stopping / model-selection metric */
  const RtEpochMetrics *history; /* (history_count), epochs 1..history_count in order */
  int32_t history_count;       /* = epochs_run */
  int64_t params;              /* trainable parameters (scalars) */
  double wall_time_s;          /* whole run */
  double samples_per_s;        /* training samples per second over the whole run */
  const char *best_checkpoint; /* paths as the trainer wrote them, or NULL when none */
  const char *last_checkpoint;
  const char *config_json;     /* the experiment's settings: JSON text of an object */
  RtArena arena;
} RtResults;

/* Writes results.json atomically, after checking it with the same validator the reader uses
 * (a results file smelt writes always loads back). False with diagnostics otherwise. */
bool rt_results_write(const char *path, const RtResults *r, RtDiags *d);

/* Loads and validates results.json: every key known, none missing, types right, history epochs
 * 1..n, best/final equal to the history entries they name. */
bool rt_results_load(const char *path, RtResults *r, RtDiags *d);
void rt_results_free(RtResults *r);

/* metrics.jsonl: one JSON object per epoch, appended and flushed to disk as each epoch ends. */
typedef struct RtEpochLog RtEpochLog;

/* Opens path for appending. keep_epochs < 0 starts a fresh log (truncating any old one); a
 * resumed run passes the epochs its checkpoint completed: lines of later epochs (written after
 * that checkpoint, before an interruption) are dropped, and fewer lines than that is an error. */
RtEpochLog *rt_epoch_log_open(const char *path, int32_t keep_epochs, RtDiags *d);
bool rt_epoch_log_append(RtEpochLog *log, const RtEpochMetrics *m, RtDiags *d);
void rt_epoch_log_close(RtEpochLog *log);

/* Reads metrics.jsonl back (validated like results.json's history, with line numbers in errors);
 * *history is malloc'ed (caller frees). max_epochs >= 0 reads only that many lines, so a resume
 * ignores what came after its checkpoint, including a line torn by a crash; -1 reads them all. */
bool rt_epoch_log_load(const char *path, int32_t max_epochs, RtEpochMetrics **history, int32_t *count, RtDiags *d);

/* Writes every metric that has a TensorBoard tag as a scalar at `step` (optional ones only when
 * recorded) and each layer's gradient norm under RT_TB_GRAD_NORM "<layer>", then flushes. */
bool rt_epoch_to_tensorboard(RtTbWriter *tb, const RtEpochMetrics *m, int64_t step, RtDiags *d);

#endif

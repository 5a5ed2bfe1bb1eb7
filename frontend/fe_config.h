/* Experiment configs: a `defaults` mapping and an `experiments` mapping of name -> settings that
 * override the defaults. fe_config_load validates the whole file (every problem reported with
 * file:line:col), loads each experiment's preset, checks settings against it, and returns the
 * experiments fully merged and in file order. docs/config.md lists every setting, its default
 * and its range. */
#ifndef SMELT_FE_CONFIG_H
#define SMELT_FE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "frontend/fe_preset.h"
#include "runtime/rt_settings.h"
#include "support/rt_arena.h"
#include "support/rt_diag.h"

/* The enumerations of rt_settings.h under the frontend's names (one list of spellings). */
typedef enum FeMetric {
  FE_METRIC_VAL_SEQ_ACC = RT_SET_METRIC_VAL_SEQ_ACC, FE_METRIC_VAL_CHAR_ACC = RT_SET_METRIC_VAL_CHAR_ACC,
  FE_METRIC_VAL_LOSS = RT_SET_METRIC_VAL_LOSS, FE_METRIC_COUNT = RT_SET_METRIC_COUNT
} FeMetric;
typedef enum FeOptimizerKind {
  FE_OPT_ADAM = RT_OPT_ADAM, FE_OPT_ADAMW = RT_OPT_ADAMW, FE_OPT_SGD = RT_OPT_SGD, FE_OPT_COUNT = RT_OPT_COUNT
} FeOptimizerKind;
typedef enum FeSchedulerKind {
  FE_SCHED_REDUCE_ON_PLATEAU = RT_SCHED_PLATEAU, FE_SCHED_COSINE = RT_SCHED_COSINE, FE_SCHED_STEP = RT_SCHED_STEP,
  FE_SCHED_CONSTANT = RT_SCHED_CONSTANT, FE_SCHED_ONE_CYCLE = RT_SCHED_ONE_CYCLE, FE_SCHED_COUNT = RT_SCHED_COUNT
} FeSchedulerKind;
typedef enum FeLossKind {
  FE_LOSS_CROSS_ENTROPY = RT_LOSS_CROSS_ENTROPY, FE_LOSS_FOCAL = RT_LOSS_FOCAL, FE_LOSS_CTC = RT_LOSS_CTC,
  FE_LOSS_COUNT = RT_LOSS_COUNT
} FeLossKind;

/* The spellings used in config files, indexed by the enums above. */
#define FE_METRIC_NAMES RT_SET_METRIC_NAMES     /* val_seq_acc, val_char_acc, val_loss */
#define FE_OPTIMIZER_NAMES RT_OPTIMIZER_NAMES   /* adam, adamw, sgd */
#define FE_SCHEDULER_NAMES RT_SCHEDULER_NAMES   /* reduce_on_plateau, cosine, step, constant, one_cycle */
#define FE_LOSS_NAMES RT_LOSS_NAMES             /* cross_entropy, focal, ctc */

/* Accuracies improve upwards, the loss downwards. */
bool fe_metric_higher_is_better(FeMetric m);

typedef struct FeOptimizer {
  FeOptimizerKind kind;
  double betas[2]; /* adam, adamw */
  double eps;      /* adam, adamw */
  double momentum; /* sgd */
  bool nesterov;   /* sgd */
} FeOptimizer;

typedef struct FeScheduler {
  FeSchedulerKind kind;
  FeMetric metric;   /* reduce_on_plateau: the validation metric it watches */
  double factor;     /* reduce_on_plateau: lr *= factor after `patience` epochs without improvement */
  int patience;      /* reduce_on_plateau */
  double min_lr;     /* reduce_on_plateau, cosine: floor of the learning rate */
  int warmup_epochs; /* all but one_cycle: linear warm-up per step over the first epochs */
  int restart_epochs; /* cosine: warm restarts, the first cycle's epochs (0: one cycle over the run) */
  int restart_mult;   /* cosine: each cycle this many times as long as the one before */
  int step_size;     /* step: lr *= gamma every step_size epochs */
  double gamma;      /* step */
  double pct_start;  /* one_cycle: share of the steps rising to the peak (learning_rate) */
  double div_factor; /* one_cycle: initial rate = learning_rate / div_factor */
  double final_div_factor; /* one_cycle: final rate = initial rate / final_div_factor */
} FeScheduler;

typedef struct FeLoss {
  FeLossKind kind;
  double label_smoothing; /* cross_entropy */
  double gamma;           /* focal: (1 - p)^gamma */
  double alpha;           /* focal: weight of the loss, when has_alpha (NaN otherwise) */
  bool has_alpha;
} FeLoss;

typedef struct FeEarlyStopping {
  bool enabled;
  FeMetric metric;
  int patience;     /* epochs without an improvement larger than min_delta before stopping */
  double min_delta;
} FeEarlyStopping;

typedef struct FeData {
  bool synthetic;      /* generated CAPTCHAs instead of folders */
  const char *train;   /* folders: labels.tsv + images; paths relative to the config's folder */
  const char *val;     /* folders: NULL = hold out val_split of train (deterministically) */
  double val_split;
  int train_count;     /* synthetic: samples generated for training */
  int val_count;       /* synthetic: samples generated for validation */
  int64_t seed;        /* synthetic: generator seed (the same for every experiment by default) */
  int length[2];       /* synthetic: label length range [min, max] */
  /* synthetic: the generator's style, as RtSynthOptions (0 = the default mix; RT_SYNTH_NONE:
   * `lines: 0` / `distort: 0`) and image size (0 x 0 = 50 x 200) */
  int lines;
  bool char_colours;
  double distort;
  bool grey;
  int height, width;
  bool mixed_styles;   /* synthetic: a style drawn per sample (RtSynthOptions.mixed) */
  const char *fonts;   /* synthetic: font files and folders (RtSynthOptions.fonts: ':'-separated),
                          made absolute (relative to the config's folder); NULL = the DejaVu fonts */
  const char *like;    /* synthetic: the folder whose charset, lengths, size and greyness were taken */
  const char *charset; /* symbols, UTF-8; NULL = from the training labels / the generator's 0-9A-Z */
  int charset_size;    /* code points in charset, 0 when NULL */
  bool fresh;          /* synthetic: new training samples every epoch (runtime/rt_fresh.h) */
} FeData;

typedef struct FeCurriculum {
  int epochs; /* K: the first K epochs train on short labels (rt_curriculum_max_len); 0 = off */
} FeCurriculum;

typedef struct FeAugment {
  bool enabled;
  double rotation;  /* max |angle|, degrees */
  double shear;     /* max |horizontal shear angle|, degrees */
  double scale;     /* zoom factor drawn from [1 - scale, 1 + scale] */
  double translate; /* max shift as a fraction of the width and height */
  double noise;     /* max std of Gaussian pixel noise, intensities in [0, 1] */
  double blur;      /* max Gaussian blur sigma, pixels */
  double contrast;  /* contrast factor drawn from [1 - contrast, 1 + contrast] */
  int lines;        /* max number of lines/arcs drawn over the text */
  double wave;      /* max amplitude of a wave displacement, pixels */
  int erase;        /* max number of small patches erased to the background */
  double invert;    /* probability of inverting the polarity */
  double gamma;     /* gamma exponent drawn from [1 / (1 + gamma), 1 + gamma] */
} FeAugment;

typedef struct FeExperiment {
  const char *name;
  FeLoc loc;              /* the experiment's key in the config */
  const char *model;      /* the preset reference as written */
  const FePreset *preset; /* loaded; owned by the FeConfig, shared between experiments */
  const char *init;       /* warm start: checkpoint path (relative to the config resolved), or NULL */
  int batch_size;
  double learning_rate;
  FeOptimizer optimizer;
  double weight_decay;    /* L2 for adam/sgd, decoupled for adamw */
  FeScheduler scheduler;
  FeLoss loss;
  double dropout;         /* rate of the preset's dropout layers that take it from the config */
  double lstm_forget_bias; /* initial forget-gate bias of every LSTM; NaN = PyTorch's uniform draw */
  double ema_decay;       /* moving average of the weights (runtime/rt_ema.h); 0 = off */
  int epochs;
  FeEarlyStopping early_stopping;
  double grad_clip;       /* max global gradient L2 norm; 0 = no clipping */
  int64_t seed;           /* initialisation, shuffling, dropout, augmentation */
  int precision;          /* RtPrecision: the training step's matrix products in fp32 or bf16 */
  bool sync_batchnorm;    /* data-parallel: batch-norm statistics over every process's batch */
  FeData data;
  FeAugment augmentation;
  FeCurriculum curriculum;
} FeExperiment;

typedef struct FeConfig {
  const char *path;
  const char *presets_dir; /* where preset names were looked up */
  FeExperiment *experiments; /* in file order */
  int count;
  FePreset **presets;      /* the distinct presets, owned */
  int preset_count;
  RtArena arena;           /* owns the strings and arrays above */
} FeConfig;

typedef struct FeLoadOptions {
  const char *presets_dir; /* wins over the config's presets_dir and $SMELT_PRESETS; NULL = unset */
  bool skip_data_check;    /* do not require data folders to exist (they will be overridden) */
} FeLoadOptions;

/* Loads, merges and validates a config. Returns NULL when any error was added to d (warnings
 * alone do not fail); otherwise a config the caller frees with fe_config_free. opts may be NULL. */
FeConfig *fe_config_load(const char *path, const FeLoadOptions *opts, RtDiags *d);
/* The same from memory; file names the text in diagnostics and anchors relative paths. */
FeConfig *fe_config_parse(const char *file, const char *text, size_t len, const FeLoadOptions *opts,
                          RtDiags *d);
void fe_config_free(FeConfig *c);
const FeExperiment *fe_config_find(const FeConfig *c, const char *name);

/* The built-in defaults (model unset, loss chosen by the head at load time). */
FeExperiment fe_experiment_builtin(void);

/* The training settings of e (rt_settings.def), for the runtime and for JSON. */
RtSettings fe_experiment_settings(const FeExperiment *e);

/* Experiments that can share one compiled module: same preset file, batch size, loss kind,
 * optimizer and use of gradient clipping (the update is compiled in; its hyperparameters are
 * runtime scalars). Writes a group
 * index per experiment (groups numbered from 0 in order of first use); returns the group count. */
int fe_config_module_groups(const FeConfig *c, int *group_of);

#endif

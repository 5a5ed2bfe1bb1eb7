/* The standalone trainer's command line (rt_trainer_main.h): options and output lines follow
 * `smelt train` (tools/cmd_train.c) and data loading follows tools/experiment.c, so that a built
 * trainer and `smelt train` of the same experiment write the same files with the same metrics. */
#include "runtime/rt_trainer_main.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/rt_fpenv.h"
#include "runtime/rt_fs.h"
#include "runtime/rt_pool.h"
#include "runtime/rt_synth.h"

static const char OPTIONS[] =
    "Trains the experiment it was built from, validating every epoch, and writes\n"
    "OUT/<experiment>/: best.safetensors, last.safetensors, metrics.jsonl, TensorBoard events\n"
    "and results.json (like `smelt train`).\n"
    "\n"
    "options:\n"
    "  --data DIR         training data (labels.tsv + images) instead of the experiment's data\n"
    "  --val DIR          with --data: its validation folder; without --val, the experiment's\n"
    "                     val_split of --data is held out\n"
    "  --epochs N         train N epochs instead of the configured number\n"
    "  --out DIR          output folder (default: runs)\n"
    "  --resume           continue from OUT/<experiment>/last.safetensors if it exists\n"
    "  --overwrite        start over where OUT/<experiment> holds an earlier run (its\n"
    "                     checkpoints and logs are deleted); without it such a run is kept\n"
    "                     and training refuses to start\n"
    "  --skip-bad-samples leave out bad lines and images (counted) instead of stopping\n"
    "  --quiet            only the per-epoch lines (no progress bar or quarter lines)\n"
    "  -h, --help         show this help\n";

static void usage(FILE *out, const char *prog, const RtTrainerSpec *s) {
  fprintf(out,
          "usage: %s [--data DIR] [--val DIR] [--epochs N] [--out DIR] [--resume | --overwrite]\n"
          "       [--skip-bad-samples] [--quiet]\n\n",
          prog);
  fprintf(out, "A standalone trainer for experiment '%s'.\n%s\n%s", s->train.experiment, s->built_from, OPTIONS);
}

static int usage_error(const char *prog, const RtTrainerSpec *s, const char *fmt, const char *arg) {
  fprintf(stderr, "%s: ", prog);
  fprintf(stderr, fmt, arg);
  fputc('\n', stderr);
  usage(stderr, prog, s);
  return 2;
}

typedef struct Args {
  const char *data, *val, *out;
  int epochs;
  bool resume, overwrite, skip_bad, quiet;
} Args;

/* 0 to run, -1 after --help, 2 for a usage error */
static int parse_args(int argc, char **argv, const RtTrainerSpec *s, Args *a) {
  static const struct option opts[] = {
      {"data", required_argument, NULL, 'd'},       {"val", required_argument, NULL, 'v'},
      {"epochs", required_argument, NULL, 'n'},     {"out", required_argument, NULL, 'o'},
      {"resume", no_argument, NULL, 'r'},           {"skip-bad-samples", no_argument, NULL, 's'},
      {"quiet", no_argument, NULL, 'q'},            {"help", no_argument, NULL, 'h'},
      {"overwrite", no_argument, NULL, 'w'},        {0}};
  const char *prog = argc > 0 ? argv[0] : "trainer";
  *a = (Args){.out = "runs"};
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
    switch (c) {
      case 'h': usage(stdout, prog, s); return -1;
      case 'd': a->data = optarg; break;
      case 'v': a->val = optarg; break;
      case 'o': a->out = optarg; break;
      case 'r': a->resume = true; break;
      case 'w': a->overwrite = true; break;
      case 's': a->skip_bad = true; break;
      case 'q': a->quiet = true; break;
      case 'n': {
        char *end;
        errno = 0;
        long v = strtol(optarg, &end, 10);
        if (errno || end == optarg || *end || v < 1 || v > 100000)
          return usage_error(prog, s, "--epochs expects an integer in [1, 100000], got '%s'", optarg);
        a->epochs = (int)v;
        break;
      }
      case ':': return usage_error(prog, s, "option '%s' needs a value", argv[optind - 1]);
      default: return usage_error(prog, s, "unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc) return usage_error(prog, s, "unexpected argument '%s'", argv[optind]);
  if (a->val && !a->data) return usage_error(prog, s, "%s", "--val goes with --data");
  if (a->resume && a->overwrite) return usage_error(prog, s, "%s", "--resume and --overwrite exclude each other");
  return 0;
}

void rt_trainer_synth_name(const RtTrainerData *data, char *buf, size_t size) {
  uint64_t h = 0xcbf29ce484222325u; /* FNV-1a of the charset: sets differing only there differ */
  for (const unsigned char *p = (const unsigned char *)(data->charset ? data->charset : ""); *p; p++)
    h = (h ^ *p) * 0x100000001b3u;
  snprintf(buf, size, "synth-s%" PRId64 "-n%d+%d-len%d-%d-c%08x", data->synth_seed, data->train_count,
           data->val_count, data->min_len, data->max_len, (unsigned)(h & 0xffffffffu));
}

void rt_trainer_synth_dir(const RtTrainerData *data, char *buf, size_t size) {
  char cache[3000], name[200];
  if (!rt_cache_dir(cache, sizeof cache)) snprintf(cache, sizeof cache, ".smelt-cache");
  rt_trainer_synth_name(data, name, sizeof name);
  snprintf(buf, size, "%s/data/%s", cache, name);
}

void rt_train_print_summary(const char *experiment, const RtTrainSummary *s, const char *out_dir) {
  printf("%s: %s after %d epochs", experiment, rt_run_status_name(s->status), s->epochs_run);
  if (s->best_epoch > 0)
    printf("; best epoch %d: char_acc %.2f%%, seq_acc %.2f%%", s->best_epoch, 100 * s->best.v[RT_METRIC_VAL_CHAR_ACC],
           100 * s->best.v[RT_METRIC_VAL_SEQ_ACC]);
  printf("; %.1f samples/s\nresults: %s/%s\n", s->samples_per_s, out_dir, RT_FILE_RESULTS);
}

static RtDataset *load(const char *dir, const char *charset, const RtTrainerDataOptions *o, RtDiags *d) {
  RtDatasetOptions opts = {.charset = charset, .max_label_len = o->max_label_len, .ctc_steps = o->ctc_steps,
                           .policy = o->skip_bad ? RT_DATA_SKIP : RT_DATA_STOP, .height = o->height,
                           .width = o->width};
  RtDataset *ds = rt_dataset_load(dir, &opts, d);
  if (ds && o->log)
    fprintf(o->log, "loaded %d samples from %s%s\n", ds->count, dir, ds->skipped ? " (some skipped)" : "");
  return ds;
}

/* The share of a training folder held out when there is no validation folder. */
static double split_of(const RtTrainerData *data) { return data->val_split > 0 ? data->val_split : 0.2; }

bool rt_trainer_load_data(const RtTrainerData *data, const RtTrainerDataOptions *o, RtDataset **train,
                          RtDataset **val, RtDiags *d) {
  *train = *val = NULL;
  const char *train_dir = o->train_dir, *val_dir = o->val_dir;
  char synth[4096], synth_train[4200], synth_val[4200];
  if (!train_dir && data->synthetic) {
    rt_trainer_synth_dir(data, synth, sizeof synth);
    snprintf(synth_train, sizeof synth_train, "%s/train", synth);
    snprintf(synth_val, sizeof synth_val, "%s/val", synth);
    RtSynthOptions so = {.charset = data->charset, .min_len = data->min_len, .max_len = data->max_len,
                         .reuse = true, .progress = o->log};
    if (o->log) fprintf(o->log, "synthetic data: %s\n", synth);
    if (!rt_synth_generate(synth_train, data->train_count, (uint64_t)data->synth_seed, &so, d)) return false;
    so.first_index = data->train_count; /* validation continues the same set with new samples */
    if (!rt_synth_generate(synth_val, data->val_count, (uint64_t)data->synth_seed, &so, d)) return false;
    train_dir = synth_train;
    val_dir = synth_val;
  } else if (!train_dir) {
    train_dir = data->train_dir;
    val_dir = data->val_dir;
  }
  bool generated = train_dir == synth_train;
  RtDataset *all = load(train_dir, data->charset, o, d);
  if (all && val_dir) {
    *train = all;
    *val = load(val_dir, all->charset.utf8, o, d); /* the training set's symbols, in its order */
  }
  if (generated && (!all || !*val)) /* synth.json said complete, yet a file is missing or damaged */
    rt_diag_add(d, RT_DIAG_NOTE, synth, 0, 0,
                "a generated set in smelt's cache; delete this folder to have it generated again");
  if (!all) return false;
  if (!val_dir) {
    bool split = rt_dataset_split(all, split_of(data), RT_SPLIT_SEED, train, val, d);
    rt_dataset_free(all); /* the split made copies */
    if (!split) return false;
  }
  if (!*val) {
    rt_dataset_free(*train);
    *train = NULL;
    return false;
  }
  return true;
}

cJSON *rt_trainer_folder_data_json(const char *train_dir, const char *val_dir, double val_split,
                                   const char *charset) {
  cJSON *data = cJSON_CreateObject();
  char buf[PATH_MAX];
  cJSON_AddStringToObject(data, "train", realpath(train_dir, buf) ? buf : train_dir);
  if (val_dir) cJSON_AddStringToObject(data, "val", realpath(val_dir, buf) ? buf : val_dir);
  else cJSON_AddNumberToObject(data, "val_split", val_split);
  if (charset) cJSON_AddStringToObject(data, "charset", charset);
  return data;
}

/* The experiment's JSON as `smelt train` records it with the same options: another epoch count
 * (0: the built one) and other data folders (NULL: the built data). */
static char *settings_json(const char *json, int epochs, const char *data_dir, const char *val_dir,
                           double val_split) {
  cJSON *o = cJSON_Parse(json);
  if (!o) return strdup(json);
  if (epochs) cJSON_ReplaceItemInObjectCaseSensitive(o, "epochs", cJSON_CreateNumber(epochs));
  if (data_dir) {
    const cJSON *old = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "data"), "charset");
    cJSON *data = rt_trainer_folder_data_json(data_dir, val_dir, val_split, cJSON_GetStringValue(old));
    cJSON_ReplaceItemInObjectCaseSensitive(o, "data", data);
  }
  char *text = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  return text;
}

static void print_diags(RtDiags *d) {
  rt_diags_print(d, stderr);
  rt_diags_free(d);
}

int rt_trainer_main(int argc, char **argv, const RtTrainerSpec *spec) {
  setvbuf(stdout, NULL, _IOLBF, 0); /* progress reaches a log file or pipe as it happens */
  rt_fpenv_flush_denormals();
  Args a;
  int rc = parse_args(argc, argv, spec, &a);
  if (rc) return rc < 0 ? 0 : rc;
  const RtModel *m = spec->model;
  if (rt_pool_threads() > spec->max_threads) rt_pool_set_threads(spec->max_threads); /* workspaces */
  rt_blas_single_threaded(); /* our pool splits the GEMMs, as in `smelt train` */
  RtTrainConfig tc = spec->train;
  char *json = NULL;
  if (a.epochs && tc.schedule.kind == RT_SCHED_COSINE && tc.schedule.warmup_epochs >= a.epochs) {
    fprintf(stderr, "%s: error: --epochs %d leaves no room after the cosine schedule's warmup_epochs %d\n", argv[0],
            a.epochs, tc.schedule.warmup_epochs);
    return 2;
  }
  if (a.epochs) tc.epochs = a.epochs;
  if (a.epochs || a.data) {
    json = settings_json(tc.config_json, a.epochs, a.data, a.val, split_of(&spec->data));
    tc.config_json = json;
  }
  RtDiags d = {0};
  RtDataset *train = NULL, *val = NULL;
  RtTrainerDataOptions dopt = {.train_dir = a.data, .val_dir = a.val, .skip_bad = a.skip_bad,
                               .max_label_len = m->max_len, .ctc_steps = m->time_steps, .height = m->height,
                               .width = m->width, .log = stdout};
  bool ok = rt_trainer_load_data(&spec->data, &dopt, &train, &val, &d);
  print_diags(&d);
  char out_dir[4096];
  snprintf(out_dir, sizeof out_dir, "%s/%s", a.out, tc.experiment);
  if (ok) {
    printf("charset (%d symbols): %s\n", train->charset.size, train->charset.utf8);
    printf("training %s: preset %s, %lld params, batch %d, %d epochs, %d train / %d validation samples\n",
           tc.experiment, m->preset_name, (long long)m->params, m->batch, tc.epochs, train->count, val->count);
    tc.out_dir = out_dir;
    tc.resume = a.resume;
    tc.overwrite = a.overwrite;
    tc.charset = train->charset.utf8;
    tc.progress = a.quiet ? 1 : 2; /* a bar on a terminal, a line per quarter epoch in a log */
    RtTrainSummary s;
    ok = rt_train(m, &tc, train, val, &s, &d);
    print_diags(&d);
    if (ok) {
      rt_train_print_summary(tc.experiment, &s, out_dir);
      if (s.status == RT_RUN_DIVERGED) ok = false;
    }
  }
  rt_dataset_free(train);
  rt_dataset_free(val);
  free(json);
  rt_pool_shutdown();
  return ok ? 0 : 1;
}

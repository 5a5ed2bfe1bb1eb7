/* The standalone trainer's main program (rt_trainer_main.h): `smelt train`'s command line
 * (rt_train_cli.h), the embedded settings read as stored settings are (rt_settings.h), and data
 * loading shared with driver/experiment.c, so that a built trainer and `smelt train` of the same
 * experiment write the same files with the same metrics. */
#include "runtime/rt_trainer_main.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/rt_amx.h"
#include "runtime/rt_fpenv.h"
#include "runtime/rt_pool.h"
#include "runtime/rt_settings.h"
#include "runtime/rt_synth.h"
#include "runtime/rt_train_cli.h"
#include "runtime/rt_train_parallel.h"
#include "runtime/rt_val_samples.h"
#include "support/rt_assert.h"
#include "support/rt_fs.h"
#include "support/rt_random.h"

/* The help: what the trainer is, and `smelt train`'s options (rt_train_cli.h). Returns buf. */
static const char *usage(const char *prog, const char *experiment, const RtTrainerSpec *s, char *buf, size_t size) {
  char options[2048], parallel[200] = "";
  if (s->processes > 1)
    snprintf(parallel, sizeof parallel,
             "Built for data-parallel training by %d processes: run it as `mpirun -np %d %s ...`\n"
             "(each process computes the gradients of its share of every batch).\n",
             s->processes, s->processes, prog);
  snprintf(buf, size,
           "usage: %s [--data DIR] [--val DIR] [--epochs N] [--out DIR] [--resume | --overwrite]\n"
           "       [--skip-bad-samples] [--quiet]\n\n"
           "A standalone trainer for experiment '%s'.\n%s\n"
           "Trains the experiment it was built from, validating every epoch, and writes\n"
           "OUT/<experiment>/: best.safetensors, last.safetensors, metrics.jsonl, TensorBoard events\n"
           "and results.json (like `smelt train`).\n"
           "%s\n%s",
           prog, experiment, s->built_from, parallel,
           rt_train_options_help(false, "experiment's", options, sizeof options));
  return buf;
}

/* The generator's style and size as text, "" for the default mix (whose folder names predate it). */
static void synth_style(const RtTrainerData *d, char *buf, size_t size) {
  *buf = '\0';
  if (d->synth_lines || d->synth_char_colours || d->synth_distort || d->synth_grey || d->synth_height)
    snprintf(buf, size, "l%d c%d d%.17g g%d %dx%d", d->synth_lines, d->synth_char_colours, d->synth_distort,
             d->synth_grey, d->synth_height, d->synth_width);
  if (d->synth_mixed) { /* appended: the names of sets without these stay as they were */
    size_t n = strlen(buf);
    snprintf(buf + n, size - n, "%smixed", n ? " " : "");
  }
  if (d->synth_fonts) {
    size_t n = strlen(buf);
    snprintf(buf + n, size - n, "%sfonts %s", n ? " " : "", d->synth_fonts);
  }
}

void rt_trainer_synth_name(const RtTrainerData *data, char *buf, size_t size) {
  const char *charset = data->charset ? data->charset : "";
  uint64_t h = rt_fnv1a64(charset, strlen(charset)); /* sets differing only in the charset differ */
  int n = snprintf(buf, size, "synth-s%" PRId64 "-n%d+%d-len%d-%d-c%08x", data->synth_seed, data->train_count,
                   data->val_count, data->min_len, data->max_len, (unsigned)(h & 0xffffffffu));
  size_t style_size = 128 + (data->synth_fonts ? strlen(data->synth_fonts) : 0); /* a long list of fonts whole */
  char *style = rt_xmalloc(style_size);
  synth_style(data, style, style_size); /* sets differing only in style differ too */
  if (*style && n >= 0 && (size_t)n < size)
    snprintf(buf + n, size - (size_t)n, "-st%08x", (unsigned)(rt_fnv1a64(style, strlen(style)) & 0xffffffffu));
  free(style);
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
  rt_val_samples_print(out_dir, RT_VAL_SAMPLES_SHOWN, stdout);
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
  if (!train_dir && data->synthetic && !data->train_dir) { /* generated (mixed: folders, below) */
    rt_trainer_synth_dir(data, synth, sizeof synth);
    snprintf(synth_train, sizeof synth_train, "%s/train", synth);
    snprintf(synth_val, sizeof synth_val, "%s/val", synth);
    RtSynthOptions so = {.charset = data->charset, .min_len = data->min_len, .max_len = data->max_len,
                         .reuse = true, .progress = o->log, .lines = data->synth_lines,
                         .char_colours = data->synth_char_colours, .distort = data->synth_distort,
                         .grey = data->synth_grey, .height = data->synth_height, .width = data->synth_width,
                         .mixed = data->synth_mixed, .fonts = data->synth_fonts};
    if (o->log) fprintf(o->log, "synthetic data: %s\n", synth);
    /* fresh data renders its training sets in memory, epoch by epoch */
    if (!data->fresh && !rt_synth_generate(synth_train, data->train_count, (uint64_t)data->synth_seed, &so, d))
      return false;
    so.first_index = data->train_count; /* validation continues the same set with new samples */
    if (!rt_synth_generate(synth_val, data->val_count, (uint64_t)data->synth_seed, &so, d)) return false;
    train_dir = synth_train;
    val_dir = synth_val;
  } else if (!train_dir) {
    train_dir = data->train_dir;
    val_dir = data->val_dir;
  }
  bool generated = train_dir == synth_train;
  if (generated && data->fresh) { /* the validation set alone, in the charset fresh sets use */
    RtFreshConfig fc = rt_trainer_fresh_config(data);
    *val = load(val_dir, rt_fresh_charset(&fc), o, d);
    if (!*val)
      rt_diag_add(d, RT_DIAG_NOTE, synth, 0, 0,
                  "a generated set in smelt's cache; delete this folder to have it generated again");
    return *val != NULL;
  }
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

/* The generator's parameters of synthetic data d into data (the `data` object's synthetic keys). */
static void synthetic_json(const RtTrainerData *d, cJSON *data) {
  cJSON_AddNumberToObject(data, "synthetic_train", d->train_count);
  if (!d->train_dir) cJSON_AddNumberToObject(data, "synthetic_val", d->val_count);
  cJSON_AddNumberToObject(data, "seed", (double)d->synth_seed);
  cJSON_AddItemToObject(data, "length", cJSON_CreateIntArray((const int[]){d->min_len, d->max_len}, 2));
  if (d->fresh) cJSON_AddTrueToObject(data, "fresh"); /* absent: as before fresh existed */
  if (d->charset && !d->train_dir) cJSON_AddStringToObject(data, "charset", d->charset); /* mixed: the folders' */
  char style[128];
  synth_style(d, style, sizeof style);
  if (*style) { /* only when not the default mix */
    cJSON *st = cJSON_AddObjectToObject(data, "style");
    cJSON_AddNumberToObject(st, "lines", d->synth_lines);
    cJSON_AddBoolToObject(st, "char_colours", d->synth_char_colours);
    cJSON_AddNumberToObject(st, "distort", d->synth_distort);
    cJSON_AddBoolToObject(st, "grey", d->synth_grey);
    cJSON_AddNumberToObject(st, "height", d->synth_height);
    cJSON_AddNumberToObject(st, "width", d->synth_width);
    if (d->synth_mixed) cJSON_AddTrueToObject(st, "mixed"); /* absent: as before it existed */
    if (d->synth_fonts) cJSON_AddStringToObject(st, "fonts", d->synth_fonts);
  }
}

cJSON *rt_trainer_data_json(const RtTrainerData *d) {
  if (!d->synthetic || d->train_dir) {
    cJSON *data = rt_trainer_folder_data_json(d->train_dir, d->val_dir, d->val_split, d->charset);
    if (d->synthetic) synthetic_json(d, data); /* mixed: what is generated every epoch, no validation */
    return data;
  }
  cJSON *data = cJSON_CreateObject();
  synthetic_json(d, data);
  return data;
}

RtFreshConfig rt_trainer_fresh_config(const RtTrainerData *data) {
  return (RtFreshConfig){.enabled = data->synthetic && data->fresh, .seed = (uint64_t)data->synth_seed,
                         .count = data->train_count, .val_count = data->val_count, .min_len = data->min_len,
                         .max_len = data->max_len, .charset = data->charset,
                         .style = {.lines = data->synth_lines, .char_colours = data->synth_char_colours,
                                   .distort = data->synth_distort, .grey = data->synth_grey,
                                   .height = data->synth_height, .width = data->synth_width,
                                   .mixed = data->synth_mixed, .fonts = data->synth_fonts}};
}

static int int_of(const cJSON *o, const char *key, bool *ok) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  *ok &= cJSON_IsNumber(v);
  return cJSON_IsNumber(v) ? v->valueint : 0;
}

bool rt_trainer_data_from_json(const cJSON *o, RtTrainerData *d, const char *what, RtDiags *diags) {
  const cJSON *length = cJSON_GetObjectItemCaseSensitive(o, "length");
  const cJSON *split = cJSON_GetObjectItemCaseSensitive(o, "val_split");
  bool ok = cJSON_IsObject(o);
  *d = (RtTrainerData){.synthetic = cJSON_GetObjectItemCaseSensitive(o, "synthetic_train") != NULL,
                       .train_dir = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "train")),
                       .val_dir = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "val")),
                       .val_split = cJSON_IsNumber(split) ? split->valuedouble : RT_DEFAULT_VAL_SPLIT,
                       .charset = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "charset"))};
  if (ok && d->synthetic) {
    d->train_count = int_of(o, "synthetic_train", &ok);
    if (!d->train_dir) d->val_count = int_of(o, "synthetic_val", &ok); /* mixed: validated on folders */
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(o, "seed");
    ok &= cJSON_IsNumber(seed) && cJSON_GetArraySize(length) == 2;
    const cJSON *fresh = cJSON_GetObjectItemCaseSensitive(o, "fresh");
    ok &= !fresh || cJSON_IsBool(fresh);
    if (ok) {
      d->synth_seed = (int64_t)seed->valuedouble;
      d->min_len = length->child->valueint;
      d->max_len = length->child->next->valueint;
      d->fresh = cJSON_IsTrue(fresh);
    }
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "style");
    if (st) {
      const cJSON *distort = cJSON_GetObjectItemCaseSensitive(st, "distort");
      d->synth_lines = int_of(st, "lines", &ok);
      d->synth_height = int_of(st, "height", &ok);
      d->synth_width = int_of(st, "width", &ok);
      d->synth_char_colours = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(st, "char_colours"));
      d->synth_grey = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(st, "grey"));
      d->synth_mixed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(st, "mixed"));
      d->synth_fonts = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(st, "fonts"));
      ok &= cJSON_IsNumber(distort);
      d->synth_distort = cJSON_IsNumber(distort) ? distort->valuedouble : 0;
    }
  } else {
    ok &= d->train_dir != NULL;
  }
  if (!ok) rt_diag_error(diags, what, 0, 0, "the experiment's `data` is neither synthetic parameters nor folders");
  return ok;
}

static void print_diags(RtDiags *d) {
  rt_diags_print(d, stderr);
  rt_diags_free(d);
}

/* The embedded experiment: its name, settings and data, read as any stored settings are. */
typedef struct Embedded {
  cJSON *json;
  const char *name;
  RtSettings settings;
  RtTrainerData data;
} Embedded;

static bool embedded_read(const RtTrainerSpec *spec, const char *prog, Embedded *e, RtDiags *d) {
  e->json = cJSON_Parse(spec->config_json);
  e->name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e->json, "name"));
  e->settings = rt_settings_defaults();
  if (!e->name) {
    rt_diag_error(d, prog, 0, 0, "the embedded experiment settings have no name");
    return false;
  }
  return rt_settings_from_json(e->json, &e->settings, prog, d) &&
         rt_trainer_data_from_json(cJSON_GetObjectItemCaseSensitive(e->json, "data"), &e->data, prog, d);
}

/* The experiment's JSON as `smelt train` records it with the same options (--epochs, --data, --init),
 * written by the same code: its name, model, network and init, then rt_settings_to_json. */
static char *settings_json(const Embedded *e, const RtTrainArgs *a) {
  cJSON *o = cJSON_CreateObject();
  static const char *const keys[] = {"name", "model", "network", "init"};
  for (int i = 0; i < 4; i++) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(e->json, keys[i]);
    if (v) cJSON_AddItemToObject(o, keys[i], cJSON_Duplicate(v, true));
  }
  if (a->init) { /* --init replaces the config's */
    cJSON_DeleteItemFromObjectCaseSensitive(o, "init");
    cJSON_AddStringToObject(o, "init", a->init);
  }
  cJSON *data = a->data ? rt_trainer_folder_data_json(a->data, a->val, split_of(&e->data), e->data.charset)
                        : rt_trainer_data_json(&e->data);
  rt_settings_to_json(o, &e->settings, data);
  char *text = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  return text;
}

/* Reads the embedded experiment and the command line; 0 to train, else the exit code. */
static int trainer_start(int argc, char **argv, const RtTrainerSpec *spec, Embedded *e, RtTrainArgs *a) {
  const char *prog = argc > 0 ? argv[0] : "trainer";
  RtDiags d = {0};
  bool ok = embedded_read(spec, prog, e, &d);
  print_diags(&d);
  if (!ok) return 1;
  char help[8192];
  RtTrainCli cli = {.prog = prog, .usage = usage(prog, e->name, spec, help, sizeof help)};
  int rc = rt_train_args_parse(&cli, argc, argv, a);
  if (rc) return rc < 0 ? -1 : rc;
  if (a->epochs) e->settings.epochs = a->epochs;
  if (a->epochs && !rt_settings_check_epochs(&e->settings, e->name, prog, 0, 0, &d)) rc = 2;
  print_diags(&d);
  return rc;
}

int rt_trainer_main(int argc, char **argv, const RtTrainerSpec *spec) {
  setvbuf(stdout, NULL, _IOLBF, 0); /* progress reaches a log file or pipe as it happens */
  rt_fpenv_flush_denormals();
  rt_amx_enable(); /* a trainer compiled with `precision: bf16` on an AMX machine uses the tiles */
  RtTrainArgs a;
  Embedded e = {0};
  int rc = trainer_start(argc, argv, spec, &e, &a);
  if (rc) {
    cJSON_Delete(e.json);
    return rc < 0 ? 0 : rc;
  }
  const RtModel *m = spec->model;
  RtComm *comm = spec->processes > 1 ? spec->comm : NULL;
  bool root = !comm || comm->rank == 0;
  int shards = spec->processes > 1 ? spec->processes : 1;
  if (shards > 1 && (!comm || comm->size != shards)) {
    if (root)
      fprintf(stderr, "%s: error: built for %d data-parallel processes; run it as mpirun -np %d %s ...%s\n",
              argv[0], shards, shards, argv[0], comm ? " (not with another number of processes)" : "");
    if (comm) comm->failed_together = true; /* every process says so */
    cJSON_Delete(e.json);
    return 1;
  }
  if (rt_pool_threads() > spec->max_threads) rt_pool_set_threads(spec->max_threads); /* workspaces */
  rt_blas_single_threaded(); /* our pool splits the GEMMs, as in `smelt train` */
  RtTrainConfig tc = rt_settings_train_config(&e.settings);
  tc.experiment = e.name;
  if (!a.data) tc.fresh = rt_trainer_fresh_config(&e.data); /* --data trains on the folders given */
  tc.config_json = spec->config_json;
  /* the config's `init` (absolute when built); --init replaces it below */
  tc.init_path = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e.json, "init"));
  char *json = NULL;
  if (a.epochs || a.data || a.init) {
    json = settings_json(&e, &a);
    tc.config_json = json;
  }
  RtDiags d = {0};
  RtDataset *train = NULL, *val = NULL;
  RtTrainerDataOptions dopt = {.train_dir = a.data, .val_dir = a.val, .skip_bad = a.skip_bad,
                               .max_label_len = m->max_len, .ctc_steps = m->time_steps, .height = m->height,
                               .width = m->width, .log = root ? stdout : NULL};
  bool ok = rt_trainer_load_data(&e.data, &dopt, &train, &val, &d);
  print_diags(&d);
  ok = rt_parallel_agree(comm, ok, &d);
  print_diags(&d);
  char out_dir[4096];
  rt_train_args_apply(&a, tc.experiment, out_dir, sizeof out_dir, &tc);
  if (ok && root) {
    rt_train_print_start(tc.experiment, m->preset_name, (long long)m->params, m->batch * shards, tc.epochs, train,
                         val, &tc.fresh);
    rt_train_note_label_length(m->head == RT_HEAD_CTC, !tc.init_path && !tc.resume, train, &tc.fresh);
    if (shards > 1)
      printf("data-parallel over %d processes on %d host%s: %d samples of each batch of %d a process\n", shards,
             comm->hosts, comm->hosts == 1 ? "" : "s", m->batch, m->batch * shards);
  }
  if (ok) {
    tc.charset = val->charset.utf8; /* the training set's (fresh data: the generator's) */
    tc.comm = comm;
    if (!root) tc.progress = 0;
    RtTrainSummary s;
    ok = rt_train(m, &tc, train, val, &s, &d);
    print_diags(&d);
    if (ok && root) rt_train_print_summary(tc.experiment, &s, out_dir);
    if (ok && s.status == RT_RUN_DIVERGED) { /* every process saw the same loss */
      ok = false;
      if (comm) comm->failed_together = true;
    }
  }
  rt_dataset_free(train);
  rt_dataset_free(val);
  free(json);
  cJSON_Delete(e.json);
  rt_pool_shutdown();
  return ok ? 0 : 1;
}

/* `smelt train CONFIG`: trains one experiment of a config, JIT-compiled for this machine, and
 * writes its checkpoints, metrics.jsonl, TensorBoard events and results.json into
 * OUT/<experiment>/. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "driver/experiment.h"
#include "driver/model_build.h"
#include "runtime/rt_train_cli.h"
#include "tools/cli.h"
#include "tools/commands.h"

static const char SYNOPSIS[] =
    "usage: smelt train CONFIG [--experiment NAME] [--data DIR] [--val DIR] [--epochs N]\n"
    "                          [--init CHECKPOINT] [--out DIR] [--resume | --overwrite]\n"
    "                          [--skip-bad-samples] [--quiet]\n"
    "\n"
    "Trains one experiment of CONFIG (the only one, or the one named) with a training step\n"
    "compiled for this machine, validating every epoch, and writes OUT/<experiment>/:\n"
    "best.safetensors, last.safetensors, metrics.jsonl, TensorBoard events and results.json.\n"
    "\n";

/* The options and their help are the built trainers' too (runtime/rt_train_cli.h). */
static int parse_args(int argc, char **argv, RtTrainArgs *a) {
  char usage[4096], options[2048];
  snprintf(usage, sizeof usage, "%s%s", SYNOPSIS, rt_train_options_help(true, "config's", options, sizeof options));
  RtTrainCli cli = {.prog = "smelt", .usage = usage, .with_config = true};
  return rt_train_args_parse(&cli, argc, argv, a);
}

int cmd_train(int argc, char **argv) {
  RtTrainArgs a;
  int rc = parse_args(argc, argv, &a);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  RtDiags d = {0};
  FeLoadOptions lo = {.skip_data_check = a.data != NULL};
  FeConfig *cfg = fe_config_load(a.config, &lo, &d);
  rt_diags_print(&d, stderr);
  rt_diags_free(&d);
  if (!cfg) return CLI_EXIT_FAIL;
  const FeExperiment *found = experiment_pick(cfg, a.experiment, &d);
  rt_diags_print(&d, stderr);
  rt_diags_free(&d);
  if (!found) {
    fe_config_free(cfg);
    return CLI_EXIT_FAIL;
  }
  FeExperiment e = *found;
  if (a.init) e.init = a.init; /* recorded with the settings, as the config's `init` would be */
  if (a.data) { /* the folders given replace the config's data, also in the settings recorded */
    e.data.synthetic = false;
    e.data.train = a.data;
    e.data.val = a.val;
  }
  RtDataset *train = NULL, *val = NULL;
  ExperimentData ed = {.skip_bad = a.skip_bad, .log = stdout};
  ModelBuild mb;
  bool ok = experiment_set_epochs(&e, a.epochs, &d) && experiment_load_data(&e, &ed, &train, &val, &d);
  if (ok) {
    RtFreshConfig fresh = experiment_train_config(&e, NULL, NULL).fresh;
    rt_train_print_start(e.name, e.preset->name, (long long)e.preset->params, e.batch_size, e.epochs, train, val,
                         &fresh);
    rt_train_note_label_length(fe_preset_is_ctc(e.preset), !e.init && !a.resume, train, &fresh);
    ModelBuildOptions mo = {.log = stdout};
    ok = model_build(&e, &mo, &mb, &d);
  }
  rt_diags_print(&d, stderr);
  rt_diags_free(&d);
  if (ok) {
    char out_dir[4096];
    char *json = experiment_json(&e);
    RtTrainConfig tc = experiment_train_config(&e, NULL, json);
    rt_train_args_apply(&a, e.name, out_dir, sizeof out_dir, &tc);
    tc.charset = val->charset.utf8; /* the training set's (fresh data: the generator's) */
    RtTrainSummary s;
    ok = rt_train(&mb.model, &tc, train, val, &s, &d);
    rt_diags_print(&d, stderr);
    rt_diags_free(&d);
    if (ok) {
      rt_train_print_summary(e.name, &s, out_dir);
      if (s.best_epoch > 0)
        printf("deploy the best model: smelt emit %s/best.safetensors -o deploy/%s\n", out_dir, e.name);
      if (s.status == RT_RUN_DIVERGED) ok = false;
    }
    free(json);
    model_build_free(&mb);
  }
  rt_dataset_free(train);
  rt_dataset_free(val);
  fe_config_free(cfg);
  return ok ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

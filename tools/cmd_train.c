/* `smelt train CONFIG`: trains one experiment of a config, JIT-compiled for this machine, and
 * writes its checkpoints, metrics.jsonl, TensorBoard events and results.json into
 * OUT/<experiment>/. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/experiment.h"
#include "tools/model_build.h"

static const char USAGE[] =
    "usage: smelt train CONFIG [--experiment NAME] [--data DIR] [--val DIR] [--epochs N]\n"
    "                          [--out DIR] [--resume | --overwrite] [--skip-bad-samples]\n"
    "                          [--quiet]\n"
    "\n"
    "Trains one experiment of CONFIG (the only one, or the one named) with a training step\n"
    "compiled for this machine, validating every epoch, and writes OUT/<experiment>/:\n"
    "best.safetensors, last.safetensors, metrics.jsonl, TensorBoard events and results.json.\n"
    "\n"
    "options:\n"
    "  --experiment NAME  the experiment to train (required when CONFIG has several)\n"
    "  --data DIR         training data (labels.tsv + images) instead of the config's data\n"
    "  --val DIR          with --data: its validation folder; without --val, the config's\n"
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

typedef struct TrainArgs {
  const char *config, *experiment, *data, *val, *out;
  int64_t epochs;
  bool resume, overwrite, skip_bad, quiet;
} TrainArgs;

static int parse_args(int argc, char **argv, TrainArgs *a) {
  static const struct option opts[] = {
      {"experiment", required_argument, NULL, 'e'}, {"data", required_argument, NULL, 'd'},
      {"val", required_argument, NULL, 'v'},        {"epochs", required_argument, NULL, 'n'},
      {"out", required_argument, NULL, 'o'},        {"resume", no_argument, NULL, 'r'},
      {"overwrite", no_argument, NULL, 'w'},
      {"skip-bad-samples", no_argument, NULL, 's'}, {"quiet", no_argument, NULL, 'q'},
      {"help", no_argument, NULL, 'h'},             {0}};
  *a = (TrainArgs){.out = "runs"};
  int c;
  while ((c = cli_getopt(argc, argv, "h", opts, USAGE)) != -1) {
    switch (c) {
      case 'h': fputs(USAGE, stdout); return -1;
      case 'e': a->experiment = optarg; break;
      case 'd': a->data = optarg; break;
      case 'v': a->val = optarg; break;
      case 'o': a->out = optarg; break;
      case 'r': a->resume = true; break;
      case 'w': a->overwrite = true; break;
      case 's': a->skip_bad = true; break;
      case 'q': a->quiet = true; break;
      case 'n':
        if (!cli_parse_int("--epochs", optarg, 1, 100000, &a->epochs, USAGE)) return CLI_EXIT_USAGE;
        break;
      default: return CLI_EXIT_USAGE;
    }
  }
  if (optind != argc - 1) return cli_usage_error(USAGE, "expected one CONFIG file");
  a->config = argv[optind];
  if (a->val && !a->data) return cli_usage_error(USAGE, "--val goes with --data");
  if (a->resume && a->overwrite) return cli_usage_error(USAGE, "--resume and --overwrite exclude each other");
  return CLI_EXIT_OK;
}

int cmd_train(int argc, char **argv) {
  TrainArgs a;
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
  if (a.data) { /* the folders given replace the config's data, also in the settings recorded */
    e.data.synthetic = false;
    e.data.train = a.data;
    e.data.val = a.val;
  }
  RtDataset *train = NULL, *val = NULL;
  ExperimentData ed = {.skip_bad = a.skip_bad, .log = stdout};
  ModelBuild mb;
  bool ok = experiment_set_epochs(&e, (int)a.epochs, &d) && experiment_load_data(&e, &ed, &train, &val, &d);
  if (ok) {
    printf("charset (%d symbols): %s\n", train->charset.size, train->charset.utf8);
    printf("training %s: preset %s, %lld params, batch %d, %d epochs, %d train / %d validation samples\n",
           e.name, e.preset->name, (long long)e.preset->params, e.batch_size, e.epochs, train->count, val->count);
    ModelBuildOptions mo = {.log = stdout};
    ok = model_build(&e, &mo, &mb, &d);
  }
  rt_diags_print(&d, stderr);
  rt_diags_free(&d);
  if (ok) {
    char out_dir[4096];
    snprintf(out_dir, sizeof out_dir, "%s/%s", a.out, e.name);
    char *json = experiment_json(&e);
    RtTrainConfig tc = experiment_train_config(&e, out_dir, json);
    tc.resume = a.resume;
    tc.overwrite = a.overwrite;
    tc.charset = train->charset.utf8;
    tc.progress = a.quiet ? 1 : 2; /* a bar on a terminal, a line per quarter epoch in a log */
    RtTrainSummary s;
    ok = rt_train(&mb.model, &tc, train, val, &s, &d);
    rt_diags_print(&d, stderr);
    rt_diags_free(&d);
    if (ok) {
      rt_train_print_summary(e.name, &s, out_dir);
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

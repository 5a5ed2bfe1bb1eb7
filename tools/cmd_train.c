/* `smelt train CONFIG`: trains one experiment of a config, JIT-compiled for this machine, and
 * writes its checkpoints, metrics.jsonl, TensorBoard events and results.json into
 * OUT/<experiment>/. Started by mpirun (or srun), its processes train one model data-parallel
 * (runtime/rt_train_parallel.h; docs/distributed.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "driver/experiment.h"
#include "driver/model_build.h"
#include "runtime/rt_train_parallel.h"
#include "runtime/mpi/rt_mpi.h"
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
    "\n"
    "Under mpirun (mpirun -np N smelt train ...), the N processes train one model data-parallel:\n"
    "each computes the gradients of its share of every batch (batch_size / N samples; N must\n"
    "divide batch_size), the gradients are summed, and rank 0 validates and writes OUT.\n"
    "\n";

/* The options and their help are the built trainers' too (runtime/rt_train_cli.h). */
static int parse_args(int argc, char **argv, RtTrainArgs *a) {
  char usage[4096], options[2048];
  snprintf(usage, sizeof usage, "%s%s", SYNOPSIS, rt_train_options_help(true, "config's", options, sizeof options));
  RtTrainCli cli = {.prog = "smelt", .usage = usage, .with_config = true};
  return rt_train_args_parse(&cli, argc, argv, a);
}

/* Under MPI: refuses a batch that does not split evenly over the processes. */
static bool check_shards(const char *config, const FeExperiment *e, int shards, RtDiags *d) {
  if (e->batch_size % shards == 0) return true;
  rt_diag_error(d, config, 0, 0,
                "experiment '%s': batch_size %d does not split evenly over %d processes: run a number of "
                "processes that divides it, or change batch_size",
                e->name, e->batch_size, shards);
  return false;
}

static int train(const RtTrainArgs *a, RtComm *comm);

int cmd_train(int argc, char **argv) {
  RtTrainArgs a;
  int rc = parse_args(argc, argv, &a);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  if (!rt_mpi_launched()) return train(&a, NULL);
  RtComm comm;
  rt_mpi_start(&comm);
  rc = train(&a, &comm);
  rt_mpi_finish(&comm, rc == CLI_EXIT_OK);
  return rc;
}

/* Diagnostics so far: printed by rank 0 (or a process alone) as they come; other ranks keep
 * theirs for agree_to_start, as they would mostly repeat rank 0's. */
static void report(const RtComm *comm, RtDiags *d) {
  if (comm && comm->rank != 0) return;
  rt_diags_print(d, stderr);
  rt_diags_free(d);
}

/* Under MPI, whether every process is ready to train; a process other than rank 0 prints its
 * own diagnostics only when rank 0 was ready (data missing on its host, say). */
static bool agree_to_start(RtComm *comm, bool ok, RtDiags *d) {
  if (!comm) return ok;
  bool root_ok = ok;
  comm->broadcast(comm, &root_ok, sizeof root_ok);
  if (comm->rank == 0 || root_ok) rt_diags_print(d, stderr);
  rt_diags_free(d);
  ok = rt_parallel_agree(comm, ok, d);
  if (comm->rank == 0 || root_ok) rt_diags_print(d, stderr);
  rt_diags_free(d);
  return ok;
}

/* One process's part of the run (comm NULL: the whole of it). */
static int train(const RtTrainArgs *args, RtComm *comm) {
  RtTrainArgs a = *args;
  bool root = !comm || comm->rank == 0;
  int shards = comm ? comm->size : 1;
  FILE *log = root ? stdout : NULL;
  RtDiags d = {0};
  FeLoadOptions lo = {.skip_data_check = a.data != NULL};
  FeConfig *cfg = fe_config_load(a.config, &lo, &d);
  report(comm, &d);
  const FeExperiment *found = cfg ? experiment_pick(cfg, a.experiment, &d) : NULL;
  report(comm, &d);
  FeExperiment e = found ? *found : (FeExperiment){0};
  if (a.init) e.init = a.init; /* recorded with the settings, as the config's `init` would be */
  if (a.data) { /* the folders given replace the config's data, also in the settings recorded */
    e.data.synthetic = false;
    e.data.train = a.data;
    e.data.val = a.val;
  }
  RtDataset *train = NULL, *val = NULL;
  ExperimentData ed = {.skip_bad = a.skip_bad, .log = log};
  ModelBuild mb = {0};
  bool ok = found && check_shards(a.config, &e, shards, &d) && experiment_set_epochs(&e, a.epochs, &d) &&
            experiment_load_data(&e, &ed, &train, &val, &d);
  if (ok && root) {
    RtFreshConfig fresh = experiment_train_config(&e, NULL, NULL).fresh;
    rt_train_print_start(e.name, e.preset->name, (long long)e.preset->params, e.batch_size, e.epochs, train, val,
                         &fresh);
    rt_train_note_label_length(fe_preset_is_ctc(e.preset), !e.init && !a.resume, train, &fresh);
    if (shards > 1)
      printf("data-parallel over %d processes on %d host%s: %d samples of each batch of %d a process\n", shards,
             comm->hosts, comm->hosts == 1 ? "" : "s", e.batch_size / shards, e.batch_size);
  }
  if (ok) {
    ModelBuildOptions mo = {.log = log, .shards = shards};
    ok = model_build(&e, &mo, &mb, &d);
  }
  report(comm, &d);
  bool built = ok;
  ok = agree_to_start(comm, ok, &d);
  if (ok) {
    char out_dir[4096];
    char *json = experiment_json(&e);
    RtTrainConfig tc = experiment_train_config(&e, NULL, json);
    rt_train_args_apply(&a, e.name, out_dir, sizeof out_dir, &tc);
    tc.charset = val->charset.utf8; /* the training set's (fresh data: the generator's) */
    tc.comm = shards > 1 ? comm : NULL;
    if (!root) tc.progress = 0;
    RtTrainSummary s;
    ok = rt_train(&mb.model, &tc, train, val, &s, &d);
    rt_diags_print(&d, stderr);
    rt_diags_free(&d);
    if (ok && root) {
      rt_train_print_summary(e.name, &s, out_dir);
      if (s.best_epoch > 0)
        printf("deploy the best model: smelt emit %s/best.safetensors -o deploy/%s\n", out_dir, e.name);
    }
    if (ok && s.status == RT_RUN_DIVERGED) { /* every process saw the same loss */
      ok = false;
      if (comm) comm->failed_together = true;
    }
    free(json);
  }
  if (built) model_build_free(&mb);
  rt_dataset_free(train);
  rt_dataset_free(val);
  fe_config_free(cfg);
  return ok ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

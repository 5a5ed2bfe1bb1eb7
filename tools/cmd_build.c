/* `smelt build CONFIG -o PATH`: a standalone trainer for one experiment. The training step and
 * the evaluation graph go through the driver as `smelt train`'s do, into one object file,
 * linked with a generated C file of tables (driver/aot_trainer.c) and the runtime libraries by the
 * system C compiler. The executable needs no LLVM and, given the same
 * seed, data and thread count, ends with the same metrics as `smelt train`. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "codegen/cg_cache.h"
#include "driver/aot.h"
#include "driver/experiment.h"
#include "driver/model_build.h"
#include "runtime/rt_pool.h"
#include "runtime/rt_progress.h"
#include "support/rt_fs.h"
#include "support/rt_install.h"
#include "tools/cli.h"
#include "tools/commands.h"

/* Set by CMakeLists.txt: the runtime and support libraries a trainer links, and the folder of
 * their headers, in the build and source trees (an installed smelt links its installed ones:
 * support/rt_install.h). */
#if !defined(SMELT_RUNTIME_LIB) || !defined(SMELT_SUPPORT_LIB) || !defined(SMELT_RUNTIME_INCLUDE)
#error "SMELT_RUNTIME_LIB, SMELT_SUPPORT_LIB (paths of libsmelt_runtime.a, libsmelt_support.a) and SMELT_RUNTIME_INCLUDE must be defined by the build"
#endif

static const char USAGE[] =
    "usage: smelt build CONFIG [--experiment NAME] -o PATH [--cpu NAME] [--threads N] [--mpi N]\n"
    "\n"
    "Compiles one experiment of CONFIG (the only one, or the one named) into a standalone\n"
    "trainer executable: its training step and evaluation graph as machine code, linked with\n"
    "smelt's runtime by the system C compiler ($CC, default cc). The trainer takes the same\n"
    "data, epochs, output and resume options as `smelt train` and needs no LLVM; run\n"
    "`PATH --help` to see them and what it was built from.\n"
    "\n"
    "options:\n"
    "  --experiment NAME  the experiment to build (required when CONFIG has several)\n"
    "  -o, --out PATH     the executable to write\n"
    "  --cpu NAME         compile for this LLVM CPU (e.g. x86-64-v3) instead of this machine's\n"
    "  --threads N        most threads the trainer will use (default: this machine's, or\n"
    "                     $SMELT_THREADS); kernel workspaces are sized for them\n"
    "  --mpi N            a data-parallel trainer for N processes (mpirun -np N PATH): each computes\n"
    "                     the gradients of batch_size / N samples of every batch; links Open MPI\n"
    "  -h, --help         show this help\n";

typedef struct BuildArgs {
  const char *config, *experiment, *out, *cpu;
  int64_t threads, processes;
} BuildArgs;

static int parse_args(int argc, char **argv, BuildArgs *a) {
  static const struct option opts[] = {{"experiment", required_argument, NULL, 'e'}, {"out", required_argument, NULL, 'o'},
                                       {"cpu", required_argument, NULL, 'c'},        {"threads", required_argument, NULL, 't'},
                                       {"mpi", required_argument, NULL, 'm'},        {"help", no_argument, NULL, 'h'},
                                       {0}};
  *a = (BuildArgs){0};
  int c;
  while ((c = cli_getopt(argc, argv, "ho:", opts, USAGE)) != -1) {
    switch (c) {
      case 'h': fputs(USAGE, stdout); return -1;
      case 'e': a->experiment = optarg; break;
      case 'o': a->out = optarg; break;
      case 'c': a->cpu = optarg; break;
      case 't':
        if (!cli_parse_int("--threads", optarg, 1, RT_POOL_MAX_THREADS, &a->threads, USAGE)) return CLI_EXIT_USAGE;
        break;
      case 'm':
        if (!cli_parse_int("--mpi", optarg, 1, 1 << 20, &a->processes, USAGE)) return CLI_EXIT_USAGE;
        break;
      default: return CLI_EXIT_USAGE;
    }
  }
  if (optind != argc - 1) return cli_usage_error(USAGE, "expected one CONFIG file");
  a->config = argv[optind];
  if (!a->out) return cli_usage_error(USAGE, "missing -o PATH");
  return CLI_EXIT_OK;
}

/* The object file: the steps in one program of the driver, planned as model_build plans them
 * (the eval step shares the training step's state layout), compiled for threads: the training
 * step and the evaluation, or for N processes the training step's two phases at batch_size / N
 * and the evaluation. */
static DrvProgram *compile_steps(const FeExperiment *experiment, const BuildArgs *a, int workers, const char *obj_path,
                                 ModelBuild *mb, RtDiags *d) {
  int shards = a->processes > 1 ? (int)a->processes : 1;
  FeExperiment local = *experiment;
  local.batch_size /= shards;
  const FeExperiment *e = &local;
  const FePreset *p = e->preset;
  DrvInput in[3] = {model_input(e, FE_GRAPH_TRAIN, "smelt_train_step"), model_input(e, FE_GRAPH_EVAL, "smelt_eval_step")};
  int n = 2;
  if (shards > 1) {
    in[0].phase = DRV_PHASE_GRADIENTS;
    in[0].sync_processes = e->sync_batchnorm ? shards : 0;
    in[2] = in[1];
    in[1] = model_input(e, FE_GRAPH_TRAIN, "smelt_update_step");
    in[1].phase = DRV_PHASE_UPDATE;
    n = 3;
  }
  /* one program for the steps: with precision bf16 the evaluation's products are bf16 ones too */
  DrvOptions opt = {.optimizer = model_optimizer(e), .workers = workers, .cpu = a->cpu,
                    .no_cache = true, .module = "trainer", .bf16 = e->precision == RT_PRECISION_BF16};
  DrvProgram *prog = drv_program_new(in, n, &opt);
  bool ok = drv_run(prog, DRV_STAGE_PLANNED, d);
  const DrvUnit *train = &prog->units[0], *eval = &prog->units[n - 1];
  if (ok) model_describe(p, e->batch_size, train->graph, train->plan, &train->training, eval->graph, eval->plan, mb);
  if (ok && shards > 1) model_describe_update(train->graph, train->plan, prog->units[1].graph, prog->units[1].plan, mb);
  uint8_t *text = NULL;
  size_t len;
  ok = ok && rt_fs_read_file(p->path, &text, &len, d);
  mb->model.preset_text = (const char *)text;
  ok = ok && drv_run(prog, DRV_STAGE_OBJECT, d) && rt_fs_write_atomic(obj_path, prog->object, prog->object_len, d);
  if (ok)
    printf("compiled %s (batch %d%s) for %s: training step %d kernels%s, evaluation %d kernels, %d unique, %.1f KiB\n",
           p->name, e->batch_size, shards > 1 ? " a process" : "", prog->target->cpu,
           train->n_kernels + (shards > 1 ? prog->units[1].n_kernels : 0), shards > 1 ? " in two phases" : "",
           eval->n_kernels, train->n_unique + eval->n_unique + (shards > 1 ? prog->units[1].n_unique : 0),
           prog->object_len / 1024.0);
  if (ok) return prog;
  drv_program_free(prog);
  return NULL;
}

/* The runtime and support libraries a trainer links and the folder of their headers: those
 * installed beside this smelt (PREFIX/lib/smelt, PREFIX/include/smelt), else the build and source
 * trees it was built in. Each path is PATH_MAX bytes. */
static void runtime_paths(char *lib, char *support, char *include) {
  if (rt_install_path(RT_INSTALL_RUNTIME_LIB, lib, PATH_MAX) && rt_install_path(RT_INSTALL_SUPPORT_LIB, support, PATH_MAX) &&
      rt_install_path(RT_INSTALL_INCLUDE, include, PATH_MAX))
    return;
  snprintf(lib, PATH_MAX, "%s", SMELT_RUNTIME_LIB);
  snprintf(support, PATH_MAX, "%s", SMELT_SUPPORT_LIB);
  snprintf(include, PATH_MAX, "%s", SMELT_RUNTIME_INCLUDE);
}

/* libsmelt_mpi.a for a data-parallel trainer: installed beside this smelt, else the build tree's. */
static void mpi_lib_path(char *lib) {
  if (!rt_install_path(RT_INSTALL_MPI_LIB, lib, PATH_MAX)) snprintf(lib, PATH_MAX, "%s", SMELT_MPI_LIB);
}

/* The generated C file, compiled and linked with the object and the runtime. */
static bool link_trainer(const char *dir, const char *obj, const AotTrainer *t, const char *out, RtDiags *d) {
  char src[4200];
  snprintf(src, sizeof src, "%s/trainer.c", dir);
  FILE *f = fopen(src, "w");
  if (!f) {
    rt_diag_error(d, src, 0, 0, "cannot write the trainer's C file");
    return false;
  }
  aot_trainer_source(f, t);
  if (fclose(f) != 0) {
    rt_diag_error(d, src, 0, 0, "cannot write the trainer's C file");
    return false;
  }
  char lib[PATH_MAX], support[PATH_MAX], include[PATH_MAX], mpi[PATH_MAX];
  runtime_paths(lib, support, include);
  mpi_lib_path(mpi);
  const char *argv[32];
  int n = 0;
  for (const char *const *a = (const char *const[]){aot_cc(), "-std=c17", "-O2", "-I", include, "-o", out, src, obj, NULL};
       *a; a++)
    argv[n++] = *a;
  if (t->update_step) argv[n++] = mpi; /* data-parallel: RtComm over MPI, before the runtime it uses */
  for (const char *const *a = (const char *const[]){lib, support, "-lopenblas", "-lcjson", "-lfreetype", "-lz", "-lm",
                                                    "-lpthread", NULL};
       *a; a++)
    argv[n++] = *a;
  if (t->update_step) argv[n++] = SMELT_MPI_LINK;
#ifdef SMELT_AOT_SANITIZE /* the runtime library was built with the sanitizers */
  argv[n++] = "-fsanitize=address,undefined";
#endif
  argv[n] = NULL;
  return aot_run(argv, d);
}

static bool build(const FeExperiment *e, const BuildArgs *a, const char *config_path, RtDiags *d) {
  double t0 = rt_now_seconds();
  int workers = a->threads ? (int)a->threads : rt_pool_threads();
  char dir[4096];
  if (!aot_temp_dir(dir, sizeof dir, d)) return false;
  char obj[4200];
  snprintf(obj, sizeof obj, "%s/model.o", dir);
  ModelBuild mb;
  memset(&mb, 0, sizeof mb);
  DrvProgram *prog = compile_steps(e, a, workers, obj, &mb, d);
  bool ok = prog != NULL;
  if (ok) {
    const CgTarget *t = prog->target;
    char *json = experiment_json(e);
    char built_from[16384];
    snprintf(built_from, sizeof built_from,
             "built from: preset %s (%s)\n"
             "            config %s, experiment %s, settings hash %016llx\n"
             "            for CPU %s, up to %d threads, by smelt %s\n",
             e->preset->name, e->preset->path, config_path, e->name,
             (unsigned long long)cg_hash_xxh64(json, strlen(json), 0), t->description, workers, SMELT_VERSION);
    AotTrainer at = {.model = &mb.model, .config_json = json, .max_threads = workers,
                     .built_from = built_from, .train_step = "smelt_train_step", .eval_step = "smelt_eval_step",
                     .update_step = a->processes > 1 ? "smelt_update_step" : NULL, .processes = (int)a->processes};
    ok = link_trainer(dir, obj, &at, a->out, d);
    free(json);
  }
  if (ok) {
    struct stat st;
    long size = stat(a->out, &st) == 0 ? (long)st.st_size : 0;
    printf("built %s (%.1f MiB) in %.1f s: run `%s --help`\n", a->out, size / 1048576.0, rt_now_seconds() - t0, a->out);
  }
  aot_remove_dir(dir);
  model_build_free(&mb);
  drv_program_free(prog);
  return ok;
}

int cmd_build(int argc, char **argv) {
  BuildArgs a;
  int rc = parse_args(argc, argv, &a);
  if (rc) return rc < 0 ? CLI_EXIT_OK : rc;
  RtDiags d = {0};
  FeLoadOptions lo = {.skip_data_check = true}; /* data is read by the trainer, maybe elsewhere */
  FeConfig *cfg = fe_config_load(a.config, &lo, &d);
  const FeExperiment *e = cfg ? experiment_pick(cfg, a.experiment, &d) : NULL;
  if (e && a.processes > 1 && e->batch_size % a.processes) {
    rt_diag_error(&d, a.config, 0, 0,
                  "experiment '%s': batch_size %d does not split evenly over --mpi %lld processes: choose a number "
                  "of processes that divides it",
                  e->name, e->batch_size, (long long)a.processes);
    e = NULL;
  }
  char config_path[PATH_MAX];
  bool ok = e && build(e, &a, realpath(a.config, config_path) ? config_path : a.config, &d);
  rt_diags_print(&d, stderr);
  rt_diags_free(&d);
  fe_config_free(cfg);
  return ok ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

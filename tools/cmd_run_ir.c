/* `smelt run-ir FILE.ir`: evaluates an IR program with the reference interpreter on seeded
 * inputs and prints its outputs; `--grad-check` checks its gradients against finite
 * differences; `--train N` turns it into a training step (autodiff + optimizer) and runs N steps
 * on one fixed seeded batch, printing the loss as it falls. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "driver/drv_compare.h"
#include "driver/drv_pipeline.h"
#include "driver/experiment.h"
#include "ir/ir_interp.h"
#include "ir/ir_text.h"
#include "passes/grad_check.h"
#include "passes/train_graph.h"
#include "runtime/rt_settings.h"
#include "tools/cli.h"
#include "tools/commands.h"

static const char USAGE[] =
    "usage: smelt run-ir FILE.ir [--seed N] [--backend interp|jit] [--compare [--grad]]\n"
    "                            [--grad-check | --train STEPS [--lr X] [--optimizer NAME]]\n"
    "\n"
    "Runs an IR program with the reference interpreter on deterministic random inputs\n"
    "(each input's init says what it is fed) and prints every output's shape, a checksum\n"
    "and its first values.\n"
    "\n"
    "options:\n"
    "  --seed N          seed for inputs and parameter initialisation (default 1)\n"
    "  --backend NAME    interp (the reference interpreter, default) or jit (compiled\n"
    "                    with LLVM for this CPU)\n"
    "  --compare         run both backends on the same inputs and print the largest\n"
    "                    absolute and relative error per output; exit 1 beyond tolerance\n"
    "  --grad            with --compare: compare one training step (Adam) instead:\n"
    "                    loss, outputs and every updated param and optimizer state\n"
    "  --grad-check      compare the gradients of output 0 (a scalar loss) w.r.t. every\n"
    "                    param with central finite differences; exit 1 on a mismatch\n"
    "  --train STEPS     build the training step (gradients + optimizer update) and run it\n"
    "                    STEPS times on one fixed batch, printing the loss\n"
    "  --lr X            learning rate for --train (default 0.01)\n"
    "  --optimizer NAME  adam (default), adamw or sgd, for --train\n"
    "  -h, --help        show this help\n";

/* Order-sensitive checksum: sum of x[i] * (1 + i % 7), so permutations change it too. */
static double checksum(const IrTensor *t) {
  int64_t n = ir_shape_numel(&t->type.shape);
  double s = 0;
  for (int64_t i = 0; i < n; i++) s += t->data[i] * (double)(1 + i % 7);
  return s;
}

static void print_outputs(const IrGraph *g, IrInterp *it) {
  for (int i = 0; i < g->n_outputs; i++) {
    IrId id = g->outputs[i];
    const IrTensor *t = ir_interp_value(it, id);
    char label[128], type[96];
    int64_t n = ir_shape_numel(&t->type.shape);
    printf("output %d %s %s checksum %.9g first", i, ir_node_label(g, id, label, sizeof label),
           ir_type_str(&t->type, type, sizeof type), checksum(t));
    for (int64_t k = 0; k < n && k < 8; k++) printf(" %.7g", t->data[k]);
    printf(n > 8 ? " ...\n" : "\n");
  }
}

static int run_once(IrGraph *g, uint64_t seed) {
  IrInterp *it = ir_interp_new(g);
  ir_interp_init_leaves(it, seed);
  ir_interp_run(it, NULL);
  print_outputs(g, it);
  ir_interp_free(it);
  return CLI_EXIT_OK;
}

/* g made the training step with optimizer opt, in place, by the driver's GRAD stage (which
 * says when output 0 is missing); *tr gets the step's scalar inputs. */
static bool training_graph(IrGraph *g, const PassOptimizer *opt, PassTraining *tr, RtDiags *d) {
  DrvInput in = {.graph = g, .done = DRV_STAGE_BUILT, .train = true};
  DrvProgram *p = drv_program_new(&in, 1, &(DrvOptions){.optimizer = *opt});
  bool ok = drv_run(p, DRV_STAGE_GRAD, d);
  *tr = p->units[0].training;
  drv_program_free(p);
  return ok;
}

/* The training step of g (Adam), for comparing whole steps; eps is raised to 1e-3 so that
 * Adam's m / sqrt(v) is well-conditioned where a gradient is ~0 (there f32 and double could
 * disagree in sign, which says nothing about the backend). */
static bool make_training_step(IrGraph *g, const char *file) {
  for (int u = 0; u < g->n_updates; u++)
    if (ir_node(g, g->updates[u].target)->kind == IR_NODE_PARAM) {
      printf("%s already updates its params: comparing it as written\n", file);
      return true;
    }
  RtDiags d = {0};
  PassOptimizer opt = {.kind = PASS_OPT_ADAM};
  PassTraining tr;
  bool ok = training_graph(g, &opt, &tr, &d);
  rt_diags_set_file(&d, 0, file);
  rt_diags_print(&d, stderr);
  rt_diags_free(&d);
  if (ok && tr.eps != IR_NONE) ir_node(g, tr.eps)->value = 1e-3;
  return ok;
}

static int run_jit(IrGraph *g, uint64_t seed) {
  RtDiags d = {0};
  DrvCompareOptions o = {.atol = INFINITY, .rtol = 0, .steps = 1};
  CgCompareResult r;
  bool ok = drv_compare(g, seed, &o, &r, NULL, &d);
  rt_diags_print(&d, stderr);
  rt_diags_free(&d);
  if (!ok) return CLI_EXIT_FAIL;
  printf("compiled %d kernels (%d unique)\n", r.n_kernels, r.n_unique);
  return CLI_EXIT_OK;
}

static int compare(IrGraph *g, const char *file, uint64_t seed) {
  RtDiags d = {0};
  DrvCompareOptions o = {.atol = CG_COMPARE_ATOL, .rtol = CG_COMPARE_RTOL, .steps = 1};
  CgCompareResult r;
  bool ok = drv_compare(g, seed, &o, &r, stdout, &d);
  rt_diags_set_file(&d, 0, file);
  rt_diags_print(&d, stderr);
  rt_diags_free(&d);
  printf("compare %s: %d tensors, %d kernels (%d unique), max abs err %.3g, max rel err %.3g: %s\n", file,
         r.tensors, r.n_kernels, r.n_unique, r.max_abs, r.max_rel, ok ? "ok" : "FAILED");
  return ok ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

static bool parse_optimizer(const char *name, PassOptimizer *opt) {
  int k = rt_settings_name_index(name, RT_OPTIMIZER_NAMES, RT_OPT_COUNT);
  if (k < 0) return false;
  *opt = drv_optimizer(&(FeOptimizer){.kind = (FeOptimizerKind)k}, false);
  return true;
}

static void set_scalar(IrInterp *it, IrId id, double v) {
  if (id != IR_NONE) ir_interp_value(it, id)->data[0] = v;
}

static int train(IrGraph *g, const char *file, uint64_t seed, int64_t steps, double lr,
                 const PassOptimizer *opt) {
  RtDiags d = {0};
  PassTraining tr;
  bool ok = training_graph(g, opt, &tr, &d);
  rt_diags_set_file(&d, 0, file);
  if (!ok) {
    rt_diags_print(&d, stderr);
    rt_diags_free(&d);
    return CLI_EXIT_FAIL;
  }
  rt_diags_print(&d, stderr); /* warnings, e.g. params the loss does not use */
  rt_diags_free(&d);
  IrInterp *it = ir_interp_new(g);
  ir_interp_init_leaves(it, seed);
  set_scalar(it, tr.lr, lr);
  printf("training graph '%s': %d params, %d nodes; %lld steps on one batch\n", g->name,
         tr.n_params, g->n_nodes, (long long)steps);
  double first = 0, last = 0;
  int every = steps > 20 ? (int)(steps / 10) : 1;
  for (int64_t t = 1; t <= steps; t++) {
    set_scalar(it, tr.step, (double)t);
    ir_interp_run(it, NULL);
    last = ir_interp_value(it, g->outputs[0])->data[0];
    if (t == 1) first = last;
    if (!isfinite(last)) {
      printf("step %lld: loss %g: diverged\n", (long long)t, last);
      ir_interp_free(it);
      return CLI_EXIT_FAIL;
    }
    if (t == 1 || t == steps || t % every == 0) printf("step %4lld  loss %.6f\n", (long long)t, last);
    ir_interp_apply_updates(it);
  }
  printf("loss %.6f -> %.6f (%s)\n", first, last, last < first ? "learning" : "not decreasing");
  ir_interp_free(it);
  return CLI_EXIT_OK;
}

int cmd_run_ir(int argc, char **argv) {
  static const struct option opts[] = {
      {"seed", required_argument, NULL, 's'},  {"grad-check", no_argument, NULL, 'g'},
      {"train", required_argument, NULL, 't'}, {"lr", required_argument, NULL, 'l'},
      {"optimizer", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'},
      {"backend", required_argument, NULL, 'b'}, {"compare", no_argument, NULL, 'c'},
      {"grad", no_argument, NULL, 'G'}, {0}};
  bool jit = false, cmp = false, grad = false;
  int64_t seed = 1, steps = 0;
  double lr = 0.01;
  bool grad_check = false;
  PassOptimizer opt = {.kind = PASS_OPT_ADAM};
  int c;
  while ((c = cli_getopt(argc, argv, "h", opts, USAGE)) != -1) {
    switch (c) {
      case 'h': fputs(USAGE, stdout); return CLI_EXIT_OK;
      case 's': if (!cli_parse_int("--seed", optarg, 0, INT64_MAX, &seed, USAGE)) return CLI_EXIT_USAGE; break;
      case 'g': grad_check = true; break;
      case 'c': cmp = true; break;
      case 'G': grad = true; break;
      case 'b':
        if (strcmp(optarg, "interp") && strcmp(optarg, "jit"))
          return cli_usage_error(USAGE, "unknown backend '%s' (interp or jit)", optarg);
        jit = !strcmp(optarg, "jit");
        break;
      case 't': if (!cli_parse_int("--train", optarg, 1, 1000000, &steps, USAGE)) return CLI_EXIT_USAGE; break;
      case 'l': if (!cli_parse_double("--lr", optarg, &lr, USAGE)) return CLI_EXIT_USAGE; break;
      case 'o':
        if (!parse_optimizer(optarg, &opt))
          return cli_usage_error(USAGE, "unknown optimizer '%s' (adam, adamw or sgd)", optarg);
        break;
      default: return CLI_EXIT_USAGE;
    }
  }
  if (optind != argc - 1) return cli_usage_error(USAGE, "expected one IR file");
  if (grad_check + (steps > 0) + cmp > 1)
    return cli_usage_error(USAGE, "choose one of --grad-check, --train and --compare");
  if (grad && !cmp) return cli_usage_error(USAGE, "--grad goes with --compare");
  if (jit && (steps || grad_check)) return cli_usage_error(USAGE, "--backend jit runs the program once");
  RtDiags d = {0};
  IrGraph *g = ir_parse_file(argv[optind], &d);
  rt_diags_print(&d, stderr);
  rt_diags_free(&d);
  if (!g) return CLI_EXIT_FAIL;
  int rc;
  if (grad_check) {
    PassGradCheckOptions gco = {.file = argv[optind]};
    rc = pass_grad_check(g, (uint64_t)seed, &gco, stdout) ? CLI_EXIT_OK : CLI_EXIT_FAIL;
    printf("grad-check %s: %s\n", argv[optind], rc == CLI_EXIT_OK ? "ok" : "FAILED");
  } else if (cmp) {
    rc = grad && !make_training_step(g, argv[optind]) ? CLI_EXIT_FAIL : compare(g, argv[optind], (uint64_t)seed);
  } else if (jit) {
    rc = run_jit(g, (uint64_t)seed);
  } else if (steps) {
    rc = train(g, argv[optind], (uint64_t)seed, steps, lr, &opt);
  } else {
    rc = run_once(g, (uint64_t)seed);
  }
  ir_graph_free(g);
  return rc;
}

/* `smelt ir FILE.ir`: a program at a stage of the compiler driver (driver/drv_pipeline.h): as
 * built (parsed), its training graph (autodiff + optimizer), simplified, fused into kernels, or
 * planned into memory regions; `--stats` prints the figures of the compiled form (ops, kernels,
 * memory). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver/drv_pipeline.h"
#include "driver/experiment.h"
#include "ir/ir_text.h"
#include "runtime/rt_settings.h"
#include "tools/cli.h"
#include "ir/ir_ops.h"
#include "tools/commands.h"

static const char USAGE[] =
    "usage: smelt ir PRESET|FILE.ir [--graph train|eval|infer] [--stage STAGE] [--stats]\n"
    "                               [--batch N] [--explain-fusion] [--optimizer NAME] [--clip] [--grad]\n"
    "                               [--int8]\n"
    "\n"
    "Prints a preset's lowered graph, or an IR program, at a stage of the compiler.\n"
    "\n"
    "options:\n"
    "  --graph KIND      infer (default): a preset's inference graph, or the program as\n"
    "                    written; train: the training step, output 0 (a scalar loss)\n"
    "                    differentiated w.r.t. every param, then the optimizer update;\n"
    "                    eval: a preset's evaluation graph (loss and greedy predictions)\n"
    "  --batch N         batch size of a preset's graphs (default 32)\n"
    "  --stage STAGE     built (as parsed, default), grad (the training graph, implies\n"
    "                    --graph train), simplified, fused (the kernels) or planned (memory)\n"
    "  --grad            short for --graph train --stage grad\n"
    "  --stats           print instead: ops, kernels, unique_kernels, naive_bytes,\n"
    "                    lower_bound_bytes, arena_bytes, updates, updates_in_place and\n"
    "                    update_copies (memory copies after the kernels) of the compiled form,\n"
    "                    and its matrix-product kernels: int8_gemm_kernels, fp32_gemm_kernels\n"
    "  --int8            a preset's eval or infer graph with int8 products, as a checkpoint\n"
    "                    made by smelt quantize runs it (docs/quantization.md)\n"
    "  --explain-fusion  say why each producer that was not fused into its consumer was not\n"
    "  --optimizer NAME  adam (default), adamw or sgd, for the training graph\n"
    "  --clip            include global-norm gradient clipping in the training graph\n"
    "  -h, --help        show this help\n";

/* The driver's stages up to PLANNED, and "fused": the planned program's kernels alone. */
#define STAGE_FUSED DRV_STAGE_COUNT

static int parse_stage(const char *name) {
  if (!strcmp(name, "fused")) return STAGE_FUSED;
  DrvStage s = drv_stage_parse(name);
  return s <= DRV_STAGE_PLANNED ? (int)s : DRV_STAGE_NONE;
}

static int64_t count_ops(const IrGraph *g) {
  int64_t n = 0;
  for (IrId i = 0; i < g->n_nodes; i++) n += g->nodes[i]->kind == IR_NODE_OP;
  return n;
}

/* naive: every op value in its own buffer (what an unfused, unplanned executor allocates) */
static int64_t naive_bytes(const IrGraph *g) {
  int64_t n = 0;
  for (IrId i = 0; i < g->n_nodes; i++)
    if (g->nodes[i]->kind == IR_NODE_OP) n += pass_value_bytes(g, i);
  return n;
}

static void print_stats(const IrGraph *g, const PassPlan *plan, FILE *out) {
  fprintf(out, "ops: %lld\n", (long long)count_ops(g));
  fprintf(out, "kernels: %d\n", plan->fusion->n_kernels);
  fprintf(out, "unique_kernels: %d\n", cg_program_count_unique(plan));
  fprintf(out, "naive_bytes: %lld\n", (long long)naive_bytes(g));
  fprintf(out, "lower_bound_bytes: %lld\n", (long long)plan->scratch.lower_bound_bytes);
  fprintf(out, "arena_bytes: %lld\n", (long long)plan->scratch.arena_bytes);
  int in_place = 0;
  for (int u = 0; u < g->n_updates; u++) {
    PassSlot t = plan->slots[g->updates[u].target], v = plan->slots[g->updates[u].value];
    in_place += t.region == v.region && t.offset == v.offset;
  }
  fprintf(out, "updates: %d\n", g->n_updates);
  fprintf(out, "updates_in_place: %d\n", in_place);
  fprintf(out, "update_copies: %d\n", plan->n_copies);
  int gemm[2] = {0, 0}; /* fp32, int8 */
  for (int k = 0; k < plan->fusion->n_kernels; k++) {
    const IrNode *n = g->nodes[plan->fusion->kernels[k].ops[0]];
    if (ir_op_info[n->op].fusion == IR_FUSE_GEMM) gemm[ir_type_of(g, n->in[0])->dtype == IR_I8]++;
  }
  fprintf(out, "int8_gemm_kernels: %d\n", gemm[1]);
  fprintf(out, "fp32_gemm_kernels: %d\n", gemm[0]);
}

/* The driver's input: a preset's graph at `batch` (training forward pass and loss with the loss
 * the head takes by default, evaluation, or inference), or an IR file (trained when `train`).
 * False with a diagnostic for an unknown preset. */
static bool ir_input(const char *ref, bool is_ir, bool train, bool eval, bool int8, int batch, DrvInput *in,
                     RtDiags *d) {
  if (is_ir) {
    *in = (DrvInput){.ir_path = ref, .train = train};
    return true;
  }
  char *dir = fe_presets_default_dir();
  FePreset *p = fe_preset_resolve(ref, dir, (FeLoc){0}, d);
  free(dir);
  if (!p) return false;
  FeLossKind loss = fe_preset_is_ctc(p) ? FE_LOSS_CTC : FE_LOSS_CROSS_ENTROPY;
  *in = (DrvInput){.preset = p, .kind = train ? FE_GRAPH_TRAIN : eval ? FE_GRAPH_EVAL : FE_GRAPH_INFER,
                   .batch = batch, .loss = loss, .quant = int8 ? FE_QUANT_INT8 : FE_QUANT_NONE};
  return true;
}

static void print_stage(const DrvProgram *p, int stage, bool stats) {
  const DrvUnit *u = &p->units[0];
  if (stats) print_stats(u->graph, u->plan, stdout);
  else if (stage <= DRV_STAGE_SIMPLIFIED) ir_print(u->graph, stdout);
  else if (stage == STAGE_FUSED) pass_fusion_print(u->plan->fusion, stdout);
  else pass_plan_print(u->plan, stdout);
}

int cmd_ir(int argc, char **argv) {
  static const struct option opts[] = {{"grad", no_argument, NULL, 'g'},
                                        {"graph", required_argument, NULL, 'G'},
                                        {"stage", required_argument, NULL, 's'},
                                        {"stats", no_argument, NULL, 'S'}, {"int8", no_argument, NULL, 'I'},
                                        {"explain-fusion", no_argument, NULL, 'e'},
                                        {"optimizer", required_argument, NULL, 'o'},
                                        {"clip", no_argument, NULL, 'c'},
                                        {"batch", required_argument, NULL, 'b'},
                                        {"help", no_argument, NULL, 'h'},
                                        {0}};
  bool train = false, eval = false, stats = false, explain = false, int8 = false;
  int64_t batch = 32;
  int stage = DRV_STAGE_BUILT;
  PassOptimizer opt = {.kind = PASS_OPT_ADAM};
  int c;
  while ((c = cli_getopt(argc, argv, "h", opts, USAGE)) != -1) {
    switch (c) {
      case 'h': fputs(USAGE, stdout); return CLI_EXIT_OK;
      case 'g': train = true, stage = DRV_STAGE_GRAD; break;
      case 'G':
        if (strcmp(optarg, "train") && strcmp(optarg, "infer") && strcmp(optarg, "eval"))
          return cli_usage_error(USAGE, "unknown graph '%s' (train, eval or infer)", optarg);
        train = !strcmp(optarg, "train");
        eval = !strcmp(optarg, "eval");
        break;
      case 'b':
        if (!cli_parse_int("--batch", optarg, 1, 65536, &batch, USAGE)) return CLI_EXIT_USAGE;
        break;
      case 's':
        if ((stage = parse_stage(optarg)) == DRV_STAGE_NONE)
          return cli_usage_error(USAGE, "unknown stage '%s' (built, grad, simplified, fused, planned)", optarg);
        if (stage == DRV_STAGE_GRAD) train = true;
        break;
      case 'S': stats = true; break;
      case 'I': int8 = true; break;
      case 'e': explain = true; break;
      case 'c': opt.clip_grad_norm = true; break;
      case 'o': {
        int k = rt_settings_name_index(optarg, RT_OPTIMIZER_NAMES, RT_OPT_COUNT);
        if (k < 0) return cli_usage_error(USAGE, "unknown optimizer '%s' (adam, adamw or sgd)", optarg);
        opt = drv_optimizer(&(FeOptimizer){.kind = (FeOptimizerKind)k}, false);
        break;
      }
      default: return CLI_EXIT_USAGE;
    }
  }
  if (optind != argc - 1) return cli_usage_error(USAGE, "expected a preset or an IR file");
  const char *file = argv[optind];
  RtDiags d = {0};
  size_t len = strlen(file);
  bool is_ir = len > 3 && !strcmp(file + len - 3, ".ir");
  if (!is_ir && eval && stage == DRV_STAGE_GRAD) return cli_usage_error(USAGE, "--stage grad needs --graph train");
  DrvInput in = {0};
  DrvProgram *p = NULL;
  DrvOptions o = {.optimizer = opt, .explain = explain ? stdout : NULL};
  /* a training graph is always shown with its gradients; --stats describes the planned form */
  DrvStage stop = stats ? DRV_STAGE_PLANNED : stage == STAGE_FUSED ? DRV_STAGE_PLANNED : (DrvStage)stage;
  if (train && stop < DRV_STAGE_GRAD) stop = DRV_STAGE_GRAD;
  if (int8 && (is_ir || train)) return cli_usage_error(USAGE, "--int8 takes a preset's eval or infer graph");
  bool ok = ir_input(file, is_ir, train, eval, int8, (int)batch, &in, &d);
  if (ok) {
    p = drv_program_new(&in, 1, &o);
    ok = drv_run(p, stop < DRV_STAGE_GRAD ? stop : DRV_STAGE_GRAD, &d);
  }
  rt_diags_set_file(&d, 0, file);
  rt_diags_print(&d, stderr);
  ok = ok && !d.errors && drv_run(p, stop, &d);
  rt_diags_free(&d);
  if (ok) print_stage(p, stage, stats);
  drv_program_free(p);
  if (in.preset) fe_preset_free((FePreset *)in.preset);
  return ok ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

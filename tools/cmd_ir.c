/* `smelt ir FILE.ir`: a program at any stage of the compiler: as built (parsed), its training
 * graph (autodiff + optimizer), simplified, fused into kernels, or planned into memory regions;
 * `--stats` prints the figures of the compiled form (ops, kernels, memory). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/cg_program.h"
#include "frontend/fe_lower.h"
#include "ir/ir_text.h"
#include "passes/simplify.h"
#include "passes/train_graph.h"
#include "runtime/rt_pool.h"
#include "runtime/rt_settings.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/experiment.h"

static const char USAGE[] =
    "usage: smelt ir PRESET|FILE.ir [--graph train|eval|infer] [--stage STAGE] [--stats]\n"
    "                               [--batch N] [--explain-fusion] [--optimizer NAME] [--clip] [--grad]\n"
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
    "                    update_copies (memory copies after the kernels) of the compiled form\n"
    "  --explain-fusion  say why each producer that was not fused into its consumer was not\n"
    "  --optimizer NAME  adam (default), adamw or sgd, for the training graph\n"
    "  --clip            include global-norm gradient clipping in the training graph\n"
    "  -h, --help        show this help\n";

enum Stage { STAGE_BUILT, STAGE_GRAD, STAGE_SIMPLIFIED, STAGE_FUSED, STAGE_PLANNED, STAGE_COUNT };
static const char *const STAGES[STAGE_COUNT] = {"built", "grad", "simplified", "fused", "planned"};

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
}

/* The lowered graph of a preset: training forward pass and loss (the loss the head takes by
 * default), evaluation, or inference. */
static IrGraph *preset_graph(const char *ref, bool train, bool eval, int batch, RtDiags *d) {
  char *dir = fe_presets_default_dir();
  FePreset *p = fe_preset_resolve(ref, dir, (FeLoc){0}, d);
  free(dir);
  if (!p) return NULL;
  FeLossKind loss = p->head->kind == FE_LAYER_CTC ? FE_LOSS_CTC : FE_LOSS_CROSS_ENTROPY;
  FeLowerOptions lo = {.kind = train ? FE_GRAPH_TRAIN : eval ? FE_GRAPH_EVAL : FE_GRAPH_INFER, .batch = batch,
                       .loss = loss};
  IrGraph *g = fe_lower(p, &lo, NULL, d);
  fe_preset_free(p);
  return g;
}

int cmd_ir(int argc, char **argv) {
  static const struct option opts[] = {{"grad", no_argument, NULL, 'g'},
                                        {"graph", required_argument, NULL, 'G'},
                                        {"stage", required_argument, NULL, 's'},
                                        {"stats", no_argument, NULL, 'S'},
                                        {"explain-fusion", no_argument, NULL, 'e'},
                                        {"optimizer", required_argument, NULL, 'o'},
                                        {"clip", no_argument, NULL, 'c'},
                                        {"batch", required_argument, NULL, 'b'},
                                        {"help", no_argument, NULL, 'h'},
                                        {0}};
  bool train = false, eval = false, stats = false, explain = false;
  int64_t batch = 32;
  int stage = STAGE_BUILT;
  PassOptimizer opt = {.kind = PASS_OPT_ADAM};
  int c;
  while ((c = cli_getopt(argc, argv, "h", opts, USAGE)) != -1) {
    switch (c) {
      case 'h': fputs(USAGE, stdout); return CLI_EXIT_OK;
      case 'g': train = true, stage = STAGE_GRAD; break;
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
        for (stage = 0; stage < STAGE_COUNT && strcmp(optarg, STAGES[stage]); stage++) {}
        if (stage == STAGE_COUNT)
          return cli_usage_error(USAGE, "unknown stage '%s' (built, grad, simplified, fused, planned)", optarg);
        if (stage == STAGE_GRAD) train = true;
        break;
      case 'S': stats = true; break;
      case 'e': explain = true; break;
      case 'c': opt.clip_grad_norm = true; break;
      case 'o': {
        int k = rt_settings_name_index(optarg, RT_OPTIMIZER_NAMES, RT_OPT_COUNT);
        if (k < 0) return cli_usage_error(USAGE, "unknown optimizer '%s' (adam, adamw or sgd)", optarg);
        opt.kind = experiment_pass_optimizer(k);
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
  if (!is_ir && eval && stage == STAGE_GRAD) return cli_usage_error(USAGE, "--stage grad needs --graph train");
  IrGraph *g = is_ir ? ir_parse_file(file, &d) : preset_graph(file, train, eval, (int)batch, &d);
  int rc = CLI_EXIT_OK;
  if (g && train) {
    PassTraining tr;
    if (g->n_outputs < 1)
      rt_diag_error(&d, file, 0, 0, "no output to differentiate (output 0 must be a scalar loss)");
    else
      pass_build_training(g, g->outputs[0], &opt, &tr, &d);
  }
  rt_diags_set_file(&d, 0, file);
  rt_diags_print(&d, stderr);
  if (!g || d.errors) {
    rt_diags_free(&d);
    ir_graph_free(g);
    return CLI_EXIT_FAIL;
  }
  rt_diags_free(&d);
  if (stage <= STAGE_GRAD && !stats) {
    ir_print(g, stdout);
    ir_graph_free(g);
    return rc;
  }
  IrGraph *simple = pass_simplify(g, NULL);
  ir_graph_free(g);
  if (stage == STAGE_SIMPLIFIED && !stats) {
    ir_print(simple, stdout);
    ir_graph_free(simple);
    return rc;
  }
  CgOptions co = {.explain = explain ? stdout : NULL};
  PassPlan *plan = cg_program_plan(simple, &co, rt_pool_threads());
  if (stats) print_stats(simple, plan, stdout);
  else if (stage == STAGE_FUSED) pass_fusion_print(plan->fusion, stdout);
  else pass_plan_print(plan, stdout);
  pass_plan_free(plan);
  ir_graph_free(simple);
  return rc;
}

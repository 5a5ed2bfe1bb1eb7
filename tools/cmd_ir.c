/* `smelt ir FILE.ir`: parses and verifies an IR program and prints it in canonical form;
 * `--grad` prints the training graph instead (forward, gradients, optimizer update). */
#include <stdio.h>
#include <string.h>

#include "ir/ir_text.h"
#include "passes/train_graph.h"
#include "tools/cli.h"
#include "tools/commands.h"

static const char USAGE[] =
    "usage: smelt ir FILE.ir [--grad [--optimizer NAME] [--clip]]\n"
    "\n"
    "Parses and verifies an IR program and prints it in canonical form.\n"
    "\n"
    "options:\n"
    "  --grad            print the training graph: output 0 (a scalar loss) differentiated\n"
    "                    w.r.t. every param, then the optimizer update\n"
    "  --optimizer NAME  adam (default), adamw or sgd\n"
    "  --clip            include global-norm gradient clipping\n"
    "  -h, --help        show this help\n";

int cmd_ir(int argc, char **argv) {
  static const struct option opts[] = {{"grad", no_argument, NULL, 'g'},
                                        {"optimizer", required_argument, NULL, 'o'},
                                        {"clip", no_argument, NULL, 'c'},
                                        {"help", no_argument, NULL, 'h'},
                                        {0}};
  bool grad = false;
  PassOptimizer opt = {.kind = PASS_OPT_ADAM};
  int c;
  while ((c = cli_getopt(argc, argv, "h", opts, USAGE)) != -1) {
    switch (c) {
      case 'h': fputs(USAGE, stdout); return CLI_EXIT_OK;
      case 'g': grad = true; break;
      case 'c': opt.clip_grad_norm = true; break;
      case 'o':
        if (!strcmp(optarg, "adam")) opt.kind = PASS_OPT_ADAM;
        else if (!strcmp(optarg, "adamw")) opt.kind = PASS_OPT_ADAMW;
        else if (!strcmp(optarg, "sgd")) opt.kind = PASS_OPT_SGD;
        else return cli_usage_error(USAGE, "unknown optimizer '%s' (adam, adamw or sgd)", optarg);
        break;
      default: return CLI_EXIT_USAGE;
    }
  }
  if (optind != argc - 1) return cli_usage_error(USAGE, "expected one IR file");
  RtDiags d = {0};
  IrGraph *g = ir_parse_file(argv[optind], &d);
  int rc = CLI_EXIT_OK;
  if (g && grad) {
    PassTraining tr;
    if (g->n_outputs < 1) {
      rt_diag_error(&d, argv[optind], 0, 0, "no output to differentiate (output 0 must be a scalar loss)");
      rc = CLI_EXIT_FAIL;
    } else if (!pass_build_training(g, g->outputs[0], &opt, &tr, &d)) {
      rc = CLI_EXIT_FAIL;
    }
  }
  rt_diags_set_file(&d, 0, argv[optind]);
  rt_diags_print(&d, stderr);
  if (!g || d.errors) rc = CLI_EXIT_FAIL;
  if (rc == CLI_EXIT_OK) ir_print(g, stdout);
  rt_diags_free(&d);
  ir_graph_free(g);
  return rc;
}

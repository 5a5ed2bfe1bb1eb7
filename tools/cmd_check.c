/* `smelt check CONFIG`: validates a whole experiment config before anything runs and prints
 * every problem as file:line:col (exit 1), or the plan of what would run and which experiments
 * share a compiled module (exit 0). The work is the frontend's (fe_config_load, fe_plan_print);
 * this file is the command line around it. */
#include <stdio.h>

#include "driver/drv_pipeline.h"
#include "frontend/fe_config.h"
#include "frontend/fe_plan.h"
#include "tools/cli.h"
#include "tools/commands.h"

static const char USAGE[] =
    "usage: smelt check CONFIG [--presets DIR]\n"
    "\n"
    "Validates an experiment config before anything runs: every problem in the file is\n"
    "reported as file:line:col. A valid config prints its plan: each experiment with its\n"
    "preset, parameter count, epochs, batch size, learning rate, optimizer and loss, and\n"
    "which experiments can share one compiled module.\n"
    "\n"
    "options:\n"
    "  --presets DIR   look preset names up in DIR (default: the config's presets_dir,\n"
    "                  else $SMELT_PRESETS, else smelt's presets/ folder)\n"
    "  -h, --help      show this help\n"
    "\n"
    "exit status: 0 valid, 1 the config has errors, 2 usage error\n";

/* What the config asks of this machine: `precision: bf16` needs AVX512-BF16. */
static void check_machine(const FeConfig *cfg, RtDiags *d) {
  for (int i = 0; i < cfg->count; i++) {
    const FeExperiment *e = &cfg->experiments[i];
    char why[256];
    if (e->precision == RT_PRECISION_BF16 && !drv_bf16_supported(NULL, why, sizeof why))
      rt_diag_error(d, e->loc.file, e->loc.line, e->loc.col, "experiment '%s': precision: bf16: %s", e->name, why);
  }
}

int cmd_check(int argc, char **argv) {
  static const struct option opts[] = {
      {"presets", required_argument, NULL, 'p'}, {"help", no_argument, NULL, 'h'}, {0}};
  FeLoadOptions load = {0};
  int c;
  while ((c = cli_getopt(argc, argv, "h", opts, USAGE)) != -1) {
    if (c == 'h') {
      fputs(USAGE, stdout);
      return CLI_EXIT_OK;
    }
    if (c != 'p') return CLI_EXIT_USAGE;
    load.presets_dir = optarg;
  }
  if (optind >= argc) return cli_usage_error(USAGE, "check needs a CONFIG file");
  if (optind + 1 < argc) return cli_usage_error(USAGE, "unexpected argument '%s'", argv[optind + 1]);
  RtDiags diags = {0};
  FeConfig *cfg = fe_config_load(argv[optind], &load, &diags);
  if (cfg) check_machine(cfg, &diags);
  if (cfg && diags.errors) {
    fe_config_free(cfg);
    cfg = NULL;
  }
  rt_diags_print(&diags, stderr);
  int status = CLI_EXIT_OK;
  if (!cfg) {
    int warnings = diags.count - diags.errors;
    fprintf(stderr, "%s: %d error%s%s", argv[optind], diags.errors, diags.errors == 1 ? "" : "s",
            warnings ? ", " : "\n");
    if (warnings) fprintf(stderr, "%d warning%s\n", warnings, warnings == 1 ? "" : "s");
    status = CLI_EXIT_FAIL;
  } else {
    fe_plan_print(cfg, stdout);
    fe_config_free(cfg);
  }
  rt_diags_free(&diags);
  return status;
}

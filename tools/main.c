/* smelt: the command-line entry point. Dispatches git-style subcommands (`smelt CMD ...`), each
 * in its own tools/cmd_*.c; unknown commands get a one-line error, a suggestion and exit 2. */
#include <stdio.h>
#include <string.h>

#include "runtime/rt_fpenv.h"
#include "support/rt_assert.h"
#include "support/rt_suggest.h"
#include "tools/cli.h"
#include "tools/commands.h"

static const CliCommand COMMANDS[] = {
    {"build", "compile an experiment into a standalone trainer executable (no LLVM needed)", cmd_build},
    {"bench", "measure a preset's compiled training and inference (vs the PyTorch peer)", cmd_bench},
    {"check", "validate an experiment config and print its plan", cmd_check},
    {"data", "make datasets: `smelt data synth` writes synthetic CAPTCHAs", cmd_data},
    {"describe", "print a preset layer by layer: shapes, parameters, FLOPs", cmd_describe},
    {"emit", "compile a checkpoint into an object file + C header for inference", cmd_emit},
    {"eval", "evaluate a checkpoint on a dataset: accuracy, CER, loss", cmd_eval},
    {"ir", "print an IR program at a stage of the compiler, or its statistics", cmd_ir},
    {"predict", "read the text of images with a checkpoint", cmd_predict},
    {"quantize", "quantize a checkpoint for int8 inference, calibrated on images", cmd_quantize},
    {"run-ir", "run an IR program with the reference interpreter; check or train it", cmd_run_ir},
    {"train", "train one experiment of a config (JIT-compiled), with checkpoints and logs", cmd_train},
    {"tune", "run every experiment of a config, each in its own process, and rank them", cmd_tune},
    {"version", "print smelt's version, LLVM's, and the host CPU and SIMD features", cmd_version},
};
enum { N_COMMANDS = sizeof COMMANDS / sizeof *COMMANDS };

static void print_usage(FILE *out) {
  fputs("usage: smelt COMMAND [ARGS...]\n"
        "\n"
        "smelt compiles YAML model presets into fast native trainers and inference code.\n"
        "\n"
        "commands:\n",
        out);
  for (int i = 0; i < N_COMMANDS; i++) fprintf(out, "  %-10s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
  fputs("\nRun 'smelt COMMAND --help' for a command's options.\n", out);
}

int main(int argc, char **argv) {
  /* Line-buffered so that progress lines reach a log file or pipe as they happen. */
  setvbuf(stdout, NULL, _IOLBF, 0);
  rt_fpenv_flush_denormals(); /* before any thread starts, so that all inherit it */
  rt_catch_cxx_out_of_memory("memory for LLVM (compiling the model)"); /* LLVM allocates with new */
  if (argc < 2) {
    print_usage(stderr);
    return CLI_EXIT_USAGE;
  }
  const char *name = argv[1];
  if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
    print_usage(stdout);
    return CLI_EXIT_OK;
  }
  if (!strcmp(name, "--version")) name = "version";
  for (int i = 0; i < N_COMMANDS; i++)
    if (!strcmp(name, COMMANDS[i].name)) return COMMANDS[i].run(argc - 1, argv + 1);
  const char *names[N_COMMANDS];
  for (int i = 0; i < N_COMMANDS; i++) names[i] = COMMANDS[i].name;
  const char *guess = rt_suggest(name, names, N_COMMANDS);
  if (guess)
    fprintf(stderr, "smelt: unknown command '%s'; did you mean '%s'?\n", name, guess);
  else
    fprintf(stderr, "smelt: unknown command '%s'\n", name);
  print_usage(stderr);
  return CLI_EXIT_USAGE;
}

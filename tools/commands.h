/* Entry points of the `smelt` subcommands, one per tools/cmd_*.c; main.c lists them. */
#ifndef SMELT_TOOLS_COMMANDS_H
#define SMELT_TOOLS_COMMANDS_H

int cmd_version(int argc, char **argv);
int cmd_run_ir(int argc, char **argv);
int cmd_ir(int argc, char **argv);
int cmd_describe(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_tune(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_build(int argc, char **argv);
int cmd_emit(int argc, char **argv);

#endif

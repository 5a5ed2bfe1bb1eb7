/* Shared plumbing of the `smelt` subcommands: the command table, option parsing with one-line
 * errors (exit code 2), and reading numbers from flags. Each subcommand lives in tools/cmd_*.c
 * and is listed in tools/main.c. */
#ifndef SMELT_TOOLS_CLI_H
#define SMELT_TOOLS_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

enum { CLI_EXIT_OK = 0, CLI_EXIT_FAIL = 1, CLI_EXIT_USAGE = 2 };

typedef struct CliCommand {
  const char *name;
  const char *summary; /* one line for `smelt --help` */
  int (*run)(int argc, char **argv); /* argv[0] is the command name */
} CliCommand;

/* Prints "smelt: <message>" and the usage text to stderr; returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* getopt_long with smelt's conventions: "--help"/"-h" must be in opts with val 'h'. Returns the
 * option's val, -1 at the end of options, or '?' after printing a one-line error and the usage
 * for an unknown option or a missing argument (the caller returns CLI_EXIT_USAGE). */
int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *opts,
               const char *usage);

/* Parse a whole-string number from a flag's argument; on failure print a usage error and return
 * false. */
bool cli_parse_int(const char *flag, const char *arg, int64_t min, int64_t max, int64_t *out,
                   const char *usage);
bool cli_parse_double(const char *flag, const char *arg, double *out, const char *usage);

#endif

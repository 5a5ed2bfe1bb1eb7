/* Option parsing and usage errors shared by every subcommand. */
#include "tools/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_usage_error(const char *usage, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("smelt: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  fputs(usage, stderr);
  return CLI_EXIT_USAGE;
}

int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *opts,
               const char *usage) {
  opterr = 0;
  char spec[64];
  snprintf(spec, sizeof spec, ":%s", shortopts); /* leading ':' reports missing arguments as ':' */
  int c = getopt_long(argc, argv, spec, opts, NULL);
  if (c == '?') {
    const char *bad = argv[optind - 1];
    if (optopt) cli_usage_error(usage, "unknown option '-%c'", optopt);
    else cli_usage_error(usage, "unknown option '%s'", bad);
    return '?';
  }
  if (c == ':') {
    cli_usage_error(usage, "option '%s' needs a value", argv[optind - 1]);
    return '?';
  }
  return c;
}

bool cli_parse_int(const char *flag, const char *arg, int64_t min, int64_t max, int64_t *out,
                   const char *usage) {
  char *end;
  errno = 0;
  long long v = strtoll(arg, &end, 10);
  if (errno || end == arg || *end || v < min || v > max) {
    cli_usage_error(usage, "%s expects an integer in [%lld, %lld], got '%s'", flag,
                    (long long)min, (long long)max, arg);
    return false;
  }
  *out = v;
  return true;
}

bool cli_parse_double(const char *flag, const char *arg, double *out, const char *usage) {
  char *end;
  errno = 0;
  double v = strtod(arg, &end);
  if (errno || end == arg || *end) {
    cli_usage_error(usage, "%s expects a number, got '%s'", flag, arg);
    return false;
  }
  *out = v;
  return true;
}

/* The shared training command line (rt_train_cli.h). */
#include "runtime/rt_train_cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "runtime/rt_blas.h"

const char *rt_train_options_help(bool with_config, const char *source, char *buf, size_t size) {
  snprintf(buf, size,
           "options:\n"
           "%s"
           "  --data DIR         training data (labels.tsv + images) instead of the %s data\n"
           "  --val DIR          with --data: its validation folder; without --val, the %s\n"
           "                     val_split of --data is held out\n"
           "  --epochs N         train N epochs instead of the configured number\n"
           "  --init CHECKPOINT  start from the weights of another run's checkpoint (every tensor\n"
           "                     whose name and shape match; the head remapped by symbol when the\n"
           "                     charsets differ) instead of the %s init\n"
           "  --out DIR          output folder (default: runs)\n"
           "  --resume           continue from OUT/<experiment>/last.safetensors if it exists\n"
           "  --overwrite        start over where OUT/<experiment> holds an earlier run (its\n"
           "                     checkpoints and logs are deleted); without it such a run is kept\n"
           "                     and training refuses to start\n"
           "  --skip-bad-samples leave out bad lines and images (counted) instead of stopping\n"
           "  --quiet            only the per-epoch lines (no progress bar or quarter lines)\n"
           "  -h, --help         show this help\n",
           with_config ? "  --experiment NAME  the experiment to train (required when CONFIG has several)\n" : "",
           source, source, source);
  return buf;
}

static int usage_error(const RtTrainCli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage_error(const RtTrainCli *cli, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s: ", cli->prog);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  fputs(cli->usage, stderr);
  return 2;
}

static bool parse_epochs(const char *arg, int *out) {
  char *end;
  errno = 0;
  long v = strtol(arg, &end, 10);
  if (errno || end == arg || *end || v < 1 || v > 100000) return false;
  *out = (int)v;
  return true;
}

int rt_train_args_parse(const RtTrainCli *cli, int argc, char **argv, RtTrainArgs *a) {
  static const struct option opts[] = {
      {"experiment", required_argument, NULL, 'e'}, {"data", required_argument, NULL, 'd'},
      {"val", required_argument, NULL, 'v'},        {"epochs", required_argument, NULL, 'n'},
      {"out", required_argument, NULL, 'o'},        {"resume", no_argument, NULL, 'r'},
      {"overwrite", no_argument, NULL, 'w'},        {"skip-bad-samples", no_argument, NULL, 's'},
      {"quiet", no_argument, NULL, 'q'},            {"help", no_argument, NULL, 'h'},
      {"init", required_argument, NULL, 'i'},       {0}};
  *a = (RtTrainArgs){.out = "runs"};
  opterr = 0;
  optind = 1; /* leading ':' below: a missing value comes back as ':' */
  int c;
  while ((c = getopt_long(argc, argv, ":h", cli->with_config ? opts : opts + 1, NULL)) != -1) {
    switch (c) {
      case 'h': fputs(cli->usage, stdout); return -1;
      case 'e': a->experiment = optarg; break;
      case 'd': a->data = optarg; break;
      case 'v': a->val = optarg; break;
      case 'o': a->out = optarg; break;
      case 'i': a->init = optarg; break;
      case 'r': a->resume = true; break;
      case 'w': a->overwrite = true; break;
      case 's': a->skip_bad = true; break;
      case 'q': a->quiet = true; break;
      case 'n':
        if (!parse_epochs(optarg, &a->epochs))
          return usage_error(cli, "--epochs expects an integer in [1, 100000], got '%s'", optarg);
        break;
      case ':': return usage_error(cli, "option '%s' needs a value", argv[optind - 1]);
      default:
        if (optopt) return usage_error(cli, "unknown option '-%c'", optopt);
        return usage_error(cli, "unknown option '%s'", argv[optind - 1]);
    }
  }
  if (cli->with_config) {
    if (optind != argc - 1) return usage_error(cli, "expected one CONFIG file");
    a->config = argv[optind];
  } else if (optind < argc) {
    return usage_error(cli, "unexpected argument '%s'", argv[optind]);
  }
  if (a->val && !a->data) return usage_error(cli, "--val goes with --data");
  if (a->resume && a->overwrite) return usage_error(cli, "--resume and --overwrite exclude each other");
  return 0;
}

void rt_train_args_apply(const RtTrainArgs *a, const char *experiment, char *out_dir, size_t size, RtTrainConfig *tc) {
  snprintf(out_dir, size, "%s/%s", a->out, experiment);
  tc->out_dir = out_dir;
  tc->resume = a->resume;
  tc->overwrite = a->overwrite;
  if (a->init) tc->init_path = a->init;
  tc->progress = a->quiet ? 1 : 2; /* a bar on a terminal, a line per quarter epoch in a log */
}

void rt_train_print_start(const char *experiment, const char *preset, long long params, int batch, int epochs,
                          const RtDataset *train, const RtDataset *val, const RtFreshConfig *fresh) {
  bool renewed = fresh && fresh->enabled;
  printf("charset (%d symbols): %s\n", val->charset.size, val->charset.utf8); /* one charset for both sets */
  if (renewed && train)
    printf("training %s: preset %s, %lld params, batch %d, %d epochs, %d train samples from the folder and %d "
           "generated afresh every epoch (labels of %d-%d symbols), mixed / %d validation samples\n",
           experiment, preset, params, batch, epochs, train->count, fresh->count, fresh->min_len, fresh->max_len,
           val->count);
  else
    printf("training %s: preset %s, %lld params, batch %d, %d epochs, %d %strain / %d validation samples\n",
           experiment, preset, params, batch, epochs, renewed ? fresh->count : train->count,
           renewed ? "fresh (new every epoch) " : "", val->count);
  fflush(stdout);
  rt_blas_warn(stderr);
}

int rt_train_single_label_length(const RtDataset *train, const RtFreshConfig *fresh) {
  bool generated = fresh && fresh->enabled, folder = train && train->count > 0; /* mixed: both */
  if (!generated && !folder) return 0;
  int len = generated ? fresh->min_len : train->label_len[0];
  if (generated && fresh->max_len != len) return 0;
  for (int i = 0; folder && i < train->count; i++)
    if (train->label_len[i] != len) return 0;
  return len;
}

void rt_train_note_label_length(bool ctc, bool from_scratch, const RtDataset *train, const RtFreshConfig *fresh) {
  int len = rt_train_single_label_length(train, fresh);
  if (!ctc || !from_scratch || len == 0) return;
  printf("note: every training label has %d symbol%s; a CTC model from scratch leaves its all-blank start much\n"
         "      later on labels of one length, on large charsets not at all (docs/recipes.md, \"Label lengths\"):\n"
         "      mix generated samples of several lengths into every epoch (data: {train: DIR, synthetic:\n"
         "      {fresh: true, length: [3, 8], like: DIR}}), pretrain on them and fine-tune with --init, or use\n"
         "      attention\n",
         len, len == 1 ? "" : "s");
  fflush(stdout);
}


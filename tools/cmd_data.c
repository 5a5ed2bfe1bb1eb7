/* `smelt data`: dataset tools. `data synth` writes a synthetic CAPTCHA dataset folder
 * (runtime/rt_synth.h), optionally styled like a user's folder (--like, rt_synth_like.h); `data check` loads a dataset folder the way training does and reports its
 * problems with file:line, its size and its charset. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/rt_dataset.h"
#include "runtime/rt_charset.h"
#include "runtime/rt_synth.h"
#include "runtime/rt_synth_fonts.h"
#include "runtime/rt_synth_like.h"
#include "support/rt_assert.h"
#include "tools/cli.h"
#include "tools/commands.h"

static const char USAGE[] =
    "usage: smelt data synth --out DIR [--count N] [--seed S] [--length MIN-MAX] [--charset STR]\n"
    "                        [--height H --width W] [--first N] [--reuse] [--quiet]\n"
    "                        [--like DIR] [--lines N] [--char-colours] [--distort X] [--grey | --colour]\n"
    "                        [--mixed-styles] [--fonts PATH]...\n"
    "       smelt data check DIR [--charset STR] [--max-len N] [--skip]\n"
    "\n"
    "synth  writes a synthetic CAPTCHA dataset: DIR/images/NNNNNN.png and DIR/labels.tsv.\n"
    "  --out DIR          output folder (created if missing)\n"
    "  --count N          number of samples (default 1000)\n"
    "  --seed S           generator seed (default 1); the same seed gives the same bytes\n"
    "  --length MIN-MAX   label length range, or one length N (default 4-8, at most 32)\n"
    "  --charset STR      symbols to draw from (default 0-9A-Z)\n"
    "  --height H         image height in pixels (default 50; give --width too)\n"
    "  --width W          image width in pixels (default 200; give --height too)\n"
    "  --first N          number of the first sample (continue a set without overlap)\n"
    "  --reuse            keep DIR as it is if it holds the same set already\n"
    "  --quiet            no progress lines\n"
    "  --like DIR         charset, length range, size (medians) and grey/colour from DIR/labels.tsv\n"
    "                     and its images (printed); the options above still override them\n"
    "  --lines N          1 to N lines/arcs over the text per image (0-20; 0 = none;\n"
    "                     default: the usual mix of 0-3)\n"
    "  --char-colours     each character in its own colour\n"
    "  --distort X        scale of character rotation and wave warp (0-4; 0 = none; default 1)\n"
    "  --grey, --colour   greyscale or colour pictures (default colour, or what --like found)\n"
    "  --mixed-styles     a style drawn per image: 0 to 8 lines (0 to N with --lines N), a colour\n"
    "                     per character in half of the images, distortion x 0.25-2\n"
    "  --fonts PATH       draw with this font file, or the font files of this folder (*.ttf,\n"
    "                     *.otf, *.ttc; those lacking a symbol are left out) instead of the six\n"
    "                     DejaVu fonts; give it again for more files and folders\n"
    "\n"
    "check  loads DIR/labels.tsv and its images as training would, and reports problems.\n"
    "  --charset STR      the model's symbols (default: those of the labels)\n"
    "  --max-len N        longest label allowed, in symbols (default: no limit)\n"
    "  --skip             skip bad samples (warnings) instead of failing on them\n";

/* "MIN-MAX" or "N" */
static bool parse_length(const char *arg, int *lo, int *hi) {
  char *end;
  long a = strtol(arg, &end, 10), b = a;
  if (end == arg) return false;
  if (*end == '-') {
    const char *rest = end + 1;
    b = strtol(rest, &end, 10);
    if (end == rest) return false;
  }
  if (*end || a < 1 || b < a || b > RT_SYNTH_MAX_LEN) return false;
  *lo = (int)a;
  *hi = (int)b;
  return true;
}

/* --like DIR: measures DIR, sets so from it and prints what it chose (the warnings about skipped
 * samples go to stderr with it). */
static bool like_options(const char *dir, RtSynthOptions *so, RtSynthLike *measured, RtDiags *d) {
  bool ok = rt_synth_like(dir, measured, d);
  rt_diags_print(d, stderr);
  rt_diags_free(d);
  if (!ok) return false;
  rt_synth_like_apply(measured, so);
  printf("like %s: %d samples; charset (%d symbols) %s; length %d-%d; size %d x %d (median of %d images); %s (%d of %d"
         " images greyscale)\n",
         dir, measured->samples, (int)rt_utf8_count(measured->charset, strlen(measured->charset), NULL),
         measured->charset, measured->min_len, measured->max_len, measured->height, measured->width,
         measured->measured, measured->grey ? "grey" : "colour", measured->grey_images, measured->measured);
  fflush(stdout);
  return true;
}

static int data_synth(int argc, char **argv) {
  static const struct option opts[] = {
      {"out", required_argument, NULL, 'o'},    {"count", required_argument, NULL, 'n'},
      {"seed", required_argument, NULL, 's'},   {"length", required_argument, NULL, 'l'},
      {"charset", required_argument, NULL, 'c'}, {"height", required_argument, NULL, 'H'},
      {"width", required_argument, NULL, 'W'},  {"first", required_argument, NULL, 'f'},
      {"reuse", no_argument, NULL, 'r'},        {"quiet", no_argument, NULL, 'q'},
      {"like", required_argument, NULL, 'L'},   {"lines", required_argument, NULL, 'N'},
      {"char-colours", no_argument, NULL, 'C'}, {"distort", required_argument, NULL, 'D'},
      {"grey", no_argument, NULL, 'G'},         {"colour", no_argument, NULL, 'R'},
      {"mixed-styles", no_argument, NULL, 'M'}, {"fonts", required_argument, NULL, 'F'},
      {"help", no_argument, NULL, 'h'},         {0}};
  const char *out = NULL, *like = NULL;
  int64_t count = 1000, seed = 1, height = 0, width = 0, first = 0, lines = -1;
  double distort = -1;
  const char *explicit_charset = NULL;
  int explicit_len[2] = {0, 0};
  int colour_mode = 0; /* 0: default or --like's, 1: --grey, 2: --colour */
  RtSynthOptions so = {.progress = stderr};
  const char *font_args[RT_SYNTH_MAX_FONTS];
  int n_fonts = 0;
  int c;
  while ((c = cli_getopt(argc, argv, "h", opts, USAGE)) != -1) {
    switch (c) {
    case 'h': fputs(USAGE, stdout); return CLI_EXIT_OK;
    case 'o': out = optarg; break;
    case 'n': if (!cli_parse_int("--count", optarg, 1, 100000000, &count, USAGE)) return CLI_EXIT_USAGE; break;
    case 's': if (!cli_parse_int("--seed", optarg, 0, INT64_MAX, &seed, USAGE)) return CLI_EXIT_USAGE; break;
    case 'l':
      if (!parse_length(optarg, &explicit_len[0], &explicit_len[1]))
        return cli_usage_error(USAGE, "--length expects MIN-MAX or N with 1 <= MIN <= MAX <= %d, got '%s'",
                               RT_SYNTH_MAX_LEN, optarg);
      break;
    case 'c': explicit_charset = optarg; break;
    case 'H':
      if (!cli_parse_int("--height", optarg, RT_SYNTH_MIN_SIZE, RT_SYNTH_MAX_HEIGHT, &height, USAGE))
        return CLI_EXIT_USAGE;
      break;
    case 'W':
      if (!cli_parse_int("--width", optarg, RT_SYNTH_MIN_SIZE, RT_SYNTH_MAX_WIDTH, &width, USAGE))
        return CLI_EXIT_USAGE;
      break;
    case 'f': if (!cli_parse_int("--first", optarg, 0, INT64_MAX / 2, &first, USAGE)) return CLI_EXIT_USAGE; break;
    case 'r': so.reuse = true; break;
    case 'q': so.progress = NULL; break;
    case 'L': like = optarg; break;
    case 'N':
      if (!cli_parse_int("--lines", optarg, 0, RT_SYNTH_MAX_LINES, &lines, USAGE)) return CLI_EXIT_USAGE;
      break;
    case 'C': so.char_colours = true; break;
    case 'D':
      if (!cli_parse_double("--distort", optarg, &distort, USAGE)) return CLI_EXIT_USAGE;
      if (!(distort >= 0 && distort <= RT_SYNTH_MAX_DISTORT))
        return cli_usage_error(USAGE, "--distort must be within 0-%d, got '%s'", RT_SYNTH_MAX_DISTORT, optarg);
      break;
    case 'G': colour_mode = 1; break;
    case 'R': colour_mode = 2; break;
    case 'M': so.mixed = true; break;
    case 'F':
      if (strchr(optarg, RT_SYNTH_FONTS_SEP)) return cli_usage_error(USAGE, "--fonts '%s': a path with ':' cannot be given", optarg);
      if (n_fonts == RT_SYNTH_MAX_FONTS)
        return cli_usage_error(USAGE, "--fonts given more than %d times", RT_SYNTH_MAX_FONTS);
      font_args[n_fonts++] = optarg;
      break;
    default: return CLI_EXIT_USAGE;
    }
  }
  if (optind < argc) return cli_usage_error(USAGE, "unexpected argument '%s'", argv[optind]);
  if (!out) return cli_usage_error(USAGE, "data synth needs --out DIR");
  if ((height == 0) != (width == 0)) return cli_usage_error(USAGE, "give --height and --width together");
  char *fonts = n_fonts ? rt_xmalloc(rt_synth_fonts_join(font_args, n_fonts, NULL)) : NULL;
  if (fonts) rt_synth_fonts_join(font_args, n_fonts, fonts);
  so.fonts = fonts;
  RtDiags d = {0};
  RtSynthLike measured = {0};
  if (like && !like_options(like, &so, &measured, &d)) {
    rt_diags_print(&d, stderr);
    rt_diags_free(&d);
    free(fonts);
    return CLI_EXIT_FAIL;
  }
  if (height) so.height = (int)height, so.width = (int)width;
  so.first_index = first;
  if (lines >= 0) so.lines = lines ? (int)lines : RT_SYNTH_NONE;
  if (distort >= 0) so.distort = distort > 0 ? distort : RT_SYNTH_NONE;
  if (colour_mode) so.grey = colour_mode == 1;
  if (explicit_charset) so.charset = explicit_charset;
  if (explicit_len[0]) so.min_len = explicit_len[0], so.max_len = explicit_len[1];
  if (!rt_synth_check_options(&so, &d)) { /* e.g. a charset with repeats or blanks */
    cli_usage_error(USAGE, "%s", d.items[0].msg);
    rt_diags_free(&d);
    rt_synth_like_free(&measured);
    free(fonts);
    return CLI_EXIT_USAGE;
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  bool ok = rt_synth_generate(out, count, (uint64_t)seed, &so, &d);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  rt_diags_print(&d, stderr);
  rt_diags_free(&d);
  rt_synth_like_free(&measured);
  free(fonts);
  if (!ok) return CLI_EXIT_FAIL;
  double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
  if (so.progress)
    fprintf(stderr, "wrote %lld samples to %s in %.2f s\n", (long long)count, out, secs);
  return CLI_EXIT_OK;
}

static int data_check(int argc, char **argv) {
  static const struct option opts[] = {{"charset", required_argument, NULL, 'c'},
                                       {"max-len", required_argument, NULL, 'm'},
                                       {"skip", no_argument, NULL, 's'},
                                       {"help", no_argument, NULL, 'h'},
                                       {0}};
  RtDatasetOptions o = {.policy = RT_DATA_STOP};
  int64_t max_len = 0;
  int c;
  while ((c = cli_getopt(argc, argv, "h", opts, USAGE)) != -1) {
    switch (c) {
    case 'h': fputs(USAGE, stdout); return CLI_EXIT_OK;
    case 'c': o.charset = optarg; break;
    case 'm': if (!cli_parse_int("--max-len", optarg, 1, 1 << 20, &max_len, USAGE)) return CLI_EXIT_USAGE; break;
    case 's': o.policy = RT_DATA_SKIP; break;
    default: return CLI_EXIT_USAGE;
    }
  }
  if (optind + 1 != argc)
    return cli_usage_error(USAGE, optind < argc ? "data check takes one folder" : "data check needs a folder");
  o.max_label_len = (int)max_len;
  RtDiags d = {0};
  RtDataset *ds = rt_dataset_load(argv[optind], &o, &d);
  rt_diags_print(&d, stderr);
  rt_diags_free(&d);
  if (!ds) return CLI_EXIT_FAIL;
  int shortest = ds->count ? ds->label_len[0] : 0;
  for (int i = 0; i < ds->count; i++)
    if (ds->label_len[i] < shortest) shortest = ds->label_len[i];
  printf("%s: %d samples", ds->labels_file, ds->count);
  if (ds->skipped) printf(" (%d skipped)", ds->skipped);
  printf(", labels of %d-%d symbols, images %dx%dx%d\n", shortest, ds->max_label_len, 1, ds->height, ds->width);
  printf("charset (%d symbols): %s\n", ds->charset.size, ds->charset.utf8);
  rt_dataset_free(ds);
  return CLI_EXIT_OK;
}

int cmd_data(int argc, char **argv) {
  if (argc < 2) return cli_usage_error(USAGE, "data needs a subcommand: synth or check");
  const char *sub = argv[1];
  if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
    fputs(USAGE, stdout);
    return CLI_EXIT_OK;
  }
  if (!strcmp(sub, "synth")) return data_synth(argc - 1, argv + 1);
  if (!strcmp(sub, "check")) return data_check(argc - 1, argv + 1);
  return cli_usage_error(USAGE, "unknown data subcommand '%s' (synth or check)", sub);
}

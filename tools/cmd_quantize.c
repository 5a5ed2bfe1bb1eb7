/* `smelt quantize CHECKPOINT --calib DIR [-o OUT]`: post-training static int8 quantization of a
 * trained model (driver/quantize.h, docs/quantization.md). */
#include <stdio.h>
#include <string.h>

#include "driver/quantize.h"
#include "tools/cli.h"
#include "tools/commands.h"

static const char USAGE[] =
    "usage: smelt quantize CHECKPOINT --calib DIR [-o OUT.safetensors] [--images N]\n"
    "                      [--method max|mean-max]\n"
    "\n"
    "Quantizes a trained checkpoint for int8 inference: the weights of its convolutions and\n"
    "sequence projections to int8 with one scale per output channel, their inputs with one\n"
    "scale each, calibrated (min/max) on images from DIR. smelt eval, predict and emit take the\n"
    "result like any checkpoint and run int8 kernels.\n"
    "\n"
    "options:\n"
    "  --calib DIR   calibration images: a labels.tsv folder or any folder of PNG/JPEG images\n"
    "                (required; use images like those the model will read, e.g. its validation set)\n"
    "  -o, --out F   the quantized checkpoint (default: CHECKPOINT with .int8.safetensors)\n"
    "  --images N    calibrate on the first N images at most (default 512)\n"
    "  --method M    max: an activation's range is the largest |x| over all images; mean-max\n"
    "                (default): the mean over batches of 32 images of each batch's largest |x|\n"
    "  -h, --help    show this help\n";

int cmd_quantize(int argc, char **argv) {
  static const struct option opts[] = {{"calib", required_argument, NULL, 'c'}, {"out", required_argument, NULL, 'o'},
                                        {"images", required_argument, NULL, 'n'}, {"help", no_argument, NULL, 'h'},
                                        {"method", required_argument, NULL, 'm'}, {0}};
  QuantizeOptions o = {.max_images = 512, .log = stdout, .method = QUANT_CALIB_MEAN_MAX};
  int64_t images = 512;
  int c;
  while ((c = cli_getopt(argc, argv, "ho:", opts, USAGE)) != -1) {
    switch (c) {
      case 'h': fputs(USAGE, stdout); return CLI_EXIT_OK;
      case 'c': o.calib = optarg; break;
      case 'o': o.out = optarg; break;
      case 'n': if (!cli_parse_int("--images", optarg, 1, 1000000, &images, USAGE)) return CLI_EXIT_USAGE; break;
      case 'm':
        if (!strcmp(optarg, "max")) o.method = QUANT_CALIB_MAX;
        else if (!strcmp(optarg, "mean-max")) o.method = QUANT_CALIB_MEAN_MAX;
        else return cli_usage_error(USAGE, "--method expects max or mean-max, not '%s'", optarg);
        break;
      default: return CLI_EXIT_USAGE;
    }
  }
  if (optind != argc - 1) return cli_usage_error(USAGE, "expected one CHECKPOINT");
  if (!o.calib) return cli_usage_error(USAGE, "--calib DIR is required");
  o.checkpoint = argv[optind];
  o.max_images = (int)images;
  char out[4096];
  if (!o.out) {
    size_t n = strlen(o.checkpoint);
    const char *ext = ".safetensors";
    size_t e = strlen(ext);
    int keep = (int)(n >= e && strcmp(o.checkpoint + n - e, ext) == 0 ? n - e : n);
    snprintf(out, sizeof out, "%.*s.int8.safetensors", keep, o.checkpoint);
    o.out = out;
  }
  if (strcmp(o.out, o.checkpoint) == 0) return cli_usage_error(USAGE, "-o must not overwrite the checkpoint itself");
  RtDiags d = {0};
  bool ok = quantize_checkpoint(&o, &d);
  rt_diags_print(&d, stderr);
  rt_diags_free(&d);
  return ok ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

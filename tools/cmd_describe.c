/* `smelt describe PRESET|FILE [--batch N] [--json]`: a Keras-summary-like table of a preset, one
 * row per layer (name, kind, output shape with the batch, parameters, forward MFLOPs for the
 * batch) and the totals, or the same as JSON. Shapes, counts and FLOPs are the frontend's
 * (fe_shape.c), so the table is exactly what lowering builds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "frontend/fe_plan.h"
#include "frontend/fe_preset.h"
#include "tools/cli.h"
#include "tools/commands.h"

static const char USAGE[] =
    "usage: smelt describe PRESET|FILE [--batch N] [--json] [--presets DIR]\n"
    "\n"
    "Prints a preset layer by layer: name, kind, output shape (batch first), parameter count\n"
    "and forward MFLOPs for the batch (a multiply-add counts 2), then the totals.\n"
    "PRESET is a name looked up in the presets folder; FILE a path to a .yaml preset.\n"
    "\n"
    "options:\n"
    "  --batch N       batch size of the shapes and FLOPs (default 1)\n"
    "  --json          print a JSON object: preset, path, description, batch, input,\n"
    "                  params, flops, flops_per_sample and a layers array of\n"
    "                  {name, kind, output, params, flops}\n"
    "  --presets DIR   look preset names up in DIR (default: $SMELT_PRESETS, else smelt's\n"
    "                  presets/ folder)\n"
    "  -h, --help      show this help\n"
    "\n"
    "exit status: 0 ok, 1 unknown or invalid preset, 2 usage error\n";

static int max_int(int a, int b) { return a > b ? a : b; }

static void print_table(const FePreset *p, int batch, FILE *out) {
  char shape[96], count[32];
  FeShape input = {3, {p->channels, p->height, p->width}};
  int wn = (int)strlen("layer"), wk = (int)strlen("kind"), ws = (int)strlen("output shape");
  for (int i = 0; i < p->layer_count; i++) {
    const FeLayer *l = &p->layers[i];
    wn = max_int(wn, (int)strlen(l->name));
    wk = max_int(wk, (int)strlen(FE_LAYER_KIND_NAMES[l->kind]));
    ws = max_int(ws, (int)strlen(fe_shape_format(l->out, batch, shape, sizeof shape)));
  }
  fprintf(out, "preset %s (%s)%s%s\n", p->name, p->path, p->description[0] ? ": " : "", p->description);
  fprintf(out, "input %s, batch %d\n\n", fe_shape_format(input, batch, shape, sizeof shape), batch);
  int width = fprintf(out, "%-*s  %-*s  %-*s  %12s  %12s\n", wn, "layer", wk, "kind", ws, "output shape",
                      "params", "MFLOPs") - 1;
  for (int i = 0; i < width; i++) fputc('-', out);
  fputc('\n', out);
  for (int i = 0; i < p->layer_count; i++) {
    const FeLayer *l = &p->layers[i];
    fprintf(out, "%-*s  %-*s  %-*s  %12s  %12.1f\n", wn, l->name, wk, FE_LAYER_KIND_NAMES[l->kind], ws,
            fe_shape_format(l->out, batch, shape, sizeof shape), fe_format_count(l->params, count, sizeof count),
            l->flops * batch / 1e6);
  }
  for (int i = 0; i < width; i++) fputc('-', out);
  fputc('\n', out);
  fprintf(out, "%-*s  %12s  %12.1f\n", wn + wk + ws + 4, "total", fe_format_count(p->params, count, sizeof count),
          p->flops * batch / 1e6);
  fprintf(out, "\n%s trainable parameters (%.1f MB as f32); forward %.3f GFLOPs per sample\n",
          fe_format_count(p->params, count, sizeof count), (double)p->params * 4 / 1e6, p->flops / 1e9);
}

static cJSON *shape_json(FeShape s, int batch) {
  int dims[4] = {batch};
  for (int i = 0; i < s.rank; i++) dims[i + 1] = s.dims[i];
  return cJSON_CreateIntArray(dims, s.rank + 1);
}

static void print_json(const FePreset *p, int batch, FILE *out) {
  cJSON *root = cJSON_CreateObject();
  cJSON_AddStringToObject(root, "preset", p->name);
  cJSON_AddStringToObject(root, "path", p->path);
  cJSON_AddStringToObject(root, "description", p->description);
  cJSON_AddNumberToObject(root, "batch", batch);
  cJSON_AddItemToObject(root, "input", shape_json((FeShape){3, {p->channels, p->height, p->width}}, batch));
  cJSON_AddNumberToObject(root, "params", (double)p->params);
  cJSON_AddNumberToObject(root, "flops", p->flops * batch);
  cJSON_AddNumberToObject(root, "flops_per_sample", p->flops);
  cJSON *layers = cJSON_AddArrayToObject(root, "layers");
  for (int i = 0; i < p->layer_count; i++) {
    const FeLayer *l = &p->layers[i];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", l->name);
    cJSON_AddStringToObject(o, "kind", FE_LAYER_KIND_NAMES[l->kind]);
    cJSON_AddItemToObject(o, "output", shape_json(l->out, batch));
    cJSON_AddNumberToObject(o, "params", (double)l->params);
    cJSON_AddNumberToObject(o, "flops", l->flops * batch);
    cJSON_AddItemToArray(layers, o);
  }
  char *text = cJSON_Print(root);
  fprintf(out, "%s\n", text);
  cJSON_free(text);
  cJSON_Delete(root);
}

int cmd_describe(int argc, char **argv) {
  static const struct option opts[] = {{"batch", required_argument, NULL, 'b'},
                                       {"json", no_argument, NULL, 'j'},
                                       {"presets", required_argument, NULL, 'p'},
                                       {"help", no_argument, NULL, 'h'},
                                       {0}};
  int64_t batch = 1;
  bool json = false;
  const char *presets = NULL;
  int c;
  while ((c = cli_getopt(argc, argv, "h", opts, USAGE)) != -1) {
    switch (c) {
    case 'h': fputs(USAGE, stdout); return CLI_EXIT_OK;
    case 'b':
      if (!cli_parse_int("--batch", optarg, 1, 1 << 20, &batch, USAGE)) return CLI_EXIT_USAGE;
      break;
    case 'j': json = true; break;
    case 'p': presets = optarg; break;
    default: return CLI_EXIT_USAGE;
    }
  }
  if (optind >= argc) return cli_usage_error(USAGE, "describe needs a PRESET name or FILE");
  if (optind + 1 < argc) return cli_usage_error(USAGE, "unexpected argument '%s'", argv[optind + 1]);
  char *dir = presets ? NULL : fe_presets_default_dir();
  RtDiags diags = {0};
  FePreset *p = fe_preset_resolve(argv[optind], presets ? presets : dir, (FeLoc){0}, &diags);
  rt_diags_print(&diags, stderr);
  rt_diags_free(&diags);
  free(dir);
  if (!p) return CLI_EXIT_FAIL;
  if (json) print_json(p, (int)batch, stdout);
  else print_table(p, (int)batch, stdout);
  fe_preset_free(p);
  return CLI_EXIT_OK;
}

/* `smelt eval CHECKPOINT --data DIR`: validation metrics of a trained model on a dataset
 * (sequence and character accuracy, CER, loss), through the compiled evaluation graph, and
 * with --errors what it misreads (rt_misreads.h). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "driver/checkpoint_model.h"
#include "runtime/rt_dataset.h"
#include "runtime/rt_memory.h"
#include "runtime/rt_metrics.h"
#include "runtime/rt_misreads.h"
#include "runtime/rt_train.h"
#include "tools/cli.h"
#include "tools/commands.h"

static const char USAGE[] =
    "usage: smelt eval CHECKPOINT --data DIR [--batch N] [--json] [--errors] [--skip-bad-samples]\n"
    "\n"
    "Evaluates a checkpoint (best.safetensors or last.safetensors of a run) on a dataset folder\n"
    "(labels.tsv + images): sequence accuracy (with its standard error over the samples),\n"
    "character accuracy, CER and loss.\n"
    "\n"
    "options:\n"
    "  --data DIR          the dataset (required)\n"
    "  --batch N           samples per compiled batch (default 32)\n"
    "  --json              print one JSON object instead of text\n"
    "  --errors            also what it misreads: how many misread samples have a symbol too\n"
    "                      many or too few, and the symbols it confuses most (true -> read)\n"
    "  --skip-bad-samples  leave out bad lines and images (counted) instead of stopping\n"
    "  -h, --help          show this help\n";

static const RtMetric SHOWN[] = {RT_METRIC_VAL_SEQ_ACC, RT_METRIC_VAL_CHAR_ACC, RT_METRIC_VAL_CER, RT_METRIC_VAL_LOSS};
enum { ERRORS_SHOWN = 12 }; /* the most frequent confusions printed as text (JSON has them all) */

static void print_errors(const RtMisreads *e) {
  printf("misread %d of %d samples, %d of them with a symbol too many or too few\n", e->misread, e->samples,
         e->wrong_length);
  if (e->n_pairs) printf("most frequent errors (true -> read, over an alignment of each misread sample):\n");
  for (int i = 0; i < e->n_pairs && i < ERRORS_SHOWN; i++) {
    char t[8], r[8];
    printf("  %6d  %s -> %s\n", e->pairs[i].count, rt_misread_symbol(e->pairs[i].truth, "(none)", t),
           rt_misread_symbol(e->pairs[i].read, "(none)", r));
  }
  if (e->n_pairs > ERRORS_SHOWN) printf("  (%d other kinds of error; --json lists them all)\n", e->n_pairs - ERRORS_SHOWN);
}

static cJSON *errors_json(const RtMisreads *e) {
  cJSON *o = cJSON_CreateObject(), *list = cJSON_CreateArray();
  cJSON_AddNumberToObject(o, "misread", e->misread);
  cJSON_AddNumberToObject(o, "wrong_length", e->wrong_length);
  for (int i = 0; i < e->n_pairs; i++) {
    cJSON *p = cJSON_CreateObject();
    char t[8], r[8];
    cJSON_AddStringToObject(p, "truth", rt_misread_symbol(e->pairs[i].truth, "", t));
    cJSON_AddStringToObject(p, "read", rt_misread_symbol(e->pairs[i].read, "", r));
    cJSON_AddNumberToObject(p, "count", e->pairs[i].count);
    cJSON_AddItemToArray(list, p);
  }
  cJSON_AddItemToObject(o, "confusions", list);
  return o;
}

/* The evaluation's memory against the limits before it runs (rt_memory.h); stdout is for the
 * results, so the estimate is not printed. */
static bool check_memory(const RtModel *m, const char *checkpoint, const RtDataset *ds, RtDiags *d) {
  char task[600];
  snprintf(task, sizeof task, "evaluating %s", checkpoint);
  RtMemNeed need = {.task = task, .loaded = rt_dataset_image_bytes(ds->count, ds->height, ds->width)};
  rt_mem_need_model(&need, m, false);
  return rt_mem_prepare(&need, NULL, d);
}

int cmd_eval(int argc, char **argv) {
  static const struct option opts[] = {{"data", required_argument, NULL, 'd'}, {"batch", required_argument, NULL, 'b'},
                                        {"json", no_argument, NULL, 'j'},      {"skip-bad-samples", no_argument, NULL, 's'},
                                        {"errors", no_argument, NULL, 'e'},    {"help", no_argument, NULL, 'h'},
                                        {0}};
  const char *data = NULL;
  int64_t batch = 32;
  bool json = false, skip = false, errors = false;
  int c;
  while ((c = cli_getopt(argc, argv, "h", opts, USAGE)) != -1) {
    switch (c) {
      case 'h': fputs(USAGE, stdout); return CLI_EXIT_OK;
      case 'd': data = optarg; break;
      case 'j': json = true; break;
      case 'e': errors = true; break;
      case 's': skip = true; break;
      case 'b': if (!cli_parse_int("--batch", optarg, 1, 4096, &batch, USAGE)) return CLI_EXIT_USAGE; break;
      default: return CLI_EXIT_USAGE;
    }
  }
  if (optind != argc - 1) return cli_usage_error(USAGE, "expected one CHECKPOINT");
  if (!data) return cli_usage_error(USAGE, "--data DIR is required");
  RtDiags d = {0};
  CheckpointModel m;
  RtDataset *ds = NULL;
  RtEpochMetrics out = {0};
  char **predicted = NULL;
  RtMisreads misreads = {0};
  bool ok = checkpoint_model_load(argv[optind], FE_GRAPH_EVAL, (int)batch, FE_QUANT_NONE, &m, &d);
  if (ok) {
    RtDatasetOptions o = {.charset = m.charset, .max_label_len = m.model.max_len, .ctc_steps = m.model.time_steps,
                          .policy = skip ? RT_DATA_SKIP : RT_DATA_STOP, .height = m.model.height, .width = m.model.width};
    ds = rt_dataset_load(data, &o, &d);
    if (ds && errors) predicted = calloc((size_t)ds->count, sizeof *predicted);
    ok = ds && check_memory(&m.model, argv[optind], ds, &d) &&
         rt_evaluate(&m.model, m.state, ds, &m.loss_scalars, &out, predicted, NULL, &d);
    if (ok && errors) rt_misreads_count((const char *const *)ds->texts, (const char *const *)predicted, ds->count, &misreads);
  }
  rt_diags_print(&d, stderr);
  rt_diags_free(&d);
  if (ok && json) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "checkpoint", argv[optind]);
    cJSON_AddStringToObject(o, "data", data);
    cJSON_AddNumberToObject(o, "samples", ds->count);
    for (size_t i = 0; i < sizeof SHOWN / sizeof *SHOWN; i++) {
      double v = out.v[SHOWN[i]];
      cJSON_AddItemToObject(o, rt_metric_key(SHOWN[i]), isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull());
    }
    double se = rt_seq_acc_stderr(out.v[RT_METRIC_VAL_SEQ_ACC], ds->count);
    cJSON_AddItemToObject(o, "val_seq_acc_stderr", isfinite(se) ? cJSON_CreateNumber(se) : cJSON_CreateNull());
    if (errors) cJSON_AddItemToObject(o, "errors", errors_json(&misreads));
    char *text = cJSON_Print(o);
    puts(text);
    free(text);
    cJSON_Delete(o);
  } else if (ok) {
    printf("%s on %s (%d samples):\n", argv[optind], data, ds->count);
    double p = out.v[RT_METRIC_VAL_SEQ_ACC];
    printf("  sequence accuracy   %6.2f%%  (standard error %.2f points over %d samples)\n"
           "  character accuracy  %6.2f%%\n  CER                 %.4f\n  loss                %.4f\n",
           100 * p, 100 * rt_seq_acc_stderr(p, ds->count), ds->count, 100 * out.v[RT_METRIC_VAL_CHAR_ACC],
           out.v[RT_METRIC_VAL_CER], out.v[RT_METRIC_VAL_LOSS]);
    if (errors) print_errors(&misreads);
  }
  for (int i = 0; predicted && i < ds->count; i++) free(predicted[i]);
  free(predicted);
  rt_misreads_free(&misreads);
  rt_dataset_free(ds);
  if (m.program || m.preset) checkpoint_model_free(&m);
  return ok ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

/* The sweep's report (tune_report.h): ranking, report.md, summary.json, and the terminal table.
 * Columns follow the study's table; "epochs run / configured" sits next to the status that
 * explains a shorter run, and a run that ended "ok" after a different number of epochs than
 * requested is failed with a warning above the table: the 2-of-50-epochs run cannot hide. */
#include "sweep/tune_report.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/rt_metrics.h"
#include "runtime/rt_progress.h"
#include "runtime/rt_val_samples.h"
#include "support/rt_fs.h"
#include "support/rt_json.h"
#include "sweep/tune_chart.h"
#include "sweep/tune_mpi.h"
#include "sweep/tune_status.h"

/* The metrics a row keeps its best of. */
static const RtMetric ROW_METRICS[] = {RT_METRIC_VAL_CHAR_ACC, RT_METRIC_VAL_SEQ_ACC, RT_METRIC_VAL_LOSS,
                                       RT_METRIC_VAL_CER};
enum { N_ROW_METRICS = sizeof ROW_METRICS / sizeof *ROW_METRICS };

static TuneRow row_of(const TuneSweep *s, int i) {
  const TuneRun *r = &s->runs[i];
  TuneRow row = {.run = i, .epochs = tune_run_epochs(r)};
  for (int k = 0; k < RT_METRIC_COUNT; k++) row.best[k] = NAN;
  for (int k = 0; k < N_ROW_METRICS; k++)
    tune_history_best(r->history, row.epochs, ROW_METRICS[k], &row.best[ROW_METRICS[k]]);
  double v;
  row.best_epoch = tune_history_best(r->history, row.epochs, s->rank_metric, &v);
  for (int e = 0; e < row.epochs; e++)
    if (isfinite(r->history[e].v[RT_METRIC_SECONDS])) row.seconds += r->history[e].v[RT_METRIC_SECONDS];
  return row;
}

/* -1 when a comes first, +1 when b does, 0 on a tie; NaN comes last. */
static int order_by(RtMetric m, double a, double b) {
  if (rt_metric_better(m, a, b)) return -1;
  if (rt_metric_better(m, b, a)) return 1;
  return 0;
}

static int cmp_rows(const void *pa, const void *pb, void *ctx) {
  const TuneRow *a = pa, *b = pb;
  RtMetric rank_metric = *(const RtMetric *)ctx;
  RtMetric tie = rank_metric == RT_METRIC_VAL_CHAR_ACC ? RT_METRIC_VAL_SEQ_ACC : RT_METRIC_VAL_CHAR_ACC;
  int c = order_by(rank_metric, a->best[rank_metric], b->best[rank_metric]);
  if (!c) c = order_by(tie, a->best[tie], b->best[tie]);
  if (!c) c = order_by(RT_METRIC_VAL_LOSS, a->best[RT_METRIC_VAL_LOSS], b->best[RT_METRIC_VAL_LOSS]);
  return c ? c : (a->run > b->run) - (a->run < b->run);
}

int tune_report_rank(const TuneSweep *s, TuneRow *rows) {
  int ranked = 0;
  for (int i = 0; i < s->n; i++)
    if (tune_status_ranked(s->runs[i].status)) rows[ranked++] = row_of(s, i);
  int n = ranked;
  for (int i = 0; i < s->n; i++)
    if (!tune_status_ranked(s->runs[i].status)) rows[n++] = row_of(s, i);
  RtMetric m = s->rank_metric;
  qsort_r(rows, (size_t)ranked, sizeof *rows, cmp_rows, &m);
  for (int i = 0; i < ranked; i++) rows[i].rank = i + 1;
  return ranked;
}

static const char *metric_title(RtMetric m) {
  switch (m) {
    case RT_METRIC_VAL_CHAR_ACC: return "validation character accuracy";
    case RT_METRIC_VAL_SEQ_ACC: return "validation sequence accuracy";
    default: return "validation loss";
  }
}

/* "3 / 3", "12 / 50 early stopped", "2 / 50 MISMATCH". */
static const char *epochs_cell(const TuneRun *r, const TuneRow *row, char *buf, size_t size) {
  const char *why = r->epochs_mismatch                  ? " MISMATCH"
                    : r->status == TUNE_EARLY_STOPPED   ? " early stopped"
                    : r->status == TUNE_PRUNED          ? " pruned"
                    : r->status == TUNE_DIVERGED        ? " diverged"
                    : r->status == TUNE_PENDING || r->status == TUNE_RUNNING ? " unfinished"
                                                        : "";
  snprintf(buf, size, "%d / %d%s", row->epochs, r->e.epochs, why);
  return buf;
}

/* The reason column: the run's reason, or what became of a run that has none. */
static const char *reason_of(const TuneRun *r, char *buf, size_t size) {
  if (r->reason[0]) return r->reason;
  if (tune_status_ended(r->status)) return "-";
  if (r->n_history) snprintf(buf, size, "interrupted after epoch %d; --resume continues it", r->n_history);
  else snprintf(buf, size, "not run yet");
  return buf;
}

/* Returns whether it wrote anything. */
static bool write_warnings(const TuneSweep *s, FILE *f, bool markdown) {
  const char *bullet = markdown ? "- " : "", *warning = markdown ? "**WARNING**" : "WARNING",
             *note = markdown ? "**NOTE**" : "NOTE";
  bool any = s->epochs_override != 0;
  for (int i = 0; i < s->n; i++) {
    const TuneRun *r = &s->runs[i];
    if (r->epochs_mismatch)
      fprintf(f, "%s%s: %s ran %d of %d configured epochs: %s\n", bullet, warning, r->e.name, r->n_history,
              r->e.epochs, r->reason);
    any |= r->epochs_mismatch;
  }
  if (s->epochs_override) {
    fprintf(f, "%s%s: --epochs %d replaced the configured epochs of every experiment (config:", bullet, note,
            s->epochs_override);
    for (int i = 0; i < s->n; i++) fprintf(f, " %s %d", s->runs[i].e.name, s->runs[i].config_epochs);
    fputs(")\n", f);
  }
  return any;
}

/* " N ranks were lost ...", or "". */
static const char *lost_note(const TuneSweep *s) {
  static char note[128];
  int lost = s->ranks ? tune_ranks_lost(s->ranks) : 0;
  if (!lost) return "";
  snprintf(note, sizeof note, " %d rank%s lost during the sweep (see the failed or retried experiments).", lost,
           lost == 1 ? " was" : "s were");
  return note;
}

/* How far apart two experiments' sequence accuracies may lie by the draw of the validation
 * samples alone: the standard error at the winner's accuracy over the set's size (read from its
 * val_predictions.tsv). Nothing when the size is unknown or the winner reads none or all. */
static void write_noise(const TuneSweep *s, const TuneRow *winner, FILE *f) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/%s", s->out_dir, s->runs[winner->run].e.name);
  int n = rt_val_samples_count(dir);
  double p = winner->best[RT_METRIC_VAL_SEQ_ACC];
  if (n < 1 || !(p > 0 && p < 1)) return;
  double se = rt_seq_acc_stderr(p, n);
  fprintf(f, " On these %d validation samples the winner's sequence accuracy has a standard error of %.2f points: "
             "experiments less than about %.1f points apart are not told apart by this set.",
          n, 100 * se, 200 * se);
}

static void write_markdown(const TuneSweep *s, const TuneRow *rows, int ranked, bool complete, FILE *f) {
  char a[16], b[16], t[16], ep[64], why[96];
  fprintf(f, "# Sweep report: %s\n\n", s->config_path);
  if (s->n_ranks > 1)
    fprintf(f, "Run by %d MPI ranks on %d host%s, %d experiment%s at a time on each.%s\n\n", s->n_ranks, s->n_hosts,
            s->n_hosts == 1 ? "" : "s", s->jobs, s->jobs == 1 ? "" : "s", lost_note(s));
  fprintf(f, "%d experiments, ranked by best %s (`%s`): %d ranked, %d not ranked.%s\n\n", s->n,
          metric_title(s->rank_metric), rt_metric_key(s->rank_metric), ranked, s->n - ranked,
          complete ? "" : " **The sweep has not finished**: `smelt tune ... --resume` continues it.");
  if (s->prune)
    fprintf(f, "Pruning: median rule on `%s` after a warm-up of %d epochs (against the experiments before each "
               "one in the config).\n\n", rt_metric_key(s->rank_metric), s->prune_warmup);
  if (write_warnings(s, f, true)) fputc('\n', f);
  fputs("| rank | experiment | best val char acc | best val seq acc | preset | batch size | learning rate "
        "| epochs run / configured | best epoch | time |\n"
        "|---:|---|---:|---:|---|---:|---:|---|---:|---:|\n", f);
  for (int i = 0; i < ranked; i++) {
    const TuneRow *w = &rows[i];
    const TuneRun *r = &s->runs[w->run];
    fprintf(f, "| %d | %s | %s | %s | %s | %d | %g | %s | %d | %s |\n", w->rank, r->e.name,
            tune_format_metric(RT_METRIC_VAL_CHAR_ACC, w->best[RT_METRIC_VAL_CHAR_ACC], a, sizeof a),
            tune_format_metric(RT_METRIC_VAL_SEQ_ACC, w->best[RT_METRIC_VAL_SEQ_ACC], b, sizeof b), r->e.preset->name,
            r->e.batch_size, r->e.learning_rate, epochs_cell(r, w, ep, sizeof ep), w->best_epoch,
            tune_format_seconds(w->seconds, t, sizeof t));
  }
  fprintf(f, "\nBest values are each metric's best over the epochs run; the best epoch is that of `%s`.",
          rt_metric_key(s->rank_metric));
  if (ranked) write_noise(s, &rows[0], f);
  fprintf(f, "\n\n![Validation accuracy per epoch](%s)\n", TUNE_FILE_CHART);
  if (ranked < s->n) {
    fputs("\n## Not ranked\n\n| experiment | status | epochs run / configured | reason |\n|---|---|---|---|\n", f);
    for (int i = ranked; i < s->n; i++) {
      const TuneRun *r = &s->runs[rows[i].run];
      fprintf(f, "| %s | %s | %s | %s |\n", r->e.name, tune_status_name(r->status),
              epochs_cell(r, &rows[i], ep, sizeof ep), reason_of(r, why, sizeof why));
    }
  }
  if (ranked) {
    const TuneRun *r = &s->runs[rows[0].run];
    fprintf(f, "\n## Best configuration: %s\n\n", r->e.name);
    if (r->checkpoint_epoch >= 1)
      fprintf(f, "Checkpoint: `%s/best.safetensors` (the epoch with the best `%s`, epoch %d); ", r->e.name,
              FE_METRIC_NAMES[r->e.early_stopping.metric], r->checkpoint_epoch);
    else
      fprintf(f, "No best checkpoint (`%s` never had a value); ", FE_METRIC_NAMES[r->e.early_stopping.metric]);
    fprintf(f, "logs and metrics in `%s/`.\n\n```json\n", r->e.name);
    /* the network, layer by layer, is in summary.json; here the preset names it */
    cJSON *c = cJSON_Parse(r->config_json);
    if (cJSON_GetObjectItemCaseSensitive(c, "network")) {
      char net[160];
      snprintf(net, sizeof net, "preset %s, %lld parameters (every layer: summary.json)", r->e.preset->name,
               (long long)r->e.preset->params);
      cJSON_ReplaceItemInObjectCaseSensitive(c, "network", cJSON_CreateString(net));
    }
    char *pretty = c ? cJSON_Print(c) : NULL;
    fprintf(f, "%s\n```\n", pretty ? pretty : r->config_json);
    free(pretty);
    cJSON_Delete(c);
  }
  fprintf(f, "\n## Files\n\n- `%s`: this report as JSON\n- `<experiment>/`: results.json, metrics.jsonl, "
             "train.log, best.safetensors, last.safetensors\n- TensorBoard: `tensorboard --logdir %s`\n",
          TUNE_FILE_SUMMARY, s->out_dir);
}

static cJSON *run_json(const TuneSweep *s, const TuneRow *w) {
  const TuneRun *r = &s->runs[w->run];
  cJSON *o = cJSON_CreateObject();
  cJSON_AddItemToObject(o, "rank", w->rank ? cJSON_CreateNumber(w->rank) : cJSON_CreateNull());
  cJSON_AddStringToObject(o, "experiment", r->e.name);
  cJSON_AddStringToObject(o, "status", tune_status_name(r->status));
  cJSON_AddItemToObject(o, "reason", r->reason[0] ? cJSON_CreateString(r->reason) : cJSON_CreateNull());
  cJSON_AddStringToObject(o, "preset", r->e.preset->name);
  cJSON_AddNumberToObject(o, "batch_size", r->e.batch_size);
  cJSON_AddNumberToObject(o, "learning_rate", r->e.learning_rate);
  cJSON_AddNumberToObject(o, "epochs_run", w->epochs);
  cJSON_AddNumberToObject(o, "epochs_configured", r->e.epochs);
  cJSON_AddBoolToObject(o, "epochs_mismatch", r->epochs_mismatch);
  cJSON_AddItemToObject(o, "best_epoch", w->best_epoch ? cJSON_CreateNumber(w->best_epoch) : cJSON_CreateNull());
  cJSON *best = cJSON_AddObjectToObject(o, "best");
  for (int k = 0; k < N_ROW_METRICS; k++)
    cJSON_AddItemToObject(best, rt_metric_key(ROW_METRICS[k]), rt_json_exact_number(w->best[ROW_METRICS[k]]));
  bool diverged = r->status == TUNE_DIVERGED;
  cJSON_AddItemToObject(o, "diverged_at_step",
                        diverged ? cJSON_CreateNumber((double)r->diverged_at_step) : cJSON_CreateNull());
  cJSON_AddItemToObject(o, "pruned_at_epoch", r->pruned_at ? cJSON_CreateNumber(r->pruned_at) : cJSON_CreateNull());
  cJSON_AddItemToObject(o, "checkpoint_epoch",
                        r->checkpoint_epoch > 0 ? cJSON_CreateNumber(r->checkpoint_epoch) : cJSON_CreateNull());
  cJSON_AddNumberToObject(o, "params", (double)r->params);
  cJSON_AddItemToObject(o, "time_s", rt_json_exact_number(w->seconds));
  cJSON *hist = cJSON_AddArrayToObject(o, "history");
  static const RtMetric kept[] = {RT_METRIC_TRAIN_LOSS, RT_METRIC_VAL_LOSS, RT_METRIC_VAL_CHAR_ACC,
                                  RT_METRIC_VAL_SEQ_ACC, RT_METRIC_VAL_CER, RT_METRIC_LR};
  for (int e = 0; e < w->epochs; e++) {
    cJSON *h = cJSON_CreateObject();
    cJSON_AddNumberToObject(h, "epoch", r->history[e].epoch);
    for (size_t k = 0; k < sizeof kept / sizeof *kept; k++)
      cJSON_AddItemToObject(h, rt_metric_key(kept[k]), rt_json_exact_number(r->history[e].v[kept[k]]));
    cJSON_AddItemToArray(hist, h);
  }
  cJSON *cfg = cJSON_Parse(r->config_json);
  cJSON_AddItemToObject(o, "config", cfg ? cfg : cJSON_CreateObject());
  return o;
}

char *tune_report_summary_json(const TuneSweep *s, bool complete) {
  TuneRow *rows = malloc((size_t)(s->n ? s->n : 1) * sizeof *rows);
  int ranked = tune_report_rank(s, rows);
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "schema_version", 1);
  cJSON_AddStringToObject(o, "smelt_version", SMELT_VERSION);
  cJSON_AddStringToObject(o, "config", s->config_path);
  cJSON_AddBoolToObject(o, "complete", complete);
  cJSON_AddStringToObject(o, "rank_by", rt_metric_key(s->rank_metric));
  cJSON_AddItemToObject(o, "epochs_override",
                        s->epochs_override ? cJSON_CreateNumber(s->epochs_override) : cJSON_CreateNull());
  if (s->prune) {
    cJSON *p = cJSON_AddObjectToObject(o, "pruning");
    cJSON_AddStringToObject(p, "metric", rt_metric_key(s->rank_metric));
    cJSON_AddNumberToObject(p, "warmup_epochs", s->prune_warmup);
    cJSON_AddNumberToObject(p, "min_others", TUNE_PRUNE_MIN_OTHERS);
  } else {
    cJSON_AddNullToObject(o, "pruning");
  }
  int count[TUNE_STATUS_COUNT] = {0};
  for (int i = 0; i < s->n; i++) count[s->runs[i].status]++;
  cJSON *c = cJSON_AddObjectToObject(o, "counts");
  cJSON_AddNumberToObject(c, "experiments", s->n);
  cJSON_AddNumberToObject(c, "ranked", ranked);
  for (int k = TUNE_PENDING; k < TUNE_STATUS_COUNT; k++) cJSON_AddNumberToObject(c, tune_status_name(k), count[k]);
  cJSON_AddItemToObject(o, "best", ranked ? cJSON_CreateString(s->runs[rows[0].run].e.name) : cJSON_CreateNull());
  cJSON *runs = cJSON_AddArrayToObject(o, "experiments");
  for (int i = 0; i < s->n; i++) cJSON_AddItemToArray(runs, run_json(s, &rows[i]));
  cJSON *files = cJSON_AddObjectToObject(o, "files");
  cJSON_AddStringToObject(files, "report", TUNE_FILE_REPORT);
  cJSON_AddStringToObject(files, "chart", TUNE_FILE_CHART);
  cJSON_AddStringToObject(files, "tensorboard_logdir", ".");
  cJSON *sweep = cJSON_AddObjectToObject(o, "sweep"); /* how it ran: may differ between equal sweeps */
  cJSON_AddNumberToObject(sweep, "jobs", s->jobs);
  cJSON_AddNumberToObject(sweep, "ranks", s->n_ranks > 1 ? s->n_ranks : 1);
  cJSON_AddNumberToObject(sweep, "hosts", s->n_hosts > 1 ? s->n_hosts : 1);
  cJSON_AddNumberToObject(sweep, "ranks_lost", s->ranks ? tune_ranks_lost(s->ranks) : 0);
  cJSON_AddNumberToObject(sweep, "threads_per_job", s->threads);
  cJSON_AddBoolToObject(sweep, "resumed", s->resume);
  cJSON_AddItemToObject(sweep, "wall_time_s", rt_json_exact_number(rt_now_seconds() - s->started));
  char *text = cJSON_Print(o);
  cJSON_Delete(o);
  free(rows);
  return text;
}

static bool write_text(const char *dir, const char *file, const char *text, size_t len, RtDiags *d) {
  char path[PATH_MAX + 64];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  return rt_fs_write_atomic(path, text, len, d);
}

bool tune_report_write(const TuneSweep *s, bool complete, RtDiags *d) {
  TuneRow *rows = malloc((size_t)(s->n ? s->n : 1) * sizeof *rows);
  int ranked = tune_report_rank(s, rows);
  char *md = NULL;
  size_t md_len = 0;
  FILE *f = open_memstream(&md, &md_len);
  write_markdown(s, rows, ranked, complete, f);
  fclose(f);
  bool ok = write_text(s->out_dir, TUNE_FILE_REPORT, md, md_len, d);
  char *json = tune_report_summary_json(s, complete);
  ok = write_text(s->out_dir, TUNE_FILE_SUMMARY, json, strlen(json), d) && ok;
  char *svg = tune_chart_svg(s);
  ok = write_text(s->out_dir, TUNE_FILE_CHART, svg, strlen(svg), d) && ok;
  free(svg);
  free(json);
  free(md);
  free(rows);
  return ok;
}

/* The winner read back: a few validation samples at its best epoch. */
static void best_model_print(const TuneSweep *s, const TuneRun *r, FILE *out) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/%s", s->out_dir, r->e.name);
  fputc('\n', out);
  rt_val_samples_print(dir, RT_VAL_SAMPLES_SHOWN, out);
}

void tune_report_print(const TuneSweep *s, FILE *out) {
  TuneRow *rows = malloc((size_t)(s->n ? s->n : 1) * sizeof *rows);
  int ranked = tune_report_rank(s, rows);
  int w = 10, pw = 6;
  for (int i = 0; i < s->n; i++) {
    if ((int)strlen(s->runs[i].e.name) > w) w = (int)strlen(s->runs[i].e.name);
    if ((int)strlen(s->runs[i].e.preset->name) > pw) pw = (int)strlen(s->runs[i].e.preset->name);
  }
  char a[16], b[16], t[16], ep[64], lr[32], why[96];
  fprintf(out, "\nranked by best %s (%s):\n\n", metric_title(s->rank_metric), rt_metric_key(s->rank_metric));
  fprintf(out, "  rank  %-*s  char acc  seq acc  %-*s  batch  lr        epochs run / configured  best epoch  time\n", w,
          "experiment", pw, "preset");
  for (int i = 0; i < ranked; i++) {
    const TuneRow *row = &rows[i];
    const TuneRun *r = &s->runs[row->run];
    snprintf(lr, sizeof lr, "%g", r->e.learning_rate);
    fprintf(out, "  %4d  %-*s  %8s  %7s  %-*s  %5d  %-8s  %-23s  %10d  %s\n", row->rank, w, r->e.name,
            tune_format_metric(RT_METRIC_VAL_CHAR_ACC, row->best[RT_METRIC_VAL_CHAR_ACC], a, sizeof a),
            tune_format_metric(RT_METRIC_VAL_SEQ_ACC, row->best[RT_METRIC_VAL_SEQ_ACC], b, sizeof b), pw,
            r->e.preset->name, r->e.batch_size, lr, epochs_cell(r, row, ep, sizeof ep), row->best_epoch,
            tune_format_seconds(row->seconds, t, sizeof t));
  }
  if (!ranked) fputs("  (no experiment finished)\n", out);
  else best_model_print(s, &s->runs[rows[0].run], out);
  if (ranked < s->n) {
    fputs("\nnot ranked:\n", out);
    for (int i = ranked; i < s->n; i++) {
      const TuneRun *r = &s->runs[rows[i].run];
      fprintf(out, "  %-*s  %-13s  %-23s  %s\n", w, r->e.name, tune_status_name(r->status),
              epochs_cell(r, &rows[i], ep, sizeof ep), reason_of(r, why, sizeof why));
    }
  }
  fputc('\n', out);
  write_warnings(s, out, false);
  free(rows);
}

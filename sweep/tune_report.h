/* The sweep's report, in the output folder: report.md (the ranking table, the runs that were not
 * ranked with their reasons, the best configuration in full, the chart), summary.json (the same
 * content for programs; docs/tune.md) and accuracy.svg (tune_chart.h); and the ranking printed on
 * the terminal. Every number comes from the runs' histories, which were read through the
 * validating readers of rt_results.h, and every metric key from rt_metric_key. */
#ifndef SMELT_SWEEP_TUNE_REPORT_H
#define SMELT_SWEEP_TUNE_REPORT_H

#include "sweep/tune_sweep.h"

#define TUNE_FILE_REPORT "report.md"
#define TUNE_FILE_SUMMARY "summary.json"
#define TUNE_FILE_CHART "accuracy.svg"

/* One run's line of the report. */
typedef struct TuneRow {
  int run;          /* index into s->runs */
  int rank;         /* 1.. for ranked runs (ok, early_stopped), 0 for the others */
  int epochs;       /* epochs that count (cut at the pruning epoch) */
  int best_epoch;   /* epoch of the best rank metric, 0 when none */
  double best[RT_METRIC_COUNT]; /* best value of each validation metric over those epochs (NaN: none) */
  double seconds;   /* training + validation time: the sum of the epochs' `seconds` */
} TuneRow;

/* Fills rows (s->n of them): the ranked runs first, best first by the rank metric, ties broken by
 * the other accuracy, then the validation loss, then config order; then the other runs in config
 * order. Returns the number ranked. */
int tune_report_rank(const TuneSweep *s, TuneRow *rows);

/* Writes report.md, summary.json and accuracy.svg into s->out_dir (each atomically). `complete`
 * is false while runs are still to come (a report rewritten as runs end, or after an interruption). */
bool tune_report_write(const TuneSweep *s, bool complete, RtDiags *d);

/* The summary as JSON text (caller frees); what summary.json holds. */
char *tune_report_summary_json(const TuneSweep *s, bool complete);

/* The ranking table and the runs not ranked, for the terminal. */
void tune_report_print(const TuneSweep *s, FILE *out);

#endif

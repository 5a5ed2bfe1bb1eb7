/* SVG line chart of a sweep (tune_chart.h), written by hand: two panels sharing the x axis
 * (epochs) with y from 0 to 100%, a grid, polylines per run, and a legend below. Coordinates are
 * printed with one decimal, so the file is small and the same histories give the same bytes. */
#include "sweep/tune_chart.h"

#include <math.h>
#include <stdlib.h>

enum { PANEL_W = 420, PANEL_H = 260, MARGIN_L = 56, MARGIN_T = 56, GAP = 80, LEGEND_ROW = 20, LEGEND_COLS = 3 };

/* Tableau 10: distinguishable, also for the common colour-vision deficiencies. */
static const char *const PALETTE[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                      "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
enum { N_COLORS = sizeof PALETTE / sizeof *PALETTE };

static void put_escaped(FILE *f, const char *s) {
  for (; *s; s++) {
    switch (*s) {
      case '&': fputs("&amp;", f); break;
      case '<': fputs("&lt;", f); break;
      case '>': fputs("&gt;", f); break;
      case '"': fputs("&quot;", f); break;
      default: fputc(*s, f);
    }
  }
}

/* Tick spacing 1, 2, 5, 10, 20, 50, ... with at most ~10 ticks. */
static int tick_step(int max_epoch) {
  for (int step = 1;; step *= 10) {
    if (max_epoch <= 10 * step) return step;
    if (max_epoch <= 20 * step) return 2 * step;
    if (max_epoch <= 50 * step) return 5 * step;
  }
}

static double x_of(int epoch, int max_epoch, double x0) {
  return x0 + (max_epoch > 1 ? (double)(epoch - 1) / (max_epoch - 1) * PANEL_W : PANEL_W / 2.0);
}

static double y_of(double v) { return MARGIN_T + (1 - fmin(fmax(v, 0), 1)) * PANEL_H; }

static void panel(FILE *f, const TuneSweep *s, RtMetric m, const char *title, double x0, int max_epoch) {
  fprintf(f, "<text x=\"%.1f\" y=\"%d\" class=\"title\">%s</text>\n", x0 + PANEL_W / 2.0, MARGIN_T - 12, title);
  for (int p = 0; p <= 100; p += 25) {
    double y = y_of(p / 100.0);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>\n", x0, y, x0 + PANEL_W, y);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"ytick\">%d%%</text>\n", x0 - 6, y + 4, p);
  }
  int step = tick_step(max_epoch);
  for (int e = 1; e <= max_epoch; e += (e == 1 && step > 1) ? step - 1 : step) {
    double x = x_of(e, max_epoch, x0);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" class=\"axis\"/>\n", x, MARGIN_T + PANEL_H, x,
            MARGIN_T + PANEL_H + 5);
    fprintf(f, "<text x=\"%.1f\" y=\"%d\" class=\"xtick\">%d</text>\n", x, MARGIN_T + PANEL_H + 18, e);
  }
  fprintf(f, "<rect x=\"%.1f\" y=\"%d\" width=\"%d\" height=\"%d\" class=\"frame\"/>\n", x0, MARGIN_T, PANEL_W,
          PANEL_H);
  fprintf(f, "<text x=\"%.1f\" y=\"%d\" class=\"label\">epoch</text>\n", x0 + PANEL_W / 2.0, MARGIN_T + PANEL_H + 36);
  for (int i = 0; i < s->n; i++) {
    const TuneRun *r = &s->runs[i];
    int n = tune_run_epochs(r);
    const char *dash = tune_status_ranked(r->status) ? "" : " stroke-dasharray=\"6 4\"";
    fprintf(f, "<g stroke=\"%s\" fill=\"%s\"><title>", PALETTE[i % N_COLORS], PALETTE[i % N_COLORS]);
    put_escaped(f, r->e.name);
    fputs("</title>\n", f);
    bool open = false;
    for (int e = 0; e < n; e++) {
      double v = r->history[e].v[m];
      if (!isfinite(v)) {
        if (open) fputs("\"/>\n", f);
        open = false;
        continue;
      }
      if (!open) fprintf(f, "<polyline class=\"line\"%s points=\"", dash);
      fprintf(f, "%s%.1f,%.1f", open ? " " : "", x_of(e + 1, max_epoch, x0), y_of(v));
      open = true;
    }
    if (open) fputs("\"/>\n", f);
    for (int e = 0; e < n && n <= 40; e++)
      if (isfinite(r->history[e].v[m]))
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\"/>\n", x_of(e + 1, max_epoch, x0),
                y_of(r->history[e].v[m]));
    fputs("</g>\n", f);
  }
}

char *tune_chart_svg(const TuneSweep *s) {
  int max_epoch = 1;
  for (int i = 0; i < s->n; i++)
    if (tune_run_epochs(&s->runs[i]) > max_epoch) max_epoch = tune_run_epochs(&s->runs[i]);
  int legend_rows = (s->n + LEGEND_COLS - 1) / LEGEND_COLS;
  int width = 2 * MARGIN_L + 2 * PANEL_W + GAP, legend_top = MARGIN_T + PANEL_H + 60;
  int height = legend_top + legend_rows * LEGEND_ROW + 16;
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
             "font-family=\"sans-serif\" font-size=\"12\">\n", width, height, width, height);
  fputs("<style>.title{font-size:14px;font-weight:bold;text-anchor:middle}.grid{stroke:#ddd}"
        ".axis{stroke:#444}.frame{fill:none;stroke:#444}.ytick{text-anchor:end;fill:#444}"
        ".xtick{text-anchor:middle;fill:#444}.label{text-anchor:middle;fill:#444}"
        ".line{fill:none;stroke-width:2}.legend{fill:#222}</style>\n", f);
  fputs("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"12\" y=\"20\" font-size=\"15\">", f);
  fputs("Validation accuracy per epoch: ", f);
  put_escaped(f, s->config_path);
  fputs("</text>\n", f);
  panel(f, s, RT_METRIC_VAL_CHAR_ACC, "character accuracy", MARGIN_L, max_epoch);
  panel(f, s, RT_METRIC_VAL_SEQ_ACC, "sequence accuracy", MARGIN_L + PANEL_W + GAP, max_epoch);
  int col_w = (width - 2 * MARGIN_L) / LEGEND_COLS;
  for (int i = 0; i < s->n; i++) {
    const TuneRun *r = &s->runs[i];
    double x = MARGIN_L + (i % LEGEND_COLS) * col_w, y = legend_top + (i / LEGEND_COLS) * LEGEND_ROW;
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"3\"%s/>\n", x, y - 4,
            x + 24, y - 4, PALETTE[i % N_COLORS], tune_status_ranked(r->status) ? "" : " stroke-dasharray=\"6 4\"");
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"legend\">", x + 30, y);
    put_escaped(f, r->e.name);
    if (!tune_status_ranked(r->status)) fprintf(f, " (%s)", tune_status_name(r->status));
    fputs("</text>\n", f);
  }
  fputs("</svg>\n", f);
  fclose(f);
  return text;
}

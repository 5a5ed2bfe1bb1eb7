/* Printing the plan of a config: what would run, and which experiments share a compiled module
 * (fe_config_module_groups). Columns are sized to their longest entry so that the table stays
 * readable for long experiment names. */
#include "frontend/fe_plan.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "support/rt_assert.h"

const char *fe_format_count(int64_t n, char *buf, size_t size) {
  char digits[32];
  unsigned long long u = n < 0 ? 0ULL - (unsigned long long)n : (unsigned long long)n;
  int len = snprintf(digits, sizeof digits, "%llu", u);
  size_t o = 0;
  if (n < 0 && o + 1 < size) buf[o++] = '-';
  for (int i = 0; i < len && o + 1 < size; i++) {
    if (i > 0 && (len - i) % 3 == 0 && o + 2 < size) buf[o++] = ',';
    buf[o++] = digits[i];
  }
  buf[o] = 0;
  return buf;
}

const char *fe_loss_format(const FeLoss *l, char *buf, size_t size) {
  const char *name = FE_LOSS_NAMES[l->kind];
  if (l->kind == FE_LOSS_CROSS_ENTROPY && l->label_smoothing > 0)
    snprintf(buf, size, "%s (label_smoothing %g)", name, l->label_smoothing);
  else if (l->kind == FE_LOSS_FOCAL && l->has_alpha)
    snprintf(buf, size, "%s (gamma %g, alpha %g)", name, l->gamma, l->alpha);
  else if (l->kind == FE_LOSS_FOCAL)
    snprintf(buf, size, "%s (gamma %g)", name, l->gamma);
  else
    snprintf(buf, size, "%s", name);
  return buf;
}

const char *fe_data_format(const FeData *d, char *buf, size_t size) {
  char folders[560];
  if (d->val) snprintf(folders, sizeof folders, "folders %s, %s", d->train, d->val);
  else snprintf(folders, sizeof folders, "folder %s (%g held out)", d->train, d->val_split);
  if (d->synthetic && d->train)
    snprintf(buf, size, "%s, mixed with %d synthetic samples of length %d-%d generated every epoch", folders,
             d->train_count, d->length[0], d->length[1]);
  else if (d->synthetic)
    snprintf(buf, size, "synthetic %d/%d, length %d-%d%s", d->train_count, d->val_count, d->length[0],
             d->length[1], d->fresh ? ", fresh training samples every epoch" : "");
  else
    snprintf(buf, size, "%s", folders);
  return buf;
}

static int max_int(int a, int b) { return a > b ? a : b; }

/* The data column is printed only when experiments differ in it; usually they all share one. */
static bool same_data(const FeConfig *c) {
  char a[600], b[600];
  for (int i = 1; i < c->count; i++)
    if (strcmp(fe_data_format(&c->experiments[0].data, a, sizeof a),
               fe_data_format(&c->experiments[i].data, b, sizeof b)) != 0)
      return false;
  return true;
}

void fe_plan_print(const FeConfig *c, FILE *out) {
  int wn = (int)strlen("experiment"), wp = (int)strlen("preset"), wl = (int)strlen("loss");
  char loss[128], count[32], data[600];
  for (int i = 0; i < c->count; i++) {
    const FeExperiment *e = &c->experiments[i];
    wn = max_int(wn, (int)strlen(e->name));
    wp = max_int(wp, (int)strlen(e->preset->name));
    wl = max_int(wl, (int)strlen(fe_loss_format(&e->loss, loss, sizeof loss)));
  }
  bool one_data = same_data(c);
  fprintf(out, "%s: %d experiment%s, presets from %s\n", c->path, c->count, c->count == 1 ? "" : "s",
          c->presets_dir);
  if (one_data && c->count)
    fprintf(out, "data: %s\n", fe_data_format(&c->experiments[0].data, data, sizeof data));
  fprintf(out, "\n  %-*s  %-*s  %12s  %6s  %5s  %-9s  %-9s  %-*s%s\n", wn, "experiment", wp, "preset",
          "params", "epochs", "batch", "lr", "optimizer", one_data ? 0 : wl, "loss",
          one_data ? "" : "  data");
  for (int i = 0; i < c->count; i++) {
    const FeExperiment *e = &c->experiments[i];
    fprintf(out, "  %-*s  %-*s  %12s  %6d  %5d  %-9g  %-9s  %-*s%s%s\n", wn, e->name, wp, e->preset->name,
            fe_format_count(e->preset->params, count, sizeof count), e->epochs, e->batch_size,
            e->learning_rate, FE_OPTIMIZER_NAMES[e->optimizer.kind], one_data ? 0 : wl,
            fe_loss_format(&e->loss, loss, sizeof loss), one_data ? "" : "  ",
            one_data ? "" : fe_data_format(&e->data, data, sizeof data));
  }
  int *group = rt_xmalloc((size_t)(c->count ? c->count : 1) * sizeof *group);
  int groups = fe_config_module_groups(c, group);
  fprintf(out, "\n%d compiled module%s (same preset, batch size, loss, optimizer, clipping and precision share one)%s\n",
          groups,
          groups == 1 ? "" : "s",
          groups < c->count ? ":" : c->count > 1 ? "; no two experiments share one" : "");
  /* Each group's experiments in order, as chains through next[], so the listing is one pass. */
  int *first = rt_xmalloc((size_t)(groups ? groups : 1) * sizeof *first);
  int *last = rt_xmalloc((size_t)(groups ? groups : 1) * sizeof *last);
  int *next = rt_xmalloc((size_t)(c->count ? c->count : 1) * sizeof *next);
  for (int g = 0; g < groups; g++) first[g] = last[g] = -1;
  for (int i = 0; i < c->count; i++) {
    int g = group[i];
    next[i] = -1;
    if (first[g] < 0) first[g] = i;
    else next[last[g]] = i;
    last[g] = i;
  }
  for (int g = 0; g < groups && groups < c->count; g++) {
    const FeExperiment *head = &c->experiments[first[g]];
    fprintf(out, "  %s, batch %d, %s, %s%s:", head->preset->name, head->batch_size, FE_LOSS_NAMES[head->loss.kind],
            FE_OPTIMIZER_NAMES[head->optimizer.kind], head->precision == RT_PRECISION_BF16 ? ", bf16" : "");
    for (int i = first[g]; i >= 0; i = next[i]) fprintf(out, " %s", c->experiments[i].name);
    fprintf(out, "\n");
  }
  free(first);
  free(last);
  free(next);
  free(group);
}

/* Checks of a merged experiment against itself and its preset: the combinations no single key
 * can be wrong about (a CTC loss on an attention head, labels longer than the decoder emits or the
 * CTC steps hold, a colour model for grayscale data, a learning-rate floor above the rate). Each problem is reported at the value the experiment
 * wrote itself when it wrote one, else at the default it inherited, prefixed with the
 * experiment's name because the defaults serve every experiment. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "frontend/fe_layer.h"
#include "frontend/fe_settings.h"

typedef struct Origin {
  const FeNode *node; /* NULL: a built-in default */
  bool from_defaults;
} Origin;

/* The node naming a typed setting's type: the bare name, or the mapping's `type`. */
static const FeNode *type_of(const FeNode *n) {
  return n && n->kind == FE_NODE_MAP ? fe_node_get(n, "type") : n;
}

/* Where key (or key.sub) of an experiment came from. A typed setting that the experiment
 * switched to another type did not inherit the defaults' options, so they are not searched. */
static Origin origin(const FeNode *exp, const FeNode *defs, const char *key, const char *sub) {
  const FeNode *e = fe_node_get(exp, key), *d = fe_node_get(defs, key);
  if (!sub) return e ? (Origin){e, false} : (Origin){d, d != NULL};
  if (fe_node_get(e, sub)) return (Origin){fe_node_get(e, sub), false};
  const FeNode *te = type_of(e), *td = type_of(d);
  bool replaced = e && (strcmp(key, "data") == 0 ||
                        (te && (!td || te->kind != FE_NODE_SCALAR || td->kind != FE_NODE_SCALAR ||
                                strcmp(te->text, td->text) != 0)));
  if (!replaced && fe_node_get(d, sub)) return (Origin){fe_node_get(d, sub), true};
  return e ? (Origin){e, false} : (Origin){d, d != NULL};
}

/* The first of a, b that the experiment wrote, else the first inherited one. */
static Origin pick(Origin a, Origin b) {
  if (a.node && !a.from_defaults) return a;
  if (b.node && !b.from_defaults) return b;
  return a.node ? a : b;
}

__attribute__((format(printf, 6, 7))) static void report(FeCtx *c, RtDiagLevel level,
                                                         const FeExperiment *e, Origin at,
                                                         const FeNode *name_key, const char *fmt, ...) {
  char msg[700];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  const FeNode *n = at.node ? at.node : name_key;
  if (at.from_defaults || !at.node)
    rt_diag_add(c->diags, level, c->file, n->line, n->col, "experiment '%s': %s", e->name, msg);
  else
    rt_diag_add(c->diags, level, c->file, n->line, n->col, "%s", msg);
}

static bool has_config_dropout(const FePreset *p) { return fe_preset_train_inputs(p).dropout; }

void fe_experiment_check(FeCtx *c, FeExperiment *e, const FeNode *exp, const FeNode *defs,
                         const FeNode *name_key) {
  const FePreset *p = e->preset;
  const FeLayer *head = p->head;
  bool ctc_head = fe_layer_class(head->kind)->ctc;
  Origin model = origin(exp, defs, "model", NULL);
#define ERROR(at, ...) report(c, RT_DIAG_ERROR, e, at, name_key, __VA_ARGS__)
#define WARN(at, ...) report(c, RT_DIAG_WARNING, e, at, name_key, __VA_ARGS__)

  if ((int)e->loss.kind == FE_LOSS_UNSET)
    e->loss.kind = ctc_head ? FE_LOSS_CTC : FE_LOSS_CROSS_ENTROPY;
  else if ((e->loss.kind == FE_LOSS_CTC) != ctc_head) {
    Origin loss = origin(exp, defs, "loss", NULL), at = pick(loss, model);
    char from[64] = "";
    if (at.node == model.node && loss.from_defaults)
      snprintf(from, sizeof from, " (the loss comes from 'defaults', line %d)", loss.node->line);
    ERROR(at, "loss '%s' needs %s head, but preset '%s' has %s head%s", FE_LOSS_NAMES[e->loss.kind],
          ctc_head ? "an attention" : "a CTC", p->name, ctc_head ? "a CTC" : "an attention", from);
  }

  const FeScheduler *s = &e->scheduler;
  Origin lr = origin(exp, defs, "learning_rate", NULL), epochs = origin(exp, defs, "epochs", NULL);
  if ((s->kind == FE_SCHED_REDUCE_ON_PLATEAU || s->kind == FE_SCHED_COSINE) && s->min_lr >= e->learning_rate)
    ERROR(pick(origin(exp, defs, "scheduler", "min_lr"), lr), "min_lr %g must be below learning_rate %g",
          s->min_lr, e->learning_rate);
  if (!rt_schedule_warmup_fits((RtScheduleKind)s->kind, s->warmup_epochs, e->epochs))
    ERROR(pick(origin(exp, defs, "scheduler", "warmup_epochs"), epochs),
          "warmup_epochs %d must be below epochs %d", s->warmup_epochs, e->epochs);
  if (s->kind == FE_SCHED_STEP && s->step_size >= e->epochs)
    WARN(pick(origin(exp, defs, "scheduler", "step_size"), epochs),
         "step_size %d is not below epochs %d: the learning rate never changes", s->step_size, e->epochs);

  if (e->optimizer.kind == FE_OPT_SGD && e->optimizer.nesterov && e->optimizer.momentum <= 0)
    ERROR(pick(origin(exp, defs, "optimizer", "nesterov"), origin(exp, defs, "optimizer", "momentum")),
          "nesterov needs momentum > 0");

  Origin data = origin(exp, defs, "data", NULL);
  const FeNode *synth = fe_node_get(data.node, "synthetic");
  if (e->data.synthetic && e->data.length[1] > head->head.max_length) {
    Origin at = {fe_node_get(synth, "length"), data.from_defaults};
    ERROR(pick(at.node ? at : data, model), "labels of up to %d symbols do not fit preset '%s' (max_length %d)%s",
          e->data.length[1], p->name, head->head.max_length,
          at.node ? "" : "; set data: {synthetic: {length: [min, max]}}");
  }
  int steps = ctc_head ? (int)head->in.dims[0] : 0, worst = 2 * e->data.length[1] - 1;
  if (e->data.synthetic && ctc_head && worst > steps) {
    Origin at = {fe_node_get(synth, "length"), data.from_defaults};
    ERROR(pick(at.node ? at : data, model),
          "generated labels of up to %d symbols can need %d CTC time steps (a blank between repeated symbols), "
          "but preset '%s' has %d",
          e->data.length[1], worst, p->name, steps);
  }
  if (p->channels != 1)
    ERROR(model, "preset '%s' takes %d-channel images, but training data are grayscale (1 channel): "
          "set its input to {channels: 1}", p->name, p->channels);
  if (e->data.charset_size > head->head.symbols)
    ERROR(pick((Origin){fe_node_get(data.node, "charset"), data.from_defaults}, model),
          "charset has %d symbols, but preset '%s' has room for %d", e->data.charset_size, p->name,
          head->head.symbols);

  Origin dropout = origin(exp, defs, "dropout", NULL);
  if (dropout.node && e->dropout > 0 && !has_config_dropout(p))
    WARN(dropout, "dropout %g has no effect: preset '%s' has no dropout layer without a fixed rate",
         e->dropout, p->name);
#undef ERROR
#undef WARN
}

/* Lowering driver (fe_lower.h): checks the options against the preset, creates the inputs, walks
 * the encoder layers in order (creating each one's params with PyTorch-like names, then its
 * row's lower), then the head, the loss and the outputs. It reaches every layer through the
 * layer table (fe_layer.h) and knows no layer kind. Every layer's IR shape is checked
 * against the shape fe_shape.c inferred, so the two can never drift apart silently. */
#include "frontend/fe_lower.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "frontend/fe_layer.h"
#include "support/rt_assert.h"

const char *const FE_GRAPH_KIND_NAMES[FE_GRAPH_KIND_COUNT] = {"train", "eval", "infer"};

/* fe_layer_params' relative names -> PyTorch's: "l1.reverse.w_ih" -> "l1_reverse.weight_ih",
 * "l0.forward.b" -> "l0.bias", "cell.w_hh" -> "cell.weight_hh", "embedding" -> "embedding.weight". */
static void torch_name(const char *fe, char *buf, size_t size) {
  char tmp[64];
  snprintf(tmp, sizeof tmp, "%.63s", fe);
  size_t o = 0;
  buf[0] = 0;
  for (char *save = NULL, *tok = strtok_r(tmp, ".", &save); tok; tok = strtok_r(NULL, ".", &save)) {
    const char *t = tok;
    if (!strcmp(t, "forward")) continue;
    if (!strcmp(t, "w_ih")) t = "weight_ih";
    else if (!strcmp(t, "w_hh")) t = "weight_hh";
    else if (!strcmp(t, "b")) t = "bias";
    bool reverse = !strcmp(t, "reverse");
    o += (size_t)snprintf(buf + o, size - o, "%s%s", reverse ? "_" : o ? "." : "", t);
    if (o >= size) break;
  }
  if (!strchr(buf, '.') && strcmp(buf, "weight") && strcmp(buf, "bias"))
    snprintf(buf + strlen(buf), size - strlen(buf), ".weight");
}

static IrInit ir_init_of(FeInit init) {
  switch (init) {
  case FE_INIT_ZEROS: return IR_INIT_ZEROS;
  case FE_INIT_ONES: return IR_INIT_ONES;
  case FE_INIT_UNIFORM: return IR_INIT_UNIFORM;
  case FE_INIT_NORMAL: return IR_INIT_NORMAL;
  }
  RT_ASSERT(false, "bad init %d", (int)init);
}

/* The graph's name of param `info` of l: "<layer>.<PyTorch name>". */
static void param_full_name(const FeLayer *l, const FeParamInfo *info, char *buf, size_t size) {
  char rel[64];
  torch_name(info->name, rel, sizeof rel);
  fe_lower_param_name(l, rel, buf, size);
}

/* Whether `name` is a param of p whose FeParamInfo has what `has` asks. */
static bool param_with(const FePreset *p, const char *name, bool (*has)(const FeParamInfo *)) {
  for (int k = 0; k < p->layer_count; k++) {
    FeParamInfo info[FE_LAYER_MAX_PARAMS];
    int n = fe_layer_params(&p->layers[k], info);
    for (int i = 0; i < n; i++) {
      char full[128];
      if (!has(&info[i])) continue;
      param_full_name(&p->layers[k], &info[i], full, sizeof full);
      if (strcmp(full, name) == 0) return true;
    }
  }
  return false;
}

static bool is_recurrent_weight(const FeParamInfo *info) { return info->recurrent_weight; }
static bool is_lstm_bias(const FeParamInfo *info) { return info->lstm_bias; }

bool fe_preset_param_is_recurrent_weight(const FePreset *p, const char *name) {
  return param_with(p, name, is_recurrent_weight);
}

bool fe_preset_param_is_lstm_bias(const FePreset *p, const char *name) { return param_with(p, name, is_lstm_bias); }

int fe_preset_quantizable_weights(const FePreset *p, char (*names)[128], int max) {
  int count = 0;
  for (int k = 0; k < p->layer_count; k++) {
    FeParamInfo info[FE_LAYER_MAX_PARAMS];
    int n = fe_layer_params(&p->layers[k], info);
    for (int i = 0; i < n; i++) {
      if (!fe_lower_quantizable(&info[i])) continue;
      if (count < max) param_full_name(&p->layers[k], &info[i], names[count], sizeof names[count]);
      count++;
    }
  }
  return count;
}

/* An int8 weight `name` (i8, loaded from a quantized checkpoint) with its "<name>.scale" (one per
 * output channel) and, with input_scale, "<name>.input_scale" beside it (FeQuantMode). */
static IrId add_i8_weight(IrGraph *g, const char *name, IrShape s, bool input_scale) {
  IrId w = ir_param_i8(g, name, s);
  char beside[160];
  snprintf(beside, sizeof beside, "%s.scale", name);
  ir_param(g, beside, IR_SHAPE(s.dims[0]), IR_INIT_ONES, 0);
  if (input_scale) {
    snprintf(beside, sizeof beside, "%s.input_scale", name);
    ir_param(g, beside, IR_SHAPE(), IR_INIT_ONES, 0);
  }
  return w;
}

/* Creates every param of l (fe_layer_params' shapes and inits, PyTorch names) as graph params
 * named "<layer>.<name>"; false after a diagnostic when a name is taken. */
static bool create_params(FeLowerCtx *c, const FeLayer *l) {
  FeParamInfo info[FE_LAYER_MAX_PARAMS];
  int n = fe_layer_params(l, info);
  for (int i = 0; i < n; i++) {
    char full[128];
    param_full_name(l, &info[i], full, sizeof full);
    if (ir_graph_find(c->g, full) != IR_NONE) {
      rt_diag_error(c->d, l->loc.file, l->loc.line, l->loc.col,
                    "layer '%s': its parameter name '%s' is already taken by another layer "
                    "('-' and '_' are the same in parameter names); rename one of them",
                    l->name, full);
      return false;
    }
    IrShape s = {.rank = info[i].rank};
    for (int k = 0; k < s.rank; k++) s.dims[k] = info[i].dims[k];
    if (c->quant == FE_QUANT_INT8 && info[i].recurrent_weight) { /* no input scale: its input is bounded */
      add_i8_weight(c->g, full, s, false);
      continue;
    }
    if (c->quant == FE_QUANT_NONE || !fe_lower_quantizable(&info[i])) {
      ir_param(c->g, full, s, ir_init_of(info[i].init), info[i].bound);
      continue;
    }
    if (c->n_quantizable == FE_QUANT_MAX_WEIGHTS) {
      rt_diag_error(c->d, l->loc.file, l->loc.line, l->loc.col,
                    "layer '%s': the preset has more than %d weights int8 inference would quantize", l->name,
                    FE_QUANT_MAX_WEIGHTS);
      return false;
    }
    if (c->quant == FE_QUANT_OBSERVE) {
      c->observed[c->n_quantizable] = IR_NONE;
      c->quantizable[c->n_quantizable++] = ir_param(c->g, full, s, ir_init_of(info[i].init), info[i].bound);
      continue;
    }
    c->quantizable[c->n_quantizable++] = add_i8_weight(c->g, full, s, true);
  }
  return true;
}

/* The IR shape a layer's output must have: (B, C, H, W) or time-major (T*B, F). */
static bool shape_matches(const IrGraph *g, IrId x, FeShape s, int batch) {
  const IrShape *is = &ir_type_of(g, x)->shape;
  if (s.rank == 3)
    return is->rank == 4 && is->dims[0] == batch && is->dims[1] == s.dims[0] && is->dims[2] == s.dims[1] &&
           is->dims[3] == s.dims[2];
  return is->rank == 2 && is->dims[0] == (int64_t)s.dims[0] * batch && is->dims[1] == s.dims[1];
}

static IrId scalar_input(IrGraph *g, const char *name, IrDType dtype, double fill) {
  IrId id = ir_input(g, name, dtype, IR_SHAPE());
  ir_node(g, id)->init = IR_INIT_FILL;
  ir_node(g, id)->value = fill;
  return id;
}

/* i32 labels; run-ir and tests fill them with integers in [0, bound). */
static IrId label_input(IrGraph *g, const char *name, IrShape s, int bound) {
  IrId id = ir_input(g, name, IR_I32, s);
  ir_node(g, id)->init = IR_INIT_UNIFORM;
  ir_node(g, id)->value = bound;
  return id;
}

static void create_inputs(FeLowerCtx *c, const FeLowerOptions *o) {
  const FePreset *p = c->p;
  const FeLayer *head = p->head;
  FeModelIO *io = c->io;
  IrGraph *g = c->g;
  int B = c->batch, L = head->head.max_length, K = head->head.classes;
  io->image = ir_input(g, "image", IR_F32, IR_SHAPE(B, p->channels, p->height, p->width));
  if (c->kind != FE_GRAPH_INFER) {
    int steps = L + fe_layer_class(head->kind)->end_tokens;
    io->target = label_input(g, "target", IR_SHAPE(B, steps), K);
    io->target_len = label_input(g, "target_len", IR_SHAPE(B), L + 1);
  }
  if (c->train) {
    FeTrainInputs need = fe_preset_train_inputs(p);
    if (need.dropout) io->dropout = scalar_input(g, "dropout", IR_F32, 0.0);
    if (need.seed) io->seed = scalar_input(g, "seed", IR_I32, 0.0);
  }
  if (c->kind == FE_GRAPH_INFER) return;
  if (o->loss == FE_LOSS_CROSS_ENTROPY) io->label_smoothing = scalar_input(g, "label_smoothing", IR_F32, 0.0);
  if (o->loss == FE_LOSS_FOCAL) {
    io->focal_gamma = scalar_input(g, "focal_gamma", IR_F32, 2.0);
    io->focal_alpha = scalar_input(g, "focal_alpha", IR_F32, 1.0);
  }
}

/* Problems with the options, reported at the head (the part of the preset they concern). */
static bool options_check(const FePreset *p, const FeLowerOptions *o, RtDiags *d) {
  const FeLayer *head = p->head;
  RT_ASSERT(head && fe_layer_class(head->kind)->head, "preset %s has no head", p->name);
  RT_ASSERT(o->kind >= 0 && o->kind < FE_GRAPH_KIND_COUNT, "bad graph kind %d", (int)o->kind);
  int errors = d->errors;
  if (o->batch < 1) rt_diag_error(d, p->path, 0, 0, "batch size must be >= 1, got %d", o->batch);
  if (o->kind != FE_GRAPH_INFER) {
    bool ctc_loss = o->loss == FE_LOSS_CTC, ctc_head = fe_layer_class(head->kind)->ctc;
    if (o->loss < 0 || o->loss >= FE_LOSS_COUNT)
      rt_diag_error(d, p->path, 0, 0, "no loss chosen for the %s graph", FE_GRAPH_KIND_NAMES[o->kind]);
    else if (ctc_loss != ctc_head)
      rt_diag_error(d, head->loc.file, head->loc.line, head->loc.col,
                    "loss '%s' needs %s head, but preset '%s' has %s head", FE_LOSS_NAMES[o->loss],
                    ctc_loss ? "a CTC" : "an attention", p->name, ctc_head ? "a CTC" : "an attention");
  }
  return d->errors == errors;
}

/* The loss and the outputs of each graph kind (fe_lower.h). */
static void finish(FeLowerCtx *c, FeLossKind loss_kind, IrId logits) {
  IrGraph *g = c->g;
  FeModelIO *io = c->io;
  const FeLayerClass *head = fe_layer_class(c->p->head->kind);
  if (c->kind != FE_GRAPH_INFER) {
    io->loss = head->loss(c, loss_kind, logits);
    if (io->loss == IR_NONE) return;
    ir_graph_set_name(g, io->loss, "loss");
    ir_graph_add_output(g, io->loss);
  }
  if (c->kind == FE_GRAPH_TRAIN) { /* for debugging: (B, S, K) or (B, T, C), batch-major */
    IrId bm = head->batch_major ? head->batch_major(c, logits) : logits;
    if (bm == IR_NONE) return;
    ir_graph_set_name(g, bm, "logits");
    ir_graph_add_output(g, bm);
    return;
  }
  if (io->pred == IR_NONE) return;
  ir_graph_set_name(g, io->pred, "pred");
  ir_graph_add_output(g, io->pred);
  if (c->kind != FE_GRAPH_EVAL || io->attention == IR_NONE) return;
  ir_graph_set_name(g, io->attention, "attention");
  ir_graph_add_output(g, io->attention);
}

/* FE_QUANT_OBSERVE's output "absmax": f32[n], one per quantizable weight in creation order. */
static void add_observed_output(FeLowerCtx *c) {
  IrId parts[FE_QUANT_MAX_WEIGHTS];
  for (int i = 0; i < c->n_quantizable; i++)
    parts[i] = c->observed[i] != IR_NONE ? ir_reshape(c->g, c->observed[i], IR_SHAPE(1)) : ir_const_fill(c->g, IR_F32, IR_SHAPE(1), 0);
  IrId all = ir_concat(c->g, c->n_quantizable, parts, 0);
  ir_graph_set_name(c->g, all, "absmax");
  ir_graph_add_output(c->g, all);
}

IrGraph *fe_lower(const FePreset *p, const FeLowerOptions *o, FeModelIO *io_out, RtDiags *d) {
  FeModelIO local;
  FeModelIO *io = io_out ? io_out : &local;
  *io = (FeModelIO){.image = IR_NONE, .target = IR_NONE, .target_len = IR_NONE, .dropout = IR_NONE,
                    .seed = IR_NONE, .label_smoothing = IR_NONE, .focal_gamma = IR_NONE,
                    .focal_alpha = IR_NONE, .loss = IR_NONE, .pred = IR_NONE,
                    .attention = IR_NONE};
  if (!options_check(p, o, d)) return NULL;
  RT_ASSERT(o->quant == FE_QUANT_NONE || o->kind != FE_GRAPH_TRAIN, "a training graph is never quantized");
  const FeLayer *head = p->head;
  char name[96]; /* "small_train", an IR identifier whatever the preset's file is called */
  snprintf(name, sizeof name, "%s_%s", p->name, FE_GRAPH_KIND_NAMES[o->kind]);
  for (char *s = name; *s; s++)
    if (!isalnum((unsigned char)*s) || (s == name && isdigit((unsigned char)*s))) *s = '_';
  FeLowerCtx c = {.g = ir_graph_new(name), .p = p, .kind = o->kind, .train = o->kind == FE_GRAPH_TRAIN,
                  .batch = o->batch, .io = io, .d = d, .quant = o->quant,
                  .sync_processes = o->kind == FE_GRAPH_TRAIN ? o->sync_processes : 0};
  io->max_len = head->head.max_length;
  io->classes = head->head.classes;
  io->time_steps = head->in.dims[0];
  create_inputs(&c, o);

  IrId x = io->image;
  bool ok = true;
  for (int i = 0; ok && i < p->layer_count; i++) {
    const FeLayer *l = &p->layers[i];
    c.layer = i;
    ok = create_params(&c, l);
    if (!ok || l == head) break;
    x = fe_layer_class(l->kind)->lower(&c, l, x);
    if (x == IR_NONE) break;
    RT_ASSERT(shape_matches(c.g, x, l->out, c.batch), "layer %s: IR shape differs from its FeShape", l->name);
  }
  IrId logits = IR_NONE;
  if (ok && x != IR_NONE)
    logits = fe_layer_class(head->kind)->lower(&c, head, x);
  if (ok && (logits != IR_NONE || c.kind == FE_GRAPH_INFER)) finish(&c, o->loss, logits);
  if (ok && c.quant == FE_QUANT_OBSERVE && c.n_quantizable > 0) add_observed_output(&c);
  if (ok && c.g->error[0]) { /* a builder error is a bug here, not a problem of the preset */
    rt_diag_error(d, p->path, 0, 0, "internal error lowering preset '%s': %s", p->name, c.g->error);
    ok = false;
  }
  if (!ok) {
    ir_graph_free(c.g);
    return NULL;
  }
  return c.g;
}

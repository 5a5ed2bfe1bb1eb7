/* ctc: the CTC head (Graves et al. 2006), a linear projection of every encoder step to blank +
 * symbols (blank = 0, symbols 1..), trained with F.ctc_loss; predictions are the argmax per step,
 * collapsed outside the graph. The encoder must give at least max_length steps. */
#include <cjson/cJSON.h>
#include <math.h>

#include "frontend/fe_layer.h"

static const FeField FIELDS[] = {
    FE_KIND_FIELD,
    FE_INT_F("symbols", head.symbols, 1, 100000, 0),
    FE_INT_F("max_length", head.max_length, 1, 1024, 0),
};

static void defaults(FeLayer *l) {
  l->head.symbols = 36;
  l->head.max_length = 8;
}

static void finish(FeCtx *c, FeLayer *l, const FeNode *map) { l->head.classes = l->head.symbols + 1; }

static bool infer(FeCtx *c, FeLayer *l) {
  FeShape in = l->in;
  if (in.dims[0] < l->head.max_length) {
    fe_shape_error(c, l, "needs at least max_length = %d time steps, but the encoder gives %d",
                   l->head.max_length, in.dims[0]);
    return false;
  }
  l->out = (FeShape){2, {in.dims[0], l->head.classes}};
  l->flops = (double)in.dims[0] * l->head.classes * (2.0 * in.dims[1] + 1);
  return true;
}

static int params(const FeLayer *l, FeParamInfo *out) {
  int n = 0;
  const int *in = l->in.dims;
  FE_PARAM("out.weight", FE_INIT_UNIFORM, 1 / sqrt((double)in[1]), l->head.classes, in[1]);
  out[n - 1].product_weight = true;
  FE_PARAM("out.bias", FE_INIT_UNIFORM, 1 / sqrt((double)in[1]), l->head.classes);
  return n;
}

/* Linear projection of every step to blank + symbols: logits (B, T, C) as ctc_loss takes them,
 * and pred (B, T) = argmax per step (repeats and blanks are collapsed outside the graph). */
static IrId lower(FeLowerCtx *c, const FeLayer *l, IrId enc) {
  IrGraph *g = c->g;
  int T = l->in.dims[0], B = c->batch, C = l->head.classes;
  IrId logits = fe_lower_affine(c, enc, fe_lower_param(c, l, "out.weight"), fe_lower_param(c, l, "out.bias"));
  IrId bm = ir_transpose(g, ir_reshape(g, logits, IR_SHAPE(T, B, C)), 3, (int[]){1, 0, 2});
  if (c->kind != FE_GRAPH_TRAIN) c->io->pred = ir_argmax(g, bm, 2);
  return bm;
}

/* F.ctc_loss(blank=0, reduction='mean'): each sample's -log p(target | x) divided by its target
 * length clamped to >= 1, then the mean over the batch. ctc_loss applies log_softmax itself.
 * A sample with target_len < 0 is a padding row (the last, partial batch of an epoch): it is
 * left out of the mean, as attention losses leave out its positions. */
static IrId loss(FeLowerCtx *c, FeLossKind kind, IrId logits) {
  IrGraph *g = c->g;
  IrId per = ir_ctc_loss(g, logits, c->io->target, c->io->target_len, FE_CTC_BLANK);
  IrId lenf = ir_to_f32(g, c->io->target_len);
  IrId len = ir_max(g, lenf, ir_scalar(g, 1.0));
  IrId real = ir_ge(g, lenf, ir_scalar(g, 0.0));
  IrId total = ir_sum_all(g, ir_mul(g, real, ir_div(g, per, len)));
  return ir_div(g, total, ir_max(g, ir_sum_all(g, real), ir_scalar(g, 1.0)));
}

static void json(const FeLayer *l, cJSON *o) {
  cJSON_AddNumberToObject(o, "symbols", l->head.symbols);
  cJSON_AddNumberToObject(o, "max_length", l->head.max_length);
}

const FeLayerClass fe_layer_ctc = {
    .schema = FE_SCHEMA("ctc head", FIELDS),
    .head = true,
    .defaults = defaults,
    .finish = finish,
    .input = FE_INPUT_SEQUENCE,
    .infer = infer,
    .params = params,
    .lower = lower,
    .json = json,
    .ctc = true,
    .loss = loss,
};

/* attention: the peer's decoder head (torch_presets.py Net.step), Bahdanau et al. 2015 additive
 * attention feeding an LSTMCell, run S = max_length + 1 steps (the last emits the end token) with
 * teacher forcing (TRAIN, EVAL) and greedily (EVAL, INFER). Each decoder step has the same ops
 * and shapes, so the backend emits one step's kernels once. The encoder output is time-major,
 * enc (T*B, E); attention is a softmax over T for every sample. Its losses (cross-entropy with
 * label smoothing, focal) average over the valid target positions, t <= target_len (the symbols
 * and the end token), like PyTorch's mean over non-ignored targets. Classes: go = 0, end = 1,
 * symbols 2.. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>

#include "frontend/fe_layer.h"
#include "support/rt_assert.h"

static const FeField FIELDS[] = {
    FE_KIND_FIELD,
    FE_INT_F("symbols", head.symbols, 1, 100000, 0),
    FE_INT_F("max_length", head.max_length, 1, 1024, 0),
    FE_INT_F("embedding", head.embedding, 1, 16384, 0),
    FE_INT_F("attention", head.attention, 1, 16384, 0),
    FE_INT_F("hidden", head.hidden, 1, 16384, 0),
};

/* The peer's sizes. */
static void defaults(FeLayer *l) {
  l->head.embedding = 128;
  l->head.attention = 256;
  l->head.hidden = 512;
  l->head.symbols = 36;
  l->head.max_length = 8;
}

static void finish(FeCtx *c, FeLayer *l, const FeNode *map) { l->head.classes = l->head.symbols + 2; }

/* Net.step run max_length + 1 times after att_e(enc) once. */
static bool infer(FeCtx *c, FeLayer *l) {
  FeShape in = l->in;
  double t = in.dims[0], e = in.dims[1], a = l->head.attention, h = l->head.hidden;
  double k = l->head.classes, emb = l->head.embedding, steps = l->head.max_length + 1;
  double step = 2 * h * a          /* att_h(h) */
                + 2 * t * a        /* add, tanh */
                + 2 * t * a        /* att_v */
                + 3 * t            /* softmax over T: exp, sum, divide */
                + 2 * t * e        /* context = a . enc */
                + fe_lstm_step_flops(emb + e, h) + k * (2 * (h + e) + 1); /* cell, out */
  l->flops = t * a * (2 * e + 1) + steps * step; /* att_e(enc) once, then the steps */
  l->out = (FeShape){2, {l->head.max_length + 1, l->head.classes}};
  return true;
}

/* nn.Embedding (N(0, 1)), the attention projections, nn.LSTMCell with one bias, the output
 * projection; PyTorch's default inits. */
static int params(const FeLayer *l, FeParamInfo *out) {
  int n = 0;
  int e = l->in.dims[1], a = l->head.attention, h = l->head.hidden, emb = l->head.embedding;
  int k = l->head.classes;
  FE_PARAM("embedding", FE_INIT_NORMAL, 1, k, emb);
  FE_PARAM("att_e.weight", FE_INIT_UNIFORM, 1 / sqrt((double)e), a, e);
  out[n - 1].product_weight = true;
  FE_PARAM("att_e.bias", FE_INIT_UNIFORM, 1 / sqrt((double)e), a);
  FE_PARAM("att_h.weight", FE_INIT_UNIFORM, 1 / sqrt((double)h), a, h);
  FE_PARAM("att_v.weight", FE_INIT_UNIFORM, 1 / sqrt((double)a), 1, a);
  FE_PARAM("cell.w_ih", FE_INIT_UNIFORM, 1 / sqrt((double)h), 4 * h, emb + e);
  FE_PARAM("cell.w_hh", FE_INIT_UNIFORM, 1 / sqrt((double)h), 4 * h, h);
  FE_PARAM("cell.b", FE_INIT_UNIFORM, 1 / sqrt((double)h), 4 * h);
  out[n - 1].lstm_bias = true;
  FE_PARAM("out.weight", FE_INIT_UNIFORM, 1 / sqrt((double)(h + e)), k, h + e);
  FE_PARAM("out.bias", FE_INIT_UNIFORM, 1 / sqrt((double)(h + e)), k);
  return n;
}

typedef struct Decoder {
  int T, B, E, A, H, K, S;
  IrId enc3, ek3;           /* (T, B, E) encoder output, (T, B, A) att_e(enc), computed once */
  IrId att_h, att_v;        /* (A, H), (1, A) */
  IrId embedding;           /* (K, Emb) */
  IrId w_ih, w_hh, bias;    /* (4H, Emb + E), (4H, H), (4H) */
  IrId w_out, b_out;        /* (K, H + E), (K) */
  IrId zeros;               /* (B, H): h and c before the first step */
} Decoder;

/* One step from the embedded previous token (B, Emb):
 *   a = softmax_T(att_v(tanh(ek + att_h(h)))), ctx = sum_T a enc,
 *   (h, c) = cell([emb, ctx], (h, c)), logits = out([h, ctx]) (B, K). The weights a (T, B) go to
 *   *weights when it is not NULL. */
static IrId decoder_step(IrGraph *g, const Decoder *d, IrId emb, IrId *h, IrId *cs, IrId *weights) {
  IrId ah = ir_matmul(g, *h, d->att_h, false, true);                        /* (B, A) */
  IrId e = ir_tanh(g, ir_add(g, d->ek3, ah));                               /* (T, B, A) */
  IrId score = ir_sum(g, ir_mul(g, e, d->att_v), 1, (int[]){2}, false);     /* (T, B) */
  IrId a = ir_softmax(g, score, 0);
  if (weights) *weights = a;
  IrId weighted = ir_mul(g, ir_reshape(g, a, IR_SHAPE(d->T, d->B, 1)), d->enc3);
  IrId ctx = ir_sum(g, weighted, 1, (int[]){0}, false);                     /* (B, E) */
  IrId in = ir_concat(g, 2, (IrId[]){emb, ctx}, 1);
  IrId gates = ir_add(g, ir_add(g, ir_matmul(g, in, d->w_ih, false, true), ir_matmul(g, *h, d->w_hh, false, true)),
                      d->bias);
  fe_lower_lstm_cell(g, gates, *cs, d->H, h, cs);
  return ir_add(g, ir_matmul(g, ir_concat(g, 2, (IrId[]){*h, ctx}, 1), d->w_out, false, true), d->b_out);
}

/* Teacher forcing: the input at step t is go for t = 0, else target[:, t-1]. -> (S*B, K). */
static IrId decode_teacher_forced(FeLowerCtx *c, const Decoder *d) {
  IrGraph *g = c->g;
  int S = d->S, B = d->B;
  IrId tgt = ir_transpose(g, c->io->target, 2, (int[]){1, 0}); /* (S, B) */
  IrId go = ir_const_fill(g, IR_I32, IR_SHAPE(1, B), FE_TOKEN_GO);
  IrId y_in = ir_concat(g, 2, (IrId[]){go, ir_slice_axis(g, tgt, 0, 0, S - 1)}, 0);
  IrId emb = ir_gather(g, d->embedding, ir_reshape(g, y_in, IR_SHAPE((int64_t)S * B))); /* (S*B, Emb) */
  IrId h = d->zeros, cs = d->zeros;
  IrId *outs = rt_xmalloc((size_t)S * sizeof *outs);
  for (int t = 0; t < S; t++)
    outs[t] = decoder_step(g, d, ir_slice_axis(g, emb, 0, (int64_t)t * B, (int64_t)(t + 1) * B), &h, &cs, NULL);
  IrId logits = ir_concat(g, S, outs, 0);
  free(outs);
  return logits;
}

/* Greedy decoding: y_0 = go, y_{t+1} = argmax(logits_t) fed back; -> pred (B, S) stop-masked.
 * When weights is not NULL, every step's attention weights go to it as one (B, S, T) tensor. */
static IrId decode_greedy(FeLowerCtx *c, const Decoder *d, IrId *weights) {
  IrGraph *g = c->g;
  int S = d->S, B = d->B, T = d->T;
  IrId y = ir_const_fill(g, IR_I32, IR_SHAPE(B), FE_TOKEN_GO);
  IrId h = d->zeros, cs = d->zeros;
  IrId *ys = rt_xmalloc((size_t)S * sizeof *ys), *as = rt_xmalloc((size_t)S * sizeof *as);
  for (int t = 0; t < S; t++) {
    IrId logits = decoder_step(g, d, ir_gather(g, d->embedding, y), &h, &cs, &as[t]);
    y = ir_argmax(g, logits, 1);
    ys[t] = ir_reshape(g, y, IR_SHAPE(B, 1));
  }
  IrId raw = ir_concat(g, S, ys, 1);
  if (weights) { /* S x (T, B) -> (S, T, B) -> (B, S, T) */
    IrId all = ir_reshape(g, ir_concat(g, S, as, 0), IR_SHAPE(S, T, B));
    *weights = ir_transpose(g, all, 3, (int[]){2, 0, 1});
  }
  free(ys);
  free(as);
  return fe_lower_stop_mask(g, raw, FE_TOKEN_END);
}

/* The teacher-forced logits (S*B, K) (IR_NONE in INFER); io->pred (B, S) outside TRAIN, and in
 * EVAL io->attention (B, S, T), the greedy steps' attention weights. */
static IrId lower(FeLowerCtx *c, const FeLayer *l, IrId enc) {
  IrGraph *g = c->g;
  Decoder d = {.T = l->in.dims[0], .B = c->batch, .E = l->in.dims[1], .A = l->head.attention,
               .H = l->head.hidden, .K = l->head.classes, .S = l->head.max_length + 1};
  d.enc3 = ir_reshape(g, enc, IR_SHAPE(d.T, d.B, d.E));
  IrId ek = fe_lower_affine(c, enc, fe_lower_param(c, l, "att_e.weight"), fe_lower_param(c, l, "att_e.bias"));
  d.ek3 = ir_reshape(g, ek, IR_SHAPE(d.T, d.B, d.A));
  d.att_h = fe_lower_param(c, l, "att_h.weight");
  d.att_v = fe_lower_param(c, l, "att_v.weight");
  d.embedding = fe_lower_param(c, l, "embedding.weight");
  d.w_ih = fe_lower_param(c, l, "cell.weight_ih");
  d.w_hh = fe_lower_param(c, l, "cell.weight_hh");
  d.bias = fe_lower_param(c, l, "cell.bias");
  d.w_out = fe_lower_param(c, l, "out.weight");
  d.b_out = fe_lower_param(c, l, "out.bias");
  d.zeros = ir_const_fill(g, IR_F32, IR_SHAPE(d.B, d.H), 0.0);
  if (c->kind != FE_GRAPH_TRAIN)
    c->io->pred = decode_greedy(c, &d, c->kind == FE_GRAPH_EVAL ? &c->io->attention : NULL);
  return c->kind == FE_GRAPH_INFER ? IR_NONE : decode_teacher_forced(c, &d);
}

/* (1 - p_t) is floored here before the power: the gradient of x^gamma is gamma x^(gamma - 1),
 * infinite or NaN at x = 0 for gamma < 1 (0 * inf at gamma = 0), and an f32 p_t can round to 1
 * (or above, with an approximate exp). The floor changes the loss only where p_t > 1 - 1e-12,
 * where the position's loss is below 1e-12 anyway; there its gradient through the weight is 0. */
#define FOCAL_FLOOR 1e-12

/* Per-position loss (S*B) from logits (S*B, K) and time-major targets (S*B) i32. */
static IrId position_loss(FeLowerCtx *c, FeLossKind kind, IrId logits, IrId targets, int K) {
  IrGraph *g = c->g;
  IrId logp = ir_log_softmax(g, logits, 1);
  IrId onehot = ir_one_hot(g, targets, K);
  if (kind == FE_LOSS_CROSS_ENTROPY) {
    /* PyTorch's label smoothing: (1 - eps) nll + eps mean_k(-log p_k) = -sum_k q_k log p_k with
     * q = (1 - eps) onehot + eps / K. */
    IrId eps = c->io->label_smoothing;
    IrId q = ir_add(g, ir_mul(g, onehot, ir_sub(g, ir_scalar(g, 1.0), eps)), ir_mul_scalar(g, eps, 1.0 / K));
    return ir_neg(g, ir_sum(g, ir_mul(g, q, logp), 1, (int[]){1}, false));
  }
  RT_ASSERT(kind == FE_LOSS_FOCAL, "loss %d on an attention head", (int)kind);
  /* Focal loss (Lin et al. 2017): -alpha (1 - p_t)^gamma log p_t. */
  IrId logp_t = ir_sum(g, ir_mul(g, onehot, logp), 1, (int[]){1}, false);
  IrId base = ir_max(g, ir_sub(g, ir_scalar(g, 1.0), ir_exp(g, logp_t)), ir_scalar(g, FOCAL_FLOOR));
  IrId weight = ir_mul(g, c->io->focal_alpha, ir_pow(g, base, c->io->focal_gamma));
  return ir_neg(g, ir_mul(g, weight, logp_t));
}

static IrId loss(FeLowerCtx *c, FeLossKind kind, IrId logits) {
  IrGraph *g = c->g;
  const FeLayer *head = c->p->head;
  int S = head->head.max_length + 1, B = c->batch, K = head->head.classes;
  IrId targets = ir_reshape(g, ir_transpose(g, c->io->target, 2, (int[]){1, 0}), IR_SHAPE((int64_t)S * B));
  IrId per = position_loss(c, kind, logits, targets, K);
  /* valid[t, b] = t <= target_len[b] */
  double *steps = rt_xmalloc((size_t)S * sizeof *steps);
  for (int t = 0; t < S; t++) steps[t] = t;
  IrId t_index = ir_const_data(g, IR_I32, IR_SHAPE(S, 1), steps);
  free(steps);
  IrId valid = ir_le(g, t_index, ir_reshape(g, c->io->target_len, IR_SHAPE(1, B)));
  valid = ir_reshape(g, valid, IR_SHAPE((int64_t)S * B));
  IrId total = ir_sum_all(g, ir_mul(g, valid, per));
  /* at least 1: only negative lengths could leave no valid position */
  IrId count = ir_max(g, ir_sum_all(g, valid), ir_scalar(g, 1.0));
  return ir_div(g, total, count);
}

/* Time-major (S*B, K) -> (B, S, K). */
static IrId batch_major(FeLowerCtx *c, IrId logits) {
  int S = c->p->head->head.max_length + 1, K = c->p->head->head.classes;
  return ir_transpose(c->g, ir_reshape(c->g, logits, IR_SHAPE(S, c->batch, K)), 3, (int[]){1, 0, 2});
}

static void json(const FeLayer *l, cJSON *o) {
  cJSON_AddNumberToObject(o, "embedding", l->head.embedding);
  cJSON_AddNumberToObject(o, "attention", l->head.attention);
  cJSON_AddNumberToObject(o, "hidden", l->head.hidden);
  cJSON_AddNumberToObject(o, "symbols", l->head.symbols);
  cJSON_AddNumberToObject(o, "max_length", l->head.max_length);
}

const FeLayerClass fe_layer_attention = {
    .schema = FE_SCHEMA("attention head", FIELDS),
    .head = true,
    .defaults = defaults,
    .finish = finish,
    .input = FE_INPUT_SEQUENCE,
    .infer = infer,
    .params = params,
    .lower = lower,
    .json = json,
    .end_tokens = 1,
    .loss = loss,
    .batch_major = batch_major,
};

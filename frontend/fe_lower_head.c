/* Lowering of the heads: the peer's attention decoder (Bahdanau et al. 2015 additive attention
 * feeding an LSTMCell, torch_presets.py Net.step), run S = max_length + 1 steps with teacher
 * forcing (TRAIN, EVAL) and greedily (EVAL, INFER), and the linear CTC head. Each decoder step
 * has the same ops and shapes, so the backend emits one step's kernels once. The encoder output
 * is time-major, enc (T*B, E); attention is a softmax over T for every sample. */
#include <stdlib.h>

#include "frontend/fe_lower_impl.h"
#include "runtime/rt_assert.h"

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
 *   (h, c) = cell([emb, ctx], (h, c)), logits = out([h, ctx]) (B, K). */
static IrId decoder_step(IrGraph *g, const Decoder *d, IrId emb, IrId *h, IrId *cs) {
  IrId ah = ir_matmul(g, *h, d->att_h, false, true);                        /* (B, A) */
  IrId e = ir_tanh(g, ir_add(g, d->ek3, ah));                               /* (T, B, A) */
  IrId score = ir_sum(g, ir_mul(g, e, d->att_v), 1, (int[]){2}, false);     /* (T, B) */
  IrId a = ir_softmax(g, score, 0);
  IrId weighted = ir_mul(g, ir_reshape(g, a, IR_SHAPE(d->T, d->B, 1)), d->enc3);
  IrId ctx = ir_sum(g, weighted, 1, (int[]){0}, false);                     /* (B, E) */
  IrId in = ir_concat(g, 2, (IrId[]){emb, ctx}, 1);
  IrId gates = ir_add(g, ir_add(g, ir_matmul(g, in, d->w_ih, false, true), ir_matmul(g, *h, d->w_hh, false, true)),
                      d->bias);
  fe_lower_lstm_cell(g, gates, *cs, d->H, h, cs);
  return fe_lower_affine(g, ir_concat(g, 2, (IrId[]){*h, ctx}, 1), d->w_out, d->b_out);
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
    outs[t] = decoder_step(g, d, ir_slice_axis(g, emb, 0, (int64_t)t * B, (int64_t)(t + 1) * B), &h, &cs);
  IrId logits = ir_concat(g, S, outs, 0);
  free(outs);
  return logits;
}

IrId fe_lower_stop_mask(IrGraph *g, IrId raw, int end) {
  if (raw == IR_NONE) return IR_NONE;
  int64_t S = ir_type_of(g, raw)->shape.dims[1];
  IrId end_id = ir_const_fill(g, IR_I32, IR_SHAPE(), end);
  IrId is_end = ir_eq(g, raw, end_id); /* (B, S) 1.0 where the step emitted end */
  /* ends_before[b, t] = sum_{s < t} is_end[b, s]: one matmul with the strictly upper triangle. */
  double *upper = rt_xcalloc((size_t)(S * S), sizeof *upper);
  for (int64_t s = 0; s < S; s++)
    for (int64_t t = s + 1; t < S; t++) upper[s * S + t] = 1;
  IrId ends_before = ir_matmul(g, is_end, ir_const_data(g, IR_F32, IR_SHAPE(S, S), upper), false, false);
  free(upper);
  return ir_select(g, ir_gt(g, ends_before, ir_scalar(g, 0)), end_id, raw);
}

/* Greedy decoding: y_0 = go, y_{t+1} = argmax(logits_t) fed back; -> pred (B, S) stop-masked. */
static IrId decode_greedy(FeLowerCtx *c, const Decoder *d) {
  IrGraph *g = c->g;
  int S = d->S, B = d->B;
  IrId y = ir_const_fill(g, IR_I32, IR_SHAPE(B), FE_TOKEN_GO);
  IrId h = d->zeros, cs = d->zeros;
  IrId *ys = rt_xmalloc((size_t)S * sizeof *ys);
  for (int t = 0; t < S; t++) {
    IrId logits = decoder_step(g, d, ir_gather(g, d->embedding, y), &h, &cs);
    y = ir_argmax(g, logits, 1);
    ys[t] = ir_reshape(g, y, IR_SHAPE(B, 1));
  }
  IrId raw = ir_concat(g, S, ys, 1);
  free(ys);
  return fe_lower_stop_mask(g, raw, FE_TOKEN_END);
}

IrId fe_lower_attention(FeLowerCtx *c, const FeLayer *l, IrId enc) {
  IrGraph *g = c->g;
  Decoder d = {.T = l->in.dims[0], .B = c->batch, .E = l->in.dims[1], .A = l->head.attention,
               .H = l->head.hidden, .K = l->head.classes, .S = l->head.max_length + 1};
  d.enc3 = ir_reshape(g, enc, IR_SHAPE(d.T, d.B, d.E));
  IrId ek = fe_lower_affine(g, enc, fe_lower_param(c, l, "att_e.weight"), fe_lower_param(c, l, "att_e.bias"));
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
  if (c->kind != FE_GRAPH_TRAIN) c->io->pred = decode_greedy(c, &d);
  return c->kind == FE_GRAPH_INFER ? IR_NONE : decode_teacher_forced(c, &d);
}

/* Linear projection of every step to blank + symbols: logits (B, T, C) as ctc_loss takes them,
 * and pred (B, T) = argmax per step (repeats and blanks are collapsed outside the graph). */
IrId fe_lower_ctc_head(FeLowerCtx *c, const FeLayer *l, IrId enc) {
  IrGraph *g = c->g;
  int T = l->in.dims[0], B = c->batch, C = l->head.classes;
  IrId logits = fe_lower_affine(g, enc, fe_lower_param(c, l, "out.weight"), fe_lower_param(c, l, "out.bias"));
  IrId bm = ir_transpose(g, ir_reshape(g, logits, IR_SHAPE(T, B, C)), 3, (int[]){1, 0, 2});
  if (c->kind != FE_GRAPH_TRAIN) c->io->pred = ir_argmax(g, bm, 2);
  return bm;
}

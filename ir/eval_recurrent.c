/* Reference implementation of an LSTM layer's recurrence (Hochreiter & Schmidhuber 1997; gate
 * order i, f, g, o as in PyTorch), every direction and time step in one op so that a backend can
 * keep the recurrent weights in cache across steps and run the directions side by side.
 *
 * lstm_scan(xproj_0 (T, B, 4H), w_hh_0 (4H, H) [, xproj_1, w_hh_1]) [save]: direction d runs
 * over t = 0 .. T-1 (d = 0) or T-1 .. 0 (d = 1) from h = c = 0:
 *   a = xproj_d[t, b] + W_hh_d h_prev        (xproj_d already holds W_ih x + bias)
 *   i, f, o = sigmoid(a_i, a_f, a_o), g = tanh(a_g), c = f c_prev + i g, h = o tanh(c)
 * and writes out[0, t, b, d] = h; with save = 1 also slots 1-5: c, i, f, g, o (what the
 * gradient needs).
 *
 * lstm_scan_grad(state, gout, w_hh_0 [, w_hh_1]) -> d loss / d a (D, T, B, 4H), the gradients
 * of the xproj_d, for a gradient gout of every slot of the saved state; the weight gradients are
 * then one matmul each of it with the hidden states shifted by a step (ir/vjp_recurrent.c).
 *
 * lstm_scan_i8(xproj_0, w_hh_0 (4H, H) i8, w_scale_0 (4H) [, ...]): the scan (slot h only) with
 * int8 recurrent weights: h_prev, whose elements lie in (-1, 1), becomes q = clamp(round-half-
 * even(f32(h_prev * 127)), -127, 127), and a = xproj_d[t, b] + (W_hh_d q)_r * w_scale_d[r], the
 * integer sums exact (docs/quantization.md). */
#include <math.h>
#include <stdlib.h>

#include "ir/ir_impl.h"
#include "support/rt_assert.h"

enum { SLOT_H, SLOT_C, SLOT_I, SLOT_F, SLOT_G, SLOT_O, SLOTS };

typedef struct Lstm {
  int64_t T, B, D, H;
} Lstm;

/* From a scan's or a gradient's output (S, T, B, D, H). */
static Lstm lstm_dims(const IrType *state) {
  const int64_t *s = state->shape.dims;
  return (Lstm){s[1], s[2], s[3], s[4]};
}

/* Element j of slot s at (t, b, d) of a state (S, T, B, D, H). */
static int64_t at_state(const Lstm *l, int s, int64_t t, int64_t b, int64_t d) {
  return (((s * l->T + t) * l->B + b) * l->D + d) * l->H;
}

/* Row (d, t, b) of a (D, T, B, 4H) gradient; of xproj_d (T, B, 4H) with d = 0. */
static int64_t at_gates(const Lstm *l, int64_t d, int64_t t, int64_t b) { return ((d * l->T + t) * l->B + b) * 4 * l->H; }

/* The time step of direction d's s-th step. */
static int64_t step_time(const Lstm *l, int64_t d, int64_t s) { return d ? l->T - 1 - s : s; }

static double sigmoid(double x) {
  if (x >= 0) return 1.0 / (1.0 + exp(-x));
  double e = exp(x);
  return e / (1.0 + e);
}

/* h as lstm_scan_i8 multiplies it: 127 levels per unit, rounded half to even. */
static double quantized_h(double h) {
  double q = nearbyint(ir_f32_round(h * 127));
  return q > 127 ? 127 : q < -127 ? -127 : q;
}

/* Both scans: `per` operands a direction (2: xproj, w_hh; 3: xproj, w_hh i8, w_scale). */
static void eval_scan(const IrTensor *const *in, IrTensor *out, int per, bool save) {
  Lstm l = lstm_dims(&out->type);
  double *y = out->data, *a = rt_xmalloc((size_t)(4 * l.H) * sizeof *a);
  double *h = rt_xcalloc((size_t)l.H, sizeof *h), *c = rt_xcalloc((size_t)l.H, sizeof *c);
  for (int64_t d = 0; d < l.D; d++)
    for (int64_t b = 0; b < l.B; b++) {
      const double *x = in[per * d]->data, *wd = in[per * d + 1]->data, *scale = per == 3 ? in[per * d + 2]->data : NULL;
      for (int64_t j = 0; j < l.H; j++) h[j] = c[j] = 0;
      for (int64_t s = 0; s < l.T; s++) {
        int64_t t = step_time(&l, d, s);
        for (int64_t r = 0; r < 4 * l.H; r++) {
          double sum = 0;
          for (int64_t k = 0; k < l.H; k++) sum += wd[r * l.H + k] * (scale ? quantized_h(h[k]) : h[k]);
          a[r] = x[at_gates(&l, 0, t, b) + r] + (scale ? sum * scale[r] : sum);
        }
        for (int64_t j = 0; j < l.H; j++) {
          double i = sigmoid(a[j]), f = sigmoid(a[l.H + j]), g = tanh(a[2 * l.H + j]), o = sigmoid(a[3 * l.H + j]);
          c[j] = f * c[j] + i * g;
          h[j] = o * tanh(c[j]);
          y[at_state(&l, SLOT_H, t, b, d) + j] = h[j];
          if (!save) continue;
          double slot[SLOTS] = {h[j], c[j], i, f, g, o};
          for (int q = SLOT_C; q < SLOTS; q++) y[at_state(&l, q, t, b, d) + j] = slot[q];
        }
      }
    }
  free(a), free(h), free(c);
}

void ir_eval_lstm_scan(const IrNode *n, const IrTensor *const *in, IrTensor *out) {
  eval_scan(in, out, 2, n->attr[0].v[0] != 0);
}

void ir_eval_lstm_scan_i8(const IrNode *n, const IrTensor *const *in, IrTensor *out) {
  (void)n;
  eval_scan(in, out, 3, false);
}

void ir_eval_lstm_scan_grad(const IrNode *n, const IrTensor *const *in, IrTensor *out) {
  (void)n;
  Lstm l = lstm_dims(&in[0]->type);
  const double *st = in[0]->data, *gy = in[1]->data;
  double *da = out->data;
  double *dh_rec = rt_xcalloc((size_t)l.H, sizeof *dh_rec), *dc_next = rt_xcalloc((size_t)l.H, sizeof *dc_next);
  for (int64_t d = 0; d < l.D; d++)
    for (int64_t b = 0; b < l.B; b++) {
      for (int64_t j = 0; j < l.H; j++) dh_rec[j] = dc_next[j] = 0;
      for (int64_t s = l.T - 1; s >= 0; s--) {
        int64_t t = step_time(&l, d, s);
        double *row = da + at_gates(&l, d, t, b);
        for (int64_t j = 0; j < l.H; j++) {
#define S(q) st[at_state(&l, q, t, b, d) + j]
#define G(q) gy[at_state(&l, q, t, b, d) + j]
          double c = S(SLOT_C), i = S(SLOT_I), f = S(SLOT_F), g = S(SLOT_G), o = S(SLOT_O), tc = tanh(c);
          double c_prev = s > 0 ? st[at_state(&l, SLOT_C, step_time(&l, d, s - 1), b, d) + j] : 0;
          double dh = G(SLOT_H) + dh_rec[j];
          double dc = G(SLOT_C) + dh * o * (1 - tc * tc) + dc_next[j];
          row[j] = (G(SLOT_I) + dc * g) * i * (1 - i);
          row[l.H + j] = (G(SLOT_F) + dc * c_prev) * f * (1 - f);
          row[2 * l.H + j] = (G(SLOT_G) + dc * i) * (1 - g * g);
          row[3 * l.H + j] = (G(SLOT_O) + dh * tc) * o * (1 - o);
          dc_next[j] = dc * f;
#undef S
#undef G
        }
        const double *wd = in[2 + d]->data;
        for (int64_t k = 0; k < l.H; k++) {
          double sum = 0;
          for (int64_t r = 0; r < 4 * l.H; r++) sum += row[r] * wd[r * l.H + k];
          dh_rec[k] = sum;
        }
      }
    }
  free(dh_rec), free(dc_next);
}

/* Shapes, parameters and FLOPs of preset layers. Parameter layouts and initial distributions are
 * PyTorch's (nn.Conv2d, nn.BatchNorm2d, nn.LSTM, nn.Linear, nn.Embedding, nn.LSTMCell), except
 * that each LSTM gate set has one bias where PyTorch has b_ih + b_hh. FLOPs count a multiply-add
 * as 2 and every other elementwise operation (including exp, tanh, sigmoid) as 1; losses are
 * not counted. The attention decoder is the peer's Net.step run max_length + 1 times. */
#include "frontend/fe_shape.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "runtime/rt_assert.h"

__attribute__((format(printf, 3, 4))) static void shape_error(FeCtx *c, const FeLayer *l,
                                                               const char *fmt, ...) {
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  rt_diag_error(c->diags, c->file, l->loc.line, l->loc.col, "%s %s", l->name, msg);
}

static int64_t numel(FeShape s) {
  int64_t n = 1;
  for (int i = 0; i < s.rank; i++) n *= s.dims[i];
  return n;
}

const char *fe_shape_format(FeShape s, int batch, char *buf, size_t size) {
  size_t o = 0;
  o += (size_t)snprintf(buf, size, "(");
  if (batch > 0) o += (size_t)snprintf(buf + o, size - o, "%d%s", batch, s.rank ? ", " : "");
  for (int i = 0; i < s.rank && o < size; i++)
    o += (size_t)snprintf(buf + o, size - o, "%d%s", s.dims[i], i + 1 < s.rank ? ", " : "");
  if (o < size) snprintf(buf + o, size - o, ")");
  return buf;
}

static void param(FeParamInfo *out, int *n, const char *name, int rank, const int *dims, FeInit init,
                  double bound) {
  FeParamInfo *p = &out[(*n)++];
  snprintf(p->name, sizeof p->name, "%s", name);
  p->rank = rank;
  memcpy(p->dims, dims, (size_t)rank * sizeof *dims);
  p->init = init;
  p->bound = bound;
}

#define PARAM(name, init, bound, ...) \
  param(out, &n, name, (int)(sizeof((int[]){__VA_ARGS__}) / sizeof(int)), (int[]){__VA_ARGS__}, init, bound)

int fe_layer_params(const FeLayer *l, FeParamInfo *out) {
  int n = 0;
  const int *in = l->in.dims;
  switch (l->kind) {
  case FE_LAYER_CONV2D: {
    double b = 1 / sqrt((double)in[0] * l->conv.kernel[0] * l->conv.kernel[1]);
    PARAM("weight", FE_INIT_UNIFORM, b, l->conv.channels, in[0], l->conv.kernel[0], l->conv.kernel[1]);
    if (l->conv.bias) PARAM("bias", FE_INIT_UNIFORM, b, l->conv.channels);
    break;
  }
  case FE_LAYER_BATCHNORM:
    PARAM("weight", FE_INIT_ONES, 0, in[0]);
    PARAM("bias", FE_INIT_ZEROS, 0, in[0]);
    break;
  case FE_LAYER_LSTM: {
    int h = l->lstm.hidden, dirs = l->lstm.bidirectional ? 2 : 1;
    double b = 1 / sqrt((double)h);
    for (int layer = 0; layer < l->lstm.layers; layer++)
      for (int dir = 0; dir < dirs; dir++) {
        char name[32];
        const char *d = dir ? "reverse" : "forward";
        snprintf(name, sizeof name, "l%d.%s.w_ih", layer, d);
        PARAM(name, FE_INIT_UNIFORM, b, 4 * h, layer ? h * dirs : in[1]);
        snprintf(name, sizeof name, "l%d.%s.w_hh", layer, d);
        PARAM(name, FE_INIT_UNIFORM, b, 4 * h, h);
        snprintf(name, sizeof name, "l%d.%s.b", layer, d);
        PARAM(name, FE_INIT_UNIFORM, b, 4 * h);
      }
    break;
  }
  case FE_LAYER_LINEAR: {
    double b = 1 / sqrt((double)in[1]);
    PARAM("weight", FE_INIT_UNIFORM, b, l->linear.features, in[1]);
    if (l->linear.bias) PARAM("bias", FE_INIT_UNIFORM, b, l->linear.features);
    break;
  }
  case FE_LAYER_ATTENTION: {
    int e = in[1], a = l->head.attention, h = l->head.hidden, emb = l->head.embedding;
    int k = l->head.classes;
    PARAM("embedding", FE_INIT_NORMAL, 1, k, emb);
    PARAM("att_e.weight", FE_INIT_UNIFORM, 1 / sqrt((double)e), a, e);
    PARAM("att_e.bias", FE_INIT_UNIFORM, 1 / sqrt((double)e), a);
    PARAM("att_h.weight", FE_INIT_UNIFORM, 1 / sqrt((double)h), a, h);
    PARAM("att_v.weight", FE_INIT_UNIFORM, 1 / sqrt((double)a), 1, a);
    PARAM("cell.w_ih", FE_INIT_UNIFORM, 1 / sqrt((double)h), 4 * h, emb + e);
    PARAM("cell.w_hh", FE_INIT_UNIFORM, 1 / sqrt((double)h), 4 * h, h);
    PARAM("cell.b", FE_INIT_UNIFORM, 1 / sqrt((double)h), 4 * h);
    PARAM("out.weight", FE_INIT_UNIFORM, 1 / sqrt((double)(h + e)), k, h + e);
    PARAM("out.bias", FE_INIT_UNIFORM, 1 / sqrt((double)(h + e)), k);
    break;
  }
  case FE_LAYER_CTC:
    PARAM("out.weight", FE_INIT_UNIFORM, 1 / sqrt((double)in[1]), l->head.classes, in[1]);
    PARAM("out.bias", FE_INIT_UNIFORM, 1 / sqrt((double)in[1]), l->head.classes);
    break;
  default:
    break;
  }
  RT_ASSERT(n <= FE_LAYER_MAX_PARAMS, "layer %s has %d parameters", l->name, n);
  return n;
}

/* Output size of a convolution or pooling window along one axis; 0 when the window does not fit. */
static int window_out(int size, int kernel, int stride, int pad) {
  int padded = size + 2 * pad;
  return padded < kernel ? 0 : (padded - kernel) / stride + 1;
}

/* One forward LSTM cell step of hidden size h over inputs of size x: gate matmuls, bias, then
 * 3 sigmoids, 2 tanh, 3 multiplies and 1 add. */
static double lstm_step_flops(double x, double h) { return 2 * 4 * h * (x + h) + 4 * h + 9 * h; }

/* Computes l->out and l->flops from l->in; false after reporting why the layer does not fit. */
static bool layer_infer(FeCtx *c, FeLayer *l) {
  char got[64];
  FeShape in = l->in, *out = &l->out;
  bool needs_map = l->kind == FE_LAYER_CONV2D || l->kind == FE_LAYER_BATCHNORM ||
                   l->kind == FE_LAYER_MAXPOOL || l->kind == FE_LAYER_COLLAPSE_HEIGHT;
  if (needs_map && in.rank != 3) {
    shape_error(c, l, "needs a feature map (C, H, W), but its input is already a sequence (T, F) = %s",
                fe_shape_format(in, 0, got, sizeof got));
    return false;
  }
  if (!needs_map && in.rank != 2 && l->kind != FE_LAYER_RELU && l->kind != FE_LAYER_DROPOUT) {
    shape_error(c, l, "needs a sequence (T, F), but its input is a feature map (C, H, W) = %s; "
                "add a collapse_height layer before it", fe_shape_format(in, 0, got, sizeof got));
    return false;
  }
  *out = in;
  double elems = (double)numel(in);
  switch (l->kind) {
  case FE_LAYER_CONV2D:
  case FE_LAYER_MAXPOOL: {
    bool conv = l->kind == FE_LAYER_CONV2D;
    const int *k = conv ? l->conv.kernel : l->pool.kernel, *s = conv ? l->conv.stride : l->pool.stride;
    const int *p = conv ? l->conv.padding : l->pool.padding;
    int ho = window_out(in.dims[1], k[0], s[0], p[0]), wo = window_out(in.dims[2], k[1], s[1], p[1]);
    if (!ho || !wo) {
      shape_error(c, l, "window %dx%d (padding %dx%d) does not fit its input (C, H, W) = %s",
                  k[0], k[1], p[0], p[1], fe_shape_format(in, 0, got, sizeof got));
      return false;
    }
    *out = (FeShape){3, {conv ? l->conv.channels : in.dims[0], ho, wo}};
    double outs = (double)numel(*out);
    l->flops = conv ? outs * (2.0 * in.dims[0] * k[0] * k[1] + (l->conv.bias ? 1 : 0))
                    : outs * k[0] * k[1];
    break;
  }
  case FE_LAYER_BATCHNORM:
    l->flops = 2 * elems;
    break;
  case FE_LAYER_RELU:
  case FE_LAYER_DROPOUT:
    l->flops = elems;
    break;
  case FE_LAYER_COLLAPSE_HEIGHT:
    if (in.dims[1] != 1) {
      shape_error(c, l, "needs a feature map of height 1, but its input is (C, H, W) = %s; "
                  "pool or convolve the height down to 1 first", fe_shape_format(in, 0, got, sizeof got));
      return false;
    }
    *out = (FeShape){2, {in.dims[2], in.dims[0]}};
    break;
  case FE_LAYER_LSTM: {
    int h = l->lstm.hidden, dirs = l->lstm.bidirectional ? 2 : 1;
    for (int layer = 0; layer < l->lstm.layers; layer++)
      l->flops += (double)in.dims[0] * dirs * lstm_step_flops(layer ? h * dirs : in.dims[1], h);
    *out = (FeShape){2, {in.dims[0], h * dirs}};
    break;
  }
  case FE_LAYER_LINEAR:
    *out = (FeShape){2, {in.dims[0], l->linear.features}};
    l->flops = (double)in.dims[0] * l->linear.features * (2.0 * in.dims[1] + (l->linear.bias ? 1 : 0));
    break;
  case FE_LAYER_ATTENTION: {
    double t = in.dims[0], e = in.dims[1], a = l->head.attention, h = l->head.hidden;
    double k = l->head.classes, emb = l->head.embedding, steps = l->head.max_length + 1;
    double step = 2 * h * a          /* att_h(h) */
                  + 2 * t * a        /* add, tanh */
                  + 2 * t * a        /* att_v */
                  + 3 * t            /* softmax over T: exp, sum, divide */
                  + 2 * t * e        /* context = a . enc */
                  + lstm_step_flops(emb + e, h) + k * (2 * (h + e) + 1); /* cell, out */
    l->flops = t * a * (2 * e + 1) + steps * step; /* att_e(enc) once, then the steps */
    *out = (FeShape){2, {l->head.max_length + 1, l->head.classes}};
    break;
  }
  case FE_LAYER_CTC:
    if (in.dims[0] < l->head.max_length) {
      shape_error(c, l, "needs at least max_length = %d time steps, but the encoder gives %d",
                  l->head.max_length, in.dims[0]);
      return false;
    }
    *out = (FeShape){2, {in.dims[0], l->head.classes}};
    l->flops = (double)in.dims[0] * l->head.classes * (2.0 * in.dims[1] + 1);
    break;
  default:
    break;
  }
  return true;
}

bool fe_preset_infer(FePreset *p, FeCtx *c) {
  FeShape cur = {3, {p->channels, p->height, p->width}};
  p->params = 0;
  p->flops = 0;
  for (int i = 0; i < p->layer_count; i++) {
    FeLayer *l = &p->layers[i];
    if (l->kind == FE_LAYER_CONV2D && l->conv.scaled) {
      /* Python's int(x * width): truncation of the same double product. */
      double scaled = floor((double)l->conv.channels * p->width_multiplier);
      if (scaled < 1) {
        rt_diag_error(c->diags, c->file, l->loc.line, l->loc.col,
                      "%s has %d channels x width_multiplier %g = 0 channels", l->name,
                      l->conv.channels, p->width_multiplier);
        return false;
      }
      l->conv.channels = (int)scaled;
    }
    l->in = cur;
    if (!layer_infer(c, l)) return false;
    FeParamInfo info[FE_LAYER_MAX_PARAMS];
    int n = fe_layer_params(l, info);
    for (int j = 0; j < n; j++) {
      int64_t size = 1;
      for (int d = 0; d < info[j].rank; d++) size *= info[j].dims[d];
      l->params += size;
    }
    p->params += l->params;
    p->flops += l->flops;
    cur = l->out;
  }
  return true;
}

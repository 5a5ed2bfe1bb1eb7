/* Helpers the layer table's rows share (fe_layer.h): shape diagnostics, window and LSTM sizes,
 * parameter records; and fe_shape_format (fe_preset.h). They know no layer kind and call no row,
 * so every fe_layer_<kind>.c depends on them and on nothing that dispatches over kinds. FLOPs
 * count a multiply-add as 2 and every other elementwise operation (including exp, tanh, sigmoid)
 * as 1. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "frontend/fe_layer.h"

void fe_shape_error(FeCtx *c, const FeLayer *l, const char *fmt, ...) {
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  rt_diag_error(c->diags, c->file, l->loc.line, l->loc.col, "%s %s", l->name, msg);
}

int64_t fe_shape_numel(FeShape s) {
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

/* Output size of a convolution or pooling window along one axis; 0 when the window does not fit. */
static int window_out(int size, int kernel, int stride, int pad) {
  int padded = size + 2 * pad;
  return padded < kernel ? 0 : (padded - kernel) / stride + 1;
}

bool fe_shape_window(FeCtx *c, FeLayer *l, const int k[2], const int s[2], const int p[2], int channels) {
  char got[64];
  FeShape in = l->in;
  int ho = window_out(in.dims[1], k[0], s[0], p[0]), wo = window_out(in.dims[2], k[1], s[1], p[1]);
  if (!ho || !wo) {
    fe_shape_error(c, l, "window %dx%d (padding %dx%d) does not fit its input (C, H, W) = %s", k[0], k[1],
                   p[0], p[1], fe_shape_format(in, 0, got, sizeof got));
    return false;
  }
  l->out = (FeShape){3, {channels, ho, wo}};
  return true;
}

/* Gate matmuls, bias, then 3 sigmoids, 2 tanh, 3 multiplies and 1 add. */
double fe_lstm_step_flops(double x, double h) { return 2 * 4 * h * (x + h) + 4 * h + 9 * h; }

void fe_param_add(FeParamInfo *out, int *n, const char *name, int rank, const int *dims, FeInit init,
                  double bound) {
  FeParamInfo *p = &out[(*n)++];
  snprintf(p->name, sizeof p->name, "%s", name);
  p->rank = rank;
  memcpy(p->dims, dims, (size_t)rank * sizeof *dims);
  p->init = init;
  p->bound = bound;
  p->lstm_bias = false;
  p->product_weight = false;
  p->recurrent_weight = false;
}

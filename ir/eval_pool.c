/* Reference implementations of 2-d pooling (NCHW) and its gradients. Window (y, x) of output
 * (oy, ox) covers input rows oy*sh - pt + ky and columns ox*sw - pl + kx, ky < KH, kx < KW.
 * Max pooling ignores padded positions (they act as -inf); average pooling counts them as zeros
 * and always divides by KH*KW (count_include_pad). The shape rule keeps padding below the
 * window size, so every window holds at least one real input position. */
#include <math.h>

#include "ir/eval_iter.h"

typedef struct PoolGeom {
  int64_t planes, h, w;  /* input: planes = N*C of H x W */
  int64_t oh, ow;        /* output plane */
  int64_t kh, kw, sh, sw, pt, pl;
} PoolGeom;

/* x is the (N, C, H, W) input shape, y the (N, C, OH, OW) output shape. */
static PoolGeom pool_geom(const IrNode *n, const IrShape *x, const IrShape *y) {
  const int64_t *k = n->attr[0].v, *s = n->attr[1].v, *p = n->attr[2].v;
  return (PoolGeom){x->dims[0] * x->dims[1], x->dims[2], x->dims[3], y->dims[2], y->dims[3],
                    k[0], k[1], s[0], s[1], p[0], p[1]};
}

/* Offset within its plane of the first maximum (row-major in the window) of window (oy, ox). */
static int64_t pool_argmax(const PoolGeom *g, const double *plane, int64_t oy, int64_t ox) {
  int64_t best = -1;
  for (int64_t ky = 0; ky < g->kh; ky++) {
    int64_t iy = oy * g->sh - g->pt + ky;
    if (iy < 0 || iy >= g->h) continue;
    for (int64_t kx = 0; kx < g->kw; kx++) {
      int64_t ix = ox * g->sw - g->pl + kx;
      if (ix < 0 || ix >= g->w) continue;
      int64_t at = iy * g->w + ix;
      if (best < 0 || plane[at] > plane[best]) best = at;
    }
  }
  return best;
}

void ir_eval_maxpool2d(const IrNode *n, const IrTensor *const *in, IrTensor *out) {
  PoolGeom g = pool_geom(n, &in[0]->type.shape, &out->type.shape);
  for (int64_t p = 0; p < g.planes; p++) {
    const double *x = in[0]->data + p * g.h * g.w;
    double *y = out->data + p * g.oh * g.ow;
    for (int64_t oy = 0; oy < g.oh; oy++)
      for (int64_t ox = 0; ox < g.ow; ox++) y[oy * g.ow + ox] = x[pool_argmax(&g, x, oy, ox)];
  }
}

/* x, dy -> dx: each output's gradient goes to the first maximum of its window (the position
 * maxpool2d read), summed where windows overlap. */
void ir_eval_maxpool2d_grad(const IrNode *n, const IrTensor *const *in, IrTensor *out) {
  PoolGeom g = pool_geom(n, &in[0]->type.shape, &in[1]->type.shape);
  for (int64_t p = 0; p < g.planes; p++) {
    const double *x = in[0]->data + p * g.h * g.w, *dy = in[1]->data + p * g.oh * g.ow;
    double *dx = out->data + p * g.h * g.w;
    for (int64_t oy = 0; oy < g.oh; oy++)
      for (int64_t ox = 0; ox < g.ow; ox++) dx[pool_argmax(&g, x, oy, ox)] += dy[oy * g.ow + ox];
  }
}

/* The average pool and its gradient are one relation, y[yi] += x[xi] / (KH*KW) over the window's
 * real positions, walked forward (to_x false: src = x, dst = y) or transposed (to_x true:
 * src = y, dst = x). */
static void avgpool_relation(const PoolGeom *g, bool to_x, const double *src, double *dst) {
  double scale = 1.0 / (double)(g->kh * g->kw);
  for (int64_t p = 0; p < g->planes; p++)
    for (int64_t oy = 0; oy < g->oh; oy++)
      for (int64_t ox = 0; ox < g->ow; ox++) {
        int64_t yi = (p * g->oh + oy) * g->ow + ox;
        for (int64_t ky = 0; ky < g->kh; ky++) {
          int64_t iy = oy * g->sh - g->pt + ky;
          if (iy < 0 || iy >= g->h) continue;
          for (int64_t kx = 0; kx < g->kw; kx++) {
            int64_t ix = ox * g->sw - g->pl + kx;
            if (ix < 0 || ix >= g->w) continue;
            int64_t xi = (p * g->h + iy) * g->w + ix;
            if (to_x)
              dst[xi] += src[yi] * scale;
            else
              dst[yi] += src[xi] * scale;
          }
        }
      }
}

void ir_eval_avgpool2d(const IrNode *n, const IrTensor *const *in, IrTensor *out) {
  PoolGeom g = pool_geom(n, &in[0]->type.shape, &out->type.shape);
  avgpool_relation(&g, false, in[0]->data, out->data);
}

/* dy (N, C, OH, OW) -> dx (N, C, H, W) with H, W from input_hw */
void ir_eval_avgpool2d_grad(const IrNode *n, const IrTensor *const *in, IrTensor *out) {
  PoolGeom g = pool_geom(n, &out->type.shape, &in[0]->type.shape);
  avgpool_relation(&g, true, in[0]->data, out->data);
}

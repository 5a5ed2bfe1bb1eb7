/* Reference implementations of matmul and of 2-d convolution with both its gradients, as direct
 * loops. The three convolution ops are one index relation,
 *     y[n,o,oy,ox] += x[n,c, oy*sh - pt + ky*dh, ox*sw - pl + kx*dw] * w[o,c,ky,kx]
 * (positions outside x are the zero padding), walked once by conv_relation: conv2d accumulates
 * y, conv2d_grad_input accumulates x from (y, w), conv2d_grad_filter accumulates w from (x, y). */
#include "ir/eval_iter.h"

/* ---- matmul ---- */

/* out (..., M, N) = op(a) (..., M, K) x op(b) (..., K, N), op = transpose of the last two dims
 * when trans_a / trans_b; the batch dims of a and b broadcast to those of out. */
void ir_eval_matmul(const IrNode *n, const IrTensor *const *in, IrTensor *out) {
  const IrShape *as = &in[0]->type.shape, *bs = &in[1]->type.shape, *os = &out->type.shape;
  bool ta = n->attr[0].v[0], tb = n->attr[1].v[0];
  int64_t m = os->dims[os->rank - 2], nn = os->dims[os->rank - 1];
  int64_t k = as->dims[as->rank - (ta ? 2 : 1)];

  /* walk the batch dims; each tensor's batch stride is its broadcast stride times matrix size */
  IrShape batch = {.rank = os->rank - 2};
  IrShape a_batch = {.rank = as->rank - 2}, b_batch = {.rank = bs->rank - 2};
  for (int d = 0; d < batch.rank; d++) batch.dims[d] = os->dims[d];
  for (int d = 0; d < a_batch.rank; d++) a_batch.dims[d] = as->dims[d];
  for (int d = 0; d < b_batch.rank; d++) b_batch.dims[d] = bs->dims[d];
  int64_t sa[IR_MAX_RANK], sb[IR_MAX_RANK], so[IR_MAX_RANK];
  ir_shape_broadcast_strides(&a_batch, &batch, sa);
  ir_shape_broadcast_strides(&b_batch, &batch, sb);
  ir_shape_strides(&batch, so);
  for (int d = 0; d < batch.rank; d++) {
    sa[d] *= m * k;
    sb[d] *= k * nn;
    so[d] *= m * nn;
  }
  EvalIter it;
  eval_iter_init(&it, &batch);
  int ia = eval_iter_add(&it, sa, 0), ib = eval_iter_add(&it, sb, 0);
  int io = eval_iter_add(&it, so, 0);

  int64_t n_batch = ir_shape_numel(&batch);
  for (int64_t bi = 0; bi < n_batch; bi++, eval_iter_next(&it)) {
    const double *a = in[0]->data + it.off[ia], *b = in[1]->data + it.off[ib];
    double *c = out->data + it.off[io];
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < nn; j++) {
        double acc = 0;
        for (int64_t p = 0; p < k; p++)
          acc += (ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * nn + j]);
        c[i * nn + j] = acc;
      }
  }
}

/* ---- convolution ---- */

typedef struct ConvGeom {
  int64_t n, c, h, w;    /* x: (N, C, H, W) */
  int64_t o, kh, kw;     /* w: (O, C, KH, KW) */
  int64_t oh, ow;        /* y: (N, O, OH, OW) */
  int64_t sh, sw, pt, pl, dh, dw;
} ConvGeom;

/* Geometry from the attributes (stride, pad, dilation) and the three shapes. */
static ConvGeom conv_geom(const IrNode *n, const IrShape *x, const IrShape *w, const IrShape *y) {
  const int64_t *s = n->attr[0].v, *p = n->attr[1].v, *d = n->attr[2].v;
  return (ConvGeom){x->dims[0], x->dims[1], x->dims[2], x->dims[3], w->dims[0], w->dims[2],
                    w->dims[3], y->dims[2], y->dims[3], s[0], s[1], p[0], p[1], d[0], d[1]};
}

typedef enum ConvRole { CONV_Y, CONV_DX, CONV_DW } ConvRole; /* which tensor `out` is */

/* Walks every (n, o, c, oy, ox, ky, kx) whose input position lies inside x and accumulates into
 * out (the tensor named by role) the product of the two others; the unused pointer is NULL. */
static void conv_relation(const ConvGeom *g, ConvRole role, const double *x, const double *w,
                          const double *y, double *out) {
  for (int64_t n = 0; n < g->n; n++)
    for (int64_t o = 0; o < g->o; o++)
      for (int64_t c = 0; c < g->c; c++)
        for (int64_t oy = 0; oy < g->oh; oy++)
          for (int64_t ox = 0; ox < g->ow; ox++) {
            int64_t yi = ((n * g->o + o) * g->oh + oy) * g->ow + ox;
            for (int64_t ky = 0; ky < g->kh; ky++) {
              int64_t iy = oy * g->sh - g->pt + ky * g->dh;
              if (iy < 0 || iy >= g->h) continue;
              for (int64_t kx = 0; kx < g->kw; kx++) {
                int64_t ix = ox * g->sw - g->pl + kx * g->dw;
                if (ix < 0 || ix >= g->w) continue;
                int64_t xi = ((n * g->c + c) * g->h + iy) * g->w + ix;
                int64_t wi = ((o * g->c + c) * g->kh + ky) * g->kw + kx;
                switch (role) {
                  case CONV_Y: out[yi] += x[xi] * w[wi]; break;
                  case CONV_DX: out[xi] += y[yi] * w[wi]; break;
                  case CONV_DW: out[wi] += x[xi] * y[yi]; break;
                }
              }
            }
          }
}

/* x (N, C, H, W), w (O, C, KH, KW) -> y (N, O, OH, OW) */
void ir_eval_conv2d(const IrNode *n, const IrTensor *const *in, IrTensor *out) {
  ConvGeom g = conv_geom(n, &in[0]->type.shape, &in[1]->type.shape, &out->type.shape);
  conv_relation(&g, CONV_Y, in[0]->data, in[1]->data, NULL, out->data);
}

/* dy (N, O, OH, OW), w -> dx (N, C, H, W): the transpose of the relation in x */
void ir_eval_conv2d_grad_input(const IrNode *n, const IrTensor *const *in, IrTensor *out) {
  ConvGeom g = conv_geom(n, &out->type.shape, &in[1]->type.shape, &in[0]->type.shape);
  conv_relation(&g, CONV_DX, NULL, in[1]->data, in[0]->data, out->data);
}

/* x, dy -> dw (O, C, KH, KW): the transpose of the relation in w */
void ir_eval_conv2d_grad_filter(const IrNode *n, const IrTensor *const *in, IrTensor *out) {
  ConvGeom g = conv_geom(n, &in[0]->type.shape, &out->type.shape, &in[1]->type.shape);
  conv_relation(&g, CONV_DW, in[0]->data, NULL, in[1]->data, out->data);
}

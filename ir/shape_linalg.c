/* Shape rules of matmul, convolution and pooling (NCHW). Output size of a window op along one
 * axis: (in + pad_lo + pad_hi - dilation * (k - 1) - 1) / stride + 1, floor division. */
#include "ir/shape_util.h"

static bool check_flag(const IrAttr *a, const char *name, char *err, size_t errlen) {
  if (a->v[0] != 0 && a->v[0] != 1) FAIL("%s must be 0 or 1, got %lld", name, (long long)a->v[0]);
  return true;
}

/* The product's dtype from its operands': f32 x f32 -> f32, i8 x i8 -> i32 (exact sums of
 * quantized values). */
static bool product_dtype(const IrGraph *g, const IrNode *n, IrDType *out, char *err, size_t errlen) {
  if (IN_TYPE(0)->dtype == IR_I8) {
    CHECK_DTYPE(1, IR_I8);
    *out = IR_I32;
    return true;
  }
  CHECK_DTYPE(0, IR_F32);
  CHECK_DTYPE(1, IR_F32);
  *out = IR_F32;
  return true;
}

/* The longest sum of i8 products an i32 holds whatever the values: K * 127 * 127 < 2^31. */
enum { I8_MAX_K = 133143 };

/* a: (..., M, K) or (..., K, M) with trans_a; b: (..., K, N) or (..., N, K) with trans_b;
 * the leading (batch) dims broadcast. f32 operands, or i8 ones (an i32 product). */
bool ir_infer_matmul(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen) {
  IrDType dtype;
  if (!product_dtype(g, n, &dtype, err, errlen)) return false;
  if (!check_flag(ATTR(0), "trans_a", err, errlen) || !check_flag(ATTR(1), "trans_b", err, errlen))
    return false;
  const IrShape *a = &IN_TYPE(0)->shape, *b = &IN_TYPE(1)->shape;
  char ta[96], tb[96];
  if (a->rank < 2 || b->rank < 2)
    FAIL("operands must have rank >= 2, got %s and %s", ir_type_str(IN_TYPE(0), ta, sizeof ta),
         ir_type_str(IN_TYPE(1), tb, sizeof tb));
  bool trans_a = ATTR(0)->v[0], trans_b = ATTR(1)->v[0];
  int64_t m = a->dims[a->rank - (trans_a ? 1 : 2)], ka = a->dims[a->rank - (trans_a ? 2 : 1)];
  int64_t kb = b->dims[b->rank - (trans_b ? 1 : 2)], nn = b->dims[b->rank - (trans_b ? 2 : 1)];
  if (ka != kb)
    FAIL("inner dimensions differ: %s x %s (trans_a=%d, trans_b=%d)",
         ir_type_str(IN_TYPE(0), ta, sizeof ta), ir_type_str(IN_TYPE(1), tb, sizeof tb),
         trans_a, trans_b);
  if (dtype == IR_I32 && trans_a) FAIL("an i8 matmul takes trans_a = 0");
  if (dtype == IR_I32 && ka > I8_MAX_K) FAIL("an i8 product's K (%lld) exceeds %d: its i32 sums could overflow", (long long)ka, I8_MAX_K);
  IrShape ba = {a->rank - 2, {0}}, bb = {b->rank - 2, {0}}, batch;
  for (int i = 0; i < ba.rank; i++) ba.dims[i] = a->dims[i];
  for (int i = 0; i < bb.rank; i++) bb.dims[i] = b->dims[i];
  if (!ir_shape_broadcast(&ba, &bb, &batch))
    FAIL("batch dimensions of %s and %s do not broadcast", ir_type_str(IN_TYPE(0), ta, sizeof ta),
         ir_type_str(IN_TYPE(1), tb, sizeof tb));
  if (batch.rank + 2 > IR_MAX_RANK) FAIL("result rank exceeds %d", IR_MAX_RANK);
  *out = (IrType){dtype, batch};
  out->shape.dims[out->shape.rank++] = m;
  out->shape.dims[out->shape.rank++] = nn;
  return true;
}

/* Window attributes shared by convolution and pooling. */
typedef struct Window {
  int64_t kh, kw, sh, sw, pt, pl, pb, pr, dh, dw;
} Window;

static bool window_check(const Window *w, char *err, size_t errlen) {
  if (w->kh < 1 || w->kw < 1) FAIL("window %lldx%lld must be at least 1x1", (long long)w->kh, (long long)w->kw);
  if (w->sh < 1 || w->sw < 1) FAIL("stride must be >= 1, got [%lld,%lld]", (long long)w->sh, (long long)w->sw);
  if (w->dh < 1 || w->dw < 1) FAIL("dilation must be >= 1, got [%lld,%lld]", (long long)w->dh, (long long)w->dw);
  if (w->pt < 0 || w->pl < 0 || w->pb < 0 || w->pr < 0) FAIL("padding must be >= 0");
  return true;
}

static int64_t window_out(int64_t in, int64_t k, int64_t s, int64_t lo, int64_t hi, int64_t d) {
  int64_t span = in + lo + hi - d * (k - 1) - 1;
  return span < 0 ? 0 : span / s + 1;
}

/* Output H, W of the window over an input of (h, w); false when it would be empty. */
static bool window_apply(const Window *w, int64_t h, int64_t wd, int64_t *oh, int64_t *ow,
                         char *err, size_t errlen) {
  *oh = window_out(h, w->kh, w->sh, w->pt, w->pb, w->dh);
  *ow = window_out(wd, w->kw, w->sw, w->pl, w->pr, w->dw);
  if (*oh < 1 || *ow < 1)
    FAIL("a %lldx%lld window does not fit a %lldx%lld input (with padding)", (long long)w->kh,
         (long long)w->kw, (long long)h, (long long)wd);
  return true;
}

/* conv attrs: stride[2], pad[4] (top, left, bottom, right), dilation[2]; kernel from k */
static Window conv_window(const IrNode *n, int64_t kh, int64_t kw) {
  const IrAttr *s = &n->attr[0], *p = &n->attr[1], *d = &n->attr[2];
  return (Window){kh, kw, s->v[0], s->v[1], p->v[0], p->v[1], p->v[2], p->v[3], d->v[0], d->v[1]};
}

/* pool attrs: window[2], stride[2], pad[4]; padding must stay below the window */
static Window pool_window(const IrNode *n) {
  const IrAttr *k = &n->attr[0], *s = &n->attr[1], *p = &n->attr[2];
  return (Window){k->v[0], k->v[1], s->v[0], s->v[1], p->v[0], p->v[1], p->v[2], p->v[3], 1, 1};
}

static bool pool_check(const Window *w, char *err, size_t errlen) {
  if (!window_check(w, err, errlen)) return false;
  if (w->pt >= w->kh || w->pb >= w->kh || w->pl >= w->kw || w->pr >= w->kw)
    FAIL("pooling padding must be smaller than the window");
  return true;
}

static IrType nchw(int64_t n, int64_t c, int64_t h, int64_t w) {
  return (IrType){IR_F32, {4, {n, c, h, w}}};
}

/* x: (N, C, H, W), w: (O, C, KH, KW) -> (N, O, OH, OW); f32, or i8 operands (an i32 result) */
bool ir_infer_conv2d(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen) {
  IrDType dtype;
  if (!product_dtype(g, n, &dtype, err, errlen)) return false;
  CHECK_RANK(0, 4);
  CHECK_RANK(1, 4);
  const int64_t *x = IN_TYPE(0)->shape.dims, *f = IN_TYPE(1)->shape.dims;
  if (x[1] != f[1])
    FAIL("input has %lld channels but the filter expects %lld", (long long)x[1], (long long)f[1]);
  if (dtype == IR_I32 && f[1] * f[2] * f[3] > I8_MAX_K)
    FAIL("an i8 convolution's C*KH*KW (%lld) exceeds %d: its i32 sums could overflow", (long long)(f[1] * f[2] * f[3]), I8_MAX_K);
  Window w = conv_window(n, f[2], f[3]);
  int64_t oh, ow;
  if (!window_check(&w, err, errlen) || !window_apply(&w, x[2], x[3], &oh, &ow, err, errlen))
    return false;
  *out = nchw(x[0], f[0], oh, ow);
  out->dtype = dtype;
  return true;
}

/* g: (N, O, OH, OW), w: (O, C, KH, KW), input_hw -> (N, C, H, W) */
bool ir_infer_conv2d_grad_input(const IrGraph *g, const IrNode *n, IrType *out, char *err,
                                size_t errlen) {
  CHECK_DTYPE(0, IR_F32);
  CHECK_DTYPE(1, IR_F32);
  CHECK_RANK(0, 4);
  CHECK_RANK(1, 4);
  const int64_t *gd = IN_TYPE(0)->shape.dims, *f = IN_TYPE(1)->shape.dims, *hw = n->attr[3].v;
  if (gd[1] != f[0])
    FAIL("gradient has %lld channels but the filter has %lld outputs", (long long)gd[1], (long long)f[0]);
  Window w = conv_window(n, f[2], f[3]);
  int64_t oh, ow;
  if (!window_check(&w, err, errlen) || !window_apply(&w, hw[0], hw[1], &oh, &ow, err, errlen))
    return false;
  if (oh != gd[2] || ow != gd[3])
    FAIL("input_hw %lldx%lld gives a %lldx%lld output, but the gradient is %lldx%lld",
         (long long)hw[0], (long long)hw[1], (long long)oh, (long long)ow, (long long)gd[2], (long long)gd[3]);
  *out = nchw(gd[0], f[1], hw[0], hw[1]);
  return true;
}

/* x: (N, C, H, W), g: (N, O, OH, OW), kernel_hw -> (O, C, KH, KW) */
bool ir_infer_conv2d_grad_filter(const IrGraph *g, const IrNode *n, IrType *out, char *err,
                                 size_t errlen) {
  CHECK_DTYPE(0, IR_F32);
  CHECK_DTYPE(1, IR_F32);
  CHECK_RANK(0, 4);
  CHECK_RANK(1, 4);
  const int64_t *x = IN_TYPE(0)->shape.dims, *gd = IN_TYPE(1)->shape.dims, *k = n->attr[3].v;
  if (x[0] != gd[0]) FAIL("batch sizes differ: %lld and %lld", (long long)x[0], (long long)gd[0]);
  Window w = conv_window(n, k[0], k[1]);
  int64_t oh, ow;
  if (!window_check(&w, err, errlen) || !window_apply(&w, x[2], x[3], &oh, &ow, err, errlen))
    return false;
  if (oh != gd[2] || ow != gd[3])
    FAIL("the convolution output is %lldx%lld, but the gradient is %lldx%lld", (long long)oh,
         (long long)ow, (long long)gd[2], (long long)gd[3]);
  *out = nchw(gd[1], x[1], k[0], k[1]);
  return true;
}

/* x: (N, C, H, W) -> (N, C, OH, OW) */
bool ir_infer_pool2d(const IrGraph *g, const IrNode *n, IrType *out, char *err, size_t errlen) {
  CHECK_DTYPE(0, IR_F32);
  CHECK_RANK(0, 4);
  const int64_t *x = IN_TYPE(0)->shape.dims;
  Window w = pool_window(n);
  int64_t oh, ow;
  if (!pool_check(&w, err, errlen) || !window_apply(&w, x[2], x[3], &oh, &ow, err, errlen))
    return false;
  *out = nchw(x[0], x[1], oh, ow);
  return true;
}

/* x: (N, C, H, W), g: pool(x)'s shape -> x's shape */
bool ir_infer_maxpool2d_grad(const IrGraph *g, const IrNode *n, IrType *out, char *err,
                             size_t errlen) {
  IrType pooled;
  if (!ir_infer_pool2d(g, n, &pooled, err, errlen)) return false;
  CHECK_DTYPE(1, IR_F32);
  if (!ir_shape_eq(&pooled.shape, &IN_TYPE(1)->shape)) {
    char a[96], b[96];
    FAIL("gradient %s does not match the pooled shape %s", ir_type_str(IN_TYPE(1), a, sizeof a),
         ir_type_str(&pooled, b, sizeof b));
  }
  *out = *IN_TYPE(0);
  return true;
}

/* g: (N, C, OH, OW), input_hw -> (N, C, H, W) */
bool ir_infer_avgpool2d_grad(const IrGraph *g, const IrNode *n, IrType *out, char *err,
                             size_t errlen) {
  CHECK_DTYPE(0, IR_F32);
  CHECK_RANK(0, 4);
  const int64_t *gd = IN_TYPE(0)->shape.dims, *hw = n->attr[3].v;
  Window w = pool_window(n);
  int64_t oh, ow;
  if (!pool_check(&w, err, errlen) || !window_apply(&w, hw[0], hw[1], &oh, &ow, err, errlen))
    return false;
  if (oh != gd[2] || ow != gd[3])
    FAIL("input_hw %lldx%lld pools to %lldx%lld, but the gradient is %lldx%lld", (long long)hw[0],
         (long long)hw[1], (long long)oh, (long long)ow, (long long)gd[2], (long long)gd[3]);
  *out = nchw(gd[0], gd[1], hw[0], hw[1]);
  return true;
}

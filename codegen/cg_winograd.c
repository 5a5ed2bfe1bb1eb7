/* Winograd convolution F(m x m, 3 x 3): planning, the four transforms and the per-group GEMMs
 * (see cg_winograd.h). Every transform is a small constant matrix product L X R^T, emitted
 * unrolled with the zero coefficients skipped. The input transform runs along channels, a
 * contiguous axis that LLVM's loop vectoriser handles; the output and gradient transforms run
 * along a row's tiles, whose values are m floats apart in the image, so they are emitted on
 * vectors of the target's width (rows interleaved and split with shuffles) with a scalar loop
 * for the tiles left over. The filter transforms (once a step) stay scalar. */
#include "codegen/cg_winograd.h"

#include <stdint.h>

#include "codegen/cg_kernel.h"
#include "codegen/cg_sgemm.h"
#include "support/rt_assert.h"

enum {
  MAX_ALPHA = 6,
  GROUP_COLUMNS = 128,          /* tiles of a group at most: the GEMMs' N */
  GROUP_BYTES = 8 << 20,        /* a thread's V and M (or Z) at most, unless one image needs more */
  MIN_CHANNELS = 16,
  MAX_LANES = 16,
};

typedef struct Mat {
  int rows, cols;
  double v[MAX_ALPHA][MAX_ALPHA];
} Mat;

/* The transforms of Lavin & Gray (2016): B^T (alpha x alpha), G (alpha x 3), A^T (m x alpha). */
static const Mat F2_BT = {4, 4, {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}}};
static const Mat F2_G = {4, 3, {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}}};
static const Mat F2_AT = {2, 4, {{1, 1, 1, 0}, {0, 1, -1, -1}}};
static const Mat F4_BT = {6, 6, {{4, 0, -5, 0, 1, 0}, {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
                                 {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}}};
static const Mat F4_G = {6, 3, {{1.0 / 4, 0, 0}, {-1.0 / 6, -1.0 / 6, -1.0 / 6}, {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                {1.0 / 24, 1.0 / 12, 1.0 / 6}, {1.0 / 24, -1.0 / 12, 1.0 / 6}, {0, 0, 1}}};
static const Mat F4_AT = {4, 6, {{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}}};

static Mat transposed(const Mat *a) {
  Mat t = {a->cols, a->rows, {{0}}};
  for (int i = 0; i < a->rows; i++)
    for (int j = 0; j < a->cols; j++) t.v[j][i] = a->v[i][j];
  return t;
}

static const Mat *mat_bt(const CgWinograd *w) { return w->m == 2 ? &F2_BT : &F4_BT; }
static const Mat *mat_g(const CgWinograd *w) { return w->m == 2 ? &F2_G : &F4_G; }
static const Mat *mat_at(const CgWinograd *w) { return w->m == 2 ? &F2_AT : &F4_AT; }

/* ---- planning ---- */

bool cg_winograd_plan(CgWinograd *w, const CgConvGeom *cv, CgWinoKind kind, int m) {
  *w = (CgWinograd){0};
  if (m != 2 && m != 4) return false;
  if (cv->kh != 3 || cv->kw != 3 || cv->sh != 1 || cv->sw != 1 || cv->dh != 1 || cv->dw != 1) return false;
  int64_t pb = cv->oh - cv->h - cv->pt + 2, pr = cv->ow - cv->w - cv->pl + 2; /* bottom, right */
  if (cv->pt < 0 || cv->pt > 2 || cv->pl < 0 || cv->pl > 2 || pb < 0 || pb > 2 || pr < 0 || pr > 2) return false;
  if (cv->c < MIN_CHANNELS || cv->o < MIN_CHANNELS || cv->oh < 1 || cv->ow < 1) return false;
  w->kind = kind, w->m = m, w->alpha = m + 2, w->n = cv->n;
  if (kind == CG_WINO_GRAD_INPUT) { /* dx = correlation of gy (padded 2 - p) with the flipped filter */
    w->ic = cv->o, w->ih = cv->oh, w->iw = cv->ow, w->oc = cv->c, w->oh = cv->h, w->ow = cv->w;
    w->pt = 2 - cv->pt, w->pl = 2 - cv->pl;
  } else {
    w->ic = cv->c, w->ih = cv->h, w->iw = cv->w, w->oc = cv->o, w->oh = cv->oh, w->ow = cv->ow;
    w->pt = cv->pt, w->pl = cv->pl;
  }
  w->th = (w->oh + m - 1) / m, w->tw = (w->ow + m - 1) / m, w->tiles = w->th * w->tw;
  /* the filter gradient is split in two by output channels; a thread's Z holds its half */
  w->ochunks = kind == CG_WINO_GRAD_FILTER && w->oc >= 2 ? 2 : 1;
  w->ochunk = (w->oc + w->ochunks - 1) / w->ochunks;
  int64_t a2 = (int64_t)w->alpha * w->alpha, column_bytes = a2 * (w->ic + w->ochunk) * 4;
  /* the filter gradient's GEMMs sum over the group's columns into dU: fewer would mean more
   * passes over dU, so only the forward kinds are held to GROUP_BYTES */
  int64_t max_bytes = kind == CG_WINO_GRAD_FILTER ? INT64_MAX : GROUP_BYTES;
  w->group = 1;
  for (int64_t g = 1; g <= w->n; g++)
    if (w->n % g == 0 && g * w->tiles <= GROUP_COLUMNS && g * w->tiles * column_bytes <= max_bytes) w->group = g;
  w->groups = w->n / w->group;
  if (kind != CG_WINO_GRAD_FILTER && w->groups == 1 && w->oc >= 2 * MIN_CHANNELS) { /* batch 1: two halves */
    w->ochunks = 2;
    w->ochunk = (w->oc + 1) / 2;
  }
  w->ph = w->th * m + 2, w->pw = w->tw * m + 2;
  w->staged = w->oh % m || w->ow % m;
  int64_t cols = w->group * w->tiles;
  w->u_elems = a2 * w->oc * w->ic;
  w->v_off = 0;
  w->mm_off = w->v_off + a2 * cols * w->ic;
  w->pad_off = w->mm_off + a2 * w->ochunk * cols;
  w->stage_off = w->pad_off + w->ph * w->pw * w->ic;
  w->worker_elems = w->stage_off + (w->staged ? w->oc * w->th * m * w->tw * m : 0);
  return true;
}

int64_t cg_winograd_workspace_elems(const CgWinograd *w, int workers) {
  return w->u_elems + (int64_t)workers * w->worker_elems;
}

/* ---- emission helpers ---- */

static LLVMValueRef c64(CgContext *c, int64_t v) { return cg_i64(c, v); }
static LLVMValueRef add(CgContext *c, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildNSWAdd(c->b, a, b, ""); }
static LLVMValueRef mul(CgContext *c, LLVMValueRef a, int64_t k) { return LLVMBuildNSWMul(c->b, a, c64(c, k), ""); }
static LLVMValueRef at(CgContext *c, LLVMValueRef p, LLVMValueRef off) { return cg_gep(c, p, off); }
static LLVMValueRef load(CgContext *c, LLVMValueRef p, LLVMValueRef off) {
  return LLVMBuildLoad2(c->b, c->f32, cg_gep(c, p, off), "");
}
static void store(CgContext *c, LLVMValueRef v, LLVMValueRef p, LLVMValueRef off) {
  LLVMBuildStore(c->b, v, cg_gep(c, p, off));
}

/* `lanes` consecutive floats at p + off as one vector (a float when lanes is 1), and back */
static LLVMValueRef load_lanes(CgContext *c, LLVMValueRef p, LLVMValueRef off, int lanes) {
  if (lanes == 1) return load(c, p, off);
  LLVMValueRef v = LLVMBuildLoad2(c->b, LLVMVectorType(c->f32, (unsigned)lanes), cg_gep(c, p, off), "");
  LLVMSetAlignment(v, 4);
  return v;
}
static void store_lanes(CgContext *c, LLVMValueRef v, LLVMValueRef p, LLVMValueRef off) {
  LLVMSetAlignment(LLVMBuildStore(c->b, v, cg_gep(c, p, off)), 4);
}

/* shufflevector of a (and b, or poison) with mask[i] for i < n */
static LLVMValueRef shuffle(CgContext *c, LLVMValueRef a, LLVMValueRef b, const int *mask, int n) {
  LLVMValueRef m[MAX_ALPHA * MAX_LANES];
  for (int i = 0; i < n; i++) m[i] = cg_i32(c, mask[i]);
  if (!b) b = LLVMGetPoison(LLVMTypeOf(a));
  return LLVMBuildShuffleVector(c->b, a, b, LLVMConstVector(m, (unsigned)n), "");
}

/* The m vectors v[j] of `lanes` tiles each as one vector of m * lanes floats, tile by tile:
 * (v[0][0], v[1][0], .., v[m-1][0], v[0][1], ...), the order of an output row. */
static LLVMValueRef interleave(CgContext *c, LLVMValueRef const *v, int m, int lanes) {
  int mask[MAX_ALPHA * MAX_LANES];
  for (int i = 0; i < 4 * lanes; i++) mask[i] = i;
  LLVMValueRef all = shuffle(c, v[0], v[1], mask, 2 * lanes);
  if (m == 4) all = shuffle(c, all, shuffle(c, v[2], v[3], mask, 2 * lanes), mask, 4 * lanes);
  for (int t = 0; t < lanes; t++)
    for (int j = 0; j < m; j++) mask[t * m + j] = j * lanes + t;
  return shuffle(c, all, NULL, mask, m * lanes);
}

/* Lane j of each tile in row, a vector of m * lanes floats read tile by tile: the inverse. */
static LLVMValueRef deinterleave(CgContext *c, LLVMValueRef row, int m, int lanes, int j) {
  int mask[MAX_LANES];
  for (int t = 0; t < lanes; t++) mask[t] = t * m + j;
  return shuffle(c, row, NULL, mask, lanes);
}

/* One row of tiles for the output and gradient transforms: read from `src` at src_row, written
 * to `dst` at dst_row; `cols` is the row stride of the side that is an image (y or dy). */
typedef struct TileRow {
  LLVMValueRef src, dst, src_row, dst_row;
  int64_t cols;
} TileRow;

/* Lanes of the tile loops' vector code: floats per vector of the target. */
static int tile_lanes(const CgContext *c) {
  int lanes = c->vector_bits / 32;
  return lanes < 1 ? 1 : lanes > MAX_LANES ? MAX_LANES : lanes;
}

/* body(tx0, lanes) over the tiles of a row: tw / lanes vectors of them, then one at a time. */
typedef void (*TileBody)(CgContext *c, const CgWinograd *w, const void *ctx, LLVMValueRef tx0, int lanes);
static void tile_row(CgContext *c, const CgWinograd *w, const void *ctx, TileBody body, const char *name) {
  int lanes = tile_lanes(c);
  int64_t full = lanes > 1 ? w->tw / lanes : 0;
  CgLoopNest lv, lx;
  if (full > 0) {
    cg_loop_range(c, &lv, c64(c, 0), c64(c, full), name);
    body(c, w, ctx, mul(c, lv.idx[0], lanes), lanes);
    cg_loop_close(c, &lv);
  }
  cg_loop_range(c, &lx, c64(c, full * lanes), c64(c, w->tw), name);
  body(c, w, ctx, lx.idx[0], 1);
  cg_loop_close(c, &lx);
}

/* v as a float, or splat over the lanes of x's vector type */
static LLVMValueRef like(CgContext *c, LLVMValueRef x, double v) {
  LLVMTypeRef t = LLVMTypeOf(x);
  if (LLVMGetTypeKind(t) != LLVMVectorTypeKind) return cg_f32(c, v);
  LLVMValueRef e[MAX_LANES];
  unsigned lanes = LLVMGetVectorSize(t);
  for (unsigned i = 0; i < lanes; i++) e[i] = cg_f32(c, v);
  return LLVMConstVector(e, lanes);
}

/* sum over k of coef[k] * x[k] (floats or vectors of them), skipping zero coefficients and
 * multiplying by +-1 as adds */
static LLVMValueRef lincomb(CgContext *c, const double *coef, LLVMValueRef const *x, int n) {
  LLVMValueRef acc = NULL;
  for (int k = 0; k < n; k++) {
    if (coef[k] == 0) continue;
    bool neg = coef[k] < 0;
    double mag = neg ? -coef[k] : coef[k];
    LLVMValueRef term = mag == 1 ? x[k] : LLVMBuildFMul(c->b, like(c, x[k], mag), x[k], "");
    if (!acc)
      acc = neg ? LLVMBuildFNeg(c->b, term, "") : term;
    else
      acc = neg ? LLVMBuildFSub(c->b, acc, term, "") : LLVMBuildFAdd(c->b, acc, term, "");
  }
  return acc ? acc : like(c, x[0], 0);
}

/* out (L.rows x R.rows, row-major) = L x R^T, x (L.cols x R.cols, row-major) */
static void transform(CgContext *c, const Mat *l, const Mat *r, LLVMValueRef const *x, LLVMValueRef *out) {
  LLVMValueRef t[MAX_ALPHA * MAX_ALPHA], col[MAX_ALPHA];
  for (int i = 0; i < l->rows; i++)
    for (int j = 0; j < r->cols; j++) {
      for (int k = 0; k < l->cols; k++) col[k] = x[k * r->cols + j];
      t[i * r->cols + j] = lincomb(c, l->v[i], col, l->cols);
    }
  for (int i = 0; i < l->rows; i++)
    for (int j = 0; j < r->rows; j++) out[i * r->rows + j] = lincomb(c, r->v[j], t + i * r->cols, r->cols);
}

/* The worker's area of the workspace, at `off` floats into it. */
static LLVMValueRef worker_area(CgContext *c, const CgWinograd *w, LLVMValueRef ws, LLVMValueRef worker, int64_t off) {
  LLVMValueRef wk = LLVMBuildZExt(c->b, worker, c->i64, "");
  return at(c, ws, add(c, c64(c, w->u_elems + off), mul(c, wk, w->worker_elems)));
}

static int64_t columns(const CgWinograd *w) { return w->group * w->tiles; }

/* ---- the filter transform: U[xi][o][i] = (G g G^T)[xi] ---- */

void cg_winograd_emit_filter(CgContext *c, const CgWinograd *w, LLVMValueRef filter, LLVMValueRef ws,
                             LLVMValueRef o_lo, LLVMValueRef o_hi) {
  const Mat *g = mat_g(w);
  int a2 = w->alpha * w->alpha;
  CgLoopNest lo, li;
  cg_loop_range(c, &lo, o_lo, o_hi, "wino.filter.o");
  cg_loop_range(c, &li, c64(c, 0), c64(c, w->ic), "wino.filter.i");
  LLVMValueRef taps[9], u[MAX_ALPHA * MAX_ALPHA];
  /* forward: g[o][i] at filter[o][i]; input gradient: filter[i][o] rotated by 180 degrees */
  LLVMValueRef base = w->kind == CG_WINO_GRAD_INPUT ? add(c, mul(c, li.idx[0], w->oc), lo.idx[0])
                                                    : add(c, mul(c, lo.idx[0], w->ic), li.idx[0]);
  base = mul(c, base, 9);
  for (int k = 0; k < 9; k++) taps[k] = load(c, filter, add(c, base, c64(c, w->kind == CG_WINO_GRAD_INPUT ? 8 - k : k)));
  transform(c, g, g, taps, u);
  LLVMValueRef dst = add(c, mul(c, lo.idx[0], w->ic), li.idx[0]);
  for (int xi = 0; xi < a2; xi++) store(c, u[xi], ws, add(c, dst, c64(c, (int64_t)xi * w->oc * w->ic)));
  cg_loop_close(c, &li);
  cg_loop_close(c, &lo);
}

/* ---- the input transform: V[xi][col][i] = (B^T d B)[xi] ---- */

/* Copies image `img` (ic, ih, iw) into the zero-padded pad (ph, pw, ic), channels innermost. */
static void emit_pad_copy(CgContext *c, const CgWinograd *w, LLVMValueRef img, LLVMValueRef pad) {
  LLVMBuildMemSet(c->b, pad, LLVMConstInt(c->i8, 0, 0), c64(c, w->ph * w->pw * w->ic * 4), 4);
  CgLoopNest lr, lq, li;
  cg_loop_range(c, &lr, c64(c, 0), c64(c, w->ih), "wino.pad.r");
  cg_loop_range(c, &lq, c64(c, 0), c64(c, w->iw), "wino.pad.q");
  LLVMValueRef dst = mul(c, add(c, mul(c, add(c, lr.idx[0], c64(c, w->pt)), w->pw), add(c, lq.idx[0], c64(c, w->pl))), w->ic);
  LLVMValueRef src = add(c, mul(c, lr.idx[0], w->iw), lq.idx[0]);
  cg_loop_range(c, &li, c64(c, 0), c64(c, w->ic), "wino.pad.i");
  store(c, load(c, img, add(c, src, mul(c, li.idx[0], w->ih * w->iw))), pad, add(c, dst, li.idx[0]));
  cg_loop_close(c, &li);
  cg_loop_close(c, &lq);
  cg_loop_close(c, &lr);
}

/* V for one image whose tiles are columns [col0, col0 + tiles) */
static void emit_input_transform(CgContext *c, const CgWinograd *w, LLVMValueRef img, LLVMValueRef pad,
                                 LLVMValueRef v, LLVMValueRef col0) {
  emit_pad_copy(c, w, img, pad);
  const Mat *bt = mat_bt(w);
  int a = w->alpha, a2 = a * a;
  CgLoopNest ly, lx, li;
  cg_loop_range(c, &ly, c64(c, 0), c64(c, w->th), "wino.in.ty");
  cg_loop_range(c, &lx, c64(c, 0), c64(c, w->tw), "wino.in.tx");
  LLVMValueRef corner = mul(c, add(c, mul(c, mul(c, ly.idx[0], w->m), w->pw), mul(c, lx.idx[0], w->m)), w->ic);
  LLVMValueRef col = add(c, col0, add(c, mul(c, ly.idx[0], w->tw), lx.idx[0]));
  LLVMValueRef vrow = mul(c, col, w->ic);
  cg_loop_range(c, &li, c64(c, 0), c64(c, w->ic), "wino.in.i");
  LLVMValueRef d[MAX_ALPHA * MAX_ALPHA], out[MAX_ALPHA * MAX_ALPHA];
  LLVMValueRef base = add(c, corner, li.idx[0]);
  for (int r = 0; r < a; r++)
    for (int q = 0; q < a; q++) d[r * a + q] = load(c, pad, add(c, base, c64(c, ((int64_t)r * w->pw + q) * w->ic)));
  transform(c, bt, bt, d, out);
  LLVMValueRef dst = add(c, vrow, li.idx[0]);
  for (int xi = 0; xi < a2; xi++) store(c, out[xi], v, add(c, dst, c64(c, (int64_t)xi * columns(w) * w->ic)));
  cg_loop_close(c, &li);
  cg_loop_close(c, &lx);
  cg_loop_close(c, &ly);
}

/* ---- forward and input gradient: one group of images ---- */

/* Output tiles tx0 .. tx0 + lanes of a row: Y = A^T M A on vectors of tiles, each row of the
 * result interleaved back into consecutive columns. */
static void output_tiles(CgContext *c, const CgWinograd *w, const void *ctx, LLVMValueRef tx0, int lanes) {
  const TileRow *r = ctx; /* M at src_row + tx (per xi), the tiles' rows at dst_row + i * cols */
  const Mat *atm = mat_at(w);
  int m = w->m, a2 = w->alpha * w->alpha;
  LLVMValueRef mv[MAX_ALPHA * MAX_ALPHA], out[MAX_ALPHA * MAX_ALPHA];
  LLVMValueRef src = add(c, r->src_row, tx0);
  for (int xi = 0; xi < a2; xi++) mv[xi] = load_lanes(c, r->src, add(c, src, c64(c, (int64_t)xi * w->ochunk * columns(w))), lanes);
  transform(c, atm, atm, mv, out);
  LLVMValueRef dst = add(c, r->dst_row, mul(c, tx0, m));
  for (int i = 0; i < m; i++) {
    LLVMValueRef at_row = add(c, dst, c64(c, (int64_t)i * r->cols));
    if (lanes > 1) {
      store_lanes(c, interleave(c, out + i * m, m, lanes), r->dst, at_row);
      continue;
    }
    for (int j = 0; j < m; j++) store(c, out[i * m + j], r->dst, add(c, at_row, c64(c, j)));
  }
}

/* Channels [o0, o1) of y (oc, oh, ow) of one image from M's columns [col0, col0 + tiles) */
static void emit_output_transform(CgContext *c, const CgWinograd *w, LLVMValueRef mm, LLVMValueRef col0,
                                  LLVMValueRef y, LLVMValueRef stage, LLVMValueRef o0, LLVMValueRef o1) {
  int m = w->m;
  int64_t rows = w->staged ? w->th * m : w->oh, cols = w->staged ? w->tw * m : w->ow;
  LLVMValueRef dstp = w->staged ? stage : y;
  CgLoopNest lo, ly;
  cg_loop_range(c, &lo, o0, o1, "wino.out.o");
  cg_loop_range(c, &ly, c64(c, 0), c64(c, w->th), "wino.out.ty");
  TileRow row = {.src = mm, .dst = dstp, .cols = cols,
                .src_row = add(c, add(c, mul(c, LLVMBuildNSWSub(c->b, lo.idx[0], o0, ""), columns(w)), col0),
                               mul(c, ly.idx[0], w->tw)),
                .dst_row = mul(c, add(c, mul(c, lo.idx[0], rows), mul(c, ly.idx[0], m)), cols)};
  tile_row(c, w, &row, output_tiles, "wino.out.tx");
  cg_loop_close(c, &ly);
  cg_loop_close(c, &lo);
  if (!w->staged) return;
  CgLoopNest lr, lq; /* the whole tiles' rows and columns that fall inside the output */
  cg_loop_range(c, &lo, o0, o1, "wino.unstage.o");
  cg_loop_range(c, &lr, c64(c, 0), c64(c, w->oh), "wino.unstage.r");
  LLVMValueRef from = mul(c, add(c, mul(c, lo.idx[0], rows), lr.idx[0]), cols);
  LLVMValueRef to = mul(c, add(c, mul(c, lo.idx[0], w->oh), lr.idx[0]), w->ow);
  cg_loop_range(c, &lq, c64(c, 0), c64(c, w->ow), "wino.unstage.q");
  store(c, load(c, stage, add(c, from, lq.idx[0])), y, add(c, to, lq.idx[0]));
  cg_loop_close(c, &lq);
  cg_loop_close(c, &lr);
  cg_loop_close(c, &lo);
}

void cg_winograd_emit_group(CgContext *c, const CgWinograd *w, LLVMValueRef in, LLVMValueRef out, LLVMValueRef ws,
                            LLVMValueRef worker, LLVMValueRef group, LLVMValueRef o0, LLVMValueRef o1) {
  LLVMValueRef v = worker_area(c, w, ws, worker, w->v_off), mm = worker_area(c, w, ws, worker, w->mm_off);
  LLVMValueRef pad = worker_area(c, w, ws, worker, w->pad_off), stage = worker_area(c, w, ws, worker, w->stage_off);
  LLVMValueRef first = mul(c, group, w->group);
  CgLoopNest li, lx;
  cg_loop_range(c, &li, c64(c, 0), c64(c, w->group), "wino.image");
  LLVMValueRef img = at(c, in, mul(c, add(c, first, li.idx[0]), w->ic * w->ih * w->iw));
  emit_input_transform(c, w, img, pad, v, mul(c, li.idx[0], w->tiles));
  cg_loop_close(c, &li);
  int64_t a2 = (int64_t)w->alpha * w->alpha, cols = columns(w);
  cg_loop_range(c, &lx, c64(c, 0), c64(c, a2), "wino.gemm");
  LLVMValueRef u = at(c, ws, add(c, mul(c, lx.idx[0], w->oc * w->ic), mul(c, o0, w->ic)));
  LLVMValueRef mrows = at(c, mm, mul(c, lx.idx[0], w->ochunk * cols));
  cg_emit_sgemm(c, false, true, LLVMBuildNSWSub(c->b, o1, o0, ""), c64(c, cols), w->ic, u, w->ic,
                at(c, v, mul(c, lx.idx[0], cols * w->ic)), w->ic, 0.0f, mrows, cols);
  cg_loop_close(c, &lx);
  cg_loop_range(c, &li, c64(c, 0), c64(c, w->group), "wino.image.out");
  LLVMValueRef y = at(c, out, mul(c, add(c, first, li.idx[0]), w->oc * w->oh * w->ow));
  emit_output_transform(c, w, mm, mul(c, li.idx[0], w->tiles), y, stage, o0, o1);
  cg_loop_close(c, &li);
}

/* ---- filter gradient ---- */

/* Gradient tiles tx0 .. tx0 + lanes of a row: Z = A dy A^T on vectors of tiles, each row of dy
 * read as consecutive columns and split by position in the tile. */
static void gradient_tiles(CgContext *c, const CgWinograd *w, const void *ctx, LLVMValueRef tx0, int lanes) {
  const TileRow *r = ctx; /* dy at src_row + i * cols + tx * m + j, Z at dst_row + tx (per xi) */
  Mat a = transposed(mat_at(w));
  int m = w->m, a2 = w->alpha * w->alpha;
  LLVMValueRef d[MAX_ALPHA * MAX_ALPHA], out[MAX_ALPHA * MAX_ALPHA];
  LLVMValueRef corner = add(c, r->src_row, mul(c, tx0, m));
  for (int i = 0; i < m; i++) {
    LLVMValueRef at_row = add(c, corner, c64(c, (int64_t)i * r->cols));
    if (lanes > 1) {
      LLVMValueRef whole = load_lanes(c, r->src, at_row, m * lanes);
      for (int j = 0; j < m; j++) d[i * m + j] = deinterleave(c, whole, m, lanes, j);
      continue;
    }
    for (int j = 0; j < m; j++) d[i * m + j] = load(c, r->src, add(c, at_row, c64(c, j)));
  }
  transform(c, &a, &a, d, out);
  LLVMValueRef dst = add(c, r->dst_row, tx0);
  for (int xi = 0; xi < a2; xi++) store_lanes(c, out[xi], r->dst, add(c, dst, c64(c, (int64_t)xi * w->ochunk * columns(w))));
}

/* Z[xi][o][col0 + tile] = (A dy A^T)[xi] for rows [o0, o1) of one image's gy (oc, oh, ow); dy
 * tiles reaching past the output read zeros from a staged copy. */
static void emit_gradient_transform(CgContext *c, const CgWinograd *w, LLVMValueRef gy, LLVMValueRef stage,
                                    LLVMValueRef z, LLVMValueRef col0, LLVMValueRef o0, LLVMValueRef o1) {
  int m = w->m;
  int64_t rows = w->staged ? w->th * m : w->oh, cols = w->staged ? w->tw * m : w->ow;
  CgLoopNest lo, lr, lq, ly;
  LLVMValueRef src = gy;
  if (w->staged) {
    LLVMValueRef span = LLVMBuildNSWSub(c->b, o1, o0, "");
    LLVMBuildMemSet(c->b, at(c, stage, mul(c, o0, rows * cols)), LLVMConstInt(c->i8, 0, 0), mul(c, span, rows * cols * 4), 4);
    cg_loop_range(c, &lo, o0, o1, "wino.stage.o");
    cg_loop_range(c, &lr, c64(c, 0), c64(c, w->oh), "wino.stage.r");
    LLVMValueRef from = mul(c, add(c, mul(c, lo.idx[0], w->oh), lr.idx[0]), w->ow);
    LLVMValueRef to = mul(c, add(c, mul(c, lo.idx[0], rows), lr.idx[0]), cols);
    cg_loop_range(c, &lq, c64(c, 0), c64(c, w->ow), "wino.stage.q");
    store(c, load(c, gy, add(c, from, lq.idx[0])), stage, add(c, to, lq.idx[0]));
    cg_loop_close(c, &lq);
    cg_loop_close(c, &lr);
    cg_loop_close(c, &lo);
    src = stage;
  }
  cg_loop_range(c, &lo, o0, o1, "wino.grad.o");
  cg_loop_range(c, &ly, c64(c, 0), c64(c, w->th), "wino.grad.ty");
  TileRow row = {.src = src, .dst = z, .cols = cols,
                 .src_row = mul(c, add(c, mul(c, lo.idx[0], rows), mul(c, ly.idx[0], m)), cols),
                 .dst_row = add(c, add(c, mul(c, LLVMBuildNSWSub(c->b, lo.idx[0], o0, ""), columns(w)), col0),
                                mul(c, ly.idx[0], w->tw))};
  tile_row(c, w, &row, gradient_tiles, "wino.grad.tx");
  cg_loop_close(c, &ly);
  cg_loop_close(c, &lo);
}

void cg_winograd_emit_grad_filter(CgContext *c, const CgWinograd *w, LLVMValueRef x, LLVMValueRef gy,
                                  LLVMValueRef dw, LLVMValueRef ws, LLVMValueRef worker, LLVMValueRef o0,
                                  LLVMValueRef o1) {
  RT_ASSERT(w->kind == CG_WINO_GRAD_FILTER, "not a filter-gradient plan");
  LLVMValueRef v = worker_area(c, w, ws, worker, w->v_off), z = worker_area(c, w, ws, worker, w->mm_off);
  LLVMValueRef pad = worker_area(c, w, ws, worker, w->pad_off), stage = worker_area(c, w, ws, worker, w->stage_off);
  int64_t a2 = (int64_t)w->alpha * w->alpha, cols = columns(w);
  LLVMValueRef rows = LLVMBuildNSWSub(c->b, o1, o0, "");
  CgLoopNest lx, lg, li, lo, lc;
  /* dU rows [o0, o1) of every xi start at zero: the groups accumulate into them */
  cg_loop_range(c, &lx, c64(c, 0), c64(c, a2), "wino.du.zero");
  LLVMValueRef du_rows = at(c, ws, add(c, mul(c, lx.idx[0], w->oc * w->ic), mul(c, o0, w->ic)));
  LLVMBuildMemSet(c->b, du_rows, LLVMConstInt(c->i8, 0, 0), mul(c, rows, w->ic * 4), 4);
  cg_loop_close(c, &lx);
  cg_loop_range(c, &lg, c64(c, 0), c64(c, w->groups), "wino.group");
  LLVMValueRef first = mul(c, lg.idx[0], w->group);
  cg_loop_range(c, &li, c64(c, 0), c64(c, w->group), "wino.image");
  LLVMValueRef n = add(c, first, li.idx[0]), col0 = mul(c, li.idx[0], w->tiles);
  emit_input_transform(c, w, at(c, x, mul(c, n, w->ic * w->ih * w->iw)), pad, v, col0);
  emit_gradient_transform(c, w, at(c, gy, mul(c, n, w->oc * w->oh * w->ow)), stage, z, col0, o0, o1);
  cg_loop_close(c, &li);
  cg_loop_range(c, &lx, c64(c, 0), c64(c, a2), "wino.gemm");
  LLVMValueRef zx = at(c, z, mul(c, lx.idx[0], w->ochunk * cols));
  LLVMValueRef du = at(c, ws, add(c, mul(c, lx.idx[0], w->oc * w->ic), mul(c, o0, w->ic)));
  cg_emit_sgemm(c, false, false, rows, c64(c, w->ic), cols, zx, cols, at(c, v, mul(c, lx.idx[0], cols * w->ic)), w->ic,
                1.0f, du, w->ic);
  cg_loop_close(c, &lx);
  cg_loop_close(c, &lg);
  /* dw[o][i] = G^T dU[.][o][i] G */
  Mat gt = transposed(mat_g(w));
  cg_loop_range(c, &lo, o0, o1, "wino.dw.o");
  cg_loop_range(c, &lc, c64(c, 0), c64(c, w->ic), "wino.dw.i");
  LLVMValueRef du_v[MAX_ALPHA * MAX_ALPHA], taps[9];
  LLVMValueRef at_oi = add(c, mul(c, lo.idx[0], w->ic), lc.idx[0]);
  for (int xi = 0; xi < a2; xi++) du_v[xi] = load(c, ws, add(c, at_oi, c64(c, xi * w->oc * w->ic)));
  transform(c, &gt, &gt, du_v, taps);
  for (int k = 0; k < 9; k++) store(c, taps[k], dw, add(c, mul(c, at_oi, 9), c64(c, k)));
  cg_loop_close(c, &lc);
  cg_loop_close(c, &lo);
}

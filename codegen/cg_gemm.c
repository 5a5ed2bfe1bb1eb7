/* GEMM kernels: matmul and the three convolutions, lowered to single-precision GEMM calls
 * (cg_emit_sgemm: OpenBLAS's cblas_sgemm, or with CgContext.own_gemm our own kernel for the
 * shape, codegen/cg_sgemm.h),
 * followed by the kernel's elementwise epilogue on the block just computed, while it is in
 * cache. 3x3 stride-1 convolutions of 16 channels and more are Winograd ones (cg_winograd.h,
 * unless CgKernelOptions says otherwise); a 1x1 convolution, or one whose filter spans the
 * image's height with one column, is one GEMM on the image as it is (conv_implicit); the rest use
 * im2col (Chellapilla et al. 2006): per image, the receptive fields become the columns of a
 * (C*KH*KW, OH*OW) matrix in the worker's slice of the workspace.
 *   conv2d:             y[n] = W (O, CKK) @ col(x[n]), or directly when CKK is small (below)
 *   conv2d_grad_input:  col = W^T @ g[n]; dx[n] = col2im(col)
 *   conv2d_grad_filter: dW[o0:o1] = sum_n g[n][o0:o1] @ col(x[n])^T, split over output rows
 * Parallel work: matmul splits batch x (rows or columns), conv2d and its input gradient split
 * images (Winograd: groups of images, after a prologue that transforms the filter), the filter
 * gradient splits output channels (no partial sums to combine).
 * Splits depend on shapes only, never on the thread count: OpenBLAS rounds a block of rows
 * differently from the same rows inside a larger block, so a split by threads would make results
 * depend on SMELT_THREADS (and a sweep's on --jobs). Threads only choose which chunks they run.
 * int8 products (i8 operands, i32 result: int8 inference) call our int8 GEMM (cg_igemm.h) the same
 * way, a matmul split alike and a convolution by im2col (or on the image itself), never direct or
 * Winograd. */
#include <stdlib.h>
#include <string.h>

#include "codegen/cg_conv.h"
#include "codegen/cg_igemm.h"
#include "codegen/cg_loop.h"
#include "codegen/cg_ops.h"
#include "codegen/cg_sgemm.h"
#include "codegen/cg_symbols.h"
#include "codegen/cg_winograd.h"
#include "support/rt_assert.h"

/* Which GEMM an op is (its row of cg_ops.c): a matmul, or a convolution whose operands and
 * output play the roles of image x, filter w and output y as below. */
typedef enum GemmMode { GEMM_MATMUL, GEMM_CONV, GEMM_CONV_GRAD_INPUT, GEMM_CONV_GRAD_FILTER } GemmMode;
struct CgGemmOp {
  GemmMode mode;
};

typedef struct Gemm {
  GemmMode mode;
  int a, b, out, ws; /* argument indices (ws: workspace, -1 when none) */
  /* matmul */
  int batch_rank;
  int64_t batch_dims[IR_MAX_RANK], a_batch_str[IR_MAX_RANK], b_batch_str[IR_MAX_RANK];
  int64_t m, nn, k;
  bool ta, tb, split_rows;
  int64_t chunk, chunks; /* rows or columns per item, items per batch */
  /* convolutions */
  CgConvGeom cv;
  CgWinograd wino; /* wino.m > 0: the convolution is a Winograd one (cg_winograd.h) */
  bool int8; /* i8 operands, an i32 result */
  bool epilogue;
  CgLoop epi;
} Gemm;

/* ---- geometry ---- */

static GemmMode gemm_mode(IrOp op) {
  const CgGemmOp *row = cg_op_emit[op].gemm;
  RT_ASSERT(row, "no GEMM lowering for %s", ir_op_info[op].name);
  return row->mode;
}

static CgConvGeom conv_geom(const IrGraph *g, const IrNode *n) {
  const int64_t *s = n->attr[0].v, *p = n->attr[1].v, *d = n->attr[2].v;
  CgConvGeom cv = {.sh = s[0], .sw = s[1], .pt = p[0], .pl = p[1], .dh = d[0], .dw = d[1]};
  const int64_t *x, *y, *w;
  switch (gemm_mode(n->op)) {
    case GEMM_CONV:
      x = ir_type_of(g, n->in[0])->shape.dims, w = ir_type_of(g, n->in[1])->shape.dims, y = n->type.shape.dims;
      break;
    case GEMM_CONV_GRAD_INPUT:
      y = ir_type_of(g, n->in[0])->shape.dims, w = ir_type_of(g, n->in[1])->shape.dims, x = n->type.shape.dims;
      break;
    default: /* grad filter */
      x = ir_type_of(g, n->in[0])->shape.dims, y = ir_type_of(g, n->in[1])->shape.dims, w = n->type.shape.dims;
  }
  cv.n = x[0], cv.c = x[1], cv.h = x[2], cv.w = x[3];
  cv.o = w[0], cv.kh = w[2], cv.kw = w[3], cv.oh = y[2], cv.ow = y[3];
  return cv;
}

static int64_t col_elems(const CgConvGeom *cv) { return cv->c * cv->kh * cv->kw * cv->oh * cv->ow; }

/* Whether the image (C, H, W) is its own column matrix (C*KH*KW, OH*OW), rows OH*OW apart, so
 * that the convolution is one GEMM on it with no im2col (an implicit GEMM that copies nothing):
 * one filter column, stride 1, no padding, and either one filter row at stride 1 (a 1x1
 * convolution: row c is channel c) or filter rows spanning the image's height, one output row
 * (row (c, kh) is image row kh of channel c; the layer that turns a CNN's last map of height 2
 * into a sequence). */
static bool conv_implicit(const CgConvGeom *cv) {
  if (cv->kw != 1 || cv->sw != 1 || cv->pl != 0 || cv->pt != 0 || cv->ow != cv->w || cv->dh != 1) return false;
  return (cv->kh == 1 && cv->sh == 1 && cv->oh == cv->h) || (cv->kh == cv->h && cv->oh == 1);
}

static bool conv_direct(const CgConvGeom *cv);

/* Whether a forward convolution is the direct loop (never an int8 one). */
static bool conv_is_direct(const CgConvGeom *cv, GemmMode mode, bool int8) {
  return mode == GEMM_CONV && !int8 && conv_direct(cv);
}

/* Whether the kernel computing `mode` reads the image as its column matrix: conv_implicit, unless
 * a forward convolution takes the direct loop instead. */
static bool conv_reads_image_as_col(const CgConvGeom *cv, GemmMode mode, bool int8) {
  return conv_implicit(cv) && !conv_is_direct(cv, mode, int8);
}

/* Whether the GEMM op n multiplies i8 operands. */
static bool gemm_int8(const IrGraph *g, const IrNode *n) { return ir_type_of(g, n->in[0])->dtype == IR_I8; }

/* Whether the convolution cv computing `mode` is a Winograd one under opt (and its plan). */
static bool conv_winograd(CgWinograd *w, const CgConvGeom *cv, GemmMode mode, const CgKernelOptions *opt, bool int8) {
  if (int8) return false;
  CgWinoKind kind = mode == GEMM_CONV              ? CG_WINO_FORWARD
                    : mode == GEMM_CONV_GRAD_INPUT ? CG_WINO_GRAD_INPUT
                                                   : CG_WINO_GRAD_FILTER;
  return opt->winograd_m > 0 && cg_winograd_plan(w, cv, kind, opt->winograd_m);
}

int64_t cg_gemm_workspace_bytes(const IrGraph *g, const PassKernel *k, int workers, void *user) {
  const IrNode *n = g->nodes[k->ops[0]];
  if (gemm_mode(n->op) == GEMM_MATMUL) return 0;
  CgConvGeom cv = conv_geom(g, n);
  CgKernelOptions opt = user ? *(const CgKernelOptions *)user : cg_kernel_options(NULL);
  CgWinograd w;
  bool int8 = gemm_int8(g, n);
  if (conv_winograd(&w, &cv, gemm_mode(n->op), &opt, int8)) return cg_winograd_workspace_elems(&w, workers) * 4;
  if (conv_reads_image_as_col(&cv, gemm_mode(n->op), int8)) return 0;
  return col_elems(&cv) * (int8 ? 1 : 4) * workers;
}

/* Ways an output dimension is split into, at most (fewer when chunks would fall below their
 * minimum size). Four matmul chunks keep two threads balanced; two filter-gradient chunks, each
 * repeating the im2col of every image, are what two threads need. */
enum { MATMUL_SPLIT_WAYS = 4, GRAD_FILTER_SPLIT_WAYS = 2 };

/* Rows or columns per chunk when `dim` is cut into at most `ways` near-equal chunks of at least
 * `min` (or all of dim), rounded up to a multiple of `align`. */
static int64_t split_chunk(int64_t dim, int64_t ways, int64_t min, int64_t align) {
  int64_t chunk = (dim + ways - 1) / ways;
  if (chunk < min) chunk = min;
  chunk = (chunk + align - 1) / align * align;
  return chunk < dim ? chunk : dim;
}

/* ---- the GEMM interface ---- */

void cg_emit_sgemm(CgContext *c, bool ta, bool tb, LLVMValueRef m, LLVMValueRef n, int64_t k, LLVMValueRef a,
                   int64_t lda, LLVMValueRef b, int64_t ldb, float beta, LLVMValueRef cc, int64_t ldc) {
  CgSgemmShape s = {.ta = ta, .tb = tb, .k = k, .lda = lda, .ldb = ldb, .ldc = ldc, .accumulate = beta != 0};
  cg_emit_sgemm_shape(c, &s, m, n, a, b, cc);
}

void cg_emit_sgemm_shape(CgContext *c, const CgSgemmShape *s, LLVMValueRef m, LLVMValueRef n, LLVMValueRef a,
                         LLVMValueRef b, LLVMValueRef cc) {
  if (c->own_gemm) {
    CgSgemmShape shape = *s;
    if (c->bf16 && !s->b_packed && !s->b_in_place) shape.bf16 = true, shape.amx = c->amx;
    cg_sgemm_call(c, &shape, c->vector_bits, m, n, a, b, cc);
    return;
  }
  bool ta = s->ta, tb = s->tb;
  int64_t k = s->k, lda = s->lda, ldb = s->ldb, ldc = s->ldc;
  float beta = s->accumulate ? 1.0f : 0.0f;
  LLVMValueRef fn = cg_declare_extern(c, "cblas_sgemm");
  enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112 };
  LLVMValueRef args[14] = {cg_i32(c, ROW_MAJOR), cg_i32(c, ta ? TRANS : NO_TRANS),
                           cg_i32(c, tb ? TRANS : NO_TRANS),
                           LLVMBuildTrunc(c->b, m, c->i32, ""), LLVMBuildTrunc(c->b, n, c->i32, ""),
                           cg_i32(c, (int)k), cg_f32(c, 1.0), a, cg_i32(c, (int)lda), b,
                           cg_i32(c, (int)ldb), cg_f32(c, beta), cc, cg_i32(c, (int)ldc)};
  LLVMBuildCall2(c->b, LLVMGlobalGetValueType(fn), fn, args, 14, "");
}

static LLVMValueRef gep(CgContext *c, LLVMValueRef p, LLVMValueRef off) { return cg_gep(c, p, off); }
static LLVMValueRef gep_of(CgContext *c, LLVMTypeRef et, LLVMValueRef p, LLVMValueRef off) {
  return LLVMBuildInBoundsGEP2(c->b, et, p, &off, 1, "");
}
static LLVMValueRef mul(CgContext *c, LLVMValueRef a, int64_t k) { return LLVMBuildNSWMul(c->b, a, cg_i64(c, k), ""); }
static LLVMValueRef add(CgContext *c, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildNSWAdd(c->b, a, b, ""); }

static LLVMValueRef imin(CgContext *c, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, a, b, ""), a, b, "");
}

/* ---- im2col / col2im ---- */

/* col (C*KH*KW, OH*OW) <-> image (C, H, W): for each (c, kh, kw) and output row, the valid
 * output columns form one range known at compile time, so the inner loop is a plain strided
 * copy (or accumulation for col2im) that vectorises. */
static void emit_im2col(CgContext *c, const CgConvGeom *cv, LLVMValueRef img, LLVMValueRef col, bool to_image,
                        LLVMTypeRef et) {
  CgLoopNest lc, lo, lw;
  cg_loop_range(c, &lc, cg_i64(c, 0), cg_i64(c, cv->c), to_image ? "col2im.c" : "im2col.c");
  for (int64_t kh = 0; kh < cv->kh; kh++)
    for (int64_t kw = 0; kw < cv->kw; kw++) {
      int64_t off_w = kw * cv->dw - cv->pl; /* iw = ow * sw + off_w */
      int64_t ow_lo = off_w >= 0 ? 0 : (-off_w + cv->sw - 1) / cv->sw;
      int64_t ow_hi = (cv->w - 1 - off_w) < 0 ? 0 : (cv->w - 1 - off_w) / cv->sw + 1;
      if (ow_hi > cv->ow) ow_hi = cv->ow;
      if (ow_lo > ow_hi) ow_lo = ow_hi;
      LLVMValueRef row = add(c, mul(c, lc.idx[0], cv->kh * cv->kw), cg_i64(c, kh * cv->kw + kw));
      cg_loop_range(c, &lo, cg_i64(c, 0), cg_i64(c, cv->oh), "oh");
      LLVMValueRef ih = add(c, mul(c, lo.idx[0], cv->sh), cg_i64(c, kh * cv->dh - cv->pt));
      LLVMValueRef valid = LLVMBuildAnd(c->b, LLVMBuildICmp(c->b, LLVMIntSGE, ih, cg_i64(c, 0), ""),
                                        LLVMBuildICmp(c->b, LLVMIntSLT, ih, cg_i64(c, cv->h), ""), "");
      LLVMValueRef col_row = gep_of(c, et, col, add(c, mul(c, row, cv->oh * cv->ow), mul(c, lo.idx[0], cv->ow)));
      LLVMValueRef lo_b = cg_i64(c, ow_lo), hi_b = cg_i64(c, ow_hi);
      if (!to_image) { /* rows outside the image and columns outside the range are zero */
        LLVMValueRef vlo = LLVMBuildSelect(c->b, valid, lo_b, cg_i64(c, cv->ow), "");
        LLVMValueRef vhi = LLVMBuildSelect(c->b, valid, hi_b, cg_i64(c, cv->ow), "");
        cg_loop_range(c, &lw, cg_i64(c, 0), vlo, "zero.lo");
        LLVMBuildStore(c->b, LLVMConstNull(et), gep_of(c, et, col_row, lw.idx[0]));
        cg_loop_close(c, &lw);
        cg_loop_range(c, &lw, vhi, cg_i64(c, cv->ow), "zero.hi");
        LLVMBuildStore(c->b, LLVMConstNull(et), gep_of(c, et, col_row, lw.idx[0]));
        cg_loop_close(c, &lw);
      }
      LLVMValueRef hi_valid = LLVMBuildSelect(c->b, valid, hi_b, lo_b, "");
      LLVMValueRef img_row = gep_of(c, et, img, add(c, mul(c, lc.idx[0], cv->h * cv->w), mul(c, ih, cv->w)));
      cg_loop_range(c, &lw, lo_b, hi_valid, to_image ? "col2im" : "im2col");
      LLVMValueRef iw = add(c, mul(c, lw.idx[0], cv->sw), cg_i64(c, off_w));
      LLVMValueRef pi = gep_of(c, et, img_row, iw), pc = gep_of(c, et, col_row, lw.idx[0]);
      if (to_image) {
        LLVMValueRef sum = LLVMBuildFAdd(c->b, LLVMBuildLoad2(c->b, c->f32, pi, ""),
                                         LLVMBuildLoad2(c->b, c->f32, pc, ""), "");
        LLVMBuildStore(c->b, sum, pi);
      } else {
        LLVMBuildStore(c->b, LLVMBuildLoad2(c->b, et, pi, ""), pc);
      }
      cg_loop_close(c, &lw);
      cg_loop_close(c, &lo);
    }
  cg_loop_close(c, &lc);
}

static void emit_memset0(CgContext *c, LLVMValueRef p, int64_t elems) {
  LLVMBuildMemSet(c->b, p, LLVMConstInt(c->i8, 0, 0), cg_i64(c, elems * 4), 4);
}

/* ---- direct convolution ---- */

/* A convolution with few multiply-adds an output (C*KH*KW at most this: a first layer over a
 * grey image has 9) is a poor GEMM (K = 9 leaves a library's kernels mostly packing) and a good
 * loop: the image is copied into the workspace with its zero padding around it, and each output
 * row is a sum of C*KH*KW shifted rows of that copy times a weight, a branch-free loop over
 * output columns that vectorises (stride 1: contiguous). */
enum { CONV_DIRECT_MAX_CKK = 32 };

/* Rows and columns of the padded copy: all the windows read, and the whole image. */
static int64_t padded_rows(const CgConvGeom *cv) {
  int64_t read = (cv->oh - 1) * cv->sh + (cv->kh - 1) * cv->dh + 1;
  return read > cv->pt + cv->h ? read : cv->pt + cv->h;
}
static int64_t padded_cols(const CgConvGeom *cv) {
  int64_t read = (cv->ow - 1) * cv->sw + (cv->kw - 1) * cv->dw + 1;
  return read > cv->pl + cv->w ? read : cv->pl + cv->w;
}

static bool conv_direct(const CgConvGeom *cv) {
  return cv->c * cv->kh * cv->kw <= CONV_DIRECT_MAX_CKK && cv->c * padded_rows(cv) * padded_cols(cv) <= col_elems(cv);
}

/* y (O, OH, OW) = conv(x (C, H, W), w (O, C, KH, KW)) for one image; pad: the worker's workspace. */
static void emit_conv_direct(CgContext *c, const CgConvGeom *cv, LLVMValueRef x, LLVMValueRef w, LLVMValueRef y,
                             LLVMValueRef pad) {
  int64_t ph = padded_rows(cv), pw = padded_cols(cv), ckk = cv->c * cv->kh * cv->kw;
  emit_memset0(c, pad, cv->c * ph * pw);
  CgLoopNest lc, lr, lx;
  cg_loop_range(c, &lc, cg_i64(c, 0), cg_i64(c, cv->c), "pad.c");
  cg_loop_range(c, &lr, cg_i64(c, 0), cg_i64(c, cv->h), "pad.row");
  LLVMValueRef src = gep(c, x, mul(c, add(c, mul(c, lc.idx[0], cv->h), lr.idx[0]), cv->w));
  LLVMValueRef dst = gep(c, pad, add(c, mul(c, add(c, mul(c, lc.idx[0], ph), lr.idx[0]), pw), cg_i64(c, cv->pt * pw + cv->pl)));
  cg_loop_range(c, &lx, cg_i64(c, 0), cg_i64(c, cv->w), "pad.col");
  LLVMBuildStore(c->b, LLVMBuildLoad2(c->b, c->f32, gep(c, src, lx.idx[0]), ""), gep(c, dst, lx.idx[0]));
  cg_loop_close(c, &lx);
  cg_loop_close(c, &lr);
  cg_loop_close(c, &lc);
  CgLoopNest lo, ly;
  cg_loop_range(c, &lo, cg_i64(c, 0), cg_i64(c, cv->o), "conv.o");
  cg_loop_range(c, &ly, cg_i64(c, 0), cg_i64(c, cv->oh), "conv.oh");
  LLVMValueRef weight[CONV_DIRECT_MAX_CKK], row[CONV_DIRECT_MAX_CKK];
  for (int64_t k = 0; k < ckk; k++) {
    int64_t ci = k / (cv->kh * cv->kw), ky = k / cv->kw % cv->kh, kx = k % cv->kw;
    weight[k] = LLVMBuildLoad2(c->b, c->f32, gep(c, w, add(c, mul(c, lo.idx[0], ckk), cg_i64(c, k))), "");
    LLVMValueRef r = add(c, mul(c, ly.idx[0], cv->sh), cg_i64(c, ci * ph + ky * cv->dh));
    row[k] = gep(c, pad, add(c, mul(c, r, pw), cg_i64(c, kx * cv->dw)));
  }
  LLVMValueRef out = gep(c, y, mul(c, add(c, mul(c, lo.idx[0], cv->oh), ly.idx[0]), cv->ow));
  cg_loop_range(c, &lx, cg_i64(c, 0), cg_i64(c, cv->ow), "conv.ow");
  LLVMValueRef at = mul(c, lx.idx[0], cv->sw), acc = cg_f32(c, 0);
  for (int64_t k = 0; k < ckk; k++) {
    LLVMValueRef v = LLVMBuildLoad2(c->b, c->f32, gep(c, row[k], at), "");
    acc = LLVMBuildFAdd(c->b, acc, LLVMBuildFMul(c->b, weight[k], v, ""), "");
  }
  LLVMBuildStore(c->b, acc, gep(c, out, lx.idx[0]));
  cg_loop_close(c, &lx);
  cg_loop_close(c, &ly);
  cg_loop_close(c, &lo);
}

/* ---- describe ---- */

static void gemm_release(void *detail) {
  Gemm *gm = detail;
  if (gm->epilogue) cg_loop_free(&gm->epi);
  free(gm);
}

static void describe_matmul(CgKernelSpec *s, Gemm *gm, const IrNode *n) {
  const IrGraph *g = s->plan->g;
  const IrShape *as = &ir_type_of(g, n->in[0])->shape, *bs = &ir_type_of(g, n->in[1])->shape;
  const IrShape *cs = &n->type.shape;
  gm->ta = n->attr[0].v[0], gm->tb = n->attr[1].v[0];
  gm->m = cs->dims[cs->rank - 2], gm->nn = cs->dims[cs->rank - 1];
  gm->k = as->dims[as->rank - (gm->ta ? 2 : 1)];
  gm->batch_rank = cs->rank - 2;
  IrShape batch = {gm->batch_rank, {0}}, ab = {as->rank - 2, {0}}, bb = {bs->rank - 2, {0}};
  for (int d = 0; d < batch.rank; d++) batch.dims[d] = gm->batch_dims[d] = cs->dims[d];
  for (int d = 0; d < ab.rank; d++) ab.dims[d] = as->dims[d];
  for (int d = 0; d < bb.rank; d++) bb.dims[d] = bs->dims[d];
  int64_t as_str[IR_MAX_RANK], bs_str[IR_MAX_RANK];
  ir_shape_broadcast_strides(&ab, &batch, as_str);
  ir_shape_broadcast_strides(&bb, &batch, bs_str);
  for (int d = 0; d < batch.rank; d++) {
    gm->a_batch_str[d] = as_str[d] * gm->m * gm->k;
    gm->b_batch_str[d] = bs_str[d] * gm->k * gm->nn;
  }
  /* split the larger output dim into chunks of at least 64 rows / columns (16-aligned columns) */
  gm->split_rows = gm->m >= gm->nn;
  int64_t dim = gm->split_rows ? gm->m : gm->nn;
  gm->chunk = split_chunk(dim, MATMUL_SPLIT_WAYS, 64, gm->split_rows ? 1 : 16);
  gm->chunks = (dim + gm->chunk - 1) / gm->chunk;
  s->parallel_items = ir_shape_numel(&batch) * gm->chunks;
  cg_spec_key(s, "matmul ta%d tb%d m%lld n%lld k%lld chunk%lld%c batch", gm->ta, gm->tb, (long long)gm->m,
              (long long)gm->nn, (long long)gm->k, (long long)gm->chunk, gm->split_rows ? 'r' : 'c');
  for (int d = 0; d < batch.rank; d++)
    cg_spec_key(s, " %lld:%lld:%lld", (long long)gm->batch_dims[d], (long long)gm->a_batch_str[d],
                (long long)gm->b_batch_str[d]);
}

void cg_describe_gemm(CgKernelSpec *s) {
  const PassPlan *p = s->plan;
  const PassKernel *k = &p->fusion->kernels[s->index];
  const IrGraph *g = p->g;
  const IrNode *n = g->nodes[k->ops[0]];
  Gemm *gm = rt_xcalloc(1, sizeof *gm);
  s->detail = gm;
  s->release = gemm_release;
  gm->mode = gemm_mode(n->op);
  gm->int8 = gemm_int8(g, n);
  RT_ASSERT(!gm->int8 || !n->attr[0].v[0] || gm->mode != GEMM_MATMUL, "an int8 matmul takes trans_a = 0");
  gm->a = cg_spec_arg(s, p->fusion->values[n->in[0]].kind == PASS_VALUE_VIEW ? p->fusion->values[n->in[0]].view.base : n->in[0],
                      p->fusion->values[n->in[0]].kind == PASS_VALUE_VIEW ? p->fusion->values[n->in[0]].view.offset : 0, false);
  gm->b = cg_spec_arg(s, p->fusion->values[n->in[1]].kind == PASS_VALUE_VIEW ? p->fusion->values[n->in[1]].view.base : n->in[1],
                      p->fusion->values[n->in[1]].kind == PASS_VALUE_VIEW ? p->fusion->values[n->in[1]].view.offset : 0, false);
  gm->out = cg_spec_arg(s, k->ops[0], 0, true);
  gm->ws = p->workspace[s->index] >= 0 ? cg_spec_arg(s, IR_NONE, 0, true) : -1;
  cg_spec_key(s, "gemm %s%s a%d b%d o%d w%d ", ir_op_info[n->op].name, gm->int8 ? ".i8" : "", gm->a, gm->b, gm->out, gm->ws);
  s->grain = 1;
  if (gm->mode == GEMM_MATMUL) {
    describe_matmul(s, gm, n);
  } else {
    gm->cv = conv_geom(g, n);
    const CgConvGeom *cv = &gm->cv;
    cg_spec_key(s, "conv n%lld c%lld h%lld w%lld o%lld k%lldx%lld o%lldx%lld s%lld,%lld p%lld,%lld d%lld,%lld",
                (long long)cv->n, (long long)cv->c, (long long)cv->h, (long long)cv->w, (long long)cv->o,
                (long long)cv->kh, (long long)cv->kw, (long long)cv->oh, (long long)cv->ow, (long long)cv->sh,
                (long long)cv->sw, (long long)cv->pt, (long long)cv->pl, (long long)cv->dh, (long long)cv->dw);
    CgKernelOptions opt = cg_kernel_options(p);
    if (conv_winograd(&gm->wino, cv, gm->mode, &opt, gm->int8)) cg_spec_key(s, " winograd%d", gm->wino.m);
    if (gm->mode == GEMM_CONV_GRAD_FILTER) {
      gm->chunk = split_chunk(cv->o, GRAD_FILTER_SPLIT_WAYS, 1, 1);
      gm->chunks = (cv->o + gm->chunk - 1) / gm->chunk;
      RT_ASSERT(!gm->wino.m || (gm->wino.ochunk == gm->chunk && gm->wino.ochunks == gm->chunks),
                "the Winograd filter gradient's split differs from the kernel's");
      s->parallel_items = gm->chunks;
      cg_spec_key(s, " ochunk%lld", (long long)gm->chunk);
    } else if (gm->wino.m) { /* the filter transform, then groups of images */
      s->prologue_items = gm->wino.oc;
      s->parallel_items = gm->wino.groups * gm->wino.ochunks;
    } else {
      s->parallel_items = cv->n;
    }
  }
  gm->epilogue = k->n_ops > 1;
  if (gm->epilogue) {
    bool reduced[IR_MAX_RANK] = {0};
    cg_loop_describe(s, &gm->epi, &n->type.shape, NULL, reduced, k->ops + 1, k->n_ops - 1, NULL);
    cg_loop_shape(&gm->epi, false);
    cg_spec_key(s, "|epilogue ");
    cg_loop_key(s, &gm->epi);
  }
}

/* ---- emit ---- */

/* Epilogue over the block of the output just computed: bounds per dim of the output. */
static void emit_epilogue(CgContext *c, const CgFn *f, const Gemm *gm, const IrGraph *g,
                          LLVMValueRef *lo, LLVMValueRef *hi) {
  if (gm->epilogue) cg_loop_emit(c, &gm->epi, f, g, lo, hi);
}

/* One block of a matmul: out (m x n, leading dimension N) = op(a) op(b), in f32 or int8. */
static void emit_product(CgContext *c, const Gemm *gm, LLVMValueRef m, LLVMValueRef n, LLVMValueRef a, int64_t lda,
                         LLVMValueRef b, int64_t ldb, LLVMValueRef out) {
  if (gm->int8) {
    CgIgemmShape is = {.tb = gm->tb, .k = gm->k, .lda = lda, .ldb = ldb, .ldc = gm->nn};
    cg_emit_igemm(c, &is, m, n, a, b, out);
  } else {
    cg_emit_sgemm(c, gm->ta, gm->tb, m, n, gm->k, a, lda, b, ldb, 0.0f, out, gm->nn);
  }
}

static void emit_matmul(CgContext *c, CgFn *f, const Gemm *gm, const IrGraph *g) {
  CgLoopNest items;
  cg_loop_range(c, &items, f->begin, f->end, "item");
  LLVMValueRef item = items.idx[0];
  LLVMValueRef b = LLVMBuildSDiv(c->b, item, cg_i64(c, gm->chunks), "batch");
  LLVMValueRef part = LLVMBuildSRem(c->b, item, cg_i64(c, gm->chunks), "part");
  /* batch index -> per-dim indices -> operand offsets */
  LLVMValueRef a_off = cg_i64(c, 0), b_off = cg_i64(c, 0), rest = b;
  LLVMValueRef lo[IR_MAX_RANK], hi[IR_MAX_RANK];
  for (int d = gm->batch_rank - 1; d >= 0; d--) {
    LLVMValueRef i = LLVMBuildSRem(c->b, rest, cg_i64(c, gm->batch_dims[d]), "");
    rest = LLVMBuildSDiv(c->b, rest, cg_i64(c, gm->batch_dims[d]), "");
    a_off = add(c, a_off, mul(c, i, gm->a_batch_str[d]));
    b_off = add(c, b_off, mul(c, i, gm->b_batch_str[d]));
    lo[d] = i;
    hi[d] = add(c, i, cg_i64(c, 1));
  }
  LLVMValueRef start = mul(c, part, gm->chunk);
  LLVMValueRef stop = imin(c, add(c, start, cg_i64(c, gm->chunk)), cg_i64(c, gm->split_rows ? gm->m : gm->nn));
  LLVMValueRef len = LLVMBuildNSWSub(c->b, stop, start, "");
  LLVMTypeRef et = gm->int8 ? c->i8 : c->f32; /* the operands' elements */
  LLVMValueRef a = gep_of(c, et, f->args[gm->a], a_off), bb = gep_of(c, et, f->args[gm->b], b_off);
  LLVMValueRef out = gep(c, f->args[gm->out], mul(c, b, gm->m * gm->nn));
  int64_t lda = gm->ta ? gm->m : gm->k, ldb = gm->tb ? gm->k : gm->nn;
  int r = gm->batch_rank;
  if (gm->split_rows) {
    a = gep_of(c, et, a, gm->ta ? start : mul(c, start, gm->k));
    out = gep(c, out, mul(c, start, gm->nn));
    emit_product(c, gm, len, cg_i64(c, gm->nn), a, lda, bb, ldb, out);
    lo[r] = start, hi[r] = stop, lo[r + 1] = cg_i64(c, 0), hi[r + 1] = cg_i64(c, gm->nn);
  } else {
    bb = gep_of(c, et, bb, gm->tb ? mul(c, start, gm->k) : start);
    out = gep(c, out, start);
    emit_product(c, gm, cg_i64(c, gm->m), len, a, lda, bb, ldb, out);
    lo[r] = cg_i64(c, 0), hi[r] = cg_i64(c, gm->m), lo[r + 1] = start, hi[r + 1] = stop;
  }
  emit_epilogue(c, f, gm, g, lo, hi);
  cg_loop_close(c, &items);
}

/* The output block [lo, hi) of images [i0, i1) for the epilogue: all of dims 1-3 of `shape`. */
static void image_block(CgContext *c, LLVMValueRef i0, LLVMValueRef i1, const int64_t *dims, LLVMValueRef *lo,
                        LLVMValueRef *hi) {
  lo[0] = i0, hi[0] = i1;
  for (int d = 1; d < 4; d++) lo[d] = cg_i64(c, 0), hi[d] = cg_i64(c, dims[d - 1]);
}

static void emit_conv_winograd(CgContext *c, CgFn *f, const Gemm *gm, const IrGraph *g) {
  const CgWinograd *w = &gm->wino;
  LLVMValueRef ws = f->args[gm->ws], lo[4], hi[4];
  CgLoopNest items;
  if (gm->mode == GEMM_CONV_GRAD_FILTER) {
    cg_loop_range(c, &items, f->begin, f->end, "ochunk");
    LLVMValueRef o0 = mul(c, items.idx[0], gm->chunk);
    LLVMValueRef o1 = imin(c, add(c, o0, cg_i64(c, gm->chunk)), cg_i64(c, w->oc));
    cg_winograd_emit_grad_filter(c, w, f->args[gm->a], f->args[gm->b], f->args[gm->out], ws, f->worker, o0, o1);
    int64_t dims[3] = {w->ic, 3, 3};
    image_block(c, o0, o1, dims, lo, hi);
    emit_epilogue(c, f, gm, g, lo, hi);
    cg_loop_close(c, &items);
    return;
  }
  if (f->prologue) {
    cg_winograd_emit_filter(c, w, f->args[gm->b], ws, f->begin, f->end);
    return;
  }
  cg_loop_range(c, &items, f->begin, f->end, "group");
  LLVMValueRef group = LLVMBuildSDiv(c->b, items.idx[0], cg_i64(c, w->ochunks), "");
  LLVMValueRef o0 = mul(c, LLVMBuildSRem(c->b, items.idx[0], cg_i64(c, w->ochunks), ""), w->ochunk);
  LLVMValueRef o1 = imin(c, add(c, o0, cg_i64(c, w->ochunk)), cg_i64(c, w->oc));
  cg_winograd_emit_group(c, w, f->args[gm->a], f->args[gm->out], ws, f->worker, group, o0, o1);
  LLVMValueRef i0 = mul(c, group, w->group);
  int64_t dims[3] = {w->oc, w->oh, w->ow};
  image_block(c, i0, add(c, i0, cg_i64(c, w->group)), dims, lo, hi);
  lo[1] = o0, hi[1] = o1;
  emit_epilogue(c, f, gm, g, lo, hi);
  cg_loop_close(c, &items);
}

static void emit_conv(CgContext *c, CgFn *f, const Gemm *gm, const IrGraph *g) {
  const CgConvGeom *cv = &gm->cv;
  if (gm->wino.m) {
    emit_conv_winograd(c, f, gm, g);
    return;
  }
  int64_t ckk = cv->c * cv->kh * cv->kw, ohw = cv->oh * cv->ow, hw = cv->h * cv->w;
  bool implicit = conv_reads_image_as_col(cv, gm->mode, gm->int8);
  LLVMTypeRef et = gm->int8 ? c->i8 : c->f32; /* the image's and the column matrix's elements */
  LLVMValueRef col = implicit ? NULL : gep_of(c, et, f->args[gm->ws], mul(c, LLVMBuildZExt(c->b, f->worker, c->i64, ""), col_elems(cv)));
  CgLoopNest items;
  LLVMValueRef lo[4], hi[4];
  if (gm->mode == GEMM_CONV_GRAD_FILTER) {
    cg_loop_range(c, &items, f->begin, f->end, "ochunk");
    LLVMValueRef o0 = mul(c, items.idx[0], gm->chunk);
    LLVMValueRef o1 = imin(c, add(c, o0, cg_i64(c, gm->chunk)), cg_i64(c, cv->o));
    LLVMValueRef rows = LLVMBuildNSWSub(c->b, o1, o0, "");
    LLVMValueRef dw = gep(c, f->args[gm->out], mul(c, o0, ckk));
    LLVMBuildMemSet(c->b, dw, LLVMConstInt(c->i8, 0, 0), mul(c, rows, ckk * 4), 4);
    CgLoopNest imgs;
    cg_loop_range(c, &imgs, cg_i64(c, 0), cg_i64(c, cv->n), "image");
    LLVMValueRef x = gep(c, f->args[gm->a], mul(c, imgs.idx[0], cv->c * hw));
    if (implicit)
      col = x;
    else
      emit_im2col(c, cv, x, col, false, et);
    LLVMValueRef gy = gep(c, f->args[gm->b], add(c, mul(c, imgs.idx[0], cv->o * ohw), mul(c, o0, ohw)));
    cg_emit_sgemm(c, false, true, rows, cg_i64(c, ckk), ohw, gy, ohw, col, ohw, 1.0f, dw, ckk);
    cg_loop_close(c, &imgs);
    lo[0] = o0, hi[0] = o1;
    for (int d = 1; d < 4; d++) lo[d] = cg_i64(c, 0), hi[d] = cg_i64(c, d == 1 ? cv->c : d == 2 ? cv->kh : cv->kw);
    emit_epilogue(c, f, gm, g, lo, hi);
    cg_loop_close(c, &items);
    return;
  }
  cg_loop_range(c, &items, f->begin, f->end, "image");
  LLVMValueRef i = items.idx[0];
  if (gm->mode == GEMM_CONV) {
    LLVMValueRef x = gep_of(c, et, f->args[gm->a], mul(c, i, cv->c * hw));
    LLVMValueRef y = gep(c, f->args[gm->out], mul(c, i, cv->o * ohw));
    if (conv_is_direct(cv, gm->mode, gm->int8)) {
      emit_conv_direct(c, cv, x, f->args[gm->b], y, col);
    } else {
      if (implicit)
        col = x;
      else
        emit_im2col(c, cv, x, col, false, et);
      if (gm->int8) {
        CgIgemmShape is = {.k = ckk, .lda = ckk, .ldb = ohw, .ldc = ohw};
        cg_emit_igemm(c, &is, cg_i64(c, cv->o), cg_i64(c, ohw), f->args[gm->b], col, y);
      } else {
        cg_emit_sgemm(c, false, false, cg_i64(c, cv->o), cg_i64(c, ohw), ckk, f->args[gm->b], ckk, col, ohw, 0.0f, y, ohw);
      }
    }
    lo[1] = cg_i64(c, 0), hi[1] = cg_i64(c, cv->o), lo[2] = cg_i64(c, 0), hi[2] = cg_i64(c, cv->oh);
    lo[3] = cg_i64(c, 0), hi[3] = cg_i64(c, cv->ow);
  } else { /* grad input */
    LLVMValueRef gy = gep(c, f->args[gm->a], mul(c, i, cv->o * ohw));
    LLVMValueRef dx = gep(c, f->args[gm->out], mul(c, i, cv->c * hw));
    /* implicit: every image element is one element of the column matrix, written once */
    cg_emit_sgemm(c, true, false, cg_i64(c, ckk), cg_i64(c, ohw), cv->o, f->args[gm->b], ckk, gy, ohw, 0.0f,
                  implicit ? dx : col, ohw);
    if (!implicit) {
      emit_memset0(c, dx, cv->c * hw);
      emit_im2col(c, cv, dx, col, true, et);
    }
    lo[1] = cg_i64(c, 0), hi[1] = cg_i64(c, cv->c), lo[2] = cg_i64(c, 0), hi[2] = cg_i64(c, cv->h);
    lo[3] = cg_i64(c, 0), hi[3] = cg_i64(c, cv->w);
  }
  lo[0] = i, hi[0] = add(c, i, cg_i64(c, 1));
  emit_epilogue(c, f, gm, g, lo, hi);
  cg_loop_close(c, &items);
}

void cg_emit_gemm(CgContext *c, CgFn *f, const CgKernelSpec *s) {
  const Gemm *gm = s->detail;
  if (gm->mode == GEMM_MATMUL)
    emit_matmul(c, f, gm, s->plan->g);
  else
    emit_conv(c, f, gm, s->plan->g);
}

/* ---- the rows ---- */

const CgGemmOp cg_gemm_matmul = {GEMM_MATMUL};
const CgGemmOp cg_gemm_conv2d = {GEMM_CONV};
const CgGemmOp cg_gemm_conv2d_grad_input = {GEMM_CONV_GRAD_INPUT};
const CgGemmOp cg_gemm_conv2d_grad_filter = {GEMM_CONV_GRAD_FILTER};

/* Our own SGEMM (cg_sgemm.h): one function per shape, built from four pieces: packing a block
 * of op(A) (MC rows, KC columns) into MR-row tiles and an NR-wide panel of op(B) (KC rows of it,
 * zero-padded past the last column) into stack buffers; the register tile (R rows x NR columns
 * of C as 2R vectors, the K loop of broadcasts and FMAs); and the loops around them: blocks of
 * MC rows, blocks of K, panels of columns, tiles of MR rows, then one row at a time for the rows
 * left over. Few rows against B^T: dot products (emit_dots). */
#include "codegen/cg_sgemm.h"

#include <stdio.h>
#include <string.h>

#include "codegen/cg_kernel.h"

enum {
  KC = 256,           /* rows of op(B) packed at once: KC x NR floats stay in L1 (32 KiB at 512 bits) */
  MC = 144,           /* rows of C per block: their KC columns of op(A) (144 KiB) stay in L2 */
  PACK_MIN_ROWS = 24, /* fewer rows of C than this read an untransposed B where it is */
};

typedef struct Sgemm {
  CgContext *c;
  const CgSgemmShape *s;
  int lanes, mr;       /* floats per vector; rows per full tile */
  LLVMTypeRef vec;
  LLVMValueRef a, b, cmat, buf; /* the function's matrices and the packing buffer */
  LLVMValueRef dot_acc;          /* emit_dots' vector accumulator (an entry-block alloca) */
  LLVMValueRef bufa;             /* the block of op(A) packed: MR-row tiles, k-major within one */
  LLVMValueRef mask[2]; /* columns n0 .. n0 + NR that exist, per vector of the panel */
  LLVMValueRef n0, k0, kc, first; /* current panel, K block, its length, and "C starts at 0" */
} Sgemm;

static LLVMValueRef i64c(Sgemm *g, int64_t v) { return cg_i64(g->c, v); }
static LLVMValueRef add(Sgemm *g, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildNSWAdd(g->c->b, a, b, ""); }
static LLVMValueRef mul(Sgemm *g, LLVMValueRef a, int64_t k) { return LLVMBuildNSWMul(g->c->b, a, i64c(g, k), ""); }

static LLVMValueRef imin(Sgemm *g, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildSelect(g->c->b, LLVMBuildICmp(g->c->b, LLVMIntSLT, a, b, ""), a, b, "");
}

static LLVMValueRef splat(Sgemm *g, LLVMValueRef x, LLVMTypeRef elem) {
  LLVMBuilderRef b = g->c->b;
  LLVMTypeRef vt = LLVMVectorType(elem, (unsigned)g->lanes);
  LLVMValueRef one = LLVMBuildInsertElement(b, LLVMGetPoison(vt), x, cg_i32(g->c, 0), "");
  LLVMValueRef zeros = LLVMConstNull(LLVMVectorType(g->c->i32, (unsigned)g->lanes));
  return LLVMBuildShuffleVector(b, one, LLVMGetPoison(vt), zeros, "splat");
}

/* Lanes j of vector v of the panel with v * lanes + j < nr. */
static LLVMValueRef lane_mask(Sgemm *g, LLVMValueRef nr, int v) {
  LLVMValueRef idx[16];
  for (int j = 0; j < g->lanes; j++) idx[j] = cg_i64(g->c, v * g->lanes + j);
  return LLVMBuildICmp(g->c->b, LLVMIntSLT, LLVMConstVector(idx, (unsigned)g->lanes), splat(g, nr, g->c->i64), "cols");
}

static LLVMValueRef masked(Sgemm *g, const char *name, LLVMValueRef *args, int n) {
  unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
  LLVMTypeRef types[2] = {g->vec, g->c->ptr};
  LLVMValueRef fn = LLVMGetIntrinsicDeclaration(g->c->mod, id, types, 2);
  return LLVMBuildCall2(g->c->b, LLVMIntrinsicGetType(g->c->ctx, id, types, 2), fn, args, (unsigned)n, "");
}

static LLVMValueRef load_cols(Sgemm *g, LLVMValueRef p, int v) {
  LLVMValueRef args[4] = {p, cg_i32(g->c, 4), g->mask[v], LLVMConstNull(g->vec)};
  return masked(g, "llvm.masked.load", args, 4);
}

static void store_cols(Sgemm *g, LLVMValueRef x, LLVMValueRef p, int v) {
  LLVMValueRef args[4] = {x, p, cg_i32(g->c, 4), g->mask[v]};
  masked(g, "llvm.masked.store", args, 4);
}

static LLVMValueRef load_vec(Sgemm *g, LLVMValueRef p) {
  LLVMValueRef x = LLVMBuildLoad2(g->c->b, g->vec, p, "");
  LLVMSetAlignment(x, (unsigned)g->lanes * 4);
  return x;
}

/* buf[kk][j] = op(B)[k0 + kk][n0 + j] for kk < kc, j < NR (0 past the last column). */
static void emit_pack(Sgemm *g, LLVMValueRef nr) {
  CgContext *c = g->c;
  const CgSgemmShape *s = g->s;
  int nr_max = 2 * g->lanes;
  CgLoopNest kk, j;
  if (!s->tb) { /* rows of B are rows of op(B): two masked vector loads per row */
    kk.rank = 1, kk.lo[0] = i64c(g, 0), kk.hi[0] = g->kc;
    cg_loop_open(c, &kk, "pack.k");
    LLVMValueRef row = cg_gep(c, g->b, add(g, mul(g, add(g, g->k0, kk.idx[0]), s->ldb), g->n0));
    LLVMValueRef dst = cg_gep(c, g->buf, mul(g, kk.idx[0], nr_max));
    for (int v = 0; v < 2; v++) {
      LLVMValueRef st = LLVMBuildStore(c->b, load_cols(g, cg_gep(c, row, i64c(g, v * g->lanes)), v),
                                       cg_gep(c, dst, i64c(g, v * g->lanes)));
      LLVMSetAlignment(st, (unsigned)g->lanes * 4);
    }
    cg_loop_close(c, &kk);
    return;
  }
  /* op(B) = B^T: column j of the panel is row n0 + j of B, contiguous in k */
  j.rank = 1, j.lo[0] = i64c(g, 0), j.hi[0] = nr;
  cg_loop_open(c, &j, "pack.col");
  LLVMValueRef src = cg_gep(c, g->b, add(g, mul(g, add(g, g->n0, j.idx[0]), s->ldb), g->k0));
  kk.rank = 1, kk.lo[0] = i64c(g, 0), kk.hi[0] = g->kc;
  cg_loop_open(c, &kk, "pack.k");
  LLVMBuildStore(c->b, LLVMBuildLoad2(c->b, c->f32, cg_gep(c, src, kk.idx[0]), ""),
                 cg_gep(c, g->buf, add(g, mul(g, kk.idx[0], nr_max), j.idx[0])));
  cg_loop_close(c, &kk);
  cg_loop_close(c, &j);
  j.rank = 1, j.lo[0] = nr, j.hi[0] = i64c(g, nr_max);
  cg_loop_open(c, &j, "pack.pad");
  kk.rank = 1, kk.lo[0] = i64c(g, 0), kk.hi[0] = g->kc;
  cg_loop_open(c, &kk, "pack.k");
  LLVMBuildStore(c->b, cg_f32(c, 0), cg_gep(c, g->buf, add(g, mul(g, kk.idx[0], nr_max), j.idx[0])));
  cg_loop_close(c, &kk);
  cg_loop_close(c, &j);
}

/* Address of op(A)[i][k]. */
static LLVMValueRef a_at(Sgemm *g, LLVMValueRef i, LLVMValueRef k) {
  return cg_gep(g->c, g->a, g->s->ta ? add(g, mul(g, k, g->s->lda), i) : add(g, mul(g, i, g->s->lda), k));
}

/* bufa[t][kk][r] = op(A)[m0 + t * MR + r][k0 + kk] for the block's `tiles` full tiles: each
 * step of a tile's K loop then reads MR consecutive floats. */
static void emit_pack_a(Sgemm *g, LLVMValueRef m0, LLVMValueRef tiles) {
  CgContext *c = g->c;
  CgLoopNest l;
  l.rank = 3, l.lo[0] = l.lo[1] = l.lo[2] = i64c(g, 0);
  l.hi[0] = tiles;
  l.hi[1] = g->s->ta ? g->kc : i64c(g, g->mr); /* the innermost loop runs along A's rows */
  l.hi[2] = g->s->ta ? i64c(g, g->mr) : g->kc;
  cg_loop_open(c, &l, "pack.a");
  LLVMValueRef kk = g->s->ta ? l.idx[1] : l.idx[2], r = g->s->ta ? l.idx[2] : l.idx[1];
  LLVMValueRef i = add(g, m0, add(g, mul(g, l.idx[0], g->mr), r));
  LLVMValueRef dst = add(g, mul(g, l.idx[0], (int64_t)g->mr * KC), add(g, mul(g, kk, g->mr), r));
  LLVMBuildStore(c->b, LLVMBuildLoad2(c->b, c->f32, a_at(g, i, add(g, g->k0, kk)), ""), cg_gep(c, g->bufa, dst));
  cg_loop_close(c, &l);
}

/* C[r0 .. r0 + rows][n0 .. n0 + NR] (+)= op(A)[rows][k0 .. k0 + kc] x the panel, in registers;
 * the panel is read from buf, or (packed false, B not transposed) straight from B; op(A) from
 * its packed tile a_tile, or (NULL) from A. */
static void emit_tile(Sgemm *g, LLVMValueRef r0, int rows, bool packed, LLVMValueRef a_tile) {
  CgContext *c = g->c;
  LLVMBuilderRef b = c->b;
  enum { MAX_ACC = 32 };
  LLVMValueRef acc[MAX_ACC], next[MAX_ACC], cptr[MAX_ACC];
  int n_acc = 2 * rows;
  for (int r = 0; r < rows; r++)
    for (int v = 0; v < 2; v++) {
      LLVMValueRef row = cg_gep(c, g->cmat, add(g, mul(g, add(g, r0, i64c(g, r)), g->s->ldc), g->n0));
      cptr[2 * r + v] = cg_gep(c, row, i64c(g, v * g->lanes));
      LLVMValueRef old = load_cols(g, cptr[2 * r + v], v);
      next[2 * r + v] = LLVMBuildSelect(b, g->first, LLVMConstNull(g->vec), old, "c.in");
    }
  LLVMBasicBlockRef pre = LLVMGetInsertBlock(b);
  LLVMValueRef fn = LLVMGetBasicBlockParent(pre);
  LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(c->ctx, fn, "tile.k");
  LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(c->ctx, fn, "tile.store");
  LLVMBuildBr(b, body);
  LLVMPositionBuilderAtEnd(b, body);
  LLVMValueRef kk = LLVMBuildPhi(b, c->i64, "kk");
  for (int i = 0; i < n_acc; i++) acc[i] = LLVMBuildPhi(b, g->vec, "acc");
  LLVMValueRef k = add(g, g->k0, kk), bv[2];
  if (packed) {
    LLVMValueRef row = cg_gep(c, g->buf, mul(g, kk, 2 * g->lanes));
    for (int v = 0; v < 2; v++) bv[v] = load_vec(g, cg_gep(c, row, i64c(g, v * g->lanes)));
  } else {
    LLVMValueRef row = cg_gep(c, g->b, add(g, mul(g, k, g->s->ldb), g->n0));
    for (int v = 0; v < 2; v++) bv[v] = load_cols(g, cg_gep(c, row, i64c(g, v * g->lanes)), v);
  }
  LLVMValueRef out[MAX_ACC];
  for (int r = 0; r < rows; r++) {
    LLVMValueRef ap = a_tile ? cg_gep(c, a_tile, add(g, mul(g, kk, g->mr), i64c(g, r))) : a_at(g, add(g, r0, i64c(g, r)), k);
    LLVMValueRef av = splat(g, LLVMBuildLoad2(b, c->f32, ap, "a"), c->f32);
    for (int v = 0; v < 2; v++) {
      LLVMValueRef args[3] = {av, bv[v], acc[2 * r + v]};
      out[2 * r + v] = cg_intrinsic(c, "llvm.fma", g->vec, 3, args);
    }
  }
  LLVMValueRef kk_next = add(g, kk, i64c(g, 1));
  LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, kk_next, g->kc, ""), body, done);
  LLVMValueRef zero = i64c(g, 0);
  LLVMAddIncoming(kk, &zero, &pre, 1);
  LLVMAddIncoming(kk, &kk_next, &body, 1);
  for (int i = 0; i < n_acc; i++) {
    LLVMAddIncoming(acc[i], &next[i], &pre, 1);
    LLVMAddIncoming(acc[i], &out[i], &body, 1);
  }
  LLVMPositionBuilderAtEnd(b, done);
  for (int i = 0; i < n_acc; i++) store_cols(g, out[i], cptr[i], i % 2);
}

/* Few rows of C against B^T (A not transposed): rows of A and of B are both contiguous in k,
 * so each element is a dot product on vectors (lane-wise partial sums over k, the lanes then
 * added in a fixed tree) and nothing is packed. The order of the sum differs from the tiles',
 * but depends on the shape only, never on how M and N are split. */
static void emit_dots(Sgemm *g, LLVMValueRef m, LLVMValueRef n) {
  CgContext *c = g->c;
  LLVMBuilderRef b = c->b;
  const CgSgemmShape *s = g->s;
  int64_t full = s->k / g->lanes, tail = s->k % g->lanes;
  CgLoopNest i, j, kv;
  i.rank = 1, i.lo[0] = i64c(g, 0), i.hi[0] = m;
  cg_loop_open(c, &i, "dot.row");
  j.rank = 1, j.lo[0] = i64c(g, 0), j.hi[0] = n;
  cg_loop_open(c, &j, "dot.col");
  LLVMValueRef arow = cg_gep(c, g->a, mul(g, i.idx[0], s->lda)), brow = cg_gep(c, g->b, mul(g, j.idx[0], s->ldb));
  LLVMValueRef sum = g->dot_acc;
  LLVMBuildStore(b, LLVMConstNull(g->vec), sum);
  kv.rank = 1, kv.lo[0] = i64c(g, 0), kv.hi[0] = i64c(g, full);
  cg_loop_open(c, &kv, "dot.k");
  LLVMValueRef k = mul(g, kv.idx[0], g->lanes);
  LLVMValueRef av = LLVMBuildLoad2(b, g->vec, cg_gep(c, arow, k), ""), bv = LLVMBuildLoad2(b, g->vec, cg_gep(c, brow, k), "");
  LLVMSetAlignment(av, 4), LLVMSetAlignment(bv, 4);
  LLVMValueRef args[3] = {av, bv, LLVMBuildLoad2(b, g->vec, sum, "")};
  LLVMBuildStore(b, cg_intrinsic(c, "llvm.fma", g->vec, 3, args), sum);
  cg_loop_close(c, &kv);
  LLVMValueRef acc = LLVMBuildLoad2(b, g->vec, sum, "");
  if (tail) { /* the last k < lanes: masked loads give zeros past K */
    g->mask[0] = lane_mask(g, i64c(g, tail), 0);
    LLVMValueRef targs[3] = {load_cols(g, cg_gep(c, arow, i64c(g, full * g->lanes)), 0),
                             load_cols(g, cg_gep(c, brow, i64c(g, full * g->lanes)), 0), acc};
    acc = cg_intrinsic(c, "llvm.fma", g->vec, 3, targs);
  }
  LLVMValueRef start = cg_f32(c, -0.0);
  LLVMValueRef rargs[2] = {start, acc};
  LLVMValueRef dot = cg_intrinsic(c, "llvm.vector.reduce.fadd", g->vec, 2, rargs);
  LLVMSetFastMathFlags(dot, LLVMFastMathAllowReassoc);
  LLVMValueRef out = cg_gep(c, g->cmat, add(g, mul(g, i.idx[0], s->ldc), j.idx[0]));
  if (s->accumulate) dot = LLVMBuildFAdd(b, LLVMBuildLoad2(b, c->f32, out, ""), dot, "");
  LLVMBuildStore(b, dot, out);
  cg_loop_close(c, &j);
  cg_loop_close(c, &i);
}

/* Blocks of MC rows (their KC columns of op(A) stay in L2 while every panel of op(B) passes),
 * blocks of KC in k, panels of NR columns (packed, or read in place when C has few rows), then
 * MR-row tiles and the rows left over. Each element of C still sums k in order. */
static void emit_body(Sgemm *g, LLVMValueRef m, LLVMValueRef n) {
  CgContext *c = g->c;
  LLVMBuilderRef b = c->b;
  int64_t nr_max = 2 * g->lanes, k_blocks = (g->s->k + KC - 1) / KC;
  /* packing pays for itself over many rows; a few rows of an untransposed B read it in place */
  LLVMValueRef few_rows = g->s->tb ? LLVMConstInt(c->i1, 0, 0)
                                   : LLVMBuildICmp(b, LLVMIntSLT, m, i64c(g, PACK_MIN_ROWS), "few.rows");
  CgLoopNest mb, kb, panel, tile, row;
  mb.rank = 1, mb.lo[0] = i64c(g, 0);
  mb.hi[0] = LLVMBuildSDiv(b, add(g, m, i64c(g, MC - 1)), i64c(g, MC), "mblocks");
  cg_loop_open(c, &mb, "mblock");
  LLVMValueRef m0 = mul(g, mb.idx[0], MC);
  LLVMValueRef m1 = imin(g, add(g, m0, i64c(g, MC)), m);
  kb.rank = 1, kb.lo[0] = i64c(g, 0), kb.hi[0] = i64c(g, k_blocks);
  cg_loop_open(c, &kb, "kblock");
  g->k0 = mul(g, kb.idx[0], KC);
  g->kc = imin(g, LLVMBuildNSWSub(b, i64c(g, g->s->k), g->k0, ""), i64c(g, KC));
  g->first = g->s->accumulate ? LLVMConstInt(c->i1, 0, 0) : LLVMBuildICmp(b, LLVMIntEQ, kb.idx[0], i64c(g, 0), "first");
  LLVMValueRef full = LLVMBuildSDiv(b, LLVMBuildNSWSub(b, m1, m0, ""), i64c(g, g->mr), "tiles");
  LLVMValueRef fn = LLVMGetBasicBlockParent(LLVMGetInsertBlock(b));
  LLVMBasicBlockRef pack_a = LLVMAppendBasicBlockInContext(c->ctx, fn, "pack.a");
  LLVMBasicBlockRef panels = LLVMAppendBasicBlockInContext(c->ctx, fn, "panels");
  LLVMBuildCondBr(b, few_rows, panels, pack_a);
  LLVMPositionBuilderAtEnd(b, pack_a);
  emit_pack_a(g, m0, full);
  LLVMBuildBr(b, panels);
  LLVMPositionBuilderAtEnd(b, panels);
  panel.rank = 1, panel.lo[0] = i64c(g, 0);
  panel.hi[0] = LLVMBuildSDiv(b, add(g, n, i64c(g, nr_max - 1)), i64c(g, nr_max), "panels");
  cg_loop_open(c, &panel, "panel");
  g->n0 = mul(g, panel.idx[0], nr_max);
  LLVMValueRef nr = imin(g, LLVMBuildNSWSub(b, n, g->n0, ""), i64c(g, nr_max));
  for (int v = 0; v < 2; v++) g->mask[v] = lane_mask(g, nr, v);
  LLVMBasicBlockRef direct = LLVMAppendBasicBlockInContext(c->ctx, fn, "direct");
  LLVMBasicBlockRef pack = LLVMAppendBasicBlockInContext(c->ctx, fn, "pack");
  LLVMBasicBlockRef joined = LLVMAppendBasicBlockInContext(c->ctx, fn, "panel.done");
  LLVMBuildCondBr(b, few_rows, direct, pack);
  for (int packed = 0; packed < 2; packed++) {
    LLVMPositionBuilderAtEnd(b, packed ? pack : direct);
    if (packed) emit_pack(g, nr);
    tile.rank = 1, tile.lo[0] = i64c(g, 0), tile.hi[0] = full;
    cg_loop_open(c, &tile, "tile");
    LLVMValueRef a_tile = packed ? cg_gep(c, g->bufa, mul(g, tile.idx[0], (int64_t)g->mr * KC)) : NULL;
    emit_tile(g, add(g, m0, mul(g, tile.idx[0], g->mr)), g->mr, packed, a_tile);
    cg_loop_close(c, &tile);
    row.rank = 1, row.lo[0] = add(g, m0, mul(g, full, g->mr)), row.hi[0] = m1;
    cg_loop_open(c, &row, "row");
    emit_tile(g, row.idx[0], 1, packed, NULL);
    cg_loop_close(c, &row);
    LLVMBuildBr(b, joined);
  }
  LLVMPositionBuilderAtEnd(b, joined);
  cg_loop_close(c, &panel);
  cg_loop_close(c, &kb);
  cg_loop_close(c, &mb);
}

LLVMTypeRef cg_sgemm_type(CgContext *c) {
  LLVMTypeRef params[5] = {c->i64, c->i64, c->ptr, c->ptr, c->ptr};
  return LLVMFunctionType(c->void_t, params, 5, false);
}

LLVMValueRef cg_sgemm_function(CgContext *c, const CgSgemmShape *s, int vector_bits) {
  char name[160];
  snprintf(name, sizeof name, "sgemm.%s%s.k%lld.lda%lld.ldb%lld.ldc%lld.%s.v%d", s->ta ? "t" : "n", s->tb ? "t" : "n",
           (long long)s->k, (long long)s->lda, (long long)s->ldb, (long long)s->ldc, s->accumulate ? "acc" : "set",
           vector_bits);
  LLVMValueRef fn = LLVMGetNamedFunction(c->mod, name);
  if (fn) return fn;
  fn = LLVMAddFunction(c->mod, name, cg_sgemm_type(c));
  LLVMSetLinkage(fn, LLVMInternalLinkage);
  Sgemm g = {.c = c, .s = s, .lanes = vector_bits / 32, .mr = vector_bits >= 512 ? 12 : 6};
  g.vec = LLVMVectorType(c->f32, (unsigned)g.lanes);
  LLVMBasicBlockRef saved = LLVMGetInsertBlock(c->b);
  LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->ctx, fn, "entry"));
  static const char *const names[5] = {"m", "n", "a", "b", "c"};
  for (unsigned i = 0; i < 5; i++) LLVMSetValueName2(LLVMGetParam(fn, i), names[i], 1);
  g.a = LLVMGetParam(fn, 2), g.b = LLVMGetParam(fn, 3), g.cmat = LLVMGetParam(fn, 4);
  g.buf = LLVMBuildArrayAlloca(c->b, c->f32, cg_i64(c, (int64_t)KC * 2 * g.lanes), "packed");
  LLVMSetAlignment(g.buf, 64);
  g.bufa = LLVMBuildArrayAlloca(c->b, c->f32, cg_i64(c, (int64_t)MC * KC), "packed.a");
  LLVMSetAlignment(g.bufa, 64);
  g.dot_acc = LLVMBuildAlloca(c->b, g.vec, "dot.acc");
  LLVMValueRef m = LLVMGetParam(fn, 0), n = LLVMGetParam(fn, 1);
  if (s->tb && !s->ta) { /* few rows: dot products; packing B^T would cost more than the work */
    LLVMBasicBlockRef dots = LLVMAppendBasicBlockInContext(c->ctx, fn, "dots");
    LLVMBasicBlockRef tiles = LLVMAppendBasicBlockInContext(c->ctx, fn, "tiles");
    LLVMBuildCondBr(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, m, cg_i64(c, PACK_MIN_ROWS), "few.rows"), dots, tiles);
    LLVMPositionBuilderAtEnd(c->b, dots);
    emit_dots(&g, m, n);
    LLVMBuildRetVoid(c->b);
    LLVMPositionBuilderAtEnd(c->b, tiles);
  }
  emit_body(&g, m, n);
  LLVMBuildRetVoid(c->b);
  if (saved) LLVMPositionBuilderAtEnd(c->b, saved);
  return fn;
}

/* Our int8 GEMM (cg_igemm.h): loops over panels of NR columns of op(B) and blocks of KCB k;
 * each panel-block is packed (groups of four k per column, zero-padded, with its column sums),
 * then every tile of MR rows of A (and the rows left over, one at a time) runs the group loop of
 * 32-bit broadcasts of A and dot products of four bytes into NR/lanes vectors a row. The first
 * block stores C, later ones add to it. */
#include "codegen/cg_igemm.h"

#include <stdio.h>
#include <string.h>

#include "codegen/cg_kernel.h"
#include "support/rt_assert.h"

enum {
  KCB = 1024, /* k per packed block (a multiple of 4): a panel of 32 columns is 32 KiB */
  NV = 2,     /* vectors of C per row of a tile: NR = NV x lanes columns */
  MAX_MR = 12,
};

typedef struct Igemm {
  CgContext *c;
  const CgIgemmShape *s;
  int lanes, nr, mr;
  bool vnni;
  LLVMTypeRef vec;                   /* <lanes x i32> */
  LLVMValueRef a, b, cmat;           /* the function's matrices */
  LLVMValueRef panel, colsum;        /* the packed panel-block and its column sums (stack) */
  LLVMValueRef sum;                  /* emit_pack's running column sum (an entry-block alloca) */
  LLVMValueRef acc[MAX_MR][NV];      /* a tile's accumulators (allocas, promoted to registers) */
  LLVMValueRef n0, mask[NV];         /* the current panel, and its columns that exist */
  LLVMValueRef k0, kc, first, last;  /* the current block of k: start, length, first/last of K */
} Igemm;

static LLVMValueRef i64c(Igemm *g, int64_t v) { return cg_i64(g->c, v); }
static LLVMValueRef add(Igemm *g, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildNSWAdd(g->c->b, a, b, ""); }
static LLVMValueRef mul(Igemm *g, LLVMValueRef a, int64_t k) { return LLVMBuildNSWMul(g->c->b, a, i64c(g, k), ""); }
static LLVMValueRef byte_at(Igemm *g, LLVMValueRef p, LLVMValueRef off) {
  return LLVMBuildInBoundsGEP2(g->c->b, g->c->i8, p, &off, 1, "");
}
static LLVMValueRef imin(Igemm *g, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildSelect(g->c->b, LLVMBuildICmp(g->c->b, LLVMIntSLT, a, b, ""), a, b, "");
}

static LLVMValueRef splat(Igemm *g, LLVMValueRef x) {
  LLVMBuilderRef b = g->c->b;
  LLVMTypeRef vt = LLVMVectorType(LLVMTypeOf(x), (unsigned)g->lanes);
  LLVMValueRef one = LLVMBuildInsertElement(b, LLVMGetPoison(vt), x, cg_i32(g->c, 0), "");
  return LLVMBuildShuffleVector(b, one, LLVMGetPoison(vt), LLVMConstNull(LLVMVectorType(g->c->i32, (unsigned)g->lanes)),
                                "splat");
}

static LLVMValueRef splat_i32(Igemm *g, int v) { return splat(g, cg_i32(g->c, v)); }

/* Lanes of vector v of the panel whose column exists: v * lanes + j < nr. */
static LLVMValueRef lane_mask(Igemm *g, LLVMValueRef nr, int v) {
  LLVMValueRef idx[16];
  for (int j = 0; j < g->lanes; j++) idx[j] = i64c(g, v * g->lanes + j);
  return LLVMBuildICmp(g->c->b, LLVMIntSLT, LLVMConstVector(idx, (unsigned)g->lanes), splat(g, nr), "cols");
}

static LLVMValueRef masked(Igemm *g, const char *name, LLVMValueRef *args, int n) {
  unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
  LLVMTypeRef types[2] = {g->vec, g->c->ptr};
  LLVMValueRef fn = LLVMGetIntrinsicDeclaration(g->c->mod, id, types, 2);
  return LLVMBuildCall2(g->c->b, LLVMIntrinsicGetType(g->c->ctx, id, types, 2), fn, args, (unsigned)n, "");
}

/* acc + the sums of four products of the unsigned bytes of a and the signed bytes of b, lane by
 * lane (vpdpbusd's arithmetic; taken apart into 32-bit multiplies without VNNI). */
static LLVMValueRef dot4(Igemm *g, LLVMValueRef acc, LLVMValueRef a, LLVMValueRef b) {
  CgContext *c = g->c;
  if (g->vnni) {
    static const char name[] = "llvm.x86.avx512.vpdpbusd.512";
    unsigned id = LLVMLookupIntrinsicID(name, sizeof name - 1);
    LLVMValueRef args[3] = {acc, a, b};
    return LLVMBuildCall2(c->b, LLVMIntrinsicGetType(c->ctx, id, NULL, 0), LLVMGetIntrinsicDeclaration(c->mod, id, NULL, 0),
                          args, 3, "");
  }
  for (int t = 0; t < 4; t++) {
    LLVMValueRef au = LLVMBuildAnd(c->b, LLVMBuildLShr(c->b, a, splat_i32(g, 8 * t), ""), splat_i32(g, 0xff), "");
    LLVMValueRef bs = LLVMBuildAShr(c->b, LLVMBuildShl(c->b, b, splat_i32(g, 24 - 8 * t), ""), splat_i32(g, 24), "");
    acc = LLVMBuildAdd(c->b, acc, LLVMBuildMul(c->b, au, bs, ""), "");
  }
  return acc;
}

/* op(B)'s block [k0, k0 + kc) x [n0, n0 + nr) into the panel: byte (kk, j) at
 * ((kk / 4) * NR + j) * 4 + kk % 4, zeros past the last column and k; colsum[j] = its column's
 * sum. */
static void emit_pack(Igemm *g, LLVMValueRef nr) {
  CgContext *c = g->c;
  const CgIgemmShape *s = g->s;
  LLVMValueRef groups = LLVMBuildSDiv(c->b, add(g, g->kc, i64c(g, 3)), i64c(g, 4), "");
  LLVMBuildMemSet(c->b, g->panel, LLVMConstInt(c->i8, 0, 0), mul(g, groups, (int64_t)g->nr * 4), 64);
  LLVMBuildMemSet(c->b, g->colsum, LLVMConstInt(c->i8, 0, 0), i64c(g, (int64_t)g->nr * 4), 64);
  CgLoopNest lj, lk;
  cg_loop_range(c, &lj, i64c(g, 0), nr, "pack.col");
  LLVMValueRef col = add(g, g->n0, lj.idx[0]);
  LLVMValueRef sum = g->sum;
  LLVMBuildStore(c->b, cg_i32(c, 0), sum);
  cg_loop_range(c, &lk, i64c(g, 0), g->kc, "pack.k");
  LLVMValueRef kk = lk.idx[0], k = add(g, g->k0, kk);
  LLVMValueRef src = s->tb ? add(g, mul(g, col, s->ldb), k) : add(g, mul(g, k, s->ldb), col);
  LLVMValueRef v = LLVMBuildLoad2(c->b, c->i8, byte_at(g, g->b, src), "");
  LLVMValueRef dst = add(g, mul(g, add(g, mul(g, LLVMBuildAShr(c->b, kk, i64c(g, 2), ""), g->nr), lj.idx[0]), 4),
                         LLVMBuildAnd(c->b, kk, i64c(g, 3), ""));
  LLVMBuildStore(c->b, v, byte_at(g, g->panel, dst));
  LLVMBuildStore(c->b, LLVMBuildAdd(c->b, LLVMBuildLoad2(c->b, c->i32, sum, ""), LLVMBuildSExt(c->b, v, c->i32, ""), ""), sum);
  cg_loop_close(c, &lk);
  LLVMBuildStore(c->b, LLVMBuildLoad2(c->b, c->i32, sum, ""), LLVMBuildInBoundsGEP2(c->b, c->i32, g->colsum, &lj.idx[0], 1, ""));
  cg_loop_close(c, &lj);
}

/* The panel's vector v of group gi. */
static LLVMValueRef panel_vec(Igemm *g, LLVMValueRef gi, int v) {
  LLVMValueRef off = add(g, mul(g, gi, (int64_t)g->nr * 4), i64c(g, (int64_t)v * g->lanes * 4));
  LLVMValueRef x = LLVMBuildLoad2(g->c->b, g->vec, byte_at(g, g->panel, off), "b");
  LLVMSetAlignment(x, 64);
  return x;
}

/* One group of four k for the tile's rows: A's bytes a32[r] (as a little-endian i32), sign bit
 * flipped to make them unsigned. */
static void emit_group(Igemm *g, int rows, LLVMValueRef gi, LLVMValueRef *a32) {
  CgContext *c = g->c;
  LLVMValueRef bv[NV];
  for (int v = 0; v < NV; v++) bv[v] = panel_vec(g, gi, v);
  for (int r = 0; r < rows; r++) {
    LLVMValueRef au = splat(g, LLVMBuildXor(c->b, a32[r], cg_i32(c, (int)0x80808080u), ""));
    for (int v = 0; v < NV; v++)
      LLVMBuildStore(c->b, dot4(g, LLVMBuildLoad2(c->b, g->vec, g->acc[r][v], ""), au, bv[v]), g->acc[r][v]);
  }
}

/* The tile of `rows` rows from r0 against the current panel-block. */
static void emit_tile(Igemm *g, LLVMValueRef r0, int rows) {
  CgContext *c = g->c;
  const CgIgemmShape *s = g->s;
  LLVMValueRef arow[MAX_MR];
  for (int r = 0; r < rows; r++) {
    arow[r] = byte_at(g, g->a, add(g, mul(g, add(g, r0, i64c(g, r)), s->lda), g->k0));
    for (int v = 0; v < NV; v++) LLVMBuildStore(c->b, LLVMConstNull(g->vec), g->acc[r][v]);
  }
  LLVMValueRef full = LLVMBuildSDiv(c->b, g->kc, i64c(g, 4), "groups");
  CgLoopNest lg;
  cg_loop_range(c, &lg, i64c(g, 0), full, "group");
  LLVMValueRef a32[MAX_MR];
  for (int r = 0; r < rows; r++) {
    a32[r] = LLVMBuildLoad2(c->b, c->i32, byte_at(g, arow[r], mul(g, lg.idx[0], 4)), "a");
    LLVMSetAlignment(a32[r], 1);
  }
  emit_group(g, rows, lg.idx[0], a32);
  cg_loop_close(c, &lg);
  int tail = (int)(s->k % 4);
  if (tail) { /* the last block's last k: fewer than four bytes of A, the rest zero in the panel */
    LLVMBasicBlockRef done = cg_if_begin(c, g->last, "tail");
    for (int r = 0; r < rows; r++) {
      a32[r] = cg_i32(c, 0);
      for (int t = 0; t < tail; t++) {
        LLVMValueRef x = LLVMBuildLoad2(c->b, c->i8, byte_at(g, arow[r], add(g, mul(g, full, 4), i64c(g, t))), "");
        x = LLVMBuildShl(c->b, LLVMBuildZExt(c->b, x, c->i32, ""), cg_i32(c, 8 * t), "");
        a32[r] = LLVMBuildOr(c->b, a32[r], x, "");
      }
    }
    emit_group(g, rows, full, a32);
    cg_if_end(c, done);
  }
  /* C = sums - 128 x column sums (the first block) or C + that */
  for (int r = 0; r < rows; r++)
    for (int v = 0; v < NV; v++) {
      LLVMValueRef cs = LLVMBuildLoad2(c->b, g->vec, LLVMBuildInBoundsGEP2(c->b, c->i32, g->colsum, (LLVMValueRef[]){i64c(g, (int64_t)v * g->lanes)}, 1, ""), "");
      LLVMValueRef x = LLVMBuildSub(c->b, LLVMBuildLoad2(c->b, g->vec, g->acc[r][v], ""), LLVMBuildShl(c->b, cs, splat_i32(g, 7), ""), "");
      LLVMValueRef off = add(g, add(g, mul(g, add(g, r0, i64c(g, r)), s->ldc), g->n0), i64c(g, (int64_t)v * g->lanes));
      LLVMValueRef p = LLVMBuildInBoundsGEP2(c->b, c->i32, g->cmat, &off, 1, "");
      LLVMValueRef ld[4] = {p, cg_i32(c, 4), g->mask[v], LLVMConstNull(g->vec)};
      LLVMValueRef before = LLVMBuildSelect(c->b, g->first, LLVMConstNull(g->vec), masked(g, "llvm.masked.load", ld, 4), "");
      LLVMValueRef st[4] = {LLVMBuildAdd(c->b, before, x, ""), p, cg_i32(c, 4), g->mask[v]};
      masked(g, "llvm.masked.store", st, 4);
    }
}

static void emit_body(Igemm *g, LLVMValueRef m, LLVMValueRef n) {
  CgContext *c = g->c;
  int64_t blocks = (g->s->k + KCB - 1) / KCB;
  CgLoopNest lp, lb, lt;
  cg_loop_range(c, &lp, i64c(g, 0), LLVMBuildSDiv(c->b, add(g, n, i64c(g, g->nr - 1)), i64c(g, g->nr), ""), "panel");
  g->n0 = mul(g, lp.idx[0], g->nr);
  LLVMValueRef nr = imin(g, i64c(g, g->nr), LLVMBuildNSWSub(c->b, n, g->n0, ""));
  for (int v = 0; v < NV; v++) g->mask[v] = lane_mask(g, nr, v);
  cg_loop_range(c, &lb, i64c(g, 0), i64c(g, blocks), "kblock");
  g->k0 = mul(g, lb.idx[0], KCB);
  g->kc = imin(g, i64c(g, KCB), LLVMBuildNSWSub(c->b, i64c(g, g->s->k), g->k0, ""));
  g->first = LLVMBuildICmp(c->b, LLVMIntEQ, lb.idx[0], i64c(g, 0), "first");
  g->last = LLVMBuildICmp(c->b, LLVMIntEQ, lb.idx[0], i64c(g, blocks - 1), "last");
  emit_pack(g, nr);
  LLVMValueRef tiles = LLVMBuildSDiv(c->b, m, i64c(g, g->mr), "");
  cg_loop_range(c, &lt, i64c(g, 0), tiles, "tile");
  emit_tile(g, mul(g, lt.idx[0], g->mr), g->mr);
  cg_loop_close(c, &lt);
  cg_loop_range(c, &lt, mul(g, tiles, g->mr), m, "row");
  emit_tile(g, lt.idx[0], 1);
  cg_loop_close(c, &lt);
  cg_loop_close(c, &lb);
  cg_loop_close(c, &lp);
}

static LLVMValueRef igemm_function(CgContext *c, const CgIgemmShape *s) {
  bool vnni = c->vnni && c->vector_bits == 512;
  char name[160];
  snprintf(name, sizeof name, "igemm.n%c.k%lld.lda%lld.ldb%lld.ldc%lld.v%d%s", s->tb ? 't' : 'n', (long long)s->k,
           (long long)s->lda, (long long)s->ldb, (long long)s->ldc, c->vector_bits, vnni ? ".vnni" : "");
  LLVMValueRef fn = LLVMGetNamedFunction(c->mod, name);
  if (fn) return fn;
  LLVMTypeRef params[5] = {c->i64, c->i64, c->ptr, c->ptr, c->ptr};
  fn = LLVMAddFunction(c->mod, name, LLVMFunctionType(c->void_t, params, 5, 0));
  LLVMSetLinkage(fn, LLVMInternalLinkage);
  Igemm g = {.c = c, .s = s, .lanes = c->vector_bits / 32, .vnni = vnni};
  g.nr = NV * g.lanes;
  g.mr = vnni ? 12 : 4;
  g.vec = LLVMVectorType(c->i32, (unsigned)g.lanes);
  LLVMBasicBlockRef saved = LLVMGetInsertBlock(c->b);
  LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->ctx, fn, "entry"));
  static const char *const names[5] = {"m", "n", "a", "b", "c"};
  for (unsigned i = 0; i < 5; i++) LLVMSetValueName2(LLVMGetParam(fn, i), names[i], strlen(names[i]));
  g.a = LLVMGetParam(fn, 2), g.b = LLVMGetParam(fn, 3), g.cmat = LLVMGetParam(fn, 4);
  g.panel = LLVMBuildArrayAlloca(c->b, c->i8, i64c(&g, (int64_t)KCB * g.nr), "panel");
  LLVMSetAlignment(g.panel, 64);
  g.colsum = LLVMBuildArrayAlloca(c->b, c->i32, i64c(&g, g.nr), "colsum");
  LLVMSetAlignment(g.colsum, 64);
  g.sum = LLVMBuildAlloca(c->b, c->i32, "colsum.j");
  for (int r = 0; r < g.mr; r++)
    for (int v = 0; v < NV; v++) g.acc[r][v] = LLVMBuildAlloca(c->b, g.vec, "acc");
  emit_body(&g, LLVMGetParam(fn, 0), LLVMGetParam(fn, 1));
  LLVMBuildRetVoid(c->b);
  if (saved) LLVMPositionBuilderAtEnd(c->b, saved);
  return fn;
}

void cg_emit_igemm(CgContext *c, const CgIgemmShape *s, LLVMValueRef m, LLVMValueRef n, LLVMValueRef a,
                   LLVMValueRef b, LLVMValueRef cc) {
  RT_ASSERT(s->k >= 1, "an int8 GEMM needs K >= 1");
  LLVMValueRef fn = igemm_function(c, s);
  LLVMValueRef args[5] = {m, n, a, b, cc};
  LLVMBuildCall2(c->b, LLVMGlobalGetValueType(fn), fn, args, 5, "");
}

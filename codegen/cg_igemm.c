/* Our int8 GEMM (cg_igemm.h): loops over panels of NR columns of op(B) and blocks of KCB k;
 * each panel-block is packed (groups of four k per column, zero-padded, with its column sums),
 * or found packed (b_packed); then, with AMX, every block of 32 rows of A runs on tiles, and the
 * rest, tiles of MR rows (and the rows left over, one at a time), run the group loop of 32-bit
 * broadcasts of A and dot products of four bytes into NR/lanes vectors a row. The first block of
 * k stores C, later ones add to it. The same loops, packing only, make a B packed whole. */
#include "codegen/cg_igemm.h"

#include <stdio.h>
#include <string.h>

#include "codegen/cg_amx.h"
#include "codegen/cg_kernel.h"
#include "support/rt_assert.h"

enum {
  KCB = 1024, /* k per packed block (a multiple of AMX_K): a panel of 32 columns is 32 KiB */
  NV = 2,     /* vectors of C per row of a tile: NR = NV x lanes columns */
  MAX_MR = 12,
  AMX_ROWS = CG_AMX_ROWS, /* an AMX tile: 16 rows of 64 bytes (16 x 64 int8 of A, 16 groups of 4 k x 16 columns of B, 16 x 16 int32 of C) */
  AMX_K = 64,    /* k per step of the AMX loop: one A tile's width */
  AMX_MR = 32,   /* rows of C per AMX block: two A tiles against the panel's two B tiles */
};

typedef struct Igemm {
  CgContext *c;
  const CgIgemmShape *s;
  int lanes, nr, mr;
  bool vnni, amx;
  LLVMTypeRef vec;                   /* <lanes x i32> */
  LLVMValueRef a_stage, c_stage;     /* with amx: A's last partial 64 k of 32 rows, a 32 x 32 block of C */
  LLVMValueRef a, b, cmat;           /* the function's matrices */
  LLVMValueRef panel, colsum;        /* the packed panel-block and its column sums (stack) */
  LLVMValueRef sum, sum_vec;         /* emit_pack's running column sum(s) (entry-block allocas) */
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

/* x in each of n lanes. */
static LLVMValueRef splat_n(Igemm *g, LLVMValueRef x, int n) {
  LLVMBuilderRef b = g->c->b;
  LLVMTypeRef vt = LLVMVectorType(LLVMTypeOf(x), (unsigned)n);
  LLVMValueRef one = LLVMBuildInsertElement(b, LLVMGetPoison(vt), x, cg_i32(g->c, 0), "");
  return LLVMBuildShuffleVector(b, one, LLVMGetPoison(vt), LLVMConstNull(LLVMVectorType(g->c->i32, (unsigned)n)), "splat");
}

/* x in each lane of a vector of C. */
static LLVMValueRef splat(Igemm *g, LLVMValueRef x) { return splat_n(g, x, g->lanes); }
static LLVMValueRef splat_i32(Igemm *g, int v) { return splat(g, cg_i32(g->c, v)); }

/* Lanes of vector v of the panel whose column exists: v * lanes + j < nr. */
static LLVMValueRef lane_mask(Igemm *g, LLVMValueRef nr, int v) {
  LLVMValueRef idx[16];
  for (int j = 0; j < g->lanes; j++) idx[j] = i64c(g, v * g->lanes + j);
  return LLVMBuildICmp(g->c->b, LLVMIntSLT, LLVMConstVector(idx, (unsigned)g->lanes), splat(g, nr), "cols");
}

/* llvm.masked.load / store (name) of vectors of type vt. */
static LLVMValueRef masked_of(Igemm *g, LLVMTypeRef vt, const char *name, LLVMValueRef *args, int n) {
  unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
  LLVMTypeRef types[2] = {vt, g->c->ptr};
  LLVMValueRef fn = LLVMGetIntrinsicDeclaration(g->c->mod, id, types, 2);
  return LLVMBuildCall2(g->c->b, LLVMIntrinsicGetType(g->c->ctx, id, types, 2), fn, args, (unsigned)n, "");
}

static LLVMValueRef masked(Igemm *g, const char *name, LLVMValueRef *args, int n) {
  return masked_of(g, g->vec, name, args, n);
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

/* B^T's rows are op(B)'s columns: per column, its k as 32-bit groups of four into the panel
 * (the last partial group byte by byte), and its sum over k. */
static void emit_pack_bt(Igemm *g, LLVMValueRef nr) {
  CgContext *c = g->c;
  const CgIgemmShape *s = g->s;
  CgLoopNest lj, lk;
  cg_loop_range(c, &lj, i64c(g, 0), nr, "pack.col");
  LLVMValueRef src = byte_at(g, g->b, add(g, mul(g, add(g, g->n0, lj.idx[0]), s->ldb), g->k0));
  LLVMValueRef full = LLVMBuildSDiv(c->b, g->kc, i64c(g, 4), "");
  cg_loop_range(c, &lk, i64c(g, 0), full, "pack.group");
  LLVMValueRef x = LLVMBuildLoad2(c->b, c->i32, byte_at(g, src, mul(g, lk.idx[0], 4)), "");
  LLVMSetAlignment(x, 1);
  LLVMValueRef st = LLVMBuildStore(c->b, x, byte_at(g, g->panel, mul(g, add(g, mul(g, lk.idx[0], g->nr), lj.idx[0]), 4)));
  LLVMSetAlignment(st, 4);
  cg_loop_close(c, &lk);
  cg_loop_range(c, &lk, mul(g, full, 4), g->kc, "pack.tail");
  LLVMValueRef v = LLVMBuildLoad2(c->b, c->i8, byte_at(g, src, lk.idx[0]), "");
  LLVMValueRef dst = add(g, mul(g, add(g, mul(g, full, g->nr), lj.idx[0]), 4), LLVMBuildAnd(c->b, lk.idx[0], i64c(g, 3), ""));
  LLVMBuildStore(c->b, v, byte_at(g, g->panel, dst));
  cg_loop_close(c, &lk);
  LLVMBuildStore(c->b, cg_i32(c, 0), g->sum); /* the column's sum: a loop the vectoriser takes */
  cg_loop_range(c, &lk, i64c(g, 0), g->kc, "pack.sum");
  LLVMValueRef b = LLVMBuildSExt(c->b, LLVMBuildLoad2(c->b, c->i8, byte_at(g, src, lk.idx[0]), ""), c->i32, "");
  LLVMBuildStore(c->b, LLVMBuildAdd(c->b, LLVMBuildLoad2(c->b, c->i32, g->sum, ""), b, ""), g->sum);
  cg_loop_close(c, &lk);
  LLVMBuildStore(c->b, LLVMBuildLoad2(c->b, c->i32, g->sum, ""), LLVMBuildInBoundsGEP2(c->b, c->i32, g->colsum, &lj.idx[0], 1, ""));
  cg_loop_close(c, &lj);
}

/* B's rows, NR bytes of the panel's columns each (masked past nr), four at a time interleaved
 * byte by byte into one group row of the panel; the column sums added up as vectors. */
static void emit_pack_b(Igemm *g, LLVMValueRef nr) {
  CgContext *c = g->c;
  const CgIgemmShape *s = g->s;
  int w = g->nr;
  LLVMTypeRef bytes = LLVMVectorType(c->i8, (unsigned)w), sums = LLVMVectorType(c->i32, (unsigned)w);
  LLVMValueRef idx[128], mask;
  for (int j = 0; j < w; j++) idx[j] = i64c(g, j);
  mask = LLVMBuildICmp(c->b, LLVMIntSLT, LLVMConstVector(idx, (unsigned)w), splat_n(g, nr, w), "cols");
  LLVMBuildStore(c->b, LLVMConstNull(sums), g->sum_vec);
  LLVMValueRef groups = LLVMBuildSDiv(c->b, add(g, g->kc, i64c(g, 3)), i64c(g, 4), "");
  CgLoopNest lk;
  cg_loop_range(c, &lk, i64c(g, 0), groups, "pack.group");
  LLVMValueRef row[4], acc = LLVMBuildLoad2(c->b, sums, g->sum_vec, "");
  for (int b = 0; b < 4; b++) {
    LLVMValueRef kk = add(g, mul(g, lk.idx[0], 4), i64c(g, b));
    LLVMValueRef in_k = splat_n(g, LLVMBuildICmp(c->b, LLVMIntSLT, kk, g->kc, ""), w);
    LLVMValueRef p = byte_at(g, g->b, add(g, mul(g, add(g, g->k0, kk), s->ldb), g->n0));
    LLVMValueRef m = LLVMBuildAnd(c->b, mask, in_k, "");
    LLVMValueRef args[4] = {p, cg_i32(c, 1), m, LLVMConstNull(bytes)};
    row[b] = masked_of(g, bytes, "llvm.masked.load", args, 4);
    acc = LLVMBuildAdd(c->b, acc, LLVMBuildSExt(c->b, row[b], sums, ""), "");
  }
  LLVMBuildStore(c->b, acc, g->sum_vec);
  LLVMValueRef pair[2], sel[256];
  for (int h = 0; h < 2; h++) {
    for (int j = 0; j < 2 * w; j++) sel[j] = cg_i32(c, j);
    pair[h] = LLVMBuildShuffleVector(c->b, row[2 * h], row[2 * h + 1], LLVMConstVector(sel, (unsigned)(2 * w)), "");
  }
  for (int j = 0; j < w; j++) /* out[4 j + b] = row b's byte j; pair h holds rows 2h (0..w) and 2h + 1 (w..2w) */
    for (int b = 0; b < 4; b++) sel[4 * j + b] = cg_i32(c, (b / 2) * 2 * w + (b % 2) * w + j);
  LLVMValueRef out = LLVMBuildShuffleVector(c->b, pair[0], pair[1], LLVMConstVector(sel, (unsigned)(4 * w)), "interleave");
  LLVMValueRef st = LLVMBuildStore(c->b, out, byte_at(g, g->panel, mul(g, lk.idx[0], (int64_t)w * 4)));
  LLVMSetAlignment(st, 64);
  cg_loop_close(c, &lk);
  LLVMValueRef cs = LLVMBuildStore(c->b, LLVMBuildLoad2(c->b, sums, g->sum_vec, ""), g->colsum);
  LLVMSetAlignment(cs, 64);
}

/* op(B)'s block [k0, k0 + kc) x [n0, n0 + nr) into the panel: byte (kk, j) at
 * ((kk / 4) * NR + j) * 4 + kk % 4, zeros past the last column and k (up to a whole step of the
 * group loop); colsum[j] = its column's sum. */
static void emit_pack(Igemm *g, LLVMValueRef nr) {
  CgContext *c = g->c;
  int64_t step = g->amx ? AMX_K : 4;
  LLVMValueRef groups = mul(g, LLVMBuildSDiv(c->b, add(g, g->kc, i64c(g, step - 1)), i64c(g, step), ""), step / 4);
  LLVMBuildMemSet(c->b, g->panel, LLVMConstInt(c->i8, 0, 0), mul(g, groups, (int64_t)g->nr * 4), 64);
  LLVMBuildMemSet(c->b, g->colsum, LLVMConstInt(c->i8, 0, 0), i64c(g, (int64_t)g->nr * 4), 64);
  if (g->s->tb)
    emit_pack_bt(g, nr);
  else
    emit_pack_b(g, nr);
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

/* Vector v of C's row `row` in the current panel = x (the first block of k) or C + x (the later
 * ones), its columns past n left alone. */
static void store_c(Igemm *g, LLVMValueRef row, int v, LLVMValueRef x) {
  CgContext *c = g->c;
  LLVMValueRef off = add(g, add(g, mul(g, row, g->s->ldc), g->n0), i64c(g, (int64_t)v * g->lanes));
  LLVMValueRef p = LLVMBuildInBoundsGEP2(c->b, c->i32, g->cmat, &off, 1, "");
  LLVMValueRef ld[4] = {p, cg_i32(c, 4), g->mask[v], LLVMConstNull(g->vec)};
  LLVMValueRef before = LLVMBuildSelect(c->b, g->first, LLVMConstNull(g->vec), masked(g, "llvm.masked.load", ld, 4), "");
  LLVMValueRef st[4] = {LLVMBuildAdd(c->b, before, x, ""), p, cg_i32(c, 4), g->mask[v]};
  masked(g, "llvm.masked.store", st, 4);
}

/* ---- AMX-INT8 ---- */

/* One step of 64 k: C tiles 0-3 (rows 0-15 / 16-31 x columns 0-15 / 16-31) += A's two 16-row
 * tiles (4, 5: rows a_stride bytes apart from a) x the panel's two B tiles at group gi (6, 7). */
static void amx_step(Igemm *g, LLVMValueRef a, LLVMValueRef a_stride, LLVMValueRef gi) {
  for (int t = 0; t < 2; t++) {
    cg_amx_tile_move(g->c, true, 4 + t, byte_at(g, a, LLVMBuildNSWMul(g->c->b, a_stride, i64c(g, (int64_t)t * AMX_ROWS), "")), a_stride);
    LLVMValueRef b = add(g, mul(g, gi, (int64_t)g->nr * 4), i64c(g, (int64_t)t * 64));
    cg_amx_tile_move(g->c, true, 6 + t, byte_at(g, g->panel, b), i64c(g, (int64_t)g->nr * 4));
  }
  for (int t = 0; t < 4; t++) {
    LLVMValueRef args[3] = {cg_amx_tile(g->c, t), cg_amx_tile(g->c, 4 + t / 2), cg_amx_tile(g->c, 6 + t % 2)};
    cg_amx_call(g->c, "llvm.x86.tdpbssd", args, 3);
  }
}

/* The 32 rows from r0 against the current panel-block on AMX tiles (signed x signed bytes:
 * no correction): A's tiles read where A is, 64 k a step; the last block's last partial step
 * through a zero-padded copy; C through a 32 x 32 block on the stack into store_c. */
static void emit_tile_amx(Igemm *g, LLVMValueRef r0) {
  CgContext *c = g->c;
  const CgIgemmShape *s = g->s;
  for (int t = 0; t < 4; t++) {
    LLVMValueRef id = cg_amx_tile(g->c, t);
    cg_amx_call(g->c, "llvm.x86.tilezero", &id, 1);
  }
  LLVMValueRef a0 = byte_at(g, g->a, add(g, mul(g, r0, s->lda), g->k0)), lda = i64c(g, s->lda);
  LLVMValueRef steps = LLVMBuildSDiv(c->b, g->kc, i64c(g, AMX_K), "steps");
  CgLoopNest ls;
  cg_loop_range(c, &ls, i64c(g, 0), steps, "amx.k");
  amx_step(g, byte_at(g, a0, mul(g, ls.idx[0], AMX_K)), lda, mul(g, ls.idx[0], AMX_K / 4));
  cg_loop_close(c, &ls);
  int tail = (int)(s->k % AMX_K);
  if (tail) {
    LLVMBasicBlockRef done = cg_if_begin(c, g->last, "amx.tail");
    LLVMBuildMemSet(c->b, g->a_stage, LLVMConstInt(c->i8, 0, 0), i64c(g, AMX_MR * AMX_K), 64);
    for (int r = 0; r < AMX_MR; r++)
      LLVMBuildMemCpy(c->b, byte_at(g, g->a_stage, i64c(g, (int64_t)r * AMX_K)), 1,
                      byte_at(g, a0, add(g, mul(g, steps, AMX_K), i64c(g, (int64_t)r * s->lda))), 1, i64c(g, tail));
    amx_step(g, g->a_stage, i64c(g, AMX_K), mul(g, steps, AMX_K / 4));
    cg_if_end(c, done);
  }
  for (int t = 0; t < 4; t++) /* tile t at rows (t / 2) * 16, columns (t % 2) * 16 of the stage */
    cg_amx_tile_move(g->c, false, t, byte_at(g, g->c_stage, i64c(g, ((t / 2) * AMX_ROWS * 32 + (t % 2) * 16) * 4)), i64c(g, 32 * 4));
  for (int r = 0; r < AMX_MR; r++)
    for (int v = 0; v < NV; v++) {
      LLVMValueRef x = LLVMBuildLoad2(c->b, g->vec, byte_at(g, g->c_stage, i64c(g, ((int64_t)r * 32 + v * 16) * 4)), "");
      LLVMSetAlignment(x, 64);
      store_c(g, add(g, r0, i64c(g, r)), v, x);
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
  /* C = sums - 128 x column sums */
  for (int r = 0; r < rows; r++)
    for (int v = 0; v < NV; v++) {
      LLVMValueRef cs = LLVMBuildLoad2(c->b, g->vec, LLVMBuildInBoundsGEP2(c->b, c->i32, g->colsum, (LLVMValueRef[]){i64c(g, (int64_t)v * g->lanes)}, 1, ""), "");
      LLVMValueRef x = LLVMBuildSub(c->b, LLVMBuildLoad2(c->b, g->vec, g->acc[r][v], ""), LLVMBuildShl(c->b, cs, splat_i32(g, 7), ""), "");
      store_c(g, add(g, r0, i64c(g, r)), v, x);
    }
}

/* Bytes from one packed panel-block to the next in a B packed whole: its k rounded up to a whole
 * step of the group loop, NR columns, then NR column sums. */
static int64_t packed_block_bytes(const Igemm *g) {
  int64_t step = g->amx ? AMX_K : 4, k = g->s->k < KCB ? g->s->k : KCB;
  return (k + step - 1) / step * step * g->nr + (int64_t)g->nr * 4;
}

/* The loops over panels and blocks of k: packing each (into the stack buffer, or pack_only into
 * the whole packed B at pack_only), or finding it packed (b_packed), then the tiles unless
 * pack_only. */
static void emit_body(Igemm *g, LLVMValueRef m, LLVMValueRef n, LLVMValueRef pack_only) {
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
  if (pack_only || g->s->b_packed) {
    int64_t pb = packed_block_bytes(g);
    g->panel = byte_at(g, pack_only ? pack_only : g->b, mul(g, add(g, mul(g, lp.idx[0], blocks), lb.idx[0]), pb));
    g->colsum = byte_at(g, g->panel, i64c(g, pb - (int64_t)g->nr * 4));
  }
  if (!g->s->b_packed) emit_pack(g, nr);
  if (pack_only) {
    cg_loop_close(c, &lb);
    cg_loop_close(c, &lp);
    return;
  }
  LLVMValueRef r0 = i64c(g, 0); /* rows done */
  if (g->amx) { /* blocks of 32 rows on AMX tiles, the rest as without */
    LLVMValueRef blocks = LLVMBuildSDiv(c->b, m, i64c(g, AMX_MR), "");
    cg_loop_range(c, &lt, i64c(g, 0), blocks, "amx.block");
    emit_tile_amx(g, mul(g, lt.idx[0], AMX_MR));
    cg_loop_close(c, &lt);
    r0 = mul(g, blocks, AMX_MR);
  }
  LLVMValueRef tiles = LLVMBuildSDiv(c->b, LLVMBuildNSWSub(c->b, m, r0, ""), i64c(g, g->mr), "");
  cg_loop_range(c, &lt, i64c(g, 0), tiles, "tile");
  emit_tile(g, add(g, r0, mul(g, lt.idx[0], g->mr)), g->mr);
  cg_loop_close(c, &lt);
  cg_loop_range(c, &lt, add(g, r0, mul(g, tiles, g->mr)), m, "row");
  emit_tile(g, lt.idx[0], 1);
  cg_loop_close(c, &lt);
  cg_loop_close(c, &lb);
  cg_loop_close(c, &lp);
}

/* The function `name` of shape s for c (pack: the packing function of a B packed whole, `void
 * (i64 n, ptr b, ptr dst)`), defined the first time. */
static LLVMValueRef igemm_function(CgContext *c, const CgIgemmShape *s, bool pack) {
  bool vnni = c->vnni && c->vector_bits == 512, amx = c->amx_int8 && c->vector_bits == 512;
  char name[192];
  snprintf(name, sizeof name, "igemm%s.n%c.k%lld.lda%lld.ldb%lld.ldc%lld.v%d%s%s%s", pack ? ".pack" : "",
           s->tb ? 't' : 'n', (long long)s->k, (long long)s->lda, (long long)s->ldb, (long long)s->ldc,
           c->vector_bits, vnni ? ".vnni" : "", amx ? ".amx" : "", s->b_packed && !pack ? ".prepacked" : "");
  LLVMValueRef fn = LLVMGetNamedFunction(c->mod, name);
  if (fn) return fn;
  LLVMTypeRef params[5] = {c->i64, c->i64, c->ptr, c->ptr, c->ptr};
  if (pack) params[1] = c->ptr, params[2] = c->ptr; /* (n, b, dst) */
  fn = LLVMAddFunction(c->mod, name, LLVMFunctionType(c->void_t, params, pack ? 3 : 5, 0));
  LLVMSetLinkage(fn, LLVMInternalLinkage);
  CgIgemmShape packing = *s;
  packing.b_packed = false;
  Igemm g = {.c = c, .s = pack ? &packing : s, .lanes = c->vector_bits / 32, .vnni = vnni, .amx = amx};
  g.nr = NV * g.lanes;
  g.mr = vnni ? 12 : 4;
  g.vec = LLVMVectorType(c->i32, (unsigned)g.lanes);
  LLVMBasicBlockRef saved = LLVMGetInsertBlock(c->b);
  LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->ctx, fn, "entry"));
  if (pack) {
    g.b = LLVMGetParam(fn, 1);
    g.sum = LLVMBuildAlloca(c->b, c->i32, "colsum.j");
    g.sum_vec = LLVMBuildAlloca(c->b, LLVMVectorType(c->i32, (unsigned)g.nr), "colsums");
    emit_body(&g, NULL, LLVMGetParam(fn, 0), LLVMGetParam(fn, 2));
    LLVMBuildRetVoid(c->b);
    if (saved) LLVMPositionBuilderAtEnd(c->b, saved);
    return fn;
  }
  static const char *const names[5] = {"m", "n", "a", "b", "c"};
  for (unsigned i = 0; i < 5; i++) LLVMSetValueName2(LLVMGetParam(fn, i), names[i], strlen(names[i]));
  g.a = LLVMGetParam(fn, 2), g.b = LLVMGetParam(fn, 3), g.cmat = LLVMGetParam(fn, 4);
  g.panel = LLVMBuildArrayAlloca(c->b, c->i8, i64c(&g, (int64_t)KCB * g.nr), "panel");
  LLVMSetAlignment(g.panel, 64);
  g.colsum = LLVMBuildArrayAlloca(c->b, c->i32, i64c(&g, g.nr), "colsum");
  LLVMSetAlignment(g.colsum, 64);
  g.sum = LLVMBuildAlloca(c->b, c->i32, "colsum.j");
  g.sum_vec = LLVMBuildAlloca(c->b, LLVMVectorType(c->i32, (unsigned)g.nr), "colsums");
  for (int r = 0; r < g.mr; r++)
    for (int v = 0; v < NV; v++) g.acc[r][v] = LLVMBuildAlloca(c->b, g.vec, "acc");
  if (amx) {
    cg_amx_configure(c);
    g.a_stage = LLVMBuildArrayAlloca(c->b, c->i8, i64c(&g, AMX_MR * AMX_K), "a.stage");
    LLVMSetAlignment(g.a_stage, 64);
    g.c_stage = LLVMBuildArrayAlloca(c->b, c->i32, i64c(&g, AMX_MR * 32), "c.stage");
    LLVMSetAlignment(g.c_stage, 64);
  }
  emit_body(&g, LLVMGetParam(fn, 0), LLVMGetParam(fn, 1), NULL);
  if (amx) cg_amx_call(c, "llvm.x86.tilerelease", NULL, 0);
  LLVMBuildRetVoid(c->b);
  if (saved) LLVMPositionBuilderAtEnd(c->b, saved);
  return fn;
}

void cg_emit_igemm(CgContext *c, const CgIgemmShape *s, LLVMValueRef m, LLVMValueRef n, LLVMValueRef a,
                   LLVMValueRef b, LLVMValueRef cc) {
  RT_ASSERT(s->k >= 1, "an int8 GEMM needs K >= 1");
  LLVMValueRef fn = igemm_function(c, s, false);
  LLVMValueRef args[5] = {m, n, a, b, cc};
  LLVMBuildCall2(c->b, LLVMGlobalGetValueType(fn), fn, args, 5, "");
}

int64_t cg_igemm_packed_b_bytes_max(int64_t k, int64_t n) {
  int64_t kc = k < KCB ? k : KCB;
  return (n + 31) * ((kc + AMX_K - 1) / AMX_K * AMX_K + 4) * ((k + KCB - 1) / KCB);
}

int64_t cg_igemm_packed_b_bytes(const CgContext *c, const CgIgemmShape *s, int64_t n) {
  Igemm g = {.s = s, .lanes = c->vector_bits / 32, .amx = c->amx_int8 && c->vector_bits == 512};
  g.nr = NV * g.lanes;
  return (n + g.nr - 1) / g.nr * ((s->k + KCB - 1) / KCB) * packed_block_bytes(&g);
}

void cg_igemm_pack_b_call(CgContext *c, const CgIgemmShape *s, LLVMValueRef n, LLVMValueRef b, LLVMValueRef dst) {
  LLVMValueRef fn = igemm_function(c, s, true);
  LLVMValueRef args[3] = {n, b, dst};
  LLVMBuildCall2(c->b, LLVMGlobalGetValueType(fn), fn, args, 3, "");
}

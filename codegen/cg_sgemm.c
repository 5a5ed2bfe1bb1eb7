/* Our own SGEMM (cg_sgemm.h): one function per transpose/beta combination, built from four
 * pieces: packing a block of op(A) (MC rows, KC columns) into MR-row tiles and the NR-wide panels
 * of a block of op(B) (KC rows, NC columns; zero-padded past the last column) into stack buffers;
 * the register tile (R rows x NR columns of C as 2R vectors, the K loop of broadcasts and FMAs);
 * and the loops of BLIS around them: column blocks, K blocks, row blocks, panels, tiles of MR
 * rows, then one masked tile for the rows left over. Few rows against B^T: dot products
 * (emit_dots); few rows against B: B read in place; few columns against A: A read in place. */
#include "codegen/cg_sgemm.h"

#include <stdio.h>
#include <string.h>

#include "codegen/cg_amx.h"
#include "codegen/cg_kernel.h"
#include "support/rt_assert.h"

enum {
  KC = 256,           /* rows of op(B) packed at once: a KC x NR panel stays in L1 (32 KiB at 512 bits) */
  NC = 256,           /* columns of op(B) packed at once: KC x NC (256 KiB) stays in L2 */
  MC = 288,           /* rows of C per block: their KC columns of op(A) (288 KiB) stay in L2 */
  PACK_MIN_ROWS = 24, /* fewer rows of C than this read an untransposed B where it is */
  A_DIRECT_MAX_COLS = 64, /* at most this many columns of C read an untransposed A where it is */
  AMX_ROWS = CG_AMX_ROWS, /* an AMX tile: 16 rows of 64 bytes (16 floats of C, 32 bf16 of A, 16 pairs of B) */
  AMX_K = 32,         /* k per step of the AMX K loop: one A tile's width */
  AMX_MR = 32,        /* rows of C per AMX register tile: two A tiles against a panel's two B tiles */
};

typedef struct Sgemm {
  CgContext *c;
  const CgSgemmShape *s;
  int lanes, mr;       /* floats per vector; rows per full tile */
  LLVMTypeRef vec;
  LLVMValueRef k, lda, ldb, ldc; /* the function's K and leading dimensions (i64 parameters) */
  LLVMValueRef a, b, cmat;        /* the function's matrices */
  LLVMValueRef bufb, buf;         /* op(B)'s packed panels (KC x NC), and the current panel in it */
  LLVMValueRef prepacked;         /* with b_packed: op(B) packed whole (the pack function's output) */
  LLVMTypeRef bf16;               /* with bf16: the bfloat type, and AVX512-BF16's dot product */
  LLVMValueRef dpbf16;
  LLVMTypeRef dpbf16_type;
  LLVMValueRef stage;             /* with amx: a 32 x 32 float block of C, between tiles and C */
  LLVMValueRef panel_full;        /* the current panel has all NR columns (i1) */
  LLVMValueRef dot_acc[4];       /* emit_dots' vector accumulators (entry-block allocas) */
  LLVMValueRef bufa;             /* the block of op(A) packed: MR-row tiles, k-major within one */
  LLVMValueRef mask[2]; /* columns n0 .. n0 + NR that exist, per vector of the panel */
  LLVMValueRef n0, k0, kc, first; /* current panel, K block, its length, and "C starts at 0" */
} Sgemm;

static LLVMValueRef i64c(Sgemm *g, int64_t v) { return cg_i64(g->c, v); }
static LLVMValueRef add(Sgemm *g, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildNSWAdd(g->c->b, a, b, ""); }
static LLVMValueRef mul(Sgemm *g, LLVMValueRef a, int64_t k) { return LLVMBuildNSWMul(g->c->b, a, i64c(g, k), ""); }
static LLVMValueRef mulv(Sgemm *g, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildNSWMul(g->c->b, a, b, ""); }

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

/* The lanes of the vector at p where mask is set (zeros elsewhere; nothing else is read). */
static LLVMValueRef load_masked(Sgemm *g, LLVMValueRef p, LLVMValueRef mask) {
  LLVMValueRef args[4] = {p, cg_i32(g->c, 4), mask, LLVMConstNull(g->vec)};
  return masked(g, "llvm.masked.load", args, 4);
}

static void store_masked(Sgemm *g, LLVMValueRef x, LLVMValueRef p, LLVMValueRef mask) {
  LLVMValueRef args[4] = {x, p, cg_i32(g->c, 4), mask};
  masked(g, "llvm.masked.store", args, 4);
}

/* Vector v of the current panel's columns at p (the columns past the last read as zeros). */
static LLVMValueRef load_cols(Sgemm *g, LLVMValueRef p, int v) { return load_masked(g, p, g->mask[v]); }

/* Alignment of the vectors of packed panels: whole vectors on the stack buffers; a B packed
 * whole lies in the caller's memory, which a deployed model's caller may not align (unaligned
 * vector moves cost nothing more when the address happens to be aligned). */
static unsigned panel_align(const Sgemm *g) { return g->s->b_packed ? 4 : (unsigned)g->lanes * 4; }

static LLVMValueRef load_vec(Sgemm *g, LLVMValueRef p) {
  LLVMValueRef x = LLVMBuildLoad2(g->c->b, g->vec, p, "");
  LLVMSetAlignment(x, panel_align(g));
  return x;
}

/* Transposes the square matrix whose rows are the lanes vectors v[0..lanes): one stage per bit
 * of the lane index, each swapping the off-diagonal d x d blocks of every 2d x 2d block with
 * two-source shuffles (lanes shuffles a stage). */
static void transpose_square(Sgemm *g, LLVMValueRef *v) {
  int n = g->lanes;
  for (int d = n / 2; d >= 1; d /= 2)
    for (int i = 0; i < n; i++) {
      if (i & d) continue;
      LLVMValueRef lo_mask[16], hi_mask[16];
      for (int l = 0; l < n; l++) {
        lo_mask[l] = cg_i32(g->c, (l & d) ? n + l - d : l);
        hi_mask[l] = cg_i32(g->c, (l & d) ? n + l : l + d);
      }
      LLVMValueRef a = v[i], b = v[i + d];
      v[i] = LLVMBuildShuffleVector(g->c->b, a, b, LLVMConstVector(lo_mask, (unsigned)n), "tr");
      v[i + d] = LLVMBuildShuffleVector(g->c->b, a, b, LLVMConstVector(hi_mask, (unsigned)n), "tr");
    }
}

/* buf[kk][j] = op(B)[k0 + kk][n0 + j] for kk < kc, j < NR (0 past the last column). */
static void emit_pack(Sgemm *g, LLVMValueRef nr) {
  CgContext *c = g->c;
  const CgSgemmShape *s = g->s;
  int nr_max = 2 * g->lanes;
  CgLoopNest kk;
  if (!s->tb) { /* rows of B are rows of op(B): two masked vector loads per row */
    kk.rank = 1, kk.lo[0] = i64c(g, 0), kk.hi[0] = g->kc;
    cg_loop_open(c, &kk, "pack.k");
    LLVMValueRef row = cg_gep(c, g->b, add(g, mulv(g, add(g, g->k0, kk.idx[0]), g->ldb), g->n0));
    LLVMValueRef dst = cg_gep(c, g->buf, mul(g, kk.idx[0], nr_max));
    for (int v = 0; v < 2; v++) {
      LLVMValueRef st = LLVMBuildStore(c->b, load_cols(g, cg_gep(c, row, i64c(g, v * g->lanes)), v),
                                       cg_gep(c, dst, i64c(g, v * g->lanes)));
      LLVMSetAlignment(st, panel_align(g));
    }
    cg_loop_close(c, &kk);
    return;
  }
  /* op(B) = B^T: column j of the panel is row n0 + j of B, contiguous in k. Squares of
   * lanes x lanes are loaded as rows of B and transposed in registers; rows past the panel's
   * last column are zeros, and so are k past kc (rows of buf up to kc rounded up to lanes,
   * which the K loop never reads). */
  kk.rank = 1, kk.lo[0] = i64c(g, 0);
  kk.hi[0] = LLVMBuildSDiv(c->b, add(g, g->kc, i64c(g, g->lanes - 1)), i64c(g, g->lanes), "ksquares");
  cg_loop_open(c, &kk, "pack.kt");
  LLVMValueRef kk0 = mul(g, kk.idx[0], g->lanes);
  LLVMValueRef kmask = lane_mask(g, LLVMBuildNSWSub(c->b, g->kc, kk0, ""), 0);
  LLVMValueRef last = LLVMBuildNSWSub(c->b, nr, i64c(g, 1), "");
  for (int v = 0; v < 2; v++) {
    LLVMValueRef rows[16];
    for (int q = 0; q < g->lanes; q++) {
      int jc = v * g->lanes + q;
      LLVMValueRef jj = imin(g, i64c(g, jc), last);
      LLVMValueRef src = cg_gep(c, g->b, add(g, mulv(g, add(g, g->n0, jj), g->ldb), add(g, g->k0, kk0)));
      LLVMValueRef row = load_masked(g, src, kmask);
      LLVMValueRef inside = LLVMBuildICmp(c->b, LLVMIntSLT, i64c(g, jc), nr, "");
      rows[q] = LLVMBuildSelect(c->b, inside, row, LLVMConstNull(g->vec), "");
    }
    transpose_square(g, rows);
    for (int q = 0; q < g->lanes; q++) {
      LLVMValueRef dst = cg_gep(c, g->buf, add(g, mul(g, add(g, kk0, i64c(g, q)), nr_max), i64c(g, v * g->lanes)));
      LLVMSetAlignment(LLVMBuildStore(c->b, rows[q], dst), panel_align(g));
    }
  }
  cg_loop_close(c, &kk);
}

/* Address of op(A)[i][k]. */
static LLVMValueRef a_at(Sgemm *g, LLVMValueRef i, LLVMValueRef k) {
  return cg_gep(g->c, g->a, g->s->ta ? add(g, mulv(g, k, g->lda), i) : add(g, mulv(g, i, g->lda), k));
}

/* Offset in a packed tile of op(A)'s row r, column kk: k-major (MR consecutive floats a step of
 * the K loop) when A is transposed, so that packing copies A's rows as they are stored; row-major
 * (stride KC) otherwise, for the same reason. Either way a tile is MR x KC floats, read by the K
 * loop as MR sequential streams at most. */
static LLVMValueRef a_packed_at(Sgemm *g, LLVMValueRef r, LLVMValueRef kk) {
  return g->s->ta ? add(g, mul(g, kk, g->mr), r) : add(g, mul(g, r, KC), kk);
}

/* bf16: the K block's depth rounded up to what one step of the K loop takes (a pair of k; 32 k
 * for AMX tiles): the packing fills the k past kc with zeros (a product of a zero, never of
 * whatever the buffer held, which could be NaN). */
static LLVMValueRef k_padded(Sgemm *g) {
  int64_t step = g->s->amx ? AMX_K : 2;
  return LLVMBuildAnd(g->c->b, add(g, g->kc, i64c(g, step - 1)), i64c(g, -step), "kc.padded");
}

/* Tiles t0 .. t1 of bufa hold op(A)[m0 + t * MR + r][k0 + kk] (a_packed_at); rows from `last`
 * on repeat row `last` (NULL: every row exists). The innermost loop runs along A's contiguous
 * dimension, so for whole tiles it is a plain copy that vectorises. */
static void emit_pack_tiles(Sgemm *g, LLVMValueRef m0, LLVMValueRef t0, LLVMValueRef t1, LLVMValueRef last) {
  CgContext *c = g->c;
  bool bf16 = g->s->bf16;
  /* bf16: k up to an even count, the one past kc a zero (its pair's product must be 0, not NaN) */
  LLVMValueRef kc = bf16 ? k_padded(g) : g->kc;
  CgLoopNest l;
  l.rank = 3, l.lo[0] = t0, l.lo[1] = l.lo[2] = i64c(g, 0);
  l.hi[0] = t1;
  l.hi[1] = g->s->ta ? kc : i64c(g, g->mr);
  l.hi[2] = g->s->ta ? i64c(g, g->mr) : kc;
  cg_loop_open(c, &l, "pack.a");
  LLVMValueRef kk = g->s->ta ? l.idx[1] : l.idx[2], r = g->s->ta ? l.idx[2] : l.idx[1];
  LLVMValueRef i = add(g, m0, add(g, mul(g, l.idx[0], g->mr), r));
  if (last) i = imin(g, i, last);
  LLVMValueRef tile = mul(g, l.idx[0], (int64_t)g->mr * KC);
  if (bf16) { /* row-major bf16 pairs (k even, k odd): one 32-bit word for the tile's broadcast */
    LLVMValueRef inside = LLVMBuildICmp(c->b, LLVMIntSLT, kk, g->kc, "");
    LLVMValueRef at = a_at(g, i, add(g, g->k0, imin(g, kk, LLVMBuildNSWSub(c->b, g->kc, i64c(g, 1), ""))));
    LLVMValueRef x = LLVMBuildSelect(c->b, inside, LLVMBuildLoad2(c->b, c->f32, at, ""), cg_f32(c, 0), "");
    /* the tile starts where its float version would (a_tile), its rows KC bf16 apart */
    LLVMValueRef dst = LLVMBuildGEP2(c->b, g->bf16, g->bufa, (LLVMValueRef[]){add(g, mul(g, tile, 2), add(g, mul(g, r, KC), kk))}, 1, "");
    LLVMBuildStore(c->b, LLVMBuildFPTrunc(c->b, x, g->bf16, ""), dst);
  } else {
    LLVMValueRef dst = add(g, tile, a_packed_at(g, r, kk));
    LLVMBuildStore(c->b, LLVMBuildLoad2(c->b, c->f32, a_at(g, i, add(g, g->k0, kk)), ""), cg_gep(c, g->bufa, dst));
  }
  cg_loop_close(c, &l);
}

/* bf16: the panel just packed as floats (buf[kk][j]) rewritten in place as pairs of rows, bf16
 * words (op(B)[2p][j], op(B)[2p + 1][j]) side by side, 2 * NR of them a pair of rows (AMX's
 * layout for B, two 16-column tiles side by side); rows past kc, up to the padded depth, read
 * as zeros. Pair p is written below the rows 2p and 2p + 1 it reads. */
static void emit_panel_to_bf16(Sgemm *g) {
  CgContext *c = g->c;
  int lanes = g->lanes, nr_max = 2 * lanes;
  LLVMTypeRef half = LLVMVectorType(g->bf16, (unsigned)lanes);
  LLVMValueRef zip[32];
  for (int i = 0; i < lanes; i++) zip[2 * i] = cg_i32(c, i), zip[2 * i + 1] = cg_i32(c, lanes + i);
  CgLoopNest l;
  cg_loop_range(c, &l, i64c(g, 0), LLVMBuildSDiv(c->b, k_padded(g), i64c(g, 2), "pairs"), "pack.bf16");
  LLVMValueRef k0 = mul(g, l.idx[0], 2), k1 = add(g, k0, i64c(g, 1));
  LLVMValueRef even_inside = LLVMBuildICmp(c->b, LLVMIntSLT, k0, g->kc, "");
  LLVMValueRef odd_inside = LLVMBuildICmp(c->b, LLVMIntSLT, k1, g->kc, "");
  LLVMValueRef out[2];
  for (int v = 0; v < 2; v++) {
    LLVMValueRef r0 = load_vec(g, cg_gep(c, g->buf, add(g, mul(g, k0, nr_max), i64c(g, v * lanes))));
    LLVMValueRef r1 = load_vec(g, cg_gep(c, g->buf, add(g, mul(g, k1, nr_max), i64c(g, v * lanes))));
    r0 = LLVMBuildSelect(c->b, even_inside, r0, LLVMConstNull(g->vec), "");
    r1 = LLVMBuildSelect(c->b, odd_inside, r1, LLVMConstNull(g->vec), "");
    LLVMValueRef h0 = LLVMBuildFPTrunc(c->b, r0, half, ""), h1 = LLVMBuildFPTrunc(c->b, r1, half, "");
    out[v] = LLVMBuildShuffleVector(c->b, h0, h1, LLVMConstVector(zip, 2u * (unsigned)lanes), "pairs");
  }
  for (int v = 0; v < 2; v++) {
    LLVMValueRef dst = LLVMBuildGEP2(c->b, g->bf16, g->buf, (LLVMValueRef[]){add(g, mul(g, l.idx[0], 2 * nr_max), i64c(g, v * 2 * lanes))}, 1, "");
    LLVMSetAlignment(LLVMBuildStore(c->b, out[v], dst), panel_align(g));
  }
  cg_loop_close(c, &l);
}

/* The block's `full` whole tiles, then (rows m0 + full * MR .. m1, if any) one more whose
 * missing rows repeat the last: they are computed and never stored. */
static void emit_pack_a(Sgemm *g, LLVMValueRef m0, LLVMValueRef m1, LLVMValueRef full) {
  emit_pack_tiles(g, m0, i64c(g, 0), full, NULL);
  LLVMValueRef rest = LLVMBuildICmp(g->c->b, LLVMIntSLT, add(g, m0, mul(g, full, g->mr)), m1, "rest");
  LLVMValueRef tiles = add(g, full, LLVMBuildZExt(g->c->b, rest, g->c->i64, ""));
  emit_pack_tiles(g, m0, full, tiles, LLVMBuildNSWSub(g->c->b, m1, i64c(g, 1), "last"));
}

enum { MAX_ACC = 2 * AMX_MR }; /* vectors of C in a register tile (fp32: 2 x MR) or an AMX block */

/* The rows x NR block of C at rows r0.., two vectors a row (vector i: row i / 2, the panel's
 * vector i % 2): their addresses, masks (the columns that exist and, when `valid` is given, the
 * rows before it; rows from it on point at the last that exists) and the values a block starts
 * from (zeros in a first K block, C as it is otherwise). */
static void c_block_in(Sgemm *g, LLVMValueRef r0, int rows, LLVMValueRef valid, LLVMValueRef *cptr,
                       LLVMValueRef *cmask, LLVMValueRef *in) {
  CgContext *c = g->c;
  LLVMBuilderRef b = c->b;
  LLVMValueRef last = valid ? add(g, r0, LLVMBuildNSWSub(b, valid, i64c(g, 1), "")) : NULL;
  for (int r = 0; r < rows; r++) {
    LLVMValueRef i = add(g, r0, i64c(g, r));
    if (valid) i = imin(g, i, last);
    for (int v = 0; v < 2; v++) {
      LLVMValueRef row = cg_gep(c, g->cmat, add(g, mulv(g, i, g->ldc), g->n0));
      cptr[2 * r + v] = cg_gep(c, row, i64c(g, v * g->lanes));
      cmask[2 * r + v] = g->mask[v];
      if (valid) {
        LLVMValueRef here = LLVMBuildICmp(b, LLVMIntSLT, i64c(g, r), valid, "row.in");
        cmask[2 * r + v] = LLVMBuildAnd(b, g->mask[v], splat(g, here, c->i1), "");
      }
      LLVMValueRef old = load_masked(g, cptr[2 * r + v], cmask[2 * r + v]);
      in[2 * r + v] = LLVMBuildSelect(b, g->first, LLVMConstNull(g->vec), old, "c.in");
    }
  }
}

/* The K loop on tiles: C tiles 0-3 (rows 0-15 and 16-31, columns 0-15 and 16-31) += A's two
 * 16-row tiles (4, 5) x the panel's two 16-column B tiles (6, 7), one tdpbf16ps each per 32 k. */
static void emit_amx_k_loop(Sgemm *g, LLVMValueRef a_tile) {
  CgContext *c = g->c;
  LLVMBuilderRef b = c->b;
  int lanes = g->lanes, nr_max = 2 * lanes;
  CgLoopNest ks;
  cg_loop_range(c, &ks, i64c(g, 0), LLVMBuildSDiv(b, k_padded(g), i64c(g, AMX_K), "ksteps"), "tile.k.amx");
  for (int t = 0; t < 2; t++) { /* A: rows t*16.., k from the step on, rows KC bf16 apart */
    LLVMValueRef at = add(g, mul(g, ks.idx[0], AMX_K), i64c(g, (int64_t)t * AMX_ROWS * KC));
    cg_amx_tile_move(g->c, true, 4 + t, LLVMBuildGEP2(b, g->bf16, a_tile, &at, 1, ""), i64c(g, KC * 2));
  }
  for (int t = 0; t < 2; t++) { /* B: AMX_K / 2 pair rows of the panel, 2 * NR bf16 each */
    LLVMValueRef at = add(g, mul(g, ks.idx[0], (AMX_K / 2) * 2 * nr_max), i64c(g, t * 2 * lanes));
    cg_amx_tile_move(g->c, true, 6 + t, LLVMBuildGEP2(b, g->bf16, g->buf, &at, 1, ""), i64c(g, 2 * nr_max * 2));
  }
  for (int t = 0; t < 4; t++) {
    LLVMValueRef args[3] = {cg_amx_tile(g->c, t), cg_amx_tile(g->c, 4 + t / 2), cg_amx_tile(g->c, 6 + t % 2)};
    cg_amx_call(g->c, "llvm.x86.tdpbf16ps", args, 3);
  }
  cg_loop_close(c, &ks);
}

/* Address of C tile t's first element in memory whose rows are `ld` floats apart, from row0. */
static LLVMValueRef c_tile_at(Sgemm *g, LLVMValueRef row0, LLVMValueRef ld, int t) {
  LLVMValueRef row = mulv(g, add(g, row0, i64c(g, (t / 2) * AMX_ROWS)), ld);
  return add(g, row, i64c(g, (t % 2) * g->lanes));
}

/* The 32 x NR block of C at rows r0.. (rows from `valid` on do not exist: NULL, all do) (+)=
 * op(A) x the panel on AMX tiles. A block wholly inside C (all 32 rows, all NR columns) moves
 * between C and the tiles directly; one at an edge passes through a 32 x NR float block on the
 * stack (g->stage), masked on the way in and out. */
static void emit_tile_amx(Sgemm *g, LLVMValueRef r0, LLVMValueRef valid, LLVMValueRef a_tile) {
  CgContext *c = g->c;
  LLVMBuilderRef b = c->b;
  int lanes = g->lanes, nr_max = 2 * lanes;
  LLVMValueRef fn = LLVMGetBasicBlockParent(LLVMGetInsertBlock(b));
  LLVMBasicBlockRef direct = LLVMAppendBasicBlockInContext(c->ctx, fn, "amx.direct");
  LLVMBasicBlockRef staged = LLVMAppendBasicBlockInContext(c->ctx, fn, "amx.staged");
  LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(c->ctx, fn, "amx.done");
  LLVMBuildCondBr(b, valid ? LLVMConstInt(c->i1, 0, 0) : g->panel_full, direct, staged);
  /* whole: C's rows are ldc floats apart; a first K block starts from zeros */
  LLVMPositionBuilderAtEnd(b, direct);
  LLVMValueRef c_at = cg_gep(c, g->cmat, g->n0), c_stride = mul(g, g->ldc, 4);
  LLVMBasicBlockRef zeros = LLVMAppendBasicBlockInContext(c->ctx, fn, "amx.zeros");
  LLVMBasicBlockRef loads = LLVMAppendBasicBlockInContext(c->ctx, fn, "amx.loads");
  LLVMBasicBlockRef run = LLVMAppendBasicBlockInContext(c->ctx, fn, "amx.run");
  LLVMBuildCondBr(b, g->first, zeros, loads);
  LLVMPositionBuilderAtEnd(b, zeros);
  for (int t = 0; t < 4; t++) {
    LLVMValueRef id = cg_amx_tile(g->c, t);
    cg_amx_call(g->c, "llvm.x86.tilezero", &id, 1);
  }
  LLVMBuildBr(b, run);
  LLVMPositionBuilderAtEnd(b, loads);
  for (int t = 0; t < 4; t++) cg_amx_tile_move(g->c, true, t, cg_gep(c, c_at, c_tile_at(g, r0, g->ldc, t)), c_stride);
  LLVMBuildBr(b, run);
  LLVMPositionBuilderAtEnd(b, run);
  emit_amx_k_loop(g, a_tile);
  for (int t = 0; t < 4; t++) cg_amx_tile_move(g->c, false, t, cg_gep(c, c_at, c_tile_at(g, r0, g->ldc, t)), c_stride);
  LLVMBuildBr(b, done);
  /* at an edge: through the stage */
  LLVMPositionBuilderAtEnd(b, staged);
  LLVMValueRef cptr[MAX_ACC], cmask[MAX_ACC], in[MAX_ACC];
  c_block_in(g, r0, AMX_MR, valid, cptr, cmask, in);
  for (int i = 0; i < 2 * AMX_MR; i++) /* vector i is row i / 2, columns (i % 2) * lanes.. */
    LLVMSetAlignment(LLVMBuildStore(b, in[i], cg_gep(c, g->stage, i64c(g, i * lanes))), 64);
  LLVMValueRef stage_ld = i64c(g, nr_max), stage_stride = i64c(g, nr_max * 4);
  for (int t = 0; t < 4; t++) cg_amx_tile_move(g->c, true, t, cg_gep(c, g->stage, c_tile_at(g, i64c(g, 0), stage_ld, t)), stage_stride);
  emit_amx_k_loop(g, a_tile);
  for (int t = 0; t < 4; t++) cg_amx_tile_move(g->c, false, t, cg_gep(c, g->stage, c_tile_at(g, i64c(g, 0), stage_ld, t)), stage_stride);
  for (int i = 0; i < 2 * AMX_MR; i++) {
    LLVMValueRef x = LLVMBuildLoad2(b, g->vec, cg_gep(c, g->stage, i64c(g, i * lanes)), "");
    LLVMSetAlignment(x, 64);
    store_masked(g, x, cptr[i], cmask[i]);
  }
  LLVMBuildBr(b, done);
  LLVMPositionBuilderAtEnd(b, done);
}

/* C[r0 .. r0 + rows][n0 .. n0 + NR] (+)= op(A)[rows][k0 .. k0 + kc] x the panel, in registers;
 * the panel is read from buf, or (packed false, B not transposed) straight from B; op(A) from
 * its packed tile a_tile, or (NULL) from A. */
static void emit_tile(Sgemm *g, LLVMValueRef r0, int rows, LLVMValueRef valid, bool packed, LLVMValueRef a_tile) {
  if (g->s->amx) {
    emit_tile_amx(g, r0, valid, a_tile);
    return;
  }
  CgContext *c = g->c;
  LLVMBuilderRef b = c->b;
  LLVMValueRef acc[MAX_ACC], next[MAX_ACC], cptr[MAX_ACC], cmask[MAX_ACC];
  int n_acc = 2 * rows;
  c_block_in(g, r0, rows, valid, cptr, cmask, next);
  LLVMValueRef last = valid ? add(g, r0, LLVMBuildNSWSub(b, valid, i64c(g, 1), "")) : NULL; /* A's rows likewise */
  LLVMBasicBlockRef pre = LLVMGetInsertBlock(b);
  LLVMValueRef fn = LLVMGetBasicBlockParent(pre);
  LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(c->ctx, fn, "tile.k");
  LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(c->ctx, fn, "tile.store");
  LLVMBuildBr(b, body);
  LLVMPositionBuilderAtEnd(b, body);
  LLVMValueRef kk = LLVMBuildPhi(b, c->i64, "kk");
  for (int i = 0; i < n_acc; i++) acc[i] = LLVMBuildPhi(b, g->vec, "acc");
  LLVMValueRef k = add(g, g->k0, kk), bv[2], out[MAX_ACC];
  if (g->s->bf16) { /* kk counts pairs of k: one bf16 dot product of pairs per row and vector */
    LLVMTypeRef pairs = LLVMVectorType(g->bf16, 2u * (unsigned)g->lanes);
    for (int v = 0; v < 2; v++) {
      LLVMValueRef at = add(g, mul(g, kk, 4 * g->lanes), i64c(g, 2 * v * g->lanes));
      bv[v] = LLVMBuildLoad2(b, pairs, LLVMBuildGEP2(b, g->bf16, g->buf, &at, 1, ""), "");
      LLVMSetAlignment(bv[v], panel_align(g));
    }
    for (int r = 0; r < rows; r++) {
      LLVMValueRef at = add(g, mul(g, kk, 2), i64c(g, (int64_t)r * KC));
      LLVMValueRef word = LLVMBuildLoad2(b, c->i32, LLVMBuildGEP2(b, g->bf16, a_tile, &at, 1, ""), "a.pair");
      LLVMSetAlignment(word, 4);
      LLVMValueRef av = LLVMBuildBitCast(b, splat(g, word, c->i32), pairs, "");
      for (int v = 0; v < 2; v++) {
        LLVMValueRef args[3] = {acc[2 * r + v], av, bv[v]};
        out[2 * r + v] = LLVMBuildCall2(b, g->dpbf16_type, g->dpbf16, args, 3, "");
      }
    }
  } else if (packed) {
    LLVMValueRef row = cg_gep(c, g->buf, mul(g, kk, 2 * g->lanes));
    for (int v = 0; v < 2; v++) bv[v] = load_vec(g, cg_gep(c, row, i64c(g, v * g->lanes)));
  } else {
    LLVMValueRef row = cg_gep(c, g->b, add(g, mulv(g, k, g->ldb), g->n0));
    for (int v = 0; v < 2; v++) bv[v] = load_cols(g, cg_gep(c, row, i64c(g, v * g->lanes)), v);
  }
  for (int r = 0; r < rows && !g->s->bf16; r++) {
    LLVMValueRef ap;
    if (a_tile) {
      ap = cg_gep(c, a_tile, a_packed_at(g, i64c(g, r), kk));
    } else {
      LLVMValueRef i = add(g, r0, i64c(g, r));
      ap = a_at(g, valid ? imin(g, i, last) : i, k);
    }
    LLVMValueRef av = splat(g, LLVMBuildLoad2(b, c->f32, ap, "a"), c->f32);
    for (int v = 0; v < 2; v++) {
      LLVMValueRef args[3] = {av, bv[v], acc[2 * r + v]};
      out[2 * r + v] = cg_intrinsic(c, "llvm.fmuladd", g->vec, 3, args);
    }
  }
  LLVMValueRef kk_next = add(g, kk, i64c(g, 1));
  LLVMValueRef trips = g->s->bf16 ? LLVMBuildSDiv(b, k_padded(g), i64c(g, 2), "pairs") : g->kc;
  LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, kk_next, trips, ""), body, done);
  LLVMValueRef zero = i64c(g, 0);
  LLVMAddIncoming(kk, &zero, &pre, 1);
  LLVMAddIncoming(kk, &kk_next, &body, 1);
  for (int i = 0; i < n_acc; i++) {
    LLVMAddIncoming(acc[i], &next[i], &pre, 1);
    LLVMAddIncoming(acc[i], &out[i], &body, 1);
  }
  LLVMPositionBuilderAtEnd(b, done);
  for (int i = 0; i < n_acc; i++) store_masked(g, out[i], cptr[i], cmask[i]);
}

/* Few rows of C against B^T (A not transposed): rows of A and of B are both contiguous in k,
 * so each element is a dot product on vectors (lane-wise partial sums over k, the lanes then
 * added in a fixed tree) and nothing is packed. DOT_COLS columns at a time, so that as many
 * chains of FMAs run side by side (the last group repeats column n - 1 and stores only what
 * exists). The order of each sum differs from the tiles', but depends on K only, never on how
 * M and N are split. */
enum {
  DOT_COLS = 4,     /* columns of C whose dot products run side by side */
  DOT_MAX_ROWS = 4, /* fewer rows of C than this against B^T take the dot products */
};
static void emit_dots(Sgemm *g, LLVMValueRef m, LLVMValueRef n) {
  CgContext *c = g->c;
  LLVMBuilderRef b = c->b;
  LLVMValueRef full = LLVMBuildSDiv(b, g->k, i64c(g, g->lanes), "kvecs");
  LLVMValueRef tail_at = mul(g, full, g->lanes);
  LLVMValueRef tail_mask = lane_mask(g, LLVMBuildNSWSub(b, g->k, tail_at, ""), 0);
  LLVMValueRef last = LLVMBuildNSWSub(b, n, i64c(g, 1), "");
  CgLoopNest i, j, kv;
  i.rank = 1, i.lo[0] = i64c(g, 0), i.hi[0] = m;
  cg_loop_open(c, &i, "dot.row");
  j.rank = 1, j.lo[0] = i64c(g, 0);
  j.hi[0] = LLVMBuildSDiv(b, add(g, n, i64c(g, DOT_COLS - 1)), i64c(g, DOT_COLS), "dot.groups");
  cg_loop_open(c, &j, "dot.group");
  LLVMValueRef arow = cg_gep(c, g->a, mulv(g, i.idx[0], g->lda)), brow[DOT_COLS], col[DOT_COLS];
  for (int q = 0; q < DOT_COLS; q++) {
    col[q] = add(g, mul(g, j.idx[0], DOT_COLS), i64c(g, q));
    brow[q] = cg_gep(c, g->b, mulv(g, imin(g, col[q], last), g->ldb));
    LLVMBuildStore(b, LLVMConstNull(g->vec), g->dot_acc[q]);
  }
  kv.rank = 1, kv.lo[0] = i64c(g, 0), kv.hi[0] = full;
  cg_loop_open(c, &kv, "dot.k");
  LLVMValueRef k = mul(g, kv.idx[0], g->lanes);
  LLVMValueRef av = LLVMBuildLoad2(b, g->vec, cg_gep(c, arow, k), "");
  LLVMSetAlignment(av, 4);
  for (int q = 0; q < DOT_COLS; q++) {
    LLVMValueRef bv = LLVMBuildLoad2(b, g->vec, cg_gep(c, brow[q], k), "");
    LLVMSetAlignment(bv, 4);
    LLVMValueRef args[3] = {av, bv, LLVMBuildLoad2(b, g->vec, g->dot_acc[q], "")};
    LLVMBuildStore(b, cg_intrinsic(c, "llvm.fmuladd", g->vec, 3, args), g->dot_acc[q]);
  }
  cg_loop_close(c, &kv);
  /* the last k < lanes (none if lanes divides K): zeros past K */
  LLVMValueRef at = load_masked(g, cg_gep(c, arow, tail_at), tail_mask);
  for (int q = 0; q < DOT_COLS; q++) {
    LLVMValueRef targs[3] = {at, load_masked(g, cg_gep(c, brow[q], tail_at), tail_mask),
                             LLVMBuildLoad2(b, g->vec, g->dot_acc[q], "")};
    LLVMValueRef rargs[2] = {cg_f32(c, -0.0), cg_intrinsic(c, "llvm.fmuladd", g->vec, 3, targs)};
    LLVMValueRef dot = cg_intrinsic(c, "llvm.vector.reduce.fadd", g->vec, 2, rargs);
    LLVMSetFastMathFlags(dot, LLVMFastMathAllowReassoc);
    LLVMValueRef fn = LLVMGetBasicBlockParent(LLVMGetInsertBlock(b));
    LLVMBasicBlockRef store = LLVMAppendBasicBlockInContext(c->ctx, fn, "dot.store");
    LLVMBasicBlockRef next = LLVMAppendBasicBlockInContext(c->ctx, fn, "dot.next");
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, col[q], n, ""), store, next);
    LLVMPositionBuilderAtEnd(b, store);
    LLVMValueRef out = cg_gep(c, g->cmat, add(g, mulv(g, i.idx[0], g->ldc), col[q]));
    if (g->s->accumulate) dot = LLVMBuildFAdd(b, LLVMBuildLoad2(b, c->f32, out, ""), dot, "");
    LLVMBuildStore(b, dot, out);
    LLVMBuildBr(b, next);
    LLVMPositionBuilderAtEnd(b, next);
  }
  cg_loop_close(c, &j);
  cg_loop_close(c, &i);
}

/* Points g at panel p of the column block starting at n0b: its first column, width (at most
 * NR, masks for the last) and its slot in bufb. */
static LLVMValueRef at_panel(Sgemm *g, LLVMValueRef n0b, LLVMValueRef p, LLVMValueRef n) {
  int64_t nr_max = 2 * g->lanes;
  g->n0 = add(g, n0b, mul(g, p, nr_max));
  LLVMValueRef nr = imin(g, LLVMBuildNSWSub(g->c->b, n, g->n0, ""), i64c(g, nr_max));
  for (int v = 0; v < 2; v++) g->mask[v] = lane_mask(g, nr, v);
  g->panel_full = LLVMBuildICmp(g->c->b, LLVMIntEQ, nr, i64c(g, nr_max), "panel.full");
  g->buf = cg_gep(g->c, g->bufb, mul(g, p, (int64_t)KC * nr_max));
  if (g->s->b_packed) /* the whole op(B) packed before the call: see cg_sgemm_packed_b_floats */
    g->buf = cg_gep(g->c, g->prepacked, add(g, add(g, mulv(g, n0b, g->k), mul(g, g->k0, NC)), mulv(g, mul(g, p, nr_max), g->kc)));
  return nr;
}

int64_t cg_sgemm_packed_b_floats(int64_t n, int64_t k) {
  /* column blocks of NC, each K x NC; the last panel's transposing pack may write up to a
   * vector's rows past its depth */
  return (n + NC - 1) / NC * NC * k + 32 * 16;
}

/* The loops of BLIS: blocks of NC columns; in each, blocks of KC in k, whose panels of op(B)
 * (NR columns each) are packed once; then blocks of MC rows, whose KC columns of op(A) are
 * packed (they stay in L2 while the panels pass); then the panels (one in L1 at a time), MR-row
 * tiles and the rows left over. A few rows of an untransposed B pack nothing and read it in
 * place. Each element of C still sums k in order. */
static void emit_body(Sgemm *g, LLVMValueRef m, LLVMValueRef n) {
  CgContext *c = g->c;
  LLVMBuilderRef b = c->b;
  int64_t nr_max = 2 * g->lanes;
  LLVMValueRef k_blocks = LLVMBuildSDiv(b, add(g, g->k, i64c(g, KC - 1)), i64c(g, KC), "kblocks");
  LLVMValueRef few_rows = g->s->tb || g->s->b_packed || g->s->bf16 ? LLVMConstInt(c->i1, 0, 0)
                          : g->s->b_in_place             ? LLVMConstInt(c->i1, 1, 0)
                                             : LLVMBuildICmp(b, LLVMIntSLT, m, i64c(g, PACK_MIN_ROWS), "few.rows");
  /* few columns against an untransposed A: packing A would cost about what the products do */
  bool may_read_a = !g->s->ta && !g->s->bf16 && !g->s->amx;
  LLVMValueRef a_direct = may_read_a ? LLVMBuildICmp(b, LLVMIntSLE, n, i64c(g, A_DIRECT_MAX_COLS), "a.direct")
                                     : LLVMConstInt(c->i1, 0, 0);
  LLVMValueRef fn = LLVMGetBasicBlockParent(LLVMGetInsertBlock(b));
  CgLoopNest nb, kb, pk, mb, panel, tile;
  nb.rank = 1, nb.lo[0] = i64c(g, 0);
  nb.hi[0] = LLVMBuildSDiv(b, add(g, n, i64c(g, NC - 1)), i64c(g, NC), "nblocks");
  cg_loop_open(c, &nb, "nblock");
  LLVMValueRef n0b = mul(g, nb.idx[0], NC);
  LLVMValueRef panels = LLVMBuildSDiv(b, add(g, imin(g, LLVMBuildNSWSub(b, n, n0b, ""), i64c(g, NC)),
                                               i64c(g, nr_max - 1)), i64c(g, nr_max), "panels");
  kb.rank = 1, kb.lo[0] = i64c(g, 0), kb.hi[0] = k_blocks;
  cg_loop_open(c, &kb, "kblock");
  g->k0 = mul(g, kb.idx[0], KC);
  g->kc = imin(g, LLVMBuildNSWSub(b, g->k, g->k0, ""), i64c(g, KC));
  g->first = g->s->accumulate ? LLVMConstInt(c->i1, 0, 0) : LLVMBuildICmp(b, LLVMIntEQ, kb.idx[0], i64c(g, 0), "first");
  LLVMBasicBlockRef pack_b = LLVMAppendBasicBlockInContext(c->ctx, fn, "pack.b");
  LLVMBasicBlockRef rows = LLVMAppendBasicBlockInContext(c->ctx, fn, "mblocks");
  LLVMBuildCondBr(b, g->s->b_packed ? LLVMConstInt(c->i1, 1, 0) : few_rows, rows, pack_b);
  LLVMPositionBuilderAtEnd(b, pack_b);
  pk.rank = 1, pk.lo[0] = i64c(g, 0), pk.hi[0] = panels;
  cg_loop_open(c, &pk, "pack.panel");
  emit_pack(g, at_panel(g, n0b, pk.idx[0], n));
  if (g->s->bf16) emit_panel_to_bf16(g);
  cg_loop_close(c, &pk);
  LLVMBuildBr(b, rows);
  LLVMPositionBuilderAtEnd(b, rows);
  mb.rank = 1, mb.lo[0] = i64c(g, 0);
  mb.hi[0] = LLVMBuildSDiv(b, add(g, m, i64c(g, MC - 1)), i64c(g, MC), "mblocks");
  cg_loop_open(c, &mb, "mblock");
  LLVMValueRef m0 = mul(g, mb.idx[0], MC);
  LLVMValueRef m1 = imin(g, add(g, m0, i64c(g, MC)), m);
  LLVMValueRef full = LLVMBuildSDiv(b, LLVMBuildNSWSub(b, m1, m0, ""), i64c(g, g->mr), "tiles");
  LLVMBasicBlockRef pack_a = LLVMAppendBasicBlockInContext(c->ctx, fn, "pack.a");
  LLVMBasicBlockRef cols = LLVMAppendBasicBlockInContext(c->ctx, fn, "panels");
  LLVMBuildCondBr(b, LLVMBuildOr(b, few_rows, a_direct, ""), cols, pack_a);
  LLVMPositionBuilderAtEnd(b, pack_a);
  emit_pack_a(g, m0, m1, full);
  LLVMBuildBr(b, cols);
  LLVMPositionBuilderAtEnd(b, cols);
  panel.rank = 1, panel.lo[0] = i64c(g, 0), panel.hi[0] = panels;
  cg_loop_open(c, &panel, "panel");
  at_panel(g, n0b, panel.idx[0], n);
  LLVMBasicBlockRef direct = LLVMAppendBasicBlockInContext(c->ctx, fn, "direct");
  LLVMBasicBlockRef pack = LLVMAppendBasicBlockInContext(c->ctx, fn, "packed");
  LLVMBasicBlockRef pack_b_only = LLVMAppendBasicBlockInContext(c->ctx, fn, "packed.b");
  LLVMBasicBlockRef joined = LLVMAppendBasicBlockInContext(c->ctx, fn, "panel.done");
  LLVMBasicBlockRef not_direct = LLVMAppendBasicBlockInContext(c->ctx, fn, "not.direct");
  LLVMBuildCondBr(b, few_rows, direct, not_direct);
  LLVMPositionBuilderAtEnd(b, not_direct);
  LLVMBuildCondBr(b, a_direct, pack_b_only, pack);
  /* variant 0: both in place (few rows); 1: both packed; 2: B packed, A in place (few columns) */
  for (int variant = 0; variant < 3; variant++) {
    bool packed = variant > 0, a_packed = variant == 1;
    LLVMPositionBuilderAtEnd(b, variant == 0 ? direct : variant == 1 ? pack : pack_b_only);
    if ((variant == 0 && g->s->bf16) || (variant == 2 && !may_read_a)) { /* never taken */
      LLVMBuildUnreachable(b);
      continue;
    }
    tile.rank = 1, tile.lo[0] = i64c(g, 0), tile.hi[0] = full;
    cg_loop_open(c, &tile, "tile");
    LLVMValueRef a_tile = a_packed ? cg_gep(c, g->bufa, mul(g, tile.idx[0], (int64_t)g->mr * KC)) : NULL;
    emit_tile(g, add(g, m0, mul(g, tile.idx[0], g->mr)), g->mr, NULL, packed, a_tile);
    cg_loop_close(c, &tile);
    /* the rows left over (fewer than MR): a tile of MR rows or of half as many, masked */
    LLVMValueRef r0 = add(g, m0, mul(g, full, g->mr)), rest = LLVMBuildNSWSub(b, m1, r0, "rest");
    LLVMValueRef last_tile = a_packed ? cg_gep(c, g->bufa, mul(g, full, (int64_t)g->mr * KC)) : NULL;
    LLVMBasicBlockRef big = LLVMAppendBasicBlockInContext(c->ctx, fn, "rest.big");
    LLVMBasicBlockRef small = LLVMAppendBasicBlockInContext(c->ctx, fn, "rest.small");
    LLVMBasicBlockRef some = LLVMAppendBasicBlockInContext(c->ctx, fn, "rest.some");
    LLVMBasicBlockRef none = LLVMAppendBasicBlockInContext(c->ctx, fn, "rest.none");
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSGT, rest, i64c(g, 0), ""), some, none);
    LLVMPositionBuilderAtEnd(b, some);
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSGT, rest, i64c(g, g->mr / 2), ""), big, small);
    LLVMPositionBuilderAtEnd(b, big);
    emit_tile(g, r0, g->mr, rest, packed, last_tile);
    LLVMBuildBr(b, none);
    LLVMPositionBuilderAtEnd(b, small);
    emit_tile(g, r0, g->mr / 2, rest, packed, last_tile);
    LLVMBuildBr(b, none);
    LLVMPositionBuilderAtEnd(b, none);
    LLVMBuildBr(b, joined);
  }
  LLVMPositionBuilderAtEnd(b, joined);
  cg_loop_close(c, &panel);
  cg_loop_close(c, &mb);
  cg_loop_close(c, &kb);
  cg_loop_close(c, &nb);
}

LLVMTypeRef cg_sgemm_type(CgContext *c) {
  LLVMTypeRef params[9] = {c->i64, c->i64, c->i64, c->i64, c->i64, c->i64, c->ptr, c->ptr, c->ptr};
  return LLVMFunctionType(c->void_t, params, 9, false);
}

LLVMValueRef cg_sgemm_function(CgContext *c, const CgSgemmShape *s, int vector_bits) {
  char name[64];
  RT_ASSERT(!s->bf16 || (vector_bits == 512 && !s->b_packed && !s->b_in_place),
            "bf16 GEMMs take 512-bit vectors and pack their own B");
  RT_ASSERT(!s->amx || s->bf16, "AMX tiles are for bf16 products");
  snprintf(name, sizeof name, "sgemm.%s%s.%s%s%s.v%d", s->ta ? "t" : "n", s->tb ? "t" : "n", s->accumulate ? "acc" : "set",
           s->b_packed ? ".prepacked" : s->b_in_place && !s->tb ? ".inplace" : "",
           s->amx ? ".amx" : s->bf16 ? ".bf16" : "", vector_bits);
  LLVMValueRef fn = LLVMGetNamedFunction(c->mod, name);
  if (fn) return fn;
  fn = LLVMAddFunction(c->mod, name, cg_sgemm_type(c));
  LLVMSetLinkage(fn, LLVMInternalLinkage);
  Sgemm g = {.c = c, .s = s, .lanes = vector_bits / 32, .mr = s->amx ? AMX_MR : vector_bits >= 512 ? 12 : 6};
  g.vec = LLVMVectorType(c->f32, (unsigned)g.lanes);
  LLVMBasicBlockRef saved = LLVMGetInsertBlock(c->b);
  LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->ctx, fn, "entry"));
  static const char *const names[9] = {"m", "n", "k", "lda", "ldb", "ldc", "a", "b", "c"};
  for (unsigned i = 0; i < 9; i++) LLVMSetValueName2(LLVMGetParam(fn, i), names[i], strlen(names[i]));
  g.k = LLVMGetParam(fn, 2), g.lda = LLVMGetParam(fn, 3), g.ldb = LLVMGetParam(fn, 4), g.ldc = LLVMGetParam(fn, 5);
  g.a = LLVMGetParam(fn, 6), g.b = LLVMGetParam(fn, 7), g.cmat = LLVMGetParam(fn, 8);
  g.prepacked = g.b;
  if (s->amx) {
    cg_amx_configure(c);
    g.stage = LLVMBuildArrayAlloca(c->b, c->f32, cg_i64(c, AMX_MR * 2 * g.lanes), "c.stage");
    LLVMSetAlignment(g.stage, 64);
  }
  if (s->bf16) {
    static const char dp[] = "llvm.x86.avx512bf16.dpbf16ps.512";
    unsigned id = LLVMLookupIntrinsicID(dp, sizeof dp - 1);
    g.bf16 = LLVMBFloatTypeInContext(c->ctx);
    g.dpbf16 = LLVMGetIntrinsicDeclaration(c->mod, id, NULL, 0);
    g.dpbf16_type = LLVMIntrinsicGetType(c->ctx, id, NULL, 0);
  }
  g.bufb = LLVMBuildArrayAlloca(c->b, c->f32, cg_i64(c, (int64_t)KC * NC), "packed.b");
  LLVMSetAlignment(g.bufb, 64);
  g.bufa = LLVMBuildArrayAlloca(c->b, c->f32, cg_i64(c, (int64_t)MC * KC), "packed.a");
  LLVMSetAlignment(g.bufa, 64);
  for (int q = 0; q < DOT_COLS; q++) g.dot_acc[q] = LLVMBuildAlloca(c->b, g.vec, "dot.acc");
  LLVMValueRef m = LLVMGetParam(fn, 0), n = LLVMGetParam(fn, 1);
  if (s->tb && !s->ta && !s->b_packed && !s->bf16) { /* few rows: dot products; packing B^T would cost more than the work */
    LLVMBasicBlockRef dots = LLVMAppendBasicBlockInContext(c->ctx, fn, "dots");
    LLVMBasicBlockRef tiles = LLVMAppendBasicBlockInContext(c->ctx, fn, "tiles");
    LLVMBuildCondBr(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, m, cg_i64(c, DOT_MAX_ROWS), "few.rows"), dots, tiles);
    LLVMPositionBuilderAtEnd(c->b, dots);
    emit_dots(&g, m, n);
    LLVMBuildRetVoid(c->b);
    LLVMPositionBuilderAtEnd(c->b, tiles);
  }
  emit_body(&g, m, n);
  if (s->amx) cg_amx_call(c, "llvm.x86.tilerelease", NULL, 0);
  LLVMBuildRetVoid(c->b);
  if (saved) LLVMPositionBuilderAtEnd(c->b, saved);
  return fn;
}

/* void (i64 n, i64 k, i64 ldb, ptr b, ptr dst): op(B) packed whole, block by block and panel by
 * panel in the order and layout at_panel reads with b_packed. */
static LLVMTypeRef pack_type(CgContext *c) {
  LLVMTypeRef params[5] = {c->i64, c->i64, c->i64, c->ptr, c->ptr};
  return LLVMFunctionType(c->void_t, params, 5, false);
}

static LLVMValueRef pack_function(CgContext *c, bool tb, int vector_bits) {
  char name[64];
  snprintf(name, sizeof name, "sgemm.pack.%s.v%d", tb ? "t" : "n", vector_bits);
  LLVMValueRef fn = LLVMGetNamedFunction(c->mod, name);
  if (fn) return fn;
  fn = LLVMAddFunction(c->mod, name, pack_type(c));
  LLVMSetLinkage(fn, LLVMInternalLinkage);
  CgSgemmShape s = {.tb = tb};
  Sgemm g = {.c = c, .s = &s, .lanes = vector_bits / 32};
  g.vec = LLVMVectorType(c->f32, (unsigned)g.lanes);
  LLVMBasicBlockRef saved = LLVMGetInsertBlock(c->b);
  LLVMBuilderRef b = c->b;
  LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(c->ctx, fn, "entry"));
  LLVMValueRef n = LLVMGetParam(fn, 0), dst = LLVMGetParam(fn, 4);
  g.k = LLVMGetParam(fn, 1), g.ldb = LLVMGetParam(fn, 2), g.b = LLVMGetParam(fn, 3);
  int64_t nr_max = 2 * g.lanes;
  CgLoopNest nb, kb, pk;
  cg_loop_range(c, &nb, i64c(&g, 0), LLVMBuildSDiv(b, add(&g, n, i64c(&g, NC - 1)), i64c(&g, NC), "nblocks"), "pack.nblock");
  LLVMValueRef n0b = mul(&g, nb.idx[0], NC);
  LLVMValueRef panels = LLVMBuildSDiv(b, add(&g, imin(&g, LLVMBuildNSWSub(b, n, n0b, ""), i64c(&g, NC)),
                                             i64c(&g, nr_max - 1)), i64c(&g, nr_max), "panels");
  cg_loop_range(c, &kb, i64c(&g, 0), LLVMBuildSDiv(b, add(&g, g.k, i64c(&g, KC - 1)), i64c(&g, KC), "kblocks"), "pack.kblock");
  g.k0 = mul(&g, kb.idx[0], KC);
  g.kc = imin(&g, LLVMBuildNSWSub(b, g.k, g.k0, ""), i64c(&g, KC));
  cg_loop_range(c, &pk, i64c(&g, 0), panels, "pack.panel");
  s.b_packed = true; /* at_panel then points buf at the panel's place in dst */
  g.prepacked = g.bufb = dst;
  emit_pack(&g, at_panel(&g, n0b, pk.idx[0], n));
  cg_loop_close(c, &pk);
  cg_loop_close(c, &kb);
  cg_loop_close(c, &nb);
  LLVMBuildRetVoid(b);
  if (saved) LLVMPositionBuilderAtEnd(b, saved);
  return fn;
}

void cg_sgemm_pack_b_call(CgContext *c, bool tb, int64_t k, int64_t ldb, int vector_bits, LLVMValueRef n, LLVMValueRef b,
                          LLVMValueRef dst) {
  LLVMValueRef args[5] = {n, cg_i64(c, k), cg_i64(c, ldb), b, dst};
  LLVMBuildCall2(c->b, pack_type(c), pack_function(c, tb, vector_bits), args, 5, "");
}

void cg_sgemm_call(CgContext *c, const CgSgemmShape *s, int vector_bits, LLVMValueRef m, LLVMValueRef n,
                   LLVMValueRef a, LLVMValueRef b, LLVMValueRef cmat) {
  LLVMValueRef args[9] = {m, n, cg_i64(c, s->k), cg_i64(c, s->lda), cg_i64(c, s->ldb), cg_i64(c, s->ldc), a, b, cmat};
  LLVMBuildCall2(c->b, cg_sgemm_type(c), cg_sgemm_function(c, s, vector_bits), args, 9, "");
}

/* OPAQUE kernels of an LSTM layer's recurrence, lstm_scan and lstm_scan_grad (what they compute:
 * ir/eval_recurrent.c). One kernel runs every time step of every direction: its work items are
 * (direction, block of batch rows), and the rows of a batch never meet in an LSTM, so an item runs
 * all T steps of its rows with no barrier between steps, and the two directions of a
 * bidirectional layer run on two threads side by side. Results do not depend on how items are
 * shared out (every row is computed the same way whatever block it is in).
 *
 * Forward, per item: W_hh_d^T packed once into the worker's workspace in our GEMM's panel
 * layout (cg_sgemm_pack_b_call; with OpenBLAS's GEMM, or blocks of fewer than four rows, W_hh_d
 * is read as stored, B^T), then per step the (rows, H) x (H, 4H) product of the previous hidden
 * states (read from the output, where the last step wrote them), and the cell as the product's
 * epilogue: gates, c and h for the block while its gate sums are in cache, written to the
 * output's slots.
 * Backward, per item and step in reverse: the cell's gradient gives the gate gradients (the
 * output), then (rows, 4H) x W_hh_d (4H, H), W_hh_d packed once likewise, gives the hidden
 * state's gradient for the step before. The weight gradient is one large matmul outside (ir/vjp_recurrent.c).
 * lstm_scan_i8 (int8 inference) runs like the forward scan on our int8 GEMM: W_hh_d (i8) packed
 * once per item (cg_igemm_pack_b_call), per step the previous hidden states quantized to bytes
 * (127 levels per unit), their exact i32 product, and the cell scaling it by w_scale_d. */
#include "codegen/cg_opaque.h"
#include "codegen/cg_ops.h"
#include "codegen/cg_igemm.h"
#include "codegen/cg_sgemm.h"

enum {
  SLOTS = 6,     /* h, c, i, f, g, o: a saved state's slots */
  MAX_ROWS = 64, /* batch rows per work item, at most (its gate block stays in L2) */
  DOT_ROWS = 4,  /* fewer rows than this take dot products against W_hh as stored, unpacked */
  ALIGN = 16,    /* floats: workers' areas start on 64-byte boundaries */
};

typedef struct Scan {
  int64_t T, B, D, H;
  int64_t rows, chunks; /* batch rows per item; items per direction */
  bool save, pack;     /* pack: W_hh packed once per item (with our GEMM, blocks of 4+ rows) */
  bool i8;             /* lstm_scan_i8: int8 recurrent weights */
  int64_t hq;          /* i8: offset (floats) of the block's quantized hidden states (bytes) */
  int64_t gates, cell, per_worker; /* offsets (floats) into a worker's area (the packed W_hh at
                                    * 0), and its size */
} Scan;

/* From the op's output: the scan's (S, T, B, D, H) or the gradient's (D, T, B, 4H). */
static Scan scan_geom(const IrNode *n, bool grad) {
  const int64_t *o = n->type.shape.dims;
  Scan s = grad ? (Scan){.T = o[1], .B = o[2], .D = o[0], .H = o[3] / 4}
                : (Scan){.T = o[1], .B = o[2], .D = o[3], .H = o[4]};
  s.rows = s.D == 2 ? s.B : (s.B + 1) / 2; /* two items either way, for two threads */
  if (s.rows > MAX_ROWS) s.rows = MAX_ROWS;
  s.chunks = (s.B + s.rows - 1) / s.rows;
  s.i8 = n->op == IR_OP_LSTM_SCAN_I8;
  s.save = !grad && !s.i8 && n->attr[0].v[0] != 0;
  s.pack = grad || s.i8 || s.rows >= DOT_ROWS;
  int64_t H = s.H, R = s.rows;
  /* W_hh packed as the products' B: forwards W_hh^T (H x 4H), backwards W_hh (4H x H) */
  int64_t packed = s.i8     ? (cg_igemm_packed_b_bytes_max(H, 4 * H) + 3) / 4
                   : s.pack ? (grad ? cg_sgemm_packed_b_floats(H, 4 * H) : cg_sgemm_packed_b_floats(4 * H, H))
                            : 0;
  s.gates = (packed + ALIGN - 1) / ALIGN * ALIGN;
  /* forwards the block's gate products (i8: i32 sums) and cells; backwards the hidden state's
   * and the cell's gradients from the step after */
  s.cell = s.gates + R * (grad ? H : 4 * H);
  s.hq = s.cell + R * H;
  s.per_worker = (s.hq + (s.i8 ? (R * H + 3) / 4 : 0) + ALIGN - 1) / ALIGN * ALIGN;
  return s;
}

static bool is_grad(const IrNode *n) { return n->op == IR_OP_LSTM_SCAN_GRAD; }

static int64_t scan_workspace(const IrGraph *g, const IrNode *n, int workers) {
  (void)g;
  return scan_geom(n, is_grad(n)).per_worker * 4 * workers;
}

static void split_items(CgKernelSpec *s, const IrGraph *g, const IrNode *n) {
  (void)g;
  Scan sc = scan_geom(n, is_grad(n));
  s->parallel_items = sc.D * sc.chunks;
  s->grain = 1;
}

/* ---- IR helpers ---- */

static LLVMValueRef k64(CgContext *c, int64_t v) { return cg_i64(c, v); }
static LLVMValueRef iadd(CgContext *c, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildNSWAdd(c->b, a, b, ""); }
static LLVMValueRef isub(CgContext *c, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildNSWSub(c->b, a, b, ""); }
static LLVMValueRef imul(CgContext *c, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildNSWMul(c->b, a, b, ""); }
static LLVMValueRef imulk(CgContext *c, LLVMValueRef a, int64_t k) { return imul(c, a, k64(c, k)); }
static LLVMValueRef fadd(CgContext *c, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFAdd(c->b, a, b, ""); }
static LLVMValueRef fsub(CgContext *c, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFSub(c->b, a, b, ""); }
static LLVMValueRef fmul(CgContext *c, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFMul(c->b, a, b, ""); }
static LLVMValueRef one_minus(CgContext *c, LLVMValueRef x) { return fsub(c, cg_f32(c, 1.0), x); }
static LLVMValueRef load(CgContext *c, LLVMValueRef p, LLVMValueRef off) {
  return LLVMBuildLoad2(c->b, c->f32, cg_gep(c, p, off), "");
}
static void store(CgContext *c, LLVMValueRef v, LLVMValueRef p, LLVMValueRef off) { LLVMBuildStore(c->b, v, cg_gep(c, p, off)); }

static void zero(CgContext *c, LLVMValueRef p, int64_t floats) {
  LLVMBuildMemSet(c->b, p, LLVMConstInt(c->i8, 0, 0), k64(c, floats * 4), 4);
}

/* The item being run: its direction, first row and number of rows. */
typedef struct Item {
  LLVMValueRef d, r0, rows;
} Item;

/* Time step of the item's s-th step: s forwards, T-1-s backwards (d = 1). */
static LLVMValueRef step_time(CgContext *c, const Scan *s, const Item *it, LLVMValueRef step) {
  LLVMValueRef back = isub(c, k64(c, s->T - 1), imulk(c, step, 2)); /* T-1-2s */
  return iadd(c, step, imul(c, it->d, back));
}

/* Index of row (t, r0 + r, d) of the state's (T, B, D, H) slots, in rows of H. */
static LLVMValueRef row_at(CgContext *c, const Scan *s, const Item *it, LLVMValueRef t, LLVMValueRef r) {
  LLVMValueRef b = iadd(c, it->r0, r);
  return iadd(c, imulk(c, iadd(c, imulk(c, t, s->B), b), s->D), it->d);
}

/* Index of row (t, r0 + r) of the direction's (T, B, 4H) gates, in rows of 4H. */
static LLVMValueRef gate_row_at(CgContext *c, const Scan *s, const Item *it, LLVMValueRef t, LLVMValueRef r) {
  return iadd(c, imulk(c, t, s->B), iadd(c, it->r0, r));
}

/* Operand `first + d` of the kernel: the item's direction's own (xproj_d, w_hh_d). */
static LLVMValueRef per_direction(CgContext *c, CgFn *f, const Opaque *o, const Item *it, int first, int stride) {
  if (o->n_in <= first + stride) return f->args[o->in[first]];
  LLVMValueRef second = LLVMBuildICmp(c->b, LLVMIntNE, it->d, k64(c, 0), "");
  return LLVMBuildSelect(c->b, second, f->args[o->in[first + stride]], f->args[o->in[first]], "");
}

/* ---- forward ---- */

/* One element of the cell from its gate pre-activations a (i, f, g, o): c = f c + i g in the
 * block's cells at at_cell, h = o tanh(c) in the output at at_out (and, saving, the slots after). */
static void emit_cell(CgContext *c, const Scan *s, LLVMValueRef *a, LLVMValueRef cell, LLVMValueRef at_cell,
                      LLVMValueRef out, LLVMValueRef at_out) {
  int64_t slot = s->T * s->B * s->D * s->H; /* floats per slot of the output */
  LLVMValueRef gi = cg_math_sigmoid(c, a[0]), gf = cg_math_sigmoid(c, a[1]);
  LLVMValueRef gg = cg_math_tanh(c, a[2]), go = cg_math_sigmoid(c, a[3]);
  LLVMValueRef cn = fadd(c, fmul(c, gf, load(c, cell, at_cell)), fmul(c, gi, gg));
  store(c, cn, cell, at_cell);
  store(c, fmul(c, go, cg_math_tanh(c, cn)), out, at_out);
  if (!s->save) return;
  LLVMValueRef saved[SLOTS] = {NULL, cn, gi, gf, gg, go};
  for (int q = 1; q < SLOTS; q++) store(c, saved[q], out, iadd(c, at_out, k64(c, q * slot)));
}

/* The (rows, H) x (H, 4H) product of the block's hidden states at t_prev (rows D*H apart in
 * the output) and W_hh^T, into the block's gate sums: fp32 on W_hh packed at ws (or read as
 * stored), or (i8) the states quantized into hq and an int8 product on W_hh packed at ws. */
static void emit_product(CgContext *c, const Scan *s, const Item *it, LLVMValueRef out, LLVMValueRef t_prev,
                         LLVMValueRef w, LLVMValueRef ws, bool packed, LLVMValueRef sums, LLVMValueRef hq) {
  int64_t H = s->H, G4 = 4 * H;
  if (!s->i8) {
    LLVMValueRef h_prev = cg_gep(c, out, imulk(c, row_at(c, s, it, t_prev, k64(c, 0)), H));
    CgSgemmShape sh = {.tb = true, .k = H, .lda = s->D * H, .ldb = H, .ldc = G4, .b_packed = packed};
    cg_emit_sgemm_shape(c, &sh, it->rows, k64(c, G4), h_prev, packed ? ws : w, sums);
    return;
  }
  CgLoopNest lq = {.rank = 2, .lo = {k64(c, 0), k64(c, 0)}, .hi = {it->rows, k64(c, H)}};
  cg_loop_open(c, &lq, "lstm.quantize"); /* h in (-1, 1): 127 levels a unit, half to even */
  LLVMValueRef h = load(c, out, iadd(c, imulk(c, row_at(c, s, it, t_prev, lq.idx[0]), H), lq.idx[1]));
  LLVMValueRef q = fmul(c, h, cg_f32(c, 127));
  q = cg_intrinsic(c, "llvm.roundeven", c->f32, 1, &q);
  q = cg_intrinsic(c, "llvm.minnum", c->f32, 2, (LLVMValueRef[]){q, cg_f32(c, 127)});
  q = cg_intrinsic(c, "llvm.maxnum", c->f32, 2, (LLVMValueRef[]){q, cg_f32(c, -127)});
  LLVMValueRef qi = LLVMBuildTrunc(c->b, LLVMBuildFPToSI(c->b, q, c->i32, ""), c->i8, "");
  LLVMValueRef at_q = iadd(c, imulk(c, lq.idx[0], H), lq.idx[1]);
  LLVMBuildStore(c->b, qi, LLVMBuildInBoundsGEP2(c->b, c->i8, hq, &at_q, 1, ""));
  cg_loop_close(c, &lq);
  CgIgemmShape sh = {.tb = true, .k = H, .lda = H, .ldb = H, .ldc = G4, .b_packed = true};
  cg_emit_igemm(c, &sh, it->rows, k64(c, G4), hq, ws, sums);
}

/* lstm_scan, and lstm_scan_i8 (whose gate sums are i32, scaled by its w_scale). */
static void emit_forward(CgContext *c, CgFn *f, const Opaque *o, const Scan *s, const Item *it, LLVMValueRef ws) {
  int64_t H = s->H, G4 = 4 * H;
  int per = s->i8 ? 3 : 2; /* operands a direction */
  LLVMValueRef x = per_direction(c, f, o, it, 0, per), w = per_direction(c, f, o, it, 1, per), out = f->args[o->out];
  LLVMValueRef scale = s->i8 ? per_direction(c, f, o, it, 2, per) : NULL;
  LLVMValueRef sums = cg_gep(c, ws, k64(c, s->gates)), cell = cg_gep(c, ws, k64(c, s->cell));
  LLVMValueRef hq = s->i8 ? cg_gep(c, ws, k64(c, s->hq)) : NULL;
  bool packed = s->i8 || (s->pack && c->own_gemm); /* OpenBLAS packs B itself, at every call */
  if (s->i8) {
    CgIgemmShape sh = {.tb = true, .k = H, .lda = H, .ldb = H, .ldc = G4, .b_packed = true};
    cg_igemm_pack_b_call(c, &sh, k64(c, G4), w, ws);
  } else if (packed) {
    cg_sgemm_pack_b_call(c, true, H, H, c->vector_bits, k64(c, G4), w, ws);
  }
  zero(c, sums, s->rows * G4); /* the first step has no product */
  zero(c, cell, s->rows * H);
  CgLoopNest steps;
  cg_loop_range(c, &steps, k64(c, 0), k64(c, s->T), "lstm.step");
  LLVMValueRef t = step_time(c, s, it, steps.idx[0]);
  LLVMBasicBlockRef done = cg_if_begin(c, LLVMBuildICmp(c->b, LLVMIntSGT, steps.idx[0], k64(c, 0), ""), "lstm.product");
  LLVMValueRef t_prev = iadd(c, isub(c, t, k64(c, 1)), imulk(c, it->d, 2));
  emit_product(c, s, it, out, t_prev, w, ws, packed, sums, hq);
  cg_if_end(c, done);
  /* the cell on the block's products, while they are in cache */
  CgLoopNest l = {.rank = 2, .lo = {k64(c, 0), k64(c, 0)}, .hi = {it->rows, k64(c, H)}};
  cg_loop_open(c, &l, "lstm.cell");
  LLVMValueRef r = l.idx[0], j = l.idx[1], row = row_at(c, s, it, t, r);
  LLVMValueRef xrow = imulk(c, gate_row_at(c, s, it, t, r), G4), grow = imulk(c, r, G4), a[4];
  for (int q = 0; q < 4; q++) {
    LLVMValueRef at = iadd(c, j, k64(c, q * H)), at_sum = iadd(c, grow, at), product;
    if (s->i8) {
      LLVMValueRef sum = LLVMBuildLoad2(c->b, c->i32, LLVMBuildInBoundsGEP2(c->b, c->i32, sums, &at_sum, 1, ""), "");
      product = fmul(c, LLVMBuildSIToFP(c->b, sum, c->f32, ""), load(c, scale, at));
    } else {
      product = load(c, sums, at_sum);
    }
    a[q] = fadd(c, load(c, x, iadd(c, xrow, at)), product);
  }
  emit_cell(c, s, a, cell, iadd(c, imulk(c, r, H), j), out, iadd(c, imulk(c, row, H), j));
  cg_loop_close(c, &l);
  cg_loop_close(c, &steps);
}

/* ---- backward ---- */

static void emit_backward(CgContext *c, CgFn *f, const Opaque *o, const Scan *s, const Item *it, LLVMValueRef ws) {
  int64_t H = s->H, G4 = 4 * H, slot = s->T * s->B * s->D * H;
  LLVMValueRef st = f->args[o->in[0]], gy = f->args[o->in[1]], w = per_direction(c, f, o, it, 2, 1);
  LLVMValueRef da = cg_gep(c, f->args[o->out], imulk(c, it->d, s->T * s->B * G4)); /* the direction's (T, B, 4H) */
  LLVMValueRef dh = cg_gep(c, ws, k64(c, s->gates)), dc = cg_gep(c, ws, k64(c, s->cell));
  bool packed = s->pack && c->own_gemm;
  if (packed) cg_sgemm_pack_b_call(c, false, G4, H, c->vector_bits, k64(c, H), w, ws);
  zero(c, dh, s->rows * H);
  zero(c, dc, s->rows * H);
  CgLoopNest steps;
  cg_loop_range(c, &steps, k64(c, 0), k64(c, s->T), "lstm.grad.step");
  LLVMValueRef step = isub(c, k64(c, s->T - 1), steps.idx[0]); /* the direction's steps in reverse */
  LLVMValueRef t = step_time(c, s, it, step);
  LLVMValueRef has_prev = LLVMBuildICmp(c->b, LLVMIntSGT, step, k64(c, 0), "has.prev");
  /* the previous step's time, clamped to t at the first step so that the load stays in bounds */
  LLVMValueRef t_prev = LLVMBuildSelect(c->b, has_prev, iadd(c, isub(c, t, k64(c, 1)), imulk(c, it->d, 2)), t, "");
  CgLoopNest l = {.rank = 2, .lo = {k64(c, 0), k64(c, 0)}, .hi = {it->rows, k64(c, H)}};
  cg_loop_open(c, &l, "lstm.grad.cell");
  LLVMValueRef r = l.idx[0], j = l.idx[1];
  LLVMValueRef at = iadd(c, imulk(c, row_at(c, s, it, t, r), H), j);
  LLVMValueRef at_prev = iadd(c, imulk(c, row_at(c, s, it, t_prev, r), H), j);
  LLVMValueRef v[SLOTS], gv[SLOTS];
  for (int q = 0; q < SLOTS; q++) {
    v[q] = load(c, st, iadd(c, at, k64(c, q * slot)));
    gv[q] = load(c, gy, iadd(c, at, k64(c, q * slot)));
  }
  LLVMValueRef c_prev = LLVMBuildSelect(c->b, has_prev, load(c, st, iadd(c, at_prev, k64(c, slot))), cg_f32(c, 0), "");
  LLVMValueRef cc = v[1], gi = v[2], gf = v[3], gg = v[4], go = v[5], tc = cg_math_tanh(c, cc);
  LLVMValueRef at_ws = iadd(c, imulk(c, r, H), j);
  LLVMValueRef dhv = fadd(c, gv[0], load(c, dh, at_ws));
  LLVMValueRef dcv = fadd(c, fadd(c, gv[1], fmul(c, fmul(c, dhv, go), one_minus(c, fmul(c, tc, tc)))), load(c, dc, at_ws));
  LLVMValueRef row = imulk(c, gate_row_at(c, s, it, t, r), G4);
  LLVMValueRef d_gate[4] = {
      fmul(c, fadd(c, gv[2], fmul(c, dcv, gg)), fmul(c, gi, one_minus(c, gi))),
      fmul(c, fadd(c, gv[3], fmul(c, dcv, c_prev)), fmul(c, gf, one_minus(c, gf))),
      fmul(c, fadd(c, gv[4], fmul(c, dcv, gi)), one_minus(c, fmul(c, gg, gg))),
      fmul(c, fadd(c, gv[5], fmul(c, dhv, tc)), fmul(c, go, one_minus(c, go))),
  };
  for (int q = 0; q < 4; q++) store(c, d_gate[q], da, iadd(c, row, iadd(c, j, k64(c, q * H))));
  store(c, fmul(c, dcv, gf), dc, at_ws);
  cg_loop_close(c, &l);
  /* the hidden state's gradient for the step before: the block's gate gradients times W_hh */
  LLVMBasicBlockRef done = cg_if_begin(c, has_prev, "lstm.grad.product");
  LLVMValueRef first = cg_gep(c, da, imulk(c, gate_row_at(c, s, it, t, k64(c, 0)), G4));
  CgSgemmShape sh = {.k = G4, .lda = G4, .ldb = H, .ldc = H, .b_packed = packed};
  cg_emit_sgemm_shape(c, &sh, it->rows, k64(c, H), first, packed ? ws : w, dh);
  cg_if_end(c, done);
  cg_loop_close(c, &steps);
}

static void emit_scan(CgContext *c, CgFn *f, const Opaque *o, const IrGraph *g, const IrNode *n, int grad) {
  (void)g;
  Scan s = scan_geom(n, grad);
  LLVMValueRef worker = LLVMBuildZExt(c->b, f->worker, c->i64, "");
  LLVMValueRef ws = cg_gep(c, f->args[o->ws], imulk(c, worker, s.per_worker));
  CgLoopNest items;
  cg_loop_range(c, &items, f->begin, f->end, "lstm.item");
  LLVMValueRef chunk = LLVMBuildSRem(c->b, items.idx[0], k64(c, s.chunks), "");
  Item it = {.d = LLVMBuildSDiv(c->b, items.idx[0], k64(c, s.chunks), "dir"), .r0 = imulk(c, chunk, s.rows)};
  LLVMValueRef left = isub(c, k64(c, s.B), it.r0);
  it.rows = LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, left, k64(c, s.rows), ""), left, k64(c, s.rows), "rows");
  if (grad)
    emit_backward(c, f, o, &s, &it, ws);
  else
    emit_forward(c, f, o, &s, &it, ws);
  cg_loop_close(c, &items);
}

const CgOpaqueOp cg_opaque_lstm_scan = {.emit = emit_scan, .split = split_items, .mode = 0, .workspace = scan_workspace};
const CgOpaqueOp cg_opaque_lstm_scan_grad = {.emit = emit_scan, .split = split_items, .mode = 1, .workspace = scan_workspace};
const CgOpaqueOp cg_opaque_lstm_scan_i8 = {.emit = emit_scan, .split = split_items, .mode = 0, .workspace = scan_workspace};

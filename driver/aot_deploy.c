/* The C API of a deployable inference object (aot.h), emitted as LLVM IR next to the step
 * function so that the object needs nothing but OpenBLAS and libm: NAME_run copies a batch of
 * images into the caller's scratch, runs the step over the weights (a 64-byte aligned constant,
 * or the caller's pointer) and copies the raw predictions out; NAME_decode turns one row of
 * predictions into UTF-8 text (CTC: collapse repeats, drop blanks; attention: stop at the end
 * token); NAME_charset is the symbol table. No global is written: calls are reentrant. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "driver/aot.h"
#include "runtime/rt_charset.h"
#include "support/rt_assert.h"

enum { ALIGN = 64, CTC_BLANK = 0, ATT_END = 1 };

int64_t aot_deploy_scratch_bytes(const AotDeploy *a) {
  return (a->io_bytes + ALIGN - 1) / ALIGN * ALIGN + a->scratch_bytes;
}

static LLVMValueRef add_global(CgContext *c, const char *name, LLVMValueRef init, bool exported, unsigned align) {
  LLVMValueRef g = LLVMAddGlobal(c->mod, LLVMTypeOf(init), name);
  LLVMSetInitializer(g, init);
  LLVMSetGlobalConstant(g, 1);
  LLVMSetLinkage(g, exported ? LLVMExternalLinkage : LLVMPrivateLinkage);
  if (align) LLVMSetAlignment(g, align);
  return g;
}

static LLVMValueRef add_function(CgContext *c, const char *prefix, const char *suffix, LLVMTypeRef ret,
                                 LLVMTypeRef *params, unsigned n) {
  char name[256];
  snprintf(name, sizeof name, "%s_%s", prefix, suffix);
  LLVMValueRef fn = LLVMAddFunction(c->mod, name, LLVMFunctionType(ret, params, n, 0));
  LLVMSetLinkage(fn, LLVMExternalLinkage);
  return fn;
}

static LLVMValueRef byte_gep(CgContext *c, LLVMValueRef p, LLVMValueRef offset) {
  return LLVMBuildGEP2(c->b, c->i8, p, &offset, 1, "");
}

static LLVMValueRef is_null(CgContext *c, LLVMValueRef p) {
  return LLVMBuildICmp(c->b, LLVMIntEQ, p, LLVMConstNull(c->ptr), "");
}

/* int NAME_run([const void *weights,] const float *images, int n, int32_t *tokens, void *scratch) */
static void emit_run(CgContext *c, LLVMValueRef step, LLVMValueRef weights, const AotDeploy *a) {
  bool external = !weights;
  LLVMTypeRef params[5] = {c->ptr, c->ptr, c->i32, c->ptr, c->ptr};
  LLVMValueRef fn = add_function(c, a->name, "run", c->i32, external ? params : params + 1, external ? 5 : 4);
  unsigned p0 = external ? 1 : 0;
  if (external) weights = LLVMGetParam(fn, 0);
  LLVMValueRef images = LLVMGetParam(fn, p0), n = LLVMGetParam(fn, p0 + 1), tokens = LLVMGetParam(fn, p0 + 2),
               scratch = LLVMGetParam(fn, p0 + 3);
  LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(c->ctx, fn, "entry"),
                    run = LLVMAppendBasicBlockInContext(c->ctx, fn, "run"),
                    bad = LLVMAppendBasicBlockInContext(c->ctx, fn, "bad_arguments");
  LLVMPositionBuilderAtEnd(c->b, entry);
  LLVMValueRef wrong = LLVMBuildOr(c->b, is_null(c, images), is_null(c, tokens), "");
  wrong = LLVMBuildOr(c->b, wrong, is_null(c, scratch), "");
  if (external) wrong = LLVMBuildOr(c->b, wrong, is_null(c, weights), "");
  wrong = LLVMBuildOr(c->b, wrong, LLVMBuildICmp(c->b, LLVMIntSLT, n, cg_i32(c, 0), ""), "");
  wrong = LLVMBuildOr(c->b, wrong, LLVMBuildICmp(c->b, LLVMIntSGT, n, cg_i32(c, a->batch), ""), "");
  LLVMBuildCondBr(c->b, wrong, bad, run);

  LLVMPositionBuilderAtEnd(c->b, run);
  int64_t image_bytes = (int64_t)a->channels * a->height * a->width * 4, row_bytes = (int64_t)a->tokens * 4;
  LLVMValueRef rows = LLVMBuildZExt(c->b, n, c->i64, "rows");
  LLVMValueRef in_bytes = LLVMBuildMul(c->b, rows, cg_i64(c, image_bytes), "");
  LLVMValueRef image = byte_gep(c, scratch, cg_i64(c, a->image_offset));
  LLVMBuildMemCpy(c->b, image, 4, images, 4, in_bytes);
  /* rows past n: zeros (mid grey); rows are independent at inference, so they change nothing */
  LLVMValueRef rest = LLVMBuildSub(c->b, cg_i64(c, a->batch * image_bytes), in_bytes, "");
  LLVMBuildMemSet(c->b, byte_gep(c, image, in_bytes), LLVMConstInt(c->i8, 0, 0), rest, 4);
  int64_t io_aligned = (a->io_bytes + ALIGN - 1) / ALIGN * ALIGN;
  LLVMValueRef args[3] = {weights, scratch, byte_gep(c, scratch, cg_i64(c, io_aligned))};
  LLVMBuildCall2(c->b, LLVMGlobalGetValueType(step), step, args, 3, "");
  LLVMBuildMemCpy(c->b, tokens, 4, byte_gep(c, scratch, cg_i64(c, a->pred_offset)), 4,
                  LLVMBuildMul(c->b, rows, cg_i64(c, row_bytes), ""));
  LLVMBuildRet(c->b, cg_i32(c, 0));
  LLVMPositionBuilderAtEnd(c->b, bad);
  LLVMBuildRet(c->b, cg_i32(c, -1));
}

/* int NAME_decode(const int32_t *tokens, char *text, size_t size): the text of one row; returns its
 * byte length (like snprintf: whole symbols that fit are written, always NUL-terminated when
 * size > 0), or -1 for a NULL row. */
static void emit_decode(CgContext *c, LLVMValueRef charset, LLVMValueRef offsets, int symbols, const AotDeploy *a) {
  LLVMTypeRef params[3] = {c->ptr, c->ptr, c->i64};
  LLVMValueRef fn = add_function(c, a->name, "decode", c->i32, params, 3);
  LLVMValueRef tokens = LLVMGetParam(fn, 0), text = LLVMGetParam(fn, 1), size = LLVMGetParam(fn, 2);
  const char *names[] = {"entry", "head", "body", "symbol", "copy", "latch", "done", "terminate", "exit", "bad"};
  LLVMBasicBlockRef bb[10];
  for (int i = 0; i < 10; i++) bb[i] = LLVMAppendBasicBlockInContext(c->ctx, fn, names[i]);
  enum { ENTRY, HEAD, BODY, SYMBOL, COPY, LATCH, DONE, TERMINATE, EXIT, BAD };
  LLVMPositionBuilderAtEnd(c->b, bb[ENTRY]);
  LLVMBuildCondBr(c->b, is_null(c, tokens), bb[BAD], bb[HEAD]);

  /* head: t, the previous id (CTC), the text's length, and the bytes written so far */
  LLVMPositionBuilderAtEnd(c->b, bb[HEAD]);
  LLVMValueRef t = LLVMBuildPhi(c->b, c->i64, "t"), prev = LLVMBuildPhi(c->b, c->i32, "prev");
  LLVMValueRef len = LLVMBuildPhi(c->b, c->i64, "len"), w = LLVMBuildPhi(c->b, c->i64, "written");
  LLVMBuildCondBr(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, t, cg_i64(c, a->tokens), ""), bb[BODY], bb[DONE]);

  LLVMPositionBuilderAtEnd(c->b, bb[BODY]);
  LLVMValueRef id = LLVMBuildLoad2(c->b, c->i32, LLVMBuildGEP2(c->b, c->i32, tokens, &t, 1, ""), "id");
  if (a->ctc) LLVMBuildBr(c->b, bb[SYMBOL]);
  else LLVMBuildCondBr(c->b, LLVMBuildICmp(c->b, LLVMIntEQ, id, cg_i32(c, ATT_END), ""), bb[DONE], bb[SYMBOL]);

  /* symbol: CTC merges repeats and drops blanks (Graves et al. 2006, best path); ids that are not
   * symbols (attention's go token) are skipped */
  LLVMPositionBuilderAtEnd(c->b, bb[SYMBOL]);
  LLVMValueRef sym = LLVMBuildSub(c->b, id, cg_i32(c, a->ctc ? 1 : 2), "sym");
  LLVMValueRef valid = LLVMBuildICmp(c->b, LLVMIntULT, sym, cg_i32(c, symbols), "");
  if (a->ctc) valid = LLVMBuildAnd(c->b, valid, LLVMBuildICmp(c->b, LLVMIntNE, id, prev, ""), "");
  LLVMValueRef k = LLVMBuildZExt(c->b, LLVMBuildSelect(c->b, valid, sym, cg_i32(c, 0), ""), c->i64, "");
  LLVMValueRef k1 = LLVMBuildAdd(c->b, k, cg_i64(c, 1), "");
  LLVMValueRef start = LLVMBuildLoad2(c->b, c->i32, LLVMBuildGEP2(c->b, c->i32, offsets, &k, 1, ""), "start");
  LLVMValueRef end = LLVMBuildLoad2(c->b, c->i32, LLVMBuildGEP2(c->b, c->i32, offsets, &k1, 1, ""), "end");
  LLVMValueRef blen = LLVMBuildZExt(c->b, LLVMBuildSub(c->b, end, start, ""), c->i64, "");
  blen = LLVMBuildSelect(c->b, valid, blen, cg_i64(c, 0), "bytes");
  LLVMValueRef len1 = LLVMBuildAdd(c->b, len, blen, "len1"), w_plus = LLVMBuildAdd(c->b, w, blen, "");
  /* only a prefix of whole symbols is written: nothing after the first symbol that did not fit */
  LLVMValueRef fits = LLVMBuildAnd(c->b, LLVMBuildICmp(c->b, LLVMIntEQ, w, len, ""),
                                   LLVMBuildICmp(c->b, LLVMIntULT, len1, size, ""), "");
  fits = LLVMBuildAnd(c->b, fits, LLVMBuildNot(c->b, is_null(c, text), ""), "");
  LLVMBuildCondBr(c->b, LLVMBuildAnd(c->b, fits, valid, ""), bb[COPY], bb[LATCH]);

  LLVMPositionBuilderAtEnd(c->b, bb[COPY]);
  LLVMValueRef from = byte_gep(c, charset, LLVMBuildZExt(c->b, start, c->i64, ""));
  LLVMBuildMemCpy(c->b, byte_gep(c, text, w), 1, from, 1, blen);
  LLVMBuildBr(c->b, bb[LATCH]);

  LLVMPositionBuilderAtEnd(c->b, bb[LATCH]);
  LLVMValueRef w1 = LLVMBuildPhi(c->b, c->i64, "written1");
  LLVMValueRef w1_in[2] = {w, w_plus};
  LLVMBasicBlockRef w1_from[2] = {bb[SYMBOL], bb[COPY]};
  LLVMAddIncoming(w1, w1_in, w1_from, 2);
  LLVMValueRef t1 = LLVMBuildAdd(c->b, t, cg_i64(c, 1), "t1");
  LLVMBuildBr(c->b, bb[HEAD]);
  LLVMValueRef t_in[2] = {cg_i64(c, 0), t1}, prev_in[2] = {cg_i32(c, a->ctc ? CTC_BLANK : -1), id};
  LLVMValueRef len_in[2] = {cg_i64(c, 0), len1}, w_in[2] = {cg_i64(c, 0), w1};
  LLVMBasicBlockRef head_from[2] = {bb[ENTRY], bb[LATCH]};
  LLVMAddIncoming(t, t_in, head_from, 2);
  LLVMAddIncoming(prev, prev_in, head_from, 2);
  LLVMAddIncoming(len, len_in, head_from, 2);
  LLVMAddIncoming(w, w_in, head_from, 2);

  LLVMPositionBuilderAtEnd(c->b, bb[DONE]);
  LLVMValueRef len_d = LLVMBuildPhi(c->b, c->i64, "length"), w_d = LLVMBuildPhi(c->b, c->i64, "end");
  LLVMValueRef d_len[2] = {len, len}, d_w[2] = {w, w};
  LLVMBasicBlockRef d_from[2] = {bb[HEAD], bb[BODY]};
  LLVMAddIncoming(len_d, d_len, d_from, a->ctc ? 1 : 2);
  LLVMAddIncoming(w_d, d_w, d_from, a->ctc ? 1 : 2);
  LLVMValueRef has = LLVMBuildAnd(c->b, LLVMBuildNot(c->b, is_null(c, text), ""),
                                  LLVMBuildICmp(c->b, LLVMIntNE, size, cg_i64(c, 0), ""), "");
  LLVMBuildCondBr(c->b, has, bb[TERMINATE], bb[EXIT]);
  LLVMPositionBuilderAtEnd(c->b, bb[TERMINATE]);
  LLVMBuildStore(c->b, LLVMConstInt(c->i8, 0, 0), byte_gep(c, text, w_d));
  LLVMBuildBr(c->b, bb[EXIT]);
  LLVMPositionBuilderAtEnd(c->b, bb[EXIT]);
  LLVMBuildRet(c->b, LLVMBuildTrunc(c->b, len_d, c->i32, ""));
  LLVMPositionBuilderAtEnd(c->b, bb[BAD]);
  LLVMBuildRet(c->b, cg_i32(c, -1));
}

void aot_deploy_emit(CgContext *c, const char *step_name, const AotDeploy *a) {
  LLVMValueRef step = LLVMGetNamedFunction(c->mod, step_name);
  RT_ASSERT(step, "no step function %s in the module", step_name);
  LLVMSetLinkage(step, LLVMInternalLinkage);
  char name[256];
  /* the profile's kernel-name table is for the runtime's profiler: not part of a deployed object */
  snprintf(name, sizeof name, "%s_kernels", step_name);
  LLVMValueRef g = LLVMGetNamedGlobal(c->mod, name);
  if (g) LLVMDeleteGlobal(g);
  snprintf(name, sizeof name, "%s_kernel_count", step_name);
  if ((g = LLVMGetNamedGlobal(c->mod, name))) LLVMDeleteGlobal(g);

  LLVMValueRef weights = NULL;
  if (a->weights) {
    LLVMValueRef init = LLVMConstStringInContext(c->ctx, a->weights, (unsigned)a->weights_bytes, 1);
    weights = add_global(c, "weights", init, false, ALIGN);
  }
  size_t n = strlen(a->charset);
  snprintf(name, sizeof name, "%s_charset", a->name);
  LLVMValueRef charset = add_global(c, name, LLVMConstStringInContext(c->ctx, a->charset, (unsigned)n, 0), true, 0);
  /* offsets[i] .. offsets[i + 1]: the bytes of symbol i */
  LLVMValueRef *offs = rt_xmalloc((n + 2) * sizeof *offs);
  int symbols = 0;
  for (size_t i = 0;;) {
    offs[symbols] = cg_i32(c, (int)i);
    uint32_t cp;
    int len = i < n ? rt_utf8_decode(a->charset + i, n - i, &cp) : 0;
    if (len <= 0) break;
    i += (size_t)len;
    symbols++;
  }
  LLVMValueRef offsets = add_global(c, "symbol_offsets", LLVMConstArray2(c->i32, offs, (uint64_t)symbols + 1), false, 4);
  free(offs);
  emit_run(c, step, weights, a);
  emit_decode(c, charset, offsets, symbols, a);
}

/* ---- the header ---- */

char *aot_deploy_header(const AotDeploy *a, size_t *size) {
  char *text = NULL;
  FILE *f = open_memstream(&text, size);
  RT_ASSERT(f, "open_memstream failed");
  const char *N = a->name;
  char up[256];
  size_t k = 0;
  for (; N[k] && k + 1 < sizeof up; k++) up[k] = (char)(N[k] >= 'a' && N[k] <= 'z' ? N[k] - 32 : N[k]);
  up[k] = 0;
  int64_t text_bytes = (int64_t)a->tokens * 4 + 1;
  bool ext = !a->weights;
  fprintf(f,
          "/* %s.h: a text recognition model compiled by smelt; link it with %s.o:\n"
          " *     cc app.c %s.o%s -lm\n"
          "%s"
          " *\n"
          " * Input: images of %s_CHANNELS x %s_HEIGHT x %s_WIDTH floats, row-major, one after\n"
          " * the other, up to %s_BATCH per call. A pixel is grayscale in [0, 255] (from RGB:\n"
          " * Y = 0.299 R + 0.587 G + 0.114 B, alpha composited over white), then x = pixel / 255,\n"
          " * then (x - 0.5) / 0.5, so in [-1, 1]. Images of another size are first resized as in\n"
          " * training (smelt's runtime/rt_image.h): scaled to the height keeping the aspect ratio and\n"
          " * placed at the left, the rest filled with the background (the median of the image's border\n"
          " * pixels); a wider image is squeezed to the width (up to 2x), beyond that squeezed 2x and\n"
          " * scaled down as a whole, centred vertically; area averaging when shrinking, bilinear when\n"
          " * enlarging. examples/deploy/preprocess.h in smelt's sources does all of this.\n"
          " *\n"
          " * Output: %s_TOKENS raw class ids per image; %s_decode turns a row into UTF-8 text.\n"
          " *   %s\n"
          " *\n"
          " * Memory: the caller owns all mutable memory. %s_run works in a scratch buffer of\n"
          " * %s_SCRATCH_BYTES bytes (64-byte alignment recommended: aligned_alloc(64, ...)); its\n"
          " * contents need not be kept between calls. %s\n"
          " * Threads: no global state is written; threads may call %s_run at the same time, each\n"
          " * with its own scratch and about 600 KiB of its own stack (the matrix products' packing\n"
          " * buffers); the code starts no threads.%s */\n"
          "#ifndef %s_H\n#define %s_H\n\n#include <stddef.h>\n#include <stdint.h>\n\n"
          "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n",
          N, N, N, a->openblas ? " -lopenblas" : "", a->about, up, up, up, up, up, N,
          a->ctc ? "CTC head: id 0 is the blank, id i + 1 is symbol i; decoding merges repeated ids,\n"
                   " *   then drops blanks."
                 : "attention head: id 1 ends the text (every later id is also 1), id i + 2 is symbol i\n"
                   " *   (id 0, the start token, is never a symbol).",
          N, up,
          ext ? "The weights are read-only and the caller's\n"
                " * too: load the .weights file written beside the object (64-byte aligned is best)."
              : "The weights are constant data in the object.",
          N, a->openblas ? "\n * OpenBLAS may start threads for large matrix products: set OPENBLAS_NUM_THREADS=1\n"
                           " * when your program runs one model per thread."
                         : "",
          up, up);
  fprintf(f, "#define %s_BATCH %d          /* images per %s_run call (at most) */\n", up, a->batch, N);
  fprintf(f, "#define %s_CHANNELS %d\n#define %s_HEIGHT %d\n#define %s_WIDTH %d\n", up, a->channels, up, a->height,
          up, a->width);
  fprintf(f, "#define %s_TOKENS %d         /* class ids per image (%s) */\n", up, a->tokens,
          a->ctc ? "CTC time steps" : "longest text + end token");
  fprintf(f, "#define %s_SCRATCH_BYTES %" PRId64 "\n", up, aot_deploy_scratch_bytes(a));
  fprintf(f, "#define %s_TEXT_BYTES %" PRId64 "     /* enough for any decoded row and its NUL */\n", up, text_bytes);
  if (ext) fprintf(f, "#define %s_WEIGHTS_BYTES %" PRId64 "  /* size of the .weights file */\n", up, a->weights_bytes);
  fprintf(f, "#define %s_CHARSET ", up);
  aot_c_string(f, a->charset, strlen(a->charset));
  fprintf(f, "\n\n/* The symbols in id order, UTF-8, NUL-terminated (the same text as %s_CHARSET). */\n"
             "extern const char %s_charset[];\n\n", up, N);
  fprintf(f,
          "/* Recognises n images (0 <= n <= %s_BATCH) of `images` (n x %s_CHANNELS x %s_HEIGHT x\n"
          " * %s_WIDTH floats) and writes n x %s_TOKENS ids to `tokens`. Returns 0, or -1 (nothing\n"
          " * done) for a NULL pointer or n out of range. */\n"
          "int %s_run(%sconst float *images, int n, int32_t *tokens, void *scratch);\n\n",
          up, up, up, up, up, N, ext ? "const void *weights, " : "");
  fprintf(f,
          "/* Writes the text of one row of %s_TOKENS ids into text[0..size) as UTF-8, NUL-terminated\n"
          " * (when size > 0); only whole symbols are written. Returns the text's full length in bytes\n"
          " * (like snprintf: a result >= size means it was cut; %s_TEXT_BYTES always suffices), or -1\n"
          " * for a NULL row. text may be NULL with size 0 to measure. */\n"
          "int %s_decode(const int32_t *tokens, char *text, size_t size);\n\n"
          "#ifdef __cplusplus\n}\n#endif\n\n#endif\n",
          up, up, N);
  fclose(f);
  return text;
}

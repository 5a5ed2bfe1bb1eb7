/* Internal to codegen/: Winograd convolution F(m x m, 3 x 3) (Lavin & Gray 2016) for 3x3
 * stride-1 convolutions, the three ops of one (codegen/cg_gemm.c picks it per kernel).
 *
 * An output tile of m x m is A^T [U (.) V] A, where U = G g G^T is the transformed 3x3 filter
 * and V = B^T d B the transformed (m + 2) x (m + 2) input tile: (m + 2)^2 products per tile
 * instead of 9 m^2. Over channels the products are GEMMs, one per point xi of the tile:
 *   M[xi] (oc x tiles) = U[xi] (oc x ic) @ V[xi]^T      V[xi]: (tiles x ic)
 * The input gradient is the same correlation of the output gradient with the filter flipped and
 * its channel axes swapped (padding 2 - p). The filter gradient runs it backwards:
 *   dU[xi] (oc x ic) = sum over tiles Z[xi] @ V[xi], Z = A dy A^T, and dg = G^T dU G.
 * Images are processed in groups whose tiles together make at most 128 GEMM columns and whose
 * V and M take at most 8 MiB (at least one image; the filter gradient, which sums over a group's
 * columns into dU, only the column bound); the group size divides the batch, so every
 * group is whole and results do not depend on thread counts.
 *
 * Workspace (floats): U (or dU), (m + 2)^2 * oc * ic, shared by the workers; then per worker
 * V, the rows of M (or Z) of its part of the output channels, a zero-padded copy of one input
 * image (rows x columns x ic, channels innermost so
 * that the input transform runs along them), and a staging area for outputs (forward) or output
 * gradients (filter gradient) whose size is not a multiple of m.
 *
 * Accuracy: F(2,3) transforms multiply by 0, +-1 and 1/2 only; its results differ from im2col's
 * by rounding in a different order (docs/architecture.md gives the bound measured on the presets'
 * shapes). F(4,3) (m = 4) is implemented and tested but not the default: its transforms scale by
 * up to 8 and 1/24, and its error grows with them. */
#ifndef SMELT_CG_WINOGRAD_H
#define SMELT_CG_WINOGRAD_H

#include <stdbool.h>
#include <stdint.h>

#include "codegen/cg_context.h"
#include "codegen/cg_conv.h"

typedef enum CgWinoKind { CG_WINO_FORWARD, CG_WINO_GRAD_INPUT, CG_WINO_GRAD_FILTER } CgWinoKind;

typedef struct CgWinograd {
  CgWinoKind kind;
  int m, alpha; /* output tile side, input tile side (m + 2) */
  /* the correlation, as a forward convolution of in (n, ic, ih, iw) into out (n, oc, oh, ow)
   * with top / left padding pt, pl (the input gradient's: 2 - the convolution's) */
  int64_t n, ic, ih, iw, oc, oh, ow, pt, pl;
  int64_t th, tw, tiles; /* tile rows and columns of an image, and their product */
  int64_t group, groups; /* images per group (a divisor of n), groups */
  int64_t ochunk, ochunks; /* output channels per part of a group, parts: a lone group (batch 1)
                            * is split in two by output channels so that two threads share it */
  int64_t ph, pw;        /* the padded input copy: th * m + 2 rows, tw * m + 2 columns */
  bool staged;           /* oh or ow is not a multiple of m */
  /* workspace offsets and sizes in floats */
  int64_t u_elems, v_off, mm_off, pad_off, stage_off, worker_elems;
} CgWinograd;

/* The default tile (F(2,3)); 0 turns Winograd off. */
enum { CG_WINO_DEFAULT_M = 2 };

/* Fills w for the convolution cv computing `kind` with output tiles of m (2 or 4); false when
 * Winograd does not apply (not 3x3, stride or dilation not 1, padding beyond 2) or does not pay
 * (fewer than 16 channels on either side). */
bool cg_winograd_plan(CgWinograd *w, const CgConvGeom *cv, CgWinoKind kind, int m);

/* The workspace, in floats, for `workers` workers. */
int64_t cg_winograd_workspace_elems(const CgWinograd *w, int workers);

/* The prologue of the forward and input-gradient kernels: U[xi][o][i] for o in [o_lo, o_hi)
 * from the filter (O, C, 3, 3) as stored. */
void cg_winograd_emit_filter(CgContext *c, const CgWinograd *w, LLVMValueRef filter, LLVMValueRef ws,
                             LLVMValueRef o_lo, LLVMValueRef o_hi);

/* Output channels [o0, o1) of one group of images of the forward or input-gradient kernel:
 * out[group * w->group + j] for every j, from in and the U written by the prologue. */
void cg_winograd_emit_group(CgContext *c, const CgWinograd *w, LLVMValueRef in, LLVMValueRef out, LLVMValueRef ws,
                            LLVMValueRef worker, LLVMValueRef group, LLVMValueRef o0, LLVMValueRef o1);

/* Rows [o0, o1) of the filter gradient dw (O, C, 3, 3) from the whole batch of x and gy. */
void cg_winograd_emit_grad_filter(CgContext *c, const CgWinograd *w, LLVMValueRef x, LLVMValueRef gy,
                                  LLVMValueRef dw, LLVMValueRef ws, LLVMValueRef worker, LLVMValueRef o0,
                                  LLVMValueRef o1);

#endif

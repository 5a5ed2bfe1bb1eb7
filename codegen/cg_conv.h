/* Internal to codegen/: the geometry of a 2-D convolution as its GEMM kernels see it, whichever
 * of the three ops (conv2d, conv2d_grad_input, conv2d_grad_filter) the kernel computes. */
#ifndef SMELT_CG_CONV_H
#define SMELT_CG_CONV_H

#include <stdint.h>

typedef struct CgConvGeom {
  int64_t n, c, h, w;     /* images, input channels, input rows and columns */
  int64_t o, kh, kw;      /* output channels, filter rows and columns */
  int64_t oh, ow;         /* output rows and columns */
  int64_t sh, sw, pt, pl; /* strides, top and left zero padding */
  int64_t dh, dw;         /* dilations */
} CgConvGeom;

#endif

/* The host machine as LLVM sees it: LLVM version, target triple, CPU name and features. Codegen
 * compiles for this CPU by default; `smelt version` prints it. */
#ifndef SMELT_CG_HOST_H
#define SMELT_CG_HOST_H

#include <stdbool.h>
#include <stddef.h>

typedef struct CgHostInfo {
  unsigned llvm_major, llvm_minor, llvm_patch;
  char triple[128];
  char cpu[64];       /* e.g. "skylake-avx512" */
  char features[4096]; /* LLVM's feature string: "+avx512f,-amx-tile,..." */
} CgHostInfo;

void cg_host_info(CgHostInfo *info);

/* The enabled SIMD features among those that matter for our kernels (sse4.2 ... avx512*, fma),
 * space-separated, in LLVM's spelling; returns buf. */
char *cg_host_simd_features(const CgHostInfo *info, char *buf, size_t size);

/* Whether the host has the feature `name` in LLVM's spelling ("avx512bf16"); whether "+name" is
 * in an LLVM feature string. */
bool cg_host_has_feature(const CgHostInfo *info, const char *name);
bool cg_features_have(const char *features, const char *name);

/* Widest vector register the host has, in bits (128, 256 or 512). */
int cg_host_vector_bits(const CgHostInfo *info);

#endif

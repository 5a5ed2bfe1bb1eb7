/* Which kernels OpenBLAS runs on this machine, and whether they waste the CPU. OpenBLAS picks
 * its kernels when the library loads, from a table of CPUs it knows; on a CPU newer than the
 * build (or one a hypervisor names generically) it falls back to its SSE3 "Prescott" kernels,
 * which run convolution GEMMs several times slower than the CPU allows. The choice can only be
 * made before the library loads (OPENBLAS_CORETYPE), so smelt reports it and, when its GEMMs
 * use OpenBLAS (SMELT_GEMM=openblas), says what to set. */
#ifndef SMELT_RUNTIME_RT_BLAS_H
#define SMELT_RUNTIME_RT_BLAS_H

#include <stdbool.h>
#include <stdio.h>

/* Whether compiled GEMMs call OpenBLAS: $SMELT_GEMM is "openblas". Otherwise (unset, "" or
 * "smelt") they are smelt's own kernels; any other value is warned about on stderr, once. */
bool rt_gemm_openblas(void);

/* OpenBLAS's name for the kernels it runs ("Haswell", "SkylakeX", "Prescott", ...). */
const char *rt_blas_core(void);

/* The OPENBLAS_CORETYPE worth setting, or NULL when there is nothing to advise: `core` is a
 * kernel set older than AVX2 + FMA while the CPU has them (`avx2_fma`, `avx512`: AVX-512 F,
 * BW, DQ and VL), and the user has not chosen a core (`env_coretype` NULL or empty). */
const char *rt_blas_advice(const char *core, bool avx2_fma, bool avx512, const char *env_coretype);

/* rt_blas_advice for this process and machine when its GEMMs go to OpenBLAS (rt_gemm_openblas;
 * smelt's own kernels, the default, do not depend on OpenBLAS's choice); NULL otherwise. */
const char *rt_blas_advice_here(void);

/* Prints a warning to `out` when rt_blas_advice_here() has advice; false when it printed none. */
bool rt_blas_warn(FILE *out);

#endif

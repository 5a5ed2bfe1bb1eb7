/* OpenBLAS's kernel choice and the advice when it falls back to kernels older than the CPU
 * (see rt_blas.h). Only reads: the choice is the library's, made when it loaded. */
#include "runtime/rt_blas.h"

#include <stdlib.h>
#include <string.h>

/* libopenblas (Debian's pthread build); declared here so the runtime needs no cblas.h */
char *openblas_get_corename(void);

/* OpenBLAS x86-64 kernel sets without AVX2 + FMA: its fallbacks for CPUs it does not know. */
static const char *const PRE_AVX2[] = {"Prescott", "Core2",  "Penryn",    "Dunnington", "Nehalem",
                                       "Atom",     "Sandybridge", "Bulldozer", "Piledriver", "Opteron",
                                       "Opteron_SSE3", "Barcelona", "Bobcat",  "Katmai",     "Coppermine",
                                       "Northwood", "Banias",  "Athlon"};

bool rt_gemm_openblas(void) {
  const char *gemm = getenv("SMELT_GEMM");
  if (!gemm || !*gemm || !strcmp(gemm, "smelt")) return false;
  if (!strcmp(gemm, "openblas")) return true;
  static bool warned;
  if (!warned) fprintf(stderr, "smelt: warning: SMELT_GEMM=%s is neither 'smelt' nor 'openblas'; using smelt's own GEMM\n", gemm);
  warned = true;
  return false;
}

const char *rt_blas_core(void) {
  const char *name = openblas_get_corename();
  return name ? name : "unknown";
}

static bool pre_avx2(const char *core) {
  for (size_t i = 0; i < sizeof PRE_AVX2 / sizeof *PRE_AVX2; i++)
    if (!strcmp(core, PRE_AVX2[i])) return true;
  return false;
}

const char *rt_blas_advice(const char *core, bool avx2_fma, bool avx512, const char *env_coretype) {
  if (env_coretype && *env_coretype) return NULL; /* the user's (or the machine's) choice */
  if (!core || !avx2_fma || !pre_avx2(core)) return NULL;
  return avx512 ? "SkylakeX" : "Haswell";
}

const char *rt_blas_advice_here(void) {
  if (!rt_gemm_openblas()) return NULL;
  __builtin_cpu_init();
  bool avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  return rt_blas_advice(rt_blas_core(), avx2_fma, avx512, getenv("OPENBLAS_CORETYPE"));
}

bool rt_blas_warn(FILE *out) {
  const char *advice = rt_blas_advice_here();
  if (!advice) return false;
  fprintf(out,
          "warning: OpenBLAS runs its generic '%s' kernels on this CPU, which has %s: it does not "
          "recognise the CPU, and convolutions run several times slower than they could. Set "
          "OPENBLAS_CORETYPE=%s before starting smelt (docs/train.md, \"Speed\").\n",
          rt_blas_core(), !strcmp(advice, "SkylakeX") ? "AVX-512" : "AVX2 and FMA", advice);
  return true;
}

/* `smelt version`: smelt's version, the LLVM it was built with, and the host CPU and SIMD
 * features LLVM detects (what compiled kernels will be specialised for). */
#include <stdio.h>

#include <llvm/Config/llvm-config.h>

#include "codegen/cg_host.h"
#include "driver/drv_pipeline.h"
#include "runtime/rt_blas.h"
#include "tools/cli.h"
#include "tools/commands.h"

static const char USAGE[] =
    "usage: smelt version\n"
    "\n"
    "Prints smelt's version, the LLVM version it was built with, the host CPU name\n"
    "and the SIMD features LLVM detects on it.\n";

int cmd_version(int argc, char **argv) {
  static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
  int c;
  while ((c = cli_getopt(argc, argv, "h", opts, USAGE)) != -1) {
    if (c == 'h') {
      fputs(USAGE, stdout);
      return CLI_EXIT_OK;
    }
    return CLI_EXIT_USAGE;
  }
  if (optind < argc) return cli_usage_error(USAGE, "unexpected argument '%s'", argv[optind]);
  CgHostInfo host;
  cg_host_info(&host);
  char simd[512];
  printf("smelt %s\n", SMELT_VERSION);
  printf("llvm %u.%u.%u (built against %s)\n", host.llvm_major, host.llvm_minor,
         host.llvm_patch, LLVM_VERSION_STRING);
  printf("target %s\n", host.triple);
  printf("host cpu %s (%d-bit vectors)\n", host.cpu, cg_host_vector_bits(&host));
  printf("simd %s\n", cg_host_simd_features(&host, simd, sizeof simd));
  printf("gemm %s\n", rt_gemm_openblas() ? "openblas (SMELT_GEMM=openblas)"
                                          : "smelt's own kernels (SMELT_GEMM=openblas: OpenBLAS's)");
  int wino = drv_conv_winograd_m(false);
  if (wino)
    printf("conv 3x3 stride 1: winograd F(%d,3) (SMELT_CONV=im2col: im2col)\n", wino);
  else
    printf("conv 3x3 stride 1: im2col (SMELT_CONV=im2col)\n");
  const char *advice = rt_blas_advice_here();
  printf("blas openblas core %s%s%s%s\n", rt_blas_core(), advice ? " (generic; set OPENBLAS_CORETYPE=" : "",
         advice ? advice : "", advice ? ")" : "");
  return CLI_EXIT_OK;
}

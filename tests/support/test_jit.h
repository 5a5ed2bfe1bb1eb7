/* Compiling a test's hand-built LLVM module for this machine and loading it into a JIT, for the
 * codegen tests that emit one kernel and call it (test_codegen_sgemm, test_codegen_igemm). */
#ifndef SMELT_TEST_JIT_H
#define SMELT_TEST_JIT_H

#include "codegen/cg_context.h"
#include "codegen/cg_jit.h"

/* c's module compiled for the host (O3) and loaded into a new JIT; a failure fails the test. The
 * caller still owns c; free the JIT with cg_jit_free. */
CgJit *test_jit_module(CgContext *c);

#endif

/* From a filled LLVM module to machine code: the target machine (the host, or a named CPU for
 * `--cpu`), the O3 pipeline, and emission of object files (for the JIT, the cache and the AOT
 * paths, which all share one object) and of assembly (for inspection and tests).
 * LLVM errors become RtDiags here (cg_diag_llvm_error); nothing in this file aborts on them. */
#ifndef SMELT_CG_TARGET_H
#define SMELT_CG_TARGET_H

#include <llvm-c/Error.h>
#include <llvm-c/TargetMachine.h>
#include <stdbool.h>
#include <stddef.h>

#include "support/rt_diag.h"

typedef struct CgTarget {
  LLVMTargetMachineRef tm; /* owned */
  char triple[128];        /* the default (host) triple, e.g. "x86_64-pc-linux-gnu" */
  char cpu[64];            /* LLVM's CPU name, e.g. "rocketlake" or "x86-64-v3" */
  char *features;          /* owned; the host's detected features, or "" for a named CPU,
                            * which means that CPU's default features */
  bool host;               /* compiled for exactly this machine */
  int vector_bits;         /* widest vectors the code generator uses for this CPU: 128/256/512 */
  char description[512];   /* one line for logs: "rocketlake (host), 512-bit vectors: avx2 ..." */
} CgTarget;

/* Registers the native target, its asm printer and asm parser with LLVM, once; thread-safe. */
bool cg_target_init(RtDiags *d);

/* A target machine with the default codegen opt level (O2: the IR is optimised at O3 before),
 * PIC, default code model. cpu NULL, "" or
 * "native": the host CPU with its detected features; otherwise an LLVM CPU name such as
 * "x86-64-v3" or "skylake-avx512" with that CPU's default features. An unknown name is a
 * diagnostic (with a suggestion) and NULL. Free with cg_target_free. Creating a target for a
 * named CPU briefly redirects stderr (see cg_target.c); do it at start-up. */
CgTarget *cg_target_new(const char *cpu, RtDiags *d);
void cg_target_free(CgTarget *t);

/* Sets m's triple and data layout to tm's. cg_optimize and the emitters do it too. */
void cg_target_configure_module(LLVMModuleRef m, LLVMTargetMachineRef tm);

/* Verifies m (the verifier's message becomes a diagnostic), then runs `default<O3>` with loop
 * vectorisation and SLP vectorisation on, interleaving and unrolling off (they multiply code
 * size and compile time for little gain on our memory-bound loops). Functions that do not say
 * otherwise get "prefer-vector-width"="512": LLVM's tuning for Intel AVX-512 CPUs caps loop
 * vectorisation at 256 bits, and we want the full width (the attribute is a cap, harmless on
 * CPUs with narrower vectors). */
bool cg_optimize(LLVMModuleRef m, LLVMTargetMachineRef tm, RtDiags *d);

/* Emits m as an ELF object into *data (malloc'ed, caller frees) of *len bytes. Code generation
 * runs LLVM's codegen IR passes, which rewrite m in place: print the IR for a cache key before
 * emitting. */
bool cg_emit_object(LLVMModuleRef m, LLVMTargetMachineRef tm, void **data, size_t *len,
                    RtDiags *d);
/* Emits m as assembly text; returns a malloc'ed NUL-terminated string (caller frees) or NULL. */
char *cg_emit_assembly(LLVMModuleRef m, LLVMTargetMachineRef tm, RtDiags *d);

/* The one place an LLVMErrorRef becomes a diagnostic: "what: message", then the error and its
 * message are disposed. err must be a failure (non-NULL). */
void cg_diag_llvm_error(RtDiags *d, const char *what, LLVMErrorRef err);

#endif

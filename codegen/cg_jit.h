/* In-process execution of our object files with ORC LLJIT. Objects come from cg_emit_object (or
 * the cache), so the JIT runs exactly the code the AOT paths link. Generated code can reach only
 * its own definitions and the externals of cg_symbols.c: a call to anything else fails at lookup
 * with a diagnostic naming the missing symbol, whatever the host binary happens to link. One
 * thread at a time per CgJit. */
#ifndef SMELT_CG_JIT_H
#define SMELT_CG_JIT_H

#include <stdbool.h>
#include <stddef.h>

#include "support/rt_diag.h"

typedef struct CgJit CgJit;

/* A JIT for the host with every cg_extern_symbols() row defined. NULL (with a diagnostic) on
 * failure. */
CgJit *cg_jit_new(RtDiags *d);
/* Adds an ELF object (copied; the caller keeps obj). Its symbols are linked lazily, at the first
 * lookup that needs them; a malformed object or a duplicate definition fails here. */
bool cg_jit_add_object(CgJit *j, const void *obj, size_t len, RtDiags *d);
/* The address of `name` (unmangled C name), linking what it needs first; NULL with a diagnostic
 * when it or anything it calls is undefined. Valid until cg_jit_free. */
void *cg_jit_lookup(CgJit *j, const char *name, RtDiags *d);
/* Frees the JIT and all code it linked. NULL is fine. */
void cg_jit_free(CgJit *j);

/* Drops libLLVM's machine code from the process's resident set (madvise MADV_DONTNEED on its
 * executable mappings, which no one writes; its relocated read-only data is left alone, since
 * the file would not give it back): once a program is loaded,
 * its steps run no LLVM code, yet the pages the compiler touched (about 60 MiB) would stay
 * counted in the resident set for the rest of a run. They are read back from the page cache if
 * LLVM runs again. Returns the bytes advised (0 when libLLVM's mappings were not found). */
size_t cg_jit_release_compiler_pages(void);

#endif

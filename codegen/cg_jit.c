/* ORC LLJIT through the C API. LLJIT's main JITDylib resolves unknown names against the whole
 * host process (LLVM 17+ links it to a "<Process Symbols>" JITDylib by default, and the C API
 * cannot turn that off), so our objects go into a bare JITDylib of our own, "smelt", which
 * contains the cg_symbols.c table as absolute symbols and nothing else. Lookups search only it.
 * Link errors that ORC reports to the session (e.g. "Symbols not found: [ foo ]") are collected
 * and handed out as diagnostics by the lookup that caused them. */
#include "codegen/cg_jit.h"

#include <dlfcn.h>
#include <sys/mman.h>

#include <llvm-c/Core.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/cg_symbols.h"
#include "codegen/cg_target.h"
#include "support/rt_assert.h"

struct CgJit {
  LLVMOrcLLJITRef jit;
  LLVMOrcExecutionSessionRef es; /* owned by jit */
  LLVMOrcJITDylibRef jd;         /* owned by es: our objects + the extern table */
  pthread_mutex_t mu;            /* ORC may report session errors from its own threads */
  char **errors;                 /* session errors not yet reported, malloc'ed */
  int n_errors, cap_errors;
};

static void report_session_error(void *ctx, LLVMErrorRef err) {
  CgJit *j = ctx;
  char *msg = LLVMGetErrorMessage(err);
  pthread_mutex_lock(&j->mu);
  if (j->n_errors == j->cap_errors) {
    j->cap_errors = j->cap_errors ? 2 * j->cap_errors : 4;
    j->errors = rt_xrealloc(j->errors, (size_t)j->cap_errors * sizeof *j->errors);
  }
  j->errors[j->n_errors++] = rt_xstrdup(msg ? msg : "(no message)");
  pthread_mutex_unlock(&j->mu);
  LLVMDisposeErrorMessage(msg);
}

/* Moves collected session errors into d, naming the lookup that triggered them. */
static void flush_session_errors(CgJit *j, const char *name, RtDiagLevel level, RtDiags *d) {
  pthread_mutex_lock(&j->mu);
  for (int i = 0; i < j->n_errors; i++) {
    const char *msg = j->errors[i];
    bool missing = strstr(msg, "Symbols not found") != NULL;
    rt_diag_add(d, level, NULL, 0, 0, "JIT: linking '%s': %s%s", name, msg,
                missing ? " (generated code may call only the externals registered in "
                          "codegen/cg_symbols.c)"
                        : "");
    free(j->errors[i]);
  }
  j->n_errors = 0;
  pthread_mutex_unlock(&j->mu);
}

static bool define_externs(CgJit *j, RtDiags *d) {
  int n;
  const CgExternSymbol *s = cg_extern_symbols(&n);
  LLVMOrcCSymbolMapPair *pairs = rt_xcalloc((size_t)n, sizeof *pairs);
  for (int i = 0; i < n; i++) {
    pairs[i].Name = LLVMOrcLLJITMangleAndIntern(j->jit, s[i].name);
    pairs[i].Sym.Address = (LLVMOrcExecutorAddress)(uintptr_t)s[i].address;
    pairs[i].Sym.Flags.GenericFlags = LLVMJITSymbolGenericFlagsExported | LLVMJITSymbolGenericFlagsCallable;
  }
  /* takes over the names; on failure of Define we still own the unit */
  LLVMOrcMaterializationUnitRef mu = LLVMOrcAbsoluteSymbols(pairs, (size_t)n);
  free(pairs);
  LLVMErrorRef err = LLVMOrcJITDylibDefine(j->jd, mu);
  if (err) {
    LLVMOrcDisposeMaterializationUnit(mu);
    cg_diag_llvm_error(d, "JIT: cannot define the external symbols", err);
    return false;
  }
  return true;
}

CgJit *cg_jit_new(RtDiags *d) {
  if (!cg_target_init(d)) return NULL;
  CgJit *j = rt_xcalloc(1, sizeof *j);
  pthread_mutex_init(&j->mu, NULL);
  LLVMErrorRef err = LLVMOrcCreateLLJIT(&j->jit, NULL); /* default builder: the host */
  if (err) {
    j->jit = NULL;
    cg_diag_llvm_error(d, "JIT: cannot create an LLJIT", err);
    goto fail;
  }
  j->es = LLVMOrcLLJITGetExecutionSession(j->jit);
  LLVMOrcExecutionSessionSetErrorReporter(j->es, report_session_error, j);
  j->jd = LLVMOrcExecutionSessionCreateBareJITDylib(j->es, "smelt");
  if (!define_externs(j, d)) goto fail;
  return j;

fail:
  cg_jit_free(j);
  return NULL;
}

bool cg_jit_add_object(CgJit *j, const void *obj, size_t len, RtDiags *d) {
  LLVMMemoryBufferRef buf = LLVMCreateMemoryBufferWithMemoryRangeCopy(obj, len, "smelt-object");
  LLVMErrorRef err = LLVMOrcLLJITAddObjectFile(j->jit, j->jd, buf); /* takes buf */
  if (err) {
    cg_diag_llvm_error(d, "JIT: cannot add object", err);
    return false;
  }
  return true;
}

/* The lookup is asynchronous in the C API; this is where its answer lands. */
typedef struct LookupResult {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool done;
  LLVMOrcExecutorAddress addr;
  char *error; /* malloc'ed */
} LookupResult;

static void lookup_done(LLVMErrorRef err, LLVMOrcCSymbolMapPairs result, size_t n, void *ctx) {
  LookupResult *r = ctx;
  pthread_mutex_lock(&r->mu);
  if (err) {
    char *msg = LLVMGetErrorMessage(err);
    r->error = rt_xstrdup(msg ? msg : "(no message)");
    LLVMDisposeErrorMessage(msg);
  } else if (n >= 1) {
    r->addr = result[0].Sym.Address;
  }
  r->done = true;
  pthread_cond_signal(&r->cv);
  pthread_mutex_unlock(&r->mu);
}

void *cg_jit_lookup(CgJit *j, const char *name, RtDiags *d) {
  LookupResult r = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
  LLVMOrcCJITDylibSearchOrderElement order = {j->jd, LLVMOrcJITDylibLookupFlagsMatchAllSymbols};
  LLVMOrcCLookupSetElement sym = {LLVMOrcLLJITMangleAndIntern(j->jit, name),
                                  LLVMOrcSymbolLookupFlagsRequiredSymbol}; /* name taken over */
  LLVMOrcExecutionSessionLookup(j->es, LLVMOrcLookupKindStatic, &order, 1, &sym, 1, lookup_done, &r);
  pthread_mutex_lock(&r.mu);
  while (!r.done) pthread_cond_wait(&r.cv, &r.mu);
  pthread_mutex_unlock(&r.mu);
  pthread_mutex_destroy(&r.mu);
  pthread_cond_destroy(&r.cv);

  bool failed = r.error || !r.addr;
  flush_session_errors(j, name, failed ? RT_DIAG_ERROR : RT_DIAG_WARNING, d);
  if (failed) {
    rt_diag_error(d, NULL, 0, 0, "JIT: lookup of '%s' failed: %s", name,
                  r.error ? r.error : "address 0");
    free(r.error);
    return NULL;
  }
  return (void *)(uintptr_t)r.addr;
}

void cg_jit_free(CgJit *j) {
  if (!j) return;
  if (j->jit) {
    LLVMErrorRef err = LLVMOrcDisposeLLJIT(j->jit);
    if (err) {
      char *msg = LLVMGetErrorMessage(err);
      fprintf(stderr, "smelt: warning: JIT teardown: %s\n", msg ? msg : "(no message)");
      LLVMDisposeErrorMessage(msg);
    }
  }
  for (int i = 0; i < j->n_errors; i++) free(j->errors[i]);
  free(j->errors);
  pthread_mutex_destroy(&j->mu);
  free(j);
}

size_t cg_jit_release_compiler_pages(void) {
  Dl_info info;
  char llvm[4096], line[4096 + 128];
  if (!dladdr((void *)LLVMContextCreate, &info) || !info.dli_fname || !realpath(info.dli_fname, llvm)) return 0;
  FILE *smaps = fopen("/proc/self/smaps", "r");
  if (!smaps) return 0;
  size_t advised = 0;
  unsigned long lo = 0, hi = 0;
  bool candidate = false; /* the mapping whose fields are being read is libLLVM's code */
  while (fgets(line, sizeof line, smaps)) {
    unsigned long a, b;
    char perms[8];
    int path_at = 0;
    if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &a, &b, perms, &path_at) == 3 && path_at) {
      char *path = line + path_at;
      path[strcspn(path, "\n")] = 0;
      lo = a, hi = b;
      candidate = !strcmp(path, llvm) && !strcmp(perms, "r-xp");
      continue;
    }
    /* only code that is still the file's (no private copy: text is never relocated in a PIC
     * library, but a page the loader wrote would not come back from the file) */
    unsigned long dirty_kib;
    if (candidate && sscanf(line, "Private_Dirty: %lu kB", &dirty_kib) == 1) {
      if (dirty_kib == 0 && madvise((void *)lo, hi - lo, MADV_DONTNEED) == 0) advised += hi - lo;
      candidate = false;
    }
  }
  fclose(smaps);
  return advised;
}

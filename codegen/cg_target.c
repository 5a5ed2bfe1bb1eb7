/* Target machine, O3 pipeline and object/assembly emission through the LLVM-C API (LLVM 19).
 * Every LLVM call that can fail reports through cg_diag_llvm_error / cg_diag_llvm_message and
 * releases what it made on a single `cleanup` path. */
#include "codegen/cg_target.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/ErrorHandling.h>
#include <llvm-c/Target.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codegen/cg_context.h"
#include "codegen/cg_host.h"
#include "support/rt_assert.h"
#include "support/rt_suggest.h"

void cg_diag_llvm_error(RtDiags *d, const char *what, LLVMErrorRef err) {
  char *msg = LLVMGetErrorMessage(err); /* consumes err */
  rt_diag_error(d, NULL, 0, 0, "%s: %s", what, msg ? msg : "(no message)");
  LLVMDisposeErrorMessage(msg);
}

/* ---- initialisation ---- */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static bool init_ok;
static char named_cpu[64]; /* the last CPU named by a caller, for the fatal error's message */

/* LLVM's fatal errors (e.g. "64-bit code requested on a subtarget that doesn't support it!" for a
 * 32-bit CPU such as i686, which the C API cannot tell apart beforehand) end the process: say
 * what failed and exit with 1 rather than abort. Nothing is lost: every such error so far comes
 * from compiling, before any training. */
static void on_llvm_fatal(const char *reason) {
  fflush(stdout);
  fprintf(stderr, "error: LLVM failed%s%s%s: %s\n", named_cpu[0] ? " compiling for CPU '" : "", named_cpu,
          named_cpu[0] ? "'" : "", reason);
  if (strstr(reason, "64-bit code requested"))
    fprintf(stderr, "note: smelt compiles x86-64 code; '%s' is a 32-bit CPU (try x86-64, x86-64-v3 or native)\n",
            named_cpu);
  fflush(stderr);
  _exit(1);
}

static void init_native(void) {
  /* the static inline wrappers of llvm-c/Target.h expand to LLVMInitializeX86Target* on x86 */
  init_ok = !LLVMInitializeNativeTarget() && !LLVMInitializeNativeAsmPrinter() &&
            !LLVMInitializeNativeAsmParser();
  LLVMInstallFatalErrorHandler(on_llvm_fatal);
}

bool cg_target_init(RtDiags *d) {
  pthread_once(&init_once, init_native);
  if (!init_ok) rt_diag_error(d, NULL, 0, 0, "LLVM has no native target for this machine");
  return init_ok;
}

/* ---- target machines ---- */

/* For "did you mean" only: LLVM accepts many more names, and validation is LLVM's own. */
static const char *const COMMON_CPUS[] = {
    "native",      "x86-64",         "x86-64-v2",      "x86-64-v3",      "x86-64-v4",
    "haswell",     "broadwell",      "skylake",        "skylake-avx512", "cascadelake",
    "cooperlake",  "icelake-client", "icelake-server", "tigerlake",      "rocketlake",
    "alderlake",   "sapphirerapids", "znver2",         "znver3",         "znver4"};

/* LLVM reports an unknown CPU name only by printing "'x' is not a recognized processor for this
 * target (ignoring processor)" to stderr while it builds the subtarget, then carries on with a
 * generic CPU; the C API cannot list or check CPU names. So a named CPU's target machine is made
 * with fd 2 pointed at a temporary file, and the warning is looked for there (anything else LLVM
 * printed is passed on to the real stderr). */
static LLVMTargetMachineRef create_named_tm(LLVMTargetRef target, const char *triple,
                                            const char *cpu, bool *known) {
  *known = true;
  FILE *tmp = tmpfile();
  int saved = tmp ? dup(2) : -1;
  if (saved < 0) { /* cannot capture: trust the name */
    if (tmp) fclose(tmp);
    return LLVMCreateTargetMachine(target, triple, cpu, "", LLVMCodeGenLevelDefault,
                                   LLVMRelocPIC, LLVMCodeModelDefault);
  }
  fflush(stderr);
  dup2(fileno(tmp), 2);
  LLVMTargetMachineRef tm = LLVMCreateTargetMachine(target, triple, cpu, "",
                                                    LLVMCodeGenLevelDefault, LLVMRelocPIC,
                                                    LLVMCodeModelDefault);
  dup2(saved, 2);
  close(saved);
  char buf[4096];
  rewind(tmp);
  size_t got = fread(buf, 1, sizeof buf - 1, tmp);
  buf[got] = 0;
  fclose(tmp);
  if (strstr(buf, "is not a recognized processor")) *known = false;
  else if (got) fputs(buf, stderr);
  return tm;
}

/* Widest vectors the code generator uses on tm's CPU. The C API cannot tell which features a
 * named CPU has by default, so we compile `*p = *p + *p` on <16 x float> allowing 512-bit
 * vectors and look at the registers in the assembly. */
static int probe_vector_bits(LLVMTargetMachineRef tm) {
  LLVMContextRef ctx = LLVMContextCreate();
  LLVMModuleRef m = LLVMModuleCreateWithNameInContext("probe", ctx);
  LLVMBuilderRef b = LLVMCreateBuilderInContext(ctx);
  LLVMTypeRef ptr = LLVMPointerTypeInContext(ctx, 0);
  LLVMTypeRef vec = LLVMVectorType(LLVMFloatTypeInContext(ctx), 16);
  LLVMValueRef fn = LLVMAddFunction(m, "probe", LLVMFunctionType(LLVMVoidTypeInContext(ctx), &ptr, 1, 0));
  LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                          LLVMCreateStringAttribute(ctx, "prefer-vector-width", 19, "512", 3));
  LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                          LLVMCreateStringAttribute(ctx, "min-legal-vector-width", 22, "512", 3));
  LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(ctx, fn, "entry"));
  LLVMValueRef v = LLVMBuildLoad2(b, vec, LLVMGetParam(fn, 0), "v");
  LLVMBuildStore(b, LLVMBuildFAdd(b, v, v, "sum"), LLVMGetParam(fn, 0));
  LLVMBuildRetVoid(b);
  LLVMDisposeBuilder(b);

  RtDiags ignored = {0};
  int bits = 128;
  char *text = cg_emit_assembly(m, tm, &ignored);
  if (text && strstr(text, "%zmm")) bits = 512;
  else if (text && strstr(text, "%ymm")) bits = 256;
  free(text);
  rt_diags_free(&ignored);
  LLVMDisposeModule(m);
  LLVMContextDispose(ctx);
  return bits;
}

static void copy_message(char *dst, size_t size, char *msg) {
  snprintf(dst, size, "%s", msg ? msg : "");
  LLVMDisposeMessage(msg);
}

static void describe(CgTarget *t) {
  int n = snprintf(t->description, sizeof t->description, "%s (%s), %d-bit vectors", t->cpu,
                   t->host ? "host" : "default features", t->vector_bits);
  if (t->host && n > 0 && (size_t)n < sizeof t->description) {
    CgHostInfo info = {0};
    snprintf(info.features, sizeof info.features, "%s", t->features);
    char simd[256];
    cg_host_simd_features(&info, simd, sizeof simd);
    if (simd[0]) snprintf(t->description + n, sizeof t->description - (size_t)n, ": %s", simd);
  }
}

CgTarget *cg_target_new(const char *cpu, RtDiags *d) {
  if (!cg_target_init(d)) return NULL;
  bool host = !cpu || !cpu[0] || !strcmp(cpu, "native");
  CgTarget *t = rt_xcalloc(1, sizeof *t);
  t->host = host;
  char *err = NULL;
  LLVMTargetRef target = NULL;
  copy_message(t->triple, sizeof t->triple, LLVMGetDefaultTargetTriple());
  if (LLVMGetTargetFromTriple(t->triple, &target, &err)) {
    cg_diag_llvm_message(d, "LLVM target lookup failed", err);
    goto fail;
  }
  if (host) {
    copy_message(t->cpu, sizeof t->cpu, LLVMGetHostCPUName());
    char *features = LLVMGetHostCPUFeatures();
    t->features = rt_xstrdup(features ? features : "");
    LLVMDisposeMessage(features);
    t->tm = LLVMCreateTargetMachine(target, t->triple, t->cpu, t->features,
                                    LLVMCodeGenLevelDefault, LLVMRelocPIC, LLVMCodeModelDefault);
  } else {
    snprintf(t->cpu, sizeof t->cpu, "%s", cpu);
    snprintf(named_cpu, sizeof named_cpu, "%s", cpu);
    t->features = rt_xstrdup("");
    bool known;
    t->tm = create_named_tm(target, t->triple, cpu, &known);
    if (!known) {
      const char *hint = rt_suggest(cpu, COMMON_CPUS, (int)(sizeof COMMON_CPUS / sizeof *COMMON_CPUS));
      rt_diag_error(d, NULL, 0, 0, "unknown CPU '%s' for %s%s%s%s", cpu, t->triple,
                    hint ? "; did you mean '" : " (e.g. x86-64-v3, skylake-avx512, native)",
                    hint ? hint : "", hint ? "'?" : "");
      goto fail;
    }
  }
  if (!t->tm) {
    rt_diag_error(d, NULL, 0, 0, "LLVM could not create a target machine for %s / %s", t->triple,
                  t->cpu);
    goto fail;
  }
  t->vector_bits = probe_vector_bits(t->tm);
  describe(t);
  return t;

fail:
  cg_target_free(t);
  return NULL;
}

void cg_target_free(CgTarget *t) {
  if (!t) return;
  if (t->tm) LLVMDisposeTargetMachine(t->tm);
  free(t->features);
  free(t);
}

/* ---- optimisation ---- */

void cg_target_configure_module(LLVMModuleRef m, LLVMTargetMachineRef tm) {
  char *triple = LLVMGetTargetMachineTriple(tm);
  LLVMSetTarget(m, triple);
  LLVMDisposeMessage(triple);
  LLVMTargetDataRef layout = LLVMCreateTargetDataLayout(tm);
  char *text = LLVMCopyStringRepOfTargetData(layout);
  LLVMSetDataLayout(m, text);
  LLVMDisposeMessage(text);
  LLVMDisposeTargetData(layout);
}

/* "prefer-vector-width"="512" on every defined function that has no such attribute. */
static void prefer_wide_vectors(LLVMModuleRef m) {
  static const char key[] = "prefer-vector-width";
  LLVMContextRef ctx = LLVMGetModuleContext(m);
  for (LLVMValueRef f = LLVMGetFirstFunction(m); f; f = LLVMGetNextFunction(f)) {
    if (LLVMIsDeclaration(f)) continue;
    if (LLVMGetStringAttributeAtIndex(f, LLVMAttributeFunctionIndex, key, sizeof key - 1)) continue;
    LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex,
                            LLVMCreateStringAttribute(ctx, key, sizeof key - 1, "512", 3));
  }
}

bool cg_optimize(LLVMModuleRef m, LLVMTargetMachineRef tm, RtDiags *d) {
  bool ok = false;
  char *msg = NULL;
  LLVMPassBuilderOptionsRef opts = NULL;
  if (LLVMVerifyModule(m, LLVMReturnStatusAction, &msg)) {
    cg_diag_llvm_message(d, "invalid LLVM module (a codegen bug)", msg);
    msg = NULL;
    goto cleanup;
  }
  cg_target_configure_module(m, tm);
  prefer_wide_vectors(m);
  opts = LLVMCreatePassBuilderOptions();
  LLVMPassBuilderOptionsSetLoopVectorization(opts, 1);
  LLVMPassBuilderOptionsSetSLPVectorization(opts, 1);
  /* no interleaving or unrolling of vectorised loops: our kernels are memory-bound loops or
   * library calls, and both multiply code size; with them, the small preset's training step
   * took 18 s to compile instead of 2 s */
  LLVMPassBuilderOptionsSetLoopInterleaving(opts, 0);
  LLVMPassBuilderOptionsSetLoopUnrolling(opts, 0);
  LLVMErrorRef err = LLVMRunPasses(m, "default<O3>", tm, opts);
  if (err) {
    cg_diag_llvm_error(d, "LLVM optimisation failed", err);
    goto cleanup;
  }
  ok = true;
cleanup:
  if (msg) LLVMDisposeMessage(msg);
  if (opts) LLVMDisposePassBuilderOptions(opts);
  return ok;
}

/* ---- emission ---- */

static LLVMMemoryBufferRef emit(LLVMModuleRef m, LLVMTargetMachineRef tm, LLVMCodeGenFileType kind,
                                RtDiags *d) {
  char *err = NULL;
  LLVMMemoryBufferRef buf = NULL;
  cg_target_configure_module(m, tm);
  if (LLVMTargetMachineEmitToMemoryBuffer(tm, m, kind, &err, &buf)) {
    cg_diag_llvm_message(d, kind == LLVMObjectFile ? "LLVM object emission failed"
                                                   : "LLVM assembly emission failed", err);
    return NULL;
  }
  if (err) LLVMDisposeMessage(err);
  return buf;
}

bool cg_emit_object(LLVMModuleRef m, LLVMTargetMachineRef tm, void **data, size_t *len,
                    RtDiags *d) {
  *data = NULL;
  *len = 0;
  LLVMMemoryBufferRef buf = emit(m, tm, LLVMObjectFile, d);
  if (!buf) return false;
  *len = LLVMGetBufferSize(buf);
  *data = rt_xmalloc(*len ? *len : 1);
  memcpy(*data, LLVMGetBufferStart(buf), *len);
  LLVMDisposeMemoryBuffer(buf);
  return true;
}

char *cg_emit_assembly(LLVMModuleRef m, LLVMTargetMachineRef tm, RtDiags *d) {
  LLVMMemoryBufferRef buf = emit(m, tm, LLVMAssemblyFile, d);
  if (!buf) return NULL;
  size_t len = LLVMGetBufferSize(buf);
  char *text = rt_xmalloc(len + 1);
  memcpy(text, LLVMGetBufferStart(buf), len);
  text[len] = 0;
  LLVMDisposeMemoryBuffer(buf);
  return text;
}

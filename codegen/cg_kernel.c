/* Kernel specs (arguments and code keys) and the kernel function frame shared by every kind. */
#include "codegen/cg_kernel.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/cg_opaque.h"
#include "codegen/cg_winograd.h"
#include "support/rt_assert.h"

int cg_spec_arg(CgKernelSpec *s, IrId value, int64_t offset, bool written) {
  for (int i = 0; i < s->n_args; i++)
    if (s->args[i].value == value && s->args[i].offset == offset && value != IR_NONE) {
      s->args[i].written |= written;
      return i;
    }
  RT_ASSERT(s->n_args < CG_MAX_ARGS, "kernel %d needs more than %d pointer arguments", s->index, CG_MAX_ARGS);
  s->args[s->n_args] = (CgArg){value, offset, written};
  return s->n_args++;
}

void cg_spec_key(CgKernelSpec *s, const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  RT_ASSERT(n >= 0 && n < (int)sizeof buf, "key fragment too long");
  if (s->key_len + (size_t)n + 1 > s->key_cap) {
    s->key_cap = (s->key_cap + (size_t)n + 1) * 2;
    s->key = rt_xrealloc(s->key, s->key_cap);
  }
  memcpy(s->key + s->key_len, buf, (size_t)n + 1);
  s->key_len += (size_t)n;
}

int64_t cg_kernel_workspace_bytes(const IrGraph *g, const PassKernel *k, int workers, void *user) {
  switch (k->kind) {
  case PASS_KERNEL_GEMM: return cg_gemm_workspace_bytes(g, k, workers, user);
  case PASS_KERNEL_OPAQUE: return cg_opaque_workspace_bytes(g, g->nodes[k->ops[0]], workers);
  default: return 0;
  }
}

void cg_spec_free(CgKernelSpec *s) {
  free(s->key);
  if (s->detail) s->release(s->detail);
  s->key = NULL;
  s->detail = NULL;
}

CgKernelOptions cg_kernel_options(const PassPlan *p) {
  if (p && p->user) return *(const CgKernelOptions *)p->user;
  return (CgKernelOptions){.winograd_m = CG_WINO_DEFAULT_M};
}

void cg_fn_begin(CgContext *c, CgFn *f, const CgKernelSpec *s, const char *name) {
  LLVMTypeRef params[CG_MAX_ARGS + 3];
  for (int i = 0; i < s->n_args; i++) params[i] = c->ptr;
  params[s->n_args] = c->i64;
  params[s->n_args + 1] = c->i64;
  params[s->n_args + 2] = c->i32;
  LLVMTypeRef fty = LLVMFunctionType(c->void_t, params, (unsigned)s->n_args + 3, 0);
  f->fn = LLVMAddFunction(c->mod, name, fty);
  LLVMSetLinkage(f->fn, LLVMInternalLinkage);
  unsigned noalias = LLVMGetEnumAttributeKindForName("noalias", 7);
  unsigned nocapture = LLVMGetEnumAttributeKindForName("nocapture", 9);
  for (int i = 0; i < s->n_args; i++) {
    f->args[i] = LLVMGetParam(f->fn, (unsigned)i);
    char nm[32];
    snprintf(nm, sizeof nm, "a%d", i);
    LLVMSetValueName2(f->args[i], nm, strlen(nm));
    LLVMAddAttributeAtIndex(f->fn, (unsigned)i + 1, LLVMCreateEnumAttribute(c->ctx, noalias, 0));
    LLVMAddAttributeAtIndex(f->fn, (unsigned)i + 1, LLVMCreateEnumAttribute(c->ctx, nocapture, 0));
  }
  f->begin = LLVMGetParam(f->fn, (unsigned)s->n_args);
  f->end = LLVMGetParam(f->fn, (unsigned)s->n_args + 1);
  f->worker = LLVMGetParam(f->fn, (unsigned)s->n_args + 2);
  LLVMSetValueName2(f->begin, "begin", 5);
  LLVMSetValueName2(f->end, "end", 3);
  LLVMSetValueName2(f->worker, "worker", 6);
  LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->ctx, f->fn, "entry"));
}

void cg_fn_end(CgContext *c, CgFn *f) { LLVMBuildRetVoid(c->b); }

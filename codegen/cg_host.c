/* Host CPU detection through the LLVM-C API. */
#include "codegen/cg_host.h"

#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>
#include <stdio.h>
#include <string.h>

static void copy_llvm_string(char *dst, size_t size, char *src) {
  snprintf(dst, size, "%s", src ? src : "");
  LLVMDisposeMessage(src);
}

void cg_host_info(CgHostInfo *info) {
  memset(info, 0, sizeof *info);
  LLVMGetVersion(&info->llvm_major, &info->llvm_minor, &info->llvm_patch);
  copy_llvm_string(info->triple, sizeof info->triple, LLVMGetDefaultTargetTriple());
  copy_llvm_string(info->cpu, sizeof info->cpu, LLVMGetHostCPUName());
  copy_llvm_string(info->features, sizeof info->features, LLVMGetHostCPUFeatures());
}

/* true when "+name" is an entry of the comma-separated feature string */
static int has_feature(const char *features, const char *name);

bool cg_host_has_feature(const CgHostInfo *info, const char *name) { return has_feature(info->features, name); }
bool cg_features_have(const char *features, const char *name) { return has_feature(features, name); }

static int has_feature(const char *features, const char *name) {
  size_t n = strlen(name);
  for (const char *p = features; (p = strstr(p, name)); p += n) {
    if (p > features && p[-1] == '+' && (p[n] == ',' || p[n] == 0)) return 1;
  }
  return 0;
}

static const char *const SIMD_FEATURES[] = {
    "sse4.2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512dq", "avx512cd", "avx512bw",
    "avx512vl", "avx512vnni", "avx512bf16", "avx512fp16", "amx-tile", "neon", "sve"};

char *cg_host_simd_features(const CgHostInfo *info, char *buf, size_t size) {
  size_t used = 0;
  buf[0] = 0;
  for (size_t i = 0; i < sizeof SIMD_FEATURES / sizeof *SIMD_FEATURES; i++) {
    if (!has_feature(info->features, SIMD_FEATURES[i])) continue;
    int w = snprintf(buf + used, size - used, "%s%s", used ? " " : "", SIMD_FEATURES[i]);
    if (w < 0 || (size_t)w >= size - used) break;
    used += (size_t)w;
  }
  return buf;
}

int cg_host_vector_bits(const CgHostInfo *info) {
  if (has_feature(info->features, "avx512f")) return 512;
  if (has_feature(info->features, "avx")) return 256;
  return 128;
}

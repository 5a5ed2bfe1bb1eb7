/* libFuzzer target for the safetensors reader (runtime/rt_safetensors.h): any bytes must end in
 * a validated file or in diagnostics, with no crash, leak or sanitizer report. An accepted file
 * must also be self-consistent (tensors tile the data section, lookups find every name) and
 * survive a round trip through the writer unchanged. Built only with -DSMELT_FUZZ=ON and clang;
 * seed corpus: tests/fuzz/corpus/safetensors (scripts/fuzz_corpus.py). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/rt_safetensors.h"
#include "support/rt_assert.h"

/* Same tensors (names, dtypes, shapes, bytes) and metadata in a and b. */
static void check_same(const RtStFile *a, const RtStFile *b) {
  RT_ASSERT(rt_st_count(a) == rt_st_count(b), "tensor count changed in a round trip");
  RT_ASSERT(rt_st_meta_count(a) == rt_st_meta_count(b), "metadata count changed in a round trip");
  for (int i = 0; i < rt_st_count(a); i++) {
    const RtStTensor *x = rt_st_tensor(a, i), *y = rt_st_find(b, x->name);
    RT_ASSERT(y && y->dtype == x->dtype && y->rank == x->rank && y->nbytes == x->nbytes, "tensor '%s' changed", x->name);
    RT_ASSERT(memcmp(x->shape, y->shape, sizeof x->shape) == 0, "shape of '%s' changed", x->name);
    RT_ASSERT(x->nbytes == 0 || memcmp(x->data, y->data, x->nbytes) == 0, "data of '%s' changed", x->name);
  }
  for (int i = 0; i < rt_st_meta_count(a); i++) {
    const char *k, *v;
    rt_st_meta_at(a, i, &k, &v);
    const char *w = rt_st_meta(b, k);
    RT_ASSERT(w && strcmp(v, w) == 0, "metadata '%s' changed", k);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  RtDiags d = {0};
  RtStFile *f = rt_st_parse("fuzz.safetensors", data, size, &d);
  RT_ASSERT(!f || d.errors == 0, "a file with errors was returned");
  RT_ASSERT(f || d.errors > 0, "a file was rejected without an error");
  if (f) {
    size_t covered = 0;
    RtStWriter *w = rt_st_writer_new();
    for (int i = 0; i < rt_st_count(f); i++) {
      const RtStTensor *t = rt_st_tensor(f, i);
      RT_ASSERT(t->nbytes == (size_t)t->count * rt_st_dtype_size(t->dtype), "size of '%s'", t->name);
      covered += t->nbytes;
      RT_ASSERT(rt_st_find(f, t->name) == t, "lookup of '%s'", t->name);
      /* First and last byte: ASan reports any tensor reaching outside the file buffer. */
      volatile uint8_t sink = t->nbytes ? t->data[0] ^ t->data[t->nbytes - 1] : 0;
      (void)sink;
      rt_st_writer_add(w, t->name, t->dtype, t->rank, t->shape, t->data);
    }
    RT_ASSERT(covered <= size, "tensors cover more than the file");
    for (int i = 0; i < rt_st_meta_count(f); i++) {
      const char *k, *v;
      rt_st_meta_at(f, i, &k, &v);
      rt_st_writer_set_meta(w, k, v);
    }
    size_t n;
    uint8_t *again = rt_st_writer_serialize(w, &n);
    RtStFile *g = rt_st_parse("fuzz-again.safetensors", again, n, &d);
    RT_ASSERT(g && d.errors == 0, "the writer's output of an accepted file was rejected");
    check_same(f, g);
    rt_st_free(g);
    free(again);
    rt_st_writer_free(w);
  }
  rt_st_free(f);
  rt_diags_free(&d);
  return 0;
}

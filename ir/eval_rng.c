/* Reference implementation of rng_uniform: element i of rng_uniform(seed){stream} is
 * rt_random_uniform(seed as an unsigned 32-bit number, stream, i), Philox-4x32-10 (rt_random.h),
 * so a compiled kernel reproduces it bit for bit and a dropout mask does not depend on how the
 * work is split. Values are multiples of 2^-24 in [0, 1), exact in f32. */
#include "ir/eval_iter.h"
#include "support/rt_random.h"

void ir_eval_rng_uniform(const IrNode *n, const IrTensor *const *in, IrTensor *out) {
  uint64_t seed = (uint32_t)(int32_t)in[0]->data[0];
  uint64_t stream = (uint64_t)n->attr[0].v[0];
  int64_t count = eval_numel(out);
  for (int64_t i = 0; i < count; i++) out->data[i] = rt_random_uniform(seed, stream, (uint64_t)i);
}

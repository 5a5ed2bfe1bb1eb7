/* Deterministic initial values (rt_init.h), from the counter-based generator of rt_random.h. */
#include "support/rt_init.h"

#include <math.h>

#include "support/rt_random.h"

double rt_init_element(RtInitKind kind, double value, bool is_int, uint64_t seed, uint64_t stream, int64_t i) {
  switch (kind) {
    case RT_INIT_ZEROS: return 0.0;
    case RT_INIT_ONES: return 1.0;
    case RT_INIT_FILL: return value;
    case RT_INIT_UNIFORM: {
      double u = rt_random_uniform(seed, stream, (uint64_t)i); /* k * 2^-24, k < 2^24 */
      return is_int ? floor(u * value) : value * (2.0 * u - 1.0);
    }
    case RT_INIT_NORMAL: return value * rt_random_normal(seed, stream, (uint64_t)i);
  }
  return 0.0;
}

void rt_init_f32(float *dst, int64_t n, RtInitKind kind, double value, uint64_t seed, const char *name) {
  uint64_t stream = rt_random_stream_of(name);
  for (int64_t i = 0; i < n; i++) dst[i] = (float)rt_init_element(kind, value, false, seed, stream, i);
}

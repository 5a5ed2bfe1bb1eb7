/* The counter-based random number generator shared by the rng_uniform op, parameter
 * initialisation and generated code: Philox-4x32-10 (Salmon, Moraes, Dror, Shaw, "Parallel random
 * numbers: as easy as 1, 2, 3", SC 2011; constants and known answers from Random123). A value is a
 * pure function of (seed, stream, index), so any backend reproduces it bit for bit with 32-bit
 * integer multiplies, and elements can be computed in any order or in parallel. */
#ifndef SMELT_RT_RANDOM_H
#define SMELT_RT_RANDOM_H

#include <math.h>
#include <stdint.h>
#include <string.h>

typedef struct RtPhilox {
  uint32_t v[4];
} RtPhilox;

/* One Philox round: two 32x32->64 multiplies, words recombined with the round key. */
static inline RtPhilox rt_philox_round(RtPhilox c, uint32_t k0, uint32_t k1) {
  uint64_t p0 = (uint64_t)0xD2511F53u * c.v[0], p1 = (uint64_t)0xCD9E8D57u * c.v[2];
  return (RtPhilox){{(uint32_t)(p1 >> 32) ^ c.v[1] ^ k0, (uint32_t)p1,
                     (uint32_t)(p0 >> 32) ^ c.v[3] ^ k1, (uint32_t)p0}};
}

/* Philox-4x32-10 of counter c under key (k0, k1): ten rounds, the key bumped by the Weyl
 * constants (golden ratio, sqrt(3) - 1) between rounds. */
static inline RtPhilox rt_philox4x32_10(RtPhilox c, uint32_t k0, uint32_t k1) {
  for (int r = 0; r < 10; r++) {
    if (r > 0) {
      k0 += 0x9E3779B9u;
      k1 += 0xBB67AE85u;
    }
    c = rt_philox_round(c, k0, k1);
  }
  return c;
}

/* The four random words of element `index` of `stream` under `seed`:
 * key = (seed low, seed high), counter = (index low, index high, stream low, stream high). */
static inline RtPhilox rt_random_words(uint64_t seed, uint64_t stream, uint64_t index) {
  RtPhilox c = {
      {(uint32_t)index, (uint32_t)(index >> 32), (uint32_t)stream, (uint32_t)(stream >> 32)}};
  return rt_philox4x32_10(c, (uint32_t)seed, (uint32_t)(seed >> 32));
}

/* Top 24 bits of a word as a multiple of 2^-24 in [0, 1): exact in f32, so every backend agrees. */
static inline float rt_random_unit(uint32_t w) { return (float)(w >> 8) * 0x1p-24f; }

/* Uniform in [0, 1) from the first word. This is the definition of the rng_uniform op. */
static inline float rt_random_uniform(uint64_t seed, uint64_t stream, uint64_t index) {
  return rt_random_unit(rt_random_words(seed, stream, index).v[0]);
}

/* Standard normal by Box-Muller (Box & Muller 1958) from words 1 and 2:
 * z = sqrt(-2 ln u1) cos(2 pi u2), with u1 in (0, 1] so the log is finite. Computed in double;
 * used for initialisation only, where bit-exactness across backends is not needed. */
static inline double rt_random_normal(uint64_t seed, uint64_t stream, uint64_t index) {
  RtPhilox w = rt_random_words(seed, stream, index);
  double u1 = ((double)(w.v[1] >> 8) + 1.0) * 0x1p-24, u2 = (double)(w.v[2] >> 8) * 0x1p-24;
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* FNV-1a, 64 bit (Fowler, Noll, Vo), of len bytes: a fast non-cryptographic hash for names. */
static inline uint64_t rt_fnv1a64(const void *data, size_t len) {
  const unsigned char *p = data;
  uint64_t h = 0xcbf29ce484222325u;
  for (size_t i = 0; i < len; i++) h = (h ^ p[i]) * 0x100000001b3u;
  return h;
}

/* A stream number from a name, so that a parameter's initial values depend on its name and not
 * on where it sits in the graph. */
static inline uint64_t rt_random_stream_of(const char *name) { return rt_fnv1a64(name, strlen(name)); }

#endif

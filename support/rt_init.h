/* Initial values of params, state and test inputs: element i of a tensor is a pure function of
 * (seed, stream = hash of the tensor's name, i), so every backend (the interpreter, a JIT-run
 * trainer, a standalone trainer) starts from bit-identical weights. The kinds mirror IrInit. */
#ifndef SMELT_RT_INIT_H
#define SMELT_RT_INIT_H

#include <stdbool.h>
#include <stdint.h>

typedef enum RtInitKind { RT_INIT_ZEROS, RT_INIT_ONES, RT_INIT_FILL, RT_INIT_UNIFORM, RT_INIT_NORMAL } RtInitKind;

/* One element before rounding: FILL value; UNIFORM in [-value, value) (integers in [0, value)
 * when is_int); NORMAL with std value. */
double rt_init_element(RtInitKind kind, double value, bool is_int, uint64_t seed, uint64_t stream, int64_t i);

/* Fills n f32 elements named `name` (f32-rounded values of rt_init_element). */
void rt_init_f32(float *dst, int64_t n, RtInitKind kind, double value, uint64_t seed, const char *name);

#endif

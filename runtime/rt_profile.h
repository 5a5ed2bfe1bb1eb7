/* A per-kernel profile of compiled steps: every call that goes through smelt_rt_parallel_for is
 * timed (wall clock, the whole split loop) and summed per kernel function while profiling is on
 * (rt_profile_enable; `smelt train` turns it on when SMELT_PROFILE is set and prints the report
 * at the end). Kernel names come from the table
 * the compiled module exports (<step>_kernels). Costs nothing when off. */
#ifndef SMELT_RT_PROFILE_H
#define SMELT_RT_PROFILE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct RtKernelName {
  const void *fn;   /* the kernel's trampoline, as passed to smelt_rt_parallel_for */
  const char *name; /* "k12.conv2d" */
} RtKernelName;

extern bool rt_profile_on;

void rt_profile_enable(bool on);
void rt_profile_reset(void);
void rt_profile_record(const void *fn, int64_t ns);
/* Prints the kernels by total time, the top `limit` of them (0: all), with calls and share. */
void rt_profile_report(FILE *out, const RtKernelName *names, int n_names, int limit);

#endif

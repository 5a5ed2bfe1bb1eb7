/* AMX state for this process. Linux gives a process the registers of Intel's tile instructions
 * (AMX) only when it asks (arch_prctl ARCH_REQ_XCOMP_PERM for XTILEDATA); before that the first
 * tile instruction ends it with SIGILL. Code with AMX tiles (codegen/cg_sgemm.h, `amx`) runs only
 * after rt_amx_enable() has returned true. */
#ifndef SMELT_RT_AMX_H
#define SMELT_RT_AMX_H

#include <stdbool.h>

/* Asks the kernel for AMX state, once; true when the process may use the tiles (false on other
 * systems and CPUs, or when the kernel refuses). Thread-safe. */
bool rt_amx_enable(void);

#endif

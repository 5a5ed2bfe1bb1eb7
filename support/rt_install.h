/* Where an installed smelt keeps its files. The layout below the prefix is fixed by the install
 * rules (CMakeLists.txt, end) and relative, so smelt finds it from its own executable:
 * PREFIX/bin/smelt -> PREFIX/share/smelt/presets, PREFIX/lib/smelt, PREFIX/include/smelt. A
 * smelt run from its build tree has none of these beside it, and callers fall back to the trees. */
#ifndef SMELT_RT_INSTALL_H
#define SMELT_RT_INSTALL_H

#include <stdbool.h>
#include <stddef.h>

typedef enum RtInstallPath {
  RT_INSTALL_PRESETS,     /* the folder of the shipped presets */
  RT_INSTALL_RUNTIME_LIB, /* libsmelt_runtime.a, which built trainers link */
  RT_INSTALL_SUPPORT_LIB, /* libsmelt_support.a, which they link after it */
  RT_INSTALL_MPI_LIB,     /* libsmelt_mpi.a, which trainers built with --mpi link before them */
  RT_INSTALL_INCLUDE,     /* the folder built trainers compile against (-I) */
} RtInstallPath;

/* Writes PREFIX/<the path's place> to buf, PREFIX being the parent of the folder holding the
 * running executable, and returns true when that file or folder exists; false (buf unspecified)
 * when it does not or the executable cannot be found. */
bool rt_install_path(RtInstallPath which, char *buf, size_t size);

#endif

/* Install-relative paths from /proc/self/exe, which the kernel gives with symlinks resolved, so a
 * smelt reached through a link in another bin/ still finds its own prefix. The folder names come
 * from CMakeLists.txt (RT_INSTALL_* definitions on this file only). */
#include "support/rt_install.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if !defined(RT_INSTALL_LIBDIR) || !defined(RT_INSTALL_INCLUDEDIR) || !defined(RT_INSTALL_PRESETSDIR)
#error "RT_INSTALL_LIBDIR, RT_INSTALL_INCLUDEDIR and RT_INSTALL_PRESETSDIR must be defined by the build"
#endif

static const char *relative_path(RtInstallPath which) {
  switch (which) {
    case RT_INSTALL_PRESETS: return RT_INSTALL_PRESETSDIR;
    case RT_INSTALL_RUNTIME_LIB: return RT_INSTALL_LIBDIR "/libsmelt_runtime.a";
    case RT_INSTALL_SUPPORT_LIB: return RT_INSTALL_LIBDIR "/libsmelt_support.a";
    case RT_INSTALL_MPI_LIB: return RT_INSTALL_LIBDIR "/libsmelt_mpi.a";
    case RT_INSTALL_INCLUDE: return RT_INSTALL_INCLUDEDIR;
  }
  return NULL;
}

/* The prefix: the executable's path less its last two components (bin/smelt). */
static bool install_prefix(char *buf, size_t size) {
  ssize_t n = readlink("/proc/self/exe", buf, size - 1);
  if (n <= 0 || (size_t)n >= size - 1) return false;
  buf[n] = 0;
  for (int up = 0; up < 2; up++) {
    char *slash = strrchr(buf, '/');
    if (!slash) return false;
    *slash = 0;
  }
  return true;
}

bool rt_install_path(RtInstallPath which, char *buf, size_t size) {
  char prefix[PATH_MAX];
  const char *rel = relative_path(which);
  if (!rel || !install_prefix(prefix, sizeof prefix)) return false;
  if (snprintf(buf, size, "%s/%s", prefix, rel) >= (int)size) return false;
  struct stat st;
  return stat(buf, &st) == 0;
}

/* rt_amx_enable (runtime/rt_amx.h): one arch_prctl per process. */
#include "runtime/rt_amx.h"

#include <pthread.h>

#if defined(__linux__) && defined(__x86_64__)
#include <sys/syscall.h>
#include <unistd.h>

enum { ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18 };

static bool granted;
static void request(void) { granted = syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0; }
#else
static bool granted;
static void request(void) { granted = false; }
#endif

bool rt_amx_enable(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, request);
  return granted;
}

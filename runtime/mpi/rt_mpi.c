/* RtComm over MPI_COMM_WORLD (rt_mpi.h). Sums are MPI_Allreduce with MPI_SUM: Open MPI picks its
 * algorithm from the message size and the number of processes only, and every algorithm it has
 * for a commutative operation hands each process the same result, so a run is repeatable and
 * the processes' weights stay identical (the training loop checks that every epoch). Large
 * arrays go in chunks, as MPI counts are ints. */
#include "runtime/mpi/rt_mpi.h"

#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "support/rt_assert.h"

enum { CHUNK = 1 << 28 }; /* elements a collective call */

bool rt_mpi_launched(void) {
  const char *off = getenv("SMELT_MPI");
  if (off && !strcmp(off, "off")) return false;
  static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"};
  for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
    if (getenv(vars[i])) return true;
  return false;
}

int rt_mpi_host_processes(void) {
  static const char *const vars[] = {"OMPI_COMM_WORLD_LOCAL_SIZE", "SLURM_NTASKS_PER_NODE"};
  for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
    const char *v = getenv(vars[i]);
    if (v && atoi(v) > 0) return atoi(v);
  }
  return 1;
}

static void sum_f32(const RtComm *c, float *x, int64_t n) {
  for (int64_t at = 0; at < n; at += CHUNK) {
    int count = (int)(n - at < CHUNK ? n - at : CHUNK);
    MPI_Allreduce(MPI_IN_PLACE, x + at, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  }
}

static void sum_f64(const RtComm *c, double *x, int n) {
  MPI_Allreduce(MPI_IN_PLACE, x, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}

static void broadcast(const RtComm *c, void *data, int64_t bytes) {
  for (int64_t at = 0; at < bytes; at += CHUNK) {
    int count = (int)(bytes - at < CHUNK ? bytes - at : CHUNK);
    MPI_Bcast((char *)data + at, count, MPI_BYTE, 0, MPI_COMM_WORLD);
  }
}

/* Distinct processor names over the processes. */
static int count_hosts(int size) {
  char name[MPI_MAX_PROCESSOR_NAME] = {0};
  int len = 0;
  MPI_Get_processor_name(name, &len);
  char *all = rt_xcalloc((size_t)size, MPI_MAX_PROCESSOR_NAME);
  MPI_Allgather(name, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, all, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, MPI_COMM_WORLD);
  int hosts = 0;
  for (int i = 0; i < size; i++) {
    bool seen = false;
    for (int j = 0; j < i && !seen; j++)
      seen = !strncmp(all + (size_t)i * MPI_MAX_PROCESSOR_NAME, all + (size_t)j * MPI_MAX_PROCESSOR_NAME,
                      MPI_MAX_PROCESSOR_NAME);
    hosts += !seen;
  }
  free(all);
  return hosts;
}

void rt_mpi_start(RtComm *c) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0; /* only the thread that initialised MPI calls it */
    MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
  }
  *c = (RtComm){.sum_f32 = sum_f32, .sum_f64 = sum_f64, .broadcast = broadcast};
  MPI_Comm_rank(MPI_COMM_WORLD, &c->rank);
  MPI_Comm_size(MPI_COMM_WORLD, &c->size);
  c->hosts = count_hosts(c->size);
}

void rt_mpi_finish(const RtComm *c, bool ok) {
  if (!ok && c->size > 1 && !c->failed_together) MPI_Abort(MPI_COMM_WORLD, 1);
  MPI_Finalize();
}

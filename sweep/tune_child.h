/* Starting a trainer as a child process, for the sweep's own slots (tune_sched.c) and for the
 * workers of an MPI sweep (tune_mpi.c): its environment and the fork + exec. */
#ifndef SMELT_SWEEP_TUNE_CHILD_H
#define SMELT_SWEEP_TUNE_CHILD_H

#include <stddef.h>
#include <sys/types.h>

/* The parent's environment with the thread settings replaced: our pool gets `threads` cores, and
 * no BLAS or OpenMP pool may add threads on top (oversubscription); SMELT_MPI=off, so that a
 * child of an MPI process trains alone instead of taking the launcher's variables for its own.
 * threads_var (size bytes) holds the SMELT_THREADS entry; free() the array only. */
char **tune_child_environment(int threads, char *threads_var, size_t size);

/* Forks and execs exe with argv and env, stdin from /dev/null and stdout and stderr into log_fd.
 * The child dies with its parent (PR_SET_PDEATHSIG), so a killed sweep leaves no trainer
 * writing behind its back. Between fork and exec it only makes system calls, as a multithreaded
 * parent requires. Returns the pid, or -1 with errno. */
pid_t tune_child_start(const char *exe, char *const argv[], char *const env[], int log_fd);

#endif

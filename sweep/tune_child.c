/* Trainer child processes (tune_child.h). */
#include "sweep/tune_child.h"

#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

extern char **environ;

char **tune_child_environment(int threads, char *threads_var, size_t size) {
  static const char *const replaced[] = {"SMELT_THREADS=", "OPENBLAS_NUM_THREADS=", "OMP_NUM_THREADS=",
                                         "GOTO_NUM_THREADS=", "SMELT_MPI="};
  enum { N_REPLACED = sizeof replaced / sizeof *replaced };
  size_t n = 0;
  while (environ[n]) n++;
  char **env = calloc(n + N_REPLACED + 1, sizeof *env);
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    bool drop = false;
    for (int j = 0; j < N_REPLACED; j++) drop |= !strncmp(environ[i], replaced[j], strlen(replaced[j]));
    if (!drop) env[k++] = environ[i];
  }
  snprintf(threads_var, size, "SMELT_THREADS=%d", threads);
  env[k++] = threads_var;
  env[k++] = "OPENBLAS_NUM_THREADS=1";
  env[k++] = "OMP_NUM_THREADS=1";
  env[k++] = "GOTO_NUM_THREADS=1";
  env[k++] = "SMELT_MPI=off";
  env[k] = NULL;
  return env;
}

pid_t tune_child_start(const char *exe, char *const argv[], char *const env[], int log_fd) {
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid != 0) return pid;
  /* dies with the sweep; the check closes the race with a parent that died before prctl */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(128 + SIGKILL);
  int null = open("/dev/null", O_RDONLY);
  if (null >= 0) dup2(null, STDIN_FILENO);
  dup2(log_fd, STDOUT_FILENO);
  dup2(log_fd, STDERR_FILENO);
  execve(exe, argv, env);
  static const char msg[] = "smelt tune: execve of the smelt executable failed\n";
  ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
  (void)w;
  _exit(127);
}

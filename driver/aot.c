/* Shared AOT plumbing (aot.h): child processes (the system C compiler), temporary folders and C
 * source text. */
#include "driver/aot.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>


extern char **environ;

static void quote_command(const char *const *argv, char *buf, size_t size) {
  size_t n = 0;
  buf[0] = 0;
  for (int i = 0; argv[i] && n + 1 < size; i++) {
    int w = snprintf(buf + n, size - n, "%s%s", i ? " " : "", argv[i]);
    if (w < 0) break;
    n += (size_t)w;
  }
}

bool aot_run(const char *const *argv, RtDiags *d) {
  char cmd[2048];
  quote_command(argv, cmd, sizeof cmd);
  pid_t pid;
  int err = posix_spawnp(&pid, argv[0], NULL, NULL, (char *const *)argv, environ);
  if (err) {
    rt_diag_error(d, NULL, 0, 0, "cannot run '%s': %s", argv[0], strerror(err));
    return false;
  }
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) {
      rt_diag_error(d, NULL, 0, 0, "waiting for '%s': %s", argv[0], strerror(errno));
      return false;
    }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
  rt_diag_error(d, NULL, 0, 0, "command failed (%s %d): %s", WIFEXITED(status) ? "exit code" : "signal",
                WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), cmd);
  return false;
}

const char *aot_cc(void) {
  const char *cc = getenv("CC");
  return cc && *cc ? cc : "cc";
}

bool aot_temp_dir(char *buf, size_t size, RtDiags *d) {
  const char *tmp = getenv("TMPDIR");
  snprintf(buf, size, "%s/smelt-aot-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (mkdtemp(buf)) return true;
  rt_diag_error(d, buf, 0, 0, "cannot create a temporary folder: %s", strerror(errno));
  return false;
}

void aot_remove_dir(const char *dir) {
  DIR *dh = opendir(dir);
  if (!dh) return;
  char path[4096];
  for (struct dirent *e; (e = readdir(dh));) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    unlink(path);
  }
  closedir(dh);
  rmdir(dir);
}

void aot_c_string(FILE *f, const char *s, size_t n) {
  fputc('"', f);
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    switch (ch) {
      case '"': fputs("\\\"", f); break;
      case '\\': fputs("\\\\", f); break;
      case '?': fputs("\\?", f); break; /* no trigraphs */
      case '\t': fputs("\\t", f); break;
      case '\r': fputs("\\r", f); break;
      case '\n': fputs(i + 1 < n ? "\\n\"\n    \"" : "\\n", f); break;
      default:
        if (ch < 0x20 || ch >= 0x7f) fprintf(f, "\\%03o", ch); /* octal stops after 3 digits */
        else fputc(ch, f);
    }
  }
  fputc('"', f);
}

void aot_c_double(FILE *f, double v) {
  if (isnan(v)) fputs("NAN", f);
  else if (isinf(v)) fputs(v > 0 ? "INFINITY" : "-INFINITY", f);
  else fprintf(f, "%.17g", v);
}

bool aot_is_identifier(const char *s) {
  if (!s || !*s || (*s >= '0' && *s <= '9')) return false;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_'))
      return false;
  return true;
}

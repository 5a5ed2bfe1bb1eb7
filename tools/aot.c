/* Shared AOT plumbing (aot.h): plans made like the JIT's, object files, child processes (the
 * system C compiler), temporary folders and C source text. */
#include "tools/aot.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "codegen/cg_program.h"
#include "runtime/rt_fs.h"

extern char **environ;

PassPlan *aot_plan(const IrGraph *g, int workers, const PassPlan *state_like) {
  /* the plan cg_program_compile makes, so that AOT code is the code `smelt train` runs */
  CgOptions o = {.state_like = state_like};
  return cg_program_plan(g, &o, workers);
}

bool aot_object(CgContext *c, const CgTarget *t, void **obj, size_t *len, RtDiags *d) {
  *obj = NULL;
  *len = 0;
  return cg_optimize(c->mod, t->tm, d) && cg_emit_object(c->mod, t->tm, obj, len, d);
}

bool aot_write_object(CgContext *c, const CgTarget *t, const char *path, long *bytes, RtDiags *d) {
  void *obj = NULL;
  size_t len = 0;
  bool ok = aot_object(c, t, &obj, &len, d) && rt_fs_write_atomic(path, obj, len, d);
  free(obj);
  if (bytes) *bytes = (long)len;
  return ok;
}

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

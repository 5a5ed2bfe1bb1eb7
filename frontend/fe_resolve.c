/* Preset resolution: a reference is either a path to a preset file or a name looked up in a
 * presets folder. Unknown names list the folder's presets and suggest the closest, because a
 * misspelled preset once cost the study a run six hours in. */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend/fe_path.h"
#include "frontend/fe_preset.h"
#include "frontend/fe_schema.h"
#include "support/rt_assert.h"
#include "support/rt_install.h"

static bool looks_like_path(const char *ref) {
  return strchr(ref, '/') || fe_str_ends_with(ref, ".yaml") || fe_str_ends_with(ref, ".yml");
}

static int compare_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int fe_presets_list(const char *dir, char ***names) {
  *names = NULL;
  DIR *d = opendir(dir);
  if (!d) return 0;
  int n = 0, cap = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    size_t len = strlen(e->d_name);
    if (len <= 5 || e->d_name[0] == '.' || !fe_str_ends_with(e->d_name, ".yaml")) continue;
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path || !fe_path_is_file(path))
      continue;
    if (n == cap) *names = rt_xrealloc(*names, (size_t)(cap = cap ? 2 * cap : 8) * sizeof **names);
    (*names)[n] = rt_xmalloc(len - 4);
    memcpy((*names)[n], e->d_name, len - 5);
    (*names)[n++][len - 5] = 0;
  }
  closedir(d);
  if (n) qsort(*names, (size_t)n, sizeof **names, compare_names);
  return n;
}

void fe_names_free(char **names, int count) {
  for (int i = 0; i < count; i++) free(names[i]);
  free(names);
}

char *fe_presets_default_dir(void) {
  const char *env = getenv("SMELT_PRESETS");
  if (env && env[0]) return rt_xstrdup(env);
  char exe[PATH_MAX];
  if (rt_install_path(RT_INSTALL_PRESETS, exe, sizeof exe)) return rt_xstrdup(exe); /* PREFIX/bin/smelt */
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    exe[n] = 0;
    char *slash;
    /* build/smelt and build/tests/test_x find the source tree's presets this way. */
    for (int up = 0; up < 4 && (slash = strrchr(exe, '/')) && slash != exe; up++) {
      *slash = 0;
      char probe[PATH_MAX + 64];
      snprintf(probe, sizeof probe, "%s/presets/small.yaml", exe);
      if (fe_path_is_file(probe)) {
        probe[strlen(probe) - strlen("/small.yaml")] = 0;
        return rt_xstrdup(probe);
      }
    }
  }
  return rt_xstrdup("presets");
}

static void unknown_preset(const char *ref, const char *dir, FeLoc at, RtDiags *d) {
  char **names;
  int n = fe_presets_list(dir, &names);
  if (n == 0) {
    rt_diag_error(d, at.file, at.line, at.col, "unknown preset '%s' (no presets in '%s')", ref, dir);
    return;
  }
  char known[1024];
  size_t o = 0;
  for (int i = 0; i < n && o < sizeof known; i++)
    o += (size_t)snprintf(known + o, sizeof known - o, "%s%s", i ? ", " : "", names[i]);
  /* "ctc" for "ctc_small": every preset the name begins is as likely as the closest one */
  char guess[512] = "";
  int prefixed = 0;
  for (int i = 0; i < n && strlen(ref) >= 2; i++)
    if (strncmp(names[i], ref, strlen(ref)) == 0) prefixed++;
  for (int i = 0, k = 0; i < n && prefixed >= 2; i++)
    if (strncmp(names[i], ref, strlen(ref)) == 0)
      snprintf(guess + strlen(guess), sizeof guess - strlen(guess), "%s'%s'", k++ == 0 ? "" : k == prefixed ? " or " : ", ",
               names[i]);
  const char *best = fe_suggest(ref, (const char *const *)names, n);
  if (best && !guess[0]) snprintf(guess, sizeof guess, "'%s'", best);
  if (guess[0])
    rt_diag_error(d, at.file, at.line, at.col, "unknown preset '%s'; did you mean %s? (known: %s)", ref, guess,
                  known);
  else
    rt_diag_error(d, at.file, at.line, at.col, "unknown preset '%s' (known: %s)", ref, known);
  fe_names_free(names, n);
}

FePreset *fe_preset_resolve(const char *ref, const char *search_dir, FeLoc at, RtDiags *d) {
  if (looks_like_path(ref)) {
    if (!fe_path_is_file(ref)) {
      rt_diag_error(d, at.file, at.line, at.col, "preset file '%s' %s", ref,
                    fe_path_is_dir(ref) ? "is a directory" : "does not exist");
      return NULL;
    }
    return fe_preset_load(ref, d);
  }
  if (!fe_path_is_dir(search_dir)) {
    rt_diag_error(d, at.file, at.line, at.col, "unknown preset '%s': presets folder '%s' does not exist",
                  ref, search_dir);
    return NULL;
  }
  size_t len = strlen(search_dir) + strlen(ref) + 8;
  char *path = rt_xmalloc(len);
  snprintf(path, len, "%s/%s.yaml", search_dir, ref);
  FePreset *p = NULL;
  if (ref[0] && fe_path_is_file(path))
    p = fe_preset_load(path, d);
  else
    unknown_preset(ref, search_dir, at, d);
  free(path);
  return p;
}

/* An experiment's output folder (rt_results.h): one trainer at a time, clearing an earlier run's
 * files and a crashed trainer's temporary files, and whether a checkpoint's stored settings allow
 * resuming it. */
#include "runtime/rt_results.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "runtime/rt_settings.h"
#include "support/rt_fs.h"

int rt_run_dir_lock(const char *dir, RtDiags *d) {
  char path[4096];
  snprintf(path, sizeof path, "%s/.train.lock", dir);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    rt_diag_error(d, path, 0, 0, "cannot create: %s", strerror(errno));
    return -1;
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    rt_diag_error(d, dir, 0, 0, "another trainer is writing to this folder; wait for it to end, or use another --out");
    close(fd);
    return -1;
  }
  return fd;
}

static bool remove_in(const char *dir, const char *name, RtDiags *d) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  if (unlink(path) == 0 || errno == ENOENT) return true;
  rt_diag_error(d, path, 0, 0, "cannot remove the earlier run's file: %s", strerror(errno));
  return false;
}

bool rt_run_dir_clear(const char *dir, RtDiags *d) {
  static const char *const files[] = {RT_FILE_RESULTS, RT_FILE_METRICS, RT_FILE_BEST_CKPT, RT_FILE_LAST_CKPT,
                                      RT_FILE_VAL_PREDICTIONS};
  bool ok = true;
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) ok &= remove_in(dir, files[i], d);
  DIR *dp = opendir(dir);
  for (struct dirent *e; dp && (e = readdir(dp));)
    if (!strncmp(e->d_name, RT_TB_FILE_PREFIX, strlen(RT_TB_FILE_PREFIX))) ok &= remove_in(dir, e->d_name, d);
  if (dp) closedir(dp);
  return ok;
}

bool rt_run_dir_remove_tmp(const char *dir, RtDiags *d) {
  static const char *const files[] = {RT_FILE_RESULTS, RT_FILE_METRICS, RT_FILE_BEST_CKPT, RT_FILE_LAST_CKPT,
                                      RT_FILE_VAL_PREDICTIONS};
  bool ok = true;
  DIR *dp = opendir(dir);
  for (struct dirent *e; dp && (e = readdir(dp));)
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
      if (rt_fs_is_atomic_tmp(e->d_name, files[i])) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (unlink(path) != 0 && errno != ENOENT) {
          rt_diag_error(d, path, 0, 0, "cannot remove a crashed trainer's temporary file: %s", strerror(errno));
          ok = false;
        }
      }
  if (dp) closedir(dp);
  return ok;
}

/* o with every training setting written out, defaults included (a setting added to smelt after
 * o was recorded is then its default), in the list's order; the other keys (name, model, ...)
 * as they were. Settings that do not read keep o as it is. */
static cJSON *with_defaults(cJSON *o) {
  RtSettings s = rt_settings_defaults();
  RtDiags d = {0};
  bool ok = rt_settings_from_json(o, &s, "", &d);
  rt_diags_free(&d);
  if (!ok || s.loss_kind == RT_LOSS_UNSET) return o; /* not the settings of an experiment */
  cJSON *n = cJSON_CreateObject();
  const cJSON *data = cJSON_GetObjectItemCaseSensitive(o, "data");
  rt_settings_to_json(n, &s, data ? cJSON_Duplicate(data, true) : NULL);
  for (const cJSON *x = o->child; x; x = x->next)
    if (!cJSON_GetObjectItemCaseSensitive(n, x->string)) cJSON_AddItemToObject(n, x->string, cJSON_Duplicate(x, true));
  cJSON_Delete(o);
  return n;
}

bool rt_config_same(const char *a, const char *b) {
  cJSON *x = a ? cJSON_Parse(a) : NULL, *y = b ? cJSON_Parse(b) : NULL;
  bool same = cJSON_IsObject(x) && cJSON_IsObject(y);
  if (same) {
    x = with_defaults(x);
    y = with_defaults(y);
    same = cJSON_Compare(x, y, true);
  }
  cJSON_Delete(x);
  cJSON_Delete(y);
  return same;
}

bool rt_config_resumable(const char *stored, const char *current, char *key, size_t key_size) {
  cJSON *a = stored ? cJSON_Parse(stored) : NULL, *b = current ? cJSON_Parse(current) : NULL;
  bool same = cJSON_IsObject(a) && cJSON_IsObject(b);
  if (same) {
    a = with_defaults(a);
    b = with_defaults(b);
  }
  if (key && key_size) key[0] = 0;
  if (same) {
    cJSON_DeleteItemFromObjectCaseSensitive(a, "epochs");
    cJSON_DeleteItemFromObjectCaseSensitive(b, "epochs");
    same = cJSON_Compare(a, b, true);
    for (const cJSON *x = a->child; !same && key && x; x = x->next)
      if (!cJSON_Compare(x, cJSON_GetObjectItemCaseSensitive(b, x->string), true)) {
        snprintf(key, key_size, "%s", x->string);
        break;
      }
    for (const cJSON *y = b->child; !same && key && !key[0] && y; y = y->next)
      if (!cJSON_GetObjectItemCaseSensitive(a, y->string)) snprintf(key, key_size, "%s", y->string);
  }
  cJSON_Delete(a);
  cJSON_Delete(b);
  return same;
}

/* One setting's value as JSON text in out, "not set" when o lacks it, "" when it is too long
 * to quote in a message (a whole data or network mapping). */
static void setting_text(const cJSON *o, const char *key, char *out, size_t size) {
  const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
  char *text = x ? cJSON_PrintUnformatted(x) : NULL;
  if (!x) snprintf(out, size, "not set");
  else if (!text || strlen(text) >= size) out[0] = 0;
  else snprintf(out, size, "%s", text);
  free(text);
}

void rt_config_difference(const char *stored, const char *current, const char *key, char *out, size_t size) {
  cJSON *a = stored ? cJSON_Parse(stored) : NULL, *b = current ? cJSON_Parse(current) : NULL;
  if (size) out[0] = 0;
  if (cJSON_IsObject(a) && cJSON_IsObject(b) && size >= 32) {
    a = with_defaults(a);
    b = with_defaults(b);
    char was[120], now[120];
    setting_text(a, key, was, sizeof was);
    setting_text(b, key, now, sizeof now);
    if (was[0] && now[0]) snprintf(out, size, "was %s, now %s", was, now);
  }
  cJSON_Delete(a);
  cJSON_Delete(b);
}

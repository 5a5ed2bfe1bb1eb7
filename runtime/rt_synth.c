/* Writing a synthetic dataset folder: images rendered in parallel (rt_synth_render.c) and
 * written as PNGs, then synth.json and labels.tsv, atomically and last, so an interrupted run
 * never leaves a folder that looks complete. synth.json records every parameter that changes
 * the pictures (the style options only when set, so a default set's synth.json is as before);
 * with `reuse`, a folder whose synth.json matches is kept as it is (the trainer's cache of its
 * default set), and processes that want the same set at once take turns (a lock file). */
#include "runtime/rt_synth.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "runtime/rt_image.h"
#include "runtime/rt_pool.h"
#include "runtime/rt_synth_fonts.h"
#include "support/rt_assert.h"
#include "support/rt_fs.h"

enum { MAX_COUNT = 100000000 };

typedef struct Job {
  RtSynth *synth;
  const char *dir;
  uint64_t seed;
  int64_t count, first;
  size_t label_cap;      /* bytes per label slot */
  char *labels;          /* (count, label_cap) */
  _Atomic int64_t done;
  _Atomic bool failed;
  char error[512];       /* the first failure, written by the thread that set `failed` */
  FILE *progress;
} Job;

static void render_range(void *ctx, int64_t begin, int64_t end, int32_t worker) {
  Job *job = ctx;
  const RtSynthOptions *o = rt_synth_options(job->synth);
  uint8_t *rgb = rt_xmalloc((size_t)o->height * (size_t)o->width * 3);
  size_t cap = strlen(job->dir) + 64;
  char *path = rt_xmalloc(cap);
  for (int64_t i = begin; i < end && !atomic_load(&job->failed); i++) {
    int64_t index = job->first + i;
    rt_synth_render(job->synth, job->seed, index, worker, job->labels + i * job->label_cap, rgb);
    snprintf(path, cap, "%s/images/%06lld.png", job->dir, (long long)index);
    char err[256];
    if (!rt_image_write_png(path, rgb, o->width, o->height, 3, err, sizeof err)) {
      bool expected = false;
      if (atomic_compare_exchange_strong(&job->failed, &expected, true))
        snprintf(job->error, sizeof job->error, "%s: %s", path, err);
      break;
    }
    int64_t done = atomic_fetch_add(&job->done, 1) + 1;
    if (job->progress && done * 10 / job->count != (done - 1) * 10 / job->count) {
      fprintf(job->progress, "synth: %lld/%lld images\n", (long long)done, (long long)job->count);
      fflush(job->progress);
    }
  }
  free(path);
  free(rgb);
}

/* synth.json: everything the pictures depend on (the seed as a string: JSON numbers lose
 * precision above 2^53). Caller frees. */
static char *manifest(const RtSynthOptions *o, const RtSynthFonts *fonts, int64_t count, uint64_t seed) {
  cJSON *j = cJSON_CreateObject();
  char buf[32];
  cJSON_AddStringToObject(j, "generator", "smelt synthetic CAPTCHAs");
  cJSON_AddNumberToObject(j, "version", RT_SYNTH_VERSION);
  snprintf(buf, sizeof buf, "%llu", (unsigned long long)seed);
  cJSON_AddStringToObject(j, "seed", buf);
  cJSON_AddNumberToObject(j, "first_index", (double)o->first_index);
  cJSON_AddNumberToObject(j, "count", (double)count);
  cJSON_AddStringToObject(j, "charset", o->charset);
  cJSON *len = cJSON_AddArrayToObject(j, "length");
  cJSON_AddItemToArray(len, cJSON_CreateNumber(o->min_len));
  cJSON_AddItemToArray(len, cJSON_CreateNumber(o->max_len));
  cJSON_AddNumberToObject(j, "height", o->height);
  cJSON_AddNumberToObject(j, "width", o->width);
  /* the style, only when not the default mix: older manifests stay valid for reuse */
  if (o->lines) cJSON_AddNumberToObject(j, "lines", o->lines == RT_SYNTH_NONE ? 0 : o->lines);
  if (o->char_colours) cJSON_AddBoolToObject(j, "char_colours", true);
  if (o->distort) cJSON_AddNumberToObject(j, "distort", o->distort == RT_SYNTH_NONE ? 0 : o->distort);
  if (o->grey) cJSON_AddBoolToObject(j, "grey", true);
  if (o->mixed) cJSON_AddBoolToObject(j, "mixed_styles", true);
  if (fonts) { /* fonts other than the default ones: the files drawn from */
    cJSON *list = cJSON_AddArrayToObject(j, "fonts");
    for (int i = 0; i < fonts->count; i++) cJSON_AddItemToArray(list, cJSON_CreateString(fonts->paths[i]));
  }
  char *text = cJSON_Print(j);
  cJSON_Delete(j);
  RT_ASSERT(text, "cJSON_Print failed");
  size_t n = strlen(text);
  char *out = rt_xmalloc(n + 2);
  memcpy(out, text, n);
  memcpy(out + n, "\n", 2);
  cJSON_free(text);
  return out;
}

static char *join(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = rt_xmalloc(n);
  snprintf(p, n, "%s/%s", dir, name);
  return p;
}

/* True when dir holds a complete set with exactly this manifest. */
static bool reusable(const char *dir, const char *want) {
  char *json = join(dir, "synth.json"), *labels = join(dir, "labels.tsv");
  RtDiags d = {0};
  uint8_t *have = NULL;
  size_t size;
  struct stat st;
  bool ok = stat(labels, &st) == 0 && S_ISREG(st.st_mode) && rt_fs_read_file(json, &have, &size, &d) &&
            size == strlen(want) && memcmp(have, want, size) == 0;
  free(have);
  rt_diags_free(&d);
  free(json);
  free(labels);
  return ok;
}

static bool remove_if_present(const char *path, RtDiags *d) {
  if (unlink(path) == 0 || errno == ENOENT) return true;
  rt_diag_error(d, path, 0, 0, "cannot remove the previous file: %s", strerror(errno));
  return false;
}

/* An exclusive lock on dir/.synth.lock, waited for; -1 (no lock) when the file cannot be made. */
static int lock_dir(const char *dir) {
  char *path = join(dir, ".synth.lock");
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  free(path);
  if (fd >= 0)
    while (flock(fd, LOCK_EX) != 0 && errno == EINTR) {}
  return fd;
}

bool rt_synth_generate(const char *dir, int64_t count, uint64_t seed, const RtSynthOptions *opts,
                       RtDiags *d) {
  if (count < 1 || count > MAX_COUNT) {
    rt_diag_error(d, "", 0, 0, "sample count %lld is not within 1-%d", (long long)count, MAX_COUNT);
    return false;
  }
  RtSynth *s = rt_synth_new(opts, d);
  if (!s) return false;
  const RtSynthOptions *o = rt_synth_options(s);
  char *want = manifest(o, opts && opts->fonts ? rt_synth_fonts(s) : NULL, count, seed);
  char *images = join(dir, "images"), *json = join(dir, "synth.json"), *labels_path = join(dir, "labels.tsv");
  bool ok = false;
  Job job = {.synth = s, .dir = dir, .seed = seed, .count = count, .first = o->first_index,
             .label_cap = 4 * (size_t)o->max_len + 1, .progress = count >= 1000 ? o->progress : NULL};
  int lock = -1;
  if (o->reuse && !reusable(dir, want)) {
    /* processes sharing the cache (two ranks on a host, two trainers started together) take
     * turns: the first generates the set, the others then find it complete */
    if (!rt_fs_mkdirs(dir, d)) goto done;
    lock = lock_dir(dir);
  }
  if (o->reuse && reusable(dir, want)) {
    if (o->progress) fprintf(o->progress, "synth: reusing %s (%lld images)\n", dir, (long long)count);
    ok = true;
    goto done;
  }
  if (!rt_fs_mkdirs(images, d) || !remove_if_present(labels_path, d) || !remove_if_present(json, d))
    goto done;
  job.labels = rt_xmalloc((size_t)count * job.label_cap);
  smelt_rt_parallel_for(render_range, &job, count, 8);
  if (atomic_load(&job.failed)) {
    rt_diag_error(d, "", 0, 0, "%s", job.error);
    goto done;
  }
  /* labels.tsv in memory: "images/NNNNNN.png\tLABEL\n" per sample */
  size_t cap = (size_t)count * (job.label_cap + 40), len = 0;
  char *tsv = rt_xmalloc(cap);
  for (int64_t i = 0; i < count; i++)
    len += (size_t)snprintf(tsv + len, cap - len, "images/%06lld.png\t%s\n", (long long)(job.first + i),
                            job.labels + i * job.label_cap);
  ok = rt_fs_write_atomic(json, want, strlen(want), d) && rt_fs_write_atomic(labels_path, tsv, len, d);
  free(tsv);
done:
  if (lock >= 0) close(lock); /* releases the lock */
  free(job.labels);
  free(want);
  free(images);
  free(json);
  free(labels_path);
  rt_synth_free(s);
  return ok;
}

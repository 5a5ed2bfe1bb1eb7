/* The event-file writer (rt_tensorboard.h). The few protobuf fields needed are encoded by hand
 * (tensorflow/core/util/event.proto and framework/summary.proto):
 *   Event   { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
 *   Summary { repeated Value value = 1; }   Value { string tag = 1; float simple_value = 2; }
 * Wire format: a key varint (field << 3 | wire type), then a varint (type 0), 8 little-endian
 * bytes (type 1), a length varint and bytes (type 2) or 4 little-endian bytes (type 5).
 * TFRecord framing (tensorflow/core/lib/io/record_writer.cc): uint64 length, masked CRC-32C of
 * those 8 bytes, the data, masked CRC-32C of the data; all little-endian. */
#include "runtime/rt_tensorboard.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "support/rt_assert.h"
#include "support/rt_crc32c.h"
#include "support/rt_fs.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "event files are written little-endian by memcpy");

struct RtTbWriter {
  FILE *f;
  char *path;
  int error; /* first errno of a failed write, 0 when all went well */
};

/* A growable byte buffer for one protobuf message. */
typedef struct PbBuf {
  uint8_t *p;
  size_t n, cap;
} PbBuf;

static void pb_bytes(PbBuf *b, const void *data, size_t n) {
  if (b->n + n > b->cap) {
    b->cap = (b->n + n) * 2 + 64;
    b->p = rt_xrealloc(b->p, b->cap);
  }
  if (n) memcpy(b->p + b->n, data, n);
  b->n += n;
}

static void pb_varint(PbBuf *b, uint64_t v) {
  uint8_t tmp[10];
  int k = 0;
  do {
    tmp[k++] = (uint8_t)((v & 0x7F) | (v > 0x7F ? 0x80 : 0));
    v >>= 7;
  } while (v);
  pb_bytes(b, tmp, (size_t)k);
}

static void pb_key(PbBuf *b, int field, int wire_type) { pb_varint(b, (uint64_t)field << 3 | (uint64_t)wire_type); }

static void pb_len_delim(PbBuf *b, int field, const void *data, size_t n) {
  pb_key(b, field, 2);
  pb_varint(b, n);
  pb_bytes(b, data, n);
}

static double wall_time_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Writes one TFRecord holding data[0..n). */
static void record_write(RtTbWriter *w, const uint8_t *data, size_t n) {
  uint8_t head[12];
  uint64_t len = n;
  memcpy(head, &len, 8);
  uint32_t len_crc = rt_crc32c_mask(rt_crc32c(0, head, 8));
  memcpy(head + 8, &len_crc, 4);
  uint32_t data_crc = rt_crc32c_mask(rt_crc32c(0, data, n));
  if (fwrite(head, 1, 12, w->f) != 12 || fwrite(data, 1, n, w->f) != n ||
      fwrite(&data_crc, 1, 4, w->f) != 4) {
    if (!w->error) w->error = errno ? errno : EIO;
  }
}

/* An Event with wall_time and step, and either a file_version or a summary. */
static void event_write(RtTbWriter *w, int64_t step, const char *file_version, const PbBuf *summary) {
  PbBuf ev = {0};
  double t = wall_time_now();
  pb_key(&ev, 1, 1);
  pb_bytes(&ev, &t, 8);
  if (step != 0) { /* proto3 omits default values */
    pb_key(&ev, 2, 0);
    pb_varint(&ev, (uint64_t)step); /* int64: two's complement, 10 bytes when negative */
  }
  if (file_version) pb_len_delim(&ev, 3, file_version, strlen(file_version));
  if (summary) pb_len_delim(&ev, 5, summary->p, summary->n);
  record_write(w, ev.p, ev.n);
  free(ev.p);
}

static char *event_file_name(const char *logdir, int attempt) {
  char host[256] = "localhost";
  if (gethostname(host, sizeof host - 1) != 0) snprintf(host, sizeof host, "localhost");
  host[sizeof host - 1] = 0;
  for (char *c = host; *c; c++)
    if (*c == '/') *c = '_';
  size_t cap = strlen(logdir) + strlen(host) + 96;
  char *path = rt_xmalloc(cap);
  long now = (long)time(NULL);
  if (attempt == 0)
    snprintf(path, cap, "%s/" RT_TB_FILE_PREFIX "%ld.%s", logdir, now, host);
  else
    snprintf(path, cap, "%s/" RT_TB_FILE_PREFIX "%ld.%s.%ld.%d", logdir, now, host, (long)getpid(), attempt);
  return path;
}

RtTbWriter *rt_tb_open(const char *logdir, RtDiags *d) {
  if (!rt_fs_mkdirs(logdir, d)) return NULL;
  char *path = NULL;
  int fd = -1;
  for (int attempt = 0; attempt < 1000 && fd < 0; attempt++) {
    free(path);
    path = event_file_name(logdir, attempt);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST) break;
  }
  FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
  if (!f) {
    rt_diag_error(d, path, 0, 0, "cannot create event file: %s", strerror(errno));
    if (fd >= 0) close(fd);
    free(path);
    return NULL;
  }
  RtTbWriter *w = rt_xcalloc(1, sizeof *w);
  *w = (RtTbWriter){.f = f, .path = path};
  event_write(w, 0, "brain.Event:2", NULL);
  return w;
}

const char *rt_tb_path(const RtTbWriter *w) { return w->path; }

void rt_tb_scalar(RtTbWriter *w, const char *tag, int64_t step, double value) {
  PbBuf val = {0}, sum = {0};
  float v = (float)value;
  pb_len_delim(&val, 1, tag, strlen(tag));
  pb_key(&val, 2, 5);
  pb_bytes(&val, &v, 4);
  pb_len_delim(&sum, 1, val.p, val.n);
  event_write(w, step, NULL, &sum);
  free(val.p);
  free(sum.p);
}

bool rt_tb_flush(RtTbWriter *w, RtDiags *d) {
  if (fflush(w->f) != 0 && !w->error) w->error = errno;
  if (!w->error && fsync(fileno(w->f)) != 0 && errno != EINVAL) w->error = errno;
  if (w->error) {
    rt_diag_error(d, w->path, 0, 0, "cannot write event file: %s", strerror(w->error));
    return false;
  }
  return true;
}

bool rt_tb_close(RtTbWriter *w, RtDiags *d) {
  if (!w) return true;
  bool ok = rt_tb_flush(w, d);
  if (fclose(w->f) != 0 && ok) {
    rt_diag_error(d, w->path, 0, 0, "cannot close event file: %s", strerror(errno));
    ok = false;
  }
  free(w->path);
  free(w);
  return ok;
}

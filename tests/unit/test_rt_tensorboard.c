/* TensorBoard event files (runtime/rt_tensorboard.h, support/rt_crc32c.h): CRC-32C against the
 * RFC 3720 vectors and a bit-at-a-time implementation, then event files written by the writer
 * and parsed back here by an independent reader: TFRecord framing with both masked CRCs
 * verified, the protobuf wire format decoded field by field (Event.wall_time/step/file_version/
 * summary, Summary.value, Value.tag/simple_value), the first record being file_version
 * "brain.Event:2", and scalars readable after a flush while the writer is still open. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_support.h"

#include "runtime/rt_tensorboard.h"
#include "support/rt_crc32c.h"
#include "support/rt_fs.h"

static char tmp_dir[] = "/tmp/smelt_tb_XXXXXX";

static int setup(void **state) {
  (void)state;
  return mkdtemp(tmp_dir) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  test_remove_tree(tmp_dir);
  return 0;
}

/* ---- An independent reader ---- */

/* CRC-32C one bit at a time, straight from the polynomial: shares nothing with the table code. */
static uint32_t crc32c_bitwise(const uint8_t *p, size_t n) {
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    crc ^= p[i];
    for (int k = 0; k < 8; k++) crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
  }
  return crc ^ 0xFFFFFFFFu;
}

static uint32_t masked(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

static uint64_t le64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

static uint32_t le32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

/* One decoded protobuf field. */
typedef struct Field {
  int number, wire;
  uint64_t varint;       /* wire 0; also the raw bits of wire 1 and 5 */
  const uint8_t *bytes;  /* wire 2 */
  size_t len;
} Field;

static uint64_t read_varint(const uint8_t **p, const uint8_t *end) {
  uint64_t v = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    assert_true(*p < end);
    uint8_t b = *(*p)++;
    v |= (uint64_t)(b & 0x7F) << shift;
    if (!(b & 0x80)) return v;
  }
  fail_msg("varint longer than 10 bytes");
  return 0;
}

/* Decodes the next field of a message in [*p, end). */
static Field next_field(const uint8_t **p, const uint8_t *end) {
  uint64_t key = read_varint(p, end);
  Field f = {.number = (int)(key >> 3), .wire = (int)(key & 7)};
  switch (f.wire) {
  case 0: f.varint = read_varint(p, end); break;
  case 1: assert_true(end - *p >= 8); f.varint = le64(*p); *p += 8; break;
  case 5: assert_true(end - *p >= 4); f.varint = le32(*p); *p += 4; break;
  case 2:
    f.len = (size_t)read_varint(p, end);
    assert_true((size_t)(end - *p) >= f.len);
    f.bytes = *p;
    *p += f.len;
    break;
  default: fail_msg("unexpected wire type %d", f.wire);
  }
  return f;
}

typedef struct Event {
  double wall_time;
  int64_t step;
  char file_version[32];
  char tag[64];
  float value;
  int values; /* Summary.Value entries seen */
} Event;

static Event decode_event(const uint8_t *p, size_t n) {
  Event ev = {0};
  const uint8_t *end = p + n;
  while (p < end) {
    Field f = next_field(&p, end);
    if (f.number == 1 && f.wire == 1) memcpy(&ev.wall_time, &f.varint, 8);
    else if (f.number == 2 && f.wire == 0) ev.step = (int64_t)f.varint;
    else if (f.number == 3 && f.wire == 2) {
      assert_true(f.len < sizeof ev.file_version);
      memcpy(ev.file_version, f.bytes, f.len);
    } else if (f.number == 5 && f.wire == 2) { /* Summary */
      const uint8_t *s = f.bytes, *send = f.bytes + f.len;
      while (s < send) {
        Field v = next_field(&s, send);
        assert_int_equal(v.number, 1); /* repeated Value value = 1 */
        assert_int_equal(v.wire, 2);
        ev.values++;
        const uint8_t *q = v.bytes, *qend = v.bytes + v.len;
        while (q < qend) {
          Field g = next_field(&q, qend);
          if (g.number == 1 && g.wire == 2) {
            assert_true(g.len < sizeof ev.tag);
            memcpy(ev.tag, g.bytes, g.len);
          } else if (g.number == 2 && g.wire == 5) {
            uint32_t bits = (uint32_t)g.varint;
            memcpy(&ev.value, &bits, 4);
          } else {
            fail_msg("unexpected Value field %d", g.number);
          }
        }
      }
    } else {
      fail_msg("unexpected Event field %d (wire %d)", f.number, f.wire);
    }
  }
  return ev;
}

/* Reads every record of an event file, checking the framing and both CRCs. */
static int read_events(const char *path, Event *out, int cap) {
  uint8_t *data;
  size_t size;
  RtDiags d = {0};
  assert_true(rt_fs_read_file(path, &data, &size, &d));
  size_t at = 0;
  int n = 0;
  while (at < size) {
    assert_true(size - at >= 12);
    uint64_t len = le64(data + at);
    assert_int_equal(le32(data + at + 8), masked(crc32c_bitwise(data + at, 8)));
    assert_true(size - at - 12 >= len + 4);
    const uint8_t *rec = data + at + 12;
    assert_int_equal(le32(rec + len), masked(crc32c_bitwise(rec, (size_t)len)));
    assert_true(n < cap);
    out[n++] = decode_event(rec, (size_t)len);
    at += 12 + len + 4;
  }
  free(data);
  return n;
}

/* ---- Tests ---- */

static void test_crc32c_vectors(void **state) {
  (void)state;
  uint8_t buf[32];
  memset(buf, 0, 32);
  assert_int_equal(rt_crc32c(0, buf, 32), 0x8A9136AA); /* RFC 3720 B.4 */
  memset(buf, 0xFF, 32);
  assert_int_equal(rt_crc32c(0, buf, 32), 0x62A8AB43);
  for (int i = 0; i < 32; i++) buf[i] = (uint8_t)i;
  assert_int_equal(rt_crc32c(0, buf, 32), 0x46DD794E);
  for (int i = 0; i < 32; i++) buf[i] = (uint8_t)(31 - i);
  assert_int_equal(rt_crc32c(0, buf, 32), 0x113FDB5C);
  assert_int_equal(rt_crc32c(0, "123456789", 9), 0xE3069283);
  assert_int_equal(rt_crc32c(0, "", 0), 0);
  /* Continuation and agreement with the bitwise version on odd lengths. */
  uint8_t rnd[1000];
  srand(7);
  for (int i = 0; i < 1000; i++) rnd[i] = (uint8_t)rand();
  for (size_t n = 0; n < 1000; n += 37) {
    uint32_t whole = rt_crc32c(0, rnd, n);
    assert_int_equal(whole, crc32c_bitwise(rnd, n));
    assert_int_equal(rt_crc32c(rt_crc32c(0, rnd, n / 3), rnd + n / 3, n - n / 3), whole);
  }
  assert_int_equal(rt_crc32c_mask(0xE3069283), masked(0xE3069283));
  assert_int_equal(rt_crc32c_mask(0), 0xa282ead8u);
}

static void test_write_and_parse_back(void **state) {
  (void)state;
  char dir[256];
  snprintf(dir, sizeof dir, "%s/runs/exp1", tmp_dir); /* created by open (mkdir -p) */
  RtDiags d = {0};
  double before = (double)time(NULL);
  RtTbWriter *w = rt_tb_open(dir, &d);
  assert_non_null(w);
  char path[512]; /* a copy: the writer's string goes with it */
  snprintf(path, sizeof path, "%s", rt_tb_path(w));
  char prefix[300];
  snprintf(prefix, sizeof prefix, "%s/events.out.tfevents.", dir);
  assert_memory_equal(path, prefix, strlen(prefix));
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  const char *rest = path + strlen(prefix); /* "<unix time>.<hostname>" */
  char *dot;
  long stamp = strtol(rest, &dot, 10);
  assert_true(stamp >= (long)before - 1 && stamp <= (long)time(NULL) + 1);
  assert_int_equal(*dot, '.');
  assert_string_equal(dot + 1, host);

  const char *tags[] = {"train/loss", "val/loss", "val/char_acc", "val/seq_acc", "lr"};
  for (int epoch = 1; epoch <= 2; epoch++)
    for (int k = 0; k < 5; k++) rt_tb_scalar(w, tags[k], epoch * 125, 0.25 * k + epoch);
  assert_true(rt_tb_flush(w, &d));
  /* After a flush the file holds every event, while the writer is still open. */
  Event ev[32];
  int n = read_events(path, ev, 32);
  assert_int_equal(n, 11);
  assert_string_equal(ev[0].file_version, "brain.Event:2");
  assert_int_equal(ev[0].values, 0);
  for (int i = 1; i < n; i++) {
    int epoch = 1 + (i - 1) / 5, k = (i - 1) % 5;
    assert_string_equal(ev[i].tag, tags[k]);
    assert_int_equal(ev[i].values, 1);
    assert_int_equal(ev[i].step, epoch * 125);
    assert_true(ev[i].value == (float)(0.25 * k + epoch));
    assert_true(ev[i].wall_time >= before - 1 && ev[i].wall_time <= (double)time(NULL) + 1);
    assert_string_equal(ev[i].file_version, "");
  }
  /* Steps 0, large and negative (10-byte varint), values that are not exact in float, NaN. */
  rt_tb_scalar(w, "edge/zero", 0, 0.1);
  rt_tb_scalar(w, "edge/big", INT64_C(1) << 40, -3.5e30);
  rt_tb_scalar(w, "edge/negative", -1, 1e-3);
  rt_tb_scalar(w, "edge/nan", 7, NAN);
  rt_tb_scalar(w, "", 8, 2.0);
  assert_true(rt_tb_close(w, &d));
  n = read_events(path, ev, 32);
  assert_int_equal(n, 16);
  assert_string_equal(ev[11].tag, "edge/zero");
  assert_int_equal(ev[11].step, 0);
  assert_true(ev[11].value == 0.1f);
  assert_int_equal(ev[12].step, INT64_C(1) << 40);
  assert_true(ev[12].value == -3.5e30f);
  assert_int_equal(ev[13].step, -1);
  assert_true(ev[13].value == 1e-3f);
  assert_true(isnan(ev[14].value));
  assert_string_equal(ev[15].tag, "");
  assert_int_equal(ev[15].step, 8);
  assert_int_equal(d.errors, 0);
}

static void test_second_writer_gets_its_own_file(void **state) {
  (void)state;
  char dir[256];
  snprintf(dir, sizeof dir, "%s/twice", tmp_dir);
  RtDiags d = {0};
  RtTbWriter *a = rt_tb_open(dir, &d), *b = rt_tb_open(dir, &d);
  assert_non_null(a);
  assert_non_null(b);
  assert_string_not_equal(rt_tb_path(a), rt_tb_path(b));
  rt_tb_scalar(a, "a", 1, 1.0);
  rt_tb_scalar(b, "b", 2, 2.0);
  char pa[512], pb[512];
  snprintf(pa, sizeof pa, "%s", rt_tb_path(a));
  snprintf(pb, sizeof pb, "%s", rt_tb_path(b));
  assert_true(rt_tb_close(a, &d));
  assert_true(rt_tb_close(b, &d));
  Event ev[4];
  assert_int_equal(read_events(pa, ev, 4), 2);
  assert_string_equal(ev[1].tag, "a");
  assert_int_equal(read_events(pb, ev, 4), 2);
  assert_string_equal(ev[1].tag, "b");
  assert_true(strstr(pb, "tfevents") != NULL);
  assert_true(rt_tb_close(NULL, &d));
  assert_int_equal(d.errors, 0);
}

static void test_open_errors(void **state) {
  (void)state;
  char file[256], dir[300];
  snprintf(file, sizeof file, "%s/plain", tmp_dir);
  RtDiags d = {0};
  assert_true(rt_fs_write_atomic(file, "x", 1, &d));
  snprintf(dir, sizeof dir, "%s/logs", file); /* a log dir under a regular file */
  assert_null(rt_tb_open(dir, &d));
  assert_true(d.errors > 0);
  rt_diags_free(&d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_crc32c_vectors),
      cmocka_unit_test(test_write_and_parse_back),
      cmocka_unit_test(test_second_writer_gets_its_own_file),
      cmocka_unit_test(test_open_errors),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

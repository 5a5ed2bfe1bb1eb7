/* Checkpoint files (runtime/rt_safetensors.h, support/rt_fs.h): byte-exact agreement with the
 * reference implementation's serialisation tests, round trips of several dtypes and shapes with
 * metadata through an atomic file write, and hostile inputs: every truncation of a small file,
 * byte flips in the length and header, and hand-made headers with each kind of inconsistency
 * (bad JSON, missing or unknown keys, wrong sizes, overlaps, gaps, duplicates, overflow, bad
 * UTF-8). Each must end in an error naming the file, never a crash or a wrong tensor. Then the
 * training metadata on top (runtime/rt_checkpoint.h): the resume state reads back bit for bit,
 * and impossible epoch counts are refused. */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_support.h"

#include "runtime/rt_checkpoint.h"
#include "runtime/rt_safetensors.h"
#include "support/rt_fs.h"

static char tmp_dir[] = "/tmp/smelt_ckpt_XXXXXX";

static int setup(void **state) {
  (void)state;
  return mkdtemp(tmp_dir) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  test_remove_tree(tmp_dir);
  return 0;
}

static bool has_diag(const RtDiags *d, const char *file, const char *substring) {
  for (int i = 0; i < d->count; i++)
    if (strstr(d->items[i].msg, substring) && strcmp(d->items[i].file, file) == 0) return true;
  return false;
}

/* Parsing must fail with an error whose message contains substring. */
static void expect_bad(const uint8_t *bytes, size_t size, const char *substring) {
  RtDiags d = {0};
  RtStFile *f = rt_st_parse("bad.safetensors", bytes, size, &d);
  if (f || d.errors == 0 || !has_diag(&d, "bad.safetensors", substring)) {
    rt_diags_print(&d, stderr);
    fail_msg("expected an error containing '%s' (file %s, %d errors)", substring, f ? "returned" : "NULL", d.errors);
  }
  rt_diags_free(&d);
}

/* A file from header text and data_len bytes of data (0, 1, 2, ...), header not padded. */
static uint8_t *make_file(const char *header, size_t data_len, size_t *size) {
  size_t hlen = strlen(header);
  *size = 8 + hlen + data_len;
  uint8_t *b = malloc(*size);
  uint64_t n = hlen;
  memcpy(b, &n, 8);
  memcpy(b + 8, header, hlen);
  for (size_t i = 0; i < data_len; i++) b[8 + hlen + i] = (uint8_t)i;
  return b;
}

static void expect_bad_header(const char *header, size_t data_len, const char *substring) {
  size_t size;
  uint8_t *b = make_file(header, data_len, &size);
  expect_bad(b, size, substring);
  free(b);
}

static RtStFile *expect_good_header(const char *header, size_t data_len) {
  size_t size;
  uint8_t *b = make_file(header, data_len, &size);
  RtDiags d = {0};
  RtStFile *f = rt_st_parse("good.safetensors", b, size, &d);
  if (!f) rt_diags_print(&d, stderr);
  assert_non_null(f);
  assert_int_equal(d.errors, 0);
  free(b);
  return f;
}

/* The reference implementation's serialisation tests (safetensors/src/tensor.rs), byte for byte. */
static void test_reference_bytes(void **state) {
  (void)state;
  float v[6] = {0, 1, 2, 3, 4, 5};
  int64_t shape[3] = {1, 2, 3};
  RtStWriter *w = rt_st_writer_new();
  rt_st_writer_add(w, "attn.0", RT_ST_F32, 3, shape, v);
  size_t size;
  uint8_t *out = rt_st_writer_serialize(w, &size);
  const char *json = "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}";
  assert_int_equal(size, 8 + 64 + 24);
  assert_int_equal(out[0], 64);
  assert_memory_equal(out + 8, json, 64);
  assert_memory_equal(out + 72, v, 24);
  free(out);
  rt_st_writer_free(w);

  w = rt_st_writer_new(); /* no tensors: "{}" padded with spaces to 8 */
  out = rt_st_writer_serialize(w, &size);
  const uint8_t empty[] = {8, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '};
  assert_int_equal(size, sizeof empty);
  assert_memory_equal(out, empty, sizeof empty);
  free(out);
  rt_st_writer_set_meta(w, "framework", "pt");
  out = rt_st_writer_serialize(w, &size);
  const char *meta = "{\"__metadata__\":{\"framework\":\"pt\"}}     ";
  assert_int_equal(size, 48);
  assert_int_equal(out[0], 40);
  assert_memory_equal(out + 8, meta, 40);
  RtDiags d = {0};
  RtStFile *f = rt_st_parse("meta.safetensors", out, size, &d);
  assert_non_null(f);
  assert_string_equal(rt_st_meta(f, "framework"), "pt");
  assert_int_equal(rt_st_count(f), 0);
  rt_st_free(f);
  free(out);
  rt_st_writer_free(w);
}

typedef struct Fixture {
  float w[2][3];
  int32_t ids[4];
  int64_t step;
  double stats[2][2][2];
  uint8_t bytes[5];
  float nothing[1]; /* a (0, 3) tensor: no data */
} Fixture;

static RtStWriter *fixture_writer(Fixture *x) {
  for (int i = 0; i < 6; i++) x->w[i / 3][i % 3] = 0.5f * (float)i - 1.0f;
  for (int i = 0; i < 4; i++) x->ids[i] = -7 + 1000 * i;
  x->step = INT64_C(123456789012345);
  for (int i = 0; i < 8; i++) x->stats[i / 4][(i / 2) % 2][i % 2] = 1.0 / (i + 1);
  memcpy(x->bytes, "\x00\x7f\x80\xfe\xff", 5);
  RtStWriter *w = rt_st_writer_new();
  rt_st_writer_add(w, "conv2d_1.weight", RT_ST_F32, 2, (int64_t[]){2, 3}, x->w);
  rt_st_writer_add(w, "labels", RT_ST_I32, 1, (int64_t[]){4}, x->ids);
  rt_st_writer_add(w, "step", RT_ST_I64, 0, NULL, &x->step);
  rt_st_writer_add(w, "bn.stats", RT_ST_F64, 3, (int64_t[]){2, 2, 2}, x->stats);
  rt_st_writer_add(w, "mask", RT_ST_U8, 1, (int64_t[]){5}, x->bytes);
  rt_st_writer_add(w, "opt.m.empty", RT_ST_F32, 2, (int64_t[]){0, 3}, x->nothing);
  rt_st_writer_set_meta(w, "preset", "name: small\nlayers:\n  - conv: {filters: 32}\n");
  rt_st_writer_set_meta(w, "charset", "0123456789abc\"\\é€😀");
  rt_st_writer_set_meta(w, "config", "{\"lr\": 0.001, \"epochs\": 50}");
  rt_st_writer_set_meta(w, "epoch", "3");
  rt_st_writer_set_meta(w, "epoch", "4"); /* replaces */
  return w;
}

static void check_fixture(const RtStFile *f, const Fixture *x) {
  assert_int_equal(rt_st_count(f), 6);
  assert_int_equal(rt_st_meta_count(f), 4);
  assert_string_equal(rt_st_meta(f, "preset"), "name: small\nlayers:\n  - conv: {filters: 32}\n");
  assert_string_equal(rt_st_meta(f, "charset"), "0123456789abc\"\\é€😀");
  assert_string_equal(rt_st_meta(f, "config"), "{\"lr\": 0.001, \"epochs\": 50}");
  assert_string_equal(rt_st_meta(f, "epoch"), "4");
  assert_null(rt_st_meta(f, "missing"));
  const char *k, *v;
  rt_st_meta_at(f, 0, &k, &v);
  assert_string_equal(k, "preset");

  const RtStTensor *t = rt_st_find(f, "conv2d_1.weight");
  assert_non_null(t);
  assert_int_equal(t->dtype, RT_ST_F32);
  assert_int_equal(t->rank, 2);
  assert_int_equal(t->shape[0], 2);
  assert_int_equal(t->shape[1], 3);
  assert_int_equal(t->count, 6);
  assert_memory_equal(t->data, x->w, sizeof x->w);
  t = rt_st_find(f, "step");
  assert_int_equal(t->rank, 0);
  assert_int_equal(t->count, 1);
  assert_memory_equal(t->data, &x->step, 8);
  assert_memory_equal(rt_st_find(f, "bn.stats")->data, x->stats, sizeof x->stats);
  assert_memory_equal(rt_st_find(f, "labels")->data, x->ids, sizeof x->ids);
  assert_memory_equal(rt_st_find(f, "mask")->data, x->bytes, 5);
  t = rt_st_find(f, "opt.m.empty");
  assert_int_equal(t->count, 0);
  assert_int_equal(t->nbytes, 0);
  assert_null(rt_st_find(f, "conv2d_1.weigh"));
  assert_null(rt_st_find(f, ""));

  /* File order: by decreasing element size, insertion order within one size; every tensor
   * aligned to its element size relative to the data section. */
  const char *order[] = {"step", "bn.stats", "conv2d_1.weight", "labels", "opt.m.empty", "mask"};
  const uint8_t *base = rt_st_tensor(f, 0)->data;
  for (int i = 0; i < 6; i++) {
    t = rt_st_tensor(f, i);
    assert_string_equal(t->name, order[i]);
    assert_int_equal((size_t)(t->data - base) % rt_st_dtype_size(t->dtype), 0);
  }
}

static void test_round_trip_file(void **state) {
  (void)state;
  Fixture x;
  RtStWriter *w = fixture_writer(&x);
  char path[256];
  snprintf(path, sizeof path, "%s/last.safetensors", tmp_dir);
  RtDiags d = {0};
  assert_true(rt_st_writer_write(w, path, &d));
  memset(x.w, 0, sizeof x.w); /* data is borrowed: the second write carries the new values */
  x.w[0][0] = 42;             /* and replaces the first file atomically */
  assert_true(rt_st_writer_write(w, path, &d));
  rt_st_writer_free(w);
  RtStFile *f = rt_st_load(path, &d);
  assert_int_equal(d.errors, 0);
  assert_non_null(f);
  check_fixture(f, &x);

  /* The raw layout: header length a multiple of 8, header starting with '{'. */
  FILE *fp = fopen(path, "rb");
  uint8_t head[9];
  assert_int_equal(fread(head, 1, 9, fp), 9);
  fclose(fp);
  uint64_t hlen;
  memcpy(&hlen, head, 8);
  assert_int_equal(hlen % 8, 0);
  assert_int_equal(head[8], '{');

  /* rt_st_read: checked copies. */
  float wcopy[2][3];
  assert_true(rt_st_read(f, "conv2d_1.weight", RT_ST_F32, 2, (int64_t[]){2, 3}, wcopy, &d));
  assert_memory_equal(wcopy, x.w, sizeof wcopy);
  assert_false(rt_st_read(f, "conv2d_1.weight", RT_ST_F32, 2, (int64_t[]){3, 2}, wcopy, &d));
  assert_true(has_diag(&d, path, "tensor 'conv2d_1.weight' is F32 [2, 3], expected F32 [3, 2]"));
  assert_false(rt_st_read(f, "labels", RT_ST_I64, 1, (int64_t[]){4}, wcopy, &d));
  assert_true(has_diag(&d, path, "is I32 [4], expected I64 [4]"));
  assert_false(rt_st_read(f, "conv2d_1.wieght", RT_ST_F32, 2, (int64_t[]){2, 3}, wcopy, &d));
  assert_true(has_diag(&d, path, "no tensor 'conv2d_1.wieght' (did you mean 'conv2d_1.weight'?)"));
  assert_int_equal(d.errors, 3);
  rt_diags_free(&d);
  rt_st_free(f);

  /* No temporary file is left beside the checkpoint. */
  DIR *dp = opendir(tmp_dir);
  struct dirent *e;
  while ((e = readdir(dp))) assert_null(strstr(e->d_name, ".tmp."));
  closedir(dp);
}

static void test_every_truncation_fails(void **state) {
  (void)state;
  Fixture x;
  RtStWriter *w = fixture_writer(&x);
  size_t size;
  uint8_t *full = rt_st_writer_serialize(w, &size);
  rt_st_writer_free(w);
  RtDiags d = {0};
  RtStFile *f = rt_st_parse("full.safetensors", full, size, &d);
  assert_non_null(f);
  check_fixture(f, &x);
  rt_st_free(f);
  for (size_t n = 0; n < size; n++) {
    f = rt_st_parse("cut.safetensors", full, n, &d);
    if (f) fail_msg("a file truncated to %zu of %zu bytes was accepted", n, size);
    assert_true(d.errors > 0);
    assert_string_equal(d.items[0].file, "cut.safetensors");
    rt_diags_free(&d);
  }
  /* One byte too many is as wrong as one too few. */
  uint8_t *longer = malloc(size + 1);
  memcpy(longer, full, size);
  longer[size] = 0;
  expect_bad(longer, size + 1, "belong to no tensor");
  free(longer);
  free(full);
}

/* Flipping bits anywhere in the length or the header gives an error or a file that is still
 * consistent (e.g. a changed letter in a name); never a crash, never a tensor outside the data. */
static void test_header_byte_flips(void **state) {
  (void)state;
  Fixture x;
  RtStWriter *w = fixture_writer(&x);
  size_t size;
  uint8_t *full = rt_st_writer_serialize(w, &size);
  rt_st_writer_free(w);
  uint64_t hlen;
  memcpy(&hlen, full, 8);
  const uint8_t masks[] = {0x01, 0x02, 0x10, 0x20, 0x40, 0x80, 0xFF};
  int rejected = 0, accepted = 0;
  for (size_t at = 0; at < 8 + hlen; at++)
    for (size_t m = 0; m < sizeof masks; m++) {
      full[at] ^= masks[m];
      RtDiags d = {0};
      RtStFile *f = rt_st_parse("flip.safetensors", full, size, &d);
      if (f) {
        accepted++;
        assert_int_equal(d.errors, 0);
        size_t covered = 0;
        for (int i = 0; i < rt_st_count(f); i++) {
          const RtStTensor *t = rt_st_tensor(f, i);
          assert_int_equal(t->nbytes, (size_t)t->count * rt_st_dtype_size(t->dtype));
          covered += t->nbytes;
          assert_ptr_equal(rt_st_find(f, t->name), t);
        }
        assert_int_equal(covered, size - 8 - hlen);
      } else {
        rejected++;
        assert_true(d.errors > 0);
      }
      rt_st_free(f);
      rt_diags_free(&d);
      full[at] ^= masks[m];
    }
  /* Most flips break something; flips in names, metadata text and padding may not (about 1 in 5
   * here, the metadata holding much free text). */
  if (!(rejected > 2 * accepted)) fail_msg("%d flips rejected, %d accepted", rejected, accepted);
  assert_true(accepted > 0);
  free(full);
}

static void test_bad_framing(void **state) {
  (void)state;
  expect_bad((const uint8_t *)"", 0, "fewer than the 8-byte header length");
  expect_bad((const uint8_t *)"\x10\0\0\0", 4, "fewer than the 8-byte header length");
  size_t size;
  uint8_t *b = make_file("{}", 0, &size);
  b[0] = 3; /* header length past the end of the file */
  expect_bad(b, size, "exceeds the file size");
  memset(b, 0xFF, 8); /* 2^64 - 1 */
  expect_bad(b, size, "exceeds the 100 MB limit");
  free(b);
  expect_bad_header("", 0, "does not start with '{'");
  expect_bad_header("[1, 2]", 0, "does not start with '{'");
  expect_bad_header(" {}", 0, "does not start with '{'");
  expect_bad_header("{\"a\":{\"dtype\":\"F32\",", 0, "not valid JSON");
  expect_bad_header("{\"a\" 1}", 0, "not valid JSON");
  expect_bad_header("{}x", 0, "bytes after its JSON object");
  expect_bad_header("{}{}", 0, "bytes after its JSON object");
  expect_bad_header("{\"\xff\":1}", 0, "not valid UTF-8");
  expect_bad_header("{\"\xc0\xaf\":1}", 0, "not valid UTF-8"); /* overlong '/' */
  expect_bad_header("{\"\xed\xa0\x80\":1}", 0, "not valid UTF-8"); /* a surrogate */
  size_t n;
  uint8_t *nul = make_file("{}  ", 0, &n);
  nul[11] = 0; /* a NUL in the padding */
  expect_bad(nul, n, "bytes after its JSON object");
  free(nul);
}

static void test_bad_entries(void **state) {
  (void)state;
  expect_bad_header("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "tensor 'a': missing 'dtype'");
  expect_bad_header("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "missing 'shape'");
  expect_bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "missing 'data_offsets'");
  expect_bad_header("{\"a\":{\"dtype\":\"F17\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "unknown dtype 'F17'");
  expect_bad_header("{\"a\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "unknown dtype (not a string)");
  expect_bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"offsets\":[0,4]}}", 4, "unknown key 'offsets'");
  expect_bad_header("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
                    "duplicate key 'dtype'");
  expect_bad_header("{\"a\":[]}", 0, "tensor 'a': entry is not an object");
  expect_bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":1,\"data_offsets\":[0,4]}}", 4, "shape must be an array");
  expect_bad_header("{\"a\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}", 1,
                    "at most 8 sizes");
  expect_bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "shape[0] is not a non-negative integer");
  expect_bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4, "shape[0] is not");
  expect_bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}", 4, "shape[0] is not");
  expect_bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1e300],\"data_offsets\":[0,4]}}", 4, "shape[0] is not");
  expect_bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4, "data_offsets must be [begin, end]");
  expect_bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 4, "data_offsets must be");
  expect_bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":{\"a\":0,\"b\":4}}}", 4, "data_offsets must be");
  expect_bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4, "end before begin");
  expect_bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,8]}}", 4, "past the end of the file");
  expect_bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,9007199254740994]}}", 4,
                    "data_offsets must be");
  /* Wrong sizes: the offsets span 12 bytes, the shape needs 16. */
  expect_bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}", 12,
                    "tensor 'a': 12 bytes at data_offsets, but shape and dtype F32 need 16");
  expect_bad_header("{\"a\":{\"dtype\":\"F64\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,8]}}", 8,
                    "need more than");
  expect_bad_header("{\"a\":{\"dtype\":\"F64\",\"shape\":[4294967296,536870912],\"data_offsets\":[0,8]}}", 8,
                    "need more than"); /* 2^61 elements * 8 bytes overflows only in the byte count */
}

static void test_bad_layout_and_names(void **state) {
  (void)state;
  const char *ab = "{\"a\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]},"
                   "\"b\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[4,12]}}";
  expect_bad_header(ab, 12, "tensor 'b' [4, 12) overlaps tensor 'a' that ends at 8");
  const char *gap = "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
                    "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[8,12]}}";
  expect_bad_header(gap, 12, "gap of 4 bytes before tensor 'b'");
  const char *late = "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[4,8]}}";
  expect_bad_header(late, 8, "gap of 4 bytes before tensor 'a'");
  const char *same = "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
                     "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}";
  expect_bad_header(same, 4, "overlaps");
  expect_bad_header("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}", 16, "12 bytes after the last tensor");
  expect_bad_header("{}", 3, "3 bytes after the last tensor");
  const char *dup = "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
                    "\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[4,8]}}";
  expect_bad_header(dup, 8, "duplicate tensor name 'a'");
  expect_bad_header("{\"__metadata__\":{\"k\":1}}", 0, "__metadata__ value of 'k' is not a string");
  expect_bad_header("{\"__metadata__\":[\"k\"]}", 0, "__metadata__ is not an object");
  expect_bad_header("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0, "duplicate __metadata__ key 'k'");
  expect_bad_header("{\"__metadata__\":{},\"__metadata__\":{}}", 0, "duplicate key '__metadata__'");
  /* Every problem is reported, not just the first. */
  size_t size;
  uint8_t *b = make_file("{\"a\":{\"dtype\":\"X\",\"shape\":[1],\"data_offsets\":[0,1]},"
                         "\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[1,2]},\"__metadata__\":{\"k\":0}}",
                         2, &size);
  RtDiags d = {0};
  assert_null(rt_st_parse("many.safetensors", b, size, &d));
  assert_int_equal(d.errors, 3);
  rt_diags_free(&d);
  free(b);
}

static void test_good_unusual_headers(void **state) {
  (void)state;
  /* Entries in any JSON order, zero-sized tensors anywhere, whitespace padding, other dtypes. */
  RtStFile *f = expect_good_header(
      "{ \"b\": {\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[8,12]},\n"
      "  \"z\": {\"data_offsets\":[8,8],\"shape\":[0,5],\"dtype\":\"F32\"},\n"
      "  \"a\": {\"dtype\":\"U64\",\"shape\":[],\"data_offsets\":[0,8]},\n"
      "  \"__metadata__\": {\"format\": \"pt\", \"\": \"empty key\"} }\t\r\n  ",
      12);
  assert_int_equal(rt_st_count(f), 3);
  assert_string_equal(rt_st_tensor(f, 0)->name, "a");
  assert_string_equal(rt_st_tensor(f, 2)->name, "b"); /* z [8, 8) sorts before b [8, 12) */
  assert_int_equal(rt_st_find(f, "b")->dtype, RT_ST_BF16);
  assert_int_equal(rt_st_find(f, "z")->count, 0);
  assert_int_equal(rt_st_find(f, "b")->data[0], 8);
  assert_string_equal(rt_st_meta(f, ""), "empty key");
  rt_st_free(f);
  f = expect_good_header("{}", 0);
  assert_int_equal(rt_st_count(f), 0);
  assert_int_equal(rt_st_meta_count(f), 0);
  assert_null(rt_st_find(f, "a"));
  rt_st_free(f);
  assert_int_equal(rt_st_dtype_parse("F32"), RT_ST_F32);
  assert_int_equal(rt_st_dtype_parse("f32"), -1);
  assert_string_equal(rt_st_dtype_name(RT_ST_I64), "I64");
  assert_int_equal(rt_st_dtype_size(RT_ST_F64), 8);
}

/* The fuzz target's seed corpus (tests/fuzz/corpus/safetensors, scripts/fuzz_corpus.py) is what
 * it claims: these files are valid, every other one is refused with a diagnostic, and the
 * checkpoint-shaped one passes the checkpoint metadata check. */
static void test_fuzz_seed_corpus(void **state) {
  (void)state;
  static const char *const valid[] = {"all_dtypes", "checkpoint",     "empty",           "metadata_only",
                                      "one_f32",    "rank6_unicode", "scalar_and_empty", "unpadded"};
  const char *dir = SMELT_SOURCE_DIR "/tests/fuzz/corpus/safetensors";
  DIR *dp = opendir(dir);
  assert_non_null(dp);
  int files = 0, accepted = 0;
  for (struct dirent *e; (e = readdir(dp));) {
    if (e->d_name[0] == '.') continue;
    files++;
    bool want = false;
    for (size_t i = 0; i < sizeof valid / sizeof *valid; i++) {
      size_t n = strlen(valid[i]);
      want |= strncmp(e->d_name, valid[i], n) == 0 && strcmp(e->d_name + n, ".safetensors") == 0;
    }
    char path[700];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    RtDiags d = {0};
    RtStFile *f = rt_st_load(path, &d);
    if ((f != NULL) != want || (f == NULL) != (d.errors > 0))
      fail_msg("%s: %s (%s)", e->d_name, f ? "accepted" : "refused", d.count ? d.items[0].msg : "no diagnostic");
    accepted += f != NULL;
    if (f && strcmp(e->d_name, "checkpoint.safetensors") == 0) {
      assert_true(rt_checkpoint_check_meta(f, path, &d));
      assert_true(rt_checkpoint_check_symbols(f, path, 4, &d));
    }
    rt_st_free(f);
    rt_diags_free(&d);
  }
  closedir(dp);
  assert_int_equal(accepted, (int)(sizeof valid / sizeof *valid));
  assert_true(files > accepted + 8); /* and near-valid ones */
}

static void test_file_errors(void **state) {
  (void)state;
  RtDiags d = {0};
  char path[256];
  snprintf(path, sizeof path, "%s/missing.safetensors", tmp_dir);
  assert_null(rt_st_load(path, &d));
  assert_true(has_diag(&d, path, "cannot open"));
  assert_null(rt_st_load(tmp_dir, &d)); /* a directory */
  assert_true(has_diag(&d, tmp_dir, "not a regular file"));
  /* Writing into a directory that does not exist fails cleanly. */
  snprintf(path, sizeof path, "%s/no/such/dir/x.safetensors", tmp_dir);
  RtStWriter *w = rt_st_writer_new();
  assert_false(rt_st_writer_write(w, path, &d));
  assert_true(has_diag(&d, path, "cannot create temporary file"));
  rt_st_writer_free(w);
  rt_diags_free(&d);
}

static void test_fs_helpers(void **state) {
  (void)state;
  RtDiags d = {0};
  char path[256], file[256];
  snprintf(path, sizeof path, "%s/x/y//z/", tmp_dir);
  assert_true(rt_fs_mkdirs(path, &d));
  assert_true(rt_fs_mkdirs(path, &d)); /* again: already there */
  struct stat st;
  snprintf(path, sizeof path, "%s/x/y/z", tmp_dir);
  assert_int_equal(stat(path, &st), 0);
  assert_true(S_ISDIR(st.st_mode));
  snprintf(file, sizeof file, "%s/x/file.txt", tmp_dir);
  assert_true(rt_fs_write_atomic(file, "first", 5, &d));
  assert_true(rt_fs_write_atomic(file, "second!", 7, &d));
  uint8_t *data;
  size_t size;
  assert_true(rt_fs_read_file(file, &data, &size, &d));
  assert_int_equal(size, 7);
  assert_string_equal((char *)data, "second!");
  free(data);
  assert_int_equal(d.errors, 0);
  snprintf(path, sizeof path, "%s/x/file.txt/sub", tmp_dir); /* through a regular file */
  assert_false(rt_fs_mkdirs(path, &d));
  assert_true(d.errors > 0);
  assert_false(rt_fs_mkdirs("", &d));
  rt_diags_free(&d);
  /* An aborted replacement leaves the old contents and no temporary file. */
  RtFsAtomic *a = rt_fs_atomic_begin(file, &d);
  assert_non_null(a);
  rt_fs_atomic_write(a, "junk", 4);
  rt_fs_atomic_abort(a);
  assert_true(rt_fs_read_file(file, &data, &size, &d));
  assert_string_equal((char *)data, "second!");
  free(data);
  snprintf(path, sizeof path, "%s/x", tmp_dir);
  DIR *dp = opendir(path);
  struct dirent *e;
  int entries = 0;
  while ((e = readdir(dp))) entries += e->d_name[0] != '.';
  closedir(dp);
  assert_int_equal(entries, 2); /* y and file.txt */
}

/* A one-tensor model: enough for rt_checkpoint's save and load. */
static const RtSlot one_slot = {.name = "w", .dtype = RT_F32, .rank = 1, .dims = {3}, .trainable = true};
static const RtModel one_tensor_model = {.state_bytes = 12, .state = &one_slot, .n_state = 1, .channels = 1,
                                         .height = 8, .width = 12, .symbols = 10, .preset_name = "tiny", .preset_text = "x: 1\n"};

/* Values a resume must get back exactly: cJSON's own printer rounds 1 + 2^-52 to "1" (it reads
 * back within its epsilon), which would make an equal accuracy count as an improvement. */
static void test_trainer_state_exact(void **state) {
  (void)state;
  float w[3] = {1, -2, 3.5f}, back[3] = {0};
  RtCheckpointInfo info = {.epoch = 7, .step = 4321, .seed = 42, .best_metric = RT_METRIC_VAL_SEQ_ACC,
                           .best_value = nextafter(1.0, 2.0), .best_epoch = 5, .wall_seconds = 1234.5678901234567,
                           .train_seconds = nextafter(1000.0, 0.0), .trained_samples = INT64_C(123456789),
                           .charset = "0123", .config_json = "{\"epochs\":9}"};
  info.schedule.cfg.epochs = 9;
  info.schedule.lr = nextafter(0.001, 1.0);
  info.schedule.best = nextafter(3.0, 4.0);
  info.schedule.has_best = true;
  info.schedule.bad_epochs = 2;
  info.schedule.reductions = 1;
  info.early.best = nextafter(1.0, 2.0);
  info.early.has_best = true;
  info.early.best_epoch = 4;
  info.early.bad_epochs = 2;
  char path[600];
  snprintf(path, sizeof path, "%s/state.safetensors", tmp_dir);
  RtDiags d = {0};
  assert_true(rt_checkpoint_save(path, &one_tensor_model, w, &info, &d));
  RtCheckpointInfo got = {0};
  assert_true(rt_checkpoint_load(path, &one_tensor_model, back, &got, &d));
  assert_memory_equal(back, w, sizeof w);
  assert_int_equal(got.epoch, 7);
  assert_int_equal(got.step, 4321);
  assert_int_equal(got.best_epoch, 5);
  assert_true(got.best_value == info.best_value);
  assert_int_equal(got.schedule.cfg.epochs, 9);
  assert_true(got.schedule.lr == info.schedule.lr);
  assert_true(got.schedule.best == info.schedule.best);
  assert_true(got.schedule.has_best);
  assert_int_equal(got.schedule.bad_epochs, 2);
  assert_int_equal(got.schedule.reductions, 1);
  assert_true(got.early.best == info.early.best);
  assert_true(got.early.has_best);
  assert_int_equal(got.early.best_epoch, 4);
  assert_int_equal(got.early.bad_epochs, 2);
  assert_true(got.wall_seconds == info.wall_seconds);
  assert_true(got.train_seconds == info.train_seconds);
  assert_int_equal(got.trained_samples, info.trained_samples);
  assert_string_equal(got.charset, "0123");
  assert_string_equal(got.config_json, "{\"epochs\":9}");
  free((void *)got.charset);
  free((void *)got.config_json);
  assert_int_equal(d.errors, 0);
}

/* The weight average (ema_decay) rides along in the checkpoint as "opt.ema.<name>": read back
 * exactly when asked for, reported absent from a checkpoint of a run without it. */
static void test_ema_round_trip(void **state) {
  (void)state;
  float w[3] = {1, -2, 3.5f}, avg[3] = {0.5f, -1.25f, 3}, back[3] = {0}, avg_back[3] = {0};
  RtCheckpointInfo info = {.epoch = 2, .step = 10, .best_epoch = 1, .charset = "0", .config_json = "{}", .ema = avg};
  info.schedule.cfg.epochs = 3;
  char with[600], without[600];
  snprintf(with, sizeof with, "%s/ema.safetensors", tmp_dir);
  snprintf(without, sizeof without, "%s/no_ema.safetensors", tmp_dir);
  RtDiags d = {0};
  assert_true(rt_checkpoint_save(with, &one_tensor_model, w, &info, &d));
  info.ema = NULL;
  assert_true(rt_checkpoint_save(without, &one_tensor_model, w, &info, &d));
  RtCheckpointInfo got = {.ema = avg_back};
  assert_true(rt_checkpoint_load(with, &one_tensor_model, back, &got, &d));
  assert_true(got.has_ema);
  assert_memory_equal(back, w, sizeof w);
  assert_memory_equal(avg_back, avg, sizeof avg);
  free((void *)got.charset);
  free((void *)got.config_json);
  memset(avg_back, 0, sizeof avg_back);
  got = (RtCheckpointInfo){.ema = avg_back};
  assert_true(rt_checkpoint_load(without, &one_tensor_model, back, &got, &d));
  assert_false(got.has_ema);
  assert_true(avg_back[0] == 0 && avg_back[1] == 0 && avg_back[2] == 0);
  free((void *)got.charset);
  free((void *)got.config_json);
  assert_int_equal(d.errors, 0);
}

/* Saves a checkpoint of `info` (a 3-epoch run's) and checks that loading it fails with `message`. */
static void expect_load_refused(RtCheckpointInfo *info, const char *message) {
  static int saved;
  float w[3] = {0};
  info->charset = "0";
  info->config_json = "{}";
  info->schedule.cfg.epochs = 3;
  char path[600];
  snprintf(path, sizeof path, "%s/refused%d.safetensors", tmp_dir, saved++);
  RtDiags d = {0};
  assert_true(rt_checkpoint_save(path, &one_tensor_model, w, info, &d));
  RtCheckpointInfo got = {0};
  assert_false(rt_checkpoint_load(path, &one_tensor_model, w, &got, &d));
  if (!has_diag(&d, path, message)) {
    rt_diags_print(&d, stderr);
    fail_msg("loading %s did not say '%s'", path, message);
  }
  rt_diags_free(&d);
}

/* A checkpoint whose epoch or step cannot be (a corrupt or hand-edited file) is an error, not a
 * negative index into the run's history. */
static void test_impossible_epochs_refused(void **state) {
  (void)state;
  const struct { int32_t epoch; int64_t step; int32_t best_epoch; } bad[] = {{0, 5, 0}, {-3, 5, 0}, {2, -1, 1}, {2, 5, 3}};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    RtCheckpointInfo info = {.epoch = bad[i].epoch, .step = bad[i].step, .best_epoch = bad[i].best_epoch};
    expect_load_refused(&info, "lacks a valid epoch, step or best_epoch");
  }
  /* an early-stopping best after the last completed epoch would index past the history */
  RtCheckpointInfo info = {.epoch = 2, .step = 5, .best_epoch = 2};
  info.early.best_epoch = 2; /* 0-based: a third epoch */
  expect_load_refused(&info, "trainer_state disagrees with its epoch and best_epoch");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_reference_bytes),
      cmocka_unit_test(test_round_trip_file),
      cmocka_unit_test(test_ema_round_trip),
      cmocka_unit_test(test_every_truncation_fails),
      cmocka_unit_test(test_header_byte_flips),
      cmocka_unit_test(test_bad_framing),
      cmocka_unit_test(test_bad_entries),
      cmocka_unit_test(test_bad_layout_and_names),
      cmocka_unit_test(test_good_unusual_headers),
      cmocka_unit_test(test_fuzz_seed_corpus),
      cmocka_unit_test(test_file_errors),
      cmocka_unit_test(test_fs_helpers),
      cmocka_unit_test(test_trainer_state_exact),
      cmocka_unit_test(test_impossible_epochs_refused),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

/* Datasets (runtime/rt_labels.h, rt_charset.h, rt_dataset.h): UTF-8 and charsets, labels.tsv
 * parsing with exact problems, dataset loading under the stop and skip policies with exact
 * file:line diagnostics, and the seeded train/validation split. Image decoding and conversion are
 * in test_rt_data_image.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "runtime/rt_charset.h"
#include "runtime/rt_dataset.h"
#include "runtime/rt_labels.h"
#include "test_rt_data_fixture.h"

/* ---- UTF-8 and charsets ---- */

static void test_utf8(void **state) {
  uint32_t cp = 0;
  assert_int_equal(rt_utf8_decode("A", 1, &cp), 1);
  assert_int_equal(cp, 'A');
  assert_int_equal(rt_utf8_decode("\xC3\xA9", 2, &cp), 2);
  assert_int_equal(cp, 0xE9);
  assert_int_equal(rt_utf8_decode("\xE4\xB8\xAD", 3, &cp), 3);
  assert_int_equal(cp, 0x4E2D);
  assert_int_equal(rt_utf8_decode("\xF0\x9F\x98\x80", 4, &cp), 4);
  assert_int_equal(cp, 0x1F600);
  assert_int_equal(rt_utf8_decode("\xC0\x81", 2, &cp), 0);         /* overlong */
  assert_int_equal(rt_utf8_decode("\xE0\x80\x80", 3, &cp), 0);     /* overlong */
  assert_int_equal(rt_utf8_decode("\xED\xA0\x80", 3, &cp), 0);     /* surrogate */
  assert_int_equal(rt_utf8_decode("\xF4\x90\x80\x80", 4, &cp), 0); /* above U+10FFFF */
  assert_int_equal(rt_utf8_decode("\xE4\xB8", 2, &cp), 0);         /* truncated */
  assert_int_equal(rt_utf8_decode("\x80", 1, &cp), 0);             /* lone continuation */
  assert_int_equal(rt_utf8_decode("\xC3\x41", 2, &cp), 0);         /* bad continuation */
  size_t bad = 0;
  assert_int_equal(rt_utf8_count("a\xC3\xA9z", 4, NULL), 3);
  assert_int_equal(rt_utf8_count("ab\xFFz", 4, &bad), -1);
  assert_int_equal(bad, 2);
  const uint32_t cps[] = {0x41, 0x7FF, 0x800, 0xFFFF, 0x10000, 0x10FFFF};
  for (int i = 0; i < 6; i++) { /* encode then decode gives the code point back */
    char buf[4];
    int n = rt_utf8_encode(cps[i], buf);
    assert_int_equal(rt_utf8_decode(buf, (size_t)n, &cp), n);
    assert_int_equal(cp, cps[i]);
  }
}

static void test_charset_explicit(void **state) {
  RtCharset cs;
  char err[256];
  /* order kept: ids follow the string, not code point order */
  assert_true(rt_charset_init(&cs, "z\xC3\xA9" "a\xE4\xB8\xAD", err, sizeof err));
  assert_int_equal(cs.size, 4);
  assert_int_equal(rt_charset_id(&cs, 'z'), 0);
  assert_int_equal(rt_charset_id(&cs, 0xE9), 1);
  assert_int_equal(rt_charset_id(&cs, 'a'), 2);
  assert_int_equal(rt_charset_id(&cs, 0x4E2D), 3);
  assert_int_equal(rt_charset_id(&cs, 'b'), -1);
  assert_string_equal(cs.utf8, "z\xC3\xA9" "a\xE4\xB8\xAD");
  int32_t ids[8];
  assert_int_equal(rt_charset_encode(&cs, "a\xE4\xB8\xADz\xC3\xA9", ids, 8, NULL, NULL), 4);
  assert_int_equal(ids[0], 2);
  assert_int_equal(ids[1], 3);
  assert_int_equal(ids[2], 0);
  assert_int_equal(ids[3], 1);
  char out[32];
  assert_int_equal(rt_charset_decode(&cs, ids, 4, out, sizeof out), 7);
  assert_string_equal(out, "a\xE4\xB8\xADz\xC3\xA9");
  /* more symbols than room: the count, only cap written */
  assert_int_equal(rt_charset_encode(&cs, "aaaaa", ids, 2, NULL, NULL), 5);
  uint32_t bad_cp = 0;
  size_t off = 0;
  assert_int_equal(rt_charset_encode(&cs, "az\xC3\xA9" "b", ids, 8, &bad_cp, &off), RT_ENCODE_UNKNOWN);
  assert_int_equal(bad_cp, 'b');
  assert_int_equal(off, 4);
  assert_int_equal(rt_charset_encode(&cs, "a\xFF", ids, 8, NULL, &off), RT_ENCODE_BAD_UTF8);
  assert_int_equal(off, 1);
  int32_t wrong[] = {0, 4};
  assert_int_equal(rt_charset_decode(&cs, wrong, 2, out, sizeof out), -1);
  assert_string_equal(out, "");
  assert_int_equal(rt_charset_decode(&cs, ids, 1, out, 1), -1); /* no room */
  RtCharset copy;
  rt_charset_copy(&copy, &cs);
  assert_string_equal(copy.utf8, cs.utf8);
  assert_int_equal(rt_charset_id(&copy, 0x4E2D), 3);
  rt_charset_free(&copy);
  rt_charset_free(&cs);

  assert_false(rt_charset_init(&cs, "abca", err, sizeof err));
  assert_string_equal(err, "charset repeats the symbol 'a' (U+0061)");
  assert_false(rt_charset_init(&cs, "", err, sizeof err));
  assert_string_equal(err, "charset is empty");
  assert_false(rt_charset_init(&cs, "ab\xC3", err, sizeof err));
  assert_string_equal(err, "charset is not valid UTF-8 (byte 3)");
  assert_false(rt_charset_init(&cs, "ab\tc", err, sizeof err));
  assert_string_equal(err, "charset symbol 3 is a control character (U+0009)");
  assert_null(cs.utf8);
}

static void test_charset_build(void **state) {
  const char *texts[] = {"CAB", "b\xC3\xA9", "AAA", "9"};
  RtCharset cs;
  rt_charset_build(&cs, texts, 4);
  assert_string_equal(cs.utf8, "9ABCb\xC3\xA9"); /* sorted by code point, distinct */
  assert_int_equal(cs.size, 6);
  int32_t ids[4];
  assert_int_equal(rt_charset_encode(&cs, "CAB", ids, 4, NULL, NULL), 3);
  assert_int_equal(ids[0], 3);
  assert_int_equal(ids[1], 1);
  assert_int_equal(ids[2], 2);
  rt_charset_free(&cs);
}

/* ---- labels.tsv ---- */

static void expect_problem(const RtLabels *l, int i, int line, int col, bool fatal, const char *msg) {
  assert_true(i < l->problem_count);
  assert_int_equal(l->problems[i].line, line);
  assert_int_equal(l->problems[i].col, col);
  assert_int_equal(l->problems[i].fatal, fatal);
  assert_string_equal(l->problems[i].msg, msg);
}

static void test_labels_good(void **state) {
  const char text[] = "\xEF\xBB\xBF" "a.png\tAB\r\n\nsub/b c.png\t x\xC3\xA9 \n/abs/c.jpg\t9";
  RtLabels l;
  rt_labels_parse(text, sizeof text - 1, &l);
  assert_int_equal(l.count, 3);
  assert_int_equal(l.bad_lines, 0);
  expect_problem(&l, 0, 1, 1, false, "UTF-8 byte order mark ignored");
  assert_int_equal(l.problem_count, 1);
  assert_int_equal(l.lines[0].line, 1);
  assert_string_equal(l.lines[0].path, "a.png");
  assert_string_equal(l.lines[0].text, "AB"); /* CR of the CRLF dropped */
  assert_int_equal(l.lines[1].line, 3);        /* the empty line 2 is skipped */
  assert_string_equal(l.lines[1].path, "sub/b c.png");
  assert_string_equal(l.lines[1].text, " x\xC3\xA9 "); /* spaces are symbols */
  assert_int_equal(l.lines[2].line, 4);                /* no final newline */
  assert_string_equal(l.lines[2].path, "/abs/c.jpg");
  assert_string_equal(l.lines[2].text, "9");
  rt_labels_free(&l);

  rt_labels_parse("", 0, &l);
  assert_int_equal(l.count + l.problem_count, 0);
  rt_labels_free(&l);
}

static void test_labels_bad(void **state) {
  const char text[] = "ok.png\tA\n"            /* 1 */
                      "nothing here\n"         /* 2 */
                      "\tAB\n"                 /* 3 */
                      "c.png\t\n"              /* 4 */
                      "d.png\tA\tB\n"          /* 5 */
                      "e.png\tA\xFF" "B\n"     /* 6 */
                      "f.png\tA\rB\n"          /* 7 */
                      "g.png\tA\x01\n"         /* 8 */
                      "h\x7F.png\tA\n"         /* 9 */
                      "i.png\tA\0B\n"          /* 10 */
                      "j.png\tA\xEF\xBB\xBF\n" /* 11: a BOM that is not at the start */
                      "last.png\tZ";           /* 12 */
  RtLabels l;
  rt_labels_parse(text, sizeof text - 1, &l);
  assert_int_equal(l.count, 2);
  assert_int_equal(l.lines[0].line, 1);
  assert_int_equal(l.lines[1].line, 12);
  assert_int_equal(l.bad_lines, 10);
  assert_int_equal(l.problem_count, 10);
  expect_problem(&l, 0, 2, 0, true, "expected 'image-path<TAB>label', found no tab");
  expect_problem(&l, 1, 3, 1, true, "empty image path");
  expect_problem(&l, 2, 4, 7, true, "empty label");
  expect_problem(&l, 3, 5, 8, true, "more than one tab (labels cannot contain tabs)");
  expect_problem(&l, 4, 6, 8, true, "invalid UTF-8 (byte 0xFF)");
  expect_problem(&l, 5, 7, 8, true,
                 "carriage return inside the line (only LF or CRLF line endings are supported)");
  expect_problem(&l, 6, 8, 8, true, "control character U+0001 in the label");
  expect_problem(&l, 7, 9, 2, true, "control character U+007F in the image path");
  expect_problem(&l, 8, 10, 8, true, "NUL byte in the line (is this a text file?)");
  expect_problem(&l, 9, 11, 8, true, "control character U+FEFF in the label");
  rt_labels_free(&l);

  /* old Mac line endings: one long line with carriage returns */
  rt_labels_parse("a.png\tA\rb.png\tB\r", 16, &l);
  assert_int_equal(l.count, 0);
  expect_problem(&l, 0, 1, 8, true,
                 "carriage return inside the line (only LF or CRLF line endings are supported)");
  rt_labels_free(&l);
}

/* ---- dataset folders ---- */

static unsigned char px_white_block(int x, int y, int c) {
  return x >= 4 && x < 12 && y >= 2 && y < 6 ? 0 : 255;
}

/* A folder with good.png (8 x 32 gray), bad.png (not an image) and labels.tsv = text. */
static char *make_folder(const char *text) {
  char *dir = fx_tmpdir();
  fx_write_png(dir, "good.png", 32, 8, 1, px_white_block);
  fx_write_text(dir, "bad.png", "this is not a PNG file");
  fx_write_text(dir, "labels.tsv", text);
  return dir;
}

static const char MIXED[] = "good.png\tAB\n"           /* 1: fine */
                            "good.png AB\n"            /* 2: no tab */
                            "\tAB\n"                   /* 3: empty path */
                            "missing.png\tAB\n"        /* 4: no such file */
                            "bad.png\tAB\n"            /* 5: not an image */
                            "good.png\tABCDEFGHIJ\n"   /* 6: too long (max 8) */
                            "\n"                       /* 7: ignored */
                            "good.png\tBA\n";          /* 8: fine */

static void test_dataset_stop(void **state) {
  char *dir = make_folder(MIXED);
  RtDiags d = {0};
  RtDatasetOptions o = {.policy = RT_DATA_STOP, .max_label_len = 8};
  RtDataset *ds = rt_dataset_load(dir, &o, &d);
  if (d.count != 5) fx_print_diags(&d);
  assert_null(ds);
  assert_int_equal(d.count, 5);
  assert_int_equal(d.errors, 5);
  assert_string_equal(fx_diag(&d, 0, dir), "labels.tsv:2: error: expected 'image-path<TAB>label', found no tab");
  assert_string_equal(fx_diag(&d, 1, dir), "labels.tsv:3:1: error: empty image path");
  assert_string_equal(fx_diag(&d, 2, dir),
                      "labels.tsv:4: error: image 'missing.png': cannot open: No such file or directory");
  assert_string_equal(fx_diag(&d, 3, dir),
                      "labels.tsv:5: error: image 'bad.png': cannot read a PNG or JPEG header "
                      "(Image not of any known type, or corrupt)");
  assert_string_equal(fx_diag(&d, 4, dir), "labels.tsv:6:10: error: label has 10 symbols; the maximum is 8");
  rt_diags_free(&d);
  fx_rmdir(dir);
}

static void test_dataset_skip(void **state) {
  char *dir = make_folder(MIXED);
  RtDiags d = {0};
  RtDatasetOptions o = {.policy = RT_DATA_SKIP, .max_label_len = 8};
  RtDataset *ds = rt_dataset_load(dir, &o, &d);
  assert_non_null(ds);
  assert_int_equal(d.errors, 0);
  assert_int_equal(d.count, 6);
  assert_string_equal(fx_diag(&d, 0, dir), "labels.tsv:2: warning: expected 'image-path<TAB>label', found no tab");
  assert_string_equal(fx_diag(&d, 4, dir), "labels.tsv:6:10: warning: label has 10 symbols; the maximum is 8");
  assert_string_equal(fx_diag(&d, 5, dir),
                      "labels.tsv: warning: skipped 5 of 7 samples (2 bad lines, 2 missing or "
                      "undecodable images, 1 label too long)");
  assert_int_equal(ds->count, 2);
  assert_int_equal(ds->skipped, 5);
  assert_int_equal(ds->lines[0], 1);
  assert_int_equal(ds->lines[1], 8);
  assert_string_equal(ds->texts[1], "BA");
  assert_string_equal(ds->paths[0], "good.png");
  assert_string_equal(ds->charset.utf8, "AB"); /* from the kept labels only */
  assert_int_equal(ds->label_len[0], 2);
  assert_int_equal(rt_dataset_label(ds, 1)[0], 1);
  assert_int_equal(rt_dataset_label(ds, 1)[1], 0);
  assert_int_equal(ds->max_label_len, 2);
  assert_int_equal(ds->height, RT_INPUT_H);
  assert_int_equal(ds->width, RT_INPUT_W);
  /* both samples hold the converted good.png: 8x32 -> 32x128, white with a black block */
  assert_memory_equal(rt_dataset_pixels(ds, 0), rt_dataset_pixels(ds, 1), RT_INPUT_PIXELS);
  static float img[RT_INPUT_PIXELS];
  rt_dataset_input(ds, 0, img);
  assert_float_equal(img[16 * 128 + 32], -1.0, 1e-5); /* inside the block (x 16..48, y 8..24) */
  assert_float_equal(img[2 * 128 + 2], 1.0, 1e-5);
  rt_dataset_free(ds);
  rt_diags_free(&d);
  fx_rmdir(dir);
}

static void test_dataset_charset(void **state) {
  char *dir = make_folder("good.png\tAB\ngood.png\tAxB\ngood.png\tBBA\n");
  RtDiags d = {0};
  RtDatasetOptions o = {.policy = RT_DATA_STOP, .charset = "BA"};
  assert_null(rt_dataset_load(dir, &o, &d));
  assert_int_equal(d.count, 1);
  assert_string_equal(fx_diag(&d, 0, dir), "labels.tsv:2:11: error: symbol 'x' (U+0078) is not in the charset");
  rt_diags_free(&d);
  o.policy = RT_DATA_SKIP;
  RtDataset *ds = rt_dataset_load(dir, &o, &d);
  assert_non_null(ds);
  assert_string_equal(fx_diag(&d, 1, dir),
                      "labels.tsv: warning: skipped 1 of 3 samples (1 label with symbols outside the charset)");
  assert_string_equal(ds->charset.utf8, "BA"); /* the given order defines the ids */
  assert_int_equal(rt_dataset_label(ds, 0)[0], 1);
  assert_int_equal(rt_dataset_label(ds, 0)[1], 0);
  assert_int_equal(rt_dataset_label(ds, 1)[0], 0);
  rt_dataset_free(ds);
  rt_diags_free(&d);
  o.charset = "AA";
  assert_null(rt_dataset_load(dir, &o, &d));
  assert_string_equal(fx_diag(&d, 0, dir), "error: charset repeats the symbol 'A' (U+0041)");
  rt_diags_free(&d);
  fx_rmdir(dir);
}

/* A CTC model of T steps reads a label only if T covers its symbols plus a blank between each
 * pair of equal neighbours: with T = 4, ABAB (4 steps) and ABB (4) fit; AAA and ABBA need 5. */
static void test_dataset_ctc_steps(void **state) {
  char *dir = make_folder("good.png\tABAB\ngood.png\tABB\ngood.png\tAAA\ngood.png\tABBA\n");
  RtDiags d = {0};
  RtDatasetOptions o = {.policy = RT_DATA_SKIP, .max_label_len = 4, .ctc_steps = 4};
  RtDataset *ds = rt_dataset_load(dir, &o, &d);
  assert_non_null(ds);
  assert_int_equal(ds->count, 2);
  assert_string_equal(fx_diag(&d, 0, dir),
                      "labels.tsv:3:10: warning: label needs 5 CTC time steps (a blank must separate repeated "
                      "symbols); the model has 4");
  assert_string_equal(fx_diag(&d, 1, dir),
                      "labels.tsv:4:10: warning: label needs 5 CTC time steps (a blank must separate repeated "
                      "symbols); the model has 4");
  rt_dataset_free(ds);
  rt_diags_free(&d);
  fx_rmdir(dir);
}

/* An image path that is a FIFO is an error, not a read that waits for a writer forever. */
static void test_dataset_fifo_image(void **state) {
  char *dir = make_folder("pipe.png\tAB\n");
  char path[600];
  snprintf(path, sizeof path, "%s/pipe.png", dir);
  assert_int_equal(mkfifo(path, 0600), 0);
  RtDiags d = {0};
  assert_null(rt_dataset_load(dir, NULL, &d));
  assert_string_equal(fx_diag(&d, 0, dir), "labels.tsv:1: error: image 'pipe.png': not a regular file");
  rt_diags_free(&d);
  fx_rmdir(dir);
}

static void test_dataset_folder_errors(void **state) {
  char *dir = fx_tmpdir();
  RtDiags d = {0};
  assert_null(rt_dataset_load(dir, NULL, &d));
  assert_string_equal(fx_diag(&d, 0, dir), "labels.tsv: error: cannot open: No such file or directory");
  rt_diags_free(&d);
  fx_write_text(dir, "labels.tsv", "\n\n");
  assert_null(rt_dataset_load(dir, NULL, &d));
  assert_string_equal(fx_diag(&d, 0, dir), "labels.tsv: error: no samples (the file is empty)");
  rt_diags_free(&d);
  fx_write_text(dir, "labels.tsv", "a.png\tA\n");
  RtDatasetOptions skip = {.policy = RT_DATA_SKIP};
  assert_null(rt_dataset_load(dir, &skip, &d));
  assert_int_equal(d.count, 3);
  assert_string_equal(fx_diag(&d, 2, dir), "labels.tsv: error: no usable samples");
  rt_diags_free(&d);
  fx_rmdir(dir);
}

/* A huge image path is shortened in the middle, so the reason at the end of the message stays. */
static void test_dataset_long_path(void **state) {
  char *dir = fx_tmpdir();
  size_t n = 10 << 20;
  char *text = malloc(n + 16);
  for (size_t i = 0; i < n; i += 2) memcpy(text + i, "a/", 2);
  strcpy(text + n, "x.png\tAB\n");
  fx_write_text(dir, "labels.tsv", text);
  free(text);
  RtDiags d = {0};
  assert_null(rt_dataset_load(dir, NULL, &d));
  assert_int_equal(d.count, 1);
  const char *msg = fx_diag(&d, 0, dir);
  if (strlen(msg) >= 600 || !strstr(msg, "a/a/...")) fail_msg("%.2000s", msg);
  assert_memory_equal(msg, "labels.tsv:1: error: image 'a/a/a/", 34);
  assert_non_null(strstr(msg, "a/a/.../a/a/"));
  const char *end = "a/a/x.png': cannot open: File name too long";
  assert_string_equal(msg + strlen(msg) - strlen(end), end);
  rt_diags_free(&d);
  fx_rmdir(dir);
}

/* Image paths that leave the data folder (absolute, or more '..' than folders) still load, with
 * one warning at the first such line that counts them all; '..' that stays inside is fine. */
static void test_dataset_paths_outside(void **state) {
  char *dir = make_folder("");
  char text[2000], set[700];
  snprintf(set, sizeof set, "%s/set", dir);
  assert_int_equal(mkdir(set, 0777), 0);
  assert_int_equal(mkdir(fx_path(set, "images"), 0777), 0);
  fx_write_png(set, "images/in.png", 32, 8, 1, px_white_block);
  snprintf(text, sizeof text, "images/../images/in.png\tA\n./images/in.png\tB\n../good.png\tAB\n%s/good.png\tBA\n"
           "images/../../good.png\tA\n", dir);
  fx_write_text(set, "labels.tsv", text);
  RtDiags d = {0};
  RtDataset *ds = rt_dataset_load(set, NULL, &d);
  assert_non_null(ds);
  assert_int_equal(ds->count, 5);
  assert_int_equal(d.count, 1);
  assert_int_equal(d.errors, 0);
  assert_string_equal(fx_diag(&d, 0, set),
                      "labels.tsv:3:1: warning: image path '../good.png' is outside the data folder, and so are "
                      "the images of 2 more lines: the folder is not self-contained (moved or copied alone, "
                      "it loses them)");
  rt_diags_free(&d);
  rt_dataset_free(ds);
  /* one such line: no count */
  fx_write_text(set, "labels.tsv", "images/in.png\tA\n../good.png\tAB\n");
  ds = rt_dataset_load(set, NULL, &d);
  assert_non_null(ds);
  assert_string_equal(fx_diag(&d, 0, set),
                      "labels.tsv:2:1: warning: image path '../good.png' is outside the data folder: the folder "
                      "is not self-contained (moved or copied alone, it loses it)");
  rt_diags_free(&d);
  rt_dataset_free(ds);
  fx_rmdir(dir);
}

static void test_dataset_report_cap(void **state) {
  char *dir = fx_tmpdir();
  char text[4096] = "";
  for (int i = 0; i < 30; i++) strcat(text, "no tab here\n");
  fx_write_text(dir, "labels.tsv", text);
  RtDiags d = {0};
  assert_null(rt_dataset_load(dir, NULL, &d));
  assert_int_equal(d.count, RT_DATASET_MAX_REPORTED + 1);
  assert_int_equal(d.errors, RT_DATASET_MAX_REPORTED);
  assert_string_equal(fx_diag(&d, RT_DATASET_MAX_REPORTED, dir), "labels.tsv: note: 10 more problems not shown");
  rt_diags_free(&d);
  fx_rmdir(dir);
}

/* ---- split ---- */

static void test_split(void **state) {
  RtDataset *ds = fx_dataset(10, 4, 8);
  RtDataset *train, *val, *train2, *val2;
  RtDiags d = {0};
  assert_true(rt_dataset_split(ds, 0.2, 1, &train, &val, &d));
  assert_int_equal(train->count, 8);
  assert_int_equal(val->count, 2);
  int seen[10] = {0};
  for (int k = 0; k < 2; k++) {
    RtDataset *part = k ? val : train;
    for (int i = 0; i < part->count; i++) {
      int src = part->lines[i] - 1; /* fx_dataset: line = index + 1 */
      seen[src]++;
      if (i) assert_true(part->lines[i] > part->lines[i - 1]); /* file order */
      assert_memory_equal(rt_dataset_pixels(part, i), rt_dataset_pixels(ds, src), 32);
      assert_int_equal(part->label_len[i], ds->label_len[src]);
      assert_memory_equal(rt_dataset_label(part, i), rt_dataset_label(ds, src),
                          (size_t)ds->label_len[src] * sizeof(int32_t));
      assert_string_equal(part->texts[i], ds->texts[src]);
    }
    assert_string_equal(part->charset.utf8, "abcde");
  }
  for (int i = 0; i < 10; i++) assert_int_equal(seen[i], 1);
  /* same seed, same split */
  assert_true(rt_dataset_split(ds, 0.2, 1, &train2, &val2, &d));
  assert_memory_equal(val->lines, val2->lines, 2 * sizeof(int32_t));
  rt_dataset_free(train2);
  rt_dataset_free(val2);
  /* other seeds move the validation samples */
  bool differs = false;
  for (uint64_t seed = 2; seed < 7; seed++) {
    assert_true(rt_dataset_split(ds, 0.2, seed, &train2, &val2, &d));
    differs |= memcmp(val->lines, val2->lines, 2 * sizeof(int32_t)) != 0;
    rt_dataset_free(train2);
    rt_dataset_free(val2);
  }
  assert_true(differs);
  rt_dataset_free(train);
  rt_dataset_free(val);
  /* a tiny fraction still holds one out; a huge one leaves one for training */
  assert_true(rt_dataset_split(ds, 0.01, 1, &train, &val, &d));
  assert_int_equal(val->count, 1);
  rt_dataset_free(train);
  rt_dataset_free(val);
  assert_true(rt_dataset_split(ds, 0.99, 1, &train, &val, &d));
  assert_int_equal(train->count, 1);
  rt_dataset_free(train);
  rt_dataset_free(val);
  assert_int_equal(d.count, 0);
  assert_false(rt_dataset_split(ds, 1.0, 1, &train, &val, &d));
  assert_null(train);
  assert_string_equal(d.items[0].msg, "validation fraction 1 is not in (0, 1)");
  rt_dataset_free(ds);
  ds = fx_dataset(1, 4, 8);
  assert_false(rt_dataset_split(ds, 0.5, 1, &train, &val, &d));
  assert_string_equal(d.items[1].msg, "1 sample cannot be split into training and validation");
  rt_dataset_free(ds);
  rt_diags_free(&d);
}

/* concat: a's samples then b's, each image, label and text copied whole, in one charset. */
static void test_concat(void **state) {
  RtDataset *a = fx_dataset(3, 4, 8), *b = fx_dataset(5, 4, 8);
  RtDataset *ab = rt_dataset_concat(a, b);
  assert_int_equal(ab->count, 8);
  for (int i = 0; i < ab->count; i++) {
    const RtDataset *src = i < 3 ? a : b;
    int j = i < 3 ? i : i - 3;
    assert_memory_equal(rt_dataset_pixels(ab, i), rt_dataset_pixels(src, j), 32);
    assert_int_equal(ab->label_len[i], src->label_len[j]);
    assert_memory_equal(rt_dataset_label(ab, i), rt_dataset_label(src, j), (size_t)src->label_len[j] * sizeof(int32_t));
    assert_string_equal(ab->texts[i], src->texts[j]);
    assert_string_equal(ab->paths[i], src->paths[j]);
  }
  assert_int_equal(ab->max_label_len, a->max_label_len > b->max_label_len ? a->max_label_len : b->max_label_len);
  assert_string_equal(ab->charset.utf8, "abcde");
  rt_dataset_free(a);
  rt_dataset_free(b);
  rt_dataset_free(ab);
  (void)state;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_utf8),
      cmocka_unit_test(test_charset_explicit),
      cmocka_unit_test(test_charset_build),
      cmocka_unit_test(test_labels_good),
      cmocka_unit_test(test_labels_bad),
      cmocka_unit_test(test_dataset_stop),
      cmocka_unit_test(test_dataset_skip),
      cmocka_unit_test(test_dataset_charset),
      cmocka_unit_test(test_dataset_ctc_steps),
      cmocka_unit_test(test_dataset_fifo_image),
      cmocka_unit_test(test_dataset_folder_errors),
      cmocka_unit_test(test_dataset_long_path),
      cmocka_unit_test(test_dataset_paths_outside),
      cmocka_unit_test(test_dataset_report_cap),
      cmocka_unit_test(test_split),
      cmocka_unit_test(test_concat),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Images (runtime/rt_image.h): PNGs of every channel count and the JPEGs of tests/data/images,
 * decoded and converted to the 1x32x128 input, checked at chosen pixels: aspect kept with
 * background padding, the 2x squeeze of wide images, the shrink of wider ones, area averaging,
 * alpha over white, BT.601 luma, [-1, 1]; and the errors for files that are not images,
 * truncated, empty, missing, too large, or JPEGs with oversized Huffman tables. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "runtime/rt_image.h"
#include "test_rt_data_fixture.h"

/* JPEG inputs are committed files (stb_image_write made them: 64 x 16, quality 95): stb's JPEG
 * writer shifts signed integers in ways UBSan rejects, so it does not run in the tests. */
#define JPEG_DIR SMELT_SOURCE_DIR "/tests/data/images"

/* Loads dir/name and converts it; fails the test if it cannot. */
static void load_input(const char *dir, const char *name, float *out) {
  RtImage img;
  char err[256];
  if (!rt_image_load(fx_path(dir, name), &img, err, sizeof err)) fail_msg("%s: %s", name, err);
  rt_image_to_input(&img, RT_INPUT_H, RT_INPUT_W, out);
  rt_image_free(&img);
}

#define AT(t, y, x) (t)[(y) * RT_INPUT_W + (x)]
/* the input value of an 8-bit intensity v */
#define LEVEL(v) (2.0 * (v) / 255.0 - 1.0)

static unsigned char px_block(int x, int y, int c) { return x >= 4 && x < 12 && y >= 4 && y < 12 ? 0 : 255; }
static unsigned char px_block_dark(int x, int y, int c) { return 255 - px_block(x, y, c); }
static unsigned char px_checker(int x, int y, int c) { return (x + y) % 2 ? 255 : 0; }
static unsigned char px_band(int x, int y, int c) { return x >= 60 && x < 76 ? 0 : 255; }
static unsigned char px_dark_rows(int x, int y, int c) { return y >= 1 && y <= 6 ? 0 : 128; }
static unsigned char px_rgba_block(int x, int y, int c) { /* black everywhere, opaque on the block */
  return c < 3 ? 0 : px_block_dark(x, y, 0);
}
static unsigned char px_half_alpha(int x, int y, int c) { return c == 0 ? 0 : 128; }
static unsigned char px_stripes(int x, int y, int c) { return x / 16 == c ? 255 : 0; } /* R, G, B */

static void test_aspect_and_padding(void **state) {
  char *dir = fx_tmpdir();
  float t[RT_INPUT_PIXELS];
  /* 16 x 32 (h x w): height 16 -> 32, width 32 -> 64, columns 64..127 padded */
  fx_write_png(dir, "a.png", 32, 16, 1, px_block);
  load_input(dir, "a.png", t);
  assert_float_equal(AT(t, 16, 16), -1.0, 1e-5); /* inside the block, now x 8..24, y 8..24 */
  assert_float_equal(AT(t, 2, 2), 1.0, 1e-5);
  assert_float_equal(AT(t, 16, 63), 1.0, 1e-5); /* the image's last column */
  for (int y = 0; y < RT_INPUT_H; y++)
    for (int x = 64; x < RT_INPUT_W; x++) assert_float_equal(AT(t, y, x), 1.0, 0); /* white padding */
  /* on a dark image the padding is dark: the background is the border's median */
  fx_write_png(dir, "b.png", 32, 16, 1, px_block_dark);
  load_input(dir, "b.png", t);
  assert_float_equal(AT(t, 16, 16), 1.0, 1e-5);
  assert_float_equal(AT(t, 20, 100), -1.0, 0);
  /* exact 2x downscale by area averaging: 1-pixel checkers become flat mid-gray */
  fx_write_png(dir, "c.png", 256, 64, 1, px_checker);
  load_input(dir, "c.png", t);
  for (int i = 0; i < RT_INPUT_PIXELS; i++) assert_float_equal(t[i], 0.0, 1e-5);
  fx_rmdir(dir);
}

static void test_squeeze_and_shrink(void **state) {
  char *dir = fx_tmpdir();
  float t[RT_INPUT_PIXELS];
  /* 10 x 80: 256 wide at height 32, squeezed 2x into 128; the band x 60..76 lands on 96..121.6,
   * full height, and nothing is padded */
  fx_write_png(dir, "a.png", 80, 10, 1, px_band);
  load_input(dir, "a.png", t);
  assert_float_equal(AT(t, 0, 110), -1.0, 1e-5);
  assert_float_equal(AT(t, 31, 110), -1.0, 1e-5);
  assert_float_equal(AT(t, 16, 90), 1.0, 1e-5);
  assert_float_equal(AT(t, 16, 127), 1.0, 1e-5);
  /* 8 x 160: 640 wide at height 32; squeezed 2x and shrunk to 13 rows (round(2 * 128 * 8 / 160)),
   * placed at rows 9..21 between rows of background (the gray border) */
  fx_write_png(dir, "b.png", 160, 8, 1, px_dark_rows);
  load_input(dir, "b.png", t);
  for (int x = 0; x < RT_INPUT_W; x++) {
    for (int y = 0; y < 9; y++) assert_float_equal(AT(t, y, x), LEVEL(128), 1e-6);
    for (int y = 22; y < 32; y++) assert_float_equal(AT(t, y, x), LEVEL(128), 1e-6);
    assert_float_equal(AT(t, 15, x), -1.0, 1e-5);
  }
  fx_rmdir(dir);
}

static void test_channels(void **state) {
  char *dir = fx_tmpdir();
  float t[RT_INPUT_PIXELS];
  /* RGBA: transparent black around an opaque black block -> composited over white */
  fx_write_png(dir, "rgba.png", 64, 16, 4, px_rgba_block);
  load_input(dir, "rgba.png", t);
  assert_float_equal(AT(t, 16, 16), -1.0, 1e-5);
  assert_float_equal(AT(t, 2, 2), 1.0, 1e-5);
  assert_float_equal(AT(t, 16, 100), 1.0, 1e-5);
  /* gray + alpha: black at alpha 128/255 over white = 127/255 */
  fx_write_png(dir, "ga.png", 64, 16, 2, px_half_alpha);
  load_input(dir, "ga.png", t);
  for (int i = 0; i < RT_INPUT_PIXELS; i++) assert_float_equal(t[i], LEVEL(255 - 128), 1e-5);
  /* RGB: red, green and blue stripes (8 x 48 -> squeezed 1.33x into 128) give their BT.601 luma */
  fx_write_png(dir, "rgb.png", 48, 8, 3, px_stripes);
  load_input(dir, "rgb.png", t);
  assert_float_equal(AT(t, 16, 21), 2 * 0.299 - 1, 1e-5);
  assert_float_equal(AT(t, 16, 64), 2 * 0.587 - 1, 1e-5);
  assert_float_equal(AT(t, 16, 106), 2 * 0.114 - 1, 1e-5);
  /* JPEG, gray (flat 100) and colour (flat 200, 50, 50); lossy: a few levels of tolerance */
  load_input(JPEG_DIR, "gray100.jpg", t);
  for (int i = 0; i < RT_INPUT_PIXELS; i++) assert_float_equal(t[i], LEVEL(100), 0.02);
  load_input(JPEG_DIR, "rgb200-50-50.jpg", t);
  double luma = 0.299 * 200 + 0.587 * 50 + 0.114 * 50;
  for (int i = 0; i < RT_INPUT_PIXELS; i++) assert_float_equal(t[i], LEVEL(luma), 0.03);
  RtImage img;
  char err[256];
  assert_true(rt_image_load(JPEG_DIR "/rgb200-50-50.jpg", &img, err, sizeof err));
  assert_int_equal(img.w, 64);
  assert_int_equal(img.h, 16);
  rt_image_free(&img);
  fx_rmdir(dir);
}

static void test_decode_errors(void **state) {
  RtImage img = {.w = 7};
  char err[256];
  assert_false(rt_image_decode("hello", 5, &img, err, sizeof err));
  assert_string_equal(err, "cannot read a PNG or JPEG header (Image not of any known type, or corrupt)");
  assert_null(img.gray);
  assert_int_equal(img.w, 0);
  assert_false(rt_image_decode("", 0, &img, err, sizeof err));
  assert_string_equal(err, "empty file");
  /* a valid header, pixels cut off */
  unsigned char px[32 * 32];
  for (int i = 0; i < 32 * 32; i++) px[i] = (unsigned char)(i * 37);
  size_t size;
  uint8_t *png = rt_image_encode_png(px, 32, 32, 1, &size);
  assert_non_null(png);
  assert_true(rt_image_decode(png, size, &img, err, sizeof err));
  assert_float_equal(img.gray[5], (5 * 37 % 256) / 255.0, 1e-6);
  rt_image_free(&img);
  assert_false(rt_image_decode(png, size / 2, &img, err, sizeof err));
  assert_string_equal(err, "cannot decode image (truncated PNG: the file ends before its IEND chunk)");
  free(png);
  /* a PNG header announcing 6000 x 6000 pixels: refused before decoding */
  unsigned char big[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
                         0, 0, 0x17, 0x70, 0, 0, 0x17, 0x70, 8, 0, 0, 0, 0, 0, 0, 0, 0};
  assert_false(rt_image_decode(big, sizeof big, &img, err, sizeof err));
  assert_string_equal(err, "image is 6000 x 6000 pixels; at most 33554432 pixels are supported");
  /* one so large that stb_image refuses even its header: the same message */
  big[17] = 0x01, big[18] = 0x86, big[19] = 0xA0, big[21] = 0x01, big[22] = 0x86, big[23] = 0xA0;
  assert_false(rt_image_decode(big, sizeof big, &img, err, sizeof err));
  assert_string_equal(err, "image is 100000 x 100000 pixels; at most 33554432 pixels are supported");
  assert_false(rt_image_load("/nonexistent/x.png", &img, err, sizeof err));
  assert_string_equal(err, "cannot open: No such file or directory");
  /* a Huffman table whose symbol counts sum to 512 (stb_image 2.27 would write past its tables;
   * found by fuzz_image): refused before stb sees it, also behind leading fill bytes */
  size_t n = 0;
  unsigned char *jpg = fx_read(JPEG_DIR "/gray100.jpg", &n);
  assert_non_null(jpg);
  assert_true(rt_image_decode(jpg, n, &img, err, sizeof err));
  rt_image_free(&img);
  /* cut short: a JPEG problem, not "Not a PNG" left over from stb's probing */
  const size_t cuts[] = {300, n / 2, n - 2};
  for (int i = 0; i < 3; i++) {
    assert_false(rt_image_decode(jpg, cuts[i], &img, err, sizeof err));
    assert_string_equal(err, "cannot decode image (truncated JPEG: the file ends before its end-of-image marker)");
  }
  size_t dht = 0;
  while (dht + 1 < n && !(jpg[dht] == 0xFF && jpg[dht + 1] == 0xC4)) dht++;
  assert_true(dht + 21 < n);
  memset(jpg + dht + 5, 0x20, 16); /* marker, length (2), class/id, then the 16 counts */
  assert_false(rt_image_decode(jpg, n, &img, err, sizeof err));
  assert_string_equal(err, "cannot decode image (Corrupt JPEG: bad Huffman table)");
  unsigned char *padded = malloc(n + 3);
  memset(padded, 0xFF, 3);
  memcpy(padded + 3, jpg, n);
  assert_false(rt_image_decode(padded, n + 3, &img, err, sizeof err));
  assert_string_equal(err, "cannot decode image (Corrupt JPEG: bad Huffman table)");
  free(padded);
  free(jpg);
}

static void test_border_median(void **state) {
  /* 3 x 4: border = 10 pixels, 6 at 0.2 and 4 at 0.9; the centre (not border) is ignored */
  float px[12] = {0.2f, 0.2f, 0.2f, 0.9f, 0.9f, 0.0f, 0.0f, 0.2f, 0.2f, 0.9f, 0.9f, 0.2f};
  assert_float_equal(rt_image_border_median(px, 4, 3), 51 / 255.0, 1e-6); /* 0.2 -> bin 51 */
  float one = 0.5f;
  assert_float_equal(rt_image_border_median(&one, 1, 1), 128 / 255.0, 1e-6);
}

/* Inputs as a data set keeps them: a grey 8-bit pixel's input comes back exactly, any other
 * value within half a step (1/255 on the [-1, 1] scale), and values past the ends clamp. */
static void test_input_bytes(void **state) {
  float x[260], back[260];
  uint8_t b[260];
  for (int k = 0; k < 256; k++) x[k] = ((float)k / 255.0f - 0.5f) / 0.5f; /* rt_image_to_input's form */
  x[256] = -1.5f, x[257] = 1.5f, x[258] = 0.123456f, x[259] = -0.987654f;
  rt_input_to_bytes(x, 260, b);
  rt_input_from_bytes(b, 260, back);
  for (int k = 0; k < 256; k++) {
    assert_int_equal(b[k], k);
    assert_memory_equal(&back[k], &x[k], sizeof(float));
  }
  assert_int_equal(b[256], 0);
  assert_int_equal(b[257], 255);
  for (int k = 258; k < 260; k++) assert_true(fabsf(back[k] - x[k]) <= 1.0f / 255.0f + 1e-6f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_aspect_and_padding),
      cmocka_unit_test(test_squeeze_and_shrink),
      cmocka_unit_test(test_channels),
      cmocka_unit_test(test_input_bytes),
      cmocka_unit_test(test_decode_errors),
      cmocka_unit_test(test_border_median),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

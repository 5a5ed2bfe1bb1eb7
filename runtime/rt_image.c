/* PNG/JPEG decoding, the grayscale conversion, resizing to the model input and PNG encoding.
 * The stb libraries (Debian's libstb-dev headers) are compiled here, once, with every function
 * static: no other object can clash with them, and the decoder is limited to PNG and JPEG, the
 * two formats of the dataset spec, so fuzzing covers all the code that outside bytes reach. */
#include "runtime/rt_image.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "support/rt_assert.h"
#include "support/rt_diag.h"
#include "support/rt_fs.h"

/* stb_image_write's own deflate has fixed Huffman codes only, so noisy images come out larger
 * than raw and slowly; its documented hook hands the IDAT stream to zlib instead. */
static unsigned char *zlib_compress(unsigned char *data, int len, int *out_len, int quality) {
  uLongf cap = compressBound((uLong)len);
  unsigned char *out = malloc(cap);
  if (!out || compress2(out, &cap, data, (uLong)len, Z_BEST_SPEED) != Z_OK) {
    free(out);
    return NULL;
  }
  *out_len = (int)cap;
  return out;
}

/* stb declares functions it defines only for other formats: unused statics, reported at the end
 * of the file, so this one stays off for the whole file */
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_NO_STDIO
#define STBI_FAILURE_USERMSG
#include <stb/stb_image.h>
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#define STBIW_ZLIB_COMPRESS zlib_compress
#include <stb/stb_image_write.h>
#define STB_IMAGE_RESIZE_STATIC
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#include <stb/stb_image_resize.h>
#pragma GCC diagnostic pop

/* stb_image 2.27 (Debian 12's libstb-dev) trusts the symbol counts of a JPEG Huffman table
 * (DHT segment): counts summing to more than 256 write past its tables (found by
 * tests/fuzz/fuzz_image.c; upstream 2.28 added `if (n > 256) return stbi__err("bad DHT header")`).
 * This walks the markers the way stb reads them (stbi__get_marker skips to an 0xFF and over fill
 * bytes; segments are skipped by their length; DHT tables are read until the length is used up)
 * and reports whether any table is too large. Not a JPEG, or a file stb rejects anyway: false. */
static bool jpeg_has_bad_dht(const uint8_t *p, size_t n) {
  size_t i = 0; /* SOI: an 0xFF, maybe more fill bytes, then 0xD8 */
  while (i < n && p[i] == 0xFF) i++;
  if (i == 0 || i >= n || p[i] != 0xD8) return false;
  i++;
  for (;;) {
    while (i < n && p[i] != 0xFF) i++; /* entropy-coded data or junk */
    while (i < n && p[i] == 0xFF) i++;
    if (i >= n) return false;
    uint8_t m = p[i++];
    if (m == 0xD9) return false;                                         /* EOI */
    if (m == 0x00 || m == 0x01 || (m >= 0xD0 && m <= 0xD8)) continue;    /* no length */
    if (i + 2 > n) return false;
    size_t len = (size_t)p[i] << 8 | p[i + 1];
    if (len < 2) return false;
    if (m != 0xC4) {
      i += len;
      continue;
    }
    long left = (long)len - 2;
    size_t j = i + 2;
    while (left > 0) {
      int q = j < n ? p[j] : 0; /* stb reads zeros past the end */
      j++;
      if (q >> 4 > 1 || (q & 15) > 3) return false; /* stb: "bad DHT header" */
      int sum = 0;
      for (int k = 0; k < 16; k++, j++) sum += j < n ? p[j] : 0;
      if (sum > 256) return true;
      j += (size_t)sum;
      left -= 17 + sum;
    }
    i = j;
  }
}

typedef enum Format { FORMAT_OTHER, FORMAT_PNG, FORMAT_JPEG } Format;

static Format format_of(const uint8_t *p, size_t n) {
  static const uint8_t png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (n >= 8 && memcmp(p, png, 8) == 0) return FORMAT_PNG;
  if (n >= 2 && p[0] == 0xFF && (p[1] == 0xD8 || p[1] == 0xFF)) return FORMAT_JPEG; /* SOI, maybe after fill */
  return FORMAT_OTHER;
}

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* A PNG's size from its IHDR chunk, read here because stb_image refuses the header of an image
 * it could not allocate (about 2^28 pixels) with no word about the size. False: no IHDR. */
static bool png_size(const uint8_t *p, size_t n, uint32_t *w, uint32_t *h) {
  if (n < 24 || memcmp(p + 12, "IHDR", 4) != 0) return false;
  *w = be32(p + 16);
  *h = be32(p + 20);
  return true;
}

/* Why stb_image could not decode a file of a known format. stb probes PNG before JPEG and does
 * not always set a reason when a JPEG's data run out, so the reason it leaves can be the probe's
 * "Not a PNG"; a file cut short is recognised by its missing end instead (a PNG ends with an IEND
 * chunk, a JPEG with the EOI marker). */
static void decode_failure(Format f, const uint8_t *p, size_t n, char *err, size_t err_size) {
  const char *why = stbi_failure_reason();
  bool png = f == FORMAT_PNG;
  bool ended = png ? n >= 12 && memcmp(p + n - 8, "IEND", 4) == 0 : n >= 2 && p[n - 2] == 0xFF && p[n - 1] == 0xD9;
  if (!ended)
    snprintf(err, err_size, "cannot decode image (truncated %s: the file ends before its %s)", png ? "PNG" : "JPEG",
             png ? "IEND chunk" : "end-of-image marker");
  else if (!why || !strcmp(why, "Not a PNG") || !strcmp(why, "Not a JPEG"))
    snprintf(err, err_size, "cannot decode image (corrupt %s)", png ? "PNG" : "JPEG");
  else
    snprintf(err, err_size, "cannot decode image (%s)", why);
}

static void too_large(int64_t w, int64_t h, char *err, size_t err_size) {
  snprintf(err, err_size, "image is %lld x %lld pixels; at most %d pixels are supported", (long long)w, (long long)h,
           RT_IMAGE_MAX_PIXELS);
}

bool rt_image_decode(const void *data, size_t size, RtImage *out, char *err, size_t err_size) {
  *out = (RtImage){0};
  if (size == 0) {
    snprintf(err, err_size, "empty file");
    return false;
  }
  if (size > INT_MAX) {
    snprintf(err, err_size, "file too large (%zu bytes)", size);
    return false;
  }
  if (jpeg_has_bad_dht(data, size)) {
    snprintf(err, err_size, "cannot decode image (Corrupt JPEG: bad Huffman table)");
    return false;
  }
  Format format = format_of(data, size);
  uint32_t pw, ph;
  if (format == FORMAT_PNG && png_size(data, size, &pw, &ph) && (uint64_t)pw * ph > RT_IMAGE_MAX_PIXELS) {
    too_large(pw, ph, err, err_size);
    return false;
  }
  int w, h, comp;
  if (!stbi_info_from_memory(data, (int)size, &w, &h, &comp)) {
    snprintf(err, err_size, "cannot read a PNG or JPEG header (%s)", stbi_failure_reason());
    return false;
  }
  if (w <= 0 || h <= 0 || (int64_t)w * h > RT_IMAGE_MAX_PIXELS) {
    too_large(w, h, err, err_size);
    return false;
  }
  unsigned char *px = stbi_load_from_memory(data, (int)size, &w, &h, &comp, 0);
  if (!px) {
    decode_failure(format, data, size, err, err_size);
    return false;
  }
  RT_ASSERT(comp >= 1 && comp <= 4 && w > 0 && h > 0, "stb_image returned %dx%dx%d", w, h, comp);
  rt_image_from_pixels(px, w, h, comp, out);
  stbi_image_free(px);
  return true;
}

void rt_image_from_pixels(const uint8_t *px, int w, int h, int comp, RtImage *out) {
  RT_ASSERT(comp >= 1 && comp <= 4 && w > 0 && h > 0, "pixels %dx%dx%d", w, h, comp);
  size_t n = (size_t)w * (size_t)h;
  float *gray = rt_xmalloc(n * sizeof *gray);
  const float k = 1.0f / 255.0f;
  size_t coloured = 0;
  for (size_t i = 0; i < n; i++) {
    const uint8_t *p = px + i * (size_t)comp;
    float y = comp >= 3 ? (0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2]) * k : p[0] * k;
    if (comp >= 3) {
      int lo = p[0] < p[1] ? p[0] : p[1], hi = p[0] > p[1] ? p[0] : p[1];
      lo = p[2] < lo ? p[2] : lo, hi = p[2] > hi ? p[2] : hi;
      coloured += hi - lo > 24;
    }
    if (comp == 2 || comp == 4) {
      float a = p[comp - 1] * k; /* straight (not premultiplied) alpha, over white */
      y = y * a + (1.0f - a);
    }
    gray[i] = y;
  }
  *out = (RtImage){.w = w, .h = h, .gray = gray, .colourful = (float)coloured / (float)n};
}

bool rt_image_load(const char *path, RtImage *out, char *err, size_t err_size) {
  *out = (RtImage){0};
  uint8_t *data;
  size_t size;
  RtDiags d = {0};
  if (!rt_fs_read_file(path, &data, &size, &d)) {
    snprintf(err, err_size, "%s", d.count ? d.items[0].msg : "cannot read");
    rt_diags_free(&d);
    return false;
  }
  rt_diags_free(&d);
  bool ok = rt_image_decode(data, size, out, err, err_size);
  free(data);
  return ok;
}

void rt_image_free(RtImage *img) {
  free(img->gray);
  *img = (RtImage){0};
}

float rt_image_border_median(const float *px, int w, int h) {
  /* histogram of the border at 8-bit resolution; the median bin is exact for 8-bit sources */
  int64_t hist[256] = {0}, n = 0;
  for (int y = 0; y < h; y++) {
    bool edge_row = y == 0 || y == h - 1;
    for (int x = 0; x < w; x += (edge_row || w == 1) ? 1 : w - 1) {
      float v = px[(size_t)y * w + x];
      int bin = (int)lrintf((v < 0 ? 0 : v > 1 ? 1 : v) * 255.0f);
      hist[bin]++;
      n++;
    }
  }
  int64_t half = (n + 1) / 2, seen = 0;
  for (int b = 0; b < 256; b++) {
    seen += hist[b];
    if (seen >= half) return (float)b / 255.0f;
  }
  return 1.0f;
}

void rt_image_to_input(const RtImage *img, int out_h, int out_w, float *out) {
  RT_ASSERT(img->w > 0 && img->h > 0 && out_h > 0 && out_w > 0, "bad sizes");
  double natural = (double)img->w * out_h / img->h; /* width at height out_h */
  int sw, sh;
  if (natural <= out_w) {
    sw = (int)lround(natural);
    if (sw < 1) sw = 1;
    if (sw > out_w) sw = out_w;
    sh = out_h;
  } else if (natural <= RT_IMAGE_MAX_SQUEEZE * out_w) {
    sw = out_w, sh = out_h;
  } else { /* squeezed by the limit, the height that makes the width out_w */
    sw = out_w;
    sh = (int)lround(RT_IMAGE_MAX_SQUEEZE * out_w * img->h / img->w);
    if (sh < 1) sh = 1;
    if (sh > out_h) sh = out_h;
  }
  int top = (out_h - sh) / 2;
  float bg = rt_image_border_median(img->gray, img->w, img->h);
  for (int i = 0; i < out_h * out_w; i++) out[i] = bg;
  /* area averaging (box) on a shrinking axis, bilinear (triangle) on a growing one */
  stbir_filter fx = sw < img->w ? STBIR_FILTER_BOX : STBIR_FILTER_TRIANGLE;
  stbir_filter fy = sh < img->h ? STBIR_FILTER_BOX : STBIR_FILTER_TRIANGLE;
  int ok = stbir_resize(img->gray, img->w, img->h, img->w * (int)sizeof(float), out + (size_t)top * out_w,
                        sw, sh, out_w * (int)sizeof(float), STBIR_TYPE_FLOAT, 1, STBIR_ALPHA_CHANNEL_NONE,
                        0, STBIR_EDGE_CLAMP, STBIR_EDGE_CLAMP, fx, fy, STBIR_COLORSPACE_LINEAR, NULL);
  RT_ASSERT(ok, "stb_image_resize failed (%dx%d -> %dx%d)", img->w, img->h, sw, sh);
  /* x / 255 happened at decode; now (x - 0.5) / 0.5, clamped because filters may overshoot */
  for (int i = 0; i < out_h * out_w; i++) {
    float v = out[i] < 0 ? 0 : out[i] > 1 ? 1 : out[i];
    out[i] = (v - 0.5f) / 0.5f;
  }
}

void rt_input_to_bytes(const float *x, int64_t n, uint8_t *out) {
  for (int64_t i = 0; i < n; i++) {
    float v = (x[i] + 1.0f) * 127.5f;
    out[i] = (uint8_t)lrintf(v < 0 ? 0 : v > 255 ? 255 : v);
  }
}

void rt_input_from_bytes(const uint8_t *b, int64_t n, float *out) {
  for (int64_t i = 0; i < n; i++) out[i] = ((float)b[i] / 255.0f - 0.5f) / 0.5f;
}

bool rt_image_read_input(const char *path, int out_h, int out_w, float *out, char *err, size_t err_size) {
  RtImage img;
  if (!rt_image_load(path, &img, err, err_size)) return false;
  rt_image_to_input(&img, out_h, out_w, out);
  rt_image_free(&img);
  for (int64_t i = 0; i < (int64_t)out_h * out_w; i++) {
    uint8_t b;
    rt_input_to_bytes(&out[i], 1, &b);
    rt_input_from_bytes(&b, 1, &out[i]);
  }
  return true;
}

/* One PNG row filter for every row (Sub: each byte minus its left neighbour) instead of stb's
 * per-row trial of all five: about a third faster, files about 3% larger. */
static void png_filter_init(void) { stbi_write_force_png_filter = 1; }

uint8_t *rt_image_encode_png(const uint8_t *pixels, int w, int h, int channels, size_t *size) {
  RT_ASSERT(w > 0 && h > 0 && channels >= 1 && channels <= 4, "bad image %dx%dx%d", w, h, channels);
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, png_filter_init);
  int len = 0;
  unsigned char *png = stbi_write_png_to_mem(pixels, w * channels, w, h, channels, &len);
  *size = png ? (size_t)len : 0;
  return png;
}

bool rt_image_write_png(const char *path, const uint8_t *pixels, int w, int h, int channels,
                        char *err, size_t err_size) {
  size_t size;
  uint8_t *png = rt_image_encode_png(pixels, w, h, channels, &size);
  if (!png) {
    snprintf(err, err_size, "cannot encode a %dx%d PNG", w, h);
    return false;
  }
  FILE *f = fopen(path, "wb");
  if (!f) {
    snprintf(err, err_size, "cannot create: %s", strerror(errno));
    free(png);
    return false;
  }
  size_t put = fwrite(png, 1, size, f);
  int write_errno = errno;
  free(png);
  if (fclose(f) != 0 || put != size) {
    snprintf(err, err_size, "cannot write: %s", strerror(put != size ? write_errno : errno));
    return false;
  }
  return true;
}

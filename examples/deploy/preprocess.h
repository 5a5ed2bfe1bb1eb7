/* preprocess.h: an image file -> the input of a model emitted by `smelt emit`, following the rules
 * its header documents (the ones smelt applies to training data, runtime/rt_image.h), so that a
 * deployed model sees what it was trained on. Header-only: include it in one C file; it compiles
 * Debian's stb headers (libstb-dev) into that file with every function static.
 *
 *   1. decode (PNG, JPEG, ...) and convert to luminance in [0, 1]: Y = 0.299 R + 0.587 G + 0.114 B
 *      times 1/255, alpha (straight) composited over white;
 *   2. background = the median of the border pixels (at 8-bit resolution);
 *   3. scale to the model's height keeping the aspect ratio, placed at the left, the rest filled
 *      with the background; a wider result is squeezed to the width, up to 2x; wider still, it is
 *      squeezed 2x and scaled down as a whole to the width, centred vertically. Area averaging on
 *      a shrinking axis, bilinear on a growing one, edges clamped;
 *   4. clamp to [0, 1], then x -> (x - 0.5) / 0.5;
 *   5. round to the 256 levels a data set keeps its images in (rt_input_to_bytes): the byte
 *      b = round((x + 1) * 127.5) read back as (b / 255 - 0.5) / 0.5, so that a resized image
 *      gives the inputs `smelt predict` gives and the model was trained on. */
#ifndef DEPLOY_PREPROCESS_H
#define DEPLOY_PREPROCESS_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

/* stb_image 2.27 declares static functions it defines only for other uses; GCC reports them at
 * the end of the file, so the warning stays off for the file */
#pragma GCC diagnostic ignored "-Wunused-function"
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>
#define STB_IMAGE_RESIZE_STATIC
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#include <stb/stb_image_resize.h>

#define PREPROCESS_MAX_SQUEEZE 2.0

/* Rule 2: the median of the border pixels, binned at 8 bits. */
static float preprocess_background(const float *px, int w, int h) {
  int64_t hist[256] = {0}, n = 0;
  for (int y = 0; y < h; y++) {
    bool edge_row = y == 0 || y == h - 1;
    for (int x = 0; x < w; x += (edge_row || w == 1) ? 1 : w - 1) {
      float v = px[(size_t)y * w + x];
      hist[(int)lrintf((v < 0 ? 0 : v > 1 ? 1 : v) * 255.0f)]++;
      n++;
    }
  }
  int64_t half = (n + 1) / 2, seen = 0;
  for (int b = 0; b < 256; b++)
    if ((seen += hist[b]) >= half) return (float)b / 255.0f;
  return 1.0f;
}

/* Rules 3 to 5: gray (h, w) -> out (out_h, out_w) in [-1, 1]. */
static bool preprocess_gray(const float *gray, int w, int h, int out_h, int out_w, float *out) {
  double natural = (double)w * out_h / h; /* width at height out_h */
  int sw = out_w, sh = out_h;
  if (natural <= out_w) {
    sw = (int)lround(natural);
    sw = sw < 1 ? 1 : sw > out_w ? out_w : sw;
  } else if (natural > PREPROCESS_MAX_SQUEEZE * out_w) {
    sh = (int)lround(PREPROCESS_MAX_SQUEEZE * out_w * h / w);
    sh = sh < 1 ? 1 : sh > out_h ? out_h : sh;
  }
  float bg = preprocess_background(gray, w, h);
  for (int i = 0; i < out_h * out_w; i++) out[i] = bg;
  stbir_filter fx = sw < w ? STBIR_FILTER_BOX : STBIR_FILTER_TRIANGLE;
  stbir_filter fy = sh < h ? STBIR_FILTER_BOX : STBIR_FILTER_TRIANGLE;
  int top = (out_h - sh) / 2;
  if (!stbir_resize(gray, w, h, w * (int)sizeof(float), out + (size_t)top * out_w, sw, sh,
                    out_w * (int)sizeof(float), STBIR_TYPE_FLOAT, 1, STBIR_ALPHA_CHANNEL_NONE, 0,
                    STBIR_EDGE_CLAMP, STBIR_EDGE_CLAMP, fx, fy, STBIR_COLORSPACE_LINEAR, NULL))
    return false;
  for (int i = 0; i < out_h * out_w; i++) {
    float v = out[i] < 0 ? 0 : out[i] > 1 ? 1 : out[i];
    float x = (v - 0.5f) / 0.5f, b = (x + 1.0f) * 127.5f; /* rule 5 */
    out[i] = ((float)lrintf(b < 0 ? 0 : b > 255 ? 255 : b) / 255.0f - 0.5f) / 0.5f;
  }
  return true;
}

/* Reads an image file into out (out_h x out_w floats). False when it cannot be decoded. */
static bool preprocess_file(const char *path, int out_h, int out_w, float *out) {
  int w, h, comp;
  unsigned char *px = stbi_load(path, &w, &h, &comp, 0);
  if (!px) return false;
  float *gray = malloc((size_t)w * h * sizeof *gray);
  const float k = 1.0f / 255.0f;
  for (size_t i = 0; gray && i < (size_t)w * h; i++) { /* rule 1 */
    const unsigned char *p = px + i * (size_t)comp;
    float y = comp >= 3 ? (0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2]) * k : p[0] * k;
    if (comp == 2 || comp == 4) {
      float a = p[comp - 1] * k;
      y = y * a + (1.0f - a);
    }
    gray[i] = y;
  }
  stbi_image_free(px);
  bool ok = gray && preprocess_gray(gray, w, h, out_h, out_w, out);
  free(gray);
  return ok;
}

#endif

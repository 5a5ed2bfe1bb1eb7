/* Augmentation: an inverse-mapped affine warp with bilinear sampling, a separable wave
 * displacement, occluding strokes (quadratic Bezier curves) and erased patches, a separable
 * Gaussian blur, a contrast/brightness change around the image mean, gamma, inversion and
 * Box-Muller Gaussian noise, in that order (geometry first, so noise is not smeared by the blur).
 * Random draws: key = seed mixed with a name, stream = (epoch, sample) with counters 0-2 for the
 * original parameters, 3-7 for the CAPTCHA effects' parameters, 16-55 for the strokes and 64-83
 * for the patches, the same stream with its top bit set for the noise. Effects at strength 0 draw
 * nothing, so the defaults give the same pixels as before the CAPTCHA effects existed. */
#include "runtime/rt_augment.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support/rt_assert.h"
#include "support/rt_random.h"

enum { MAX_BLUR_RADIUS = 16, LINE_COUNTER = 16, ERASE_COUNTER = 64 };

RtAugmentSettings rt_augment_defaults(void) {
  return (RtAugmentSettings){.enabled = true, .rotation = 3, .shear = 8, .scale = 0.05,
                             .translate = 0.03, .noise = 0.02, .blur = 0.6, .contrast = 0.2,
                             .brightness = 0.05};
}

/* Median of the border of a [-1, 1] image, at 8-bit resolution. */
static float border_median(const float *px, int h, int w) {
  int hist[256] = {0}, n = 0;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x += (y == 0 || y == h - 1 || w == 1) ? 1 : w - 1) {
      float v = px[y * w + x];
      v = v < -1 ? -1 : v > 1 ? 1 : v;
      hist[(int)lrintf((v + 1) * 127.5f)]++;
      n++;
    }
  for (int b = 0, seen = 0; b < 256; b++)
    if ((seen += hist[b]) >= (n + 1) / 2) return b / 127.5f - 1;
  return 1;
}

/* out = in warped by p' = M (p - c) + c + t, sampled at p = M^-1 (p' - c - t) + c. */
static void warp(const float *in, float *out, int h, int w, const double m[4], double tx, double ty,
                 float bg) {
  double det = m[0] * m[3] - m[1] * m[2];
  double i0 = m[3] / det, i1 = -m[1] / det, i2 = -m[2] / det, i3 = m[0] / det;
  double cx = (w - 1) * 0.5, cy = (h - 1) * 0.5;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      double dx = x - cx - tx, dy = y - cy - ty;
      double sx = i0 * dx + i1 * dy + cx, sy = i2 * dx + i3 * dy + cy;
      double fx0 = floor(sx), fy0 = floor(sy);
      int x0 = (int)fx0, y0 = (int)fy0;
      float ax = (float)(sx - fx0), ay = (float)(sy - fy0);
      float v[4];
      for (int k = 0; k < 4; k++) {
        int xx = x0 + (k & 1), yy = y0 + (k >> 1);
        v[k] = (xx >= 0 && xx < w && yy >= 0 && yy < h) ? in[yy * w + xx] : bg;
      }
      if (sx < -2 || sx > w + 1 || sy < -2 || sy > h + 1) {
        out[y * w + x] = bg;
        continue;
      }
      out[y * w + x] = (v[0] * (1 - ax) + v[1] * ax) * (1 - ay) + (v[2] * (1 - ax) + v[3] * ax) * ay;
    }
}

/* Separable Gaussian blur in place (edges clamped); tmp holds h * w floats. */
static void blur(float *px, float *tmp, int h, int w, double sigma) {
  int r = (int)ceil(3 * sigma);
  if (r > MAX_BLUR_RADIUS) r = MAX_BLUR_RADIUS;
  if (r < 1) return;
  float k[2 * MAX_BLUR_RADIUS + 1], sum = 0;
  for (int i = -r; i <= r; i++) sum += k[i + r] = (float)exp(-0.5 * i * i / (sigma * sigma));
  for (int i = 0; i <= 2 * r; i++) k[i] /= sum;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      float acc = 0;
      for (int i = -r; i <= r; i++) {
        int xx = x + i < 0 ? 0 : x + i >= w ? w - 1 : x + i;
        acc += k[i + r] * px[y * w + xx];
      }
      tmp[y * w + x] = acc;
    }
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      float acc = 0;
      for (int i = -r; i <= r; i++) {
        int yy = y + i < 0 ? 0 : y + i >= h ? h - 1 : y + i;
        acc += k[i + r] * tmp[yy * w + x];
      }
      px[y * w + x] = acc;
    }
}

/* Uniform integer in [0, max] from a unit value. */
static int pick_count(float u, int max) {
  int k = (int)(u * (float)(max + 1));
  return k > max ? max : k;
}

/* The text's colour: the pixel farthest from the background. */
static float ink_value(const float *px, size_t n, float bg) {
  float ink = bg, far = 0;
  for (size_t i = 0; i < n; i++)
    if (fabsf(px[i] - bg) > far) far = fabsf(px[i] - bg), ink = px[i];
  return ink;
}

/* out(x, y) = in(x + ax sin(2 pi y / ly + px), y + ay sin(2 pi x / lx + py)), bilinear, bg
 * outside: a smooth displacement of at most (ax, ay) pixels, the row-wise shift bending strokes
 * the way wave-distorted CAPTCHAs do. */
static void wave(const float *in, float *out, int h, int w, const float u[6], double amp, float bg) {
  const double two_pi = 6.283185307179586;
  double ax = u[0] * amp, ay = u[1] * amp;
  double ly = (0.5 + 1.5 * u[2]) * h, lx = (1 + 3 * u[3]) * h, phx = u[4] * two_pi, phy = u[5] * two_pi;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      double sx = x + ax * sin(two_pi * y / ly + phx), sy = y + ay * sin(two_pi * x / lx + phy);
      double fx0 = floor(sx), fy0 = floor(sy);
      int x0 = (int)fx0, y0 = (int)fy0;
      float bx = (float)(sx - fx0), by = (float)(sy - fy0), v[4];
      for (int k = 0; k < 4; k++) {
        int xx = x0 + (k & 1), yy = y0 + (k >> 1);
        v[k] = (xx >= 0 && xx < w && yy >= 0 && yy < h) ? in[yy * w + xx] : bg;
      }
      out[y * w + x] = (v[0] * (1 - bx) + v[1] * bx) * (1 - by) + (v[2] * (1 - bx) + v[3] * bx) * by;
    }
}

/* A stroke across the image: a quadratic Bezier from the left quarter to the right quarter whose
 * control point may lie above or below the image (an arc), 0.8-2 px wide, antialiased, in a
 * colour between the background and the ink. cov holds h * w floats. */
static void stroke(float *img, float *cov, int h, int w, const float u[8], float bg, float ink) {
  float x0 = u[0] * 0.25f * w, x1 = (0.75f + 0.25f * u[1]) * w, xm = (0.25f + 0.5f * u[2]) * w;
  float y0 = u[3] * h, y1 = u[4] * h, ym = (2 * u[5] - 0.5f) * h;
  float rad = 0.4f + 0.6f * u[6], colour = bg + (ink - bg) * (0.6f + 0.4f * u[7]);
  memset(cov, 0, (size_t)h * w * sizeof *cov);
  int steps = 4 * (w + h);
  for (int i = 0; i <= steps; i++) {
    float t = (float)i / steps, a = (1 - t) * (1 - t), b = 2 * (1 - t) * t, c = t * t;
    float x = a * x0 + b * xm + c * x1, y = a * y0 + b * ym + c * y1;
    for (int py = (int)floorf(y - rad - 1); py <= (int)ceilf(y + rad + 1); py++)
      for (int px = (int)floorf(x - rad - 1); px <= (int)ceilf(x + rad + 1); px++) {
        if (py < 0 || py >= h || px < 0 || px >= w) continue;
        float dx = px - x, dy = py - y, v = rad + 0.5f - sqrtf(dx * dx + dy * dy);
        v = v < 0 ? 0 : v > 1 ? 1 : v;
        if (v > cov[py * w + px]) cov[py * w + px] = v;
      }
  }
  for (int i = 0; i < h * w; i++) img[i] += (colour - img[i]) * cov[i];
}

/* Random erasing (Zhong et al. 2017, "Random Erasing Data Augmentation"), with the background as
 * the fill: a patch of h/8 to h/3 on each side hides part of a symbol. */
static void erase_patch(float *img, int h, int w, const float u[4], float bg) {
  int ph = 1 + (int)((h / 8.0f) + u[0] * (h / 3.0f - h / 8.0f)), pw = 1 + (int)((h / 8.0f) + u[1] * (h / 3.0f - h / 8.0f));
  ph = ph > h ? h : ph, pw = pw > w ? w : pw;
  int y0 = (int)(u[2] * (float)(h - ph + 1)), x0 = (int)(u[3] * (float)(w - pw + 1));
  y0 = y0 > h - ph ? h - ph : y0, x0 = x0 > w - pw ? w - pw : x0;
  for (int y = y0; y < y0 + ph; y++)
    for (int x = x0; x < x0 + pw; x++) img[y * w + x] = bg;
}

/* The eight unit values of counters c and c + 1. */
static void units8(uint64_t key, uint64_t stream, uint64_t c, float u[8]) {
  RtPhilox a = rt_random_words(key, stream, c), b = rt_random_words(key, stream, c + 1);
  for (int i = 0; i < 4; i++) u[i] = rt_random_unit(a.v[i]), u[4 + i] = rt_random_unit(b.v[i]);
}

/* The CAPTCHA effects on geometry and content: wave, strokes, erased patches ([-1, 1] values). */
static void captcha_effects(const RtAugmentSettings *s, uint64_t key, uint64_t stream, int h, int w, float *img,
                            float *tmp, float bg) {
  size_t n = (size_t)h * (size_t)w;
  float u[8];
  if (s->wave > 0) {
    units8(key, stream, 3, u);
    wave(img, tmp, h, w, u, s->wave, bg);
    memcpy(img, tmp, n * sizeof *img);
  }
  units8(key, stream, 5, u); /* u[0]: stroke count, u[1]: patch count */
  int lines = s->lines > 0 ? pick_count(u[0], s->lines) : 0;
  int patches = s->erase > 0 ? pick_count(u[1], s->erase) : 0;
  float ink = lines ? ink_value(img, n, bg) : bg;
  for (int k = 0; k < lines; k++) {
    float v[8];
    units8(key, stream, LINE_COUNTER + 2 * (uint64_t)k, v);
    stroke(img, tmp, h, w, v, bg, ink);
  }
  for (int k = 0; k < patches; k++) {
    RtPhilox q = rt_random_words(key, stream, ERASE_COUNTER + (uint64_t)k);
    float v[4];
    for (int i = 0; i < 4; i++) v[i] = rt_random_unit(q.v[i]);
    erase_patch(img, h, w, v, bg);
  }
}

/* Gamma and inversion on [0, 1] intensities. */
static void tone(const RtAugmentSettings *s, uint64_t key, uint64_t stream, float *img, size_t n) {
  RtPhilox q = rt_random_words(key, stream, 7);
  double g = s->gamma > 0 ? exp((2 * rt_random_unit(q.v[0]) - 1) * log1p(s->gamma)) : 1;
  bool invert = s->invert > 0 && rt_random_unit(q.v[1]) < s->invert;
  if (g == 1 && !invert) return;
  for (size_t i = 0; i < n; i++) {
    float x = img[i] < 0 ? 0 : img[i] > 1 ? 1 : img[i];
    if (g != 1) x = powf(x, (float)g);
    img[i] = invert ? 1 - x : x;
  }
}

void rt_augment_apply(const RtAugmentSettings *s, uint64_t seed, int64_t epoch, int64_t sample,
                      int h, int w, const float *in, float *out) {
  RT_ASSERT(h > 0 && w > 0, "bad image size %dx%d", h, w);
  size_t n = (size_t)h * (size_t)w;
  if (!s || !s->enabled) {
    if (out != in) memmove(out, in, n * sizeof *out);
    return;
  }
  uint64_t key = seed ^ rt_random_stream_of("augment");
  uint64_t stream = (uint64_t)(uint32_t)epoch << 32 | (uint32_t)sample;
  RtPhilox a = rt_random_words(key, stream, 0), b = rt_random_words(key, stream, 1);
  float u[8];
  for (int i = 0; i < 4; i++) u[i] = rt_random_unit(a.v[i]), u[4 + i] = rt_random_unit(b.v[i]);
  /* each strength uniform in [-max, max] (u in [0, 1) -> 2u - 1), or [0, max] for sigmas */
  const double deg = 3.14159265358979323846 / 180;
  double angle = (2 * u[0] - 1) * s->rotation * deg, shear = tan((2 * u[1] - 1) * s->shear * deg);
  double zoom = 1 + (2 * u[2] - 1) * s->scale;
  double tx = (2 * u[3] - 1) * s->translate * w, ty = (2 * u[4] - 1) * s->translate * h;
  double sigma = u[5] * s->blur, noise = u[6] * s->noise;
  double contrast = 1 + (2 * u[7] - 1) * s->contrast;
  float brightness = (float)((2 * rt_random_unit(rt_random_words(key, stream, 2).v[0]) - 1) * s->brightness);

  float *tmp = rt_xmalloc(3 * n * sizeof *tmp), *img = tmp + n, *scratch = tmp + 2 * n;
  float bg = border_median(in, h, w);
  /* M = zoom * R(angle) * [[1, shear], [0, 1]] */
  double c = cos(angle), sn = sin(angle);
  double m[4] = {zoom * c, zoom * (c * shear - sn), zoom * sn, zoom * (sn * shear + c)};
  warp(in, img, h, w, m, tx, ty, bg);
  captcha_effects(s, key, stream, h, w, img, scratch, bg);
  if (sigma > 0.2) blur(img, tmp, h, w, sigma); /* below 0.2 px the kernel is a delta */
  /* contrast around the mean, then brightness, on [0, 1] intensities x = (v + 1) / 2 */
  double mean = 0;
  for (size_t i = 0; i < n; i++) mean += img[i];
  mean = (mean / (double)n + 1) * 0.5;
  for (size_t i = 0; i < n; i++) {
    float x = (img[i] + 1) * 0.5f;
    x = (float)((x - mean) * contrast + mean) + brightness;
    img[i] = x;
  }
  tone(s, key, stream, img, n);
  /* noise: Box-Muller, z0 = r cos(2 pi u2), z1 = r sin(2 pi u2), r = sqrt(-2 ln u1) */
  if (noise > 0)
    for (size_t i = 0; i < n; i += 2) {
      RtPhilox q = rt_random_words(key, stream ^ 0x8000000000000000u, (uint64_t)i);
      float u1 = ((float)(q.v[0] >> 8) + 1.0f) * 0x1p-24f, u2 = rt_random_unit(q.v[1]);
      float r = sqrtf(-2.0f * logf(u1)) * (float)noise;
      img[i] += r * cosf(6.2831853f * u2);
      if (i + 1 < n) img[i + 1] += r * sinf(6.2831853f * u2);
    }
  for (size_t i = 0; i < n; i++) {
    float x = img[i] < 0 ? 0 : img[i] > 1 ? 1 : img[i];
    out[i] = 2 * x - 1;
  }
  free(tmp);
}

/* Rendering one synthetic CAPTCHA, layer by layer: a background (gradient, value-noise blobs,
 * stripes, speckles), the text as an ink coverage map (FreeType glyphs, each rotated/scaled/offset
 * under one global shear, jittered spacing that may overlap), a sinusoidal warp of the ink, lines
 * and arcs over the text, then blur, contrast and grain. Text and background lumas (BT.601)
 * differ by at least 0.4, so the grayscale the loader makes stays readable. The style options
 * (more or no lines, a colour per character, stronger or no distortion, greyscale, a style drawn
 * per sample) draw their extra random numbers only when set, so the default mix renders the same
 * bytes as before. */
#include "runtime/rt_synth.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <ft2build.h>
#include FT_FREETYPE_H
#include FT_ADVANCES_H

#include "runtime/rt_charset.h"
#include "runtime/rt_pool.h"
#include "runtime/rt_synth_fonts.h"
#include "support/rt_assert.h"
#include "support/rt_random.h"

#define PI 3.14159265358979323846

/* Per-thread state: FreeType objects are not thread-safe, and scratch images. */
typedef struct Worker {
  FT_Library lib;
  FT_Face faces[RT_SYNTH_MAX_FONTS];
  float *ink, *layer, *tmp; /* (H, W) each */
  float *rgb;               /* (H, W, 3) */
} Worker;

struct RtSynth {
  RtSynthOptions o;
  char *charset;    /* owned copy of o.charset */
  uint32_t *cps;    /* (n_cps) */
  int n_cps;
  RtSynthFonts fonts; /* the files, read once, shared read-only by every worker's faces */
  float *top, *bottom; /* (fonts.count, n_cps) glyph extent above / below the baseline, in ems */
  Worker *workers[RT_POOL_MAX_THREADS];
};

/* ---- random numbers: a Philox stream per sample, consumed word by word ---- */

typedef struct Rng {
  uint64_t key, stream, counter;
  RtPhilox buf;
  int left;
} Rng;

static uint32_t rng_u32(Rng *r) {
  if (r->left == 0) {
    r->buf = rt_random_words(r->key, r->stream, r->counter++);
    r->left = 4;
  }
  return r->buf.v[--r->left];
}
static float rng_range(Rng *r, double lo, double hi) {
  return (float)(lo + (hi - lo) * rt_random_unit(rng_u32(r)));
}
static int rng_int(Rng *r, int lo, int hi) { /* inclusive */
  return lo + (int)(((uint64_t)rng_u32(r) * (uint64_t)(hi - lo + 1)) >> 32);
}
static bool rng_chance(Rng *r, double p) { return rt_random_unit(rng_u32(r)) < p; }
/* An approximately standard normal value from the four bytes of a word (Irwin-Hall: the sum of
 * four uniforms has variance 4 (256^2 - 1) / 12). Cheap enough for every pixel. */
static float normalish(uint32_t w) {
  int s = (int)(w & 255) + (int)(w >> 8 & 255) + (int)(w >> 16 & 255) + (int)(w >> 24);
  return (float)(s - 510) * (1.0f / 147.80f);
}

/* ---- set-up ---- */

static Worker *worker_new(const RtSynth *s, RtDiags *d) {
  Worker *w = rt_xcalloc(1, sizeof *w);
  if (FT_Init_FreeType(&w->lib)) {
    rt_diag_error(d, "", 0, 0, "cannot initialise FreeType");
    free(w);
    return NULL;
  }
  for (int f = 0; f < s->fonts.count; f++)
    if (FT_New_Memory_Face(w->lib, s->fonts.data[f], (FT_Long)s->fonts.size[f], 0, &w->faces[f])) {
      rt_diag_error(d, s->fonts.paths[f], 0, 0, "FreeType cannot read this font");
      for (int g = 0; g < f; g++) FT_Done_Face(w->faces[g]);
      FT_Done_FreeType(w->lib);
      free(w);
      return NULL;
    }
  size_t n = (size_t)s->o.height * (size_t)s->o.width;
  w->ink = rt_xmalloc(n * sizeof(float));
  w->layer = rt_xmalloc(n * sizeof(float));
  w->tmp = rt_xmalloc(3 * n * sizeof(float));
  w->rgb = rt_xmalloc(3 * n * sizeof(float));
  return w;
}

static void worker_free(Worker *w, int n_fonts) {
  if (!w) return;
  for (int f = 0; f < n_fonts; f++) FT_Done_Face(w->faces[f]);
  FT_Done_FreeType(w->lib);
  free(w->ink);
  free(w->layer);
  free(w->tmp);
  free(w->rgb);
  free(w);
}

static bool is_blank(uint32_t cp) {
  return cp == 0x20 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200B) ||
         cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

/* Fills in the defaults of o. */
static void fill_defaults(RtSynthOptions *o) {
  if (!o->charset) o->charset = RT_SYNTH_DEFAULT_CHARSET;
  if (!o->min_len && !o->max_len) o->min_len = RT_SYNTH_DEFAULT_MIN_LEN, o->max_len = RT_SYNTH_DEFAULT_MAX_LEN;
  if (!o->height && !o->width) o->height = RT_SYNTH_DEFAULT_HEIGHT, o->width = RT_SYNTH_DEFAULT_WIDTH;
  if (!o->font_dir) o->font_dir = RT_SYNTH_FONT_DIR;
}

bool rt_synth_check_options(const RtSynthOptions *opts, RtDiags *d) {
  RtSynthOptions o = opts ? *opts : (RtSynthOptions){0};
  fill_defaults(&o);
  bool ok = true;
  if (o.min_len < 1 || o.max_len > RT_SYNTH_MAX_LEN || o.min_len > o.max_len) {
    rt_diag_error(d, "", 0, 0, "label length range %d-%d is not within 1-%d with min <= max",
                  o.min_len, o.max_len, RT_SYNTH_MAX_LEN);
    ok = false;
  }
  if (o.height < RT_SYNTH_MIN_SIZE || o.height > RT_SYNTH_MAX_HEIGHT || o.width < RT_SYNTH_MIN_SIZE ||
      o.width > RT_SYNTH_MAX_WIDTH) {
    rt_diag_error(d, "", 0, 0, "image size %dx%d (height x width) is not within %d-%d x %d-%d",
                  o.height, o.width, RT_SYNTH_MIN_SIZE, RT_SYNTH_MAX_HEIGHT, RT_SYNTH_MIN_SIZE,
                  RT_SYNTH_MAX_WIDTH);
    ok = false;
  }
  if (o.lines < RT_SYNTH_NONE || o.lines > RT_SYNTH_MAX_LINES) {
    rt_diag_error(d, "", 0, 0, "lines %d is not within 0-%d", o.lines, RT_SYNTH_MAX_LINES);
    ok = false;
  }
  if (!(o.distort == RT_SYNTH_NONE || (o.distort >= 0 && o.distort <= RT_SYNTH_MAX_DISTORT))) {
    rt_diag_error(d, "", 0, 0, "distortion %g is not within 0-%d", o.distort, RT_SYNTH_MAX_DISTORT);
    ok = false;
  }
  if (o.first_index < 0) {
    rt_diag_error(d, "", 0, 0, "first sample index %lld is negative", (long long)o.first_index);
    ok = false;
  }
  RtCharset cs;
  char err[256];
  if (!rt_charset_init(&cs, o.charset, err, sizeof err)) {
    rt_diag_error(d, "", 0, 0, "%s", err);
    return false;
  }
  for (int i = 0; i < cs.size; i++)
    if (is_blank(cs.cps[i])) {
      rt_diag_error(d, "", 0, 0, "the charset of synthetic CAPTCHAs cannot contain blanks (U+%04X)", cs.cps[i]);
      ok = false;
    }
  rt_charset_free(&cs);
  return ok;
}

RtSynth *rt_synth_new(const RtSynthOptions *opts, RtDiags *d) {
  if (!rt_synth_check_options(opts, d)) return NULL;
  RtSynthOptions o = opts ? *opts : (RtSynthOptions){0};
  fill_defaults(&o);
  RtCharset cs;
  char err[256];
  bool valid = rt_charset_init(&cs, o.charset, err, sizeof err);
  RT_ASSERT(valid, "checked charset rejected: %s", err);
  RtSynth *s = rt_xcalloc(1, sizeof *s);
  s->charset = rt_xstrdup(o.charset);
  s->o = o;
  s->o.charset = s->charset;
  s->o.font_dir = NULL; /* only used here */
  s->o.fonts = NULL;    /* listed in s->fonts */
  s->n_cps = cs.size;
  s->cps = rt_xmalloc((size_t)cs.size * sizeof *s->cps);
  memcpy(s->cps, cs.cps, (size_t)cs.size * sizeof *s->cps);
  rt_charset_free(&cs);
  bool ok = rt_synth_fonts_load(&o, s->cps, s->n_cps, &s->fonts, d);
  if (ok && !(s->workers[0] = worker_new(s, d))) ok = false;
  if (!ok) {
    rt_synth_free(s);
    return NULL;
  }
  s->top = rt_xmalloc((size_t)s->fonts.count * s->n_cps * sizeof *s->top);
  s->bottom = rt_xmalloc((size_t)s->fonts.count * s->n_cps * sizeof *s->bottom);
  for (int f = 0; f < s->fonts.count; f++) {
    FT_Face face = s->workers[0]->faces[f];
    for (int i = 0; i < s->n_cps; i++) {
      float top = 0, height = 0;
      if (FT_Load_Glyph(face, FT_Get_Char_Index(face, s->cps[i]), FT_LOAD_NO_SCALE) == 0)
        top = (float)face->glyph->metrics.horiBearingY, height = (float)face->glyph->metrics.height;
      s->top[f * s->n_cps + i] = top / face->units_per_EM;
      s->bottom[f * s->n_cps + i] = (height - top) / face->units_per_EM;
    }
  }
  return s;
}

void rt_synth_free(RtSynth *s) {
  if (!s) return;
  for (int i = 0; i < RT_POOL_MAX_THREADS; i++) worker_free(s->workers[i], s->fonts.count);
  rt_synth_fonts_free(&s->fonts);
  free(s->cps);
  free(s->top);
  free(s->bottom);
  free(s->charset);
  free(s);
}

const RtSynthOptions *rt_synth_options(const RtSynth *s) { return &s->o; }
const RtSynthFonts *rt_synth_fonts(const RtSynth *s) { return &s->fonts; }

/* ---- drawing ---- */

/* The scale of character rotation and wave warp (RtSynthOptions.distort). */
static float distortion(const RtSynthOptions *o) {
  return o->distort == RT_SYNTH_NONE ? 0.0f : o->distort == 0 ? 1.0f : (float)o->distort;
}

static float luma(const float c[3]) { return 0.299f * c[0] + 0.587f * c[1] + 0.114f * c[2]; }

/* A random colour whose luma is `target`: mixed towards white or scaled towards black. */
static void colour_with_luma(Rng *r, float target, float c[3]) {
  for (int k = 0; k < 3; k++) c[k] = rng_range(r, 0, 1);
  float l = luma(c);
  if (l < target) {
    float t = (target - l) / (1 - l);
    for (int k = 0; k < 3; k++) c[k] += (1 - c[k]) * t;
  } else if (l > 0) {
    for (int k = 0; k < 3; k++) c[k] *= target / l;
  }
}

/* Background: gradient between two colours of similar luma, then textures (each optional). */
static void draw_background(Rng *r, Worker *wk, int H, int W, float bg_luma, bool dark_text) {
  float c0[3], c1[3];
  colour_with_luma(r, bg_luma, c0);
  float l1 = bg_luma + rng_range(r, -0.12, 0.12);
  colour_with_luma(r, l1 < 0.02f ? 0.02f : l1 > 0.98f ? 0.98f : l1, c1);
  float ang = rng_range(r, 0, 2 * PI), gx = cosf(ang), gy = sinf(ang);
  float span = fabsf(gx) * W + fabsf(gy) * H, off = (gx < 0 ? -gx * W : 0) + (gy < 0 ? -gy * H : 0);
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      float t = (gx * x + gy * y + off) / span;
      for (int k = 0; k < 3; k++) wk->rgb[(y * W + x) * 3 + k] = c0[k] + (c1[k] - c0[k]) * t;
    }
  if (rng_chance(r, 0.5)) { /* value-noise blobs: random grid values, smoothstep-interpolated */
    float cell = rng_range(r, 5, 16), amp = rng_range(r, 0.04, 0.12);
    int gw = (int)(W / cell) + 2, gh = (int)(H / cell) + 2;
    float *grid = wk->tmp; /* gw * gh <= H * W since cell >= 5 */
    for (int i = 0; i < gw * gh; i++) grid[i] = rng_range(r, -amp, amp);
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++) {
        float fx = x / cell, fy = y / cell;
        int ix = (int)fx, iy = (int)fy;
        float ax = fx - ix, ay = fy - iy;
        ax = ax * ax * (3 - 2 * ax), ay = ay * ay * (3 - 2 * ay);
        float v = (grid[iy * gw + ix] * (1 - ax) + grid[iy * gw + ix + 1] * ax) * (1 - ay) +
                  (grid[(iy + 1) * gw + ix] * (1 - ax) + grid[(iy + 1) * gw + ix + 1] * ax) * ay;
        for (int k = 0; k < 3; k++) wk->rgb[(y * W + x) * 3 + k] += v;
      }
  }
  if (rng_chance(r, 0.25)) { /* faint stripes */
    float a = rng_range(r, 0, PI), period = rng_range(r, 4, 12), amp = rng_range(r, 0.03, 0.08);
    float sx = cosf(a) * 2 * PI / period, sy = sinf(a) * 2 * PI / period;
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++) {
        float v = amp * sinf(sx * x + sy * y);
        for (int k = 0; k < 3; k++) wk->rgb[(y * W + x) * 3 + k] += v;
      }
  }
  if (rng_chance(r, 0.4)) { /* speckles: small dots on the text's side of the luma range */
    int n = (int)(rng_range(r, 0.002, 0.01) * W * H);
    for (int i = 0; i < n; i++) {
      float c[3];
      colour_with_luma(r, dark_text ? rng_range(r, 0, 0.5) : rng_range(r, 0.5, 1), c);
      int x = rng_int(r, 0, W - 1), y = rng_int(r, 0, H - 1);
      float alpha = rng_range(r, 0.3, 0.9);
      for (int k = 0; k < 3; k++) {
        float *p = &wk->rgb[(y * W + x) * 3 + k];
        *p += (c[k] - *p) * alpha;
      }
    }
  }
}

/* Glyph coverage bitmap composited into ink at (left, top): ink = 1 - (1 - ink)(1 - a cov). */
static void blit(float *ink, int H, int W, const FT_Bitmap *bm, int left, int top, float alpha) {
  for (unsigned row = 0; row < bm->rows; row++) {
    int y = top + (int)row;
    if (y < 0 || y >= H) continue;
    const unsigned char *src = bm->buffer + (ptrdiff_t)row * bm->pitch;
    for (unsigned col = 0; col < bm->width; col++) {
      int x = left + (int)col;
      if (x < 0 || x >= W || !src[col]) continue;
      float a = src[col] * (1.0f / 255.0f) * alpha, *p = &ink[y * W + x];
      *p = 1 - (1 - *p) * (1 - a);
    }
  }
}

/* The text into wk->ink; the label is the symbols sym[0..len) of the charset. centres[i]: the
 * horizontal centre of symbol i, for per-character colours. */
static void draw_text(Rng *r, const RtSynth *s, Worker *wk, int H, int W, const int *sym, int len, float distort,
                      float *centres) {
  memset(wk->ink, 0, (size_t)H * W * sizeof *wk->ink);
  int font = rng_int(r, 0, s->fonts.count - 1);
  FT_Face face = wk->faces[font];
  const float *tops = s->top + font * s->n_cps, *bottoms = s->bottom + font * s->n_cps;
  uint32_t cps[RT_SYNTH_MAX_LEN];
  float top = 0, bottom = 0; /* the text's extent around the baseline, in ems */
  for (int i = 0; i < len; i++) {
    cps[i] = s->cps[sym[i]];
    top = tops[sym[i]] > top ? tops[sym[i]] : top;
    bottom = bottoms[sym[i]] > bottom ? bottoms[sym[i]] : bottom;
  }
  float px = H * rng_range(r, 0.55, 0.8), shear = rng_range(r, -0.35, 0.35);
  float adv[RT_SYNTH_MAX_LEN], scale[RT_SYNTH_MAX_LEN], rot[RT_SYNTH_MAX_LEN];
  float dy[RT_SYNTH_MAX_LEN], gap[RT_SYNTH_MAX_LEN], alpha[RT_SYNTH_MAX_LEN];
  float total = 0;
  for (int i = 0; i < len; i++) {
    FT_Fixed a = 0;
    FT_Get_Advance(face, FT_Get_Char_Index(face, cps[i]), FT_LOAD_NO_SCALE, &a);
    adv[i] = (float)a / face->units_per_EM; /* in ems */
    scale[i] = rng_range(r, 0.85, 1.1);
    float max_rot = fminf(22 * distort, 60); /* degrees; 22 in the default mix */
    rot[i] = rng_range(r, -max_rot, max_rot) * (float)(PI / 180);
    dy[i] = rng_range(r, -0.08, 0.08) * H;
    gap[i] = i + 1 < len ? rng_range(r, -0.12, 0.08) : 0; /* negative: overlap the next one */
    alpha[i] = rng_range(r, 0.85, 1);
    total += adv[i] * scale[i] + gap[i];
  }
  float margin = rng_range(r, 0.02, 0.07) * W, avail = W - 2 * margin;
  if (total * px > avail) px = avail / total; /* long labels: smaller text */
  if ((top + bottom) * px > 0.9f * H) px = 0.9f * H / (top + bottom); /* tall symbols: too */
  float x = margin + rng_range(r, 0, avail - total * px);
  /* the text's box centred vertically, jittered, kept inside the image when it fits */
  float baseline = 0.5f * (H + (top - bottom) * px) + rng_range(r, -0.1, 0.1) * H;
  float lowest = top * px + 1, highest = H - bottom * px - 1;
  if (lowest <= highest) baseline = baseline < lowest ? lowest : baseline > highest ? highest : baseline;
  FT_Set_Char_Size(face, 0, (FT_F26Dot6)lrintf(px * 64), 72, 72); /* 72 dpi: 1 pt = 1 px */
  for (int i = 0; i < len; i++) {
    /* M = scale R(rot) [[1, shear], [0, 1]] in FreeType's y-up space, about the glyph's centre */
    float c = cosf(rot[i]), s = sinf(rot[i]), k = scale[i];
    float m00 = k * c, m01 = k * (c * shear - s), m10 = k * s, m11 = k * (s * shear + c);
    float cx = adv[i] * px * 0.5f, cy = (tops[sym[i]] - bottoms[sym[i]]) * px * 0.5f;
    float base_y = baseline + dy[i];
    int ix = (int)floorf(x), iy = (int)floorf(base_y);
    FT_Matrix m = {(FT_Fixed)lrintf(m00 * 65536), (FT_Fixed)lrintf(m01 * 65536),
                   (FT_Fixed)lrintf(m10 * 65536), (FT_Fixed)lrintf(m11 * 65536)};
    FT_Vector delta = {(FT_Pos)lrintf((x - ix + cx - (m00 * cx + m01 * cy)) * 64),
                       (FT_Pos)lrintf((cy - (m10 * cx + m11 * cy) - (base_y - iy)) * 64)};
    FT_Set_Transform(face, &m, &delta);
    if (FT_Load_Glyph(face, FT_Get_Char_Index(face, cps[i]), FT_LOAD_NO_HINTING | FT_LOAD_NO_BITMAP | FT_LOAD_RENDER) == 0)
      blit(wk->ink, H, W, &face->glyph->bitmap, ix + face->glyph->bitmap_left, iy - face->glyph->bitmap_top, alpha[i]);
    centres[i] = x + 0.5f * adv[i] * scale[i] * px;
    x += (adv[i] * scale[i] + gap[i]) * px;
  }
  FT_Set_Transform(face, NULL, NULL);
}

/* Bilinear read with zeros outside. */
static float sample(const float *p, int H, int W, float x, float y) {
  int x0 = (int)floorf(x), y0 = (int)floorf(y);
  float ax = x - x0, ay = y - y0, v[4];
  for (int k = 0; k < 4; k++) {
    int xx = x0 + (k & 1), yy = y0 + (k >> 1);
    v[k] = xx >= 0 && xx < W && yy >= 0 && yy < H ? p[yy * W + xx] : 0;
  }
  return (v[0] * (1 - ax) + v[1] * ax) * (1 - ay) + (v[2] * (1 - ax) + v[3] * ax) * ay;
}

/* ink(x, y) <- ink(x + ax sin(2 pi y / ly + px), y + ay sin(2 pi x / lx + py)): the horizontal
 * shift depends on the row only and the vertical one on the column only, so both are tabulated. */
static void warp_ink(Rng *r, Worker *wk, int H, int W, float k) {
  float ax = rng_range(r, 0, 2.5 * k), ly = rng_range(r, 0.8, 2) * H, phx = rng_range(r, 0, 2 * PI);
  float ay = rng_range(r, 0, 0.06 * k) * H, lx = rng_range(r, 0.4, 1.2) * W, phy = rng_range(r, 0, 2 * PI);
  float *shift_x = wk->tmp, *shift_y = wk->tmp + H; /* (H), (W) */
  for (int y = 0; y < H; y++) shift_x[y] = ax * sinf(2 * PI * y / ly + phx);
  for (int x = 0; x < W; x++) shift_y[x] = ay * sinf(2 * PI * x / lx + phy);
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      wk->layer[y * W + x] = sample(wk->ink, H, W, x + shift_x[y], y + shift_y[x]);
  memcpy(wk->ink, wk->layer, (size_t)H * W * sizeof *wk->ink);
}

/* Composites `cov` (H, W) of colour c over the image. */
static void paint(Worker *wk, int H, int W, const float *cov, const float c[3]) {
  for (int i = 0; i < H * W; i++)
    for (int k = 0; k < 3; k++) wk->rgb[i * 3 + k] += (c[k] - wk->rgb[i * 3 + k]) * cov[i];
}

/* Composites the ink with a colour per character: each column takes the colour of the
 * character whose centre is nearest (overlapping characters split at the midpoint). */
static void paint_chars(Worker *wk, int H, int W, const float *centres, float (*cols)[3], int len) {
  for (int x = 0; x < W; x++) {
    int best = 0;
    for (int i = 1; i < len; i++)
      if (fabsf(centres[i] - x) < fabsf(centres[best] - x)) best = i;
    for (int y = 0; y < H; y++) {
      int p = y * W + x;
      for (int k = 0; k < 3; k++) wk->rgb[p * 3 + k] += (cols[best][k] - wk->rgb[p * 3 + k]) * wk->ink[p];
    }
  }
}

/* A straight line or a sine arc across the text, antialiased, `thick` pixels wide. */
static void draw_stroke(Rng *r, float *cov, int H, int W) {
  memset(cov, 0, (size_t)H * W * sizeof *cov);
  float x0 = rng_range(r, 0, 0.3) * W, x1 = rng_range(r, 0.7, 1) * W;
  float thick = rng_range(r, 0.7, 2.2), rad = thick * 0.5f;
  bool arc = rng_chance(r, 0.5);
  float ya = rng_range(r, 0.2, 0.8) * H, yb = rng_range(r, 0.2, 0.8) * H;
  float amp = rng_range(r, 0.1, 0.35) * H, wl = rng_range(r, 0.5, 2) * W, ph = rng_range(r, 0, 2 * PI);
  for (float x = x0; x <= x1; x += 0.25f) {
    float t = (x - x0) / (x1 - x0 + 1e-6f);
    float y = arc ? (ya + yb) * 0.5f + amp * sinf(2 * PI * (x - x0) / wl + ph) : ya + (yb - ya) * t;
    for (int py = (int)floorf(y - rad - 1); py <= (int)ceilf(y + rad + 1); py++)
      for (int pxl = (int)floorf(x - rad - 1); pxl <= (int)ceilf(x + rad + 1); pxl++) {
        if (py < 0 || py >= H || pxl < 0 || pxl >= W) continue;
        float ddx = pxl - x, ddy = py - y, a = rad + 0.5f - sqrtf(ddx * ddx + ddy * ddy);
        a = a < 0 ? 0 : a > 1 ? 1 : a;
        if (a > cov[py * W + pxl]) cov[py * W + pxl] = a;
      }
  }
}

/* Separable Gaussian blur of the colour image (edges clamped), 2.5 sigma wide. */
static void blur_rgb(Worker *wk, int H, int W, float sigma) {
  enum { MAXR = 8 };
  int rad = (int)ceilf(2.5f * sigma);
  if (rad > MAXR) rad = MAXR;
  float k[2 * MAXR + 1], sum = 0;
  for (int i = -rad; i <= rad; i++) sum += k[i + rad] = expf(-0.5f * i * i / (sigma * sigma));
  for (int i = 0; i <= 2 * rad; i++) k[i] /= sum;
  float *src = wk->rgb, *tmp = wk->tmp;
  for (int y = 0; y < H; y++) {
    const float *row = src + (size_t)y * W * 3;
    for (int x = 0; x < W; x++) {
      float acc[3] = {0, 0, 0};
      for (int i = -rad; i <= rad; i++) {
        int xx = x + i < 0 ? 0 : x + i >= W ? W - 1 : x + i;
        for (int c = 0; c < 3; c++) acc[c] += k[i + rad] * row[xx * 3 + c];
      }
      for (int c = 0; c < 3; c++) tmp[((size_t)y * W + x) * 3 + c] = acc[c];
    }
  }
  for (int y = 0; y < H; y++) {
    float *out = src + (size_t)y * W * 3;
    for (int i = 0; i < W * 3; i++) out[i] = 0;
    for (int t = -rad; t <= rad; t++) { /* whole rows at a time: vectorisable */
      int yy = y + t < 0 ? 0 : y + t >= H ? H - 1 : y + t;
      const float *in = tmp + (size_t)yy * W * 3;
      float kt = k[t + rad];
      for (int i = 0; i < W * 3; i++) out[i] += kt * in[i];
    }
  }
}

/* One sample's style: the set's, or with `mixed`, drawn from the sample's own style stream. */
typedef struct Style {
  float distort; /* scale of rotation and warp */
  bool char_colours;
  int strokes;   /* `mixed`: the number of strokes; -1: from `lines` (or the default mix) */
} Style;

static Style sample_style(const RtSynthOptions *o, uint64_t seed, int64_t index) {
  Style st = {.distort = distortion(o), .char_colours = o->char_colours, .strokes = -1};
  if (!o->mixed) return st;
  Rng m = {.key = seed ^ rt_random_stream_of("synth style"), .stream = (uint64_t)index};
  st.distort *= rng_range(&m, 0.25, 2);
  st.char_colours = st.char_colours || rng_chance(&m, 0.5);
  int most = o->lines == RT_SYNTH_NONE ? 0 : o->lines > 0 ? o->lines : RT_SYNTH_MIXED_LINES;
  st.strokes = rng_int(&m, 0, most);
  return st;
}

void rt_synth_render(RtSynth *s, uint64_t seed, int64_t index, int worker, char *label, uint8_t *rgb) {
  RT_ASSERT(worker >= 0 && worker < RT_POOL_MAX_THREADS && index >= 0, "worker %d index %lld", worker,
            (long long)index);
  if (!s->workers[worker]) {
    RtDiags d = {0};
    s->workers[worker] = worker_new(s, &d);
    RT_ASSERT(s->workers[worker], "FreeType failed on fonts it read before");
  }
  Worker *wk = s->workers[worker];
  int H = s->o.height, W = s->o.width;
  Rng r = {.key = seed ^ rt_random_stream_of("synth"), .stream = (uint64_t)index};
  int len = rng_int(&r, s->o.min_len, s->o.max_len);
  int sym[RT_SYNTH_MAX_LEN];
  size_t pos = 0;
  for (int i = 0; i < len; i++) {
    sym[i] = rng_int(&r, 0, s->n_cps - 1);
    pos += (size_t)rt_utf8_encode(s->cps[sym[i]], label + pos);
  }
  label[pos] = '\0';

  bool dark_text = rng_chance(&r, 0.8);
  float bg_luma = dark_text ? rng_range(&r, 0.6, 0.97) : rng_range(&r, 0.03, 0.35);
  float text_luma = dark_text ? rng_range(&r, 0, bg_luma - 0.4) : rng_range(&r, bg_luma + 0.4, 1);
  float text_col[3];
  colour_with_luma(&r, text_luma, text_col);
  draw_background(&r, wk, H, W, bg_luma, dark_text);
  Style style = sample_style(&s->o, seed, index);
  float centres[RT_SYNTH_MAX_LEN];
  draw_text(&r, s, wk, H, W, sym, len, style.distort, centres);
  warp_ink(&r, wk, H, W, style.distort);
  if (style.char_colours) { /* each its own colour at its own luma, as contrasting as text_col */
    float cols[RT_SYNTH_MAX_LEN][3];
    for (int i = 0; i < len; i++)
      colour_with_luma(&r, dark_text ? rng_range(&r, 0, bg_luma - 0.4) : rng_range(&r, bg_luma + 0.4, 1), cols[i]);
    paint_chars(wk, H, W, centres, cols, len);
  } else {
    paint(wk, H, W, wk->ink, text_col);
  }
  int strokes = rng_int(&r, 0, 99);
  strokes = strokes < 15 ? 0 : strokes < 55 ? 1 : strokes < 85 ? 2 : 3;
  if (style.strokes >= 0) strokes = style.strokes;
  else if (s->o.lines == RT_SYNTH_NONE) strokes = 0;
  else if (s->o.lines > 0) strokes = rng_int(&r, 1, s->o.lines);
  for (int i = 0; i < strokes; i++) {
    float col[3];
    if (rng_chance(&r, 0.6)) memcpy(col, text_col, sizeof col);
    else colour_with_luma(&r, dark_text ? rng_range(&r, 0, bg_luma - 0.3) : rng_range(&r, bg_luma + 0.3, 1), col);
    draw_stroke(&r, wk->layer, H, W);
    paint(wk, H, W, wk->layer, col);
  }
  if (rng_chance(&r, 0.6)) blur_rgb(wk, H, W, rng_range(&r, 0.3, 1.1));
  float contrast = rng_range(&r, 0.75, 1.15), bright = rng_range(&r, -0.05, 0.05);
  float noise = rng_chance(&r, 0.6) ? rng_range(&r, 0.01, 0.05) : 0;
  /* monochrome grain: one normal value per pixel, four pixels per Philox call */
  uint64_t noise_stream = (uint64_t)index | 0x8000000000000000u;
  RtPhilox q = {{0}};
  for (int i = 0; i < H * W; i++) {
    if (noise > 0 && i % 4 == 0) q = rt_random_words(r.key, noise_stream, (uint64_t)i / 4);
    float grain = noise > 0 ? noise * normalish(q.v[i % 4]) : 0;
    float v[3];
    for (int c = 0; c < 3; c++) {
      v[c] = (wk->rgb[i * 3 + c] - 0.5f) * contrast + 0.5f + bright + grain;
      v[c] = v[c] < 0 ? 0 : v[c] > 1 ? 1 : v[c];
    }
    if (s->o.grey) v[0] = v[1] = v[2] = luma(v);
    for (int c = 0; c < 3; c++) rgb[i * 3 + c] = (uint8_t)(v[c] * 255.0f + 0.5f);
  }
}

/* Images in and out: PNG/JPEG decoding (stb_image) to grayscale, the conversion to the model's
 * input tensor (1 x 32 x 128 by default: aspect kept, padded with the background, [-1, 1]), and
 * PNG encoding (stb_image_write) for the synthetic generator. Everything here is reentrant: the
 * dataset loader decodes images on several threads at once. */
#ifndef SMELT_RT_IMAGE_H
#define SMELT_RT_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The model input every preset uses: one channel, 32 rows, 128 columns. */
enum { RT_INPUT_H = 32, RT_INPUT_W = 128, RT_INPUT_PIXELS = RT_INPUT_H * RT_INPUT_W };
/* Larger images are refused before decoding (a 32 Mpixel text line is a mistake, and the limit
 * bounds what a hostile file can make us allocate). */
enum { RT_IMAGE_MAX_PIXELS = 1 << 25 };
/* How far a too-wide image may be squeezed horizontally before it is scaled down as a whole. */
#define RT_IMAGE_MAX_SQUEEZE 2.0

typedef struct RtImage {
  int w, h;
  float *gray;    /* (h, w) luminance in [0, 1], owned */
  float colourful; /* fraction of pixels whose colour channels differ by more than 24 of 255
                      (0 for a greyscale file): how far from grey the picture is */
} RtImage;

/* Decodes a PNG or JPEG held in memory (any bit depth and channel count) to luminance:
 * Y = 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601, what PIL's convert("L") uses), alpha composited
 * over white. False with a message in err for anything else, a corrupt file or one larger than
 * RT_IMAGE_MAX_PIXELS; out is then zeroed. */
bool rt_image_decode(const void *data, size_t size, RtImage *out, char *err, size_t err_size);
/* The same luminance from 8-bit pixels in memory (w x h x comp, rows packed; comp 1-4 as
 * above): what decoding a PNG of these pixels gives, bit for bit (rt_image_decode calls it).
 * Caller frees with rt_image_free. */
void rt_image_from_pixels(const uint8_t *px, int w, int h, int comp, RtImage *out);
/* Reads and decodes a file; err says why not (cannot open, not an image, ...). */
bool rt_image_load(const char *path, RtImage *out, char *err, size_t err_size);
void rt_image_free(RtImage *img);

/* The background level of an image: the median of its border pixels (text rarely touches all four
 * edges, so this is the paper/backdrop colour even on dark or textured images). */
float rt_image_border_median(const float *px, int w, int h);

/* The model input out (1, out_h, out_w), values in [-1, 1]:
 * - scale to height out_h keeping the aspect ratio: width sw = max(1, round(w * out_h / h));
 * - sw <= out_w: place at the left, fill columns [sw, out_w) with the background;
 * - out_w < sw <= RT_IMAGE_MAX_SQUEEZE * out_w: squeeze to out_w (characters get narrower);
 * - wider still: squeeze by RT_IMAGE_MAX_SQUEEZE and scale both dimensions down until the width
 *   is out_w, centred vertically with background rows above and below;
 * resampling by area averaging when shrinking and bilinear when enlarging (stb_image_resize),
 * background = rt_image_border_median, then x -> (x - 0.5) / 0.5. */
void rt_image_to_input(const RtImage *img, int out_h, int out_w, float *out);

/* Model inputs as a data set keeps them: x in [-1, 1] as the byte round((x + 1) * 127.5), a
 * quarter of the floats' memory. A byte b reads back as (b / 255 - 0.5) / 0.5, which is exactly
 * rt_image_to_input's value for a grey 8-bit pixel b that needed no resampling; resampled or
 * colour pixels move by at most 1/255. */
void rt_input_to_bytes(const float *x, int64_t n, uint8_t *out);
void rt_input_from_bytes(const uint8_t *b, int64_t n, float *out);

/* An image file as a model reads it outside a data set (smelt predict, quantize's calibration):
 * rt_image_load, rt_image_to_input into out (out_h x out_w), then through the bytes a data set
 * keeps, so that a validation image reads as it did in training's validation. False with err
 * saying why when the file cannot be read. */
bool rt_image_read_input(const char *path, int out_h, int out_w, float *out, char *err, size_t err_size);

/* Encodes w x h pixels of `channels` 8-bit components (1 gray, 3 RGB, 4 RGBA), rows packed, as a
 * PNG file at path. False with a message in err when encoding or writing fails. */
bool rt_image_write_png(const char *path, const uint8_t *pixels, int w, int h, int channels,
                        char *err, size_t err_size);
/* The same into memory: returns a malloc'ed PNG (caller frees) and its size, or NULL. */
uint8_t *rt_image_encode_png(const uint8_t *pixels, int w, int h, int channels, size_t *size);

#endif

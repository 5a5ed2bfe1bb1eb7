/* libFuzzer target for the image path of datasets: PNG/JPEG decoding (stb_image via rt_image.c),
 * grayscale, resize/pad/normalise, augmentation. Whatever the bytes: decoded or refused with a
 * message, never a crash or sanitizer report (run with UBSAN_OPTIONS=halt_on_error=1); a decoded
 * image converts to finite values in [-1, 1] at 32x128 and at a size taken from the input, also
 * after augmentation. Build: `make fuzz` (clang-19); seed corpus: tests/data/images. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "runtime/rt_augment.h"
#include "runtime/rt_image.h"
#include "support/rt_assert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const float *t, int n) {
  for (int i = 0; i < n; i++) RT_ASSERT(isfinite(t[i]) && t[i] >= -1.0f && t[i] <= 1.0f, "pixel %d = %g", i, t[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  RtImage img;
  char err[256];
  if (!rt_image_decode(data, size, &img, err, sizeof err)) {
    RT_ASSERT(err[0] && !img.gray && img.w == 0, "refused without a message");
    return 0;
  }
  RT_ASSERT(img.w > 0 && img.h > 0 && (int64_t)img.w * img.h <= RT_IMAGE_MAX_PIXELS, "%dx%d", img.w, img.h);
  for (int64_t i = 0; i < (int64_t)img.w * img.h; i++)
    RT_ASSERT(img.gray[i] >= 0.0f && img.gray[i] <= 1.0f, "gray %g", img.gray[i]);
  static float t[RT_INPUT_PIXELS];
  rt_image_to_input(&img, RT_INPUT_H, RT_INPUT_W, t);
  check(t, RT_INPUT_PIXELS);
  RtAugmentSettings s = rt_augment_defaults();
  rt_augment_apply(&s, size, 1, data[size - 1], RT_INPUT_H, RT_INPUT_W, t, t);
  check(t, RT_INPUT_PIXELS);
  int h = 1 + data[0] % 48, w = 1 + data[size / 2] % 160; /* odd sizes exercise the edge cases */
  float *u = malloc((size_t)h * w * sizeof *u);
  rt_image_to_input(&img, h, w, u);
  check(u, h * w);
  free(u);
  rt_image_free(&img);
  return 0;
}

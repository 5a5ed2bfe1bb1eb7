/* On-the-fly augmentation of training images (never validation): a random affine warp (rotation,
 * horizontal shear, zoom, shift), a smooth wave displacement, occluding lines and arcs, erased
 * patches, Gaussian blur, contrast/brightness, gamma, polarity inversion and Gaussian pixel noise,
 * applied to a model-input tensor (1, H, W) in [-1, 1]. Every random draw is a Philox value of
 * (seed, epoch, sample index) (rt_random.h), so the same sample in the same epoch is augmented
 * identically whatever the batch order, the thread or a resume. Reentrant. */
#ifndef SMELT_RT_AUGMENT_H
#define SMELT_RT_AUGMENT_H

#include <stdbool.h>
#include <stdint.h>

/* Maximum strengths; each image draws its own strength uniformly in [0, max] (or the range given).
 * The fields match the `augmentation` settings of experiment configs (docs/config.md). */
typedef struct RtAugmentSettings {
  bool enabled;
  double rotation;   /* max |angle|, degrees */
  double shear;      /* max |horizontal shear angle|, degrees */
  double scale;      /* zoom factor in [1 - scale, 1 + scale] */
  double translate;  /* max shift as a fraction of the width and of the height */
  double noise;      /* max std of Gaussian pixel noise, on [0, 1] intensities */
  double blur;       /* max Gaussian blur sigma, pixels */
  double contrast;   /* contrast factor in [1 - contrast, 1 + contrast] around the image mean */
  double brightness; /* shift in [-brightness, brightness], on [0, 1] intensities */
  /* CAPTCHA-specific effects, all off (0) in the defaults */
  int lines;         /* max number of lines/arcs drawn over the image in the text's colour */
  double wave;       /* max amplitude, pixels, of a smooth sinusoidal displacement field */
  int erase;         /* max number of small patches filled with the background */
  double invert;     /* probability of inverting the polarity (light text on dark) */
  double gamma;      /* gamma exponent in [1 / (1 + gamma), 1 + gamma], on [0, 1] intensities */
} RtAugmentSettings;

/* enabled, rotation 3, shear 8, scale 0.05, translate 0.03, noise 0.02, blur 0.6, contrast 0.2
 * (the config defaults), brightness 0.05. */
RtAugmentSettings rt_augment_defaults(void);

/* Writes the augmented in (1, h, w) to out (may be the same buffer). With s NULL or not enabled,
 * out is a copy of in. Values stay in [-1, 1]; pixels the warp brings in from outside the image
 * take the background (the median of in's border). */
void rt_augment_apply(const RtAugmentSettings *s, uint64_t seed, int64_t epoch, int64_t sample,
                      int h, int w, const float *in, float *out);

#endif

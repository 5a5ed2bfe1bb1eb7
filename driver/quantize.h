/* Post-training static quantization of a checkpoint (`smelt quantize`, docs/quantization.md):
 * the model's calibration graph (fp32 products plus every quantizable weight's largest input
 * magnitude, FE_QUANT_OBSERVE) runs over calibration images; each such weight becomes int8 with
 * one symmetric scale per output channel (its largest |w| / 127) and its activations one
 * symmetric scale (the largest |x| seen / 127: the min/max method); everything else stays fp32.
 * The result is an inference checkpoint: the model's params and batch-norm statistics (no
 * optimizer moments), the source's metadata plus "quantized" and "calibration". */
#ifndef SMELT_DRIVER_QUANTIZE_H
#define SMELT_DRIVER_QUANTIZE_H

#include <stdbool.h>
#include <stdio.h>

#include "support/rt_diag.h"

/* How an activation's scale is calibrated: its range / 127, the range being the largest |x| over
 * all calibration images (min/max), or the mean over batches of 32 images of each batch's
 * largest |x| (PyTorch's MovingAverageMinMaxObserver with equal weights), which outliers move
 * less. */
typedef enum QuantCalibration { QUANT_CALIB_MAX, QUANT_CALIB_MEAN_MAX } QuantCalibration;

typedef struct QuantizeOptions {
  const char *checkpoint; /* an fp32 checkpoint */
  const char *calib;      /* a labels.tsv folder, or any folder of PNG/JPEG images */
  const char *out;        /* the quantized checkpoint to write */
  int max_images;         /* calibration images used at most (the first ones) */
  QuantCalibration method;
  FILE *log;              /* one line per weight and a summary, or NULL */
} QuantizeOptions;

bool quantize_checkpoint(const QuantizeOptions *o, RtDiags *d);

#endif

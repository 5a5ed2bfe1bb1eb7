/* deploy.c: prints `path<TAB>text` for each image file given, read by a model compiled with
 *     smelt emit CHECKPOINT -o DIR --name model [--batch N] [--weights-file]
 * and built with (see Makefile)
 *     cc -O2 -I DIR deploy.c DIR/model.o -lm -o deploy
 * Nothing of smelt's is needed: model.o, model.h, libm and stb (libstb-dev).
 * With --weights-file, pass the weights: ./deploy -w DIR/model.weights IMAGE... */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "preprocess.h"

enum { PIXELS = MODEL_CHANNELS * MODEL_HEIGHT * MODEL_WIDTH };

#ifdef MODEL_WEIGHTS_BYTES
/* The weights file, in 64-byte aligned memory; NULL when it is missing or has the wrong size. */
static void *load_weights(const char *path) {
  FILE *f = path ? fopen(path, "rb") : NULL;
  void *w = f ? aligned_alloc(64, (MODEL_WEIGHTS_BYTES + 63) / 64 * 64) : NULL;
  bool ok = w && fread(w, 1, MODEL_WEIGHTS_BYTES, f) == MODEL_WEIGHTS_BYTES && fgetc(f) == EOF;
  if (f) fclose(f);
  if (!ok) free(w);
  return ok ? w : NULL;
}
#endif

int main(int argc, char **argv) {
  int first = 1;
#ifdef MODEL_WEIGHTS_BYTES
  if (argc < 3 || strcmp(argv[1], "-w")) {
    fprintf(stderr, "usage: %s -w MODEL.weights IMAGE...\n", argv[0]);
    return 2;
  }
  void *weights = load_weights(argv[2]);
  if (!weights) {
    fprintf(stderr, "%s: error: cannot read %lld bytes of weights\n", argv[2], (long long)MODEL_WEIGHTS_BYTES);
    return 1;
  }
  first = 3;
#define RUN(images, n, tokens, scratch) model_run(weights, images, n, tokens, scratch)
#else
#define RUN(images, n, tokens, scratch) model_run(images, n, tokens, scratch)
#endif
  if (argc <= first) {
    fprintf(stderr, "usage: %s IMAGE...\n", argv[0]);
    return 2;
  }
  float *images = malloc(sizeof(float) * MODEL_BATCH * PIXELS);
  int32_t *tokens = malloc(sizeof(int32_t) * MODEL_BATCH * MODEL_TOKENS);
  void *scratch = aligned_alloc(64, (MODEL_SCRATCH_BYTES + 63) / 64 * 64);
  if (!images || !tokens || !scratch) return 1;
  int status = 0;
  for (int next = first; next < argc;) {
    const char *paths[MODEL_BATCH];
    int n = 0;
    for (; next < argc && n < MODEL_BATCH; next++) {
      if (preprocess_file(argv[next], MODEL_HEIGHT, MODEL_WIDTH, images + (size_t)n * PIXELS)) {
        paths[n++] = argv[next];
      } else {
        fprintf(stderr, "%s: error: cannot read the image (%s)\n", argv[next], stbi_failure_reason());
        status = 1;
      }
    }
    if (RUN(images, n, tokens, scratch) != 0) return 1;
    for (int i = 0; i < n; i++) {
      char text[MODEL_TEXT_BYTES];
      model_decode(tokens + (size_t)i * MODEL_TOKENS, text, sizeof text);
      printf("%s\t%s\n", paths[i], text);
    }
  }
  free(images);
  free(tokens);
  free(scratch);
#ifdef MODEL_WEIGHTS_BYTES
  free(weights);
#endif
  return status;
}

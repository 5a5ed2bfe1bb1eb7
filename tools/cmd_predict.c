/* `smelt predict CHECKPOINT IMAGE...`: reads each image's text with a trained model, printing
 * `path<TAB>text` per image in the order given; images are run in batches. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver/checkpoint_model.h"
#include "runtime/rt_charset.h"
#include "runtime/rt_image.h"
#include "runtime/rt_memory.h"
#include "runtime/rt_metrics.h"
#include "runtime/rt_train_io.h"
#include "support/rt_assert.h"
#include "tools/cli.h"
#include "tools/commands.h"

static const char USAGE[] =
    "usage: smelt predict CHECKPOINT IMAGE... [--batch N]\n"
    "\n"
    "Prints `path<TAB>text` for each image (PNG or JPEG, any size: converted like the training\n"
    "data), read by the model of CHECKPOINT.\n"
    "\n"
    "options:\n"
    "  --batch N   images per compiled batch (default: 32, or fewer when fewer images)\n"
    "  -h, --help  show this help\n";

/* The text of one row of predicted ids; ids has room for width symbols, out for width UTF-8
 * characters (4 bytes each) and the terminator. */
static void row_text(const CheckpointModel *m, const RtCharset *cs, const int32_t *row, int width, int32_t *ids,
                     char *out) {
  int64_t n = m->model.head == RT_HEAD_ATTENTION ? rt_decode_attention(row, width, RT_END, ids)
                                                 : rt_decode_ctc_greedy(row, width, RT_BLANK, ids);
  int shift = m->model.head == RT_HEAD_ATTENTION ? 2 : 1;
  size_t used = 0;
  for (int64_t k = 0; k < n; k++) {
    int id = ids[k] - shift;
    char utf8[4];
    int len = id >= 0 && id < cs->size ? rt_utf8_encode(cs->cps[id], utf8) : 0;
    if (len <= 0) continue;
    memcpy(out + used, utf8, (size_t)len);
    used += (size_t)len;
  }
  out[used] = 0;
}

int cmd_predict(int argc, char **argv) {
  static const struct option opts[] = {{"batch", required_argument, NULL, 'b'}, {"help", no_argument, NULL, 'h'}, {0}};
  int64_t batch = 32;
  int c;
  while ((c = cli_getopt(argc, argv, "h", opts, USAGE)) != -1) {
    if (c == 'h') {
      fputs(USAGE, stdout);
      return CLI_EXIT_OK;
    }
    if (c != 'b' || !cli_parse_int("--batch", optarg, 1, 4096, &batch, USAGE)) return CLI_EXIT_USAGE;
  }
  if (argc - optind < 2) return cli_usage_error(USAGE, "expected a CHECKPOINT and at least one IMAGE");
  const char *ckpt = argv[optind];
  char **images = argv + optind + 1;
  int count = argc - optind - 1;
  if (batch > count) batch = count;
  RtDiags d = {0};
  CheckpointModel m;
  bool ok = checkpoint_model_load(ckpt, FE_GRAPH_INFER, (int)batch, FE_QUANT_NONE, &m, &d);
  rt_diags_print(&d, stderr);
  rt_diags_free(&d);
  if (!ok) return CLI_EXIT_FAIL;
  RtCharset cs = {0};
  char err[256];
  if (!rt_charset_init(&cs, m.charset, err, sizeof err)) {
    fprintf(stderr, "%s: error: bad charset in the checkpoint: %s\n", ckpt, err);
    checkpoint_model_free(&m);
    return CLI_EXIT_FAIL;
  }
  char task[600]; /* the memory check (rt_memory.h); stdout is for the texts, so no estimate */
  snprintf(task, sizeof task, "predicting with %s", ckpt);
  RtMemNeed need = {.task = task, .blas = m.model.blas_gemm};
  rt_mem_need_add(&need, "inference step", m.model.eval.io_bytes + m.model.eval.scratch_bytes);
  if (!rt_mem_prepare(&need, NULL, &d)) {
    rt_diags_print(&d, stderr);
    rt_diags_free(&d);
    checkpoint_model_free(&m);
    return CLI_EXIT_FAIL;
  }
  const RtGraphBin *g = &m.model.eval;
  const RtSlot *in = rt_graph_slot(g, "image"), *pred = rt_graph_slot(g, "pred");
  void *io = rt_region_alloc(g->io_bytes), *scratch = rt_region_alloc(g->scratch_bytes);
  float *pixels = (float *)((char *)io + in->offset);
  int64_t per = (int64_t)m.model.height * m.model.width * m.model.channels;
  int width = (int)pred->dims[1], failed = 0;
  bool *loaded = rt_xcalloc((size_t)batch, sizeof *loaded);
  int32_t *ids = rt_xmalloc((size_t)width * sizeof *ids);
  char *text = rt_xmalloc((size_t)width * 4 + 1);
  for (int start = 0; start < count; start += (int)batch) {
    int n = count - start < batch ? count - start : (int)batch;
    memset(pixels, 0, (size_t)(per * batch) * sizeof(float));
    for (int i = 0; i < n; i++) {
      loaded[i] = rt_image_read_input(images[start + i], m.model.height, m.model.width, pixels + per * i, err, sizeof err);
      if (!loaded[i]) {
        fprintf(stderr, "%s: error: %s\n", images[start + i], err);
        failed++;
      }
    }
    g->step(m.state, io, scratch);
    const int32_t *rows = (const int32_t *)((const char *)io + pred->offset);
    for (int i = 0; i < n; i++) {
      if (!loaded[i]) continue;
      row_text(&m, &cs, rows + (int64_t)i * width, width, ids, text);
      printf("%s\t%s\n", images[start + i], text);
    }
  }
  free(loaded);
  free(ids);
  free(text);
  free(io);
  free(scratch);
  rt_charset_free(&cs);
  checkpoint_model_free(&m);
  return failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

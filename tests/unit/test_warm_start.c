/* Warm start from another run's checkpoint (runtime/rt_warm_start.h): tensors matching by name and
 * shape are copied, optimizer moments never are, a tensor of another shape or absent keeps its
 * initialisation, and when the charsets differ the head's class rows are remapped by symbol
 * (blank and shared symbols keep their trained rows, new symbols and unused rows their fresh
 * ones). A file that is not a checkpoint, or shares nothing with the model, is an error naming it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_support.h"

#include "runtime/rt_checkpoint.h"
#include "runtime/rt_warm_start.h"

static char tmp_dir[] = "/tmp/smelt_warm_XXXXXX";
static char ckpt[600];

/* The pretrained model: CTC over "abc" (classes: blank + 3 symbols). Values: slot k element i =
 * 100 k + i, so every copied number says where it came from. */
static const RtSlot old_slots[] = {
    {.name = "conv.weight", .dtype = RT_F32, .rank = 2, .dims = {2, 3}, .offset = 0, .trainable = true},
    {.name = "bn.running_mean", .dtype = RT_F32, .rank = 1, .dims = {2}, .offset = 24},
    {.name = "lstm.weight", .dtype = RT_F32, .rank = 1, .dims = {4}, .offset = 32, .trainable = true},
    {.name = "head.out.weight", .dtype = RT_F32, .rank = 2, .dims = {4, 2}, .offset = 48, .trainable = true},
    {.name = "head.out.bias", .dtype = RT_F32, .rank = 1, .dims = {4}, .offset = 80, .trainable = true},
    {.name = "opt.m.conv.weight", .dtype = RT_F32, .rank = 2, .dims = {2, 3}, .offset = 96},
};
static const RtModel old_model = {.state_bytes = 120, .state = old_slots, .n_state = 6, .head = RT_HEAD_CTC,
                                  .channels = 1, .height = 8, .width = 12, .classes = 4, .symbols = 3,
                                  .preset_name = "old", .preset_text = "x: 1\n"};

/* The fine-tuned model: "lstm.weight" has another shape, "extra.bias" is new, the head has room
 * for 4 symbols (classes 5) and the run's charset is "cxa". */
static const RtSlot new_slots[] = {
    {.name = "conv.weight", .dtype = RT_F32, .rank = 2, .dims = {2, 3}, .offset = 0, .trainable = true},
    {.name = "bn.running_mean", .dtype = RT_F32, .rank = 1, .dims = {2}, .offset = 24},
    {.name = "lstm.weight", .dtype = RT_F32, .rank = 1, .dims = {5}, .offset = 32, .trainable = true},
    {.name = "extra.bias", .dtype = RT_F32, .rank = 1, .dims = {1}, .offset = 52, .trainable = true},
    {.name = "head.out.weight", .dtype = RT_F32, .rank = 2, .dims = {5, 2}, .offset = 56, .trainable = true},
    {.name = "head.out.bias", .dtype = RT_F32, .rank = 1, .dims = {5}, .offset = 96, .trainable = true},
    {.name = "opt.m.conv.weight", .dtype = RT_F32, .rank = 2, .dims = {2, 3}, .offset = 116},
};
static const RtModel new_model = {.state_bytes = 140, .state = new_slots, .n_state = 7, .head = RT_HEAD_CTC,
                                  .channels = 1, .height = 8, .width = 12, .classes = 5, .symbols = 4,
                                  .preset_name = "new", .preset_text = "x: 2\n"};

static void fill(const RtModel *m, float *state, float base) {
  for (int k = 0; k < m->n_state; k++) {
    float *p = (float *)((char *)state + m->state[k].offset);
    for (int64_t i = 0; i < rt_slot_numel(&m->state[k]); i++) p[i] = base + 100.0f * (float)k + (float)i;
  }
}

static int setup(void **state) {
  (void)state;
  if (!mkdtemp(tmp_dir)) return -1;
  snprintf(ckpt, sizeof ckpt, "%s/old.safetensors", tmp_dir);
  float w[30];
  fill(&old_model, w, 0);
  RtCheckpointInfo info = {.epoch = 1, .step = 10, .seed = 1, .best_epoch = 1, .charset = "abc",
                           .config_json = "{}"};
  RtDiags d = {0};
  bool ok = rt_checkpoint_save(ckpt, &old_model, w, &info, &d);
  rt_diags_print(&d, stderr);
  rt_diags_free(&d);
  return ok ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  test_remove_tree(tmp_dir);
  return 0;
}

static const float *slot(const RtModel *m, const float *state, const char *name) {
  for (int k = 0; k < m->n_state; k++)
    if (!strcmp(m->state[k].name, name)) return (const float *)((const char *)state + m->state[k].offset);
  fail_msg("no slot %s", name);
  return NULL;
}

static void test_copies_matching_and_remaps_head(void **unused) {
  (void)unused;
  float s[35];
  fill(&new_model, s, -1000); /* "fresh initialisation": every value negative */
  RtDiags d = {0};
  RtWarmStartReport r;
  assert_true(rt_warm_start(ckpt, &new_model, s, "cxa", NULL, &r, &d));
  assert_int_equal(d.errors, 0);
  assert_int_equal(r.loaded, 2);   /* conv.weight, bn.running_mean */
  assert_int_equal(r.remapped, 2); /* head.out.weight, head.out.bias */
  assert_int_equal(r.kept, 2);     /* lstm.weight (other shape), extra.bias (absent) */
  assert_int_equal(r.unused, 0);   /* the old lstm.weight has a namesake here */
  assert_int_equal(r.shared_symbols, 2);
  assert_int_equal(r.new_symbols, 1);
  const float *conv = slot(&new_model, s, "conv.weight");
  for (int i = 0; i < 6; i++) assert_float_equal(conv[i], (float)i, 0);
  assert_float_equal(slot(&new_model, s, "bn.running_mean")[1], 101, 0);
  assert_float_equal(slot(&new_model, s, "lstm.weight")[0], -1000 + 200, 0);
  assert_float_equal(slot(&new_model, s, "extra.bias")[0], -1000 + 300, 0);
  assert_float_equal(slot(&new_model, s, "opt.m.conv.weight")[0], -1000 + 600, 0);
  /* old bias rows: blank 400, a 401, b 402, c 403; new rows: blank, c, x, a, (unused) */
  const float *bias = slot(&new_model, s, "head.out.bias");
  float want_bias[5] = {400, 403, -1000 + 502, 401, -1000 + 504};
  for (int i = 0; i < 5; i++) assert_float_equal(bias[i], want_bias[i], 0);
  const float *w = slot(&new_model, s, "head.out.weight");
  assert_float_equal(w[0], 300, 0);   /* blank row */
  assert_float_equal(w[3], 307, 0);   /* c: old row 3, second column */
  assert_float_equal(w[4], -1000 + 404, 0); /* x: fresh */
  assert_float_equal(w[6], 302, 0);   /* a: old row 1 */
  rt_diags_free(&d);
}

/* Same charset, same shapes: the whole model comes across, the head included, unremapped. */
static void test_same_model_copies_everything(void **unused) {
  (void)unused;
  float s[30];
  fill(&old_model, s, -1000);
  RtDiags d = {0};
  RtWarmStartReport r;
  assert_true(rt_warm_start(ckpt, &old_model, s, "abc", NULL, &r, &d));
  assert_int_equal(r.loaded, 5);
  assert_int_equal(r.remapped + r.kept + r.unused, 0);
  assert_float_equal(slot(&old_model, s, "head.out.bias")[3], 403, 0);
  assert_float_equal(slot(&old_model, s, "opt.m.conv.weight")[0], -1000 + 500, 0);
  rt_diags_free(&d);
}

static bool has_error(const RtDiags *d, const char *file, const char *text) {
  for (int i = 0; i < d->count; i++)
    if (d->items[i].file && !strcmp(d->items[i].file, file) && strstr(d->items[i].msg, text)) return true;
  return false;
}

static void test_nothing_shared_is_an_error(void **unused) {
  (void)unused;
  static const RtSlot other_slot = {.name = "other.weight", .dtype = RT_F32, .rank = 1, .dims = {2}, .trainable = true};
  const RtModel other = {.state_bytes = 8, .state = &other_slot, .n_state = 1, .classes = 5, .symbols = 4,
                         .preset_name = "other"};
  float s[2] = {7, 8};
  RtDiags d = {0};
  assert_false(rt_warm_start(ckpt, &other, s, "abc", NULL, NULL, &d));
  assert_true(has_error(&d, ckpt, "shares no tensor (by name and shape) with preset 'other'"));
  assert_float_equal(s[0], 7, 0);
  rt_diags_free(&d);
}

static void test_not_a_checkpoint_is_an_error(void **unused) {
  (void)unused;
  char path[700];
  snprintf(path, sizeof path, "%s/notes.txt", tmp_dir);
  FILE *f = fopen(path, "w");
  fputs("not a checkpoint\n", f);
  fclose(f);
  float s[35] = {0};
  RtDiags d = {0};
  assert_false(rt_warm_start(path, &new_model, s, "cxa", NULL, NULL, &d));
  assert_true(d.errors > 0 && !strcmp(d.items[0].file, path));
  rt_diags_free(&d);
  snprintf(path, sizeof path, "%s/missing.safetensors", tmp_dir);
  assert_false(rt_warm_start(path, &new_model, s, "cxa", NULL, NULL, &d));
  assert_true(d.errors > 0 && !strcmp(d.items[0].file, path));
  rt_diags_free(&d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_copies_matching_and_remaps_head),
      cmocka_unit_test(test_same_model_copies_everything),
      cmocka_unit_test(test_nothing_shared_is_an_error),
      cmocka_unit_test(test_not_a_checkpoint_is_an_error),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

/* Fresh synthetic samples every epoch (runtime/rt_fresh.h) and the curriculum rule
 * (rt_curriculum_max_len): an epoch's set equals the same samples written by rt_synth_generate and
 * loaded as a folder (pixels, labels, ids, paths), also with a curriculum's shorter labels; a
 * prefetch in the background gives the same bytes as rendering on the spot, and one for another
 * epoch is dropped; epochs never overlap each other or the validation samples; the data
 * settings' JSON keeps `fresh`; the single label length the CTC note looks for. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "runtime/rt_fresh.h"
#include "runtime/rt_synth.h"
#include "runtime/rt_train.h"
#include "runtime/rt_train_cli.h"
#include "runtime/rt_trainer_main.h"
#include "test_rt_data_fixture.h"

enum { H = 32, W = 128, N = 24, M = 8 };

static const RtFreshConfig CFG = {.enabled = true, .seed = 11, .count = N, .val_count = M, .min_len = 1,
                                  .max_len = 4, .charset = "0123AB"};

static RtFresh *fresh(bool background) {
  RtDiags d = {0};
  RtFresh *f = rt_fresh_new(&CFG, H, W, background, &d);
  if (!f) fx_print_diags(&d);
  assert_non_null(f);
  rt_diags_free(&d);
  return f;
}

/* Fails unless a and b hold the same samples: images bit for bit, labels, ids, paths. */
static void assert_same_set(const RtDataset *a, const RtDataset *b) {
  assert_int_equal(a->count, b->count);
  assert_int_equal(a->height, b->height);
  assert_int_equal(a->width, b->width);
  assert_int_equal(a->max_label_len, b->max_label_len);
  assert_string_equal(a->charset.utf8, b->charset.utf8);
  assert_memory_equal(a->images, b->images, (size_t)rt_dataset_image_bytes(a->count, a->height, a->width));
  for (int i = 0; i < a->count; i++) {
    assert_string_equal(a->texts[i], b->texts[i]);
    assert_string_equal(a->paths[i], b->paths[i]);
    assert_int_equal(a->label_len[i], b->label_len[i]);
    assert_int_equal(a->lines[i], b->lines[i]);
    assert_memory_equal(rt_dataset_label(a, i), rt_dataset_label(b, i), (size_t)a->label_len[i] * sizeof(int32_t));
  }
}

/* Samples [first, first + N) with labels of 1..max_len in the generator's style (NULL: the
 * default mix) written to a folder, then loaded as a training folder is (the charset given, the
 * model's input size). */
static RtDataset *generated_styled(const RtSynthOptions *style, int64_t first, int max_len) {
  char *dir = fx_tmpdir();
  RtDiags d = {0};
  RtSynthOptions so = style ? *style : (RtSynthOptions){0};
  so.charset = CFG.charset;
  so.min_len = CFG.min_len;
  so.max_len = max_len;
  so.first_index = first;
  assert_true(rt_synth_generate(dir, N, CFG.seed, &so, &d));
  RtDatasetOptions o = {.charset = CFG.charset, .height = H, .width = W};
  RtDataset *ds = rt_dataset_load(dir, &o, &d);
  if (!ds) fx_print_diags(&d);
  assert_non_null(ds);
  rt_diags_free(&d);
  fx_rmdir(dir);
  return ds;
}

static RtDataset *generated(int64_t first, int max_len) { return generated_styled(NULL, first, max_len); }

/* The one length all training labels have, for the CTC note: from the generator's range with
 * fresh data, from the labels of a set otherwise, from both when a set is mixed with fresh
 * samples; 0 when they differ or there is nothing. */
static void test_single_label_length(void **state) {
  RtFreshConfig one = CFG;
  one.min_len = one.max_len = 3;
  assert_int_equal(rt_train_single_label_length(NULL, &CFG), 0);
  assert_int_equal(rt_train_single_label_length(NULL, &one), 3);
  RtDataset *varied = generated(0, 4), *single = generated(0, 1);
  RtFreshConfig off = {0};
  assert_int_equal(rt_train_single_label_length(varied, &off), 0);
  assert_int_equal(rt_train_single_label_length(single, NULL), 1);
  assert_int_equal(rt_train_single_label_length(single, &CFG), 0); /* mixed: the generator's range varies */
  RtFreshConfig len1 = CFG;
  len1.min_len = len1.max_len = 1;
  assert_int_equal(rt_train_single_label_length(single, &len1), 1); /* mixed: one length in both */
  assert_int_equal(rt_train_single_label_length(single, &one), 0);  /* mixed: 1 and 3 */
  assert_int_equal(rt_train_single_label_length(NULL, NULL), 0);
  rt_dataset_free(varied);
  rt_dataset_free(single);
}

/* The config's generator style (lines, per-character colours, distortion) reaches fresh sets:
 * they equal the folder generated in that style, and differ from the default mix's. */
static void test_fresh_keeps_style(void **state) {
  RtFreshConfig c = CFG;
  c.style = (RtSynthOptions){.lines = RT_SYNTH_NONE, .char_colours = true, .distort = 2};
  RtDiags d = {0};
  RtFresh *f = rt_fresh_new(&c, H, W, false, &d);
  assert_non_null(f);
  RtDataset *mine = rt_fresh_set(f, 0, 0, &d);
  RtDataset *styled = generated_styled(&c.style, 0, CFG.max_len), *plain = generated(0, CFG.max_len);
  assert_same_set(mine, styled);
  assert_memory_not_equal(mine->images, plain->images, (size_t)rt_dataset_image_bytes(N, H, W));
  assert_int_equal(d.count, 0);
  rt_dataset_free(mine);
  rt_dataset_free(styled);
  rt_dataset_free(plain);
  rt_fresh_free(f);
}

static void test_fresh_equals_loaded_folder(void **state) {
  RtFresh *f = fresh(false);
  RtDiags d = {0};
  for (int64_t epoch = 0; epoch < 3; epoch += 2) { /* epoch 0: the fixed set's samples */
    RtDataset *mine = rt_fresh_set(f, epoch, 0, &d);
    RtDataset *folder = generated(rt_fresh_first_index(&CFG, epoch), CFG.max_len);
    assert_same_set(mine, folder);
    bool length_seen[5] = {false}; /* the whole range: every length appears */
    for (int i = 0; i < mine->count; i++) length_seen[mine->label_len[i]] = true;
    for (int n = CFG.min_len; n <= CFG.max_len; n++) assert_true(length_seen[n]);
    rt_dataset_free(mine);
    rt_dataset_free(folder);
  }
  /* a curriculum's bound: labels drawn from 1..2 symbols, as the generator with that range */
  RtDataset *mine = rt_fresh_set(f, 1, 2, &d);
  RtDataset *folder = generated(rt_fresh_first_index(&CFG, 1), 2);
  assert_same_set(mine, folder);
  for (int i = 0; i < mine->count; i++) assert_true(mine->label_len[i] <= 2);
  rt_dataset_free(mine);
  rt_dataset_free(folder);
  assert_int_equal(d.count, 0);
  rt_fresh_free(f);
}

static void test_prefetch_same_bytes(void **state) {
  RtFresh *now = fresh(false), *ahead = fresh(true);
  RtDiags d = {0};
  RtDataset *want = rt_fresh_set(now, 3, 3, &d);
  assert_true(rt_fresh_prefetch(ahead, 3, 3, &d));
  RtDataset *got = rt_fresh_set(ahead, 3, 3, &d); /* finishes what the thread has not rendered */
  assert_same_set(want, got);
  rt_dataset_free(got);
  /* a prefetch of another set is dropped, not handed out */
  assert_true(rt_fresh_prefetch(ahead, 4, 3, &d));
  got = rt_fresh_set(ahead, 3, 3, &d);
  assert_same_set(want, got);
  rt_dataset_free(got);
  assert_true(rt_fresh_prefetch(ahead, 3, 4, &d)); /* the same epoch with longer labels */
  got = rt_fresh_set(ahead, 3, 3, &d);
  assert_same_set(want, got);
  rt_dataset_free(got);
  assert_true(rt_fresh_prefetch(ahead, 5, 0, &d)); /* left running: rt_fresh_free stops it */
  rt_dataset_free(want);
  assert_int_equal(d.count, 0);
  rt_fresh_free(now);
  rt_fresh_free(ahead);
}

/* Epoch e trains on [first(e), first(e) + N): never a validation sample ([N, N + M)), never
 * another epoch's; so the sets of two epochs differ. */
static void test_epochs_disjoint(void **state) {
  for (int64_t e = 0; e < 6; e++) {
    int64_t a = rt_fresh_first_index(&CFG, e);
    assert_true(a + N <= N || a >= N + M);
    for (int64_t k = 0; k < e; k++) {
      int64_t b = rt_fresh_first_index(&CFG, k);
      assert_true(a >= b + N || b >= a + N);
    }
  }
  assert_int_equal(rt_fresh_first_index(&CFG, 0), 0);
  RtFresh *f = fresh(false);
  RtDiags d = {0};
  RtDataset *e1 = rt_fresh_set(f, 1, 0, &d), *e2 = rt_fresh_set(f, 2, 0, &d);
  assert_true(memcmp(e1->images, e2->images, (size_t)rt_dataset_image_bytes(N, H, W)) != 0);
  assert_string_equal(e1->paths[0], "images/000032.png"); /* M + 1 * N */
  rt_dataset_free(e1);
  rt_dataset_free(e2);
  rt_fresh_free(f);
}

static void test_curriculum_rule(void **state) {
  /* lengths 1..3 over 2 epochs: 1, 2, then all */
  int want[] = {1, 2, 3, 3, 3};
  for (int e = 0; e < 5; e++) assert_int_equal(rt_curriculum_max_len(1, 3, 2, e), want[e]);
  /* 4..8 over 3 epochs: 4 + floor(4 e / 3) */
  int want2[] = {4, 5, 6, 8};
  for (int e = 0; e < 4; e++) assert_int_equal(rt_curriculum_max_len(4, 8, 3, e), want2[e]);
  /* more epochs than lengths: the bound grows by steps, never below the shortest */
  int want3[] = {2, 2, 2, 3, 3, 3, 4};
  for (int e = 0; e < 7; e++) assert_int_equal(rt_curriculum_max_len(2, 4, 6, e), want3[e]);
  assert_int_equal(rt_curriculum_max_len(1, 3, 0, 0), 3); /* off */
  assert_int_equal(rt_curriculum_max_len(5, 5, 4, 0), 5); /* one length */
}

/* The `data` of the settings JSON (checkpoints, built trainers) keeps `fresh`, and leaves it out
 * when off, so the settings of runs without it read as before. */
static void test_data_json_fresh(void **state) {
  RtTrainerData data = {.synthetic = true, .train_count = N, .val_count = M, .synth_seed = 11, .min_len = 1,
                        .max_len = 4, .fresh = true, .charset = "0123AB"};
  for (int on = 1; on >= 0; on--) {
    data.fresh = on;
    cJSON *j = rt_trainer_data_json(&data);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(j, "fresh") != NULL, on);
    RtTrainerData back;
    RtDiags d = {0};
    assert_true(rt_trainer_data_from_json(j, &back, "test", &d));
    assert_int_equal(back.fresh, on);
    RtFreshConfig fc = rt_trainer_fresh_config(&back);
    assert_int_equal(fc.enabled, on);
    assert_int_equal(fc.count, N);
    assert_int_equal(fc.val_count, M);
    assert_int_equal(fc.max_len, 4);
    cJSON_Delete(j);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fresh_equals_loaded_folder),
      cmocka_unit_test(test_fresh_keeps_style),
      cmocka_unit_test(test_single_label_length),
      cmocka_unit_test(test_prefetch_same_bytes),
      cmocka_unit_test(test_epochs_disjoint),
      cmocka_unit_test(test_curriculum_rule),
      cmocka_unit_test(test_data_json_fresh),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

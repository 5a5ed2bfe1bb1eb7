/* The synthetic CAPTCHA generator (runtime/rt_synth.h): the same seed gives identical files
 * whatever the thread count, other seeds give other files, a continuation (first_index) renders
 * the same samples, the options are respected (length range, charset, size), bad options and
 * unwritable folders are errors, `reuse` keeps a matching set, and the output loads cleanly with
 * the dataset loader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <sys/stat.h>

#include "runtime/rt_charset.h"
#include "runtime/rt_dataset.h"
#include "runtime/rt_pool.h"
#include "runtime/rt_synth.h"
#include "runtime/rt_synth_fonts.h"
#include "runtime/rt_synth_like.h"
#include "test_rt_data_fixture.h"

/* True when dir_a/name and dir_b/name have the same bytes. */
static bool same_file(const char *dir_a, const char *dir_b, const char *name) {
  size_t na, nb;
  unsigned char *a = fx_read(fx_path(dir_a, name), &na);
  unsigned char *b = fx_read(fx_path(dir_b, name), &nb);
  assert_non_null(a);
  assert_non_null(b);
  bool same = na == nb && memcmp(a, b, na) == 0;
  free(a);
  free(b);
  return same;
}

static char *generate(int64_t count, uint64_t seed, const RtSynthOptions *o) {
  char *dir = fx_tmpdir();
  RtDiags d = {0};
  bool ok = rt_synth_generate(dir, count, seed, o, &d);
  if (!ok || d.count) fx_print_diags(&d);
  assert_true(ok);
  assert_int_equal(d.count, 0);
  rt_diags_free(&d);
  return dir;
}

static void test_render_determinism(void **state) {
  RtDiags d = {0};
  RtSynth *s = rt_synth_new(NULL, &d);
  assert_non_null(s);
  const RtSynthOptions *o = rt_synth_options(s);
  assert_string_equal(o->charset, RT_SYNTH_DEFAULT_CHARSET);
  assert_int_equal(o->height, 50);
  assert_int_equal(o->width, 200);
  size_t n = 50 * 200 * 3;
  uint8_t *a = malloc(n), *b = malloc(n), *c = malloc(n);
  char la[64], lb[64], lc[64];
  rt_synth_render(s, 7, 3, 0, la, a);
  rt_synth_render(s, 7, 3, 5, lb, b); /* another worker's FreeType faces: same picture */
  rt_synth_render(s, 7, 4, 0, lc, c);
  assert_string_equal(la, lb);
  assert_memory_equal(a, b, n);
  assert_true(memcmp(a, c, n) != 0);
  rt_synth_render(s, 8, 3, 0, lc, c); /* another seed */
  assert_true(memcmp(a, c, n) != 0);
  /* a picture, not a blank: the pixels take many values */
  int hist[256] = {0}, distinct = 0;
  for (size_t i = 0; i < n; i++) hist[a[i]]++;
  for (int i = 0; i < 256; i++) distinct += hist[i] > 0;
  assert_true(distinct > 64);
  free(a);
  free(b);
  free(c);
  rt_synth_free(s);
}

static void test_generate_determinism(void **state) {
  rt_pool_set_threads(1);
  char *a = generate(24, 5, NULL);
  rt_pool_set_threads(2);
  char *b = generate(24, 5, NULL); /* same seed, two threads: same bytes */
  char *c = generate(24, 6, NULL);
  rt_pool_set_threads(0);
  assert_true(same_file(a, b, "labels.tsv"));
  assert_true(same_file(a, b, "synth.json"));
  assert_false(same_file(a, c, "labels.tsv"));
  int differing = 0;
  for (int i = 0; i < 24; i++) {
    char name[64];
    snprintf(name, sizeof name, "images/%06d.png", i);
    assert_true(same_file(a, b, name));
    differing += !same_file(a, c, name);
  }
  assert_int_equal(differing, 24);
  /* a continuation renders samples 20..23 exactly as the full run did */
  RtSynthOptions o = {.first_index = 20};
  char *e = generate(4, 5, &o);
  for (int i = 20; i < 24; i++) {
    char name[64];
    snprintf(name, sizeof name, "images/%06d.png", i);
    assert_true(same_file(a, e, name));
  }
  size_t size;
  unsigned char *tsv = fx_read(fx_path(e, "labels.tsv"), &size);
  assert_memory_equal(tsv, "images/000020.png\t", 18);
  free(tsv);
  fx_rmdir(a);
  fx_rmdir(b);
  fx_rmdir(c);
  fx_rmdir(e);
}

static void test_output_loads(void **state) {
  char *dir = generate(40, 11, NULL);
  RtDiags d = {0};
  RtDatasetOptions o = {.charset = RT_SYNTH_DEFAULT_CHARSET, .max_label_len = 8, .policy = RT_DATA_STOP};
  RtDataset *ds = rt_dataset_load(dir, &o, &d);
  if (d.count) fx_print_diags(&d);
  assert_non_null(ds);
  assert_int_equal(d.count, 0);
  assert_int_equal(ds->count, 40);
  int lengths[9] = {0};
  for (int i = 0; i < ds->count; i++) {
    assert_true(ds->label_len[i] >= 4 && ds->label_len[i] <= 8);
    lengths[ds->label_len[i]]++;
    /* 50 x 200 is 4:1 like the input: fills it, no padding; dark and light pixels both present */
    static float img[RT_INPUT_PIXELS];
    rt_dataset_input(ds, i, img);
    float lo = 1, hi = -1;
    for (int p = 0; p < RT_INPUT_PIXELS; p++) lo = img[p] < lo ? img[p] : lo, hi = img[p] > hi ? img[p] : hi;
    assert_true(hi - lo > 0.5f);
  }
  for (int len = 4; len <= 8; len++) assert_true(lengths[len] > 0); /* 40 draws hit every length */
  rt_dataset_free(ds);
  fx_rmdir(dir);
}

static void test_options(void **state) {
  RtSynthOptions o = {.min_len = 3, .max_len = 3, .charset = "AB\xC3\x89", .height = 32, .width = 96};
  char *dir = generate(30, 1, &o);
  RtDiags d = {0};
  RtDataset *ds = rt_dataset_load(dir, NULL, &d);
  assert_non_null(ds);
  assert_string_equal(ds->charset.utf8, "AB\xC3\x89"); /* all three symbols drawn, sorted */
  for (int i = 0; i < ds->count; i++) assert_int_equal(ds->label_len[i], 3);
  rt_dataset_free(ds);
  RtImage img;
  char err[256];
  assert_true(rt_image_load(fx_path(dir, "images/000000.png"), &img, err, sizeof err));
  assert_int_equal(img.w, 96);
  assert_int_equal(img.h, 32);
  rt_image_free(&img);
  rt_diags_free(&d);
  fx_rmdir(dir);
}

/* The first diagnostic of a failed generation. */
static const char *failure(const char *dir, int64_t count, const RtSynthOptions *o) {
  static char buf[1400];
  RtDiags d = {0};
  assert_false(rt_synth_generate(dir, count, 1, o, &d));
  assert_true(d.errors > 0);
  rt_diag_format(&d.items[0], buf, sizeof buf);
  rt_diags_free(&d);
  return buf;
}

static void test_errors(void **state) {
  char *dir = fx_tmpdir();
  RtSynthOptions o = {.min_len = 5, .max_len = 4};
  assert_string_equal(failure(dir, 10, &o), "error: label length range 5-4 is not within 1-32 with min <= max");
  o = (RtSynthOptions){.min_len = 1, .max_len = 33};
  assert_string_equal(failure(dir, 10, &o), "error: label length range 1-33 is not within 1-32 with min <= max");
  o = (RtSynthOptions){.height = 8, .width = 100};
  assert_string_equal(failure(dir, 10, &o),
                      "error: image size 8x100 (height x width) is not within 16-1024 x 16-4096");
  o = (RtSynthOptions){.charset = "AB C"};
  assert_string_equal(failure(dir, 10, &o), "error: the charset of synthetic CAPTCHAs cannot contain blanks (U+0020)");
  o = (RtSynthOptions){.charset = "A\xE4\xB8\xAD"};
  assert_string_equal(failure(dir, 10, &o), "charset: error: symbol '\xE4\xB8\xAD' (U+4E2D) has no glyph in DejaVuSans.ttf, a font the generator draws with: leave it out");
  o = (RtSynthOptions){.charset = "AA"};
  assert_string_equal(failure(dir, 10, &o), "error: charset repeats the symbol 'A' (U+0041)");
  o = (RtSynthOptions){.font_dir = "/nonexistent"};
  assert_string_equal(failure(dir, 10, &o),
                      "/nonexistent/DejaVuSans.ttf: error: cannot read font (install Debian's fonts-dejavu-core)");
  assert_string_equal(failure(dir, 0, NULL), "error: sample count 0 is not within 1-100000000");
  /* a folder that cannot be created: its parent is a file */
  fx_write_text(dir, "file", "x");
  char out[1024];
  snprintf(out, sizeof out, "%s/file/sub", dir);
  const char *msg = failure(out, 10, NULL);
  assert_non_null(strstr(msg, "/file: error: exists and is not a directory"));
  assert_null(fx_read(fx_path(dir, "file/sub/labels.tsv"), &(size_t){0}));
  fx_rmdir(dir);
}

static void test_reuse(void **state) {
  RtSynthOptions o = {.reuse = true};
  char *dir = generate(6, 3, &o);
  /* mark an image: a reused set is left alone, a different one is regenerated */
  fx_write_text(dir, "images/000002.png", "marked");
  RtDiags d = {0};
  assert_true(rt_synth_generate(dir, 6, 3, &o, &d));
  size_t size;
  unsigned char *p = fx_read(fx_path(dir, "images/000002.png"), &size);
  assert_string_equal((char *)p, "marked");
  free(p);
  assert_true(rt_synth_generate(dir, 7, 3, &o, &d)); /* another count: regenerated */
  p = fx_read(fx_path(dir, "images/000002.png"), &size);
  assert_memory_equal(p, "\x89PNG", 4);
  free(p);
  fx_write_text(dir, "images/000002.png", "marked");
  o.reuse = false; /* same parameters, but reuse off: regenerated */
  assert_true(rt_synth_generate(dir, 7, 3, &o, &d));
  p = fx_read(fx_path(dir, "images/000002.png"), &size);
  assert_memory_equal(p, "\x89PNG", 4);
  free(p);
  assert_int_equal(d.count, 0);
  fx_rmdir(dir);
}

/* ---- style options ---- */

enum { SH = 50, SW = 200, SN = SH * SW, STYLE_SAMPLES = 32 };

static float px_luma(const uint8_t *p) { return (0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2]) / 255.0f; }

/* Statistics of the text ("ink": pixels whose luma is at least 0.25 from the median luma of the
 * border) over STYLE_SAMPLES renders of seed 9: the mean share of ink pixels, the mean distance
 * between the average ink colour of the left and of the right third of the text, and whether
 * every pixel is grey (r = g = b). The labels are checked to be the default ones. */
typedef struct InkStats {
  double ink_share, left_right;
  bool all_grey;
} InkStats;

static InkStats ink_stats(const RtSynthOptions *o) {
  RtDiags d = {0};
  RtSynth *s = rt_synth_new(o, &d), *plain = rt_synth_new(NULL, &d);
  assert_non_null(s);
  assert_non_null(plain);
  uint8_t *rgb = malloc(SN * 3), *ref = malloc(SN * 3);
  InkStats st = {.all_grey = true};
  for (int i = 0; i < STYLE_SAMPLES; i++) {
    char label[64], want[64];
    rt_synth_render(s, 9, i, 0, label, rgb);
    rt_synth_render(plain, 9, i, 0, want, ref);
    assert_string_equal(label, want); /* styles change pictures, never labels */
    int hist[256] = {0}, border = 0;
    for (int y = 0; y < SH; y++)
      for (int x = 0; x < SW; x += (y == 0 || y == SH - 1) ? 1 : SW - 1)
        hist[(int)(px_luma(rgb + (y * SW + x) * 3) * 255)]++, border++;
    float bg = 0;
    for (int b = 0, seen = 0; b < 256; b++)
      if ((seen += hist[b]) >= border / 2) {
        bg = b / 255.0f;
        break;
      }
    int ink = 0, x_lo = SW, x_hi = 0;
    for (int p = 0; p < SN; p++) {
      const uint8_t *c = rgb + p * 3;
      st.all_grey &= c[0] == c[1] && c[1] == c[2];
      if (fabsf(px_luma(c) - bg) < 0.25f) continue;
      ink++;
      x_lo = p % SW < x_lo ? p % SW : x_lo, x_hi = p % SW > x_hi ? p % SW : x_hi;
    }
    st.ink_share += (double)ink / SN / STYLE_SAMPLES;
    double sum[2][3] = {{0}}, cnt[2] = {0};
    for (int p = 0; p < SN; p++) {
      const uint8_t *c = rgb + p * 3;
      int x = p % SW, side = x < x_lo + (x_hi - x_lo) / 3 ? 0 : x > x_hi - (x_hi - x_lo) / 3 ? 1 : -1;
      if (side < 0 || fabsf(px_luma(c) - bg) < 0.35f) continue; /* the text's core, not its blended edges */
      for (int k = 0; k < 3; k++) sum[side][k] += c[k];
      cnt[side]++;
    }
    double dist = 0;
    for (int k = 0; k < 3 && cnt[0] && cnt[1]; k++) dist += fabs(sum[0][k] / cnt[0] - sum[1][k] / cnt[1]);
    st.left_right += dist / STYLE_SAMPLES;
  }
  free(rgb);
  free(ref);
  rt_synth_free(s);
  rt_synth_free(plain);
  rt_diags_free(&d);
  return st;
}

static void test_styles(void **state) {
  InkStats def = ink_stats(&(RtSynthOptions){0});
  InkStats none = ink_stats(&(RtSynthOptions){.lines = RT_SYNTH_NONE, .distort = RT_SYNTH_NONE});
  InkStats many = ink_stats(&(RtSynthOptions){.lines = RT_SYNTH_MAX_LINES});
  InkStats chars = ink_stats(&(RtSynthOptions){.char_colours = true, .lines = RT_SYNTH_NONE});
  InkStats grey = ink_stats(&(RtSynthOptions){.grey = true, .char_colours = true});
  InkStats wavy = ink_stats(&(RtSynthOptions){.distort = RT_SYNTH_MAX_DISTORT});
  print_message("ink share: default %.3f, no lines %.3f, 1-20 lines %.3f; left-right colour: default %.1f, "
                "no lines %.1f, per character %.1f\n", def.ink_share, none.ink_share, many.ink_share, def.left_right,
                none.left_right, chars.left_right);
  assert_false(def.all_grey);
  assert_true(grey.all_grey);
  assert_true(many.ink_share > def.ink_share + 0.02); /* up to 20 strokes add ink */
  assert_true(none.ink_share < def.ink_share);
  assert_true(chars.left_right > 2 * none.left_right); /* strokes off in both: the text's colours */
  assert_true(wavy.ink_share != def.ink_share);
  /* each option renders deterministically, and a style's set says so in synth.json */
  RtSynthOptions o = {.lines = 5, .char_colours = true, .distort = 2, .grey = true};
  char *a = generate(4, 2, &o), *b = generate(4, 2, &o), *plain = generate(4, 2, NULL);
  assert_true(same_file(a, b, "images/000003.png"));
  assert_false(same_file(a, plain, "images/000003.png"));
  size_t size;
  char *json = (char *)fx_read(fx_path(a, "synth.json"), &size), *plain_json = (char *)fx_read(fx_path(plain, "synth.json"), &size);
  assert_non_null(strstr(json, "\"lines\":\t5"));
  assert_non_null(strstr(json, "\"grey\":\ttrue"));
  assert_null(strstr(plain_json, "lines"));
  assert_null(strstr(plain_json, "distort"));
  free(json);
  free(plain_json);
  fx_rmdir(a);
  fx_rmdir(b);
  fx_rmdir(plain);
  /* out of range */
  char *dir = fx_tmpdir();
  o = (RtSynthOptions){.lines = 21};
  assert_string_equal(failure(dir, 1, &o), "error: lines 21 is not within 0-20");
  o = (RtSynthOptions){.distort = 4.5};
  assert_string_equal(failure(dir, 1, &o), "error: distortion 4.5 is not within 0-4");
  fx_rmdir(dir);
}

/* mixed styles: labels unchanged (ink_stats checks), a colour per character in about half the
 * images (left-right colour between none and all, strokes off), more ink than the default mix
 * (0-8 strokes rather than 0-3); deterministic, and said in synth.json. */
static void test_mixed_styles(void **state) {
  InkStats def = ink_stats(&(RtSynthOptions){0});
  InkStats mixed = ink_stats(&(RtSynthOptions){.mixed = true});
  InkStats plain = ink_stats(&(RtSynthOptions){.lines = RT_SYNTH_NONE});
  InkStats half = ink_stats(&(RtSynthOptions){.lines = RT_SYNTH_NONE, .mixed = true});
  InkStats chars = ink_stats(&(RtSynthOptions){.lines = RT_SYNTH_NONE, .char_colours = true});
  print_message("mixed: ink share %.3f (default %.3f); left-right colour %.1f < %.1f < %.1f\n", mixed.ink_share,
                def.ink_share, plain.left_right, half.left_right, chars.left_right);
  assert_true(mixed.ink_share > def.ink_share + 0.01);
  assert_true(half.left_right > 1.3 * plain.left_right);
  assert_true(half.left_right < 0.9 * chars.left_right);
  RtSynthOptions o = {.mixed = true};
  char *a = generate(6, 3, &o), *b = generate(6, 3, &o), *plain_dir = generate(6, 3, NULL);
  for (int i = 0; i < 6; i++) {
    char name[32];
    snprintf(name, sizeof name, "images/%06d.png", i);
    assert_true(same_file(a, b, name));
  }
  assert_true(same_file(a, plain_dir, "labels.tsv"));
  assert_false(same_file(a, plain_dir, "images/000000.png") && same_file(a, plain_dir, "images/000001.png") &&
               same_file(a, plain_dir, "images/000002.png"));
  size_t size;
  char *json = (char *)fx_read(fx_path(a, "synth.json"), &size);
  assert_non_null(strstr(json, "\"mixed_styles\":\ttrue"));
  free(json);
  fx_rmdir(a);
  fx_rmdir(b);
  fx_rmdir(plain_dir);
}

/* All diagnostics of d, one per line. */
static const char *all_diags(const RtDiags *d) {
  static char buf[4096];
  size_t n = 0;
  buf[0] = '\0';
  for (int i = 0; i < d->count && n < sizeof buf; i++) {
    rt_diag_format(&d->items[i], buf + n, sizeof buf - n);
    n = strlen(buf);
    if (n + 1 < sizeof buf) buf[n++] = '\n', buf[n] = '\0';
  }
  return buf;
}

static void copy_font(const char *dir, const char *name, const char *system_font) {
  size_t size;
  unsigned char *data = fx_read(system_font, &size);
  assert_non_null(data);
  fx_write(dir, name, data, size);
  free(data);
}

/* fonts: a folder's font files, sorted (a file FreeType cannot read left out with a warning,
 * other files ignored), drawn from instead of the defaults with the same labels and listed in
 * synth.json; one file alone; and the errors: a missing path, a folder without fonts, a broken
 * file named alone, a folder none of whose fonts has the charset's symbols. */
static void test_fonts(void **state) {
  char *fonts = fx_tmpdir();
  copy_font(fonts, "b_serif_italic.ttf", RT_SYNTH_FONT_DIR "/DejaVuSerif-Italic.ttf");
  copy_font(fonts, "a_condensed.TTF", RT_SYNTH_FONT_DIR "/DejaVuSansCondensed-Bold.ttf");
  fx_write_text(fonts, "c_broken.ttf", "not a font");
  fx_write_text(fonts, "readme.txt", "not a font file name");
  RtSynthOptions o = {.fonts = fonts};
  RtDiags d = {0};
  RtSynth *s = rt_synth_new(&o, &d), *plain = rt_synth_new(NULL, &d);
  assert_non_null(s);
  assert_non_null(plain);
  assert_int_equal(d.errors, 0);
  assert_int_equal(d.count, 1);
  assert_non_null(strstr(all_diags(&d), "c_broken.ttf: warning: left out: FreeType cannot read it"));
  const RtSynthFonts *f = rt_synth_fonts(s);
  assert_int_equal(f->count, 2);
  assert_string_equal(rt_synth_font_name(f->paths[0]), "a_condensed.TTF");
  assert_string_equal(rt_synth_font_name(f->paths[1]), "b_serif_italic.ttf");
  assert_int_equal(rt_synth_fonts(plain)->count, 6);
  uint8_t *rgb = malloc(SN * 3), *ref = malloc(SN * 3);
  int differ = 0;
  for (int i = 0; i < 8; i++) {
    char label[64], want[64];
    rt_synth_render(s, 5, i, 0, label, rgb);
    rt_synth_render(plain, 5, i, 0, want, ref);
    assert_string_equal(label, want);
    differ += memcmp(rgb, ref, SN * 3) != 0;
  }
  assert_true(differ >= 6); /* the same draws, other glyphs (a sample may pick a shared font index) */
  free(rgb);
  free(ref);
  rt_synth_free(s);
  rt_synth_free(plain);
  rt_diags_free(&d);
  char *set = fx_tmpdir();
  assert_true(rt_synth_generate(set, 3, 2, &o, &d)); /* the warning again */
  assert_int_equal(d.errors, 0);
  rt_diags_free(&d);
  size_t size;
  char *json = (char *)fx_read(fx_path(set, "synth.json"), &size);
  assert_non_null(strstr(json, "a_condensed.TTF"));
  assert_non_null(strstr(json, "b_serif_italic.ttf"));
  assert_null(strstr(json, "c_broken"));
  free(json);
  fx_rmdir(set);
  o.fonts = RT_SYNTH_FONT_DIR "/DejaVuSerif-Italic.ttf"; /* one file */
  set = generate(2, 2, &o);
  fx_rmdir(set);
  /* errors */
  char *dir = fx_tmpdir(), *empty = fx_tmpdir();
  o = (RtSynthOptions){.fonts = "/nonexistent/fonts"};
  assert_string_equal(failure(dir, 2, &o), "/nonexistent/fonts: error: no such font file or folder");
  o.fonts = empty;
  assert_non_null(strstr(failure(dir, 2, &o), "error: holds no font files (*.ttf, *.otf, *.ttc)"));
  char broken[1024];
  snprintf(broken, sizeof broken, "%s/c_broken.ttf", fonts);
  o.fonts = broken;
  assert_non_null(strstr(failure(dir, 2, &o), "c_broken.ttf: error: FreeType cannot read it"));
  o = (RtSynthOptions){.fonts = fonts, .charset = "A\xE4\xB8\xAD"};
  assert_false(rt_synth_generate(dir, 2, 1, &o, &d));
  const char *all = all_diags(&d);
  assert_non_null(strstr(all, "a_condensed.TTF: warning: left out: no glyph for '\xE4\xB8\xAD' (U+4E2D)"));
  assert_non_null(strstr(all, ": error: none of its fonts can draw every symbol of the charset"));
  rt_diags_free(&d);
  fx_rmdir(dir);
  fx_rmdir(empty);
  fx_rmdir(fonts);
}

/* fonts as a ':'-separated list: files and folders in the order given (a folder's fonts sorted,
 * a file listed twice drawn twice as often), a folder's font lacking a symbol left out while a
 * file named alone that lacks one is an error, and the errors of a list: an empty entry, a
 * missing entry named, more fonts than the generator takes. */
static void test_fonts_list(void **state) {
  char *fonts = fx_tmpdir(), list[4096];
  copy_font(fonts, "b_serif.ttf", RT_SYNTH_FONT_DIR "/DejaVuSerif.ttf");
  copy_font(fonts, "a_mono.ttf", RT_SYNTH_FONT_DIR "/DejaVuSansMono.ttf");
  snprintf(list, sizeof list, "%s:%s:%s", RT_SYNTH_FONT_DIR "/DejaVuSans-Bold.ttf", fonts,
           RT_SYNTH_FONT_DIR "/DejaVuSans-Bold.ttf");
  RtSynthOptions o = {.fonts = list};
  RtDiags d = {0};
  RtSynth *s = rt_synth_new(&o, &d);
  assert_non_null(s);
  assert_int_equal(d.count, 0);
  const RtSynthFonts *f = rt_synth_fonts(s);
  assert_int_equal(f->count, 4);
  assert_string_equal(rt_synth_font_name(f->paths[0]), "DejaVuSans-Bold.ttf");
  assert_string_equal(rt_synth_font_name(f->paths[1]), "a_mono.ttf");
  assert_string_equal(rt_synth_font_name(f->paths[2]), "b_serif.ttf");
  assert_string_equal(rt_synth_font_name(f->paths[3]), "DejaVuSans-Bold.ttf");
  assert_true(!f->in_folder[0] && f->in_folder[1] && f->in_folder[2] && !f->in_folder[3]);
  rt_synth_free(s);
  /* a symbol only some fonts draw: the folder's are left out, the file named alone is an error */
  char *dir = fx_tmpdir(), *lacking = fx_tmpdir();
  copy_font(lacking, "serif.ttf", RT_SYNTH_FONT_DIR "/DejaVuSerif.ttf");
  copy_font(lacking, "sans.ttf", RT_SYNTH_FONT_DIR "/DejaVuSans.ttf");
  snprintf(list, sizeof list, "%s:%s", lacking, RT_SYNTH_FONT_DIR "/DejaVuSans-Bold.ttf");
  o = (RtSynthOptions){.fonts = list, .charset = "A\xD7\x90"}; /* U+05D0: DejaVu Sans has it, Serif not */
  s = rt_synth_new(&o, &d);
  assert_non_null(s);
  assert_int_equal(rt_synth_fonts(s)->count, 2);
  assert_non_null(strstr(all_diags(&d), "serif.ttf: warning: left out: no glyph for"));
  rt_synth_free(s);
  rt_diags_free(&d);
  snprintf(list, sizeof list, "%s:%s", lacking, RT_SYNTH_FONT_DIR "/DejaVuSerif-Bold.ttf");
  assert_false(rt_synth_generate(dir, 2, 1, &o, &d)); /* after the folder's warning */
  assert_non_null(strstr(all_diags(&d), "charset: error: symbol '\xD7\x90' (U+05D0) has no glyph in DejaVuSerif-Bold.ttf"));
  rt_diags_free(&d);
  /* errors */
  o = (RtSynthOptions){.fonts = list};
  snprintf(list, sizeof list, "%s::%s", fonts, fonts);
  assert_non_null(strstr(failure(dir, 2, &o), "error: an empty entry in this list of fonts"));
  snprintf(list, sizeof list, "%s:/nonexistent/fonts", fonts);
  assert_string_equal(failure(dir, 2, &o), "/nonexistent/fonts: error: no such font file or folder");
  size_t n = 0;
  for (int i = 0; i <= RT_SYNTH_MAX_FONTS; i++)
    n += (size_t)snprintf(list + n, sizeof list - n, "%s" RT_SYNTH_FONT_DIR "/DejaVuSans.ttf", i ? ":" : "");
  assert_true(n < sizeof list);
  assert_non_null(strstr(failure(dir, 2, &o), "DejaVuSans.ttf: error: one font too many: the generator takes at most"));
  n = 0; /* one file fewer than the most, then a folder of two */
  for (int i = 0; i < RT_SYNTH_MAX_FONTS - 1; i++)
    n += (size_t)snprintf(list + n, sizeof list - n, RT_SYNTH_FONT_DIR "/DejaVuSans.ttf:");
  snprintf(list + n, sizeof list - n, "%s", fonts);
  assert_non_null(strstr(failure(dir, 2, &o), "error: holds 2 font files, 65 with those listed before it"));
  fx_rmdir(dir);
  fx_rmdir(lacking);
  fx_rmdir(fonts);
}

/* --like: a folder of mixed sizes, mostly grey, gives its sorted charset, its length range, the
 * median size and grey; a colour set gives colour. */
static void test_like(void **state) {
  char *dir = fx_tmpdir();
  static const int sizes[5][2] = {{30, 90}, {40, 100}, {60, 150}, {40, 120}, {44, 100}}; /* h, w */
  static const char *const labels[5] = {"zb7", "b7b7z", "7zz", "bbbb", "z7b"};
  char tsv[512] = "";
  mkdir(fx_path(dir, "img"), 0755);
  for (int i = 0; i < 5; i++) {
    int h = sizes[i][0], w = sizes[i][1];
    uint8_t *px = malloc((size_t)h * w * 3);
    for (int p = 0; p < h * w; p++) {
      uint8_t v = (uint8_t)(p % w < w / 2 ? 40 : 220);
      px[p * 3] = v, px[p * 3 + 1] = v, px[p * 3 + 2] = (uint8_t)(i == 4 ? 255 - v : v); /* the last in colour */
    }
    char name[64], err[256];
    snprintf(name, sizeof name, "img/%d.png", i);
    assert_true(rt_image_write_png(fx_path(dir, name), px, w, h, 3, err, sizeof err));
    free(px);
    snprintf(tsv + strlen(tsv), sizeof tsv - strlen(tsv), "%s\t%s\n", name, labels[i]);
  }
  fx_write_text(dir, "labels.tsv", tsv);
  RtDiags d = {0};
  RtSynthLike l;
  assert_true(rt_synth_like(dir, &l, &d));
  assert_int_equal(d.count, 0);
  assert_string_equal(l.charset, "7bz");
  assert_int_equal(l.min_len, 3);
  assert_int_equal(l.max_len, 5);
  assert_int_equal(l.height, 40);
  assert_int_equal(l.width, 100);
  assert_true(l.grey);
  assert_int_equal(l.grey_images, 4);
  assert_int_equal(l.measured, 5);
  RtSynthOptions o = {0};
  rt_synth_like_apply(&l, &o);
  assert_true(o.grey && o.height == 40 && o.width == 100 && o.min_len == 3 && o.max_len == 5);
  assert_string_equal(o.charset, "7bz");
  rt_synth_like_free(&l);
  /* a set of synthetic (colour) CAPTCHAs measures as colour, at their size */
  RtSynthOptions c = {.height = 32, .width = 96, .min_len = 2, .max_len = 6};
  char *set = generate(12, 4, &c);
  assert_true(rt_synth_like(set, &l, &d));
  assert_false(l.grey);
  assert_true(l.height == 32 && l.width == 96 && l.min_len >= 2 && l.max_len <= 6);
  rt_synth_like_free(&l);
  /* no labels.tsv: an error, as the loader reports it */
  char *empty = fx_tmpdir();
  assert_false(rt_synth_like(empty, &l, &d));
  assert_true(d.errors > 0);
  rt_diags_free(&d);
  fx_rmdir(empty);
  fx_rmdir(set);
  fx_rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_render_determinism),
      cmocka_unit_test(test_generate_determinism),
      cmocka_unit_test(test_output_loads),
      cmocka_unit_test(test_options),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_reuse),
      cmocka_unit_test(test_styles),
      cmocka_unit_test(test_mixed_styles),
      cmocka_unit_test(test_fonts),
      cmocka_unit_test(test_fonts_list),
      cmocka_unit_test(test_like),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  rt_pool_shutdown();
  return failed;
}

/* The generator's font files (rt_synth_fonts.h): listing, reading, and checking each with
 * FreeType before any rendering thread opens them. */
#include "runtime/rt_synth_fonts.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <ft2build.h>
#include FT_FREETYPE_H

#include "runtime/rt_charset.h"
#include "support/rt_assert.h"
#include "support/rt_fs.h"

/* The six DejaVu core fonts (Debian's fonts-dejavu-core), in the order the default mix draws. */
static const char *const DEFAULT_FONTS[] = {"DejaVuSans.ttf",     "DejaVuSans-Bold.ttf",
                                            "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf",
                                            "DejaVuSerif.ttf",    "DejaVuSerif-Bold.ttf"};
enum { N_DEFAULT = sizeof DEFAULT_FONTS / sizeof *DEFAULT_FONTS };

static char *join(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = rt_xmalloc(n);
  snprintf(p, n, "%s/%s", dir, name);
  return p;
}

static bool is_font_file(const char *name) {
  const char *dot = strrchr(name, '.');
  return dot && (!strcasecmp(dot, ".ttf") || !strcasecmp(dot, ".otf") || !strcasecmp(dot, ".ttc"));
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Appends the font files of folder dir, sorted, to out; false with an error when it holds none
 * or when out would hold more than RT_SYNTH_MAX_FONTS. */
static bool list_folder(const char *dir, RtSynthFonts *out, RtDiags *d) {
  DIR *dp = opendir(dir);
  if (!dp) {
    rt_diag_error(d, dir, 0, 0, "cannot read this fonts folder");
    return false;
  }
  int first = out->count, found = 0;
  struct dirent *e;
  while ((e = readdir(dp))) {
    if (e->d_name[0] == '.' || !is_font_file(e->d_name)) continue;
    if (first + found < RT_SYNTH_MAX_FONTS) {
      out->in_folder[out->count] = true;
      out->paths[out->count++] = join(dir, e->d_name);
    }
    found++;
  }
  closedir(dp);
  if (found == 0) {
    rt_diag_error(d, dir, 0, 0, "holds no font files (*.ttf, *.otf, *.ttc)");
    return false;
  }
  if (first + found > RT_SYNTH_MAX_FONTS) {
    if (first == 0)
      rt_diag_error(d, dir, 0, 0, "holds %d font files; the generator takes at most %d", found, RT_SYNTH_MAX_FONTS);
    else
      rt_diag_error(d, dir, 0, 0, "holds %d font files, %d with those listed before it; the generator takes at most %d",
                    found, first + found, RT_SYNTH_MAX_FONTS);
    return false;
  }
  qsort(out->paths + first, (size_t)found, sizeof *out->paths, by_name);
  return true;
}

/* Appends one entry of o->fonts (a file or a folder) to out. */
static bool list_entry(const char *path, RtSynthFonts *out, RtDiags *d) {
  struct stat st;
  if (stat(path, &st) != 0) {
    rt_diag_error(d, path, 0, 0, "no such font file or folder");
    return false;
  }
  if (S_ISDIR(st.st_mode)) return list_folder(path, out, d);
  if (out->count == RT_SYNTH_MAX_FONTS) {
    rt_diag_error(d, path, 0, 0, "one font too many: the generator takes at most %d", RT_SYNTH_MAX_FONTS);
    return false;
  }
  out->paths[out->count++] = rt_xstrdup(path);
  return true;
}

/* The paths of o's fonts into out: the defaults, or each entry of the ':'-separated list in turn. */
static bool list_fonts(const RtSynthOptions *o, RtSynthFonts *out, RtDiags *d) {
  if (!o->fonts) {
    const char *dir = o->font_dir ? o->font_dir : RT_SYNTH_FONT_DIR;
    for (int i = 0; i < N_DEFAULT; i++) out->paths[out->count++] = join(dir, DEFAULT_FONTS[i]);
    return true;
  }
  bool ok = true;
  for (const char *p = o->fonts; ok;) {
    const char *colon = strchr(p, RT_SYNTH_FONTS_SEP);
    size_t n = colon ? (size_t)(colon - p) : strlen(p);
    char *entry = rt_xmalloc(n + 1);
    memcpy(entry, p, n);
    entry[n] = 0;
    if (n == 0) {
      rt_diag_error(d, o->fonts, 0, 0, "an empty entry in this list of fonts (entries are separated by ':')");
      ok = false;
    } else {
      ok = list_entry(entry, out, d);
    }
    free(entry);
    if (!colon) break;
    p = colon + 1;
  }
  return ok;
}

static bool read_font(RtSynthFonts *f, int i, bool named, RtDiags *d) {
  RtDiags why = {0}; /* the reason is replaced by a message about fonts */
  bool ok = rt_fs_read_file(f->paths[i], &f->data[i], &f->size[i], &why) && f->size[i] > 0;
  rt_diags_free(&why);
  if (!ok)
    rt_diag_error(d, f->paths[i], 0, 0, named ? "cannot read font" : "cannot read font (install Debian's fonts-dejavu-core)");
  return ok;
}

static void drop(RtSynthFonts *f, FT_Face *faces, int i) {
  if (faces[i]) FT_Done_Face(faces[i]);
  free(f->paths[i]);
  free(f->data[i]);
  f->count--;
  size_t tail = (size_t)(f->count - i);
  memmove(faces + i, faces + i + 1, tail * sizeof *faces);
  memmove(f->paths + i, f->paths + i + 1, tail * sizeof *f->paths);
  memmove(f->data + i, f->data + i + 1, tail * sizeof *f->data);
  memmove(f->size + i, f->size + i + 1, tail * sizeof *f->size);
  memmove(f->in_folder + i, f->in_folder + i + 1, tail * sizeof *f->in_folder);
}

/* Opens every font and keeps those that can draw the charset: a folder's others are left out
 * with a warning; a font named alone or a default one that cannot is an error. */
static bool check_fonts(FT_Library lib, RtSynthFonts *f, const uint32_t *cps, int n_cps, RtDiags *d) {
  FT_Face faces[RT_SYNTH_MAX_FONTS] = {0};
  bool ok = true;
  for (int i = 0; i < f->count;) {
    const char *why = NULL;
    if (FT_New_Memory_Face(lib, f->data[i], (FT_Long)f->size[i], 0, &faces[i])) {
      faces[i] = NULL;
      why = "FreeType cannot read it";
    } else if (!FT_IS_SCALABLE(faces[i]) || faces[i]->units_per_EM == 0) {
      why = "a bitmap font (the generator needs outline fonts: TrueType, OpenType)";
    }
    bool folder = f->in_folder[i];
    int missing = -1;
    for (int k = 0; !why && folder && k < n_cps && missing < 0; k++)
      if (FT_Get_Char_Index(faces[i], cps[k]) == 0) missing = k;
    if (!why && missing < 0) {
      i++;
    } else if (folder) {
      char sym[5] = {0};
      if (missing >= 0) rt_utf8_encode(cps[missing], sym);
      if (why) rt_diag_add(d, RT_DIAG_WARNING, f->paths[i], 0, 0, "left out: %s", why);
      else rt_diag_add(d, RT_DIAG_WARNING, f->paths[i], 0, 0, "left out: no glyph for '%s' (U+%04X)", sym, cps[missing]);
      drop(f, faces, i);
    } else {
      rt_diag_error(d, f->paths[i], 0, 0, "%s", why);
      ok = false;
      i++;
    }
  }
  bool glyphs = true;
  for (int k = 0; ok && k < n_cps; k++) /* one error per symbol, first font named alone lacking it */
    for (int i = 0; i < f->count; i++)
      if (!f->in_folder[i] && FT_Get_Char_Index(faces[i], cps[k]) == 0) {
        glyphs = false;
        char sym[5] = {0};
        rt_utf8_encode(cps[k], sym);
        rt_diag_error(d, "charset", 0, 0,
                      "symbol '%s' (U+%04X) has no glyph in %s, a font the generator draws with: leave it out", sym,
                      cps[k], rt_synth_font_name(f->paths[i]));
        break;
      }
  for (int i = 0; i < f->count; i++)
    if (faces[i]) FT_Done_Face(faces[i]);
  return ok && glyphs;
}

bool rt_synth_fonts_load(const RtSynthOptions *o, const uint32_t *cps, int n_cps, RtSynthFonts *out, RtDiags *d) {
  *out = (RtSynthFonts){0};
  RtSynthOptions none = {0};
  bool ok = list_fonts(o ? o : &none, out, d);
  for (int i = 0; ok && i < out->count; i++) ok = read_font(out, i, o && o->fonts, d);
  FT_Library lib = NULL;
  if (ok && FT_Init_FreeType(&lib)) {
    rt_diag_error(d, "", 0, 0, "cannot initialise FreeType");
    ok = false;
  }
  if (ok) ok = check_fonts(lib, out, cps, n_cps, d);
  if (ok && out->count == 0) {
    rt_diag_error(d, o->fonts, 0, 0, "none of its fonts can draw every symbol of the charset");
    ok = false;
  }
  if (lib) FT_Done_FreeType(lib);
  if (!ok) rt_synth_fonts_free(out);
  return ok;
}

void rt_synth_fonts_free(RtSynthFonts *f) {
  for (int i = 0; i < f->count; i++) {
    free(f->paths[i]);
    free(f->data[i]);
  }
  *f = (RtSynthFonts){0};
}

size_t rt_synth_fonts_join(const char *const *paths, int n, char *out) {
  size_t at = 0;
  for (int i = 0; i < n; i++) {
    size_t len = strlen(paths[i]);
    if (i) {
      if (out) out[at] = RT_SYNTH_FONTS_SEP;
      at++;
    }
    if (out) memcpy(out + at, paths[i], len);
    at += len;
  }
  if (out) out[at] = '\0';
  return at + 1;
}

const char *rt_synth_font_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

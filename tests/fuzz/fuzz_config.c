/* libFuzzer target for the frontend loaders: each input is parsed from memory as an experiment
 * config (which may pull presets from the presets folder or paths it names) and as a preset.
 * Whatever the bytes, loading must end in a config/preset or in diagnostics: no crash, no leak,
 * no sanitizer report. Built only with -DSMELT_FUZZ=ON and clang; seed corpus: presets examples
 * tests/train tests/frontend/bad (run from the repository root, so that preset names resolve). */
#include <stddef.h>
#include <stdint.h>

#include "frontend/fe_config.h"
#include "frontend/fe_preset.h"
#include "support/rt_assert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  RtDiags d = {0};
  FeLoadOptions opts = {.skip_data_check = false};
  FeConfig *c = fe_config_parse("fuzz/config.yaml", (const char *)data, size, &opts, &d);
  RT_ASSERT(!c || d.errors == 0, "a config with errors was returned");
  RT_ASSERT(c || d.errors > 0, "a config failed without an error");
  fe_config_free(c);
  rt_diags_free(&d);
  FePreset *p = fe_preset_parse("fuzz/preset.yaml", (const char *)data, size, &d);
  RT_ASSERT(!p || (d.errors == 0 && p->head == &p->layers[p->layer_count - 1]), "bad preset returned");
  RT_ASSERT(p || d.errors > 0, "a preset failed without an error");
  fe_preset_free(p);
  rt_diags_free(&d);
  return 0;
}

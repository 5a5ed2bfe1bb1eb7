/* Experiment settings (internal to the frontend): decoding one settings mapping (the defaults or
 * an experiment) over an FeExperiment, and the checks of a merged experiment against its preset.
 * fe_config.c drives both; the split keeps each file to one job. */
#ifndef SMELT_FE_SETTINGS_H
#define SMELT_FE_SETTINGS_H

#include <stdbool.h>

#include "frontend/fe_config.h"
#include "frontend/fe_schema.h"
#include "frontend/fe_yaml.h"

enum { FE_LOSS_UNSET = RT_LOSS_UNSET }; /* FeLoss.kind until the preset's head chooses it */

/* Decodes the keys of map over e (keys absent keep e's values). Typed settings given the same
 * type merge their options; another type starts from that type's built-in options. Relative data
 * folders are taken from base_dir and must exist unless skip_data_check. */
void fe_settings_decode(FeCtx *c, const FeNode *map, FeExperiment *e, const char *base_dir,
                        bool skip_data_check);

/* Checks a merged experiment against its preset (loss vs head, label lengths, charset size,
 * learning-rate floors, ...) and settles the loss when none was given. exp_map and defaults are
 * the mappings the settings came from (either may be NULL); name_key is the experiment's key. */
void fe_experiment_check(FeCtx *c, FeExperiment *e, const FeNode *exp_map, const FeNode *defaults,
                         const FeNode *name_key);

#endif

/* JSON numbers that survive a round trip. cJSON prints a double with 15 digits whenever that
 * reads back within an epsilon, which can lose the last bit; resumed runs and results files need
 * the exact value, so writers that care use these. */
#ifndef SMELT_RT_JSON_H
#define SMELT_RT_JSON_H

#include <cjson/cJSON.h>

/* A raw JSON number with the fewest digits (15 to 17) that read back as exactly x; null when x
 * is NaN or infinite. The caller owns the item (or hands it to cJSON_AddItemToObject). */
cJSON *rt_json_exact_number(double x);

#endif

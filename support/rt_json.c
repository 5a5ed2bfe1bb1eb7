/* Exact JSON numbers (rt_json.h). */
#include "support/rt_json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

cJSON *rt_json_exact_number(double x) {
  if (!isfinite(x)) return cJSON_CreateNull();
  char buf[40];
  for (int digits = 15; digits <= 17; digits++) {
    snprintf(buf, sizeof buf, "%.*g", digits, x);
    if (strtod(buf, NULL) == x) break;
  }
  return cJSON_CreateRaw(buf);
}

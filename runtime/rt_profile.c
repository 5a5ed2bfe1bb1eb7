/* Per-kernel profile (rt_profile.h): an open-addressing table keyed by function pointer. */
#include "runtime/rt_profile.h"

#include <stdlib.h>
#include <string.h>

enum { SLOTS = 4096 };

typedef struct Entry {
  const void *fn;
  int64_t calls, ns;
} Entry;

static Entry table[SLOTS];
bool rt_profile_on;

void rt_profile_enable(bool on) { rt_profile_on = on; }

void rt_profile_reset(void) { memset(table, 0, sizeof table); }

void rt_profile_record(const void *fn, int64_t ns) {
  size_t h = ((uintptr_t)fn >> 4) % SLOTS;
  for (int probes = 0; probes < SLOTS; probes++, h = (h + 1) % SLOTS) {
    if (table[h].fn == fn || !table[h].fn) {
      table[h].fn = fn;
      table[h].calls++;
      table[h].ns += ns;
      return;
    }
  }
}

static int by_time(const void *a, const void *b) {
  int64_t x = ((const Entry *)a)->ns, y = ((const Entry *)b)->ns;
  return x < y ? 1 : x > y ? -1 : 0;
}

void rt_profile_report(FILE *out, const RtKernelName *names, int n_names, int limit) {
  Entry *e = malloc(sizeof table);
  if (!e) return;
  int n = 0;
  int64_t total = 0;
  for (int i = 0; i < SLOTS; i++)
    if (table[i].fn) {
      e[n++] = table[i];
      total += table[i].ns;
    }
  qsort(e, (size_t)n, sizeof *e, by_time);
  fprintf(out, "%-44s %8s %10s %6s\n", "kernel", "calls", "ms", "share");
  for (int i = 0; i < n && (limit <= 0 || i < limit); i++) {
    const char *name = "?";
    for (int k = 0; k < n_names; k++)
      if (names[k].fn == e[i].fn) name = names[k].name;
    fprintf(out, "%-44s %8lld %10.2f %5.1f%%\n", name, (long long)e[i].calls, (double)e[i].ns / 1e6,
            total ? 100.0 * (double)e[i].ns / (double)total : 0.0);
  }
  fprintf(out, "%-44s %8s %10.2f\n", "total", "", (double)total / 1e6);
  free(e);
}

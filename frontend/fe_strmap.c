/* Open addressing with linear probing, kept at most half full so probe runs stay short; it
 * only grows (the frontend never removes a name). */
#include "frontend/fe_strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "support/rt_assert.h"
#include "support/rt_random.h"

struct FeStrMapSlot {
  const char *key; /* NULL: empty */
  size_t len;
  uint64_t hash;
  int value;
};

/* The slot holding key, or the empty slot where it would go. */
static FeStrMapSlot *find(const FeStrMap *m, const char *key, size_t len, uint64_t h) {
  for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
    FeStrMapSlot *s = &m->slots[i];
    if (!s->key || (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0)) return s;
  }
}

static void grow(FeStrMap *m) {
  FeStrMap bigger = {.cap = m->cap ? 2 * m->cap : 16, .count = m->count};
  bigger.slots = rt_xcalloc(bigger.cap, sizeof *bigger.slots);
  for (size_t i = 0; i < m->cap; i++)
    if (m->slots[i].key) *find(&bigger, m->slots[i].key, m->slots[i].len, m->slots[i].hash) = m->slots[i];
  free(m->slots);
  *m = bigger;
}

int fe_strmap_put(FeStrMap *m, const char *key, size_t len, int value) {
  RT_ASSERT(value >= 0, "negative value %d", value);
  if (2 * (m->count + 1) > m->cap) grow(m);
  uint64_t h = rt_fnv1a64(key, len);
  FeStrMapSlot *s = find(m, key, len, h);
  if (s->key) return s->value;
  *s = (FeStrMapSlot){key, len, h, value};
  m->count++;
  return -1;
}

int fe_strmap_get(const FeStrMap *m, const char *key, size_t len) {
  if (!m->cap) return -1;
  const FeStrMapSlot *s = find(m, key, len, rt_fnv1a64(key, len));
  return s->key ? s->value : -1;
}

void fe_strmap_free(FeStrMap *m) {
  free(m->slots);
  *m = (FeStrMap){0};
}

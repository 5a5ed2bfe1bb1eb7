/* Table-driven CRC-32C, one byte per step (Sarwate's algorithm): table[b] is the CRC register
 * after shifting byte b through eight rounds of the reflected polynomial. Event files are small,
 * so the byte-at-a-time loop is plenty; the table is built once, thread-safely. */
#include "support/rt_crc32c.h"

#include <pthread.h>

static uint32_t table[256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_build(void) {
  for (uint32_t b = 0; b < 256; b++) {
    uint32_t r = b;
    for (int k = 0; k < 8; k++) r = (r >> 1) ^ (0x82F63B78u & (0u - (r & 1u)));
    table[b] = r;
  }
}

uint32_t rt_crc32c(uint32_t crc, const void *data, size_t n) {
  pthread_once(&table_once, table_build);
  const uint8_t *p = data;
  uint32_t r = ~crc;
  for (size_t i = 0; i < n; i++) r = (r >> 8) ^ table[(r ^ p[i]) & 0xFFu];
  return ~r;
}

uint32_t rt_crc32c_mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

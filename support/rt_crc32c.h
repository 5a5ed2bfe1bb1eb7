/* CRC-32C (Castagnoli; reflected polynomial 0x82F63B78, initial value and final xor 0xFFFFFFFF),
 * the checksum of TFRecord framing in TensorBoard event files, plus TFRecord's "masked" form.
 * Test vectors: RFC 3720 appendix B.4 (32 zero bytes -> 0x8A9136AA, "123456789" -> 0xE3069283). */
#ifndef SMELT_RT_CRC32C_H
#define SMELT_RT_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* CRC of data[0..n) continuing from crc (pass 0 to start): rt_crc32c(rt_crc32c(0, a), b) is the
 * CRC of a followed by b. */
uint32_t rt_crc32c(uint32_t crc, const void *data, size_t n);

/* TFRecord's masked CRC, ((crc >> 15) | (crc << 17)) + 0xa282ead8, stored instead of the plain CRC
 * because a CRC of data that itself holds CRCs is weak (tensorflow/core/lib/hash/crc32c.h). */
uint32_t rt_crc32c_mask(uint32_t crc);

#endif

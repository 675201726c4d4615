/* l1_hash.h: SipHash, the keyed hash of the L1 cache.
 *
 * Cache keys (issuer, serial) come from the internet, so the table's hash
 * must be keyed with a secret the sender cannot learn, or a client could
 * send serials that all land in one probe chain (hash flooding). SipHash is
 * a PRF built for exactly this; the cache uses SipHash-1-3 (one compression
 * round, three finalisation rounds, as Python and Rust use for their hash
 * tables), which costs about 15 ns for a 24-byte key. SipHash-2-4, the
 * variant in the paper and in BoringSSL, comes from the same code and lets
 * the unit test check this implementation against BoringSSL's.
 *
 * Header-only so that the lookup path inlines it with constant round
 * counts. */
#ifndef EDGE_L1_HASH_H
#define EDGE_L1_HASH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

static inline uint64_t edge_l1_hash_rotl(uint64_t x, unsigned b) {
  return (x << b) | (x >> (64 - b));
}

static inline uint64_t edge_l1_hash_le64(const uint8_t *p) {
  return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
         (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
         (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

#define EDGE_L1_SIPROUND(v0, v1, v2, v3) \
  do {                                   \
    v0 += v1;                            \
    v1 = edge_l1_hash_rotl(v1, 13);      \
    v1 ^= v0;                            \
    v0 = edge_l1_hash_rotl(v0, 32);      \
    v2 += v3;                            \
    v3 = edge_l1_hash_rotl(v3, 16);      \
    v3 ^= v2;                            \
    v0 += v3;                            \
    v3 = edge_l1_hash_rotl(v3, 21);      \
    v3 ^= v0;                            \
    v2 += v1;                            \
    v1 = edge_l1_hash_rotl(v1, 17);      \
    v1 ^= v2;                            \
    v2 = edge_l1_hash_rotl(v2, 32);      \
  } while (0)

/* edge_l1_siphash computes SipHash-|c|-|d| of |len| bytes at |in| under the
 * 128-bit key |key| (key[0] = first 8 key bytes, little-endian, as in
 * BoringSSL's SIPHASH_24). */
static inline uint64_t edge_l1_siphash(const uint64_t key[2], unsigned c,
                                       unsigned d, const uint8_t *in,
                                       size_t len) {
  uint64_t v0 = key[0] ^ UINT64_C(0x736f6d6570736575);
  uint64_t v1 = key[1] ^ UINT64_C(0x646f72616e646f6d);
  uint64_t v2 = key[0] ^ UINT64_C(0x6c7967656e657261);
  uint64_t v3 = key[1] ^ UINT64_C(0x7465646279746573);
  size_t whole = len & ~(size_t)7;
  for (size_t i = 0; i < whole; i += 8) {
    uint64_t m = edge_l1_hash_le64(in + i);
    v3 ^= m;
    for (unsigned r = 0; r < c; r++) {
      EDGE_L1_SIPROUND(v0, v1, v2, v3);
    }
    v0 ^= m;
  }
  uint64_t b = (uint64_t)len << 56;
  for (size_t i = 0; i < (len & 7); i++) {
    b |= (uint64_t)in[whole + i] << (8 * i);
  }
  v3 ^= b;
  for (unsigned r = 0; r < c; r++) {
    EDGE_L1_SIPROUND(v0, v1, v2, v3);
  }
  v0 ^= b;
  v2 ^= 0xff;
  for (unsigned r = 0; r < d; r++) {
    EDGE_L1_SIPROUND(v0, v1, v2, v3);
  }
  return v0 ^ v1 ^ v2 ^ v3;
}

#ifdef __cplusplus
}
#endif

#endif /* EDGE_L1_HASH_H */

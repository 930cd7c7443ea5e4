/*
 * isaac64.c: ISAAC-64 (Bob Jenkins, 1996) with the seeding and output order
 * of Rust rand 0.4's Isaac64Rng, see isaac64.h. A refill computes 256 new
 * results into rsl[0..256) in step order; rand 0.4 hands them out from the
 * last to the first, and so does rfw_isaac64_next_u64.
 */
#include "isaac64.h"

#include <string.h>

#define RSZ RFW_ISAAC64_SIZE

/* Jenkins' initialisation mix of eight words. */
#define MIX8(a, b, c, d, e, f, g, h)                                           \
  do {                                                                         \
    a -= e; f ^= h >> 9;  h += a;                                              \
    b -= f; g ^= a << 9;  a += b;                                              \
    c -= g; h ^= b >> 23; b += c;                                              \
    d -= h; a ^= c << 15; c += d;                                              \
    e -= a; b ^= d >> 14; d += e;                                              \
    f -= b; c ^= e << 20; e += f;                                              \
    g -= c; d ^= f >> 17; f += g;                                              \
    h -= d; e ^= g << 14; g += h;                                              \
  } while (0)

/* Produces the next 256 results. */
static void isaac64_refill(rfw_isaac64 *r) {
  uint64_t *m = r->mem;
  uint64_t a = r->a, b = r->b + (++r->c);
  for (size_t i = 0; i < RSZ; i++) {
    uint64_t mix;
    switch (i & 3) {
    case 0: mix = ~(a ^ (a << 21)); break;
    case 1: mix = a ^ (a >> 5); break;
    case 2: mix = a ^ (a << 12); break;
    default: mix = a ^ (a >> 33); break;
    }
    uint64_t x = m[i];
    a = mix + m[(i + RSZ / 2) % RSZ];
    uint64_t y = a + b + m[(x >> 3) % RSZ];
    m[i] = y;
    b = x + m[(y >> 11) % RSZ];
    r->rsl[i] = b;
  }
  r->a = a;
  r->b = b;
  r->cnt = RSZ;
}

void rfw_isaac64_seed(rfw_isaac64 *r, const uint64_t *seed, size_t n_seed) {
  memset(r, 0, sizeof *r);
  if (n_seed > RSZ) n_seed = RSZ;
  if (n_seed) memcpy(r->rsl, seed, n_seed * sizeof *seed);
  /* The golden ratio in every word, mixed four times. */
  uint64_t a, b, c, d, e, f, g, h;
  a = b = c = d = e = f = g = h = UINT64_C(0x9e3779b97f4a7c13);
  for (int i = 0; i < 4; i++) MIX8(a, b, c, d, e, f, g, h);
  /* Two passes: the seed (in rsl) into mem, then mem over itself, so every
   * seed word reaches every state word. */
  for (int pass = 0; pass < 2; pass++) {
    const uint64_t *src = pass == 0 ? r->rsl : r->mem;
    for (size_t i = 0; i < RSZ; i += 8) {
      a += src[i];     b += src[i + 1]; c += src[i + 2]; d += src[i + 3];
      e += src[i + 4]; f += src[i + 5]; g += src[i + 6]; h += src[i + 7];
      MIX8(a, b, c, d, e, f, g, h);
      r->mem[i] = a;     r->mem[i + 1] = b; r->mem[i + 2] = c;
      r->mem[i + 3] = d; r->mem[i + 4] = e; r->mem[i + 5] = f;
      r->mem[i + 6] = g; r->mem[i + 7] = h;
    }
  }
  r->a = r->b = r->c = 0;
  isaac64_refill(r);
}

uint64_t rfw_isaac64_next_u64(rfw_isaac64 *r) {
  if (r->cnt == 0) isaac64_refill(r);
  return r->rsl[--r->cnt];
}

uint32_t rfw_isaac64_next_u32(rfw_isaac64 *r) {
  return (uint32_t)rfw_isaac64_next_u64(r);
}

uint32_t rfw_isaac64_gen_range(rfw_isaac64 *r, uint32_t n) {
  const uint32_t zone = UINT32_MAX - UINT32_MAX % n;
  for (;;) {
    uint32_t v = rfw_isaac64_next_u32(r);
    if (v < zone) return v % n;
  }
}

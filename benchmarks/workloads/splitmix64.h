/*
 * splitmix64.h: the splitmix64 generator (Steele, Lea and Flood) that the
 * `fast` edge stream and the groupby and join row streams draw from, and
 * uniform draws in [0, n) from it by multiply-shift.
 */
#ifndef RFW_SPLITMIX64_H
#define RFW_SPLITMIX64_H

#include <stdint.h>

static inline uint64_t rfw_splitmix64(uint64_t *state) {
  uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

/* Uniform in [0, n) for n >= 1: the high 64 bits of draw * n (a bias below
 * n / 2^64 per draw). */
static inline uint64_t rfw_uniform(uint64_t *state, uint64_t n) {
  return (uint64_t)(((unsigned __int128)rfw_splitmix64(state) * n) >> 64);
}

#endif

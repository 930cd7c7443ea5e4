/*
 * isaac64.h: the ISAAC-64 generator exactly as Rust rand 0.4's StdRng
 * (Isaac64Rng) produces it, so that rhizoflow's benchmarks can replay the
 * very edge streams that differential-dataflow's examples draw. Seeding
 * follows SeedableRng::from_seed(&[u64]) (seed words, the rest zero, two
 * initialisation passes); outputs are read from the result buffer in the
 * order rand 0.4 reads them; next_u32 is the low half of next_u64 and
 * gen_range(0, n) is rand 0.4's rejection sampler over that u32.
 */
#ifndef RFW_ISAAC64_H
#define RFW_ISAAC64_H

#include <stddef.h>
#include <stdint.h>

#define RFW_ISAAC64_SIZE 256

typedef struct rfw_isaac64 {
  uint64_t rsl[RFW_ISAAC64_SIZE]; /* results of the last refill */
  uint64_t mem[RFW_ISAAC64_SIZE]; /* internal state */
  uint64_t a, b, c;
  uint32_t cnt; /* results left in rsl; consumed from the top down */
} rfw_isaac64;

/* Seeds the generator with seed[0..n_seed) (at most 256 words used), the
 * rest of the 256-word key zero: rand 0.4's from_seed. */
void rfw_isaac64_seed(rfw_isaac64 *r, const uint64_t *seed, size_t n_seed);
uint64_t rfw_isaac64_next_u64(rfw_isaac64 *r);
/* The low 32 bits of the next u64 (rand 0.4's Isaac64Rng::next_u32). */
uint32_t rfw_isaac64_next_u32(rfw_isaac64 *r);
/* A uniform value in [0, n) for n >= 1: rand 0.4's Range<u32> sampler,
 * rejecting draws at or above the largest multiple of n below 2^32 - 1. */
uint32_t rfw_isaac64_gen_range(rfw_isaac64 *r, uint32_t n);

#endif

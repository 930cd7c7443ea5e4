/*
 * exchange.h: which worker owns a key. Keyed operators (arrange, and
 * everything reading an arrangement: join, reduce, views) see only the
 * keys that hash to their worker; a message to a port that exchanges by
 * key is split by this function (graph.c), and a view lookup asks the
 * worker it names (operators/view.c).
 *
 * The hash is XXH3-64 of the key's words, so that keys that differ only
 * in a few bits (consecutive node ids) still spread evenly.
 */
#ifndef RF_DATAFLOW_EXCHANGE_H
#define RF_DATAFLOW_EXCHANGE_H

#include <stdint.h>
#include <xxhash.h>

/* The worker (0..n_workers-1) that owns the key held in the first
 * key_words words of row. */
static inline uint32_t rf__exchange_route(const uint64_t *row, uint32_t key_words,
                                          uint32_t n_workers) {
  if (n_workers == 1) return 0;
  uint64_t h = XXH3_64bits(row, key_words * sizeof(uint64_t));
  /* Multiply-shift rather than a modulo: uniform and without a division. */
  return (uint32_t)(((unsigned __int128)h * n_workers) >> 64);
}

#endif

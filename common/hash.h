/*
 * hash.h: XXH3 hashing of value words, used for key exchange between
 * workers and for hash tables.
 */
#ifndef RF_COMMON_HASH_H
#define RF_COMMON_HASH_H

#include <stdint.h>
#include <xxhash.h>

static inline uint64_t rf__hash_words(const uint64_t *w, uint32_t n) {
  return XXH3_64bits(w, (size_t)n * sizeof(uint64_t));
}

#endif

/*
 * sort.h: sorting rows of 64-bit words, the workhorse of batching and
 * consolidation. A row is `width` words; rows are ordered by their first
 * `key_words` words compared as unsigned integers, lexicographically.
 */
#ifndef RF_COMMON_SORT_H
#define RF_COMMON_SORT_H

#include <stddef.h>
#include <stdint.h>

/* Sorts n rows in place. Returns 0 or RF_ENOMEM (rows unchanged). */
int rf__sort_rows(uint64_t *rows, size_t n, uint32_t width, uint32_t key_words);

static inline int rf__words_cmp(const uint64_t *a, const uint64_t *b, uint32_t n) {
  for (uint32_t i = 0; i < n; i++)
    if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}

#endif

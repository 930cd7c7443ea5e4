/*
 * sort.c: row sorting (see sort.h).
 *
 * Design: LSD radix sort, one pass per byte of the key words from the least
 * significant, skipping every byte position whose value is the same in all
 * rows (node ids and epochs use few of their 64 bits, so most passes are
 * skipped). One histogram pass over the data finds all byte counts at
 * once. Small inputs use insertion sort.
 */
#include "common/sort.h"

#include <string.h>

#include "common/alloc.h"
#include "rhizoflow.h"

static void insertion_sort(uint64_t *rows, size_t n, uint32_t width, uint32_t key_words,
                           uint64_t *tmp) {
  for (size_t i = 1; i < n; i++) {
    uint64_t *r = rows + i * width;
    if (rf__words_cmp(r - width, r, key_words) <= 0) continue;
    memcpy(tmp, r, width * sizeof(uint64_t));
    size_t j = i;
    while (j > 0 && rf__words_cmp(rows + (j - 1) * width, tmp, key_words) > 0) {
      memcpy(rows + j * width, rows + (j - 1) * width, width * sizeof(uint64_t));
      j--;
    }
    memcpy(rows + j * width, tmp, width * sizeof(uint64_t));
  }
}

int rf__sort_rows(uint64_t *rows, size_t n, uint32_t width, uint32_t key_words) {
  if (n < 2 || key_words == 0) return 0;
  if (n <= 32) {
    uint64_t tmp[RF_MAX_COLS + 8];
    if (width <= RF_MAX_COLS + 8) {
      insertion_sort(rows, n, width, key_words, tmp);
      return 0;
    }
  }
  size_t n_pass = (size_t)key_words * 8;
  size_t *counts = rf__calloc(n_pass * 256, sizeof(size_t));
  if (!counts) return RF_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    const uint64_t *r = rows + i * width;
    for (uint32_t w = 0; w < key_words; w++) {
      uint64_t v = r[w];
      size_t base = ((size_t)w * 8) * 256;
      for (int b = 0; b < 8; b++) counts[base + (size_t)b * 256 + ((v >> (8 * b)) & 0xff)]++;
    }
  }
  uint64_t *buf = NULL;
  uint64_t *src = rows, *dst = NULL;
  int rc = 0;
  /* Least significant first: the last key word's low byte, up to word 0's
   * high byte. */
  for (int w = (int)key_words - 1; w >= 0; w--) {
    for (int b = 0; b < 8; b++) {
      size_t *c = counts + ((size_t)w * 8 + (size_t)b) * 256;
      int single = 0;
      for (int k = 0; k < 256; k++)
        if (c[k] == n) single = 1;
      if (single) continue;
      if (!buf) {
        buf = rf__malloc(n * width * sizeof(uint64_t));
        if (!buf) {
          rc = RF_ENOMEM;
          goto out;
        }
        dst = buf;
      }
      size_t off = 0;
      for (int k = 0; k < 256; k++) {
        size_t cnt = c[k];
        c[k] = off;
        off += cnt;
      }
      int shift = 8 * b;
      for (size_t i = 0; i < n; i++) {
        const uint64_t *r = src + i * width;
        size_t pos = c[(r[w] >> shift) & 0xff]++;
        memcpy(dst + pos * width, r, width * sizeof(uint64_t));
      }
      uint64_t *t = src;
      src = dst;
      dst = t;
    }
  }
  if (src != rows) memcpy(rows, src, n * width * sizeof(uint64_t));
out:
  rf__free(buf);
  rf__free(counts);
  return rc;
}

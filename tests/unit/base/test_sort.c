/*
 * test_sort.c: rf__sort_rows (common/sort.h), the radix sort under every
 * batcher and merge. Checks the order against qsort on random rows of many
 * shapes (widths, key words, value ranges that skip byte passes or not,
 * small and large n), that payload words travel with their rows, and the
 * fault-injected allocation path.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/sort.h"
#include "rhizoflow.h"

static uint32_t q_width, q_key;

static int row_cmp(const void *a, const void *b) {
  int c = rf__words_cmp(a, b, q_key);
  if (c) return c;
  /* Tie-break on the payload so that both sides agree row for row. */
  return rf__words_cmp((const uint64_t *)a + q_key, (const uint64_t *)b + q_key, q_width - q_key);
}

static uint64_t rnd64(void) {
  return ((uint64_t)rand() << 42) ^ ((uint64_t)rand() << 21) ^ (uint64_t)rand();
}

/* Sorts n random rows with rf__sort_rows and checks them against qsort. */
static void check_sort(size_t n, uint32_t width, uint32_t key, uint64_t range) {
  uint64_t *rows = rf__malloc(n * width * sizeof(uint64_t) + 8);
  uint64_t *ref = rf__malloc(n * width * sizeof(uint64_t) + 8);
  for (size_t i = 0; i < n * width; i++) rows[i] = range ? rnd64() % range : rnd64();
  cr_assert_eq(rf__sort_rows(rows, n, width, key), 0);
  for (size_t i = 1; i < n; i++)
    cr_assert_leq(rf__words_cmp(rows + (i - 1) * width, rows + i * width, key), 0,
                  "n=%zu width=%u key=%u: rows %zu and %zu out of order", n, width, key, i - 1, i);
  /* Same multiset of rows: sort both fully and compare. */
  memcpy(ref, rows, n * width * sizeof(uint64_t));
  q_width = width;
  q_key = key;
  qsort(ref, n, width * sizeof(uint64_t), row_cmp);
  qsort(rows, n, width * sizeof(uint64_t), row_cmp);
  cr_assert_eq(memcmp(rows, ref, n * width * sizeof(uint64_t)), 0);
  rf__free(rows);
  rf__free(ref);
}

Test(sort, trivial_inputs) {
  uint64_t one[3] = {9, 8, 7};
  cr_assert_eq(rf__sort_rows(one, 1, 3, 2), 0);
  cr_assert(one[0] == 9 && one[1] == 8 && one[2] == 7);
  cr_assert_eq(rf__sort_rows(NULL, 0, 3, 2), 0);
  uint64_t two[4] = {5, 1, 2, 9};
  cr_assert_eq(rf__sort_rows(two, 2, 2, 0), 0); /* no key words: any order */
  cr_assert_eq(rf__sort_rows(two, 2, 2, 1), 0);
  cr_assert(two[0] == 2 && two[1] == 9 && two[2] == 5 && two[3] == 1);
}

Test(sort, small_inputs_use_every_shape) {
  srand(1);
  for (size_t n = 2; n <= 40; n++)
    for (uint32_t width = 1; width <= 5; width++)
      for (uint32_t key = 1; key <= width; key++) check_sort(n, width, key, n % 2 ? 7 : 0);
}

Test(sort, large_inputs_full_words) {
  srand(2);
  check_sort(5000, 3, 3, 0);
  check_sort(5000, 4, 2, 0);
  check_sort(3000, 1, 1, 0);
}

Test(sort, large_inputs_few_distinct_bytes) {
  srand(3);
  check_sort(20000, 4, 3, 100000); /* node ids: three bytes vary */
  check_sort(20000, 4, 3, 3);      /* heavy duplicates */
  check_sort(20000, 2, 1, 1);      /* all keys equal: every pass skipped */
}

/* A cheap fingerprint of a multiset of rows (order-independent). */
static uint64_t rows_sum(const uint64_t *rows, size_t n, uint32_t width) {
  uint64_t s = 0;
  for (size_t i = 0; i < n; i++) {
    uint64_t h = 0;
    for (uint32_t c = 0; c < width; c++) h = (h ^ rows[i * width + c]) * 0x9e3779b97f4a7c15u;
    s += h;
  }
  return s;
}

/* Over 16 MiB of rows: an in-place partition on the top bits first, then
 * each part on its own. Uniform node-id keys; then keys whose top bits
 * barely vary (one part holds almost everything) behind a first key word
 * that never varies. (Checked for order and as a multiset: a qsort of this
 * many rows would dominate the test.) */
Test(sort, large_inputs_partitioned_first) {
  srand(6);
  for (int shape = 0; shape < 2; shape++) {
    uint32_t width = shape ? 5 : 4, key = width - 1;
    size_t n = ((size_t)20 << 20) / (width * sizeof(uint64_t));
    uint64_t *rows = rf__malloc(n * width * sizeof(uint64_t));
    for (size_t i = 0; i < n; i++) {
      uint64_t *r = rows + width * i;
      if (shape == 0) {
        r[0] = rnd64() % 100000;
        r[1] = rnd64() % 100000;
        r[2] = rnd64() % 7;
      } else {
        r[0] = 7;
        r[1] = (uint64_t)(rnd64() % 100 == 0) << 20 | (rnd64() % 5000);
        r[2] = rnd64() % 3;
        r[3] = rnd64();
      }
      r[key] = r[1] * 3 + r[2]; /* payload derived from the key */
    }
    uint64_t before = rows_sum(rows, n, width);
    cr_assert_eq(rf__sort_rows(rows, n, width, key), 0);
    cr_assert_eq(rows_sum(rows, n, width), before);
    for (size_t i = 0; i < n; i++) {
      uint64_t *r = rows + width * i;
      cr_assert_eq(r[key], r[1] * 3 + r[2]);
      if (i) cr_assert_leq(rf__words_cmp(r - width, r, key), 0);
    }
    rf__free(rows);
  }
}

Test(sort, large_allocation_failure_leaves_rows_unchanged) {
  srand(7);
  size_t n = ((size_t)20 << 20) / (4 * sizeof(uint64_t));
  uint64_t *rows = rf__malloc(n * 4 * sizeof(uint64_t));
  uint64_t *copy = rf__malloc(n * 4 * sizeof(uint64_t));
  for (size_t i = 0; i < 4 * n; i++) rows[i] = rnd64() % 1000000;
  memcpy(copy, rows, n * 4 * sizeof(uint64_t));
  for (uint64_t k = 1; k <= 2; k++) { /* the block, then the part buffer */
    rf__alloc_fail_after(k);
    cr_assert_eq(rf__sort_rows(rows, n, 4, 3), RF_ENOMEM);
    rf__alloc_fail_after(0);
    cr_assert_eq(memcmp(rows, copy, n * 4 * sizeof(uint64_t)), 0);
  }
  rf__free(rows);
  rf__free(copy);
}

Test(sort, payload_stays_with_its_row) {
  srand(4);
  size_t n = 10000;
  uint64_t *rows = rf__malloc(n * 2 * sizeof(uint64_t));
  for (size_t i = 0; i < n; i++) {
    rows[2 * i] = rnd64() % 1000;
    rows[2 * i + 1] = rows[2 * i] * 31 + 7; /* payload derived from the key */
  }
  cr_assert_eq(rf__sort_rows(rows, n, 2, 1), 0);
  for (size_t i = 0; i < n; i++) cr_assert_eq(rows[2 * i + 1], rows[2 * i] * 31 + 7);
  rf__free(rows);
}

Test(sort, allocation_failure_leaves_rows_unchanged) {
  srand(5);
  size_t n = 1000;
  uint64_t *rows = rf__malloc(n * 2 * sizeof(uint64_t));
  uint64_t *copy = rf__malloc(n * 2 * sizeof(uint64_t));
  for (size_t i = 0; i < 2 * n; i++) rows[i] = rnd64();
  memcpy(copy, rows, n * 2 * sizeof(uint64_t));
  for (uint64_t k = 1; k <= 2; k++) { /* the counts, then the buffer */
    rf__alloc_fail_after(k);
    cr_assert_eq(rf__sort_rows(rows, n, 2, 2), RF_ENOMEM);
    rf__alloc_fail_after(0);
    cr_assert_eq(memcmp(rows, copy, n * 2 * sizeof(uint64_t)), 0);
  }
  rf__free(rows);
  rf__free(copy);
}

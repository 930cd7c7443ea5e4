/*
 * batches.h: 1-dim batches for the arrangement tests, made through the
 * batcher as the arrange operator makes them. Shared by test_spine.c and
 * test_merge_board.c.
 */
#ifndef RF_TESTS_BATCHES_H
#define RF_TESTS_BATCHES_H

#include <criterion/criterion.h>

#include "arrangements/batcher.h"

/* The frontier {t}. */
static rf__antichain f1(uint64_t t) {
  rf__antichain a;
  rf__antichain_init(&a, 1);
  cr_assert_eq(rf__antichain_set1(&a, &t), 0);
  return a;
}

/* A batch [lower, upper) of 1-dim updates {key, val, time, diff}. */
static rf__batch *batch_of(uint64_t lower, uint64_t upper, const int64_t (*rows)[4], size_t n) {
  rf__batcher b;
  cr_assert_eq(rf__batcher_init(&b, 1, 1, 1), 0);
  rf__upbuf *u = rf__upbuf_new(2, 1, n);
  for (size_t i = 0; i < n; i++) {
    uint64_t rec[2] = {(uint64_t)rows[i][0], (uint64_t)rows[i][1]}, t = (uint64_t)rows[i][2];
    cr_assert_eq(rf__upbuf_push(u, rec, &t, rows[i][3]), 0);
  }
  cr_assert_eq(rf__batcher_push(&b, u), 0);
  rf__upbuf_unref(u);
  rf__batch *x = NULL;
  rf__antichain lo = f1(lower), hi = f1(upper);
  if (lower > 0) {
    cr_assert_eq(rf__batcher_seal(&b, &lo, &x), 0);
    cr_assert_eq(x->n_upds, 0);
    rf__batch_unref(x);
  }
  cr_assert_eq(rf__batcher_seal(&b, &hi, &x), 0);
  cr_assert_eq(rf__batcher_len(&b), 0);
  rf__batcher_free(&b);
  rf__antichain_free(&lo);
  rf__antichain_free(&hi);
  return x;
}

#endif

/*
 * test_batcher.c: the batcher (arrangements/batcher.h): sealing takes only
 * the updates at complete times and keeps the future ones, several epochs
 * buffered at once, consolidation (duplicates summed, zeros dropped, keys
 * emptied), a key that drops to zero and comes back, product times with a
 * partially ordered upper, the minimal buffered times, bad arguments, and a
 * randomized comparison with a naive consolidation.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "arrangements/batcher.h"
#include "common/alloc.h"
#include "rhizoflow.h"

static rf__antichain frontier1(uint64_t t) {
  rf__antichain a;
  rf__antichain_init(&a, 1);
  cr_assert_eq(rf__antichain_set1(&a, &t), 0);
  return a;
}

/* Pushes one (key, val) update at a 1-dim time through an upbuf. */
static void push1(rf__batcher *b, uint64_t key, uint64_t val, uint64_t t, int64_t diff) {
  rf__upbuf *u = rf__upbuf_new(2, 1, 1);
  uint64_t rec[2] = {key, val};
  cr_assert_eq(rf__upbuf_push(u, rec, &t, diff), 0);
  cr_assert_eq(rf__batcher_push(b, u), 0);
  rf__upbuf_unref(u);
}

static rf__batch *seal1(rf__batcher *b, uint64_t upper) {
  rf__antichain up = frontier1(upper);
  rf__batch *out = NULL;
  cr_assert_eq(rf__batcher_seal(b, &up, &out), 0);
  rf__antichain_free(&up);
  return out;
}

/* The diff of (key, val, time) in x, 0 if absent. */
static int64_t diff_of(const rf__batch *x, uint64_t key, uint64_t val, uint64_t t) {
  for (size_t i = 0; i < x->n_keys; i++) {
    if (*rf__batch_key(x, i) != key) continue;
    for (size_t j = x->key_off[i]; j < x->key_off[i + 1]; j++) {
      if (*rf__batch_val(x, j) != val) continue;
      for (size_t u = rf__batch_upd(x, j); u < rf__batch_upd(x, j + 1); u++)
        if (*rf__batch_time(x, u) == t) return x->diffs[u];
    }
  }
  return 0;
}

Test(batcher, seals_only_complete_times) {
  rf__batcher b;
  cr_assert_eq(rf__batcher_init(&b, 1, 1, 1), 0);
  push1(&b, 5, 1, 0, 1);
  push1(&b, 3, 1, 2, 1); /* future */
  push1(&b, 4, 1, 1, 1);
  push1(&b, 2, 9, 7, 1); /* future */
  rf__batch *x = seal1(&b, 2);
  cr_assert_eq(x->n_upds, 2);
  cr_assert(*rf__batch_key(x, 0) == 4 && *rf__batch_key(x, 1) == 5);
  cr_assert(x->lower.t[0] == 0 && x->upper.t[0] == 2 && x->since.t[0] == 0);
  cr_assert_eq(rf__batcher_len(&b), 2);
  cr_assert_eq(b.lower.t[0], 2);
  rf__batch_unref(x);
  x = seal1(&b, 3);
  cr_assert(x->n_upds == 1 && *rf__batch_key(x, 0) == 3 && x->lower.t[0] == 2);
  rf__batch_unref(x);
  x = seal1(&b, 4); /* nothing complete: an empty batch */
  cr_assert(x->n_upds == 0 && x->lower.t[0] == 3 && x->upper.t[0] == 4);
  rf__batch_unref(x);
  x = seal1(&b, 100);
  cr_assert(x->n_upds == 1 && diff_of(x, 2, 9, 7) == 1);
  cr_assert_eq(rf__batcher_len(&b), 0);
  rf__batch_unref(x);
  rf__batcher_free(&b);
}

Test(batcher, several_epochs_in_one_seal) {
  rf__batcher b;
  cr_assert_eq(rf__batcher_init(&b, 1, 1, 1), 0);
  for (uint64_t t = 0; t < 5; t++)
    for (uint64_t k = 0; k < 10; k++) push1(&b, k, t, t, 1);
  rf__batch *x = seal1(&b, 3);
  cr_assert(x->n_keys == 10 && x->n_vals == 30 && x->n_upds == 30);
  for (uint64_t k = 0; k < 10; k++)
    for (uint64_t t = 0; t < 3; t++) cr_assert_eq(diff_of(x, k, t, t), 1);
  cr_assert_eq(rf__batcher_len(&b), 20);
  rf__batch_unref(x);
  rf__batcher_free(&b);
}

Test(batcher, consolidates_to_zero) {
  rf__batcher b;
  cr_assert_eq(rf__batcher_init(&b, 1, 1, 1), 0);
  push1(&b, 1, 1, 0, 2);
  push1(&b, 1, 1, 0, -1);
  push1(&b, 1, 1, 0, -1); /* (1, 1, 0) sums to zero */
  push1(&b, 1, 2, 0, 1);
  push1(&b, 1, 2, 0, 1);  /* sums to 2 */
  push1(&b, 2, 1, 0, 1);
  push1(&b, 2, 1, 0, -1); /* key 2 vanishes entirely */
  rf__batch *x = seal1(&b, 1);
  cr_assert(x->n_keys == 1 && x->n_vals == 1 && x->n_upds == 1);
  cr_assert_eq(diff_of(x, 1, 2, 0), 2);
  rf__batch_unref(x);
  push1(&b, 3, 3, 1, 1);
  push1(&b, 3, 3, 1, -1);
  x = seal1(&b, 2); /* everything cancels: an empty batch */
  cr_assert_eq(x->n_upds, 0);
  rf__batch_unref(x);
  rf__batcher_free(&b);
}

Test(batcher, key_drops_to_zero_and_returns) {
  rf__batcher b;
  cr_assert_eq(rf__batcher_init(&b, 1, 1, 1), 0);
  push1(&b, 7, 1, 0, 1);
  push1(&b, 7, 1, 1, -1);
  push1(&b, 7, 1, 2, 1);
  rf__batch *x = seal1(&b, 3);
  /* Distinct times do not consolidate: the history stays. */
  cr_assert(x->n_keys == 1 && x->n_vals == 1 && x->n_upds == 3);
  cr_assert(diff_of(x, 7, 1, 0) == 1 && diff_of(x, 7, 1, 1) == -1 && diff_of(x, 7, 1, 2) == 1);
  rf__batch_unref(x);
  push1(&b, 7, 1, 3, -1);
  push1(&b, 7, 1, 4, 1);
  x = seal1(&b, 4);
  cr_assert(x->n_upds == 1 && diff_of(x, 7, 1, 3) == -1);
  rf__batch_unref(x);
  x = seal1(&b, 5);
  cr_assert(x->n_upds == 1 && diff_of(x, 7, 1, 4) == 1);
  rf__batch_unref(x);
  rf__batcher_free(&b);
}

Test(batcher, product_times_and_partial_upper) {
  rf__batcher b;
  cr_assert_eq(rf__batcher_init(&b, 1, 0, 2), 0);
  rf__upbuf *u = rf__upbuf_new(1, 2, 4);
  uint64_t times[5][2] = {{0, 0}, {0, 5}, {1, 0}, {2, 2}, {0, 1}};
  for (uint64_t i = 0; i < 5; i++) cr_assert_eq(rf__upbuf_push(u, &i, times[i], 1), 0);
  cr_assert_eq(rf__batcher_push(&b, u), 0);
  rf__upbuf_unref(u);
  rf__antichain mins;
  rf__antichain_init(&mins, 2);
  cr_assert_eq(rf__batcher_min_times(&b, &mins), 0);
  cr_assert(mins.n == 1 && mins.t[0] == 0 && mins.t[1] == 0);
  /* upper {(0,2), (1,0)}: complete are the times below neither element. */
  rf__antichain up;
  rf__antichain_init(&up, 2);
  uint64_t e1[2] = {0, 2}, e2[2] = {1, 0};
  cr_assert_geq(rf__antichain_insert(&up, e1), 0);
  cr_assert_geq(rf__antichain_insert(&up, e2), 0);
  rf__batch *x = NULL;
  cr_assert_eq(rf__batcher_seal(&b, &up, &x), 0);
  cr_assert_eq(x->n_keys, 2); /* keys 0 and 4: (0,0) and (0,1) */
  cr_assert(*rf__batch_key(x, 0) == 0 && *rf__batch_key(x, 1) == 4);
  cr_assert_eq(x->val_arity, 0);
  cr_assert_eq(rf__batcher_len(&b), 3);
  rf__antichain_clear(&mins);
  cr_assert_eq(rf__batcher_min_times(&b, &mins), 0);
  cr_assert_eq(mins.n, 2); /* (0,5) and (1,0) are incomparable */
  rf__batch_unref(x);
  /* upper {(0,3), (1,0)}: every row left is in advance of it; the batch is
   * empty and the rows and their minimal times stay as they were. */
  uint64_t e3[2] = {0, 3};
  rf__antichain_clear(&up);
  cr_assert_geq(rf__antichain_insert(&up, e3), 0);
  cr_assert_geq(rf__antichain_insert(&up, e2), 0);
  cr_assert_eq(rf__batcher_seal(&b, &up, &x), 0);
  cr_assert_eq(x->n_upds, 0);
  cr_assert_eq(rf__batcher_len(&b), 3);
  rf__antichain_clear(&mins);
  cr_assert_eq(rf__batcher_min_times(&b, &mins), 0);
  cr_assert_eq(mins.n, 2);
  rf__batch_unref(x);
  /* upper {(0,6), (2,0)}: (0,5) and (1,0) are complete, (2,2) stays and is
   * now the only minimal time. */
  uint64_t e4[2] = {0, 6}, e5[2] = {2, 0};
  rf__antichain_clear(&up);
  cr_assert_geq(rf__antichain_insert(&up, e4), 0);
  cr_assert_geq(rf__antichain_insert(&up, e5), 0);
  cr_assert_eq(rf__batcher_seal(&b, &up, &x), 0);
  cr_assert_eq(x->n_keys, 2);
  cr_assert(*rf__batch_key(x, 0) == 1 && *rf__batch_key(x, 1) == 2);
  cr_assert_eq(rf__batcher_len(&b), 1);
  rf__antichain_clear(&mins);
  cr_assert_eq(rf__batcher_min_times(&b, &mins), 0);
  cr_assert(mins.n == 1 && mins.t[0] == 2 && mins.t[1] == 2);
  rf__batch_unref(x);
  rf__antichain_free(&up);
  rf__antichain_free(&mins);
  rf__batcher_free(&b);
}

Test(batcher, rejects_bad_arguments) {
  rf__batcher b;
  cr_assert_eq(rf__batcher_init(&b, 1, 1, 1), 0);
  rf__upbuf *u = rf__upbuf_new(3, 1, 0);
  cr_assert_eq(rf__batcher_push(&b, u), RF_EINVAL);
  rf__upbuf_unref(u);
  rf__batch *x = seal1(&b, 5);
  rf__batch_unref(x);
  rf__antichain back = frontier1(3);
  x = NULL;
  cr_assert_eq(rf__batcher_seal(&b, &back, &x), RF_EINVAL); /* upper behind lower */
  cr_assert_null(x);
  rf__antichain_free(&back);
  rf__batcher_free(&b);
}

Test(batcher, seal_survives_allocation_failure) {
  rf__batcher b;
  cr_assert_eq(rf__batcher_init(&b, 1, 1, 1), 0);
  for (uint64_t i = 0; i < 100; i++) push1(&b, i % 13, i % 3, i % 2, 1);
  rf__antichain up = frontier1(1);
  rf__batch *x = NULL;
  for (uint64_t k = 1; k < 60; k++) {
    rf__alloc_fail_after(k);
    int rc = rf__batcher_seal(&b, &up, &x);
    rf__alloc_fail_after(0);
    if (rc == 0) break;
    cr_assert_eq(rc, RF_ENOMEM);
    cr_assert_eq(rf__batcher_len(&b), 100); /* nothing lost */
    cr_assert_eq(b.lower.t[0], 0);
  }
  cr_assert_not_null(x);
  cr_assert_eq(x->n_upds, 39); /* 50 rows at time 0 over 13 * 3 (key, val) pairs */
  rf__batch_unref(x);
  rf__antichain_free(&up);
  rf__batcher_free(&b);
}

/* Random updates over several seals: every sealed batch equals a naive
 * per-(key, val, time) sum over the rows pushed at its times. */
Test(batcher, random_against_naive_sums) {
  srand(11);
  enum { K = 20, V = 4, T = 12 };
  static int64_t want[K][V][T];
  rf__batcher b;
  cr_assert_eq(rf__batcher_init(&b, 1, 1, 1), 0);
  uint64_t lower = 0;
  while (lower < T) {
    rf__upbuf *u = rf__upbuf_new(2, 1, 0);
    for (int i = 0; i < 200; i++) {
      uint64_t rec[2] = {(uint64_t)(rand() % K), (uint64_t)(rand() % V)};
      uint64_t t = lower + (uint64_t)(rand() % 4);
      if (t >= T) continue;
      int64_t d = rand() % 5 - 2;
      cr_assert_eq(rf__upbuf_push(u, rec, &t, d), 0);
      want[rec[0]][rec[1]][t] += d;
    }
    cr_assert_eq(rf__batcher_push(&b, u), 0);
    rf__upbuf_unref(u);
    uint64_t upper = lower + 1 + (uint64_t)(rand() % 3);
    rf__batch *x = seal1(&b, upper);
    size_t n = 0;
    for (uint64_t k = 0; k < K; k++)
      for (uint64_t v = 0; v < V; v++)
        for (uint64_t t = lower; t < upper && t < T; t++) {
          cr_assert_eq(diff_of(x, k, v, t), want[k][v][t]);
          n += want[k][v][t] != 0;
        }
    cr_assert_eq(x->n_upds, n);
    rf__batch_unref(x);
    lower = upper;
  }
  rf__batcher_free(&b);
}

/* rf__batcher_take: a buffer held only by the caller is taken over when
 * the batcher is empty (and then left empty), a shared one is copied, and
 * the given minimal times become the batcher's. After rf__batcher_reserve
 * rows are copied into the reserved room instead. */
Test(batcher, take_over_copy_and_reserve) {
  rf__batcher b;
  cr_assert_eq(rf__batcher_init(&b, 1, 1, 1), 0);
  rf__upbuf *u = rf__upbuf_new(2, 1, 4);
  uint64_t rec[2] = {3, 4}, t = 2;
  cr_assert_eq(rf__upbuf_push(u, rec, &t, 1), 0);
  rf__antichain mins = frontier1(2);
  cr_assert_eq(rf__batcher_take(&b, u, &mins), 0);
  cr_assert_eq(u->n, 0); /* taken over */
  cr_assert_eq(rf__batcher_len(&b), 1);
  rf__upbuf *shared = rf__upbuf_new(2, 1, 4);
  t = 1;
  cr_assert_eq(rf__upbuf_push(shared, rec, &t, 1), 0);
  rf__upbuf_ref(shared);
  rf__antichain one = frontier1(1);
  cr_assert_eq(rf__batcher_take(&b, shared, &one), 0);
  cr_assert_eq(shared->n, 1); /* copied: the other holder still sees it */
  cr_assert_eq(rf__batcher_len(&b), 2);
  rf__antichain got;
  rf__antichain_init(&got, 1);
  cr_assert_eq(rf__batcher_min_times(&b, &got), 0);
  cr_assert(got.n == 1 && got.t[0] == 1);
  rf__batch *x = seal1(&b, 3);
  cr_assert_eq(x->n_upds, 2);
  rf__batch_unref(x);
  /* Reserved room: a sole-owned buffer is copied in, not taken over. */
  cr_assert_eq(rf__batcher_reserve(&b, 8), 0);
  rf__upbuf *v = rf__upbuf_new(2, 1, 4);
  t = 5;
  cr_assert_eq(rf__upbuf_push(v, rec, &t, 1), 0);
  rf__antichain five = frontier1(5);
  cr_assert_eq(rf__batcher_take(&b, v, &five), 0);
  cr_assert_eq(v->n, 1);
  cr_assert_eq(rf__batcher_len(&b), 1);
  rf__upbuf_unref(u);
  rf__upbuf_unref(shared);
  rf__upbuf_unref(shared);
  rf__upbuf_unref(v);
  rf__antichain_free(&mins);
  rf__antichain_free(&one);
  rf__antichain_free(&five);
  rf__antichain_free(&got);
  rf__batcher_free(&b);
}

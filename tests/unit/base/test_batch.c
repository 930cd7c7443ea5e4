/*
 * test_batch.c: columnar batches and their builder (arrangements/batch.h):
 * the layout the builder produces (keys, key_off, vals, val_off, times,
 * diffs), empty batches, val_arity 0, reuse of a builder, reference counts
 * (including a reframed batch keeping its owner's arrays alive), byte
 * accounting, and allocation failures.
 */
#include <criterion/criterion.h>

#include "arrangements/batch.h"
#include "common/alloc.h"
#include "rhizoflow.h"

static rf__antichain frontier1(uint64_t t) {
  rf__antichain a;
  rf__antichain_init(&a, 1);
  cr_assert_eq(rf__antichain_set1(&a, &t), 0);
  return a;
}

/* Pushes (key, val, time, diff) rows of 1-word keys and vals. */
static void push_rows(rf__builder *b, const int64_t (*rows)[4], size_t n) {
  for (size_t i = 0; i < n; i++) {
    uint64_t k = (uint64_t)rows[i][0], v = (uint64_t)rows[i][1], t = (uint64_t)rows[i][2];
    cr_assert_eq(rf__builder_push(b, &k, &v, &t, rows[i][3]), 0);
  }
}

static const int64_t sample[][4] = {
    {1, 10, 0, 1}, {1, 10, 2, -1}, {1, 11, 1, 3}, {4, 10, 0, 2}, {7, 5, 1, 1}, {7, 6, 1, 1},
};

Test(batch, builder_layout) {
  rf__builder b;
  rf__builder_init(&b, 1, 1, 1);
  push_rows(&b, sample, 6);
  rf__antichain lo = frontier1(0), hi = frontier1(3);
  rf__batch *x = rf__builder_done(&b, &lo, &hi, &lo);
  cr_assert_not_null(x);
  cr_assert(x->n_keys == 3 && x->n_vals == 5 && x->n_upds == 6);
  uint64_t keys[] = {1, 4, 7};
  size_t key_off[] = {0, 2, 3, 5}, val_off[] = {0, 2, 3, 4, 5, 6};
  uint64_t vals[] = {10, 11, 10, 5, 6}, times[] = {0, 2, 1, 0, 1, 1};
  int64_t diffs[] = {1, -1, 3, 2, 1, 1};
  for (size_t i = 0; i < 3; i++) cr_assert_eq(*rf__batch_key(x, i), keys[i]);
  for (size_t i = 0; i < 4; i++) cr_assert_eq(x->key_off[i], key_off[i]);
  for (size_t j = 0; j < 5; j++) cr_assert_eq(*rf__batch_val(x, j), vals[j]);
  for (size_t j = 0; j < 6; j++) cr_assert_eq(x->val_off[j], val_off[j]);
  for (size_t u = 0; u < 6; u++) {
    cr_assert_eq(*rf__batch_time(x, u), times[u]);
    cr_assert_eq(x->diffs[u], diffs[u]);
  }
  cr_assert(rf__antichain_eq(&x->lower, &lo) && rf__antichain_eq(&x->upper, &hi));
  cr_assert(rf__antichain_eq(&x->since, &lo));
  cr_assert_eq(b.n_upds, 0); /* the builder is empty again */
  rf__batch_unref(x);
  rf__builder_free(&b);
  rf__antichain_free(&lo);
  rf__antichain_free(&hi);
}

/* Distinct (key, val)s at one time: the compact forms (no val_off, one
 * time), read the same through the accessors, at half the bytes. Then the
 * same builder leaving each form mid-way: the arrays it fills in must give
 * back what the compact form implied. */
Test(batch, compact_forms) {
  rf__builder b;
  rf__builder_init(&b, 1, 1, 1);
  uint64_t t5 = 5;
  for (uint64_t k = 0; k < 50; k++)
    for (uint64_t v = 0; v < 4; v++) cr_assert_eq(rf__builder_push(&b, &k, &v, &t5, 1), 0);
  rf__antichain lo = frontier1(0), hi = frontier1(9);
  rf__batch *x = rf__builder_done(&b, &lo, &hi, &lo);
  cr_assert(x->n_keys == 50 && x->n_vals == 200 && x->n_upds == 200);
  cr_assert_null(x->val_off);
  cr_assert_eq(x->time_stride, 0);
  for (size_t j = 0; j <= 200; j++) cr_assert_eq(rf__batch_upd(x, j), j);
  for (size_t u = 0; u < 200; u++) cr_assert_eq(*rf__batch_time(x, u), 5);
  cr_assert_eq(rf__batch_bytes(x), 50 * 16 + 8 + 200 * 16 + 8);
  rf__batch_unref(x);
  /* Leaving the forms: a second time, then a second update of a val. */
  uint64_t k = 1, v = 1, t6 = 6, t7 = 7;
  cr_assert_eq(rf__builder_push(&b, &k, &v, &t5, 1), 0);
  v = 2;
  cr_assert_eq(rf__builder_push(&b, &k, &v, &t6, 2), 0);
  cr_assert_eq(rf__builder_push(&b, &k, &v, &t7, 3), 0);
  k = 2;
  cr_assert_eq(rf__builder_push(&b, &k, &v, &t5, 4), 0);
  x = rf__builder_done(&b, &lo, &hi, &lo);
  cr_assert(x->n_keys == 2 && x->n_vals == 3 && x->n_upds == 4);
  cr_assert_not_null(x->val_off);
  cr_assert_eq(x->time_stride, 1);
  size_t starts[] = {0, 1, 3, 4};
  uint64_t times[] = {5, 6, 7, 5};
  for (size_t j = 0; j <= 3; j++) cr_assert_eq(rf__batch_upd(x, j), starts[j]);
  for (size_t u = 0; u < 4; u++) {
    cr_assert_eq(*rf__batch_time(x, u), times[u]);
    cr_assert_eq(x->diffs[u], (int64_t)u + 1);
  }
  rf__batch_unref(x);
  rf__builder_free(&b);
  rf__antichain_free(&lo);
  rf__antichain_free(&hi);
}

Test(batch, builder_is_reusable_after_done) {
  rf__builder b;
  rf__builder_init(&b, 1, 1, 1);
  rf__antichain lo = frontier1(0), hi = frontier1(3);
  for (int round = 0; round < 3; round++) {
    push_rows(&b, sample, 6);
    rf__batch *x = rf__builder_done(&b, &lo, &hi, &lo);
    cr_assert_eq(x->n_upds, 6);
    rf__batch_unref(x);
  }
  rf__builder_free(&b);
  rf__antichain_free(&lo);
  rf__antichain_free(&hi);
}

Test(batch, reserve_then_push_many) {
  rf__builder b;
  rf__builder_init(&b, 2, 1, 2);
  cr_assert_eq(rf__builder_reserve_exact(&b, 100, 100, 100), 0);
  size_t n = 0;
  for (uint64_t k = 0; k < 300; k++)
    for (uint64_t t = 0; t < 3; t++) {
      uint64_t key[2] = {k / 7, k}, val = 0, time[2] = {t, 2 - t};
      cr_assert_eq(rf__builder_push(&b, key, &val, time, (int64_t)t + 1), 0);
      n++;
    }
  rf__antichain lo, hi;
  rf__antichain_init(&lo, 2);
  rf__antichain_init(&hi, 2);
  uint64_t z[2] = {0, 0};
  cr_assert_eq(rf__antichain_set1(&lo, z), 0);
  rf__batch *x = rf__builder_done(&b, &lo, &hi, &lo);
  cr_assert(x->n_keys == 300 && x->n_vals == 300 && x->n_upds == n);
  cr_assert_eq(x->key_off[300], 300);
  cr_assert_eq(x->val_off[300], n);
  cr_assert_eq(rf__batch_time(x, 4)[1], 1);
  cr_assert_gt(rf__batch_bytes(x), n * 3 * sizeof(uint64_t));
  rf__batch_unref(x);
  rf__builder_free(&b);
  rf__antichain_free(&lo);
  rf__antichain_free(&hi);
}

Test(batch, empty_batches) {
  rf__antichain lo = frontier1(2), hi = frontier1(5);
  rf__batch *e = rf__batch_empty(1, 1, 1, &lo, &hi);
  cr_assert_not_null(e);
  cr_assert(e->n_keys == 0 && e->n_vals == 0 && e->n_upds == 0);
  cr_assert(e->key_off[0] == 0 && e->val_off[0] == 0);
  cr_assert(rf__antichain_eq(&e->since, &lo) && rf__antichain_eq(&e->upper, &hi));
  cr_assert_eq(rf__batch_bytes(e), 0);
  rf__builder b;
  rf__builder_init(&b, 1, 1, 1);
  rf__batch *f = rf__builder_done(&b, &lo, &hi, &lo); /* nothing pushed */
  cr_assert(f->n_keys == 0 && f->key_off[0] == 0 && f->val_off[0] == 0);
  rf__batch_unref(e);
  rf__batch_unref(f);
  rf__builder_free(&b);
  rf__antichain_free(&lo);
  rf__antichain_free(&hi);
}

Test(batch, val_arity_zero) {
  rf__builder b;
  rf__builder_init(&b, 1, 0, 1);
  uint64_t keys[] = {3, 3, 8}, times[] = {0, 1, 0};
  for (int i = 0; i < 3; i++) cr_assert_eq(rf__builder_push(&b, &keys[i], NULL, &times[i], 1), 0);
  rf__antichain lo = frontier1(0), hi = frontier1(2);
  rf__batch *x = rf__builder_done(&b, &lo, &hi, &lo);
  cr_assert(x->n_keys == 2 && x->n_vals == 2 && x->n_upds == 3);
  cr_assert(x->key_off[1] == 1 && x->key_off[2] == 2);
  cr_assert(x->val_off[1] == 2 && x->val_off[2] == 3);
  rf__batch_unref(x);
  rf__builder_free(&b);
  rf__antichain_free(&lo);
  rf__antichain_free(&hi);
}

Test(batch, refcounts_and_reframe) {
  rf__builder b;
  rf__builder_init(&b, 1, 1, 1);
  push_rows(&b, sample, 6);
  rf__antichain lo = frontier1(0), hi = frontier1(3), later = frontier1(9);
  rf__batch *x = rf__builder_done(&b, &lo, &hi, &lo);
  cr_assert_eq(rf__batch_ref(x), x);
  cr_assert_eq(x->refs, 2);
  rf__batch_unref(x);
  cr_assert_eq(x->refs, 1);
  rf__batch *v = rf__batch_reframe(x, &lo, &later, &lo);
  cr_assert_eq(x->refs, 2); /* the reframed batch holds its owner */
  rf__batch_unref(x);       /* the owner's last outside holder goes */
  cr_assert(v->n_upds == 6 && *rf__batch_key(v, 2) == 7 && v->diffs[1] == -1);
  cr_assert(rf__antichain_eq(&v->upper, &later));
  rf__batch *w = rf__batch_reframe(v, &lo, &later, &later); /* points at the root */
  cr_assert_eq(w->owner, v->owner);
  rf__batch_unref(v);
  cr_assert_eq(*rf__batch_val(w, 4), 6);
  rf__batch_unref(w); /* frees the arrays: ASan checks nothing leaks */
  rf__batch_unref(NULL);
  rf__builder_free(&b);
  rf__antichain_free(&lo);
  rf__antichain_free(&hi);
  rf__antichain_free(&later);
}

Test(batch, allocation_failures_report_enomem) {
  rf__builder b;
  rf__builder_init(&b, 1, 1, 1);
  uint64_t k = 1, v = 2, t = 0;
  rf__alloc_fail_after(1);
  cr_assert_eq(rf__builder_push(&b, &k, &v, &t, 1), RF_ENOMEM);
  rf__alloc_fail_after(0);
  cr_assert_eq(b.n_upds, 0);
  cr_assert_eq(rf__builder_push(&b, &k, &v, &t, 1), 0);
  rf__antichain lo = frontier1(0), hi = frontier1(1);
  rf__alloc_fail_after(1);
  cr_assert_null(rf__builder_done(&b, &lo, &hi, &lo));
  rf__alloc_fail_after(0);
  cr_assert_eq(b.n_upds, 1); /* kept: the caller may retry */
  rf__batch *x = rf__builder_done(&b, &lo, &hi, &lo);
  cr_assert_eq(x->n_upds, 1);
  rf__batch_unref(x);
  rf__builder_free(&b);
  rf__antichain_free(&lo);
  rf__antichain_free(&hi);
}

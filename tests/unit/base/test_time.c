/*
 * test_time.c: times and antichains (dataflow/time.h): the product order,
 * antichain insert / le / lt / eq / meet / dominates, and logical
 * compaction with rf__time_advance, for 1-dim epochs, 2-dim product times
 * and multi-element frontiers. Ends with a randomized check of the defining
 * property of rf__time_advance.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "dataflow/time.h"

static rf__antichain ac(uint32_t dim, uint32_t n, const uint64_t *times) {
  rf__antichain a;
  rf__antichain_init(&a, dim);
  for (uint32_t i = 0; i < n; i++) cr_assert_geq(rf__antichain_insert(&a, times + i * dim), 0);
  return a;
}

Test(time, product_order) {
  uint64_t a[2] = {1, 5}, b[2] = {2, 3}, c[2] = {2, 5};
  cr_assert(!rf__time_le(a, b, 2) && !rf__time_le(b, a, 2)); /* incomparable */
  cr_assert(rf__time_le(a, c, 2) && rf__time_le(b, c, 2));
  cr_assert_lt(rf__time_cmp(a, b, 2), 0); /* the total order extends it */
  uint64_t j[2], m[2];
  rf__time_join(a, b, j, 2);
  rf__time_meet(a, b, m, 2);
  cr_assert(j[0] == 2 && j[1] == 5 && m[0] == 1 && m[1] == 3);
}

Test(time, insert_keeps_minimal_elements) {
  rf__antichain a;
  rf__antichain_init(&a, 2);
  uint64_t t1[2] = {3, 3}, t2[2] = {1, 5}, t3[2] = {4, 4}, t4[2] = {1, 1};
  cr_assert_eq(rf__antichain_insert(&a, t1), 1);
  cr_assert_eq(rf__antichain_insert(&a, t2), 1); /* incomparable: both kept */
  cr_assert_eq(a.n, 2);
  cr_assert_eq(rf__antichain_insert(&a, t3), 0); /* dominated by (3,3) */
  cr_assert_eq(rf__antichain_insert(&a, t1), 0); /* already there */
  cr_assert_eq(rf__antichain_insert(&a, t4), 1); /* below both: replaces them */
  cr_assert_eq(a.n, 1);
  cr_assert(rf__time_eq(rf__antichain_at(&a, 0), t4, 2));
  rf__antichain_free(&a);
}

Test(time, le_and_lt) {
  uint64_t e[4] = {2, 0, 0, 3};
  rf__antichain f = ac(2, 2, e); /* {(2,0), (0,3)} */
  uint64_t in1[2] = {2, 0}, in2[2] = {5, 1}, in3[2] = {0, 9}, out1[2] = {1, 2};
  cr_assert(rf__antichain_le(&f, in1) && !rf__antichain_lt(&f, in1));
  cr_assert(rf__antichain_le(&f, in2) && rf__antichain_lt(&f, in2));
  cr_assert(rf__antichain_le(&f, in3) && rf__antichain_lt(&f, in3));
  cr_assert(!rf__antichain_le(&f, out1) && !rf__antichain_lt(&f, out1));
  rf__antichain empty;
  rf__antichain_init(&empty, 2);
  cr_assert(!rf__antichain_le(&empty, in1)); /* a finished frontier: nothing to come */
  rf__antichain_free(&f);
}

Test(time, eq_ignores_order) {
  uint64_t e1[4] = {2, 0, 0, 3}, e2[4] = {0, 3, 2, 0}, e3[4] = {2, 0, 0, 4};
  rf__antichain a = ac(2, 2, e1), b = ac(2, 2, e2), c = ac(2, 2, e3);
  cr_assert(rf__antichain_eq(&a, &b));
  cr_assert(!rf__antichain_eq(&a, &c));
  rf__antichain_free(&a);
  rf__antichain_free(&b);
  rf__antichain_free(&c);
}

Test(time, meet_of_frontiers) {
  uint64_t e1[4] = {2, 0, 0, 3}, e2[4] = {1, 1, 3, 0};
  rf__antichain a = ac(2, 2, e1), b = ac(2, 2, e2), m;
  rf__antichain_init(&m, 2);
  cr_assert_eq(rf__antichain_meet(&a, &b, &m), 0);
  /* Minimal elements of {(2,0), (0,3), (1,1), (3,0)}: (3,0) goes. */
  uint64_t want[6] = {2, 0, 0, 3, 1, 1};
  rf__antichain w = ac(2, 3, want);
  cr_assert(rf__antichain_eq(&m, &w));
  cr_assert(rf__antichain_dominates(&m, &a) && rf__antichain_dominates(&m, &b));
  rf__antichain_free(&a);
  rf__antichain_free(&b);
  rf__antichain_free(&m);
  rf__antichain_free(&w);
}

Test(time, meet_may_alias_its_input) {
  uint64_t e1[1] = {5}, e2[1] = {3};
  rf__antichain a = ac(1, 1, e1), b = ac(1, 1, e2);
  cr_assert_eq(rf__antichain_meet(&a, &b, &a), 0);
  cr_assert(a.n == 1 && a.t[0] == 3);
  rf__antichain_free(&a);
  rf__antichain_free(&b);
}

Test(time, dominates) {
  uint64_t e1[2] = {1, 1}, e2[4] = {2, 1, 1, 4}, e3[4] = {0, 5, 5, 0};
  rf__antichain a = ac(2, 1, e1), b = ac(2, 2, e2), c = ac(2, 2, e3), empty;
  rf__antichain_init(&empty, 2);
  cr_assert(rf__antichain_dominates(&a, &b));  /* (1,1) <= both */
  cr_assert(!rf__antichain_dominates(&b, &a));
  cr_assert(!rf__antichain_dominates(&a, &c)); /* (0,5) is not >= (1,1) */
  cr_assert(rf__antichain_dominates(&a, &a));
  cr_assert(rf__antichain_dominates(&a, &empty)); /* everything precedes the end */
  cr_assert(!rf__antichain_dominates(&empty, &a));
  rf__antichain_free(&a);
  rf__antichain_free(&b);
  rf__antichain_free(&c);
}

Test(time, advance_one_dim) {
  uint64_t s[1] = {10};
  rf__antichain f = ac(1, 1, s);
  uint64_t t = 3, out;
  rf__time_advance(&t, &f, &out);
  cr_assert_eq(out, 10);
  t = 12;
  rf__time_advance(&t, &f, &t); /* aliasing allowed */
  cr_assert_eq(t, 12);
  rf__antichain empty;
  rf__antichain_init(&empty, 1);
  t = 3;
  rf__time_advance(&t, &empty, &out);
  cr_assert_eq(out, 3);
  rf__antichain_free(&f);
}

Test(time, advance_product_times) {
  uint64_t e[4] = {2, 0, 0, 3}; /* frontier {(2,0), (0,3)} */
  rf__antichain f = ac(2, 2, e);
  uint64_t t[2] = {1, 1}, out[2];
  /* join with (2,0) = (2,1); with (0,3) = (1,3); meet = (1,1): t itself. */
  rf__time_advance(t, &f, out);
  cr_assert(out[0] == 1 && out[1] == 1);
  uint64_t t2[2] = {0, 0};
  rf__time_advance(t2, &f, out); /* meet of (2,0) and (0,3) */
  cr_assert(out[0] == 0 && out[1] == 0);
  uint64_t s1[2] = {4, 2};
  rf__antichain g = ac(2, 1, s1);
  uint64_t t3[2] = {1, 7};
  rf__time_advance(t3, &g, out);
  cr_assert(out[0] == 4 && out[1] == 7);
  rf__antichain_free(&f);
  rf__antichain_free(&g);
}

/* For every s in the future of the frontier: t <= s iff advance(t) <= s. */
Test(time, advance_preserves_comparisons_in_the_future) {
  srand(7);
  for (int round = 0; round < 2000; round++) {
    rf__antichain f;
    rf__antichain_init(&f, 2);
    int n = 1 + rand() % 3;
    for (int i = 0; i < n; i++) {
      uint64_t e[2] = {(uint64_t)(rand() % 6), (uint64_t)(rand() % 6)};
      cr_assert_geq(rf__antichain_insert(&f, e), 0);
    }
    uint64_t t[2] = {(uint64_t)(rand() % 8), (uint64_t)(rand() % 8)}, a[2];
    rf__time_advance(t, &f, a);
    for (uint64_t x = 0; x < 10; x++)
      for (uint64_t y = 0; y < 10; y++) {
        uint64_t s[2] = {x, y};
        if (!rf__antichain_le(&f, s)) continue;
        cr_assert_eq(rf__time_le(t, s, 2), rf__time_le(a, s, 2));
      }
    rf__antichain_free(&f);
  }
}

Test(time, copy_clear_set1) {
  uint64_t e[4] = {2, 0, 0, 3}, one[2] = {7, 7};
  rf__antichain a = ac(2, 2, e), b;
  rf__antichain_init(&b, 2);
  cr_assert_eq(rf__antichain_copy(&b, &a), 0);
  cr_assert(rf__antichain_eq(&a, &b));
  rf__antichain_clear(&b);
  cr_assert_eq(b.n, 0);
  cr_assert_eq(rf__antichain_set1(&b, one), 0);
  cr_assert(b.n == 1 && rf__time_eq(rf__antichain_at(&b, 0), one, 2));
  rf__antichain_free(&a);
  rf__antichain_free(&b);
}

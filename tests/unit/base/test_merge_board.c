/*
 * test_merge_board.c: merges done in slices by several threads
 * (arrangements/merge.h) and the board through which workers offer them
 * to idle workers (arrangements/merge_board.h).
 *
 * - A merge done in slices of any size, or by helpers through the board
 *   while its owner also works on it, gives the same batch as one done at
 *   once: every (key, val, time) summed, times advanced to since.
 * - Helpers take the offer with the least work left first; a full board
 *   refuses offers; a merge found done is dropped, and one its owner
 *   finished can be withdrawn; nothing offered means nothing done.
 * - An allocation failure in a helper's slice leaves the merge to its
 *   owner, whose own finish then succeeds.
 * - Two helper threads and an owner thread working on the same merges at
 *   once (the ThreadSanitizer build runs this too) agree with the merges
 *   done alone.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "arrangements/merge_board.h"
#include "batches.h"
#include "board_helpers.h"
#include "common/alloc.h"
#include "common/atomic.h"
#include "rhizoflow.h"

/* ---- helpers -------------------------------------------------------- */

/* A batch [lower, upper) of n random 1-dim updates: keys below `keys`,
 * vals below 4, times in [lower, upper), diffs -2..2 (zeros dropped). */
static rf__batch *random_batch(uint64_t lower, uint64_t upper, size_t n, uint64_t keys) {
  int64_t(*rows)[4] = rf__malloc((n ? n : 1) * sizeof *rows);
  cr_assert_not_null(rows);
  for (size_t i = 0; i < n; i++) {
    rows[i][0] = (int64_t)((uint64_t)rand() % keys);
    rows[i][1] = rand() % 4;
    rows[i][2] = (int64_t)(lower + (uint64_t)rand() % (upper - lower));
    rows[i][3] = rand() % 5 - 2;
  }
  rf__batch *x = batch_of(lower, upper, (const int64_t(*)[4])rows, n);
  rf__free(rows);
  return x;
}

/* Two adjacent random batches, [0, 8) and [8, 16), of about n updates. */
static void random_pair(size_t n, rf__batch **a, rf__batch **b) {
  *a = random_batch(0, 8, n, n / 2 + 1);
  *b = random_batch(8, 16, n, n / 2 + 1);
  cr_assert_gt((*a)->n_upds, 0);
  cr_assert_gt((*b)->n_upds, 0);
}

/* Are x and y the same updates, in the same order? */
static void assert_same_batch(const rf__batch *x, const rf__batch *y) {
  cr_assert_eq(x->n_keys, y->n_keys);
  cr_assert_eq(x->n_vals, y->n_vals);
  cr_assert_eq(x->n_upds, y->n_upds);
  for (size_t k = 0; k < x->n_keys; k++) {
    cr_assert_eq(*rf__batch_key(x, k), *rf__batch_key(y, k));
    cr_assert_eq(x->key_off[k + 1], y->key_off[k + 1]);
  }
  for (size_t v = 0; v < x->n_vals; v++) {
    cr_assert_eq(*rf__batch_val(x, v), *rf__batch_val(y, v));
    cr_assert_eq(rf__batch_upd(x, v + 1), rf__batch_upd(y, v + 1));
  }
  for (size_t u = 0; u < x->n_upds; u++) {
    cr_assert_eq(*rf__batch_time(x, u), *rf__batch_time(y, u));
    cr_assert_eq(x->diffs[u], y->diffs[u]);
  }
}

/* The merge of a and b done at once, by one thread. */
static rf__batch *merged_at_once(rf__batch *a, rf__batch *b, const rf__antichain *since) {
  rf__merge *m = rf__merge_new(a, b, since);
  cr_assert_not_null(m);
  size_t fuel = SIZE_MAX;
  cr_assert_eq(rf__merge_work(m, &fuel), RF_MERGE_DONE);
  rf__batch *r = rf__merge_result(m);
  rf__merge_unref(m);
  return r;
}

/* ---- one thread --------------------------------------------------------- */

Test(merge, slices_of_any_size_give_the_merge_done_at_once) {
  srand(3);
  rf__antichain since = f1(5); /* times below 5 advance to 5 */
  for (int round = 0; round < 20; round++) {
    rf__batch *a, *b;
    random_pair(200 + (size_t)rand() % 800, &a, &b);
    rf__batch *want = merged_at_once(a, b, &since);
    for (size_t u = 0; u < want->n_upds; u++) cr_assert_geq(*rf__batch_time(want, u), 5);
    rf__merge *m = rf__merge_new(a, b, &since);
    cr_assert_not_null(m);
    cr_assert_eq(rf__merge_left(m), a->n_upds + b->n_upds);
    size_t slice = 1 + (size_t)rand() % 64, slices = 0;
    int rc;
    do {
      size_t fuel = slice;
      rc = rf__merge_work(m, &fuel);
      cr_assert_geq(rc, 0);
      slices++;
      if (rc == RF_MERGE_MORE) cr_assert_eq(fuel, 0, "a slice stopped with fuel left");
    } while (rc == RF_MERGE_MORE);
    cr_assert_eq(rc, RF_MERGE_DONE);
    cr_assert_gt(slices, 1);
    cr_assert(rf__merge_done(m));
    cr_assert_eq(rf__merge_left(m), 0);
    rf__batch *got = rf__merge_result(m);
    assert_same_batch(want, got);
    /* Done is done: more work does nothing. */
    size_t fuel = 10;
    cr_assert_eq(rf__merge_work(m, &fuel), RF_MERGE_DONE);
    cr_assert_eq(fuel, 10);
    rf__merge_unref(m);
    rf__batch_unref(got);
    rf__batch_unref(want);
    rf__batch_unref(a);
    rf__batch_unref(b);
  }
  rf__antichain_free(&since);
}

Test(merge_board, helpers_take_the_offer_with_the_least_work_first) {
  srand(5);
  rf__antichain since = f1(0);
  rf__merge_board *board = rf__merge_board_new(4);
  cr_assert_not_null(board);
  rf__batch *a1, *b1, *a2, *b2;
  random_pair(2000, &a1, &b1);
  random_pair(100, &a2, &b2);
  rf__merge *big = rf__merge_new(a1, b1, &since), *small = rf__merge_new(a2, b2, &since);
  cr_assert(rf__merge_board_offer(board, big));
  cr_assert(rf__merge_board_offer(board, small));
  /* Fuel enough for the small merge only. */
  rf__merge *held = NULL;
  cr_assert_eq(rf__merge_board_help(board, &held, rf__merge_left(small)), 1);
  cr_assert(rf__merge_done(small), "the helper did not pick the smallest merge");
  cr_assert_null(held, "a finished merge is not held");
  cr_assert_eq(rf__merge_left(big), a1->n_upds + b1->n_upds, "the big merge was touched");
  /* Then the big one, in slices: held between them, returned after. */
  cr_assert_eq(rf__merge_board_help(board, &held, 100), 1);
  cr_assert_eq(held, big);
  cr_assert_lt(rf__merge_left(big), a1->n_upds + b1->n_upds);
  rf__merge_board_return(board, &held);
  cr_assert_null(held);
  while (rf__merge_board_help(board, &held, 100)) {
  }
  cr_assert(rf__merge_done(big));
  cr_assert_eq(rf__merge_board_help(board, &held, 100), 0, "nothing is left to do");
  /* The owners' results are the merges done at once. */
  rf__batch *want = merged_at_once(a1, b1, &since), *got = rf__merge_result(big);
  assert_same_batch(want, got);
  rf__batch_unref(want);
  rf__batch_unref(got);
  rf__batch_unref(rf__merge_result(small));
  rf__merge_unref(big);
  rf__merge_unref(small);
  rf__merge_board_free(board);
  rf__batch_unref(a1);
  rf__batch_unref(b1);
  rf__batch_unref(a2);
  rf__batch_unref(b2);
  rf__antichain_free(&since);
}

Test(merge_board, a_full_board_refuses_offers_and_drops_done_merges) {
  srand(7);
  rf__antichain since = f1(0);
  rf__merge_board *board = rf__merge_board_new(2);
  rf__merge *m[3];
  rf__batch *a[3], *b[3];
  for (int i = 0; i < 3; i++) {
    random_pair(50, &a[i], &b[i]);
    m[i] = rf__merge_new(a[i], b[i], &since);
  }
  cr_assert(rf__merge_board_has_room(board));
  cr_assert(rf__merge_board_offer(board, m[0]));
  cr_assert(rf__merge_board_offer(board, m[1]));
  cr_assert_not(rf__merge_board_has_room(board));
  cr_assert_not(rf__merge_board_offer(board, m[2]), "a full board took an offer");
  /* The owner of m[0] finishes it itself: a helper then only drops it,
   * and does m[1]. */
  cr_assert_eq(rf__merge_finish(m[0]), RF_MERGE_DONE);
  rf__merge *held = NULL;
  cr_assert_eq(rf__merge_board_help(board, &held, SIZE_MAX), 1);
  cr_assert_null(held);
  cr_assert(rf__merge_done(m[1]));
  cr_assert(rf__merge_board_offer(board, m[2]), "a done merge still holds a slot");
  for (int i = 0; i < 3; i++) {
    if (rf__merge_done(m[i])) rf__batch_unref(rf__merge_result(m[i]));
    rf__merge_unref(m[i]);
    rf__batch_unref(a[i]);
    rf__batch_unref(b[i]);
  }
  rf__merge_board_free(board); /* drops the offers still on it */
  rf__antichain_free(&since);
}

/* One merge of a random pair offered on a board of `slots` slots, with the
 * merge of the pair done at once to compare with. */
typedef struct offered {
  rf__antichain since;
  rf__merge_board *board;
  rf__batch *a, *b, *want;
  rf__merge *m;
} offered;

static void offered_init(offered *o, size_t n, uint32_t slots) {
  o->since = f1(0);
  o->board = rf__merge_board_new(slots);
  random_pair(n, &o->a, &o->b);
  o->want = merged_at_once(o->a, o->b, &o->since);
  o->m = rf__merge_new(o->a, o->b, &o->since);
  cr_assert(rf__merge_board_offer(o->board, o->m));
}

/* The owner's result is the merge done at once. Frees everything. */
static void offered_check_and_free(offered *o) {
  cr_assert(rf__merge_done(o->m));
  rf__batch *got = rf__merge_result(o->m);
  assert_same_batch(o->want, got);
  rf__batch_unref(got);
  rf__merge_unref(o->m);
  rf__merge_board_free(o->board);
  rf__batch_unref(o->want);
  rf__batch_unref(o->a);
  rf__batch_unref(o->b);
  rf__antichain_free(&o->since);
}

Test(merge_board, an_allocation_failure_in_a_helper_leaves_the_merge_to_its_owner) {
  srand(11);
  offered o;
  offered_init(&o, 300, 2);
  /* The slice that would build the result fails to allocate it. */
  uint64_t before = rf__alloc_injected_failures();
  rf__merge *held = NULL;
  rf__alloc_fail_after(1);
  cr_assert_eq(rf__merge_board_help(o.board, &held, SIZE_MAX), 1);
  rf__alloc_fail_after(0);
  cr_assert_gt(rf__alloc_injected_failures(), before);
  cr_assert_null(held);
  cr_assert_not(rf__merge_done(o.m));
  cr_assert_eq(rf__merge_board_help(o.board, &held, SIZE_MAX), 0,
               "the failed merge stayed on offer");
  cr_assert_eq(rf__merge_finish(o.m), RF_MERGE_DONE);
  offered_check_and_free(&o);
}

Test(merge_board, an_owner_withdraws_a_merge_it_finished_itself) {
  srand(9);
  offered o;
  offered_init(&o, 100, 1);
  cr_assert_not(rf__merge_board_has_room(o.board));
  cr_assert_eq(rf__merge_finish(o.m), RF_MERGE_DONE);
  rf__merge_board_withdraw(o.board, o.m);
  cr_assert(rf__merge_board_has_room(o.board), "the finished merge still holds its slot");
  rf__merge *held = NULL;
  cr_assert_eq(rf__merge_board_help(o.board, &held, SIZE_MAX), 0);
  /* Withdrawing what is no longer on the board changes nothing. */
  rf__merge_board_withdraw(o.board, o.m);
  offered_check_and_free(&o); /* the last reference: the board took its own back */
}

/* ---- several threads ---------------------------------------------------- */

enum { N_MERGES = 24 };

Test(merge_board, helpers_and_owner_working_at_once_agree_with_one_thread) {
  srand(13);
  rf__antichain since = f1(4);
  rf__batch *a[N_MERGES], *b[N_MERGES], *want[N_MERGES];
  rf__merge *m[N_MERGES];
  for (int i = 0; i < N_MERGES; i++) {
    random_pair(100 + (size_t)rand() % 3000, &a[i], &b[i]);
    want[i] = merged_at_once(a[i], b[i], &since);
  }
  rf__merge_board *board = rf__merge_board_new(8);
  board_helpers h;
  board_helpers_start(&h, board, 2);
  /* The owner starts each merge, offers it, gives it a little fuel now
   * and then (as inserts do), and finishes it whenever it wants to. */
  for (int i = 0; i < N_MERGES; i++) {
    m[i] = rf__merge_new(a[i], b[i], &since);
    while (!rf__merge_board_offer(board, m[i])) rf__atomic_pause();
    for (int j = 0; j <= i; j++) {
      if (!m[j] || rand() % 2) continue;
      size_t fuel = (size_t)rand() % 200;
      int rc = rf__merge_work(m[j], &fuel);
      cr_assert(rc == RF_MERGE_MORE || rc == RF_MERGE_DONE || rc == RF_MERGE_BUSY);
      if (rc == RF_MERGE_DONE || rand() % 8 == 0) {
        cr_assert_eq(rf__merge_finish(m[j]), RF_MERGE_DONE);
        rf__batch *got = rf__merge_result(m[j]);
        assert_same_batch(want[j], got);
        rf__batch_unref(got);
        rf__merge_unref(m[j]);
        m[j] = NULL;
      }
    }
  }
  for (int i = 0; i < N_MERGES; i++) {
    if (!m[i]) continue;
    cr_assert_eq(rf__merge_finish(m[i]), RF_MERGE_DONE);
    rf__batch *got = rf__merge_result(m[i]);
    assert_same_batch(want[i], got);
    rf__batch_unref(got);
    rf__merge_unref(m[i]);
  }
  board_helpers_stop(&h);
  rf__merge_board_free(board);
  for (int i = 0; i < N_MERGES; i++) {
    rf__batch_unref(want[i]);
    rf__batch_unref(a[i]);
    rf__batch_unref(b[i]);
  }
  rf__antichain_free(&since);
}

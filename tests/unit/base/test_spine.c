/*
 * test_spine.c: the fueled spine (arrangements/spine.h), checked against a
 * naive model: every inserted update kept in a dense (key, val, time) array.
 *
 * - Without compaction (a reader holding its logical frontier at the start)
 *   the spine's contents, however merged, equal the sum of the inserted
 *   batches exactly.
 * - With compaction, at every time q in advance of the spine's since, the
 *   accumulated diff of each (key, val) through q equals the model's (1-dim
 *   epochs and 2-dim product times, single and multi-element frontiers).
 * - Logical compaction cancels inserted-then-retracted updates to nothing;
 *   with no readers everything compacts; physical frontiers keep batches
 *   unmerged so that cursors "through" them work, and a `through` inside a
 *   batch is RF_ESTATE; frontiers only move forward; empty batches merge
 *   away; allocation failures leave the contents intact.
 * - Compacting on request (rf__spine_compact) leaves one batch with the
 *   same contents, its times advanced to since, keeps apart what the
 *   physical frontier holds apart, and loses nothing when allocation fails.
 * - A spine sharing its merges through a board (merge_board.h) keeps its
 *   contents whoever does the merges, has them done by helpers while it
 *   is never exerted (fewer batches than the same spine without), and a
 *   helper thread merging while inserts and reads go on loses nothing.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "arrangements/merge_board.h"
#include "arrangements/spine.h"
#include "batches.h"
#include "board_helpers.h"
#include "common/alloc.h"
#include "rhizoflow.h"

enum { K = 24, V = 3, T = 48, TI = 6 };

/* ---- helpers -------------------------------------------------------- */

static rf__antichain f2(uint64_t e, uint64_t i) {
  uint64_t t[2] = {e, i};
  rf__antichain a;
  rf__antichain_init(&a, 2);
  cr_assert_eq(rf__antichain_set1(&a, t), 0);
  return a;
}

static void insert(rf__spine *s, rf__batch *x) { cr_assert_eq(rf__spine_insert(s, x), 0); }

static void exert_all(rf__spine *s) {
  size_t fuel = SIZE_MAX;
  cr_assert_eq(rf__spine_exert(s, &fuel), 0);
  cr_assert(!rf__spine_has_work(s));
}

/* The spine's contents, read through a cursor: got[k][v][t] (1-dim). */
typedef struct dense1 {
  int64_t d[K][V][T + 1];
} dense1;

static void add1(void *ctx, const uint64_t *time, int64_t diff) {
  int64_t *slot = ctx;
  cr_assert_leq(*time, T);
  slot[*time] += diff;
}

static void read1(rf__reader *r, const rf__antichain *through, dense1 *got) {
  memset(got, 0, sizeof *got);
  rf__cursor c;
  cr_assert_eq(rf__reader_cursor(r, through, &c), 0);
  for (; rf__cursor_key_valid(&c); rf__cursor_step_key(&c))
    for (; rf__cursor_val_valid(&c); rf__cursor_step_val(&c)) {
      uint64_t k = *rf__cursor_key(&c), v = *rf__cursor_val(&c);
      cr_assert(k < K && v < V);
      rf__cursor_map_times(&c, add1, got->d[k][v]);
    }
  rf__cursor_free(&c);
}

/* Accumulations through every q >= since agree (q up to T). */
static void check_accum1(const dense1 *want, const dense1 *got, uint64_t since) {
  for (int k = 0; k < K; k++)
    for (int v = 0; v < V; v++) {
      int64_t a = 0, b = 0;
      for (uint64_t q = 0; q <= T; q++) {
        a += want->d[k][v][q];
        b += got->d[k][v][q];
        if (q >= since) cr_assert_eq(a, b, "(%d,%d) through %lu", k, v, (unsigned long)q);
      }
    }
}

/* Random updates for epoch e, recorded in the model. */
static size_t random_rows(int64_t (*rows)[4], size_t max, uint64_t e, dense1 *model) {
  size_t n = (size_t)(rand() % (int)max);
  if (rand() % 4 == 0) n = 0; /* progress-only batches are common */
  for (size_t i = 0; i < n; i++) {
    rows[i][0] = rand() % K;
    rows[i][1] = rand() % V;
    rows[i][2] = (int64_t)e;
    rows[i][3] = rand() % 5 - 2;
    model->d[rows[i][0]][rows[i][1]][e] += rows[i][3];
  }
  return n;
}

/* ---- merging keeps contents --------------------------------------------- */

/* Inserts a random batch [e, e + 1) (added to *model) and lets reader r
 * see it (its physical frontier moves to e + 1). */
static void insert_random_epoch(rf__spine *s, rf__reader *r, uint64_t e, dense1 *model) {
  int64_t rows[64][4];
  size_t n = random_rows(rows, 64, e, model);
  insert(s, batch_of(e, e + 1, rows, n));
  rf__antichain ph = f1(e + 1);
  cr_assert_eq(rf__reader_set_physical(r, &ph), 0);
  rf__antichain_free(&ph);
}

Test(spine, merging_keeps_the_sum_of_inserted_batches) {
  srand(17);
  for (int round = 0; round < 10; round++) {
    static dense1 model, got;
    memset(&model, 0, sizeof model);
    rf__spine *s = rf__spine_new(1, 1, 1);
    rf__reader *r = rf__spine_reader_new(s); /* logical stays {0}: no compaction */
    for (uint64_t e = 0; e < T; e++) {
      insert_random_epoch(s, r, e, &model);
      size_t fuel = (size_t)(rand() % 200);
      cr_assert_geq(rf__spine_exert(s, &fuel), 0);
      read1(r, NULL, &got);
      cr_assert_eq(memcmp(&model, &got, sizeof model), 0, "round %d epoch %lu", round,
                   (unsigned long)e);
      cr_assert_leq(rf__spine_batches(s), 24); /* geometric levels */
    }
    exert_all(s);
    read1(r, NULL, &got);
    cr_assert_eq(memcmp(&model, &got, sizeof model), 0);
    rf__reader_free(r);
    rf__spine_free(s);
  }
}

Test(spine, compaction_keeps_accumulations_in_advance_of_since) {
  srand(23);
  for (int round = 0; round < 10; round++) {
    static dense1 model, got;
    memset(&model, 0, sizeof model);
    rf__spine *s = rf__spine_new(1, 1, 1);
    rf__reader *r = rf__spine_reader_new(s);
    uint64_t logical = 0;
    for (uint64_t e = 0; e < T; e++) {
      insert_random_epoch(s, r, e, &model);
      if (rand() % 3 == 0) {
        logical += (uint64_t)(rand() % 6);
        if (logical > e + 1) logical = e + 1;
        rf__antichain lg = f1(logical);
        cr_assert_eq(rf__reader_set_logical(r, &lg), 0);
        rf__antichain_free(&lg);
      }
      size_t fuel = (size_t)(rand() % 300);
      cr_assert_geq(rf__spine_exert(s, &fuel), 0);
      read1(r, NULL, &got);
      cr_assert_eq(rf__spine_since(s)->t[0], logical);
      check_accum1(&model, &got, logical);
    }
    rf__reader_free(r);
    rf__spine_free(s);
  }
}

/* ---- compacting on request ------------------------------------------------ */

static int64_t sum_read(rf__reader *r, const rf__antichain *through);

/* A spine with one reader (logical frontier at the start: no compaction)
 * after random epochs with partial fuel, so that merges are in progress;
 * *model gets what went in. */
static rf__spine *filled_spine(rf__reader **reader, dense1 *model, uint64_t epochs) {
  memset(model, 0, sizeof *model);
  rf__spine *s = rf__spine_new(1, 1, 1);
  cr_assert_eq(rf__spine_publish_enable(s), 0);
  rf__reader *r = *reader = rf__spine_reader_new(s);
  for (uint64_t e = 0; e < epochs; e++) {
    insert_random_epoch(s, r, e, model);
    size_t fuel = (size_t)(rand() % 50);
    cr_assert_geq(rf__spine_exert(s, &fuel), 0);
  }
  return s;
}

static void free_spine(rf__spine *s, rf__reader *r) {
  rf__reader_free(r);
  rf__spine_free(s);
}

Test(spine, compact_leaves_one_batch_with_the_same_contents) {
  srand(29);
  for (int round = 0; round < 10; round++) {
    static dense1 model, got;
    rf__reader *r;
    rf__spine *s = filled_spine(&r, &model, (uint64_t)(1 + rand() % T));
    cr_assert_eq(rf__spine_compact(s), 0);
    cr_assert_eq(rf__spine_batches(s), 1, "round %d: %zu batches", round, rf__spine_batches(s));
    cr_assert(!rf__spine_has_work(s));
    read1(r, NULL, &got);
    cr_assert_eq(memcmp(&model, &got, sizeof model), 0, "round %d", round);
    /* Readers on other threads see the one batch too. */
    rf__batch **list;
    uint32_t n;
    cr_assert_eq(rf__spine_snapshot(s, &list, &n), 0);
    cr_assert_eq(n, rf__spine_updates(s) > 0, "round %d: %u batches published", round, n);
    for (uint32_t i = 0; i < n; i++) rf__batch_unref(list[i]);
    rf__free(list);
    /* Inserts go on after it as before. */
    int64_t more[][4] = {{1, 1, T, 5}};
    model.d[1][1][T] += 5;
    insert(s, batch_of(rf__spine_upper(s)->t[0], T + 1, more, 1));
    rf__antichain ph = f1(T + 1);
    cr_assert_eq(rf__reader_set_physical(r, &ph), 0);
    rf__antichain_free(&ph);
    exert_all(s);
    read1(r, NULL, &got);
    cr_assert_eq(memcmp(&model, &got, sizeof model), 0, "round %d, after an insert", round);
    free_spine(s, r);
  }
}

Test(spine, compact_advances_times_to_since) {
  srand(31);
  static dense1 model, got;
  rf__reader *r;
  rf__spine *s = filled_spine(&r, &model, T);
  rf__antichain lg = f1(T / 2);
  cr_assert_eq(rf__reader_set_logical(r, &lg), 0);
  rf__antichain_free(&lg);
  cr_assert_eq(rf__spine_compact(s), 0);
  cr_assert_eq(rf__spine_batches(s), 1);
  read1(r, NULL, &got);
  check_accum1(&model, &got, T / 2);
  /* Nothing before since is left: every time was advanced to it. */
  for (int k = 0; k < K; k++)
    for (int v = 0; v < V; v++)
      for (uint64_t q = 0; q < T / 2; q++) cr_assert_eq(got.d[k][v][q], 0);
  free_spine(s, r);
}

/* Holds reader r's physical frontier at 5, then inserts [0, 5) (two
 * updates, diff 1 each), [5, 10) (diff 10) and [10, 15) (diff 100). */
static void insert_three_held_at_5(rf__spine *s, rf__reader *r) {
  rf__antichain p5 = f1(5);
  cr_assert_eq(rf__reader_set_physical(r, &p5), 0);
  rf__antichain_free(&p5);
  int64_t a[][4] = {{1, 0, 1, 1}, {2, 0, 3, 1}};
  int64_t b[][4] = {{1, 0, 6, 10}}, c[][4] = {{3, 0, 12, 100}};
  insert(s, batch_of(0, 5, a, 2));
  insert(s, batch_of(5, 10, b, 1));
  insert(s, batch_of(10, 15, c, 1));
}

Test(spine, compact_keeps_batches_the_physical_frontier_holds_apart) {
  rf__spine *s = rf__spine_new(1, 1, 1);
  rf__reader *r = rf__spine_reader_new(s);
  rf__antichain p5 = f1(5), p15 = f1(15);
  insert_three_held_at_5(s, r);
  cr_assert_eq(rf__spine_compact(s), 0);
  cr_assert_eq(rf__spine_batches(s), 3); /* [5, 10) and [10, 15) still pending */
  cr_assert_eq(sum_read(r, &p5), 2);
  cr_assert_eq(rf__reader_set_physical(r, &p15), 0);
  cr_assert_eq(rf__spine_compact(s), 0);
  cr_assert_eq(rf__spine_batches(s), 1);
  cr_assert_eq(sum_read(r, NULL), 112);
  rf__reader_free(r);
  rf__spine_free(s);
  rf__antichain_free(&p5);
  rf__antichain_free(&p15);
}

Test(spine, compact_under_allocation_failures_keeps_the_contents) {
  srand(37);
  int failures = 0;
  for (int round = 0; round < 20; round++) {
    static dense1 model, got;
    rf__reader *r;
    rf__spine *s = filled_spine(&r, &model, T);
    rf__alloc_fail_after((uint64_t)(1 + rand() % 8));
    int rc = rf__spine_compact(s);
    rf__alloc_fail_after(0);
    if (rc < 0) {
      cr_assert_eq(rc, RF_ENOMEM);
      failures++;
    }
    read1(r, NULL, &got);
    cr_assert_eq(memcmp(&model, &got, sizeof model), 0, "round %d", round);
    cr_assert_eq(rf__spine_compact(s), 0); /* a retry finishes the job */
    cr_assert_eq(rf__spine_batches(s), 1);
    read1(r, NULL, &got);
    cr_assert_eq(memcmp(&model, &got, sizeof model), 0, "round %d, retried", round);
    free_spine(s, r);
  }
  cr_assert_gt(failures, 0);
}

/* ---- logical compaction --------------------------------------------------- */

Test(spine, retractions_compact_to_nothing) {
  enum { N = K * V };
  static int64_t ins[N][4], del[N][4];
  for (int i = 0; i < N; i++) { /* every (key, val) once */
    ins[i][0] = del[i][0] = i % K;
    ins[i][1] = del[i][1] = i / K;
    ins[i][2] = 1;
    del[i][2] = 2;
    ins[i][3] = 1 + i % 3;
    del[i][3] = -ins[i][3];
  }
  size_t n = N;
  rf__spine *s = rf__spine_new(1, 1, 1);
  rf__reader *r = rf__spine_reader_new(s);
  insert(s, batch_of(0, 2, ins, n));
  insert(s, batch_of(2, 3, del, n));
  rf__antichain ph = f1(3);
  cr_assert_eq(rf__reader_set_physical(r, &ph), 0);
  exert_all(s); /* merged, but nothing to cancel yet: since is {0} */
  cr_assert_eq(rf__spine_updates(s), 2 * n);
  rf__antichain lg = f1(3);
  cr_assert_eq(rf__reader_set_logical(r, &lg), 0);
  cr_assert(rf__spine_has_work(s));
  size_t fuel = 10;
  while (rf__spine_exert(s, &fuel) == 1) fuel = 10; /* small slices, as an idle worker */
  cr_assert_eq(rf__spine_updates(s), 0);
  cr_assert(!rf__spine_has_work(s));
  cr_assert_eq(rf__spine_bytes(s), 0);
  rf__reader_free(r);
  rf__spine_free(s);
  rf__antichain_free(&ph);
  rf__antichain_free(&lg);
}

Test(spine, retractions_in_many_small_batches_compact_to_nothing) {
  rf__spine *s = rf__spine_new(1, 1, 1);
  rf__reader *r = rf__spine_reader_new(s);
  uint64_t e = 0;
  for (int i = 0; i < K * V; i++, e++) {
    int64_t row[1][4] = {{i % K, i / K, (int64_t)e, 1}};
    insert(s, batch_of(e, e + 1, row, 1));
  }
  for (int i = 0; i < K * V; i++, e++) {
    int64_t row[1][4] = {{i % K, i / K, (int64_t)e, -1}};
    insert(s, batch_of(e, e + 1, row, 1));
  }
  cr_assert_gt(rf__spine_updates(s), 0);
  rf__antichain f = f1(e);
  cr_assert_eq(rf__reader_set_logical(r, &f), 0);
  cr_assert_eq(rf__reader_set_physical(r, &f), 0);
  exert_all(s);
  cr_assert_eq(rf__spine_updates(s), 0);
  cr_assert_leq(rf__spine_batches(s), 1);
  rf__reader_free(r);
  rf__spine_free(s);
  rf__antichain_free(&f);
}

Test(spine, without_readers_everything_compacts) {
  rf__spine *s = rf__spine_new(1, 1, 1);
  static int64_t rows[40][4];
  for (uint64_t e = 0; e < 10; e++) {
    for (int i = 0; i < 40; i++) {
      rows[i][0] = i % 4;
      rows[i][1] = 0;
      rows[i][2] = (int64_t)e;
      rows[i][3] = (i / 4 == (int)e) ? 1 : 0; /* zeros vanish in the batcher */
    }
    insert(s, batch_of(e, e + 1, rows, 40));
    cr_assert_eq(rf__spine_since(s)->t[0], e + 1);
  }
  exert_all(s);
  /* Four keys, each with ten +1s at distinct times, now all at time 10. */
  cr_assert_eq(rf__spine_updates(s), 4);
  rf__reader *r = rf__spine_reader_new(s);
  static dense1 got;
  read1(r, NULL, &got);
  for (int k = 0; k < 4; k++) {
    int64_t sum = 0;
    for (int t = 0; t <= 10; t++) sum += got.d[k][0][t];
    cr_assert_eq(sum, 10);
  }
  rf__reader_free(r);
  rf__spine_free(s);
}

Test(spine, since_is_the_meet_of_readers) {
  rf__spine *s = rf__spine_new(1, 1, 1);
  rf__reader *a = rf__spine_reader_new(s), *b = rf__spine_reader_new(s);
  cr_assert_eq(rf__reader_spine(a), s);
  for (uint64_t e = 0; e < 8; e++) insert(s, batch_of(e, e + 1, NULL, 0));
  rf__antichain f5 = f1(5), f3 = f1(3);
  cr_assert_eq(rf__reader_set_logical(a, &f5), 0);
  cr_assert_eq(rf__spine_since(s)->t[0], 0);
  cr_assert_eq(rf__reader_set_logical(b, &f3), 0);
  cr_assert_eq(rf__spine_since(s)->t[0], 3);
  rf__reader_free(b);
  cr_assert_eq(rf__spine_since(s)->t[0], 5);
  rf__reader *c = rf__spine_reader_new(s); /* starts at since */
  cr_assert_eq(rf__spine_since(s)->t[0], 5);
  rf__reader_free(a);
  rf__reader_free(c);
  cr_assert_eq(rf__spine_since(s)->t[0], 8); /* no readers: upper */
  rf__spine_free(s);
  rf__antichain_free(&f5);
  rf__antichain_free(&f3);
}

/* ---- physical compaction and cursors ------------------------------------ */

static int64_t sum_read(rf__reader *r, const rf__antichain *through) {
  static dense1 got;
  read1(r, through, &got);
  int64_t n = 0;
  for (int k = 0; k < K; k++)
    for (int v = 0; v < V; v++)
      for (int t = 0; t <= T; t++) n += got.d[k][v][t];
  return n;
}

Test(spine, physical_frontier_keeps_batches_apart) {
  rf__spine *s = rf__spine_new(1, 1, 1);
  rf__reader *r = rf__spine_reader_new(s);
  rf__antichain p5 = f1(5), p7 = f1(7), p10 = f1(10), p15 = f1(15);
  insert_three_held_at_5(s, r);
  for (int i = 0; i < 5; i++) insert(s, batch_of(15 + (uint64_t)i, 16 + (uint64_t)i, NULL, 0));
  exert_all(s);
  cr_assert_geq(rf__spine_batches(s), 3);
  cr_assert_eq(sum_read(r, &p5), 2);
  cr_assert_eq(sum_read(r, &p10), 12);
  cr_assert_eq(sum_read(r, &p15), 112);
  cr_assert_eq(sum_read(r, NULL), 112);
  rf__cursor cur;
  cr_assert_eq(rf__reader_cursor(r, &p7, &cur), RF_ESTATE); /* inside [5, 10) */
  /* Once the physical frontier passes, the batches merge... */
  cr_assert_eq(rf__reader_set_physical(r, &p15), 0);
  exert_all(s);
  cr_assert_eq(sum_read(r, &p15), 112);
  /* ...and the old cut points are gone. */
  cr_assert_eq(rf__reader_cursor(r, &p10, &cur), RF_ESTATE);
  rf__reader_free(r);
  rf__spine_free(s);
  rf__antichain_free(&p5);
  rf__antichain_free(&p7);
  rf__antichain_free(&p10);
  rf__antichain_free(&p15);
}

Test(spine, cursor_through_the_start_is_empty) {
  rf__spine *s = rf__spine_new(1, 1, 1);
  int64_t a[][4] = {{1, 0, 1, 1}};
  insert(s, batch_of(0, 5, a, 1));
  rf__reader *r = rf__spine_reader_new(s); /* since = upper = {5} */
  rf__antichain p0 = f1(0), p5 = f1(5);
  cr_assert_eq(sum_read(r, &p0), 0);
  cr_assert_eq(sum_read(r, &p5), 1);
  rf__reader_free(r);
  rf__spine_free(s);
  rf__antichain_free(&p0);
  rf__antichain_free(&p5);
}

Test(spine, frontiers_only_move_forward) {
  rf__spine *s = rf__spine_new(1, 1, 1);
  rf__reader *r = rf__spine_reader_new(s);
  rf__antichain f2_ = f1(2), f3 = f1(3);
  cr_assert_eq(rf__reader_set_logical(r, &f3), 0);
  cr_assert_eq(rf__reader_set_logical(r, &f2_), RF_EINVAL);
  cr_assert_neq(strstr(rf_last_error(), "logical"), NULL);
  cr_assert_eq(rf__reader_set_physical(r, &f3), 0);
  cr_assert_eq(rf__reader_set_physical(r, &f2_), RF_EINVAL);
  cr_assert_eq(rf__reader_set_physical(r, &f3), 0); /* equal is fine */
  rf__reader_free(r);
  rf__reader_free(NULL);
  rf__spine_free(s);
  rf__antichain_free(&f2_);
  rf__antichain_free(&f3);
}

Test(spine, insert_checks_lower_and_shape) {
  rf__spine *s = rf__spine_new(1, 1, 1);
  cr_assert_eq(rf__spine_insert(s, batch_of(1, 2, NULL, 0)), RF_EINVAL);
  rf__antichain lo = f1(0), hi = f1(1);
  cr_assert_eq(rf__spine_insert(s, rf__batch_empty(2, 1, 1, &lo, &hi)), RF_EINVAL);
  insert(s, batch_of(0, 1, NULL, 0));
  cr_assert_eq(rf__spine_upper(s)->t[0], 1);
  rf__spine_free(s);
  rf__antichain_free(&lo);
  rf__antichain_free(&hi);
}

Test(spine, empty_batches_merge_away) {
  rf__spine *s = rf__spine_new(1, 1, 1);
  rf__reader *r = rf__spine_reader_new(s);
  int64_t row[1][4] = {{1, 1, 0, 1}};
  insert(s, batch_of(0, 1, row, 1));
  rf__antichain lo, hi;
  rf__antichain_init(&lo, 1);
  rf__antichain_init(&hi, 1);
  for (uint64_t e = 1; e < 20000; e++) {
    uint64_t t0 = e, t1 = e + 1;
    cr_assert_eq(rf__antichain_set1(&lo, &t0), 0);
    cr_assert_eq(rf__antichain_set1(&hi, &t1), 0);
    insert(s, rf__batch_empty(1, 1, 1, &lo, &hi));
    cr_assert_eq(rf__reader_set_physical(r, &hi), 0);
    cr_assert_leq(rf__spine_batches(s), 4);
  }
  exert_all(s);
  cr_assert_eq(rf__spine_batches(s), 1);
  cr_assert_eq(rf__spine_updates(s), 1);
  rf__reader_free(r);
  rf__spine_free(s);
  rf__antichain_free(&lo);
  rf__antichain_free(&hi);
}

Test(spine, exert_spends_bounded_fuel) {
  rf__spine *s = rf__spine_new(1, 1, 1);
  rf__reader *r = rf__spine_reader_new(s);
  static int64_t rows[2000][4];
  for (int i = 0; i < 2000; i++) {
    rows[i][0] = i % K;
    rows[i][1] = i % V;
    rows[i][2] = i / (K * V);
    rows[i][3] = 1;
  }
  insert(s, batch_of(0, 100, rows, 2000));
  insert(s, batch_of(100, 200, rows, 0));
  for (int i = 0; i < 2000; i++) rows[i][2] += 200;
  insert(s, batch_of(200, 300, rows, 2000));
  rf__antichain p = f1(300);
  cr_assert_eq(rf__reader_set_physical(r, &p), 0);
  size_t fuel = 100;
  int rc = rf__spine_exert(s, &fuel);
  cr_assert_eq(rc, 1); /* 100 units cannot merge 2 x 1000 updates */
  cr_assert_eq(fuel, 0);
  cr_assert(rf__spine_has_work(s));
  cr_assert_gt(rf__spine_bytes(s), 0);
  exert_all(s);
  cr_assert_eq(rf__spine_batches(s), 1);
  rf__reader_free(r);
  rf__spine_free(s);
  rf__antichain_free(&p);
}

enum { BIG = 10000 };

/* A batch [e, e + 1) of n updates at time e, keys from `key` up. */
static rf__batch *batch_at(uint64_t e, int64_t key, size_t n) {
  static int64_t rows[BIG][4];
  cr_assert_leq(n, BIG);
  for (size_t i = 0; i < n; i++) {
    rows[i][0] = key + (int64_t)i;
    rows[i][1] = 0;
    rows[i][2] = (int64_t)e;
    rows[i][3] = 1;
  }
  return batch_of(e, e + 1, rows, n);
}

/* A batch at time 0 of BIG updates, one per key. */
static rf__batch *big_batch(void) { return batch_at(0, 0, BIG); }

Test(spine, idle_merging_is_paid_for_by_input) {
  rf__spine *s = rf__spine_new(1, 1, 1);
  insert(s, big_batch());
  exert_all(s);
  /* A trickle of one-update batches, exerting to the end after each: the
   * small ones merge among themselves, never into the big batch (credit
   * pays only for pairs of comparable size). */
  for (uint64_t e = 1; e <= 100; e++) {
    int64_t row[1][4] = {{BIG + (int64_t)e, 0, (int64_t)e, 1}};
    insert(s, batch_of(e, e + 1, row, 1));
    exert_all(s);
  }
  cr_assert_geq(rf__spine_batches(s), 2);
  cr_assert_leq(rf__spine_batches(s), 8);
  cr_assert_eq(rf__spine_updates(s), BIG + 100);
  rf__spine_free(s);
}

Test(spine, idle_credit_never_rewrites_a_large_batch_for_a_small_one) {
  rf__spine *s = rf__spine_new(1, 1, 1);
  cr_assert_eq(rf__spine_publish_enable(s), 0);
  rf__batch *big = big_batch();
  rf__batch_ref(big);
  insert(s, big); /* earns credit for 2 * BIG units of idle work */
  /* Batches of 1 to 32 updates (528 in all, far from BIG), each one's
   * credit spent on exerting. */
  for (uint64_t e = 1; e <= 32; e++) {
    static int64_t small[32][4];
    for (uint64_t i = 0; i < e; i++) {
      small[i][0] = BIG + (int64_t)i;
      small[i][1] = (int64_t)e;
      small[i][2] = (int64_t)e;
      small[i][3] = 1;
    }
    insert(s, batch_of(e, e + 1, small, e));
    exert_all(s);
  }
  rf__batch **list;
  uint32_t n;
  cr_assert_eq(rf__spine_snapshot(s, &list, &n), 0);
  cr_assert_geq(n, 2);
  cr_assert_eq(list[0], big, "the large batch was rewritten to absorb small ones");
  size_t small_upds = 0;
  for (uint32_t i = 1; i < n; i++) small_upds += list[i]->n_upds;
  cr_assert_eq(small_upds, 32 * 33 / 2);
  /* ... and the small ones were merged among themselves, geometrically. */
  cr_assert_leq(n, 1 + 8);
  for (uint32_t i = 0; i < n; i++) rf__batch_unref(list[i]);
  rf__free(list);
  rf__batch_unref(big);
  rf__spine_free(s);
}

/* Whether b is still one of the spine's batches (a merge input counts). */
static bool holds(rf__spine *s, const rf__batch *b) {
  rf__batch **list;
  uint32_t n;
  cr_assert_eq(rf__spine_snapshot(s, &list, &n), 0);
  bool found = false;
  for (uint32_t i = 0; i < n; i++) {
    found |= list[i] == b;
    rf__batch_unref(list[i]);
  }
  rf__free(list);
  return found;
}


Test(spine, inserts_leave_an_idle_merge_to_idle_time_until_its_level_nears) {
  rf__spine *s = rf__spine_new(1, 1, 1);
  cr_assert_eq(rf__spine_publish_enable(s), 0);
  rf__batch *a = big_batch(), *b = batch_at(1, BIG, BIG / 2);
  rf__batch_ref(a);
  rf__batch_ref(b);
  insert(s, a); /* 10,000 updates: level 14 */
  insert(s, b); /* 5,000: level 13 */
  size_t fuel = 1;
  cr_assert_eq(rf__spine_exert(s, &fuel), 1); /* starts merging a and b, barely */
  /* Inserts of 10 updates (fuel 128 a merge each): 150 of them would
   * have paid for the whole merge (15,000 units), but the 1,500 updates
   * below level 14 are not a quarter of it (4,096). */
  uint64_t e = 2;
  for (; e < 2 + 150; e++) insert(s, batch_at(e, 2 * BIG + 10 * (int64_t)e, 10));
  cr_assert(holds(s, a) && holds(s, b), "inserts paid for an idle merge not yet due");
  /* From a quarter on they pay, and the merge is done before the levels
   * below fill (8,192 updates) and an insert needs level 14. */
  for (; e < 2 + 700; e++) insert(s, batch_at(e, 2 * BIG + 10 * (int64_t)e, 10));
  cr_assert(!holds(s, a) && !holds(s, b), "the idle merge was not done in time");
  cr_assert_eq(rf__spine_updates(s), BIG + BIG / 2 + 7000);
  rf__batch_unref(a);
  rf__batch_unref(b);
  rf__spine_free(s);
}

/* ---- product times ---------------------------------------------------------- */

enum { TE = 10 };

typedef struct dense2 {
  int64_t d[K][V][TE + 1][TI + 1];
} dense2;

static void add2(void *ctx, const uint64_t *time, int64_t diff) {
  int64_t (*slot)[TI + 1] = ctx;
  cr_assert(time[0] <= TE && time[1] <= TI);
  slot[time[0]][time[1]] += diff;
}

static void read2(rf__reader *r, dense2 *got) {
  memset(got, 0, sizeof *got);
  rf__cursor c;
  cr_assert_eq(rf__reader_cursor(r, NULL, &c), 0);
  for (; rf__cursor_key_valid(&c); rf__cursor_step_key(&c))
    for (; rf__cursor_val_valid(&c); rf__cursor_step_val(&c))
      rf__cursor_map_times(&c, add2, got->d[*rf__cursor_key(&c)][*rf__cursor_val(&c)]);
  rf__cursor_free(&c);
}

/* For every q in the grid in advance of since: sums over t <= q agree. */
static void check_accum2(const dense2 *want, const dense2 *got, const rf__antichain *since) {
  for (uint64_t qe = 0; qe <= TE; qe++)
    for (uint64_t qi = 0; qi <= TI; qi++) {
      uint64_t q[2] = {qe, qi};
      if (!rf__antichain_le(since, q)) continue;
      for (int k = 0; k < K; k++)
        for (int v = 0; v < V; v++) {
          int64_t a = 0, b = 0;
          for (uint64_t e = 0; e <= qe; e++)
            for (uint64_t i = 0; i <= qi; i++) {
              a += want->d[k][v][e][i];
              b += got->d[k][v][e][i];
            }
          cr_assert_eq(a, b, "(%d,%d) through (%lu,%lu)", k, v, (unsigned long)qe,
                       (unsigned long)qi);
        }
    }
}

/* Moves f to a random frontier in advance of it (one or two elements,
 * epochs up to max_e), or leaves it. */
static void advance_frontier2(rf__antichain *f, uint64_t max_e) {
  rf__antichain next;
  rf__antichain_init(&next, 2);
  uint64_t a[2] = {(uint64_t)rand() % (max_e + 1), (uint64_t)(rand() % TI)};
  cr_assert_geq(rf__antichain_insert(&next, a), 0);
  if (rand() % 2) {
    uint64_t b[2] = {(uint64_t)rand() % (max_e + 1), (uint64_t)(rand() % TI)};
    cr_assert_geq(rf__antichain_insert(&next, b), 0);
  }
  if (rf__antichain_dominates(f, &next)) cr_assert_eq(rf__antichain_copy(f, &next), 0);
  rf__antichain_free(&next);
}

Test(spine, product_times_compact_correctly) {
  srand(31);
  for (int round = 0; round < 8; round++) {
    static dense2 model, got;
    memset(&model, 0, sizeof model);
    rf__spine *s = rf__spine_new(1, 1, 2);
    rf__reader *r = rf__spine_reader_new(s);
    rf__antichain logical = f2(0, 0);
    for (uint64_t e = 0; e < TE; e++) {
      rf__batcher b;
      cr_assert_eq(rf__batcher_init(&b, 1, 1, 2), 0);
      rf__antichain lo = f2(e, 0), hi = f2(e + 1, 0);
      rf__batch *x = NULL;
      if (e > 0) {
        cr_assert_eq(rf__batcher_seal(&b, &lo, &x), 0);
        rf__batch_unref(x);
      }
      rf__upbuf *u = rf__upbuf_new(2, 2, 0);
      int n = rand() % 60;
      for (int j = 0; j < n; j++) {
        uint64_t rec[2] = {(uint64_t)(rand() % K), (uint64_t)(rand() % V)};
        uint64_t t[2] = {e, (uint64_t)(rand() % TI)};
        int64_t d = rand() % 5 - 2;
        cr_assert_eq(rf__upbuf_push(u, rec, t, d), 0);
        model.d[rec[0]][rec[1]][t[0]][t[1]] += d;
      }
      cr_assert_eq(rf__batcher_push(&b, u), 0);
      rf__upbuf_unref(u);
      cr_assert_eq(rf__batcher_seal(&b, &hi, &x), 0);
      insert(s, x);
      cr_assert_eq(rf__reader_set_physical(r, &hi), 0);
      advance_frontier2(&logical, e + 1);
      cr_assert_eq(rf__reader_set_logical(r, &logical), 0);
      size_t fuel = (size_t)(rand() % 400);
      cr_assert_geq(rf__spine_exert(s, &fuel), 0);
      read2(r, &got);
      check_accum2(&model, &got, rf__spine_since(s));
      rf__batcher_free(&b);
      rf__antichain_free(&lo);
      rf__antichain_free(&hi);
    }
    exert_all(s);
    read2(r, &got);
    check_accum2(&model, &got, rf__spine_since(s));
    rf__antichain_free(&logical);
    rf__reader_free(r);
    rf__spine_free(s);
  }
}

/* ---- allocation failures ---------------------------------------------------- */

Test(spine, allocation_failures_keep_the_contents) {
  srand(41);
  static dense1 model, got;
  memset(&model, 0, sizeof model);
  rf__spine *s = rf__spine_new(1, 1, 1);
  rf__reader *r = rf__spine_reader_new(s);
  int failures = 0;
  for (uint64_t e = 0; e < T; e++) {
    int64_t rows[64][4];
    size_t n = random_rows(rows, 64, e, &model);
    rf__batch *x = batch_of(e, e + 1, rows, n);
    rf__alloc_fail_after((uint64_t)(1 + rand() % 12));
    int rc = rf__spine_insert(s, x);
    rf__alloc_fail_after(0);
    failures += rc < 0;
    if (rf__spine_upper(s)->t[0] != e + 1) { /* refused (and released): again */
      cr_assert_eq(rc, RF_ENOMEM);
      insert(s, batch_of(e, e + 1, rows, n));
    }
    rf__antichain ph = f1(e + 1);
    rf__alloc_fail_after((uint64_t)(1 + rand() % 12));
    rc = rf__reader_set_physical(r, &ph);
    rf__alloc_fail_after(0);
    failures += rc < 0;
    size_t fuel = (size_t)(rand() % 300);
    rf__alloc_fail_after((uint64_t)(1 + rand() % 12));
    rc = rf__spine_exert(s, &fuel);
    rf__alloc_fail_after(0);
    failures += rc < 0;
    cr_assert_eq(rf__reader_set_physical(r, &ph), 0); /* retries what failed */
    rf__antichain_free(&ph);
    read1(r, NULL, &got);
    cr_assert_eq(memcmp(&model, &got, sizeof model), 0, "epoch %lu", (unsigned long)e);
  }
  cr_assert_gt(failures, 0);
  exert_all(s);
  read1(r, NULL, &got);
  cr_assert_eq(memcmp(&model, &got, sizeof model), 0);
  rf__reader_free(r);
  rf__spine_free(s);
}

/* ---- merges shared through a board ---------------------------------------- */

/* Helps with every merge on the board until none is left. */
static void help_all(rf__merge_board *board) {
  rf__merge *held = NULL;
  while (rf__merge_board_help(board, &held, 1000)) {
  }
  cr_assert_null(held);
}

Test(spine, merges_offered_to_a_board_are_done_by_helpers_and_keep_the_contents) {
  srand(43);
  static dense1 model, got;
  memset(&model, 0, sizeof model);
  rf__merge_board *board = rf__merge_board_new(16);
  /* The same batches into a spine that shares its merges and one that
   * does not; neither is ever exerted (a busy worker). */
  rf__spine *plain = rf__spine_new(1, 1, 1), *shared = rf__spine_new(1, 1, 1);
  rf__spine_share_merges(shared, board);
  rf__reader *rp = rf__spine_reader_new(plain), *rs = rf__spine_reader_new(shared);
  rf__antichain since = f1(0);
  size_t fewer = 0;
  for (uint64_t e = 0; e < T; e++) {
    int64_t rows[64][4];
    size_t n = random_rows(rows, 64, e, &model);
    rf__batch *x = batch_of(e, e + 1, rows, n);
    insert(plain, rf__batch_ref(x));
    insert(shared, x);
    rf__antichain ph = f1(e + 1);
    cr_assert_eq(rf__reader_set_physical(rp, &ph), 0);
    cr_assert_eq(rf__reader_set_physical(rs, &ph), 0);
    /* Logical frontiers trail by 4: merges compact. */
    if (e >= 4) {
      rf__antichain lf = f1(e - 4);
      cr_assert_eq(rf__reader_set_logical(rp, &lf), 0);
      cr_assert_eq(rf__reader_set_logical(rs, &lf), 0);
      rf__antichain_free(&lf);
    }
    rf__antichain_free(&ph);
    help_all(board); /* another worker's idle time */
    read1(rs, NULL, &got);
    check_accum1(&model, &got, e >= 4 ? e - 4 : 0);
    fewer += rf__spine_batches(shared) < rf__spine_batches(plain);
    cr_assert_leq(rf__spine_batches(shared), rf__spine_batches(plain) + 1,
                  "epoch %lu: sharing left more batches", (unsigned long)e);
  }
  cr_assert_gt(fewer, T / 4, "helpers merged no more than inserts did (%zu epochs)", fewer);
  /* Without the board (the graph stopped), the spine goes on alone. */
  rf__spine_share_merges(shared, NULL);
  rf__merge_board_free(board);
  exert_all(shared);
  read1(rs, NULL, &got);
  check_accum1(&model, &got, T - 4);
  rf__antichain_free(&since);
  rf__reader_free(rp);
  rf__reader_free(rs);
  rf__spine_free(plain);
  rf__spine_free(shared);
}

Test(spine, a_helper_thread_merging_while_inserts_and_reads_go_on_loses_nothing) {
  srand(47);
  static dense1 model, got;
  rf__merge_board *board = rf__merge_board_new(8);
  board_helpers h;
  board_helpers_start(&h, board, 1);
  for (int round = 0; round < 4; round++) {
    memset(&model, 0, sizeof model);
    rf__spine *s = rf__spine_new(1, 1, 1);
    rf__spine_share_merges(s, board);
    rf__reader *r = rf__spine_reader_new(s); /* no compaction: exact sums */
    for (uint64_t e = 0; e < T; e++) {
      insert_random_epoch(s, r, e, &model);
      read1(r, NULL, &got);
      cr_assert_eq(memcmp(&model, &got, sizeof model), 0, "round %d epoch %lu", round,
                   (unsigned long)e);
    }
    /* Finishing while the helper may be in a slice waits it out. */
    cr_assert_eq(rf__spine_compact(s), 0);
    cr_assert_leq(rf__spine_batches(s), 1);
    read1(r, NULL, &got);
    cr_assert_eq(memcmp(&model, &got, sizeof model), 0);
    rf__reader_free(r);
    rf__spine_free(s); /* merges still on the board outlive it */
  }
  board_helpers_stop(&h);
  rf__merge_board_free(board);
}

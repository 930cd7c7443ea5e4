/*
 * test_cursor.c: the k-way cursor (arrangements/cursor.h) over several
 * batches: keys and vals merged across batches in order, (time, diff)
 * lists gathered from every batch holding the (key, val), seek_key and
 * seek_val (forward only), rewind_vals, val_arity 0, 2-word keys, empty
 * batches, the references it holds, and a randomized walk and seek against
 * a naive sorted model.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "arrangements/cursor.h"
#include "common/alloc.h"
#include "common/sort.h"
#include "rhizoflow.h"

/* A batch of 1-dim updates from rows {key, val, time, diff} (any order;
 * equal (key, val, time) must not repeat). key_arity 1, val_arity va. */
static rf__batch *make_batch(uint32_t va, uint64_t (*rows)[4], size_t n) {
  if (n > 0) cr_assert_eq(rf__sort_rows(&rows[0][0], n, 4, 3), 0);
  rf__builder b;
  rf__builder_init(&b, 1, va, 1);
  for (size_t i = 0; i < n; i++)
    cr_assert_eq(rf__builder_push(&b, &rows[i][0], &rows[i][1], &rows[i][2], (int64_t)rows[i][3]),
                 0);
  rf__antichain lo, hi;
  rf__antichain_init(&lo, 1);
  rf__antichain_init(&hi, 1);
  uint64_t z = 0;
  cr_assert_eq(rf__antichain_set1(&lo, &z), 0);
  rf__batch *x = rf__builder_done(&b, &lo, &hi, &lo);
  cr_assert_not_null(x);
  rf__builder_free(&b);
  rf__antichain_free(&lo);
  rf__antichain_free(&hi);
  return x;
}

typedef struct acc {
  int64_t sum;
  uint64_t n;
  uint64_t time_sum;
} acc;

static void add_time(void *ctx, const uint64_t *time, int64_t diff) {
  acc *a = ctx;
  a->sum += diff;
  a->n++;
  a->time_sum += *time;
}

static acc times_of(const rf__cursor *c) {
  acc a = {0, 0, 0};
  rf__cursor_map_times(c, add_time, &a);
  return a;
}

/* Three batches sharing keys and vals. */
static void three_batches(rf__batch *out[3]) {
  uint64_t b0[][4] = {{1, 10, 0, 1}, {1, 20, 0, 1}, {5, 10, 1, 2}, {9, 1, 0, 1}};
  uint64_t b1[][4] = {{1, 10, 3, 1}, {1, 15, 3, 1}, {6, 1, 3, 1}, {9, 1, 4, (uint64_t)-1}};
  uint64_t b2[][4] = {{0, 7, 5, 1}, {1, 20, 6, 4}, {9, 0, 5, 1}, {9, 1, 5, 1}};
  out[0] = make_batch(1, b0, 4);
  out[1] = make_batch(1, b1, 4);
  out[2] = make_batch(1, b2, 4);
}

Test(cursor, merges_keys_and_vals_across_batches) {
  rf__batch *bs[3];
  three_batches(bs);
  rf__cursor c;
  cr_assert_eq(rf__cursor_init(&c, bs, 3), 0);
  for (int i = 0; i < 3; i++) rf__batch_unref(bs[i]); /* the cursor keeps them */
  uint64_t want_keys[] = {0, 1, 5, 6, 9}, seen = 0;
  for (; rf__cursor_key_valid(&c); rf__cursor_step_key(&c)) {
    cr_assert_eq(*rf__cursor_key(&c), want_keys[seen++]);
  }
  cr_assert_eq(seen, 5);
  rf__cursor_free(&c);
}

Test(cursor, vals_and_times_of_one_key) {
  rf__batch *bs[3];
  three_batches(bs);
  rf__cursor c;
  cr_assert_eq(rf__cursor_init(&c, bs, 3), 0);
  rf__cursor_step_key(&c); /* key 1 */
  cr_assert_eq(*rf__cursor_key(&c), 1);
  uint64_t vals[] = {10, 15, 20};
  int64_t sums[] = {2, 1, 5};
  uint64_t counts[] = {2, 1, 2};
  int i = 0;
  for (; rf__cursor_val_valid(&c); rf__cursor_step_val(&c), i++) {
    cr_assert_eq(*rf__cursor_val(&c), vals[i]);
    acc a = times_of(&c);
    cr_assert(a.sum == sums[i] && a.n == counts[i]);
  }
  cr_assert_eq(i, 3);
  rf__cursor_rewind_vals(&c);
  cr_assert_eq(*rf__cursor_val(&c), 10);
  cr_assert_eq(times_of(&c).time_sum, 3); /* times 0 and 3 */
  rf__cursor_free(&c);
  for (int j = 0; j < 3; j++) rf__batch_unref(bs[j]);
}

Test(cursor, seek_key_and_val) {
  rf__batch *bs[3];
  three_batches(bs);
  rf__cursor c;
  cr_assert_eq(rf__cursor_init(&c, bs, 3), 0);
  uint64_t k = 5;
  rf__cursor_seek_key(&c, &k);
  cr_assert_eq(*rf__cursor_key(&c), 5);
  k = 2;
  rf__cursor_seek_key(&c, &k); /* never backwards */
  cr_assert_eq(*rf__cursor_key(&c), 5);
  k = 7;
  rf__cursor_seek_key(&c, &k); /* absent: the next key */
  cr_assert_eq(*rf__cursor_key(&c), 9);
  uint64_t v = 1;
  rf__cursor_seek_val(&c, &v);
  cr_assert_eq(*rf__cursor_val(&c), 1);
  cr_assert_eq(times_of(&c).sum, 1); /* +1 at 0, -1 at 4, +1 at 5 */
  cr_assert_eq(times_of(&c).n, 3);
  v = 0;
  rf__cursor_seek_val(&c, &v); /* never backwards */
  cr_assert_eq(*rf__cursor_val(&c), 1);
  v = 2;
  rf__cursor_seek_val(&c, &v);
  cr_assert(!rf__cursor_val_valid(&c));
  rf__cursor_rewind_vals(&c);
  cr_assert_eq(*rf__cursor_val(&c), 0);
  k = 100;
  rf__cursor_seek_key(&c, &k);
  cr_assert(!rf__cursor_key_valid(&c) && !rf__cursor_val_valid(&c));
  rf__cursor_step_key(&c); /* harmless when done */
  rf__cursor_free(&c);
  for (int j = 0; j < 3; j++) rf__batch_unref(bs[j]);
}

Test(cursor, val_arity_zero) {
  uint64_t b0[][4] = {{2, 0, 0, 1}, {4, 0, 0, 1}, {4, 0, 1, 1}};
  uint64_t b1[][4] = {{3, 0, 2, 1}, {4, 0, 2, (uint64_t)-2}};
  rf__batch *bs[2] = {make_batch(0, b0, 3), make_batch(0, b1, 2)};
  rf__cursor c;
  cr_assert_eq(rf__cursor_init(&c, bs, 2), 0);
  uint64_t keys[] = {2, 3, 4};
  int64_t sums[] = {1, 1, 0};
  int i = 0;
  for (; rf__cursor_key_valid(&c); rf__cursor_step_key(&c), i++) {
    cr_assert_eq(*rf__cursor_key(&c), keys[i]);
    cr_assert(rf__cursor_val_valid(&c)); /* exactly one (empty) val */
    cr_assert_eq(times_of(&c).sum, sums[i]);
    rf__cursor_step_val(&c);
    cr_assert(!rf__cursor_val_valid(&c));
    rf__cursor_rewind_vals(&c);
    cr_assert(rf__cursor_val_valid(&c));
    rf__cursor_seek_val(&c, NULL); /* a no-op: nothing to compare */
    cr_assert(rf__cursor_val_valid(&c));
  }
  cr_assert_eq(i, 3);
  rf__cursor_free(&c);
  rf__batch_unref(bs[0]);
  rf__batch_unref(bs[1]);
}

Test(cursor, empty_inputs) {
  rf__cursor c;
  cr_assert_eq(rf__cursor_init(&c, NULL, 0), 0);
  cr_assert(!rf__cursor_key_valid(&c));
  rf__cursor_free(&c);
  rf__batch *e = make_batch(1, NULL, 0);
  uint64_t b0[][4] = {{3, 1, 0, 1}};
  rf__batch *bs[3] = {e, make_batch(1, b0, 1), e};
  cr_assert_eq(rf__cursor_init(&c, bs, 3), 0);
  cr_assert_eq(*rf__cursor_key(&c), 3);
  rf__cursor_step_key(&c);
  cr_assert(!rf__cursor_key_valid(&c));
  rf__cursor_free(&c);
  rf__batch_unref(e);
  rf__batch_unref(bs[1]);
}

Test(cursor, two_word_keys) {
  rf__builder b;
  rf__builder_init(&b, 2, 1, 1);
  uint64_t keys[][2] = {{0, 9}, {1, 0}, {1, 5}}, v = 1, t = 0;
  for (int i = 0; i < 3; i++) cr_assert_eq(rf__builder_push(&b, keys[i], &v, &t, 1), 0);
  rf__antichain lo, hi;
  rf__antichain_init(&lo, 1);
  rf__antichain_init(&hi, 1);
  cr_assert_eq(rf__antichain_set1(&lo, &t), 0);
  rf__batch *x = rf__builder_done(&b, &lo, &hi, &lo);
  rf__cursor c;
  cr_assert_eq(rf__cursor_init(&c, &x, 1), 0);
  uint64_t target[2] = {1, 1};
  rf__cursor_seek_key(&c, target);
  cr_assert(rf__cursor_key(&c)[0] == 1 && rf__cursor_key(&c)[1] == 5);
  rf__cursor_free(&c);
  rf__batch_unref(x);
  rf__builder_free(&b);
  rf__antichain_free(&lo);
  rf__antichain_free(&hi);
}

/* Naive model: a diff per (key, val) summed over all batches. */
enum { RK = 60, RV = 6, NB = 7 };

static void check_walk(rf__cursor *c, int64_t (*model)[RV], bool (*present)[RV]) {
  uint64_t k = 0;
  for (; rf__cursor_key_valid(c); rf__cursor_step_key(c)) {
    uint64_t key = *rf__cursor_key(c);
    for (; k < key; k++)
      for (int v = 0; v < RV; v++) cr_assert(!present[k][v], "key %lu missed", (unsigned long)k);
    uint64_t v = 0;
    for (; rf__cursor_val_valid(c); rf__cursor_step_val(c)) {
      uint64_t val = *rf__cursor_val(c);
      for (; v < val; v++) cr_assert(!present[key][v]);
      cr_assert(present[key][val]);
      cr_assert_eq(times_of(c).sum, model[key][val]);
      v = val + 1;
    }
    for (; v < RV; v++) cr_assert(!present[key][v]);
    k = key + 1;
  }
  for (; k < RK; k++)
    for (int v = 0; v < RV; v++) cr_assert(!present[k][v]);
}

Test(cursor, random_walks_and_seeks) {
  srand(3);
  for (int round = 0; round < 30; round++) {
    static int64_t model[RK][RV];
    static bool present[RK][RV];
    memset(model, 0, sizeof model);
    memset(present, 0, sizeof present);
    rf__batch *bs[NB];
    uint32_t nb = 1 + (uint32_t)(rand() % NB);
    for (uint32_t i = 0; i < nb; i++) {
      uint64_t rows[40][4];
      size_t n = (size_t)(rand() % 40);
      for (size_t j = 0; j < n; j++) {
        /* Distinct times per row keep (key, val, time) unique. */
        rows[j][0] = (uint64_t)(rand() % RK);
        rows[j][1] = (uint64_t)(rand() % RV);
        rows[j][2] = i * 100 + j;
        rows[j][3] = (uint64_t)(int64_t)(1 + rand() % 3);
        model[rows[j][0]][rows[j][1]] += (int64_t)rows[j][3];
        present[rows[j][0]][rows[j][1]] = true;
      }
      bs[i] = make_batch(1, rows, n);
    }
    rf__cursor c;
    cr_assert_eq(rf__cursor_init(&c, bs, nb), 0);
    check_walk(&c, model, present);
    rf__cursor_free(&c);
    /* Random forward seeks land on the least present key >= the target. */
    cr_assert_eq(rf__cursor_init(&c, bs, nb), 0);
    uint64_t target = 0;
    while (rf__cursor_key_valid(&c)) {
      target += (uint64_t)(rand() % 9);
      rf__cursor_seek_key(&c, &target);
      uint64_t want = target;
      while (want < RK && !present[want][0] && !present[want][1] && !present[want][2] &&
             !present[want][3] && !present[want][4] && !present[want][5])
        want++;
      if (want >= RK) {
        cr_assert(!rf__cursor_key_valid(&c));
        break;
      }
      cr_assert_eq(*rf__cursor_key(&c), want);
      uint64_t vt = (uint64_t)(rand() % RV);
      rf__cursor_seek_val(&c, &vt);
      uint64_t wv = vt;
      while (wv < RV && !present[want][wv]) wv++;
      if (wv == RV)
        cr_assert(!rf__cursor_val_valid(&c));
      else
        cr_assert_eq(*rf__cursor_val(&c), wv);
      target = want + 1;
    }
    rf__cursor_free(&c);
    for (uint32_t i = 0; i < nb; i++) rf__batch_unref(bs[i]);
  }
}

/* Seekers: every update of each key asked, against a naive list of the
 * rows, over random batches (some keys in one batch, some in several, some
 * in none); with by_val the updates come grouped by value in order. */
Test(seeker, gathers_every_update_of_a_key) {
  srand(8);
  enum { K = 40, V = 5, T = 4, NBATCH = 5, ROWS = 60 };
  for (int trial = 0; trial < 20; trial++) {
    static uint64_t rows[NBATCH][ROWS][4];
    rf__batch *bs[NBATCH];
    size_t nrows[NBATCH];
    for (int bi = 0; bi < NBATCH; bi++) {
      /* Distinct (key, val, time) within a batch: a random subset. */
      size_t n = 0;
      for (uint64_t k = 0; k < K; k++)
        for (uint64_t v = 0; v < V; v++)
          for (uint64_t t = 0; t < T; t++)
            if (rand() % 40 == 0 && n < ROWS) {
              rows[bi][n][0] = k, rows[bi][n][1] = v, rows[bi][n][2] = t;
              rows[bi][n++][3] = (uint64_t)(int64_t)(rand() % 3 + 1);
            }
      nrows[bi] = n;
      uint64_t copy[ROWS][4];
      memcpy(copy, rows[bi], sizeof copy);
      bs[bi] = make_batch(1, copy, n);
    }
    rf__seeker s;
    cr_assert_eq(rf__seeker_init(&s, bs, NBATCH), 0);
    for (int bi = 0; bi < NBATCH; bi++) rf__batch_unref(bs[bi]); /* the seeker keeps them */
    bool by_val = trial % 2;
    for (uint64_t key = (uint64_t)(rand() % 3); key < K + 2; key += 1 + (uint64_t)(rand() % 3)) {
      cr_assert_eq(rf__seeker_seek(&s, &key, by_val), 0);
      /* Each naive row of the key must be found exactly once. */
      size_t want = 0;
      for (int bi = 0; bi < NBATCH; bi++)
        for (size_t i = 0; i < nrows[bi]; i++) {
          if (rows[bi][i][0] != key) continue;
          want++;
          size_t hits = 0;
          for (size_t u = 0; u < s.n_upds; u++)
            hits += *s.upds[u].val == rows[bi][i][1] && *s.upds[u].time == rows[bi][i][2] &&
                    s.upds[u].diff == (int64_t)rows[bi][i][3];
          cr_assert_geq(hits, 1, "key %lu: a row is missing", (unsigned long)key);
        }
      cr_assert_eq(s.n_upds, want, "key %lu: %zu updates, want %zu", (unsigned long)key,
                   s.n_upds, want);
      for (size_t u = 1; by_val && u < s.n_upds; u++)
        cr_assert_leq(*s.upds[u - 1].val, *s.upds[u].val);
    }
    rf__seeker_free(&s);
  }
}

/* Seeks in batches large enough to have a fence (batch.h), with gaps from
 * one key to thousands, so that targets land in the same block, in the
 * next, far away, before the first key and after the last: each key's
 * updates against a naive count. */
Test(seeker, finds_keys_through_the_fence) {
  srand(11);
  enum { SPAN = 60000, NBATCH = 3 };
  static uint64_t rows[NBATCH][SPAN][4];
  static uint8_t in[NBATCH][SPAN + 64];
  rf__batch *bs[NBATCH];
  for (int bi = 0; bi < NBATCH; bi++) {
    size_t n = 0;
    int density = bi == 2 ? 400 : 4 + bi * 10; /* batch 2: under RF__FENCE_MIN keys */
    for (uint64_t k = 32; k < SPAN; k++) {
      in[bi][k] = rand() % density == 0;
      if (!in[bi][k]) continue;
      rows[bi][n][0] = k, rows[bi][n][1] = 7, rows[bi][n][2] = 0, rows[bi][n++][3] = 1;
    }
    bs[bi] = make_batch(1, rows[bi], n);
    cr_assert_eq(bs[bi]->n_fence != 0, n >= RF__FENCE_MIN, "batch %d: %zu keys", bi, n);
    for (size_t j = 0; j < bs[bi]->n_fence; j++)
      cr_assert_eq(bs[bi]->fence[j], bs[bi]->keys[j * RF__FENCE_STEP]);
  }
  for (int trial = 0; trial < 40; trial++) {
    rf__seeker s;
    cr_assert_eq(rf__seeker_init(&s, bs, NBATCH), 0);
    int max_gap = trial % 4 == 0 ? 3 : trial % 4 == 1 ? 40 : trial % 4 == 2 ? 700 : 9000;
    for (uint64_t key = (uint64_t)(rand() % 40); key < SPAN + 40;
         key += 1 + (uint64_t)(rand() % max_gap)) {
      cr_assert_eq(rf__seeker_seek(&s, &key, trial % 2), 0);
      size_t want = 0;
      for (int bi = 0; bi < NBATCH; bi++) want += key < SPAN && in[bi][key];
      cr_assert_eq(s.n_upds, want, "key %lu: %zu updates, want %zu", (unsigned long)key,
                   s.n_upds, want);
    }
    rf__seeker_free(&s);
  }
  for (int bi = 0; bi < NBATCH; bi++) rf__batch_unref(bs[bi]);
}

/* Announcing keys (rf__seeker_ahead) changes when loads start, never what
 * a seek finds: a seeker told of coming keys in random patterns (some
 * announced keys never sought, some keys sought unannounced, announcements
 * refused when the ring is full or a key does not come after the last)
 * gives, seek for seek, the same updates in the same order as a plain one,
 * over batches with and without a fence, with and without val offsets. */
Test(seeker, announced_keys_find_what_plain_seeks_find) {
  srand(23);
  enum { SPAN = 40000, NBATCH = 4, ROWS = 30000 };
  static uint64_t rows[ROWS][4];
  rf__batch *bs[NBATCH];
  for (int bi = 0; bi < NBATCH; bi++) {
    size_t n = 0;
    int density = bi == 3 ? 300 : 3 + 6 * bi; /* batch 3: under RF__FENCE_MIN keys */
    for (uint64_t k = 0; k < SPAN && n + 3 < ROWS; k++) {
      if (rand() % density) continue;
      /* Batch 1: several values and times a key (val_off present). */
      int reps = bi == 1 ? 1 + rand() % 3 : 1;
      for (int r = 0; r < reps; r++) {
        rows[n][0] = k, rows[n][1] = (uint64_t)(rand() % 4), rows[n][2] = (uint64_t)r;
        rows[n++][3] = (uint64_t)(1 + rand() % 5);
      }
    }
    bs[bi] = make_batch(1, rows, n);
    /* make_batch consolidates repeats of (key, val, time). */
    cr_assert_eq(bs[bi]->n_fence != 0, bs[bi]->n_keys >= RF__FENCE_MIN);
  }
  cr_assert_not_null(bs[1]->val_off);
  for (int trial = 0; trial < 30; trial++) {
    rf__seeker plain, told;
    cr_assert_eq(rf__seeker_init(&plain, bs, NBATCH), 0);
    cr_assert_eq(rf__seeker_init(&told, bs, NBATCH), 0);
    int max_gap = trial % 3 == 0 ? 4 : trial % 3 == 1 ? 60 : 3000;
    /* The keys to seek, increasing. */
    static uint64_t keys[SPAN];
    size_t n_keys = 0;
    for (uint64_t k = (uint64_t)(rand() % 8); k < SPAN + 10; k += 1 + (uint64_t)(rand() % max_gap))
      keys[n_keys++] = k;
    size_t next_told = 0; /* keys[next_told..] not announced yet */
    uint64_t last_announced = 0;
    bool any_announced = false;
    for (size_t i = 0; i < n_keys; i++) {
      if (next_told < i) next_told = i;
      int pattern = rand() % 8;
      if (pattern < 5) {
        /* Announce as many of the coming keys as the seeker takes, now and
         * then with a key between them that is never sought. */
        while (next_told < n_keys) {
          uint64_t k = keys[next_told];
          if (rand() % 6 == 0 && k > 0 && (i == 0 || k - 1 > keys[i - 1]) &&
              (!any_announced || k - 1 > last_announced) &&
              (next_told == i || k - 1 > keys[next_told - 1])) {
            uint64_t extra = k - 1;
            if (!rf__seeker_ahead(&told, &extra)) break;
            last_announced = extra, any_announced = true;
          }
          if (!rf__seeker_ahead(&told, &k)) break;
          last_announced = k, any_announced = true;
          next_told++;
        }
      } else if (pattern == 5 && next_told < n_keys) {
        /* A key that does not come after the last announced (or sought)
         * one is refused. */
        uint64_t k = i > 0 ? keys[i - 1] : 0;
        if (i > 0) cr_assert_not(rf__seeker_ahead(&told, &k));
      }
      /* pattern 6, 7: seek without announcing anything. */
      bool by_val = (i + (size_t)trial) % 2;
      cr_assert_eq(rf__seeker_seek(&plain, &keys[i], by_val), 0);
      cr_assert_eq(rf__seeker_seek(&told, &keys[i], by_val), 0);
      cr_assert_eq(told.n_upds, plain.n_upds, "key %lu: %zu updates, want %zu",
                   (unsigned long)keys[i], told.n_upds, plain.n_upds);
      for (size_t u = 0; u < plain.n_upds; u++) {
        cr_assert_eq(told.upds[u].val, plain.upds[u].val);
        cr_assert_eq(told.upds[u].time, plain.upds[u].time);
        cr_assert_eq(told.upds[u].diff, plain.upds[u].diff);
      }
    }
    /* At most RF__SEEK_AHEAD keys wait at once. */
    uint64_t k = SPAN + 100;
    int taken = 0;
    while (rf__seeker_ahead(&told, &k)) taken++, k++;
    cr_assert_eq(taken, RF__SEEK_AHEAD);
    rf__seeker_free(&plain);
    rf__seeker_free(&told);
  }
  for (int bi = 0; bi < NBATCH; bi++) rf__batch_unref(bs[bi]);
}

Test(seeker, two_word_keys_and_no_batches) {
  rf__builder b;
  rf__builder_init(&b, 2, 1, 1);
  uint64_t keys[][2] = {{0, 9}, {1, 0}, {1, 5}}, t = 0;
  for (uint64_t i = 0; i < 3; i++) cr_assert_eq(rf__builder_push(&b, keys[i], &i, &t, 1), 0);
  rf__antichain lo, hi;
  rf__antichain_init(&lo, 1);
  rf__antichain_init(&hi, 1);
  cr_assert_eq(rf__antichain_set1(&lo, &t), 0);
  rf__batch *x = rf__builder_done(&b, &lo, &hi, &lo);
  rf__seeker s;
  cr_assert_eq(rf__seeker_init(&s, &x, 1), 0);
  uint64_t k1[2] = {1, 0}, k2[2] = {1, 1}, k3[2] = {1, 5}, k4[2] = {2, 0};
  /* Only 1-word keys can be announced. */
  cr_assert_not(rf__seeker_ahead(&s, k1));
  cr_assert_eq(rf__seeker_seek(&s, k1, true), 0);
  cr_assert(s.n_upds == 1 && *s.upds[0].val == 1);
  cr_assert_eq(rf__seeker_seek(&s, k2, true), 0);
  cr_assert_eq(s.n_upds, 0);
  cr_assert_eq(rf__seeker_seek(&s, k3, true), 0);
  cr_assert(s.n_upds == 1 && *s.upds[0].val == 2);
  cr_assert_eq(rf__seeker_seek(&s, k4, true), 0);
  cr_assert_eq(s.n_upds, 0);
  rf__seeker_free(&s);
  cr_assert_eq(rf__seeker_init(&s, NULL, 0), 0);
  cr_assert_eq(rf__seeker_seek(&s, k1, false), 0);
  cr_assert_eq(s.n_upds, 0);
  rf__seeker_free(&s);
  rf__batch_unref(x);
  rf__builder_free(&b);
  rf__antichain_free(&lo);
  rf__antichain_free(&hi);
}

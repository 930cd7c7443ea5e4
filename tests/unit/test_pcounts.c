/*
 * test_pcounts.c: the counted-pointstamp table of several workers
 * (dataflow/pcounts.c) against a naive model: random changes at a few
 * locations of different dims leave the same counts, the same minimal
 * positive times, and a `changed` flag set exactly when the set of
 * positive entries changed; a worker's log, consolidated and applied to
 * another table, leaves that table equal; changes that cancel send
 * nothing.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "dataflow/pcounts.h"

enum { LOCS = 3, TIMES = 40, OPS = 20000 };

static const uint32_t dims[LOCS] = {1, 2, 3};

/* The model: a count per (location, time index); time index k is the time
 * whose words are (k % 7, k / 7 % 3, k / 21), cut to the location's dim. */
typedef struct model {
  int64_t count[LOCS][TIMES];
} model;

static void time_of(uint32_t loc, uint32_t k, uint64_t *t) {
  uint64_t w[3] = {k % 7, k / 7 % 3, k / 21};
  memcpy(t, w, dims[loc] * sizeof(uint64_t));
}

static uint64_t rng_next(uint64_t *s) {
  *s += 0x9e3779b97f4a7c15ull;
  uint64_t z = *s;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Times that cut to the same words are one time: sum their counts. */
static int64_t model_count(const model *m, uint32_t loc, const uint64_t *t) {
  int64_t c = 0;
  for (uint32_t k = 0; k < TIMES; k++) {
    uint64_t u[3];
    time_of(loc, k, u);
    if (rf__time_eq(u, t, dims[loc])) c += m->count[loc][k];
  }
  return c;
}

static int64_t table_count(const rf__pcounts *pc, uint32_t loc, const uint64_t *t) {
  const rf__ploc *l = &pc->locs[loc];
  for (uint32_t i = 0; i < l->cap; i++)
    if (l->e[i].count != 0 && rf__time_eq(l->e[i].t, t, l->dim)) return l->e[i].count;
  return 0;
}

/* The positive times of the model at loc, as a set of minimal elements. */
static void model_minimal(const model *m, uint32_t loc, rf__antichain *out) {
  rf__antichain_clear(out);
  for (uint32_t k = 0; k < TIMES; k++) {
    uint64_t t[3];
    time_of(loc, k, t);
    if (model_count(m, loc, t) > 0) cr_assert_geq(rf__antichain_insert(out, t), 0);
  }
}

static void check_equal(const rf__pcounts *pc, const model *m) {
  for (uint32_t loc = 0; loc < LOCS; loc++) {
    uint32_t distinct = 0;
    for (uint32_t k = 0; k < TIMES; k++) {
      uint64_t t[3];
      time_of(loc, k, t);
      int64_t want = model_count(m, loc, t);
      cr_assert_eq(table_count(pc, loc, t), want, "loc %u time index %u", loc, k);
    }
    /* No stray entries: every entry's time is one of the model's, non-zero. */
    const rf__ploc *l = &pc->locs[loc];
    for (uint32_t i = 0; i < l->cap; i++) {
      if (l->e[i].count == 0) continue;
      distinct++;
      cr_assert_eq(model_count(m, loc, l->e[i].t), l->e[i].count);
    }
    cr_assert_eq(distinct, l->n, "loc %u: %u entries, n says %u", loc, distinct, l->n);
  }
}

Test(pcounts, random_changes_match_a_model) {
  rf__pcounts pc;
  cr_assert_eq(rf__pcounts_init(&pc, LOCS, dims), 0);
  model m = {0};
  rf__antichain want, got_copy;
  uint64_t seed = 42;
  for (uint32_t op = 0; op < OPS; op++) {
    uint32_t loc = (uint32_t)(rng_next(&seed) % LOCS);
    uint32_t k = (uint32_t)(rng_next(&seed) % TIMES);
    /* Mostly +1/-1, sometimes larger, so counts cross zero both ways. */
    int32_t delta = (int32_t)(rng_next(&seed) % 5) - 2;
    uint64_t t[3];
    time_of(loc, k, t);
    int64_t before = model_count(&m, loc, t);
    pc.changed = false;
    cr_assert_eq(rf__pcounts_add(&pc, loc, t, delta), 0);
    m.count[loc][k] += delta;
    int64_t after = model_count(&m, loc, t);
    cr_assert_eq(pc.changed, (before > 0) != (after > 0),
                 "op %u: count %ld -> %ld, changed %d", op, (long)before, (long)after, pc.changed);
    if (op % 97 == 0) check_equal(&pc, &m);
    if (op % 31 == 0) {
      rf__antichain_init(&want, dims[loc]);
      model_minimal(&m, loc, &want);
      const rf__antichain *got = rf__pcounts_minimal(&pc, loc);
      cr_assert_not_null(got);
      rf__antichain_init(&got_copy, dims[loc]);
      cr_assert_eq(rf__antichain_copy(&got_copy, got), 0);
      cr_assert(rf__antichain_eq(&got_copy, &want), "op %u loc %u: minimal times differ", op, loc);
      rf__antichain_free(&want);
      rf__antichain_free(&got_copy);
    }
  }
  check_equal(&pc, &m);
  rf__pcounts_free(&pc);
}

Test(pcounts, logs_carry_a_worker_changes_to_another) {
  rf__pcounts a, b;
  cr_assert_eq(rf__pcounts_init(&a, LOCS, dims), 0);
  cr_assert_eq(rf__pcounts_init(&b, LOCS, dims), 0);
  model m = {0};
  uint64_t seed = 7;
  for (uint32_t batch = 0; batch < 300; batch++) {
    for (uint32_t i = 0; i < 25; i++) {
      uint32_t loc = (uint32_t)(rng_next(&seed) % LOCS);
      uint32_t k = (uint32_t)(rng_next(&seed) % TIMES);
      int32_t delta = rng_next(&seed) % 2 ? 1 : -1;
      uint64_t t[3];
      time_of(loc, k, t);
      cr_assert_eq(rf__pcounts_note(&a, loc, t, delta), 0);
      m.count[loc][k] += delta;
    }
    rf__pmsg *msg;
    cr_assert_eq(rf__pcounts_take_log(&a, 0, &msg), 0);
    cr_assert_eq(a.n_log, 0);
    if (!msg) continue;
    for (size_t i = 0; i < msg->n; i++) cr_assert_neq(msg->v[i].delta, 0, "a zero change was sent");
    rf__pmsg *copy = rf__pmsg_copy(msg);
    cr_assert_not_null(copy);
    cr_assert_eq(rf__pcounts_apply(&b, copy), 0);
    rf__pmsg_free(copy);
    rf__pmsg_free(msg);
  }
  check_equal(&a, &m);
  check_equal(&b, &m);
  rf__pcounts_free(&a);
  rf__pcounts_free(&b);
}

Test(pcounts, changes_that_cancel_send_nothing) {
  rf__pcounts pc;
  cr_assert_eq(rf__pcounts_init(&pc, LOCS, dims), 0);
  uint64_t t[3] = {5, 1, 0};
  /* A message queued and popped, a capability held and dropped. */
  cr_assert_eq(rf__pcounts_note(&pc, 1, t, +1), 0);
  cr_assert_eq(rf__pcounts_note(&pc, 2, t, +1), 0);
  cr_assert_eq(rf__pcounts_note(&pc, 1, t, -1), 0);
  cr_assert_eq(rf__pcounts_note(&pc, 2, t, -1), 0);
  rf__pmsg *msg = (rf__pmsg *)&pc; /* anything but NULL */
  cr_assert_eq(rf__pcounts_take_log(&pc, 3, &msg), 0);
  cr_assert_null(msg);
  cr_assert_eq(pc.locs[1].n, 0);
  cr_assert_eq(pc.locs[2].n, 0);
  /* One that does not cancel is sent once, summed, from its sender. */
  cr_assert_eq(rf__pcounts_note(&pc, 0, t, +1), 0);
  cr_assert_eq(rf__pcounts_note(&pc, 0, t, +1), 0);
  cr_assert_eq(rf__pcounts_take_log(&pc, 3, &msg), 0);
  cr_assert_not_null(msg);
  cr_assert_eq(msg->from, 3);
  cr_assert_eq(msg->n, 1);
  cr_assert_eq(msg->v[0].loc, 0);
  cr_assert_eq(msg->v[0].delta, 2);
  cr_assert_eq(msg->v[0].t[0], 5);
  rf__pmsg_free(msg);
  rf__pcounts_free(&pc);
}

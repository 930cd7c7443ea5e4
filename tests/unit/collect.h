/*
 * collect.h: a test helper that records every update an inspect callback
 * sees, and answers "what is the count of this record at time t?" by
 * summing the recorded diffs at times <= t. Header-only; for tests.
 */
#ifndef RF_TESTS_COLLECT_H
#define RF_TESTS_COLLECT_H

#include <stdlib.h>
#include <string.h>

#include "rhizoflow.h"

typedef struct collected {
  uint32_t arity;
  size_t n, cap;
  rf_value *recs;   /* n * arity */
  rf_time *times;
  rf_diff *diffs;
} collected;

static inline void collect_fn(void *ctx, const rf_value *rec, uint32_t arity,
                              const uint64_t *time, uint32_t time_dim, rf_diff diff) {
  collected *c = ctx;
  (void)time_dim;
  if (c->n == c->cap) {
    c->cap = c->cap ? c->cap * 2 : 64;
    c->recs = realloc(c->recs, c->cap * arity * sizeof(rf_value));
    c->times = realloc(c->times, c->cap * sizeof(rf_time));
    c->diffs = realloc(c->diffs, c->cap * sizeof(rf_diff));
  }
  c->arity = arity;
  memcpy(c->recs + c->n * arity, rec, arity * sizeof(rf_value));
  c->times[c->n] = time[0];
  c->diffs[c->n] = diff;
  c->n++;
}

/* Count of rec at time t (sum of diffs at times <= t). */
static inline rf_diff collected_count(const collected *c, const rf_value *rec, rf_time t) {
  rf_diff sum = 0;
  for (size_t i = 0; i < c->n; i++)
    if (c->times[i] <= t && memcmp(c->recs + i * c->arity, rec, c->arity * sizeof(rf_value)) == 0)
      sum += c->diffs[i];
  return sum;
}

/* Number of distinct records with a non-zero count at t. */
static inline size_t collected_size(const collected *c, rf_time t) {
  size_t distinct = 0;
  for (size_t i = 0; i < c->n; i++) {
    if (c->times[i] > t) continue;
    int seen = 0;
    for (size_t j = 0; j < i && !seen; j++)
      seen = c->times[j] <= t &&
             memcmp(c->recs + j * c->arity, c->recs + i * c->arity, c->arity * sizeof(rf_value)) == 0;
    if (!seen && collected_count(c, c->recs + i * c->arity, t) != 0) distinct++;
  }
  return distinct;
}

static inline void collected_free(collected *c) {
  free(c->recs);
  free(c->times);
  free(c->diffs);
  memset(c, 0, sizeof *c);
}

#endif

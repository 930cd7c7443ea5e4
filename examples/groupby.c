/*
 * groupby.c: a streaming group-by. (key, value) records arrive and are
 * retracted in batches; count, sum, min and max per key stay up to date.
 *
 * The input is arranged by key once, and all four reducers read that one
 * shared arrangement (no copies). Each result is itself an arrangement,
 * captured as a live view and read with rf_view_lookup after each batch.
 * The program also keeps the live records itself and checks every figure
 * against a recount from scratch.
 *
 * Build: cmake --build build --target example_groupby; run: build/examples/example_groupby
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "rhizoflow.h"

#define KEYS 5
#define BATCHES 6
#define PER_BATCH 12
#define MAX_LIVE (BATCHES * PER_BATCH)

static uint64_t rng_state = 0x853c49e6748fea9bULL;
static uint32_t rnd(uint32_t n) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (uint32_t)((rng_state * 0x2545f4914f6cdd1dULL) >> 33) % n;
}

/* The live records, kept by the program to check the dataflow. */
static struct {
  uint64_t key;
  int64_t value;
} live[MAX_LIVE];
static int n_live;

/* rf_view_lookup callback: the one value of the key (an aggregate). */
static int take(void *ctx, const rf_value *key, const rf_value *val, rf_diff count) {
  *(int64_t *)ctx = rf_to_i64(val[0]); /* count and sum are i64; so are our values */
  return 1;                             /* found it: stop */
}

static void check(int rc, const char *what) {
  if (rc < 0) {
    fprintf(stderr, "%s: %s (%s)\n", what, rf_strerror(rc), rf_last_error());
    exit(1);
  }
}

/* Reads one aggregate of key at the latest complete time; 0 if absent. */
static int lookup(rf_view *v, uint64_t key, int64_t *out) {
  const rf_value k[1] = {rf_from_u64(key)};
  int rc = rf_view_lookup(v, k, RF_TIME_LATEST, take, out);
  check(rc, "rf_view_lookup");
  return rc; /* 1 when take() stopped at a value */
}

int main(void) {
  rf_graph *g;
  check(rf_graph_create(NULL, &g), "rf_graph_create");
  rf_input *in;
  rf_coll *records = rf_input_new(g, "records", 2, &in); /* (key, value) */

  rf_arr *by_key = rf_arrange(records, 1); /* one arrangement, four readers */
  rf_arr *aggs[4] = {rf_count(by_key), rf_sum(by_key), rf_min(by_key), rf_max(by_key)};
  static const char *names[4] = {"count", "sum", "min", "max"};
  rf_view *views[4];
  rf_probe *probes[4];
  for (int i = 0; i < 4; i++) {
    views[i] = rf_view_new(aggs[i]);
    probes[i] = rf_probe_new(rf_arr_collection(aggs[i]));
  }
  check(rf_graph_start(g), "building the dataflow");

  int mismatches = 0;
  for (uint64_t t = 0; t < BATCHES; t++) {
    /* A batch: mostly inserts of (key, value in [-50, 50)), some retractions
     * of records inserted before. */
    int ins = 0, del = 0;
    for (int i = 0; i < PER_BATCH; i++) {
      if (n_live > 0 && rnd(3) == 0) {
        int j = (int)rnd((uint32_t)n_live);
        const rf_value rec[2] = {rf_from_u64(live[j].key), rf_from_i64(live[j].value)};
        check(rf_input_remove(in, rec, 2), "remove");
        live[j] = live[--n_live];
        del++;
      } else {
        uint64_t key = rnd(KEYS);
        int64_t value = (int64_t)rnd(100) - 50;
        const rf_value rec[2] = {rf_from_u64(key), rf_from_i64(value)};
        check(rf_input_insert(in, rec, 2), "insert");
        live[n_live].key = key;
        live[n_live++].value = value;
        ins++;
      }
    }
    check(rf_input_advance_to(in, t + 1), "advance"); /* closes time t */
    for (int i = 0; i < 4; i++) check(rf_probe_wait(probes[i], t), "wait");

    printf("time %" PRIu64 ": +%d -%d records\n  key  count    sum   min   max\n", t, ins, del);
    for (uint64_t key = 0; key < KEYS; key++) {
      int64_t got[4] = {0, 0, 0, 0}, want[4] = {0, 0, INT64_MAX, INT64_MIN};
      int present = 0;
      for (int i = 0; i < 4; i++) present += lookup(views[i], key, &got[i]);
      for (int j = 0; j < n_live; j++) {
        if (live[j].key != key) continue;
        int64_t v = live[j].value;
        want[0]++;
        want[1] += v;
        if (v < want[2]) want[2] = v;
        if (v > want[3]) want[3] = v;
      }
      if (want[0] == 0) {
        /* No records: the key is absent from every view. */
        if (present) printf("  %3" PRIu64 "  MISMATCH: should be absent\n", key), mismatches++;
        continue;
      }
      printf("  %3" PRIu64 "  %5" PRId64 " %6" PRId64 " %5" PRId64 " %5" PRId64, key, got[0],
             got[1], got[2], got[3]);
      for (int i = 0; i < 4; i++)
        if (got[i] != want[i]) {
          printf("  MISMATCH %s: expected %" PRId64, names[i], want[i]);
          mismatches++;
        }
      printf("\n");
    }
  }
  rf_graph_destroy(g);
  if (mismatches) printf("%d mismatches with the recount\n", mismatches);
  else printf("all figures match a recount\n");
  return mismatches ? 1 : 0;
}

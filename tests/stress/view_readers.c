/*
 * view_readers.c: a stress test for live views read from other threads.
 * A plain program (not Criterion) so that it also runs under
 * ThreadSanitizer; exits non-zero on the first wrong read.
 *
 * The main thread drives a dataflow: at each time t, every key k of K moves
 * its one value from t-1 to t, and a view holds per-key sums. Reader
 * threads meanwhile look keys up at the latest complete time f-1 (f read
 * from rf_view_frontier) and at a retained old time, and check each answer:
 * the sum must be exactly the time read, with count 1. A time compacted
 * away in between is a valid answer (RF_ECOMPACTED); anything else is not.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/atomic.h"
#include "rhizoflow.h"

enum { KEYS = 64, READERS = 2 };

static rf_view *view;
/* Atomics: the main thread sets stop while readers poll it; readers bump
 * the tallies concurrently (relaxed: they order nothing else). */
static uint32_t stop;
static uint64_t reads_ok, reads_compacted;

typedef struct hit {
  int64_t sum;
  rf_diff count;
  int n;
} hit;

static int visit(void *ctx, const rf_value *key, const rf_value *val, rf_diff count) {
  hit *h = ctx;
  h->sum = rf_to_i64(val[0]);
  h->count = count;
  h->n++;
  return 0;
}

static void fail(const char *what, rf_value key, rf_time t, const hit *h, int rc) {
  fprintf(stderr, "view_readers: %s: key %" PRIu64 " at time %" PRIu64 ": rc %d (%s) n %d "
                  "sum %" PRId64 " count %" PRId64 "\n",
          what, key, t, rc, rc ? rf_last_error() : "", h->n, h->sum, h->count);
  exit(1);
}

static void *reader(void *arg) {
  uint64_t seed = (uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15ULL + 1;
  while (!rf__atomic_load_relaxed_32(&stop)) {
    seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
    rf_value key = seed % KEYS;
    rf_time f = rf_view_frontier(view);
    if (f == 0) continue;
    /* The latest complete time, or the retained time 1 (see main). */
    rf_time t = (seed >> 20) % 4 == 0 && f > 2 ? 1 : f - 1;
    hit h = {0, 0, 0};
    int rc = rf_view_lookup(view, &key, t, visit, &h);
    if (rc == RF_ECOMPACTED && t != 1) {
      rf__atomic_inc_relaxed_64(&reads_compacted);
      continue;
    }
    if (rc != 0) fail("lookup failed", key, t, &h, rc);
    if (h.n != 1 || h.count != 1 || h.sum != (int64_t)t) fail("wrong answer", key, t, &h, 0);
    rf__atomic_inc_relaxed_64(&reads_ok);
  }
  return NULL;
}

int main(int argc, char **argv) {
  rf_time rounds = argc > 1 ? strtoull(argv[1], NULL, 10) : 3000;
  rf_graph *g;
  rf_input *in;
  if (rf_graph_create(NULL, &g) < 0) return 1;
  rf_coll *c = rf_input_new(g, "kv", 2, &in);
  rf_arr *sums = rf_sum(rf_arrange(c, 1));
  view = rf_view_new(sums);
  rf_probe *p = rf_probe_new(rf_arr_collection(sums));
  if (rf_view_retain_from(view, 1) < 0 || rf_graph_start(g) < 0) {
    fprintf(stderr, "view_readers: setup: %s\n", rf_last_error());
    return 1;
  }
  pthread_t th[READERS];
  for (uintptr_t i = 0; i < READERS; i++) pthread_create(&th[i], NULL, reader, (void *)(i + 1));
  for (rf_time t = 0; t < rounds; t++) {
    for (rf_value k = 0; k < KEYS; k++) {
      rf_value now[2] = {k, rf_from_i64((int64_t)t)}, before[2] = {k, rf_from_i64((int64_t)t - 1)};
      if (t > 0 && rf_input_remove(in, before, 2) < 0) return 1;
      if (rf_input_insert(in, now, 2) < 0) return 1;
    }
    if (rf_input_advance_to(in, t + 1) < 0 || rf_probe_wait(p, t) < 0) {
      fprintf(stderr, "view_readers: driving: %s\n", rf_last_error());
      return 1;
    }
    if (t % 64 == 0 && rf_graph_run(g) < 0) return 1; /* let merges and compaction happen */
  }
  rf__atomic_store_relaxed_32(&stop, 1);
  for (int i = 0; i < READERS; i++) pthread_join(th[i], NULL);
  rf_graph_destroy(g);
  printf("view_readers: %" PRIu64 " reads checked, %" PRIu64 " hit compacted times; 1 passed, 0 failed\n",
         rf__atomic_load_relaxed_64(&reads_ok), rf__atomic_load_relaxed_64(&reads_compacted));
  return rf__atomic_load_relaxed_64(&reads_ok) > 0 ? 0 : 1;
}

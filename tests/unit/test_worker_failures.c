/*
 * test_worker_failures.c: with several workers, an error in any worker
 * stops the dataflow and reaches every thread that waits on it, and later
 * calls; nothing hangs, crashes or leaks (the ASan build checks leaks).
 *
 *   - a map callback fails on one record, on whichever worker holds it:
 *     the waiting thread and a second thread blocked in rf_probe_wait both
 *     get RF_ECALLBACK, and so do later input calls;
 *   - the n-th allocation fails, for n across the whole run of an
 *     iterate/join/reduce/view program on 2 workers: every call returns 0
 *     or RF_ENOMEM, and destroying the graph returns (workers stopped,
 *     memory freed) wherever the failure struck.
 */
#include <criterion/criterion.h>
#include <pthread.h>

#include "common/alloc.h"
#include "rhizoflow.h"

#define POISON ((rf_value)1 << 40)

static int fail_on_poison(void *ctx, const rf_value *in, rf_value *out) {
  (void)ctx;
  if (in[0] == POISON) return -5;
  out[0] = in[0];
  out[1] = in[1];
  return 1;
}

typedef struct waiter {
  rf_probe *p;
  int rc;
} waiter;

static void *wait_probe(void *arg) {
  waiter *w = arg;
  w->rc = rf_probe_wait(w->p, 1000000);
  return NULL;
}

static void callback_failure(uint32_t workers) {
  rf_graph *g;
  cr_assert_eq(rf_graph_create(&(rf_config){.workers = workers}, &g), 0);
  rf_input *in;
  rf_coll *c = rf_map(rf_input_new(g, "in", 2, &in), 2, fail_on_poison, NULL);
  rf_probe *p = rf_probe_new(rf_arr_collection(rf_count(rf_arrange(c, 1))));
  cr_assert_eq(rf_graph_start(g), 0, "%s", rf_last_error());
  /* A second thread waits for a time that will never come. */
  waiter w = {p, 0};
  pthread_t t;
  cr_assert_eq(pthread_create(&t, NULL, wait_probe, &w), 0);
  for (rf_value i = 0; i < 2000; i++) {
    rf_value rec[2] = {i, i % 7};
    cr_assert_eq(rf_input_insert(in, rec, 2), 0);
  }
  cr_assert_eq(rf_input_advance_to(in, 1), 0);
  cr_assert_eq(rf_probe_wait(p, 0), 0, "%s", rf_last_error());
  rf_value bad[2] = {POISON, 1};
  cr_assert_eq(rf_input_insert(in, bad, 2), 0);
  cr_assert_eq(rf_input_advance_to(in, 2), 0);
  int rc = rf_probe_wait(p, 1);
  cr_assert_eq(rc, RF_ECALLBACK, "workers %u: rf_probe_wait gave %s (%s)", workers,
               rf_err_name(rc), rf_last_error());
  cr_assert(strstr(rf_last_error(), "returned -5") != NULL, "message: %s", rf_last_error());
  pthread_join(t, NULL);
  cr_assert_eq(w.rc, RF_ECALLBACK, "workers %u: the other waiting thread got %s", workers,
               rf_err_name(w.rc));
  cr_assert_eq(rf_graph_run(g), RF_ECALLBACK);
  rf_value more[2] = {1, 1};
  cr_assert_eq(rf_input_insert(in, more, 2), RF_ECALLBACK);
  cr_assert_eq(rf_graph_error(g), RF_ECALLBACK);
  rf_graph_destroy(g);
}

Test(worker_failures, callback_error_reaches_every_waiter) {
  for (uint32_t w = 2; w <= 4; w++) callback_failure(w);
}

static int hop(void *ctx, const rf_value *key, const rf_value *dist, const rf_value *dst,
               rf_value *out) {
  (void)ctx;
  (void)key;
  out[0] = dst[0];
  out[1] = dist[0] + 1;
  return 1;
}

static rf_coll *bfs_body(void *edges, rf_scope *s, rf_coll *dist) {
  rf_coll *hops = rf_join_map(rf_arrange(dist, 1), rf_arr_enter(s, edges), 2, hop, NULL);
  return rf_arr_collection(rf_min(rf_arrange(rf_concat(dist, hops), 1)));
}

static int count_visit(void *ctx, const rf_value *key, const rf_value *val, rf_diff count) {
  (void)key;
  (void)val;
  (void)count;
  ++*(int *)ctx;
  return 0;
}

/* Returns the first error any call gave (0 if none); each must be ENOMEM. */
static int run_program(uint32_t workers) {
  rf_graph *g;
  int rc = rf_graph_create(&(rf_config){.workers = workers}, &g);
  if (rc < 0) return rc;
  rf_input *ein, *rin;
  rf_arr *edges = rf_arrange(rf_input_new(g, "edges", 2, &ein), 1);
  rf_coll *roots = rf_input_new(g, "roots", 2, &rin);
  rf_coll *dist = rf_consolidate(rf_iterate(roots, bfs_body, edges));
  rf_view *v = rf_view_new(rf_count(rf_arrange(dist, 1)));
  rf_probe *p = rf_probe_new(dist);
  rc = rf_graph_start(g);
  for (rf_value t = 0; rc == 0 && t < 4; t++) {
    rf_value root[2] = {0, 0};
    if (t == 0) rc = rf_input_insert(rin, root, 2);
    rf_value base = t - t % 2;
    for (rf_value i = 0; rc == 0 && i < 12; i++) {
      rf_value e[2] = {(i * 7 + base) % 10, (i * 3 + base + 1) % 10};
      rc = rf_input_update(ein, e, 2, t % 2 ? -1 : 1);
    }
    if (rc == 0) rc = rf_input_advance_to(ein, t + 1);
    if (rc == 0) rc = rf_input_advance_to(rin, t + 1);
    if (rc == 0) rc = rf_probe_wait(p, t);
    if (rc == 0) rc = rf_graph_run(g);
    int seen = 0;
    if (rc == 0) rc = rf_view_scan(v, RF_TIME_LATEST, count_visit, &seen);
  }
  rf_graph_destroy(g);
  return rc;
}

Test(worker_failures, allocation_failures_in_workers) {
  /* The allocations of a clean run, to size the sweep. */
  rf__alloc_fail_after(0);
  size_t reported = 0, injected_runs = 0;
  for (uint64_t n = 1;; n += 3) {
    uint64_t before = rf__alloc_injected_failures();
    rf__alloc_fail_after(n);
    int rc = run_program(2);
    rf__alloc_fail_after(0);
    cr_assert(rc == 0 || rc == RF_ENOMEM, "allocation %llu failed: got %s (%s)",
              (unsigned long long)n, rf_err_name(rc), rf_last_error());
    if (rf__alloc_injected_failures() == before) break; /* nothing left to fail */
    injected_runs++;
    reported += rc == RF_ENOMEM;
  }
  cr_expect_gt(injected_runs, 100, "the program should allocate often: %zu", injected_runs);
  /* Failures in background merges after the last call, or inside
   * rf_graph_destroy, cannot reach a caller; most must. */
  cr_expect_gt(reported * 2, injected_runs, "only %zu of %zu injected failures were reported",
               reported, injected_runs);
}

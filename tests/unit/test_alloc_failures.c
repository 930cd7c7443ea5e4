/*
 * test_alloc_failures.c: allocation failure anywhere in the engine comes
 * back as RF_ENOMEM and nothing crashes or leaks (the ASan build checks the
 * leaks). For every n, the n-th allocation from the start fails, while a
 * program with iterate, join, reduce, consolidate and a view is built,
 * started and run over a few epochs (compacted once, rf_graph_compact);
 * the loop ends when a run completes with no allocation left to fail.
 * After SQLite's test_malloc.c.
 *
 * rf_graph_destroy returns nothing: a failure inside it (for instance a
 * spine recomputing its frontiers as readers go, which it tolerates by
 * keeping the older, safe frontiers) must not crash or leak, but cannot be
 * reported. So "the failure reached the caller" is checked for failures
 * before destroy; the ASan build checks the rest.
 *
 * With 2 workers the same sweep runs on worker threads: every call returns
 * 0 or RF_ENOMEM, and destroying the graph returns (workers stopped, memory
 * freed) wherever the failure struck. A failure in a background merge after
 * the last call cannot reach a caller, so there most, not all, must.
 */
#include <criterion/criterion.h>

#include "common/alloc.h"
#include "rhizoflow.h"

static int hop(void *ctx, const rf_value *key, const rf_value *dist, const rf_value *dst,
               rf_value *out) {
  out[0] = dst[0];
  out[1] = dist[0] + 1;
  return 1;
}

static rf_coll *bfs_body(void *edges, rf_scope *s, rf_coll *dist) {
  rf_coll *hops = rf_join_map(rf_arrange(dist, 1), rf_arr_enter(s, edges), 2, hop, NULL);
  return rf_arr_collection(rf_min(rf_arrange(rf_concat(dist, hops), 1)));
}

static int count_visit(void *ctx, const rf_value *key, const rf_value *val, rf_diff count) {
  ++*(int *)ctx;
  return 0;
}

/* Injected failures counted when rf_graph_destroy began. */
static uint64_t injected_before_destroy;

/* Builds and runs the program; returns 0 or the first error any call gave.
 * Every error must be RF_ENOMEM. */
static int run_program(uint32_t workers) {
  rf_graph *g;
  int rc = rf_graph_create(&(rf_config){.workers = workers}, &g);
  if (rc < 0) {
    injected_before_destroy = rf__alloc_injected_failures();
    return rc;
  }
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
    /* Even times insert a set of edges; odd times retract that same set. */
    rf_value base = t - t % 2;
    for (rf_value i = 0; rc == 0 && i < 12; i++) {
      rf_value e[2] = {(i * 7 + base) % 10, (i * 3 + base + 1) % 10};
      rc = rf_input_update(ein, e, 2, t % 2 ? -1 : 1);
    }
    if (rc == 0) rc = rf_input_advance_to(ein, t + 1);
    if (rc == 0) rc = rf_input_advance_to(rin, t + 1);
    if (rc == 0) rc = rf_probe_wait(p, t);
    if (rc == 0) rc = t == 2 ? rf_graph_compact(g) : rf_graph_run(g);
    int seen = 0;
    if (rc == 0) rc = rf_view_scan(v, RF_TIME_LATEST, count_visit, &seen);
  }
  injected_before_destroy = rf__alloc_injected_failures();
  rf_graph_destroy(g);
  return rc;
}

Test(alloc_failures, every_allocation_failure_is_reported) {
  size_t injected_runs = 0;
  for (uint64_t n = 1;; n++) {
    uint64_t before = rf__alloc_injected_failures();
    rf__alloc_fail_after(n);
    int rc = run_program(1);
    rf__alloc_fail_after(0);
    bool injected = rf__alloc_injected_failures() != before;
    bool injected_while_running = injected && injected_before_destroy != before;
    cr_assert(rc == 0 || rc == RF_ENOMEM, "allocation %llu failed: got %s (%s)",
              (unsigned long long)n, rf_err_name(rc), rf_last_error());
    cr_assert(!injected_while_running || rc == RF_ENOMEM,
              "allocation %llu failed but every call succeeded (the failure was swallowed)",
              (unsigned long long)n);
    if (!injected) break; /* the run needed fewer than n allocations */
    injected_runs++;
  }
  cr_expect_gt(injected_runs, 100, "the program should allocate often: %zu", injected_runs);
}

Test(alloc_failures, allocation_failures_in_workers) {
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
  cr_expect_gt(reported * 2, injected_runs, "only %zu of %zu injected failures were reported",
               reported, injected_runs);
}

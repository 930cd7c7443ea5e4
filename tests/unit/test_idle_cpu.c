/*
 * test_idle_cpu.c: idle workers park. A dataflow with 2 (and 4) worker
 * threads is fed, run to completion (rf_graph_run), and left idle for one
 * second of wall-clock time, during which the whole process may use at most
 * IDLE_CPU_MS of CPU time (getrusage RUSAGE_SELF, user + system): parked
 * workers cost (next to) nothing. Then it checks that the workers still
 * wake up: more updates, rf_probe_wait, and the results read from a view;
 * and once more idle, with the input closed.
 *
 * A worker count that rf_graph_create refuses with RF_EINVAL (an engine
 * that runs one worker) skips its test, saying so; any other failure fails.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <sys/resource.h>
#include <time.h>

#include "rhizoflow.h"

#define IDLE_CPU_MS 50.0 /* CPU time the process may use in a second of idling */
#define KEYS 100
#define PER_KEY 50

static double cpu_ms(void) {
  struct rusage ru;
  cr_assert_eq(getrusage(RUSAGE_SELF, &ru), 0);
  return (double)ru.ru_utime.tv_sec * 1e3 + (double)ru.ru_utime.tv_usec / 1e3 +
         (double)ru.ru_stime.tv_sec * 1e3 + (double)ru.ru_stime.tv_usec / 1e3;
}

static double wall_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleeps `secs` of wall-clock time (nanosleep may return early). */
static void sleep_s(double secs) {
  double end = wall_s() + secs;
  for (double now = wall_s(); now < end; now = wall_s()) {
    double left = end - now;
    struct timespec d = {(time_t)left, (long)((left - (double)(time_t)left) * 1e9)};
    nanosleep(&d, NULL);
  }
}

/* CPU time the process uses while this thread sleeps `secs`. */
static double idle_cpu_ms(double secs) {
  double c0 = cpu_ms();
  sleep_s(secs);
  return cpu_ms() - c0;
}

typedef struct found {
  rf_value key;
  int n;
  int64_t count;
  bool wrong;
} found;

static int on_value(void *ctx, const rf_value *key, const rf_value *val, rf_diff count) {
  found *f = ctx;
  if (key[0] != f->key || count != 1) f->wrong = true;
  f->n++;
  f->count = rf_to_i64(val[0]);
  return 0;
}

/* The view of counts per key must say want(k) for every key at time t. */
static void check_counts(rf_view *v, rf_time t, int64_t (*want)(rf_value k), const char *when) {
  for (rf_value k = 0; k < KEYS; k++) {
    found f = {k, 0, 0, false};
    int rc = rf_view_lookup(v, &k, t, on_value, &f);
    cr_assert_eq(rc, 0, "%s: rf_view_lookup(%llu) at %llu: %s (%s)", when, (unsigned long long)k,
                 (unsigned long long)t, rf_err_name(rc), rf_last_error());
    cr_assert(!f.wrong && f.n == 1 && f.count == want(k),
              "%s: key %llu: %d values, count %lld%s; want one value, count %lld", when,
              (unsigned long long)k, f.n, (long long)f.count, f.wrong ? " (malformed)" : "",
              (long long)want(k));
  }
}

static int64_t first_counts(rf_value k) { return PER_KEY; }
/* After the wake-up round: one more record per key, and key 0..9 one less. */
static int64_t second_counts(rf_value k) { return PER_KEY + 1 - (k < 10); }

static void idle_then_wake(uint32_t workers) {
  rf_graph *g = NULL;
  rf_config cfg = {.workers = workers};
  int rc = rf_graph_create(&cfg, &g);
  if (rc == RF_EINVAL) {
    fprintf(stderr, "idle_cpu: SKIPPED workers=%u: rf_graph_create refuses it (%s: %s)\n", workers,
            rf_err_name(rc), rf_last_error());
    cr_skip_test("rf_graph_create refuses workers=%u with RF_EINVAL (%s)", workers, rf_last_error());
  }
  cr_assert_eq(rc, 0, "rf_graph_create(workers %u): %s (%s)", workers, rf_err_name(rc),
               rf_last_error());

  /* Values per key, through a join of the records with their distinct
   * keys (so that several operators and arrangements take part) and a
   * count: (k, v) join (k) gives (k, v) again. */
  rf_input *in;
  rf_coll *c = rf_input_new(g, "kv", 2, &in);
  static const uint32_t key_col[1] = {0};
  rf_coll *pairs = rf_join(rf_arrange(c, 1), rf_distinct(rf_project(c, 1, key_col)));
  rf_arr *counts = rf_count(rf_arrange(pairs, 1)); /* (k, #values of k) */
  rf_view *v = rf_view_new(counts);
  rf_probe *p = rf_probe_new(rf_arr_collection(counts));
  rc = rf_graph_start(g);
  cr_assert_eq(rc, 0, "rf_graph_start: %s (%s)", rf_err_name(rc), rf_last_error());

  /* Time 0: PER_KEY values for each of KEYS keys. */
  for (rf_value i = 0; i < KEYS * PER_KEY; i++) {
    rf_value r[2] = {i % KEYS, i};
    cr_assert_eq(rf_input_insert(in, r, 2), 0, "%s", rf_last_error());
  }
  cr_assert_eq(rf_input_advance_to(in, 1), 0, "%s", rf_last_error());
  rc = rf_graph_run(g);
  cr_assert_geq(rc, 0, "rf_graph_run: %s (%s)", rf_err_name(rc), rf_last_error());
  cr_assert(rf_probe_done(p, 0), "rf_graph_run returned before time 0 was complete");
  cr_assert_geq(rf_view_frontier(v), 1, "after rf_graph_run the view's frontier is %llu",
                (unsigned long long)rf_view_frontier(v));
  check_counts(v, 0, first_counts, "time 0");

  /* Idle: the workers must park. */
  double used = idle_cpu_ms(1.0);
  fprintf(stderr, "idle_cpu: workers=%u: %.1f ms of CPU in 1 s idle (input open)\n", workers, used);
  cr_expect_lt(used, IDLE_CPU_MS,
               "workers=%u: the process used %.1f ms of CPU in 1 s while the dataflow was idle "
               "(input open at time 1): idle workers should park (limit %.0f ms)",
               workers, used, IDLE_CPU_MS);

  /* They must wake up again: time 1 adds one value to every key and takes
   * one away from keys 0..9. */
  for (rf_value k = 0; k < KEYS; k++) {
    rf_value r[2] = {k, 1000000 + k};
    cr_assert_eq(rf_input_insert(in, r, 2), 0, "%s", rf_last_error());
    if (k < 10) {
      rf_value old[2] = {k, k}; /* inserted at time 0 (i = k) */
      cr_assert_eq(rf_input_remove(in, old, 2), 0, "%s", rf_last_error());
    }
  }
  cr_assert_eq(rf_input_advance_to(in, 2), 0, "%s", rf_last_error());
  double t0 = wall_s();
  rc = rf_probe_wait(p, 1);
  cr_assert_eq(rc, 0, "rf_probe_wait(1) after idling: %s (%s)", rf_err_name(rc), rf_last_error());
  fprintf(stderr, "idle_cpu: workers=%u: woke and finished time 1 in %.1f ms\n", workers,
          (wall_s() - t0) * 1e3);
  rc = rf_graph_run(g);
  cr_assert_geq(rc, 0, "rf_graph_run: %s (%s)", rf_err_name(rc), rf_last_error());
  cr_assert_geq(rf_view_frontier(v), 2, "after rf_probe_wait(1) and rf_graph_run the view's "
                "frontier is %llu", (unsigned long long)rf_view_frontier(v));
  check_counts(v, 1, second_counts, "time 1 (after idling)");
  check_counts(v, RF_TIME_LATEST, second_counts, "RF_TIME_LATEST (after idling)");

  /* Idle again, with the input closed. */
  cr_assert_eq(rf_input_close(in), 0, "%s", rf_last_error());
  rc = rf_graph_run(g);
  cr_assert_geq(rc, 0, "rf_graph_run (input closed): %s (%s)", rf_err_name(rc), rf_last_error());
  used = idle_cpu_ms(0.5);
  fprintf(stderr, "idle_cpu: workers=%u: %.1f ms of CPU in 0.5 s idle (input closed)\n", workers,
          used);
  cr_expect_lt(used, IDLE_CPU_MS / 2,
               "workers=%u: the process used %.1f ms of CPU in 0.5 s while the dataflow was idle "
               "(input closed): idle workers should park (limit %.0f ms)",
               workers, used, IDLE_CPU_MS / 2);
  check_counts(v, RF_TIME_LATEST, second_counts, "RF_TIME_LATEST (input closed)");
  rf_graph_destroy(g);
}

Test(idle_cpu, two_workers, .timeout = 60) { idle_then_wake(2); }
Test(idle_cpu, four_workers, .timeout = 60) { idle_then_wake(4); }

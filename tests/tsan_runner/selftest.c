/*
 * tests/tsan_runner/selftest.c: the runner's own test, built and run only in
 * the ThreadSanitizer build. Tests in suite "pass" must pass, in "skip" must
 * be skipped and in "fail" must fail: every assertion macro of
 * criterion/criterion.h once with a false condition, a failed assertion on
 * another thread, a crash, an early exit, a timeout and a data race that
 * only ThreadSanitizer sees. selftest.sh runs this program and checks each
 * test's line against its suite, the summary and the exit status, so a
 * runner that let a failure through would fail ctest (test
 * tsan_runner_selftest).
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* ---- must pass ---- */

static int side_effects;
static int bump(void) { return side_effects++; }

Test(pass, every_macro_true) {
  int x = 2;
  const char *p = "a";
  cr_assert(x == 2);
  cr_assert(x == 2, "with a message %d", x);
  cr_assert_not(x == 3);
  cr_assert_eq(x, 2);
  cr_assert_neq(x, 3, "message");
  cr_assert_lt(x, 3);
  cr_assert_leq(x, 2);
  cr_assert_gt(x, 1);
  cr_assert_geq(x, 2);
  cr_assert_null(NULL);
  cr_assert_not_null(p);
  cr_assert_str_eq(p, "a");
  cr_assert_str_neq(p, "b");
  cr_expect(x == 2);
  cr_expect_not(x == 3);
  cr_expect_eq(x, 2, "%s", "message");
  cr_expect_neq(x, 3);
  cr_expect_lt(x, 3);
  cr_expect_leq(x, 2);
  cr_expect_gt(x, 1);
  cr_expect_geq(x, 2);
  cr_expect_null(NULL);
  cr_expect_not_null(p);
  cr_expect_str_eq(p, "a");
  cr_expect_str_neq(p, "b");
  cr_log_info("a log line %d", 1);
}

Test(pass, operands_evaluated_once) {
  cr_assert_eq(bump(), 0);
  cr_assert_eq(side_effects, 1);
  cr_expect_lt(bump(), 2);
  cr_assert_eq(side_effects, 2);
}

/* Each test runs in a fresh process: both see the global at 0. */
static int fresh;
Test(pass, fresh_process_a) { cr_assert_eq(fresh++, 0); }
Test(pass, fresh_process_b) { cr_assert_eq(fresh++, 0); }

static int init_ran;
static void set_init(void) { init_ran = 1; }
static void fini_marker(void) { fprintf(stderr, "selftest: fini ran\n"); }
Test(pass, init_and_fini, .init = set_init, .fini = fini_marker) { cr_assert_eq(init_ran, 1); }

static void *thread_checks(void *arg) {
  cr_assert_eq(*(int *)arg, 7);
  cr_expect_eq(*(int *)arg, 7);
  return NULL;
}
Test(pass, checks_on_a_thread) {
  int v = 7;
  pthread_t t;
  cr_assert_eq(pthread_create(&t, NULL, thread_checks, &v), 0);
  pthread_join(t, NULL);
}

Test(pass, within_timeout, .timeout = 30) {
  struct timespec ms = {0, 1000000};
  nanosleep(&ms, NULL);
}

/* ---- must be skipped ---- */

Test(skip, cr_skip_test) {
  cr_skip_test("skipped on purpose (%d)", 1);
  fprintf(stderr, "selftest: NOT REACHED after cr_skip_test\n");
}
Test(skip, disabled, .disabled = true) { cr_assert_fail("a disabled test ran"); }

/* ---- must fail: each macro once with a false condition ---- */

static int one = 1, two = 2;
static const char *str_a = "a";
static void *non_null = &one;

#define FAIL_TEST(name, check) \
  Test(fail, name) { check; }
FAIL_TEST(assert, cr_assert(one == two))
FAIL_TEST(assert_not, cr_assert_not(one == 1))
FAIL_TEST(assert_eq, cr_assert_eq(one, two, "message %d", 1))
FAIL_TEST(assert_neq, cr_assert_neq(one, 1))
FAIL_TEST(assert_lt, cr_assert_lt(two, two))
FAIL_TEST(assert_leq, cr_assert_leq(two, one))
FAIL_TEST(assert_gt, cr_assert_gt(one, one))
FAIL_TEST(assert_geq, cr_assert_geq(one, two))
FAIL_TEST(assert_null, cr_assert_null(non_null))
FAIL_TEST(assert_not_null, cr_assert_not_null(NULL))
FAIL_TEST(assert_str_eq, cr_assert_str_eq(str_a, "b"))
FAIL_TEST(assert_str_neq, cr_assert_str_neq(str_a, "a"))
FAIL_TEST(assert_fail, cr_assert_fail("always"))
FAIL_TEST(expect, cr_expect(one == two))
FAIL_TEST(expect_not, cr_expect_not(one == 1))
FAIL_TEST(expect_eq, cr_expect_eq(one, two, "message %d", 1))
FAIL_TEST(expect_neq, cr_expect_neq(one, 1))
FAIL_TEST(expect_lt, cr_expect_lt(two, two))
FAIL_TEST(expect_leq, cr_expect_leq(two, one))
FAIL_TEST(expect_gt, cr_expect_gt(one, one))
FAIL_TEST(expect_geq, cr_expect_geq(one, two))
FAIL_TEST(expect_null, cr_expect_null(non_null))
FAIL_TEST(expect_not_null, cr_expect_not_null(NULL))
FAIL_TEST(expect_str_eq, cr_expect_str_eq(str_a, "b"))
FAIL_TEST(expect_str_neq, cr_expect_str_neq(str_a, "a"))
FAIL_TEST(expect_fail, cr_expect_fail("always"))

/* A failed cr_assert ends the body (fini still runs); cr_expect goes on. */
Test(fail, assert_stops_the_test, .fini = fini_marker) {
  cr_assert_eq(one, two);
  fprintf(stderr, "selftest: NOT REACHED after a failed cr_assert\n");
}
Test(fail, expect_goes_on) {
  cr_expect_eq(one, two);
  fprintf(stderr, "selftest: reached after a failed cr_expect\n");
}

/* Failures on another thread than the test's. */
static void *assert_on_thread(void *arg) {
  cr_assert_eq(*(int *)arg, 8, "on a thread");
  return NULL;
}
static void *expect_on_thread(void *arg) {
  cr_expect_eq(*(int *)arg, 8, "on a thread");
  return NULL;
}
Test(fail, assert_on_a_thread) {
  int v = 7;
  pthread_t t;
  cr_assert_eq(pthread_create(&t, NULL, assert_on_thread, &v), 0);
  pthread_join(t, NULL);
  sleep(5); /* not reached: the failed assertion exits the process */
}
Test(fail, expect_on_a_thread) {
  int v = 7;
  pthread_t t;
  cr_assert_eq(pthread_create(&t, NULL, expect_on_thread, &v), 0);
  pthread_join(t, NULL);
}

/* The process dies or leaves without finishing the test. */
Test(fail, crash) { abort(); }
Test(fail, exit_zero_mid_test) { exit(0); }
Test(fail, timeout, .timeout = 0.5) { sleep(30); }

/* A data race with no failing check: only ThreadSanitizer fails it. */
static long racy;
static void *race_writer(void *arg) {
  (void)arg;
  for (int i = 0; i < 1000; i++) racy++;
  return NULL;
}
Test(fail, data_race) {
  pthread_t a, b;
  cr_assert_eq(pthread_create(&a, NULL, race_writer, NULL), 0);
  cr_assert_eq(pthread_create(&b, NULL, race_writer, NULL), 0);
  pthread_join(a, NULL);
  pthread_join(b, NULL);
}

/*
 * test_park.c: parking and waking a thread: a wake before the wait is not
 * lost, a wake during the wait ends it, a has_work check that sees work
 * skips the sleep, and a timeout returns on its own.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <time.h>

#include "common/atomic.h"
#include "scheduler/park.h"

static bool never(void *ctx) { return false; }
/* Atomic: a has_work callback may read flags other threads set. */
static bool flag_set(void *ctx) { return rf__atomic_load_acquire_32((uint32_t *)ctx) != 0; }

typedef struct sleeper {
  rf__park *park;
  uint32_t woke;
} sleeper;

static void *sleep_once(void *arg) {
  sleeper *s = arg;
  rf__park_wait(s->park, never, NULL, 0);
  rf__atomic_store_release_32(&s->woke, 1); /* atomic: the main thread checks it */
  return NULL;
}

Test(park, wake_before_wait_is_not_lost) {
  rf__park p;
  cr_assert_eq(rf__park_init(&p), 0);
  rf__park_wake(&p);
  rf__park_wait(&p, never, NULL, 0); /* returns at once: the token is there */
  rf__park_destroy(&p);
}

Test(park, wake_ends_a_wait) {
  rf__park p;
  cr_assert_eq(rf__park_init(&p), 0);
  for (int round = 0; round < 200; round++) {
    sleeper s = {&p, 0};
    pthread_t th;
    pthread_create(&th, NULL, sleep_once, &s);
    rf__park_wake(&p);
    pthread_join(th, NULL);
    cr_assert_eq(rf__atomic_load_acquire_32(&s.woke), 1); /* after the join: atomic for form */
  }
  rf__park_destroy(&p);
}

Test(park, work_seen_skips_the_sleep) {
  rf__park p;
  uint32_t work = 1;
  cr_assert_eq(rf__park_init(&p), 0);
  rf__park_wait(&p, flag_set, &work, 0);
  rf__park_destroy(&p);
}

Test(park, timeout_returns) {
  rf__park p;
  cr_assert_eq(rf__park_init(&p), 0);
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  rf__park_wait(&p, never, NULL, 50);
  clock_gettime(CLOCK_MONOTONIC, &b);
  double ms = (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
  cr_expect_geq(ms, 40.0, "woke after %.1f ms", ms);
  rf__park_destroy(&p);
}

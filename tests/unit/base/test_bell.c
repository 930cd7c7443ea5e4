/*
 * test_bell.c: waiting on a bell: a condition already true returns at
 * once; a ring after the condition became true ends every wait on it.
 * (tests/stress/bell_ring.c plays many rounds looking for lost wake-ups.)
 */
#include <criterion/criterion.h>
#include <pthread.h>

#include "common/atomic.h"
#include "scheduler/bell.h"

/* Atomic: the waiters' predicate reads a flag other threads set. */
static bool flag_set(void *ctx) { return rf__atomic_load_acquire_32((uint32_t *)ctx) != 0; }

typedef struct waiter {
  rf__bell *bell;
  uint32_t *flag;
  uint32_t woke; /* atomic: the main thread checks it */
} waiter;

static void *wait_for_flag(void *arg) {
  waiter *w = arg;
  rf__bell_wait(w->bell, flag_set, w->flag);
  rf__atomic_store_release_32(&w->woke, 1);
  return NULL;
}

Test(bell, ready_condition_returns_at_once) {
  rf__bell b;
  cr_assert_eq(rf__bell_init(&b), 0);
  uint32_t flag = 1;
  rf__bell_wait(&b, flag_set, &flag);
  rf__bell_destroy(&b);
}

Test(bell, ring_wakes_every_waiter) {
  rf__bell b;
  cr_assert_eq(rf__bell_init(&b), 0);
  for (int round = 0; round < 100; round++) {
    uint32_t flag = 0;
    waiter w[3];
    pthread_t t[3];
    for (int i = 0; i < 3; i++) {
      w[i] = (waiter){&b, &flag, 0};
      cr_assert_eq(pthread_create(&t[i], NULL, wait_for_flag, &w[i]), 0);
    }
    rf__atomic_store_release_32(&flag, 1);
    rf__bell_ring(&b);
    for (int i = 0; i < 3; i++) {
      pthread_join(t[i], NULL);
      cr_assert(rf__atomic_load_acquire_32(&w[i].woke));
    }
  }
  rf__bell_destroy(&b);
}

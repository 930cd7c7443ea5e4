/*
 * bell.c: waiting for a condition and ringing (see bell.h for the protocol).
 */
#include "scheduler/bell.h"

#include "common/atomic.h"
#include "rhizoflow.h"

int rf__bell_init(rf__bell *b) {
  b->waiting = 0;
  if (pthread_mutex_init(&b->mu, NULL) != 0) return RF_ENOMEM;
  if (pthread_cond_init(&b->cv, NULL) != 0) {
    pthread_mutex_destroy(&b->mu);
    return RF_ENOMEM;
  }
  return 0;
}

void rf__bell_destroy(rf__bell *b) {
  pthread_cond_destroy(&b->cv);
  pthread_mutex_destroy(&b->mu);
}

void rf__bell_wait(rf__bell *b, bool (*ready)(void *), void *ctx) {
  if (ready(ctx)) return;
  /* Atomic add, then a full fence before the check: pairs with the fence
   * in rf__bell_ring (Dekker). */
  (void)__atomic_fetch_add(&b->waiting, 1, __ATOMIC_SEQ_CST);
  rf__atomic_fence_seq_cst();
  pthread_mutex_lock(&b->mu);
  while (!ready(ctx)) pthread_cond_wait(&b->cv, &b->mu);
  pthread_mutex_unlock(&b->mu);
  (void)__atomic_fetch_sub(&b->waiting, 1, __ATOMIC_SEQ_CST);
}

void rf__bell_ring(rf__bell *b) {
  /* Full fence: the state the ringer published is visible before we read
   * `waiting` (pairs with the waiter's fence). */
  rf__atomic_fence_seq_cst();
  /* Atomic: waiters add and subtract on other threads. */
  if (!rf__atomic_load_relaxed_32(&b->waiting)) return;
  pthread_mutex_lock(&b->mu);
  pthread_cond_broadcast(&b->cv);
  pthread_mutex_unlock(&b->mu);
}

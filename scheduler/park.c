/*
 * park.c: parking and waking (see park.h for the protocol).
 */
#include "scheduler/park.h"

#include <errno.h>
#include <time.h>

#include "common/atomic.h"
#include "rhizoflow.h"

int rf__park_init(rf__park *p) {
  p->sleeping = 0;
  p->token = 0;
  if (pthread_mutex_init(&p->mu, NULL) != 0) return RF_ENOMEM;
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  int rc = pthread_cond_init(&p->cv, &attr);
  pthread_condattr_destroy(&attr);
  if (rc != 0) {
    pthread_mutex_destroy(&p->mu);
    return RF_ENOMEM;
  }
  return 0;
}

void rf__park_destroy(rf__park *p) {
  pthread_cond_destroy(&p->cv);
  pthread_mutex_destroy(&p->mu);
}

void rf__park_wait(rf__park *p, bool (*has_work)(void *), void *ctx, uint32_t timeout_ms) {
  /* Consume a wake that came while we were running. Atomic exchange
   * (acquire): wakers set the token from any thread, releasing their work. */
  if (rf__atomic_fas_32(&p->token, 0)) return;
  /* Atomic: wakers on other threads read `sleeping`. */
  rf__atomic_store_relaxed_32(&p->sleeping, 1);
  /* Full fence: the store above must be visible before we look for work,
   * pairing with the fence in rf__park_wake (Dekker). */
  rf__atomic_fence_seq_cst();
  if (has_work && has_work(ctx)) {
    rf__atomic_store_relaxed_32(&p->sleeping, 0);
    return;
  }
  struct timespec deadline;
  if (timeout_ms) {
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
      deadline.tv_sec++;
      deadline.tv_nsec -= 1000000000L;
    }
  }
  pthread_mutex_lock(&p->mu);
  /* Acquire: pairs with the waker's release of the token. */
  while (!rf__atomic_load_acquire_32(&p->token)) {
    int rc = timeout_ms ? pthread_cond_timedwait(&p->cv, &p->mu, &deadline)
                        : pthread_cond_wait(&p->cv, &p->mu);
    if (rc == ETIMEDOUT) break;
  }
  pthread_mutex_unlock(&p->mu);
  /* Atomic: wakers write the token and read `sleeping` concurrently. */
  rf__atomic_store_relaxed_32(&p->token, 0);
  rf__atomic_store_relaxed_32(&p->sleeping, 0);
}

void rf__park_wake(rf__park *p) {
  /* Release: the work published before the wake is visible to the owner
   * once it sees the token (it reads it with acquire, on another thread). */
  rf__atomic_store_release_32(&p->token, 1);
  /* Full fence: publish the token (and the work before it) before reading
   * `sleeping`, pairing with the fence in rf__park_wait. */
  rf__atomic_fence_seq_cst();
  /* Atomic: the owner sets and clears it on its own thread. */
  if (!rf__atomic_load_relaxed_32(&p->sleeping)) return;
  pthread_mutex_lock(&p->mu);
  pthread_cond_signal(&p->cv);
  pthread_mutex_unlock(&p->mu);
}

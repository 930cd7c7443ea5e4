/*
 * park.h: parking an idle thread until something wakes it: the one place
 * (with start and stop) where rhizoflow uses a mutex and a condition
 * variable (DESIGN.md §7). A worker with nothing to do parks and costs no
 * CPU; whoever gives it work (a message, a progress update, an input, a
 * shutdown) wakes it.
 *
 * Threads: rf__park_wait is called only by the parker's owner; rf__park_wake
 * by any thread. The wake path takes the mutex only when the owner is (or
 * is about to be) asleep, so senders on the data path normally touch just
 * two atomics.
 *
 * No lost wake-ups: the owner announces `sleeping` and then re-checks for
 * work; a waker publishes work and then checks `sleeping`. With a full fence
 * on both sides (Dekker's pattern), at least one of them sees the other.
 */
#ifndef RF_SCHEDULER_PARK_H
#define RF_SCHEDULER_PARK_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct rf__park {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  uint32_t sleeping; /* atomic: 1 while the owner is parked or about to park */
  uint32_t token;    /* atomic: 1 once woken since the last wait */
} rf__park;

int rf__park_init(rf__park *p);
void rf__park_destroy(rf__park *p);
/* Owner: sleeps until woken (returns at once if a wake came since the last
 * wait), or until timeout_ms passes (0: no timeout). has_work is checked
 * after announcing the sleep, so work published before the wake is seen. */
void rf__park_wait(rf__park *p, bool (*has_work)(void *), void *ctx, uint32_t timeout_ms);
/* Any thread: wakes the owner (cheap when it is not parked). */
void rf__park_wake(rf__park *p);

#endif

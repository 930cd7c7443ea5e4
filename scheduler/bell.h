/*
 * bell.h: many threads wait for a condition that another thread makes true,
 * without spinning: parked worker threads waiting for messages or input
 * once spinning no longer pays, and callers waiting in rf_graph_run or
 * rf_probe_wait. The one place where
 * rhizoflow uses a mutex and a condition variable (DESIGN.md §7).
 *
 * Threads: any thread may wait and any thread may ring. The condition is
 * the waiter's own predicate over atomics that the ringer stores BEFORE
 * ringing. A ring takes the mutex only when somebody waits (or is about
 * to), so rings on the data path cost a fence and a load.
 *
 * No lost wake-ups (Dekker's pattern): a waiter counts
 * itself in `waiting` and then checks the predicate; a ringer publishes
 * its state and then reads `waiting`; a full fence on each side means at
 * least one sees the other. Under the mutex the waiter re-checks the
 * predicate before each sleep and the ringer broadcasts, so a ring that
 * comes between the check and the sleep is not missed either.
 */
#ifndef RF_SCHEDULER_BELL_H
#define RF_SCHEDULER_BELL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct rf__bell {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  uint32_t waiting; /* atomic: threads inside rf__bell_wait */
} rf__bell;

int rf__bell_init(rf__bell *b);
void rf__bell_destroy(rf__bell *b);
/* Returns once ready(ctx) is true. */
void rf__bell_wait(rf__bell *b, bool (*ready)(void *), void *ctx);
/* Wakes every waiter to re-check its predicate. */
void rf__bell_ring(rf__bell *b);

#endif

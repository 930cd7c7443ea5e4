/*
 * transport.h: how workers exchange data messages and progress. The one
 * interface between the scheduler and the way workers talk, so that a
 * transport between processes can be added later without touching
 * operators (they only send to ports; graph.c routes through here) or
 * progress tracking (pcounts.h makes the progress messages).
 *
 * Workers run asynchronously (scheduler/parallel.c); nothing here waits
 * for all workers. The contract:
 *   - send: worker `from` (only), any time; m->dest names the receiving
 *     port in worker `to`'s replica. The transport owns m until recv
 *     returns it.
 *   - send_progress: worker `from` (only); a consolidated log of its
 *     pointstamp changes for worker `to`. Progress messages from one sender
 *     come out of recv_progress in the order that sender sent them: progress
 *     tracking's safety rests on it (docs/progress.md). Data and progress
 *     need no order between them.
 *   - recv / recv_progress: the receiving worker only; return what arrived,
 *     then NULL. Something sent may take a moment to show (a sender between
 *     two steps of a push): the sender wakes the receiver when it is done.
 *   - pending: the receiving worker only: something may have arrived.
 *   - park: worker `me` sleeps until ready(ctx), re-checked after every
 *     wake; a send to `me` wakes it, and so does wake.
 *   - wake: any thread: every parked worker re-checks its condition (an
 *     input handle submitted, a stop, a failure).
 *
 * The shared-memory transport (transport.c): two MPSC queues per worker
 * (common/mpsc.h), data and progress, and a bell per worker to park on.
 */
#ifndef RF_SCHEDULER_TRANSPORT_H
#define RF_SCHEDULER_TRANSPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "dataflow/graph.h"
#include "dataflow/pcounts.h"

typedef struct rf__transport rf__transport;

typedef struct rf__transport_vt {
  void (*send)(rf__transport *t, uint32_t from, uint32_t to, rf__msg *m);
  void (*send_progress)(rf__transport *t, uint32_t from, uint32_t to, rf__pmsg *m);
  rf__msg *(*recv)(rf__transport *t, uint32_t me);
  rf__pmsg *(*recv_progress)(rf__transport *t, uint32_t me);
  bool (*pending)(rf__transport *t, uint32_t me);
  void (*park)(rf__transport *t, uint32_t me, bool (*ready)(void *), void *ctx);
  void (*wake)(rf__transport *t);
  void (*destroy)(rf__transport *t);
} rf__transport_vt;

struct rf__transport {
  const rf__transport_vt *vt;
  uint32_t n_workers;
};

/* The in-process transport for n workers; NULL on ENOMEM. */
rf__transport *rf__transport_shm_new(uint32_t n_workers);

#endif

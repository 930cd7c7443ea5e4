/*
 * transport.h: how workers exchange data messages and agree on progress.
 * The one interface between the scheduler and the way workers talk, so
 * that a transport between processes can be added later without touching
 * operators (they only send to ports; graph.c routes through here).
 *
 * The scheduler runs in rounds (scheduler/parallel.c). Within a round a
 * worker may send messages to any worker; at the round's end every worker
 * calls sync. The contract:
 *   - send: any worker, any time; m->dest names the receiving port in the
 *     receiver's replica. The transport owns m until recv returns it.
 *   - recv: the receiving worker only; returns messages that arrived, then
 *     NULL. After a sync, every message sent before that sync by any worker
 *     is returned before NULL.
 *   - sync: every worker, once per phase; returns when all have called it.
 *     What a worker wrote before its sync (its progress seeds and round
 *     flags, in its replica) is what the others read after theirs: the
 *     shared-memory transport makes it visible in place; one between
 *     processes would carry it in the sync's messages.
 *   - wake: any thread: the workers parked in `park` re-check their
 *     condition (an input, a stop).
 *
 * The shared-memory transport (transport.c): one MPSC queue per worker
 * (common/mpsc.h) and a barrier that spins briefly, then yields, then parks
 * on a bell (bell.h).
 */
#ifndef RF_SCHEDULER_TRANSPORT_H
#define RF_SCHEDULER_TRANSPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "dataflow/graph.h"

typedef struct rf__transport rf__transport;

typedef struct rf__transport_vt {
  void (*send)(rf__transport *t, uint32_t from, uint32_t to, rf__msg *m);
  rf__msg *(*recv)(rf__transport *t, uint32_t me);
  void (*sync)(rf__transport *t, uint32_t me);
  /* Parks worker `me` until ready(ctx) (re-checked after every wake). */
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

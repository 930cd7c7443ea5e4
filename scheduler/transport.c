/*
 * transport.c: the shared-memory transport between worker threads of one
 * process (see transport.h for the contract).
 *
 * Each worker has an inbox: two unbounded MPSC queues, one for data
 * messages and one for progress messages, and a bell to park on. Any worker
 * pushes (one atomic exchange and a store) and then rings the receiver's
 * bell, which costs a fence and a load unless the receiver is parked; only
 * the receiver pops. An MPSC queue keeps each producer's order, which is
 * the order progress messages need.
 */
#include "scheduler/transport.h"

#include <stddef.h>

#include "common/alloc.h"
#include "common/atomic.h"
#include "scheduler/bell.h"

typedef struct inbox {
  rf__mpsc data;
  rf__mpsc progress;
  rf__bell bell; /* the receiver parks here */
  char pad[64];
} inbox;

typedef struct shm {
  rf__transport base;
  inbox *boxes; /* one per worker */
} shm;

static void shm_send(rf__transport *t, uint32_t from, uint32_t to, rf__msg *m) {
  (void)from;
  inbox *b = &((shm *)t)->boxes[to];
  rf__mpsc_push(&b->data, &m->node);
  rf__bell_ring(&b->bell);
}

static void shm_send_progress(rf__transport *t, uint32_t from, uint32_t to, rf__pmsg *m) {
  (void)from;
  inbox *b = &((shm *)t)->boxes[to];
  rf__mpsc_push(&b->progress, &m->node);
  rf__bell_ring(&b->bell);
}

static rf__msg *shm_recv(rf__transport *t, uint32_t me) {
  rf__mpsc_node *n = rf__mpsc_pop(&((shm *)t)->boxes[me].data);
  return n ? (rf__msg *)((char *)n - offsetof(rf__msg, node)) : NULL;
}

static rf__pmsg *shm_recv_progress(rf__transport *t, uint32_t me) {
  rf__mpsc_node *n = rf__mpsc_pop(&((shm *)t)->boxes[me].progress);
  return n ? (rf__pmsg *)((char *)n - offsetof(rf__pmsg, node)) : NULL;
}

static bool shm_pending(rf__transport *t, uint32_t me) {
  inbox *b = &((shm *)t)->boxes[me];
  return !rf__mpsc_empty(&b->data) || !rf__mpsc_empty(&b->progress);
}

static void shm_park(rf__transport *t, uint32_t me, bool (*ready)(void *), void *ctx) {
  rf__bell_wait(&((shm *)t)->boxes[me].bell, ready, ctx);
}

static void shm_wake(rf__transport *t) {
  shm *s = (shm *)t;
  for (uint32_t w = 0; w < s->base.n_workers; w++) rf__bell_ring(&s->boxes[w].bell);
}

static void shm_destroy(rf__transport *t) {
  shm *s = (shm *)t;
  if (!s) return;
  /* What is still queued (the workers stopped mid-flight) is freed. */
  for (uint32_t w = 0; w < s->base.n_workers; w++) {
    rf__msg *m;
    while ((m = shm_recv(t, w))) rf__msg_free(m);
    rf__pmsg *p;
    while ((p = shm_recv_progress(t, w))) rf__pmsg_free(p);
    rf__bell_destroy(&s->boxes[w].bell);
  }
  rf__free(s->boxes);
  rf__free(s);
}

static const rf__transport_vt shm_vt = {shm_send,          shm_send_progress, shm_recv,
                                        shm_recv_progress, shm_pending,       shm_park,
                                        shm_wake,          shm_destroy};

rf__transport *rf__transport_shm_new(uint32_t n_workers) {
  shm *s = rf__calloc(1, sizeof *s);
  if (!s) return NULL;
  s->boxes = rf__calloc(n_workers, sizeof *s->boxes);
  if (!s->boxes) {
    rf__free(s);
    return NULL;
  }
  for (uint32_t w = 0; w < n_workers; w++) {
    if (rf__bell_init(&s->boxes[w].bell) < 0) {
      while (w-- > 0) rf__bell_destroy(&s->boxes[w].bell);
      rf__free(s->boxes);
      rf__free(s);
      return NULL;
    }
    rf__mpsc_init(&s->boxes[w].data);
    rf__mpsc_init(&s->boxes[w].progress);
  }
  s->base.vt = &shm_vt;
  s->base.n_workers = n_workers;
  return &s->base;
}

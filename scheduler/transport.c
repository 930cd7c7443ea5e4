/*
 * transport.c: the shared-memory transport between worker threads of one
 * process (see transport.h for the contract).
 *
 * Messages: one unbounded MPSC queue per worker. Any worker pushes (one
 * atomic exchange and a store); only the receiver pops.
 *
 * Barrier (sync): a counter of arrivals and a generation number. The last
 * worker to arrive resets the counter and bumps the generation (release);
 * the others wait for the bump (acquire), which orders everything written
 * before every arrival before everything read after the barrier. Waiting
 * spins for a few microseconds (a round on a free core is short), then
 * yields the core a few times (more workers than cores), then sleeps on
 * the bell, which the last arrival rings.
 */
#include "scheduler/transport.h"

#include <sched.h>

#include "common/alloc.h"
#include "common/atomic.h"
#include "scheduler/bell.h"

#define SPIN_ROUNDS 256
#define YIELD_ROUNDS 8

typedef struct inbox {
  rf__mpsc q;
  char pad[64];
} inbox;

typedef struct shm {
  rf__transport base;
  inbox *boxes;        /* one per worker */
  /* Atomic: every worker adds itself on arrival; the last one resets it. */
  uint32_t arrived;
  char pad1[60];
  /* Atomic: bumped by the last arrival (release); waited on by the rest. */
  uint32_t generation;
  char pad2[60];
  rf__bell barrier_bell; /* waiters on the generation */
  rf__bell park_bell;    /* parked workers */
} shm;

static void shm_send(rf__transport *t, uint32_t from, uint32_t to, rf__msg *m) {
  (void)from;
  shm *s = (shm *)t;
  rf__mpsc_push(&s->boxes[to].q, &m->node);
}

static rf__msg *shm_recv(rf__transport *t, uint32_t me) {
  shm *s = (shm *)t;
  rf__mpsc_node *n = rf__mpsc_pop(&s->boxes[me].q);
  if (!n) return NULL;
  return (rf__msg *)((char *)n - offsetof(rf__msg, node));
}

typedef struct gen_wait {
  shm *s;
  uint32_t gen;
} gen_wait;

static bool generation_moved(void *ctx) {
  gen_wait *w = ctx;
  /* Acquire: pairs with the last arrival's release of the generation. */
  return rf__atomic_load_acquire_32(&w->s->generation) != w->gen;
}

static void shm_sync(rf__transport *t, uint32_t me) {
  (void)me;
  shm *s = (shm *)t;
  gen_wait w = {s, rf__atomic_load_acquire_32(&s->generation)};
  /* Acquire-release add: the last arrival sees every other worker's writes
   * (and, through its release of the generation, passes them on). */
  uint32_t n = __atomic_add_fetch(&s->arrived, 1, __ATOMIC_ACQ_REL);
  if (n == s->base.n_workers) {
    rf__atomic_store_relaxed_32(&s->arrived, 0);
    rf__atomic_store_release_32(&s->generation, w.gen + 1);
    rf__bell_ring(&s->barrier_bell);
    return;
  }
  for (int i = 0; i < SPIN_ROUNDS; i++) {
    if (generation_moved(&w)) return;
    rf__atomic_pause();
  }
  for (int i = 0; i < YIELD_ROUNDS; i++) {
    if (generation_moved(&w)) return;
    sched_yield();
  }
  rf__bell_wait(&s->barrier_bell, generation_moved, &w);
}

static void shm_park(rf__transport *t, uint32_t me, bool (*ready)(void *), void *ctx) {
  (void)me;
  rf__bell_wait(&((shm *)t)->park_bell, ready, ctx);
}

static void shm_wake(rf__transport *t) { rf__bell_ring(&((shm *)t)->park_bell); }

static void shm_destroy(rf__transport *t) {
  shm *s = (shm *)t;
  if (!s) return;
  /* Messages still queued (the workers stopped mid-flight) are freed. */
  for (uint32_t w = 0; w < s->base.n_workers; w++) {
    rf__msg *m;
    while ((m = shm_recv(t, w))) rf__msg_free(m);
  }
  rf__bell_destroy(&s->barrier_bell);
  rf__bell_destroy(&s->park_bell);
  rf__free(s->boxes);
  rf__free(s);
}

static const rf__transport_vt shm_vt = {shm_send, shm_recv, shm_sync, shm_park, shm_wake,
                                        shm_destroy};

rf__transport *rf__transport_shm_new(uint32_t n_workers) {
  shm *s = rf__calloc(1, sizeof *s);
  if (!s) return NULL;
  s->boxes = rf__calloc(n_workers, sizeof *s->boxes);
  if (!s->boxes || rf__bell_init(&s->barrier_bell) < 0) {
    rf__free(s->boxes);
    rf__free(s);
    return NULL;
  }
  if (rf__bell_init(&s->park_bell) < 0) {
    rf__bell_destroy(&s->barrier_bell);
    rf__free(s->boxes);
    rf__free(s);
    return NULL;
  }
  s->base.vt = &shm_vt;
  s->base.n_workers = n_workers;
  for (uint32_t w = 0; w < n_workers; w++) rf__mpsc_init(&s->boxes[w].q);
  return &s->base;
}

/*
 * mpsc.h: an unbounded, intrusive, lock-free multi-producer single-consumer
 * queue (Dmitry Vyukov's design), built on concurrencykit's ck_pr atomics
 * (through common/atomic.h, so that ThreadSanitizer can check it).
 * It carries data messages between workers (exchange channels) and
 * progress updates (every worker's and input handle's pointstamp changes).
 *
 * Threads: any number of threads may push; exactly one thread (the owning
 * worker) may pop. Per producer, items come out in the order they went in,
 * which progress tracking relies on (docs/progress.md).
 *
 * Producers never block and never retry: a push is one atomic exchange and
 * one store. A producer stalled between those two steps briefly hides from
 * the consumer (pop returns NULL) its own item, the items pushed after it,
 * AND the last item pushed before it, even one whose push finished long ago
 * (the last node can only be handed out once its successor is linked).
 * They become visible when it resumes; meanwhile rf__mpsc_empty says the
 * queue is not empty. So "everything pushed before X is popped once X is
 * seen" holds only for a consumer that drains until rf__mpsc_empty:
 * rf__mpsc_pop_settled does (the input operator and the HyperViews hub use
 * it; tests/stress/mpsc_torture.c checks it). The consumer
 * frees popped nodes itself, so no memory is reclaimed under a producer's
 * feet (no ABA, no epochs needed).
 */
#ifndef RF_COMMON_MPSC_H
#define RF_COMMON_MPSC_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/atomic.h"

typedef struct rf__mpsc_node {
  struct rf__mpsc_node *next; /* written once by its producer, read by the consumer */
} rf__mpsc_node;

typedef struct rf__mpsc {
  rf__mpsc_node *tail;  /* producers: the last node; swapped atomically */
  char pad[64 - sizeof(void *)]; /* keep producers' and consumer's lines apart */
  rf__mpsc_node *head;  /* consumer only: the node before the first item */
  rf__mpsc_node sentinel;   /* sentinel, re-pushed when the queue runs dry */
} rf__mpsc;

static inline void rf__mpsc_init(rf__mpsc *q) {
  q->sentinel.next = NULL;
  q->head = &q->sentinel;
  q->tail = &q->sentinel;
}

/* Any thread. */
static inline void rf__mpsc_push(rf__mpsc *q, rf__mpsc_node *n) {
  /* Atomic: once n is the tail, the next producer stores into n->next
   * (ordered after this store by the exchanges on q->tail). */
  rf__atomic_store_relaxed_ptr(&n->next, NULL);
  /* Exchange, acquire and release: orders the node's initialisation before
   * it becomes reachable, and makes the previous tail's producer's
   * initialisation of prev visible to us before we link into it. */
  rf__mpsc_node *prev = rf__atomic_fas_ptr(&q->tail, n);
  /* Publish the link (release): the consumer reads prev->next with a
   * load-acquire, so it sees n's contents once it sees n. */
  rf__atomic_store_release_ptr(&prev->next, n);
}

/* Owning consumer only. Returns the oldest item, or NULL if the queue is
 * empty (or a producer is mid-push). */
static inline rf__mpsc_node *rf__mpsc_pop(rf__mpsc *q) {
  rf__mpsc_node *head = q->head;
  /* Acquire (here and below): pairs with the producer's release of the
   * link, so the item's contents are visible before we hand it out. */
  rf__mpsc_node *next = rf__atomic_load_acquire_ptr(&head->next);
  if (head == &q->sentinel) {
    if (!next) return NULL;
    q->head = next;
    head = next;
    next = rf__atomic_load_acquire_ptr(&head->next);
  }
  if (next) {
    q->head = next;
    return head;
  }
  /* head is the last node pushed so far. If it is also the tail, put the
   * sentinel back behind it so that head can be handed out. */
  /* Atomic: producers swap the tail concurrently; only compared here. */
  rf__mpsc_node *tail = rf__atomic_load_relaxed_ptr(&q->tail);
  if (tail != head) return NULL; /* a producer is mid-push */
  rf__mpsc_push(q, &q->sentinel);
  next = rf__atomic_load_acquire_ptr(&head->next);
  if (next) {
    q->head = next;
    return head;
  }
  return NULL;
}

/* Owning consumer only: true if nothing is visible right now. */
static inline bool rf__mpsc_empty(rf__mpsc *q) {
  rf__mpsc_node *head = q->head;
  /* Atomic: a producer may be linking into head right now; a hint only. */
  rf__mpsc_node *next = rf__atomic_load_relaxed_ptr(&head->next);
  return head == &q->sentinel && next == NULL;
}

/* Owning consumer only: the oldest item, or NULL once the queue is empty.
 * Where a bare pop would return NULL while an item is hidden behind a push
 * in progress (see the top), it waits for that producer to finish its
 * push (two instructions, unless it was descheduled between them). */
static inline rf__mpsc_node *rf__mpsc_pop_settled(rf__mpsc *q) {
  for (unsigned spins = 0;; spins++) {
    rf__mpsc_node *n = rf__mpsc_pop(q);
    if (n || rf__mpsc_empty(q)) return n;
    if (spins < 64) rf__atomic_pause();
    else sched_yield();
  }
}

#endif

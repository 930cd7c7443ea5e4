/*
 * mpsc.h: an unbounded, intrusive, lock-free multi-producer single-consumer
 * queue (Dmitry Vyukov's design), built on concurrencykit's ck_pr atomics.
 * It carries data messages between workers (exchange channels) and
 * progress updates (every worker's and input handle's pointstamp changes).
 *
 * Threads: any number of threads may push; exactly one thread (the owning
 * worker) may pop. Per producer, items come out in the order they went in,
 * which progress tracking relies on (docs/progress.md).
 *
 * Producers never block and never retry: a push is one atomic exchange and
 * one store. A producer stalled between those two steps briefly hides the
 * items pushed after its own from the consumer (pop returns NULL); they
 * become visible when it resumes. The consumer frees popped nodes itself, so
 * no memory is reclaimed under a producer's feet (no ABA, no epochs needed).
 */
#ifndef RF_COMMON_MPSC_H
#define RF_COMMON_MPSC_H

#include <ck_pr.h>
#include <stdbool.h>
#include <stddef.h>

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
  ck_pr_store_ptr(&n->next, NULL);
  /* The exchange orders the node's initialisation before it becomes
   * reachable (full barrier on x86; ck_pr_fas_ptr is a full fence). */
  ck_pr_fence_store();
  rf__mpsc_node *prev = ck_pr_fas_ptr(&q->tail, n);
  /* Publish the link: the consumer reads prev->next with a load-acquire
   * pairing with this release. */
  ck_pr_fence_store();
  ck_pr_store_ptr(&prev->next, n);
}

/* Owning consumer only. Returns the oldest item, or NULL if the queue is
 * empty (or a producer is mid-push). */
static inline rf__mpsc_node *rf__mpsc_pop(rf__mpsc *q) {
  rf__mpsc_node *head = q->head;
  rf__mpsc_node *next = ck_pr_load_ptr(&head->next);
  ck_pr_fence_load();
  if (head == &q->sentinel) {
    if (!next) return NULL;
    q->head = next;
    head = next;
    next = ck_pr_load_ptr(&head->next);
    ck_pr_fence_load();
  }
  if (next) {
    q->head = next;
    return head;
  }
  /* head is the last node pushed so far. If it is also the tail, put the
   * sentinel back behind it so that head can be handed out. */
  rf__mpsc_node *tail = ck_pr_load_ptr(&q->tail);
  if (tail != head) return NULL; /* a producer is mid-push */
  rf__mpsc_push(q, &q->sentinel);
  next = ck_pr_load_ptr(&head->next);
  ck_pr_fence_load();
  if (next) {
    q->head = next;
    return head;
  }
  return NULL;
}

/* Owning consumer only: true if nothing is visible right now. */
static inline bool rf__mpsc_empty(rf__mpsc *q) {
  rf__mpsc_node *head = q->head;
  rf__mpsc_node *next = ck_pr_load_ptr(&head->next);
  return head == &q->sentinel && next == NULL;
}

#endif

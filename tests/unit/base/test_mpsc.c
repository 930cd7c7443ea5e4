/*
 * test_mpsc.c: the lock-free MPSC queue under several producer threads and
 * one consumer: every item arrives exactly once, and each producer's items
 * arrive in the order it pushed them.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/mpsc.h"

typedef struct item {
  rf__mpsc_node node; /* first member: a node pointer is an item pointer */
  uint32_t producer;
  uint64_t seq;
} item;

enum { PRODUCERS = 4, PER_PRODUCER = 200000 };

typedef struct producer_arg {
  rf__mpsc *q;
  uint32_t id;
} producer_arg;

static void *produce(void *p) {
  producer_arg *a = p;
  for (uint64_t s = 0; s < PER_PRODUCER; s++) {
    item *it = malloc(sizeof *it);
    it->producer = a->id;
    it->seq = s;
    rf__mpsc_push(a->q, &it->node);
  }
  return NULL;
}

Test(mpsc, single_thread_fifo) {
  rf__mpsc q;
  rf__mpsc_init(&q);
  cr_expect(rf__mpsc_empty(&q));
  cr_expect_null(rf__mpsc_pop(&q));
  item items[5];
  for (int i = 0; i < 5; i++) {
    items[i].seq = (uint64_t)i;
    rf__mpsc_push(&q, &items[i].node);
  }
  cr_expect(!rf__mpsc_empty(&q));
  for (int i = 0; i < 5; i++) {
    item *it = (item *)rf__mpsc_pop(&q);
    cr_assert_not_null(it);
    cr_expect_eq(it->seq, (uint64_t)i);
  }
  cr_expect_null(rf__mpsc_pop(&q));
  cr_expect(rf__mpsc_empty(&q));
  /* Reuse after running dry. */
  rf__mpsc_push(&q, &items[0].node);
  cr_expect_eq(((item *)rf__mpsc_pop(&q))->seq, 0);
}

Test(mpsc, producers_keep_order_and_lose_nothing) {
  rf__mpsc q;
  rf__mpsc_init(&q);
  pthread_t th[PRODUCERS];
  producer_arg args[PRODUCERS];
  for (uint32_t i = 0; i < PRODUCERS; i++) {
    args[i] = (producer_arg){&q, i};
    pthread_create(&th[i], NULL, produce, &args[i]);
  }
  uint64_t next[PRODUCERS] = {0};
  uint64_t got = 0;
  while (got < (uint64_t)PRODUCERS * PER_PRODUCER) {
    item *it = (item *)rf__mpsc_pop(&q);
    if (!it) continue;
    cr_assert_eq(it->seq, next[it->producer], "producer %u: got %llu, expected %llu",
                 it->producer, (unsigned long long)it->seq,
                 (unsigned long long)next[it->producer]);
    next[it->producer]++;
    got++;
    free(it);
  }
  for (uint32_t i = 0; i < PRODUCERS; i++) pthread_join(th[i], NULL);
  cr_expect_null(rf__mpsc_pop(&q));
}

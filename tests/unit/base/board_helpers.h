/*
 * board_helpers.h: threads that stand in for idle workers in the merge
 * tests: each helps with whatever is on a merge board (in slices of 1 to
 * 300 updates, sometimes putting its merge back) until told to stop.
 * Shared by test_merge_board.c and test_spine.c.
 */
#ifndef RF_TESTS_BOARD_HELPERS_H
#define RF_TESTS_BOARD_HELPERS_H

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "arrangements/merge_board.h"
#include "common/atomic.h"

enum { BOARD_HELPERS_MAX = 4 };

typedef struct board_helpers {
  rf__merge_board *board;
  uint32_t stop; /* atomic: set by the test's thread when it is done */
  uint32_t n;
  pthread_t t[BOARD_HELPERS_MAX];
} board_helpers;

static void *board_helper_main(void *arg) {
  board_helpers *h = arg;
  rf__merge *held = NULL;
  unsigned seed = (unsigned)(uintptr_t)&held;
  while (!rf__atomic_load_acquire_32(&h->stop)) {
    if (!rf__merge_board_help(h->board, &held, 1 + (size_t)rand_r(&seed) % 300))
      rf__atomic_pause();
    if (rand_r(&seed) % 4 == 0) rf__merge_board_return(h->board, &held);
  }
  rf__merge_unref(held);
  return NULL;
}

/* Starts n helper threads on board. */
static void board_helpers_start(board_helpers *h, rf__merge_board *board, uint32_t n) {
  cr_assert_leq(n, BOARD_HELPERS_MAX);
  h->board = board;
  h->stop = 0;
  h->n = n;
  for (uint32_t i = 0; i < n; i++)
    cr_assert_eq(pthread_create(&h->t[i], NULL, board_helper_main, h), 0);
}

/* Stops and joins them; the board may then be freed. */
static void board_helpers_stop(board_helpers *h) {
  rf__atomic_store_release_32(&h->stop, 1);
  for (uint32_t i = 0; i < h->n; i++) pthread_join(h->t[i], NULL);
}

#endif

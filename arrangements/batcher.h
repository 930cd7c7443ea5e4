/*
 * batcher.h: collects unsorted updates and seals them into batches.
 *
 * Updates arrive as rows (key words, val words, time words, diff) in any
 * order and at any times in advance of the batcher's lower frontier.
 * rf__batcher_seal(upper) takes out every update whose time is not in
 * advance of `upper` (the times now complete), sorts and consolidates them,
 * and returns them as one batch [lower, upper); lower becomes upper. Updates
 * at times still in the future stay buffered.
 *
 * Threads: owned by one operator on one worker.
 */
#ifndef RF_ARRANGEMENTS_BATCHER_H
#define RF_ARRANGEMENTS_BATCHER_H

#include "arrangements/batch.h"
#include "dataflow/upbuf.h"

typedef struct rf__batcher {
  uint32_t key_arity, val_arity, dim;
  rf__upbuf *pending;   /* buffered rows, arity key_arity + val_arity */
  rf__antichain lower;  /* lower bound of the next batch */
} rf__batcher;

/* lower starts as the antichain {(0,...,0)}. */
int rf__batcher_init(rf__batcher *b, uint32_t key_arity, uint32_t val_arity, uint32_t dim);
void rf__batcher_free(rf__batcher *b);
/* Copies the rows of ups (arity key+val, same dim) into the batcher. */
int rf__batcher_push(rf__batcher *b, const rf__upbuf *ups);
/* Inserts the minimal times of the buffered updates into out: the
 * capabilities the batcher's owner must hold. */
int rf__batcher_min_times(const rf__batcher *b, rf__antichain *out);
size_t rf__batcher_len(const rf__batcher *b);
/* Seals the updates at times not in advance of upper into *out, a batch
 * [lower, upper) with since = lower. upper must be in advance of lower. */
int rf__batcher_seal(rf__batcher *b, const rf__antichain *upper, rf__batch **out);

#endif

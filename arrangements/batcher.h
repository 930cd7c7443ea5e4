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
  rf__antichain mins;   /* the minimal times of the pending rows, kept up to
                           date as rows come and go */
} rf__batcher;

/* lower starts as the antichain {(0,...,0)}. */
int rf__batcher_init(rf__batcher *b, uint32_t key_arity, uint32_t val_arity, uint32_t dim);
void rf__batcher_free(rf__batcher *b);
/* Copies the rows of ups (arity key+val, same dim) into the batcher. */
int rf__batcher_push(rf__batcher *b, const rf__upbuf *ups);
/* The same for the payload of a message: `mins` are the minimal times of
 * its rows (the message's times), so the rows need no scan for them. When
 * the caller is the buffer's only holder (refs == 1) and the batcher holds
 * no rows (nor room for them, see rf__batcher_reserve), the batcher takes
 * the buffer's rows over instead of copying them, leaving ups empty. */
int rf__batcher_take(rf__batcher *b, rf__upbuf *ups, const rf__antichain *mins);
/* Makes room for `rows` more rows at once, before pushing several buffers:
 * growing by doubling instead would, at the last doubling, hold the old
 * and the new array together (and, for a large load, the messages not yet
 * copied as well). */
int rf__batcher_reserve(rf__batcher *b, size_t rows);
/* Inserts the minimal times of the buffered updates into out: the
 * capabilities the batcher's owner must hold. */
int rf__batcher_min_times(const rf__batcher *b, rf__antichain *out);
size_t rf__batcher_len(const rf__batcher *b);
/* Seals the updates at times not in advance of upper into *out, a batch
 * [lower, upper) with since = lower. upper must be in advance of lower.
 * Buffer capacity the remaining rows no longer need is given back. */
int rf__batcher_seal(rf__batcher *b, const rf__antichain *upper, rf__batch **out);

#endif

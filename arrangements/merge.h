/*
 * merge.h: one merge of a trace, two adjacent batches into one (or one
 * batch alone, to advance its times), done in slices of bounded work and
 * shareable between threads.
 *
 * A merge walks both inputs one (key, val) at a time, advances every time
 * to the frontier `since` it was started with, sums the diffs of equal
 * times and drops zeros (logical compaction; spine.h). Its work is counted
 * in updates read, so a caller can spread it over many slices: the spine
 * gives it fuel from inserts and idle time.
 *
 * Sharing. The spine that started a merge owns it, and it may also hand it
 * to a merge board (merge_board.h), from which an idle worker takes it and
 * does slices of it in the owner's place. Any thread holding a reference
 * may do a slice, one thread at a time: rf__merge_work claims the merge
 * (FREE -> BUSY) or, if another thread is in a slice, does nothing and
 * says so (RF_MERGE_BUSY); a slice ends FREE, or DONE with the result
 * built. The owner takes the result (rf__merge_result) and puts it in
 * place of the inputs.
 *
 * Threads: rf__merge_ref / rf__merge_unref from any thread holding a
 * reference; rf__merge_work and rf__merge_finish from any such thread (the
 * claim serializes them); rf__merge_result on the owner, once done.
 */
#ifndef RF_ARRANGEMENTS_MERGE_H
#define RF_ARRANGEMENTS_MERGE_H

#include <stdbool.h>
#include <stddef.h>

#include "arrangements/batch.h"

typedef struct rf__merge rf__merge;

/* rf__merge_work's outcomes besides an error. */
enum { RF_MERGE_MORE = 0, RF_MERGE_DONE = 1, RF_MERGE_BUSY = 2 };

/* Starts merging a with its newer neighbour b (b NULL: a alone), times
 * advanced to `since`; both must hold updates. The merge takes references
 * of its own to a and b and reserves its output arrays. The caller holds
 * the one reference. NULL on ENOMEM (error set). */
rf__merge *rf__merge_new(rf__batch *a, rf__batch *b, const rf__antichain *since);
rf__merge *rf__merge_ref(rf__merge *m);
void rf__merge_unref(rf__merge *m);

/* Does up to *fuel units of work (one unit an update read), subtracting
 * what it used. Returns RF_MERGE_DONE once the result is built (now or
 * before), RF_MERGE_MORE if work remains, RF_MERGE_BUSY (nothing done) if
 * another thread is in a slice, or RF_ENOMEM: the merge is then as before
 * the failed step, and a later call retries it. */
int rf__merge_work(rf__merge *m, size_t *fuel);
/* Works until the result is built, waiting out another thread's slice.
 * RF_MERGE_DONE or RF_ENOMEM. */
int rf__merge_finish(rf__merge *m);
/* Is the result built? (Acquire: a true answer makes it visible.) */
bool rf__merge_done(const rf__merge *m);
/* Hands over the built result (the merge's reference to it); once only,
 * after rf__merge_done. */
rf__batch *rf__merge_result(rf__merge *m);
/* Bytes the output arrays reserved at the start. */
size_t rf__merge_bytes(const rf__merge *m);
/* Input updates still to merge, as of the last slice (any thread: a hint
 * that another thread's slice may be making stale). */
size_t rf__merge_left(const rf__merge *m);
/* The board slot the merge was last placed in (merge_board.c's hint for
 * withdrawing it; any thread). */
uint32_t rf__merge_slot(const rf__merge *m);
void rf__merge_set_slot(rf__merge *m, uint32_t slot);

#endif

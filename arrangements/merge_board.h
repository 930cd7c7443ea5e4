/*
 * merge_board.h: merges offered by the workers that own them to whichever
 * worker is idle, so that a worker kept busy by its operators still has
 * its traces merged.
 *
 * With several workers, the one with the heavier shard of a round is
 * seldom idle, so its traces get only the merges inserts pay for, while
 * the other merges its own in the gaps: the busy worker's seeks then read
 * about twice as many batches and it stays the slower one (measured:
 * benchmarks/RESULTS.md, session 13). A spine with a board starts the
 * idle merges its worker has no idle time for and offers them; an idle
 * worker takes the one with the least work left and does it in slices
 * between checks for work of its own, while the owner goes on (it
 * finishes the merge itself if it needs the level first, and then
 * withdraws it: merge.h, spine.c).
 *
 * The board is a fixed array of slots, each NULL or a merge reference.
 * Threads: any worker offers (compare-and-swap NULL -> merge), takes
 * (exchange with NULL) or withdraws its own (compare-and-swap merge ->
 * NULL), so each offer is taken by one worker only; nothing else touches
 * the slots while workers run. A helper holds what it took through one
 * idle period and then puts it back.
 */
#ifndef RF_ARRANGEMENTS_MERGE_BOARD_H
#define RF_ARRANGEMENTS_MERGE_BOARD_H

#include <stdint.h>

#include "arrangements/merge.h"

typedef struct rf__merge_board rf__merge_board;

/* A board of `slots` slots (at least 1). NULL on ENOMEM (error set). */
rf__merge_board *rf__merge_board_new(uint32_t slots);
/* Drops the merges still offered. No worker may be using the board. */
void rf__merge_board_free(rf__merge_board *b);

/* Offers m to the board (taking a reference); false, and nothing taken,
 * when every slot is full. */
bool rf__merge_board_offer(rf__merge_board *b, rf__merge *m);
/* Takes m off the board if it is still there, waiting (its owner, holding
 * a reference, finished it itself or no longer needs it). */
void rf__merge_board_withdraw(rf__merge_board *b, rf__merge *m);
/* Can an offer succeed now? (A hint: another worker may fill the slot.) */
bool rf__merge_board_has_room(const rf__merge_board *b);

/* Does up to `fuel` units of merge work for the board, on *held (the
 * merge this worker holds) or else on the offered merge with the least
 * work left, which it then holds. A merge found done, or failed, is
 * dropped (its owner has it); one its owner is in a slice of goes back.
 * Returns 1 if it did work, 0 if none was to be had. An error (RF_ENOMEM)
 * is not returned: the owner meets it when it does the step itself. */
int rf__merge_board_help(rf__merge_board *b, rf__merge **held, size_t fuel);
/* Puts the held merge back on the board, where the next helper picks the
 * smallest again (kept in *held if the board is full). */
void rf__merge_board_return(rf__merge_board *b, rf__merge **held);

#endif

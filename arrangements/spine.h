/*
 * spine.h: a trace, the indexed history of one arranged collection, kept as
 * a sequence of batches merged in geometrically sized levels (an LSM tree).
 *
 * One writer (the arrange operator) appends batches whose lower equals the
 * spine's upper. Any number of readers (join, reduce, views) hold an
 * rf__reader with two frontiers:
 *   - logical: the reader will only ask about times in advance of it, so
 *     merges may advance older times to it and consolidate (compaction);
 *   - physical: the reader will ask for cursors "through" frontiers in
 *     advance of it, so batches beyond it must not be merged with batches
 *     before it.
 * The spine compacts to the meet of all readers' logical frontiers. With no
 * readers at all, it compacts everything (since = upper).
 *
 * Merging is amortized: inserting a batch of n updates grants fuel in
 * proportion to n, spent on merges in progress, so no insert stalls on a
 * large merge; rf__spine_exert lets an idle worker finish merges so memory
 * falls back after a burst.
 *
 * Threads: the writer and the readers' frontier calls run on the owning
 * worker. Cursors hold batch references and may be used after the spine
 * merges; rf__spine_snapshot gives readers on other threads the batch
 * list (ck_epoch). Merges offered to a board (rf__spine_share_merges) are
 * done in part by other workers.
 */
#ifndef RF_ARRANGEMENTS_SPINE_H
#define RF_ARRANGEMENTS_SPINE_H

#include <stdbool.h>

#include "arrangements/batch.h"
#include "arrangements/cursor.h"

typedef struct rf__spine rf__spine;
typedef struct rf__merge_board rf__merge_board; /* merge_board.h */
typedef struct rf__reader rf__reader;

/* A new, empty spine: upper = lower = since = {(0,...,0)}. */
rf__spine *rf__spine_new(uint32_t key_arity, uint32_t val_arity, uint32_t dim);
/* Frees the spine and its batches. Every reader must be freed first. */
void rf__spine_free(rf__spine *s);

/* Appends a batch (consumes the caller's reference). The batch's lower must
 * equal the spine's upper (RF_EINVAL otherwise, with the batch released). */
int rf__spine_insert(rf__spine *s, rf__batch *b);
/* Spends up to *fuel units of merge work (one unit ~ one update moved),
 * subtracting what it used. Returns 1 if merge work remains, 0 if none, or
 * RF_ENOMEM. */
int rf__spine_exert(rf__spine *s, size_t *fuel);
bool rf__spine_has_work(const rf__spine *s);
/* Merges every batch into one now, whatever the cost (about twice the
 * updates held): finishes the merges in progress, then merges the two
 * smallest batches until one is left, its times advanced to since. Batches
 * the readers' physical frontier has not passed yet stay pending. Returns 0
 * or RF_ENOMEM (the batches are then as they were, or partly merged). */
int rf__spine_compact(rf__spine *s);

const rf__antichain *rf__spine_upper(const rf__spine *s);
const rf__antichain *rf__spine_since(const rf__spine *s); /* logical compaction */
size_t rf__spine_updates(const rf__spine *s); /* updates held in all batches */
size_t rf__spine_batches(const rf__spine *s);
size_t rf__spine_bytes(const rf__spine *s);   /* bytes of batch arrays */

/* Several workers: from now on the spine starts the idle merges its
 * worker has no idle time for and offers them to `board`
 * (merge_board.h), so that idle workers do them; NULL stops it. The board
 * must outlive the spine's use of it. Owning worker only, while no other
 * worker runs. */
void rf__spine_share_merges(rf__spine *s, rf__merge_board *board);

/* Readers on other threads (live views). After rf__spine_publish_enable
 * (owning worker, before running), every change publishes an immutable list
 * of the spine's non-empty batches; rf__spine_snapshot, from ANY thread,
 * references each batch of the latest list (epoch-protected, lock-free) and
 * returns them in a new array: rf__batch_unref each and rf__free the array.
 * The batches stay valid however the spine merges meanwhile. */
int rf__spine_publish_enable(rf__spine *s);
int rf__spine_snapshot(rf__spine *s, rf__batch ***out, uint32_t *n);

/* A new reader whose frontiers start at the spine's current since. */
rf__reader *rf__spine_reader_new(rf__spine *s);
void rf__reader_free(rf__reader *r); /* accepts NULL */
rf__spine *rf__reader_spine(const rf__reader *r);
/* Moves a frontier forward (a frontier not in advance of the current one is
 * an error, RF_EINVAL). */
int rf__reader_set_logical(rf__reader *r, const rf__antichain *f);
int rf__reader_set_physical(rf__reader *r, const rf__antichain *f);
/* Opens a cursor over every batch whose upper is not beyond `through`
 * (NULL: every batch). RF_ESTATE if `through` falls inside a batch. */
int rf__reader_cursor(rf__reader *r, const rf__antichain *through, rf__cursor *out);
/* The same batches, for whole-key lookups (see rf__seeker in cursor.h). */
int rf__reader_seeker(rf__reader *r, const rf__antichain *through, rf__seeker *out);

#endif

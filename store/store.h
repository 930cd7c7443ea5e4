/*
 * store.h: the segmented, checksummed, append-only record log at the bottom
 * of rhizoflow's durable store (DESIGN §8). A store is a directory of
 * segment files NNNNNNNN.seg; every record is framed with its length, a type
 * byte and an XXH3-64 checksum (docs/store-format.md gives the bytes). This
 * layer deals in bytes and records only; deltas live in store/delta.h,
 * collection updates in store/updates.h.
 *
 * Batches: records appended between rf__store_batch_begin and
 * rf__store_batch_commit are all-or-nothing across a crash: they are framed
 * by a BEGIN and a COMMIT record, readers see none of them before the
 * commit, and recovery drops a batch whose COMMIT record is missing.
 * Records appended outside a batch are committed one by one.
 *
 * Thread contract: one writer, any number of readers.
 *  - The rf__store handle and rf__store_append, _batch_*, _sync, _close and
 *    _get_stats belong to the one thread that opened it (the writer).
 *  - Readers (rf__store_reader_*) may be created and used on other threads
 *    while the writer appends: each reader has its own file descriptors
 *    and sees every record whose append (or whose batch's commit) has
 *    returned: it reads up to the end the writer publishes under the
 *    store's mutex. A reader must be closed before the store it reads.
 *  - rf__store_durable and rf__store_wait_durable may be called from any
 *    thread, but not concurrently with rf__store_close.
 *  - Under the group policy the store owns one background thread, the
 *    flusher, which makes a pending group durable T ms after its first
 *    append (store.c documents the mutex and condition variables it shares
 *    with the writer and the waiters).
 * Across processes, one process at a time may open a store for writing (an
 * exclusive flock on the directory).
 */
#ifndef RF_STORE_STORE_H
#define RF_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "rhizoflow.h"

/* Record types. 0 is never written (a zeroed region never parses). */
enum {
  RF_STORE_REC_RAW = 1,    /* opaque bytes (tests) */
  RF_STORE_REC_DELTA = 2,  /* one delta, canonical JSON (store/delta.h) */
  RF_STORE_REC_SYMBOL = 3, /* [u64 id][string bytes] (store/symbols.h) */
  RF_STORE_REC_BEGIN = 4,  /* a batch starts: empty payload (framing only) */
  RF_STORE_REC_COMMIT = 5, /* the batch ends: [u32 records in it] (framing only) */
  RF_STORE_REC_UPDATES = 6, /* a batch of updates to a named collection
                               (store/updates.h) */
};

/* BEGIN and COMMIT are written by the batch functions only: readers skip
 * them and rf__store_append refuses them. */
static inline int rf__store_type_is_framing(unsigned type) {
  return type == RF_STORE_REC_BEGIN || type == RF_STORE_REC_COMMIT;
}

/* The largest record payload: a frame claiming more is corrupt. */
#define RF_STORE_MAX_RECORD (64u << 20)
/* The default store directory of the embedded setup (RF_STORE_DEFAULT_DIR)
 * comes from rhizoflow.h. */

typedef enum rf__durability {
  RF_DURABILITY_FSYNC = 0, /* fdatasync before every append returns */
  RF_DURABILITY_GROUP = 1, /* fdatasync once per group of appends */
  RF_DURABILITY_NONE = 2,  /* write(2) only: survives a process crash,
                              not a power loss */
} rf__durability;

typedef struct rf__store_policy {
  rf__durability durability;
  uint32_t group_n;      /* group commit: close the group after N appends (>= 1) */
  uint32_t group_ms;     /* ... or T ms after its first append (the flusher
                            thread closes it then, even with no more appends) */
  uint64_t segment_size; /* roll to a new segment past this many bytes */
  int read_only;         /* open for reading only: recover nothing, lock nothing */
  uint32_t write_buffer; /* a batch's frames are written out in pieces of about
                            this many bytes (0: 1 MiB); tests make it small so
                            that a crash can fall between the pieces */
} rf__store_policy;

/* fsync, group of 64 / 10 ms, 64 MiB segments, read-write, 1 MiB. */
rf__store_policy rf__store_policy_default(void);

/* A record's place in the log: segment number and byte offset of its frame
 * in that segment. Positions order like the log. */
typedef struct rf__store_pos {
  uint64_t segment;
  uint64_t offset;
} rf__store_pos;

static inline int rf__store_pos_cmp(rf__store_pos a, rf__store_pos b) {
  if (a.segment != b.segment) return a.segment < b.segment ? -1 : 1;
  return a.offset < b.offset ? -1 : a.offset > b.offset;
}

typedef struct rf__store rf__store;

/* Opens (creating it and its first segment if needed) the store in `dir`,
 * with `policy` (NULL: rf__store_policy_default()), and recovers it: every
 * segment's header and every record's checksum is verified. When the
 * directory or a segment file is created, the directory holding it is
 * fsync'ed too (policies fsync and group), so that the file's existence is
 * durable, not only its bytes.
 *  - A torn or corrupt tail (the last segment ends in a record that is
 *    incomplete or fails its checksum, and no whole record follows it) is
 *    truncated to the last whole record; an unfinished batch at the end of
 *    the last segment (a BEGIN with no COMMIT: the writer died inside it) is
 *    truncated to where it began. rf__store_recovery_note says what was
 *    dropped (bytes, records). (Read-only: nothing is truncated; reads stop
 *    before it and the note says what a writer would drop.)
 *  - Anything else wrong is an error, with rf_last_error naming the segment
 *    file and byte offset: RF_ECORRUPT for bad bytes, a segment missing from
 *    the sequence, a truncated segment before the last, or batch framing
 *    that does not match up; RF_EVERSION for a segment of a newer format
 *    version; RF_EIO for a failing system call or a store another process
 *    holds open for writing.
 * Stores of format version 1 (before batches) open and read as they are;
 * a writer's first append after opening one starts a new segment of the
 * current version, so that no version-1 segment holds batch records.
 * Under the group policy (not read-only) this starts the flusher thread.
 * Writes *out only on success. */
int rf__store_open(const char *dir, const rf__store_policy *policy, rf__store **out);

/* Appends one record (type 1..255 except the framing types 4 and 5; len <=
 * RF_STORE_MAX_RECORD bytes, copied) and writes its position to *pos (may
 * be NULL).
 *
 * Outside a batch the record is committed at once (readers may see it when
 * this returns) and the return value says whether it is acknowledged, that
 * is, whether it has met the durability policy:
 *   0  acknowledged. fsync: fdatasync of the segment returned after the
 *      record was written (survives a power loss). group: this append
 *      closed its group (the N-th append since the last sync, or the first
 *      one at least T ms after the group's first), the group was synced,
 *      and this record and every earlier one are acknowledged. none: the
 *      record was handed to the kernel with write(2) (survives a crash of
 *      the process, not of the machine).
 *   1  (group commit only) written, not yet acknowledged: its group is
 *      still open. The flusher thread syncs it about T ms after the group's
 *      first append even if no other append comes; so do the append that
 *      closes the group, rf__store_sync and rf__store_close. Ask with
 *      rf__store_durable, or block with rf__store_wait_durable.
 * Inside a batch the record is written but not committed: it returns 1 and
 * the record is neither visible to readers nor acknowledged before
 * rf__store_batch_commit (and it is gone if the batch is aborted or the
 * process dies first).
 *   <0 an error: RF_EINVAL (type 0, 4 or 5, too long), RF_ESTATE (read-only
 *      store), RF_EIO, RF_ENOMEM. After RF_EIO (a failed write or sync, also
 *      one by the flusher) the store refuses further appends with RF_EIO:
 *      reopen it to recover. */
int rf__store_append(rf__store *st, uint8_t type, const void *bytes, size_t len,
                     rf__store_pos *pos);

/* Starts a batch: the records appended until rf__store_batch_commit are
 * committed together, all or nothing. A batch is never split across
 * segments (a segment may grow past the configured size by the rest of a
 * batch); while it is open, readers see nothing of it. RF_ESTATE if a
 * batch is open already or the store is read-only; RF_EIO after a failure. */
int rf__store_batch_begin(rf__store *st);
/* Commits the open batch: writes its COMMIT record, publishes the batch to
 * readers, and applies the durability policy to it as one append of its
 * records: 0 acknowledged (every record of the batch and every earlier
 * one), 1 committed but its group still open (group commit), <0 an error:
 * RF_ESTATE (no batch open, or an append to it failed: abort it), RF_ENOMEM
 * (the batch is still open: abort it), RF_EIO (the store has failed; the
 * batch is not acknowledged: if its COMMIT record was written but the sync
 * failed, readers may already see it and recovery keeps it or drops it
 * whole, depending on what reached the disk). *pos (may be NULL) receives the
 * position of the COMMIT record: the batch is acknowledged exactly when
 * rf__store_durable(st, *pos) holds. A batch with no records writes
 * nothing and returns 0 (*pos is then the current end of the log). */
int rf__store_batch_commit(rf__store *st, rf__store_pos *pos);
/* Drops the open batch: its records are cut off the segment (ftruncate)
 * and never seen by anyone. 0 (also when no batch is open) or RF_EIO. */
int rf__store_batch_abort(rf__store *st);
/* 1 while a batch is open. */
int rf__store_in_batch(const rf__store *st);

/* Makes every committed record durable now (fdatasync unless policy
 * none) and acknowledges the open group. Records of an open batch are not
 * committed by this. 0 or RF_EIO. */
int rf__store_sync(rf__store *st);

/* 1 if the record at pos is acknowledged (see rf__store_append), else 0.
 * Any thread. */
int rf__store_durable(const rf__store *st, rf__store_pos pos);

/* Blocks until the record at pos is acknowledged (under group commit the
 * flusher acknowledges it within about T ms plus one fdatasync). Any
 * thread, including the writer's. 0, RF_EIO (a write or sync failed: it
 * never will be), or RF_EINVAL if no committed record is at or after pos
 * (pos is at or past the end readers see: not appended, or in a batch not
 * yet committed; waiting would never end). */
int rf__store_wait_durable(rf__store *st, rf__store_pos pos);

/* Stops the flusher, drops an open batch (as rf__store_batch_abort), syncs
 * (as rf__store_sync, unless policy none) and frees the handle. Accepts
 * NULL. Returns 0 or RF_EIO (the handle is freed either way). */
int rf__store_close(rf__store *st);

/* What recovery did at open, e.g. "00000003.seg: torn tail at offset 4096:
 * dropped 17 bytes (1 incomplete record)"; NULL when nothing was wrong.
 * Valid until rf__store_close. */
const char *rf__store_recovery_note(const rf__store *st);

typedef struct rf__store_stats {
  uint64_t n_segments;
  uint64_t n_records;     /* committed records in the log, framing excluded */
  uint64_t n_batches;     /* committed batches (COMMIT records) */
  uint64_t bytes;         /* total size of all segments */
  uint64_t payload_bytes; /* sum of record payload lengths, framing excluded */
  uint64_t n_by_type[256]; /* committed records by type (BEGIN, COMMIT included) */
  uint64_t dropped_bytes; /* tail bytes truncated (or, read-only, ignored) at open */
} rf__store_stats;

/* The writer's statistics (the writer's thread; any single thread for a
 * read-only store). */
void rf__store_get_stats(const rf__store *st, rf__store_stats *out);

/* A reader replays records in log order, from a position. */
typedef struct rf__store_reader rf__store_reader;

typedef struct rf__store_record {
  uint8_t type;
  const uint8_t *data; /* valid until the next call on the reader */
  size_t len;
  rf__store_pos pos;
} rf__store_record;

/* Opens a reader of st starting at `from` (a record position returned by
 * append or by a reader, or {0, 0} for the beginning; a position past the
 * end reads nothing). Writes *out only on success. */
int rf__store_reader_open(rf__store *st, rf__store_pos from, rf__store_reader **out);
/* Makes the reader stop before `until`: records at positions >= until are
 * not read (replay "up to a log position"). {UINT64_MAX, 0}: no bound, the
 * default. */
void rf__store_reader_set_until(rf__store_reader *r, rf__store_pos until);
/* Reads the next record: 1 and *rec filled, 0 at the current end of the log
 * (call again later to tail it), or RF_ECORRUPT (a checksum that no longer
 * matches: the message names segment and offset) / RF_EIO. The framing
 * records (BEGIN, COMMIT) are skipped: a reader serves the records of
 * committed batches only, since the writer publishes a batch's end at its
 * commit. */
int rf__store_reader_next(rf__store_reader *r, rf__store_record *rec);
/* Where the next read starts: a reader opened there later continues this
 * one (tailing across reopenings). */
rf__store_pos rf__store_reader_position(const rf__store_reader *r);
/* Accepts NULL. */
void rf__store_reader_close(rf__store_reader *r);

/* The file name of segment n ("00000007.seg") into buf (>= 16 bytes). */
void rf__store_segment_name(uint64_t n, char *buf, size_t cap);

#endif

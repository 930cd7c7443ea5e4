/*
 * store.h: the segmented, checksummed, append-only record log at the bottom
 * of rhizoflow's durable store (DESIGN §8). A store is a directory of
 * segment files NNNNNNNN.seg; every record is framed with its length, a type
 * byte and an XXH3-64 checksum (docs/store-format.md gives the bytes). This
 * layer deals in bytes and records only; deltas live in store/delta.h.
 *
 * Thread contract: one writer, any number of readers. The rf__store handle
 * and rf__store_append/_sync/_close belong to the one thread that opened it
 * (_owner). Readers (rf__store_reader_*) may be created and used on other
 * threads while the writer appends: each reader has its own file
 * descriptors and sees every record whose append has returned (it reads up
 * to the end published by the writer under a mutex). A reader must be
 * closed before the store it reads. Across processes, one process at a
 * time may open a store for writing (an exclusive flock on the directory).
 */
#ifndef RF_STORE_STORE_H
#define RF_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

/* Record types. 0 is never written (a zeroed region never parses). */
enum {
  RF_STORE_REC_RAW = 1,   /* opaque bytes (tests, plain collection updates) */
  RF_STORE_REC_DELTA = 2, /* one delta, canonical JSON (store/delta.h) */
  RF_STORE_REC_SYMBOL = 3, /* [u64 id][string bytes] (store/symbols.h) */
};

/* The largest record payload: a frame claiming more is corrupt. */
#define RF_STORE_MAX_RECORD (64u << 20)
/* The default store directory of the embedded setup. */
#define RF_STORE_DEFAULT_DIR "./rhizoflow-data"

typedef enum rf__durability {
  RF_DURABILITY_FSYNC = 0, /* fdatasync before every append returns */
  RF_DURABILITY_GROUP = 1, /* fdatasync once per group of appends */
  RF_DURABILITY_NONE = 2,  /* write(2) only: survives a process crash,
                              not a power loss */
} rf__durability;

typedef struct rf__store_policy {
  rf__durability durability;
  uint32_t group_n;      /* group commit: close the group after N appends (>= 1) */
  uint32_t group_ms;     /* ... or once T ms have passed since its first append */
  uint64_t segment_size; /* roll to a new segment past this many bytes */
  int read_only;         /* open for reading only: recover nothing, lock nothing */
} rf__store_policy;

/* fsync, group of 64 / 10 ms, 64 MiB segments, read-write. */
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
 * segment's header and every record's checksum is verified.
 *  - A torn or corrupt tail (the last segment ends in a record that is
 *    incomplete or fails its checksum, and no whole record follows it) is
 *    truncated to the last whole record; rf__store_recovery_note says so,
 *    with the number of bytes dropped. (Read-only: not truncated; reads stop
 *    before it and the note says what a writer would drop.)
 *  - Anything else wrong is an error, with rf_last_error naming the segment
 *    file and byte offset: RF_ECORRUPT for bad bytes, a segment missing from
 *    the sequence or a truncated segment before the last; RF_EINVAL for a
 *    segment of a newer format version; RF_EIO for a failing system call or
 *    a store another process holds open for writing.
 * Writes *out only on success. */
int rf__store_open(const char *dir, const rf__store_policy *policy, rf__store **out);

/* Appends one record (type 1..255, len <= RF_STORE_MAX_RECORD bytes, copied)
 * and writes its position to *pos (may be NULL). Returns:
 *   0  acknowledged: the record (and every earlier one) has met the policy:
 *      fsync: on disk (fdatasync returned); group: this append closed its
 *      group (the N-th append of the group, or the first append at least T
 *      ms after the group's first), and the group is on disk; none: handed
 *      to the kernel with write(2).
 *   1  (group commit only) written but not yet acknowledged: the group is
 *      still open. It is acknowledged by the append that closes the group,
 *      by rf__store_sync, or by rf__store_close. rf__store_durable tells.
 *   <0 an error (RF_EINVAL, RF_EIO, RF_ENOMEM). After RF_EIO the store
 *      refuses further appends (RF_EIO): reopen it to recover. */
int rf__store_append(rf__store *st, uint8_t type, const void *bytes, size_t len,
                     rf__store_pos *pos);

/* Makes every appended record durable now (fdatasync unless policy none)
 * and acknowledges the open group. 0 or RF_EIO. */
int rf__store_sync(rf__store *st);

/* 1 if the record at pos is acknowledged (see rf__store_append), else 0. */
int rf__store_durable(const rf__store *st, rf__store_pos pos);

/* Syncs (as rf__store_sync, unless policy none) and frees the handle.
 * Accepts NULL. Returns 0 or RF_EIO (the handle is freed either way). */
int rf__store_close(rf__store *st);

/* What recovery did at open, e.g. "00000003.seg: torn tail at offset 4096:
 * dropped 17 bytes (1 incomplete record)"; NULL when nothing was wrong.
 * Valid until rf__store_close. */
const char *rf__store_recovery_note(const rf__store *st);

typedef struct rf__store_stats {
  uint64_t n_segments;
  uint64_t n_records;     /* whole records in the log */
  uint64_t bytes;         /* total size of all segments */
  uint64_t payload_bytes; /* sum of record payload lengths */
  uint64_t n_by_type[256];
  uint64_t dropped_bytes; /* tail bytes truncated (or, read-only, ignored) at open */
} rf__store_stats;

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
 * matches: the message names segment and offset) / RF_EIO. */
int rf__store_reader_next(rf__store_reader *r, rf__store_record *rec);
/* Accepts NULL. */
void rf__store_reader_close(rf__store_reader *r);

/* The file name of segment n ("00000007.seg") into buf (>= 16 bytes). */
void rf__store_segment_name(uint64_t n, char *buf, size_t cap);

#endif

/*
 * delta.h: RhizomeDB deltas in the store (DESIGN §8, §9). A delta arrives
 * as one line of JSON, {id, timestamp, author, system, pointers: [{role,
 * target}]}; it is validated, written in a canonical JSON encoding, and
 * addressed by the XXH3-128 of that encoding. rf__deltas wraps a record log
 * (store.h) with an in-memory index of the addresses it holds, rebuilt on
 * open, so that appending a delta already stored stores nothing.
 *
 * The canonical encoding (docs/store-format.md): compact JSON, keys in the
 * order id, timestamp, author, system, pointers; each pointer {role,
 * target}; a reference target {id} or {id, context}; pointers in the order
 * given; strings with only the escapes JSON requires (", \, and control
 * characters; \b \f \n \r \t short, others \u00XX) and every other
 * character as raw UTF-8; integers in decimal; a real with an integral value
 * of magnitude below 2^53 as that integer, other reals in the shortest
 * %.17g-family form that reads back to the same double.
 *
 * Batches: rf__deltas_batch_begin/_commit/_abort wrap the log's batches
 * (store.h) so that the address index follows them: a delta appended in a
 * batch is a duplicate for the rest of the batch, and joins the index only
 * when the batch commits. rf__deltas_ingest reads JSON Lines in batches of
 * N lines, each validated in full and then appended as one log batch, so
 * its memory is bounded by the batch, not the input.
 *
 * Thread contract: as store.h: an rf__deltas handle belongs to one thread
 * (the writer); rf__delta_canonicalize and rf__delta_address are pure and
 * may be called from any thread.
 */
#ifndef RF_STORE_DELTA_H
#define RF_STORE_DELTA_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "store/store.h"

/* A content address: XXH3-128 of the canonical encoding. */
typedef struct rf__delta_addr {
  uint64_t lo, hi;
} rf__delta_addr;

/* A growable byte buffer (rf__malloc'd); free data with rf__free. */
typedef struct rf__bytes {
  uint8_t *data;
  size_t len, cap;
} rf__bytes;

/* Parses one delta (json, len bytes, not NUL-terminated), validates it and
 * appends its canonical encoding to out. Returns 0, RF_EINVAL (a bad delta:
 * err, if given, receives a message naming the field, e.g. "field
 * 'pointers[1].target.id': must be a non-empty string, got number"; out
 * unchanged) or RF_ENOMEM. */
/* Appends n bytes. 0 or RF_ENOMEM. */
int rf__bytes_put(rf__bytes *b, const void *p, size_t n);
/* Appends s (n bytes) as a JSON string in the canonical style above. 0 or
 * RF_ENOMEM. Pure: any thread. */
int rf__json_put_string(rf__bytes *b, const char *s, size_t n);
/* The shortest %g form of d that reads back to d, into buf (>= 32 bytes). */
void rf__json_shortest_real(double d, char *buf, size_t cap);

int rf__delta_canonicalize(const char *json, size_t len, rf__bytes *out, char *err, size_t err_cap);
/* The same, and on success hands the caller the parsed delta (a jansson
 * json_t; the caller json_decref()s it), so that a reader of its fields
 * need not parse the canonical text again. Its values are the input's:
 * where the canonical form writes an integral real as an integer (put_number
 * in delta.c), the tree still holds the real. */
struct json_t;
int rf__delta_canonicalize_tree(const char *json, size_t len, rf__bytes *out, char *err,
                                size_t err_cap, struct json_t **tree);

rf__delta_addr rf__delta_address(const void *canon, size_t len);

/* The timestamp of a delta in canonical form (a DELTA record's payload),
 * read without a full parse. 0, or RF_ECORRUPT if the bytes do not start
 * like a canonical delta. Replaying "up to a delta timestamp" filters on it. */
int rf__delta_timestamp(const void *canon, size_t len, int64_t *ts);

typedef struct rf__deltas rf__deltas;

/* Opens the store in dir (rf__store_open) and reads every record back to
 * index the deltas it holds. Errors as rf__store_open, and RF_ECORRUPT for
 * a record that fails its checksum while being read. */
int rf__deltas_open(const char *dir, const rf__store_policy *policy, rf__deltas **out);
/* As rf__store_close. Accepts NULL. */
int rf__deltas_close(rf__deltas *ds);
/* The record log underneath (owned by ds). */
rf__store *rf__deltas_store(rf__deltas *ds);
/* Number of distinct deltas stored. */
uint64_t rf__deltas_count(const rf__deltas *ds);
/* 1 if a delta with this address is stored. */
int rf__deltas_contains(const rf__deltas *ds, rf__delta_addr a);

#define RF_DELTA_DUPLICATE 2
/* Validates and appends one delta given as JSON. Returns 0 (appended and
 * acknowledged: rf__store_append's 0), 1 (appended, its group commit still
 * open, or its batch not yet committed), RF_DELTA_DUPLICATE (already
 * stored, or appended earlier in the open batch: nothing written),
 * RF_EINVAL (a bad delta: rf_last_error names the field; nothing written),
 * RF_EIO or RF_ENOMEM. addr, if given, receives the content address (0 to
 * 2). pos, if given, receives the record's position (0 and 1 only). */
int rf__deltas_add_json(rf__deltas *ds, const char *json, size_t len, rf__delta_addr *addr);
int rf__deltas_add_json_at(rf__deltas *ds, const char *json, size_t len, rf__delta_addr *addr,
                           rf__store_pos *pos);

/* A batch of deltas, all or nothing (rf__store_batch_*). Begin: RF_ESTATE
 * if one is open. Commit: as rf__store_batch_commit (0 acknowledged, 1
 * pending under group commit, <0: then abort the batch); on success the
 * batch's deltas join the index. Abort: drops the batch and forgets its
 * deltas. Use these, not the log's own batch calls, for batches of deltas:
 * the index follows only these. */
int rf__deltas_batch_begin(rf__deltas *ds);
int rf__deltas_batch_commit(rf__deltas *ds, rf__store_pos *pos);
int rf__deltas_batch_abort(rf__deltas *ds);

/* Lines per ingest batch unless told otherwise. */
#define RF_INGEST_BATCH_DEFAULT 10000

typedef struct rf__ingest_report rf__ingest_report;

typedef struct rf__ingest_opts {
  size_t batch_lines;      /* lines per batch, blank lines included (0: 10,000) */
  size_t max_line;         /* longest accepted line in bytes (0: 1 MiB) */
  size_t max_messages;     /* rejected lines described in the report (0: 20) */
  uint64_t progress_every; /* call progress every this many lines (0: never) */
  /* the counts so far (accepted and duplicates are counted per committed
   * batch, so they trail the lines read by up to a batch) */
  void (*progress)(void *arg, const rf__ingest_report *so_far);
  /* every bad line: its number and what is wrong ("field 'id': missing") */
  void (*on_reject)(void *arg, uint64_t line, const char *message);
  /* every rejected batch, once its last line is read: nothing of lines
   * first..last was appended, because bad_lines of them were bad */
  void (*on_batch_rejected)(void *arg, uint64_t first, uint64_t last, uint64_t bad_lines);
  void *arg; /* passed to the callbacks */
} rf__ingest_opts;

struct rf__ingest_report {
  uint64_t lines;            /* lines read (blank lines included) */
  uint64_t accepted;         /* new deltas appended */
  uint64_t duplicates;       /* deltas already stored (or repeated earlier in the input) */
  uint64_t rejected;         /* bad lines */
  uint64_t batches;          /* batches appended (every line valid) */
  uint64_t rejected_batches; /* batches not appended (one bad line or more) */
  char **messages;           /* up to max_messages of "line N: ..." */
  size_t n_messages;
};

/* Ingests JSON Lines from `in` (blank lines are skipped) in batches of
 * opts->batch_lines lines. Each batch is read and validated in full; if any
 * of its lines is bad, nothing of that batch is appended (every bad line is
 * counted in rep->rejected, the first max_messages described, and the batch
 * in rep->rejected_batches) and ingestion goes on with the next batch.
 * Otherwise the batch's deltas not stored yet are appended, in input order,
 * as one batch of the log: a crash leaves each batch wholly stored or not
 * at all. Memory is bounded by one batch (its lines' canonical bytes and
 * addresses), whatever the input's length. At the end the store is synced,
 * so every accepted delta is acknowledged when this returns 0 or RF_EINVAL.
 * Returns 0 (every line good), RF_EINVAL (some lines were rejected: the
 * other batches were appended; rf_last_error sums it up), or an error that
 * stopped ingestion (RF_EIO, RF_ENOMEM, RF_ESTATE if a batch is open):
 * batches before it are stored, the one in progress is not. *rep is always
 * filled; free it with rf__ingest_report_free. `in` is read by this thread
 * only (it is locked with flockfile meanwhile). */
int rf__deltas_ingest(rf__deltas *ds, FILE *in, const rf__ingest_opts *opts,
                      rf__ingest_report *rep);
void rf__ingest_report_free(rf__ingest_report *rep);

#endif

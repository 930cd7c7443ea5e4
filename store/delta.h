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
int rf__delta_canonicalize(const char *json, size_t len, rf__bytes *out, char *err, size_t err_cap);

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
 * open), RF_DELTA_DUPLICATE (already stored: nothing written), RF_EINVAL (a
 * bad delta: rf_last_error names the field; nothing written), RF_EIO or
 * RF_ENOMEM. addr, if given, receives the content address (0 to 2). */
int rf__deltas_add_json(rf__deltas *ds, const char *json, size_t len, rf__delta_addr *addr);

typedef struct rf__ingest_opts {
  size_t max_line;        /* longest accepted line in bytes (0: 1 MiB) */
  size_t max_messages;    /* rejected lines described in the report (0: 20) */
  uint64_t progress_every; /* call progress every this many lines (0: never) */
  /* phase 1 = lines parsed, phase 2 = deltas appended; done = count so far */
  void (*progress)(void *arg, int phase, uint64_t done);
  void *progress_arg;
} rf__ingest_opts;

typedef struct rf__ingest_report {
  uint64_t lines;      /* lines read (blank lines included) */
  uint64_t accepted;   /* new deltas appended */
  uint64_t duplicates; /* deltas already stored (or repeated in the batch) */
  uint64_t rejected;   /* bad lines */
  char **messages;     /* up to max_messages of "line N: ..." */
  size_t n_messages;
} rf__ingest_report;

/* Ingests a batch: every line of `in` (JSON Lines; blank lines are
 * skipped) is parsed and validated first; if any line is bad, nothing is
 * appended, every bad line is counted in rep->rejected (the first
 * max_messages described) and RF_EINVAL is returned. Otherwise each delta
 * not already stored is appended, in input order, and the store is synced
 * (so every accepted delta is acknowledged when this returns 0). A crash
 * during the append phase may leave a prefix of the batch stored: ingesting
 * the same batch again completes it (appends are idempotent). *rep is
 * always filled; free it with rf__ingest_report_free. */
int rf__deltas_ingest(rf__deltas *ds, FILE *in, const rf__ingest_opts *opts,
                      rf__ingest_report *rep);
void rf__ingest_report_free(rf__ingest_report *rep);

#endif

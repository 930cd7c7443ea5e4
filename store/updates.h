/*
 * updates.h: plain collection updates in the store (DESIGN §8). A batch of
 * updates to one named collection at one time, rows of 64-bit words each
 * with a signed diff (what an rf_input takes), is one UPDATES record:
 *
 *   [u64 time][u32 arity][u32 n rows][u32 name length][name bytes]
 *   then n times: [arity x u64 word][i64 diff]       (little-endian)
 *
 * The collection is named by its string in every record, not by a symbol
 * id: a record then decodes on its own, from any position and on any
 * thread, with no table (a symbol table belongs to the writer's thread,
 * and a reader that starts mid-log has not seen the SYMBOL records before
 * it). The name costs a few bytes per batch of rows.
 *
 * This module encodes and decodes those bytes and appends them; it knows
 * nothing of the engine (DESIGN §13): replay hands rows to a callback, and
 * the caller feeds them to its dataflow.
 *
 * Thread contract: rf__updates_append is the writer's (store.h);
 * rf__updates_decode is pure (each thread with its own scratch).
 */
#ifndef RF_STORE_UPDATES_H
#define RF_STORE_UPDATES_H

#include <stddef.h>
#include <stdint.h>

#include "store/delta.h" /* rf__bytes */
#include "store/store.h"

/* Limits checked on append and on decode. */
#define RF_UPDATES_MAX_NAME 4096 /* bytes in a collection name */
#define RF_UPDATES_MAX_ARITY 32  /* words in a row (RF_MAX_COLS) */
#define RF_UPDATES_HEADER 20u    /* bytes before the name */

/* One decoded UPDATES record. */
typedef struct rf__updates {
  const char *name; /* NUL-terminated */
  size_t name_len;
  uint64_t time;
  uint32_t arity;
  size_t n;
  const uint64_t *rows; /* n * arity words, row after row */
  const int64_t *diffs; /* n */
} rf__updates;

/* Where decode puts what it returns (rf__malloc'd, reused from call to
 * call; zero-initialise, free with rf__updates_scratch_free). */
typedef struct rf__updates_scratch {
  char *name;
  size_t name_cap;
  uint64_t *rows;
  size_t rows_cap;
  int64_t *diffs;
  size_t diffs_cap;
} rf__updates_scratch;

void rf__updates_scratch_free(rf__updates_scratch *sc);

/* Checks the arguments of an append: 0 or RF_EINVAL naming what is wrong
 * (no name, a name with a NUL byte or over RF_UPDATES_MAX_NAME bytes, arity
 * 0 or over RF_UPDATES_MAX_ARITY, rows or diffs NULL with n > 0). */
int rf__updates_check(const char *name, size_t name_len, uint32_t arity, const uint64_t *rows,
                      const int64_t *diffs, size_t n);

/* The most rows one record can hold for this name and arity. */
size_t rf__updates_max_rows(size_t name_len, uint32_t arity);

/* Appends the encoding of one record (n <= rf__updates_max_rows) to out.
 * 0 or RF_ENOMEM. The arguments must have passed rf__updates_check. */
int rf__updates_encode(const char *name, size_t name_len, uint64_t time, uint32_t arity,
                       const uint64_t *rows, const int64_t *diffs, size_t n, rf__bytes *out);

/* Decodes an UPDATES payload into *out (pointing into sc). RF_ECORRUPT
 * (err, if given, says what is wrong: "name length 9000 over the limit",
 * "payload is 100 bytes, 20 + 5 + 3 rows of 24 expected", ...) or
 * RF_ENOMEM. */
int rf__updates_decode(const uint8_t *data, size_t len, rf__updates_scratch *sc, rf__updates *out,
                       char *err, size_t err_cap);

/* Appends n updates to collection `name` at `time` (rows: n * arity words;
 * diffs: n), all or nothing: as one UPDATES record, or, when they do not
 * fit in one record (RF_STORE_MAX_RECORD), as several in one batch (in the
 * open batch if there is one, else in a batch of their own). scratch holds
 * the encoding (reused). Returns as rf__store_append (0 acknowledged, 1
 * pending under group commit or in the caller's open batch) or
 * rf__store_batch_commit, or <0: RF_EINVAL (bad arguments, as
 * rf__updates_check), RF_EIO, RF_ENOMEM. n == 0 writes nothing and returns
 * 0 (pos not written). *pos (may be NULL) receives the position that
 * tells when the updates are acknowledged (rf__store_durable): the
 * record's, or, when split into a batch of their own, that batch's COMMIT
 * record's (in the caller's open batch: the last record's; the caller's
 * commit position is the one that counts). */
int rf__updates_append(rf__store *st, const char *name, uint64_t time, uint32_t arity,
                       const uint64_t *rows, const int64_t *diffs, size_t n, rf__bytes *scratch,
                       rf__store_pos *pos);

#endif

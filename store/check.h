/*
 * check.h: verifying a whole store (check.c), behind rf_store_check and
 * `rhizoflow store check`: every record read back and its checksum checked
 * again, every delta in canonical form and stored once, the symbol table
 * consistent, every UPDATES record well formed, no record of an unknown
 * type. Problems are reported one message each, naming segment file and
 * byte offset.
 *
 * Thread contract: the writer's thread (or, for a read-only store, any one
 * thread): it reads the store's statistics and builds its own symbol table.
 */
#ifndef RF_STORE_CHECK_H
#define RF_STORE_CHECK_H

#include <stdint.h>

#include "store/delta.h"

typedef void (*rf__problem_fn)(void *ctx, const char *message);

/* Checks ds's store. note_is_problem: count the recovery note (a damaged
 * tail a read-only open left in place) as a problem. fn (may be NULL) gets
 * each problem's message. Returns 0 (none), RF_ECORRUPT (*problems, if
 * given, says how many) or an error that stopped the check (RF_EIO,
 * RF_ENOMEM). */
int rf__store_check(rf__deltas *ds, int note_is_problem, rf__problem_fn fn, void *ctx,
                    uint64_t *problems);

#endif

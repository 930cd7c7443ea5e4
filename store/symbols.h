/*
 * symbols.h: the persisted symbol table (DESIGN §8): strings interned to
 * 64-bit ids that stay the same across restarts. A new string is appended to
 * the record log (store.h) as a SYMBOL record, [u64 id][the string's bytes],
 * and the table is rebuilt from those records when it is opened. Ids are
 * dense: 1, 2, 3, ... in log order (0 is never an id).
 *
 * Thread contract: a table belongs to the thread that writes its store
 * (store.h's writer); nothing here is safe to call from another thread.
 */
#ifndef RF_STORE_SYMBOLS_H
#define RF_STORE_SYMBOLS_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

typedef struct rf__symtab rf__symtab;

/* Builds the table of st from the SYMBOL records in its log. st must
 * outlive the table. RF_ECORRUPT (naming segment and offset) if a SYMBOL
 * record is too short, its id is not the next one, or its string is there
 * already; RF_ENOMEM; the reader's errors. Writes *out only on success. */
int rf__symtab_open(rf__store *st, rf__symtab **out);
/* Frees the table (not the store). Accepts NULL. */
void rf__symtab_close(rf__symtab *t);

/* The id of the len bytes at s (any bytes; at most RF_STORE_MAX_RECORD - 8),
 * interning them if new: a new string is appended to the store, and the
 * return value is rf__store_append's (0 acknowledged, 1 pending in a group
 * commit); a known one returns 0. RF_EINVAL (too long), RF_ESTATE (a new
 * string while a batch is open on the store: intern before beginning it),
 * RF_EIO, RF_ENOMEM: then *id is not written and the string is not
 * interned. */
int rf__symtab_intern(rf__symtab *t, const void *s, size_t len, uint64_t *id);
/* 1 and *id if s is interned, else 0. */
int rf__symtab_find(const rf__symtab *t, const void *s, size_t len, uint64_t *id);
/* The string of id: 0 with *s (NUL-terminated, valid until close) and *len,
 * or RF_ENOTFOUND. */
int rf__symtab_name(const rf__symtab *t, uint64_t id, const char **s, size_t *len);
/* Number of interned strings (the largest id). */
uint64_t rf__symtab_count(const rf__symtab *t);

#endif

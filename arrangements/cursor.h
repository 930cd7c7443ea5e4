/*
 * cursor.h: walks a list of batches as one sorted collection: keys in
 * order, then the values of the current key in order, then the (time, diff)
 * updates of the current (key, value) across all batches.
 *
 * The cursor holds a reference to each batch it reads, so the batches stay
 * alive however the trace merges meanwhile. Keys and values returned point
 * into the batches and stay valid until rf__cursor_free.
 */
#ifndef RF_ARRANGEMENTS_CURSOR_H
#define RF_ARRANGEMENTS_CURSOR_H

#include <stdbool.h>

#include "arrangements/batch.h"

typedef struct rf__cursor {
  uint32_t key_arity, val_arity, dim;
  uint32_t n;            /* batches */
  rf__batch **b;         /* referenced batches */
  size_t *kpos;          /* per batch: current key index (== n_keys: done) */
  size_t *vpos;          /* per batch: current val index (into vals, in its key's range) */
  bool *at_key;          /* per batch: positioned at the current key */
  bool *at_val;          /* per batch: positioned at the current val */
  const uint64_t *key;   /* current key, NULL when done */
  const uint64_t *val;   /* current val, NULL when the key's vals are done */
  /* Private: the batches (indices, in batch order) not yet exhausted, at
   * the current key, and at the current val, so that steps only touch
   * those. */
  uint32_t *live, *keyed, *valued;
  uint32_t n_live, n_keyed, n_valued;
} rf__cursor;

/* A cursor over batches[0..n) (each referenced; the array is copied). */
int rf__cursor_init(rf__cursor *c, rf__batch *const *batches, uint32_t n);
void rf__cursor_free(rf__cursor *c);

static inline bool rf__cursor_key_valid(const rf__cursor *c) { return c->key != NULL; }
static inline bool rf__cursor_val_valid(const rf__cursor *c) { return c->val != NULL; }
static inline const uint64_t *rf__cursor_key(const rf__cursor *c) { return c->key; }
static inline const uint64_t *rf__cursor_val(const rf__cursor *c) { return c->val; }

void rf__cursor_step_key(rf__cursor *c);
/* Moves to the first key >= key (never backwards). */
void rf__cursor_seek_key(rf__cursor *c, const uint64_t *key);
void rf__cursor_step_val(rf__cursor *c);
/* Moves to the first val >= val of the current key (never backwards). */
void rf__cursor_seek_val(rf__cursor *c, const uint64_t *val);
/* Back to the first val of the current key. */
void rf__cursor_rewind_vals(rf__cursor *c);
/* Calls fn for each (time, diff) of the current (key, val), batch by batch
 * (so times are not globally sorted, and equal times may repeat). */
typedef void (*rf__time_fn)(void *ctx, const uint64_t *time, int64_t diff);
void rf__cursor_map_times(const rf__cursor *c, rf__time_fn fn, void *ctx);

#endif

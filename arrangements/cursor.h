/*
 * cursor.h: reading a list of batches as one sorted collection.
 *
 * A cursor walks it: keys in order, then the values of the current key in
 * order, then the (time, diff) updates of the current (key, value) across
 * all batches.
 *
 * A seeker looks up whole keys, in increasing order, and hands back every
 * (value, time, diff) of each at once: one search per batch and no
 * per-value stepping. Joins and reduces read their traces key by key this
 * way; it is their fast path.
 *
 * Both hold a reference to each batch they read, so the batches stay alive
 * however the trace merges meanwhile. Keys, values and times returned point
 * into the batches and stay valid until the cursor (seeker) is freed.
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

/* One update of a key, as a seeker gathers it: pointers into a batch. */
typedef struct rf__upd_ref {
  const uint64_t *val;  /* val_arity words (never NULL, even for val_arity 0) */
  const uint64_t *time; /* dim words */
  int64_t diff;
} rf__upd_ref;

/* How many keys a seeker can be told of in advance (rf__seeker_ahead):
 * one per stage of a seek (below), so that the seek for the oldest finds
 * every load it needs already done. */
#define RF__SEEK_AHEAD 4

/* One key on its way through the stages of a seek (cursor.c). */
typedef struct rf__seek_step {
  uint64_t key;     /* an announced key (1-word keys only) */
  uint32_t stage;   /* stages done: 1 block, 2 located, 3 vals, 4 updates */
  uint32_t n_hits;  /* batches holding the key */
  size_t *lb;       /* per batch: its first key >= the key */
  size_t *to;       /* per batch: end of the fence block to search (0: none) */
  uint32_t *hit_i;  /* per hit: the batch */
  size_t *hit_k;    /* per hit: the key's index there */
  size_t *hit_v0, *hit_v1; /* per hit: the key's range of vals */
} rf__seek_step;

typedef struct rf__seeker {
  uint32_t key_arity, val_arity, dim;
  uint32_t n;            /* batches */
  rf__batch **b;         /* referenced batches, oldest first */
  size_t *kpos;          /* per batch: first key above the last key sought */
  uint64_t *next;        /* per batch: its key at kpos (1-word keys) */
  size_t *apos;          /* per batch: where locating the next announced key
                            starts (>= kpos) */
  uint64_t *anext;       /* per batch: its key at apos (1-word keys) */
  uint32_t *live;        /* batches not yet exhausted, in batch order */
  uint32_t n_live;
  rf__upd_ref *upds;     /* the updates of the key sought last */
  size_t n_upds, upds_cap;
  rf__upd_ref *tmp;      /* scratch for merging batches' runs by value */
  size_t tmp_cap;
  size_t *runs;          /* scratch: where each batch's run starts in upds */
  /* The announced keys, oldest first from ring_head (a ring of
   * RF__SEEK_AHEAD), then the step of a seek for a key not announced. */
  rf__seek_step steps[RF__SEEK_AHEAD + 1];
  uint32_t ring_head, ring_n;
  uint64_t last;         /* the last key sought (1-word keys), if sought_any */
  bool sought_any;
} rf__seeker;

/* A seeker over batches[0..n) (each referenced; the array is copied). */
int rf__seeker_init(rf__seeker *s, rf__batch *const *batches, uint32_t n);
void rf__seeker_free(rf__seeker *s);
/* Gathers every update of `key` into s->upds[0 .. s->n_upds) (none if the
 * key is absent). Keys must be sought in increasing order. With
 * by_val, the updates are sorted by value (equal values: batch order, then
 * time order), so each value's updates are contiguous; without it they come
 * batch by batch. Returns 0 or RF_ENOMEM. */
int rf__seeker_seek(rf__seeker *s, const uint64_t *key, bool by_val);
/* Announces that a coming seek will be for `key`, so that its loads start
 * early: a seek waits on a chain of cache misses (the key's block, its
 * key_off entry, its vals' offsets, its updates), and the seeker moves
 * every announced key one link along that chain at each announcement. A
 * caller that knows its keys in advance keeps the seeker told of the next
 * ones: before each seek, it announces keys until this returns false.
 * Announced keys must increase and come after the keys sought; one that is
 * never sought is dropped when a later key is. Returns false, doing
 * nothing, when RF__SEEK_AHEAD keys are announced already, when `key` does
 * not come after them, or when keys are not 1 word (such seeks run
 * unannounced). */
bool rf__seeker_ahead(rf__seeker *s, const uint64_t *key);

#endif

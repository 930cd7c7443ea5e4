/*
 * batch.c: immutable columnar batches and the builder that makes them (see
 * batch.h). The builder appends to growable arrays (doubling, so a push is
 * amortized O(1) and allocates nothing per record) and hands them over to
 * the batch at rf__builder_done, shrunk to fit.
 *
 * Threads: the builder belongs to one thread. A finished batch is read-only;
 * rf__batch_ref / rf__batch_unref may be called from any thread holding a
 * reference (readers of live views hold batches on other threads).
 */
#include "arrangements/batch.h"

#include <assert.h>
#include <ck_pr.h>
#include <string.h>

#include "common/alloc.h"
#include "common/sort.h"
#include "rhizoflow.h"

/* The offsets array of a batch with no keys: a single 0, shared by every
 * empty batch (never written, never freed). */
static size_t zero_off[1];

static void free_arrays(rf__batch *b) {
  if (b->owner) {
    rf__batch_unref(b->owner);
    return;
  }
  rf__free(b->keys);
  rf__free(b->vals);
  rf__free(b->times);
  rf__free(b->diffs);
  if (b->key_off != zero_off) rf__free(b->key_off);
  if (b->val_off != zero_off) rf__free(b->val_off);
}

/* A batch shell: one reference, the three frontiers copied, no arrays. */
static rf__batch *shell_new(uint32_t key_arity, uint32_t val_arity, uint32_t dim,
                            const rf__antichain *lower, const rf__antichain *upper,
                            const rf__antichain *since) {
  rf__batch *b = rf__calloc(1, sizeof *b);
  if (!b) return NULL;
  b->refs = 1;
  b->key_arity = key_arity;
  b->val_arity = val_arity;
  b->dim = dim;
  b->key_off = zero_off;
  b->val_off = zero_off;
  rf__antichain_init(&b->lower, dim);
  rf__antichain_init(&b->upper, dim);
  rf__antichain_init(&b->since, dim);
  if (rf__antichain_copy(&b->lower, lower) < 0 || rf__antichain_copy(&b->upper, upper) < 0 ||
      rf__antichain_copy(&b->since, since) < 0) {
    rf__antichain_free(&b->lower);
    rf__antichain_free(&b->upper);
    rf__antichain_free(&b->since);
    rf__free(b);
    return NULL;
  }
  return b;
}

rf__batch *rf__batch_ref(rf__batch *b) {
  /* Atomic: holders on other threads (cursors of live views) may take or
   * drop references to the same batch concurrently. */
  ck_pr_inc_32(&b->refs);
  return b;
}

void rf__batch_unref(rf__batch *b) {
  if (!b) return;
  bool zero;
  /* Atomic decrement-and-test: exactly one holder, on whatever thread, sees
   * the count reach zero and frees; the others must not touch b after. */
  ck_pr_dec_32_zero(&b->refs, &zero);
  if (!zero) return;
  free_arrays(b);
  rf__antichain_free(&b->lower);
  rf__antichain_free(&b->upper);
  rf__antichain_free(&b->since);
  rf__free(b);
}

rf__batch *rf__batch_empty(uint32_t key_arity, uint32_t val_arity, uint32_t dim,
                           const rf__antichain *lower, const rf__antichain *upper) {
  return shell_new(key_arity, val_arity, dim, lower, upper, lower);
}

rf__batch *rf__batch_reframe(rf__batch *b, const rf__antichain *lower,
                             const rf__antichain *upper, const rf__antichain *since) {
  rf__batch *v = shell_new(b->key_arity, b->val_arity, b->dim, lower, upper, since);
  if (!v) return NULL;
  rf__batch *owner = b->owner ? b->owner : b;
  v->owner = rf__batch_ref(owner);
  v->n_keys = b->n_keys;
  v->n_vals = b->n_vals;
  v->n_upds = b->n_upds;
  v->keys = b->keys;
  v->key_off = b->key_off;
  v->vals = b->vals;
  v->val_off = b->val_off;
  v->times = b->times;
  v->diffs = b->diffs;
  return v;
}

size_t rf__batch_bytes(const rf__batch *b) {
  if (b->n_keys == 0) return 0;
  size_t w = sizeof(uint64_t), o = sizeof(size_t);
  return b->n_keys * b->key_arity * w + (b->n_keys + 1) * o + b->n_vals * b->val_arity * w +
         (b->n_vals + 1) * o + b->n_upds * (b->dim * w + sizeof(int64_t));
}

void rf__builder_init(rf__builder *b, uint32_t key_arity, uint32_t val_arity, uint32_t dim) {
  memset(b, 0, sizeof *b);
  b->key_arity = key_arity;
  b->val_arity = val_arity;
  b->dim = dim;
}

void rf__builder_free(rf__builder *b) {
  rf__free(b->keys);
  rf__free(b->key_off);
  rf__free(b->vals);
  rf__free(b->val_off);
  rf__free(b->times);
  rf__free(b->diffs);
  rf__builder_init(b, b->key_arity, b->val_arity, b->dim);
}

/* Grows *p to exactly `need` items (no doubling: merges know their size). */
static int fit(void **p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return 0;
  void *q = rf__realloc(*p, need * elem);
  if (!q) return RF_ENOMEM;
  *p = q;
  *cap = need;
  return 0;
}

/* The offsets arrays always have one slot more than the keys (vals) array
 * has room for: push checks keys_cap (vals_cap) alone, and rf__builder_done
 * appends the closing offset. A capacity is recorded only once every array
 * it covers fits it. */
static int grow_keys(rf__builder *b, size_t n, bool exact) {
  size_t cap = b->keys_cap, elem = b->key_arity * sizeof(uint64_t);
  int rc = exact ? fit((void **)&b->keys, &cap, n, elem)
                 : rf__grow((void **)&b->keys, &cap, n, elem);
  if (rc < 0 || fit((void **)&b->key_off, &b->key_off_cap, cap + 1, sizeof(size_t)) < 0)
    return RF_ENOMEM;
  b->keys_cap = cap;
  return 0;
}

static int grow_vals(rf__builder *b, size_t n, bool exact) {
  size_t cap = b->vals_cap, elem = b->val_arity * sizeof(uint64_t);
  int rc = exact ? fit((void **)&b->vals, &cap, n, elem)
                 : rf__grow((void **)&b->vals, &cap, n, elem);
  if (rc < 0 || fit((void **)&b->val_off, &b->val_off_cap, cap + 1, sizeof(size_t)) < 0)
    return RF_ENOMEM;
  b->vals_cap = cap;
  return 0;
}

static int grow_upds(rf__builder *b, size_t n, bool exact) {
  size_t tc = b->upds_cap, dc = b->upds_cap, elem = b->dim * sizeof(uint64_t);
  int rc = exact ? fit((void **)&b->times, &tc, n, elem)
                 : rf__grow((void **)&b->times, &tc, n, elem);
  if (rc < 0 || fit((void **)&b->diffs, &dc, tc, sizeof(int64_t)) < 0) return RF_ENOMEM;
  b->upds_cap = tc;
  return 0;
}

int rf__builder_reserve_exact(rf__builder *b, size_t n_keys, size_t n_vals, size_t n_upds) {
  if (grow_keys(b, n_keys, true) < 0 || grow_vals(b, n_vals, true) < 0 ||
      grow_upds(b, n_upds, true) < 0)
    return RF_ENOMEM;
  return 0;
}

int rf__builder_reserve(rf__builder *b, size_t n_upds) {
  return rf__builder_reserve_exact(b, n_upds, n_upds, n_upds);
}

/* Keys, vals and times are a few words: a plain loop beats a memcpy call. */
static inline void copy_words(uint64_t *dst, const uint64_t *src, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) dst[i] = src[i];
}

static int push_key(rf__builder *b, const uint64_t *key) {
  if (b->n_keys == b->keys_cap && grow_keys(b, b->n_keys + 1, false) < 0) return RF_ENOMEM;
  copy_words(b->keys + b->n_keys * b->key_arity, key, b->key_arity);
  b->key_off[b->n_keys++] = b->n_vals;
  return 0;
}

static int push_val(rf__builder *b, const uint64_t *val) {
  if (b->n_vals == b->vals_cap && grow_vals(b, b->n_vals + 1, false) < 0) return RF_ENOMEM;
  copy_words(b->vals + b->n_vals * b->val_arity, val, b->val_arity);
  b->val_off[b->n_vals++] = b->n_upds;
  return 0;
}

int rf__builder_push(rf__builder *b, const uint64_t *key, const uint64_t *val,
                     const uint64_t *time, int64_t diff) {
  assert(diff != 0);
  /* Compared with the last push: (key, val, time) must strictly increase. */
  int kc = b->n_keys ? rf__words_cmp(b->keys + (b->n_keys - 1) * b->key_arity, key, b->key_arity)
                     : -1;
  int vc = kc ? -1 : rf__words_cmp(b->vals + (b->n_vals - 1) * b->val_arity, val, b->val_arity);
  assert(kc <= 0 && vc <= 0);
  assert(vc < 0 || rf__time_cmp(b->times + (b->n_upds - 1) * b->dim, time, b->dim) < 0);
  bool new_key = kc != 0, new_val = vc != 0;
  if (b->n_upds == b->upds_cap && grow_upds(b, b->n_upds + 1, false) < 0) return RF_ENOMEM;
  if (new_key && push_key(b, key) < 0) return RF_ENOMEM;
  if (new_val && push_val(b, val) < 0) {
    if (new_key) b->n_keys--;
    return RF_ENOMEM;
  }
  copy_words(b->times + b->n_upds * b->dim, time, b->dim);
  b->diffs[b->n_upds++] = diff;
  return 0;
}

/* Gives back the unused tail of an array; keeps the original if the
 * allocator cannot move it (it is still valid, only larger). */
static void *shrink(void *p, size_t n_bytes) {
  if (!p) return NULL;
  void *q = rf__realloc(p, n_bytes);
  return q ? q : p;
}

rf__batch *rf__builder_done(rf__builder *b, const rf__antichain *lower,
                            const rf__antichain *upper, const rf__antichain *since) {
  rf__batch *out = shell_new(b->key_arity, b->val_arity, b->dim, lower, upper, since);
  if (!out) return NULL;
  if (b->n_keys > 0) {
    size_t w = sizeof(uint64_t), o = sizeof(size_t);
    b->key_off[b->n_keys] = b->n_vals;
    b->val_off[b->n_vals] = b->n_upds;
    out->n_keys = b->n_keys;
    out->n_vals = b->n_vals;
    out->n_upds = b->n_upds;
    out->keys = shrink(b->keys, b->n_keys * b->key_arity * w);
    out->key_off = shrink(b->key_off, (b->n_keys + 1) * o);
    out->vals = b->val_arity ? shrink(b->vals, b->n_vals * b->val_arity * w) : b->vals;
    out->val_off = shrink(b->val_off, (b->n_vals + 1) * o);
    out->times = shrink(b->times, b->n_upds * b->dim * w);
    out->diffs = shrink(b->diffs, b->n_upds * sizeof(int64_t));
    rf__builder_init(b, b->key_arity, b->val_arity, b->dim);
  }
  return out;
}

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
#include <string.h>

#include "common/alloc.h"
#include "common/atomic.h"
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
  size_t w = sizeof(uint64_t), o = sizeof(size_t);
  rf__free_sized(b->keys, b->n_keys * b->key_arity * w);
  rf__free_sized(b->vals, b->n_vals * b->val_arity * w);
  rf__free_sized(b->times, (b->time_stride ? b->n_upds * b->dim : b->dim) * w);
  rf__free_sized(b->diffs, b->n_upds * sizeof(int64_t));
  if (b->key_off != zero_off) rf__free_sized(b->key_off, (b->n_keys + 1) * o);
  if (b->val_off != zero_off) rf__free_sized(b->val_off, (b->n_vals + 1) * o); /* NULL is fine */
  rf__free_sized(b->fence, b->n_fence * w); /* NULL is fine */
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
  b->time_stride = dim;
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
   * drop references to the same batch concurrently. Relaxed: the caller
   * already holds a reference, so b cannot go away meanwhile. */
  rf__atomic_inc_relaxed_32(&b->refs);
  return b;
}

void rf__batch_unref(rf__batch *b) {
  if (!b) return;
  /* Atomic decrement-and-test: exactly one holder, on whatever thread, sees
   * the count reach zero and frees; the others must not touch b after.
   * Release and acquire: every holder's reads of b happen before the free. */
  if (!rf__atomic_dec_zero_32(&b->refs)) return;
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
  v->time_stride = b->time_stride;
  v->diffs = b->diffs;
  v->fence = b->fence;
  v->n_fence = b->n_fence;
  return v;
}

size_t rf__batch_bytes(const rf__batch *b) {
  if (b->n_keys == 0) return 0;
  size_t w = sizeof(uint64_t), o = sizeof(size_t);
  size_t time_words = b->time_stride ? b->n_upds * b->dim : b->dim;
  return b->n_keys * b->key_arity * w + (b->n_keys + 1) * o + b->n_vals * b->val_arity * w +
         (b->val_off ? (b->n_vals + 1) * o : 0) + time_words * w + b->n_upds * sizeof(int64_t) +
         b->n_fence * w;
}

/* The fence of n_keys 1-word keys (batch.h): NULL when too few keys; else a
 * new array of *n entries (NULL on ENOMEM, with *n set). */
static uint64_t *fence_new(const uint64_t *keys, size_t n_keys, size_t *n) {
  *n = 0;
  if (n_keys < RF__FENCE_MIN) return NULL;
  *n = (n_keys + RF__FENCE_STEP - 1) >> RF__FENCE_SHIFT;
  uint64_t *f = rf__malloc(*n * sizeof *f);
  for (size_t j = 0; f && j < *n; j++) f[j] = keys[j << RF__FENCE_SHIFT];
  return f;
}

void rf__builder_init(rf__builder *b, uint32_t key_arity, uint32_t val_arity, uint32_t dim) {
  memset(b, 0, sizeof *b);
  b->key_arity = key_arity;
  b->val_arity = val_arity;
  b->dim = dim;
}

void rf__builder_free(rf__builder *b) {
  size_t w = sizeof(uint64_t), o = sizeof(size_t);
  rf__free_sized(b->keys, b->keys_cap * b->key_arity * w);
  rf__free_sized(b->key_off, b->key_off_cap * o);
  rf__free_sized(b->vals, b->vals_cap * b->val_arity * w);
  rf__free_sized(b->val_off, (b->vals_cap + 1) * o);
  rf__free_sized(b->times, b->upds_cap * b->dim * w);
  rf__free_sized(b->diffs, b->upds_cap * sizeof(int64_t));
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
 * appends the closing offset. Likewise times (once it exists) has room for
 * upds_cap updates, as diffs has. A capacity is recorded only once every
 * array it covers fits it. */
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
  if (rc < 0) return RF_ENOMEM;
  if (b->val_off && cap > b->vals_cap) {
    size_t *q = rf__realloc(b->val_off, (cap + 1) * sizeof(size_t));
    if (!q) return RF_ENOMEM;
    b->val_off = q;
  }
  b->vals_cap = cap;
  return 0;
}

static int grow_upds(rf__builder *b, size_t n, bool exact) {
  size_t cap = b->upds_cap;
  int rc = exact ? fit((void **)&b->diffs, &cap, n, sizeof(int64_t))
                 : rf__grow((void **)&b->diffs, &cap, n, sizeof(int64_t));
  if (rc < 0) return RF_ENOMEM;
  if (b->times && cap > b->upds_cap) {
    uint64_t *q = rf__realloc(b->times, cap * b->dim * sizeof(uint64_t));
    if (!q) return RF_ENOMEM;
    b->times = q;
  }
  b->upds_cap = cap;
  return 0;
}

/* Leaves the one-time form: every update so far was at b->time. (Kept out
 * of line, as is the next one, so that the push paths stay small: each runs
 * at most once per batch.) */
static __attribute__((noinline)) int materialize_times(rf__builder *b) {
  uint32_t d = b->dim;
  uint64_t *t = rf__malloc((b->upds_cap ? b->upds_cap : 1) * d * sizeof(uint64_t));
  if (!t) return RF_ENOMEM;
  for (size_t u = 0; u < b->n_upds; u++)
    for (uint32_t c = 0; c < d; c++) t[u * d + c] = b->time[c];
  b->times = t;
  return 0;
}

/* Leaves the one-update-per-val form: val j's update was update j. */
static __attribute__((noinline)) int materialize_val_off(rf__builder *b) {
  size_t *o = rf__malloc((b->vals_cap + 1) * sizeof(size_t));
  if (!o) return RF_ENOMEM;
  for (size_t j = 0; j < b->n_vals; j++) o[j] = j;
  b->val_off = o;
  return 0;
}

int rf__builder_reserve_exact(rf__builder *b, size_t n_keys, size_t n_vals, size_t n_upds) {
  if (grow_keys(b, n_keys, true) < 0 || grow_vals(b, n_vals, true) < 0 ||
      grow_upds(b, n_upds, true) < 0)
    return RF_ENOMEM;
  return 0;
}


/* Keys, vals and times are a few words: a plain loop beats a memcpy call,
 * and the one-word case (the common key, val or time) skips the loop. */
static inline void copy_words(uint64_t *dst, const uint64_t *src, uint32_t n) {
  if (n == 1) {
    dst[0] = src[0];
    return;
  }
  for (uint32_t i = 0; i < n; i++) dst[i] = src[i];
}

static inline int push_key(rf__builder *b, const uint64_t *key) {
  if (b->n_keys == b->keys_cap && grow_keys(b, b->n_keys + 1, false) < 0) return RF_ENOMEM;
  copy_words(b->keys + b->n_keys * b->key_arity, key, b->key_arity);
  b->key_off[b->n_keys++] = b->n_vals;
  return 0;
}

static inline int push_val(rf__builder *b, const uint64_t *val) {
  if (b->n_vals == b->vals_cap && grow_vals(b, b->n_vals + 1, false) < 0) return RF_ENOMEM;
  copy_words(b->vals + b->n_vals * b->val_arity, val, b->val_arity);
  if (b->val_off) b->val_off[b->n_vals] = b->n_upds;
  b->n_vals++;
  return 0;
}

/* Readies the builder for n more updates, the first at `time`, the first
 * of a new val or not (new_val), the rest (n > 1) at later times of the
 * same val: room for them, and the full arrays where a compact form ends.
 * Changes nothing that a later failure would have to undo. */
static inline int prepare_upds(rf__builder *b, const uint64_t *time, bool new_val, size_t n) {
  if (b->n_upds + n > b->upds_cap && grow_upds(b, b->n_upds + n, false) < 0) return RF_ENOMEM;
  if (!b->times && (n > 1 || (b->n_upds > 0 && !rf__time_eq(b->time, time, b->dim))) &&
      materialize_times(b) < 0)
    return RF_ENOMEM;
  if (!b->val_off && (n > 1 || !new_val) && materialize_val_off(b) < 0) return RF_ENOMEM;
  return 0;
}

/* Appends one update (room made by prepare_upds). */
static inline void append_upd(rf__builder *b, const uint64_t *time, int64_t diff) {
  if (b->times)
    copy_words(b->times + b->n_upds * b->dim, time, b->dim);
  else if (b->n_upds == 0)
    copy_words(b->time, time, b->dim);
  b->diffs[b->n_upds++] = diff;
}

int rf__builder_push(rf__builder *b, const uint64_t *key, const uint64_t *val,
                     const uint64_t *time, int64_t diff) {
  assert(diff != 0);
  /* Compared with the last push: (key, val, time) must strictly increase. */
  int kc = b->n_keys ? rf__words_cmp(b->keys + (b->n_keys - 1) * b->key_arity, key, b->key_arity)
                     : -1;
  int vc = kc ? -1 : rf__words_cmp(b->vals + (b->n_vals - 1) * b->val_arity, val, b->val_arity);
  assert(kc <= 0 && vc <= 0);
  assert(vc < 0 || rf__time_cmp(b->times ? b->times + (b->n_upds - 1) * b->dim : b->time, time,
                                b->dim) < 0);
  bool new_key = kc != 0, new_val = vc != 0;
  if (prepare_upds(b, time, new_val, 1) < 0) return RF_ENOMEM;
  if (new_key && push_key(b, key) < 0) return RF_ENOMEM;
  if (new_val && push_val(b, val) < 0) {
    if (new_key) b->n_keys--;
    return RF_ENOMEM;
  }
  append_upd(b, time, diff);
  return 0;
}

int rf__builder_push_val(rf__builder *b, const uint64_t *key, const uint64_t *val,
                         const uint64_t *rows, size_t n) {
  if (n == 0) return 0;
  uint32_t d = b->dim;
  /* One comparison per (key, val) rather than per update: a new val always
   * starts here, and a new key when it differs from the last one pushed. */
  bool new_key = b->n_keys == 0 ||
                 rf__words_cmp(b->keys + (b->n_keys - 1) * b->key_arity, key, b->key_arity) != 0;
  assert(new_key ||
         rf__words_cmp(b->vals + (b->n_vals - 1) * b->val_arity, val, b->val_arity) < 0);
  if (prepare_upds(b, rows, true, n) < 0) return RF_ENOMEM;
  if (new_key && push_key(b, key) < 0) return RF_ENOMEM;
  if (push_val(b, val) < 0) {
    if (new_key) b->n_keys--;
    return RF_ENOMEM;
  }
  if (!b->times) { /* the one-time form: n is 1 (prepare_upds) */
    append_upd(b, rows, (int64_t)rows[d]);
    return 0;
  }
  /* A val's updates straight into the columns: a val merged in a busy
   * trace carries several (one per time its key changed at). */
  uint64_t *t = b->times + b->n_upds * d;
  int64_t *df = b->diffs + b->n_upds;
  for (size_t i = 0; i < n; i++, rows += d + 1, t += d) {
    assert(rows[d] != 0);
    assert(i == 0 || rf__time_cmp(rows - (d + 1), rows, d) < 0);
    for (uint32_t c = 0; c < d; c++) t[c] = rows[c];
    df[i] = (int64_t)rows[d];
  }
  b->n_upds += n;
  return 0;
}

/* The first word at which rows a and b differ among their first n (n if
 * none). */
static inline uint32_t first_diff(const uint64_t *a, const uint64_t *b, uint32_t n) {
  uint32_t c = 0;
  while (c < n && a[c] == b[c]) c++;
  return c;
}

int rf__builder_push_sorted(rf__builder *b, const uint64_t *rows, size_t n, uint32_t w) {
  uint32_t ka = b->key_arity, kv = ka + b->val_arity, kw = kv + b->dim;
  if (n == 0) return 0;
  /* Where the first row stands against the last (key, val) pushed before
   * this call; later rows compare with the last row pushed here. */
  const uint64_t *last = NULL;
  bool key_known = b->n_keys > 0 &&
                   rf__words_cmp(b->keys + (b->n_keys - 1) * ka, rows, ka) == 0;
  bool val_known = key_known && rf__words_cmp(b->vals + (b->n_vals - 1) * b->val_arity,
                                              rows + ka, b->val_arity) == 0;
  for (size_t i = 0; i < n;) {
    const uint64_t *r = rows + i * w;
    int64_t sum = (int64_t)r[kw];
    size_t j = i + 1;
    while (j < n && first_diff(rows + j * w, r, kw) == kw) sum += (int64_t)rows[j++ * w + kw];
    i = j;
    if (sum == 0) continue;
    bool new_key, new_val;
    if (last) {
      uint32_t c = first_diff(last, r, kv);
      new_key = c < ka;
      new_val = c < kv;
    } else {
      new_key = !key_known;
      new_val = !val_known;
    }
    assert(!last || rf__words_cmp(last, r, kw) < 0);
    if (prepare_upds(b, r + kv, new_val, 1) < 0) return RF_ENOMEM;
    if (new_key && push_key(b, r) < 0) return RF_ENOMEM;
    if (new_val && push_val(b, r + ka) < 0) {
      if (new_key) b->n_keys--;
      return RF_ENOMEM;
    }
    append_upd(b, r + kv, sum);
    last = r;
  }
  return 0;
}

rf__batch *rf__builder_done(rf__builder *b, const rf__antichain *lower,
                            const rf__antichain *upper, const rf__antichain *since) {
  size_t w = sizeof(uint64_t), o = sizeof(size_t);
  /* The one time of a batch in the one-time form gets an array of its own
   * (allocated first: nothing is handed over unless everything is there). */
  uint64_t *one_time = NULL;
  if (b->n_keys > 0 && !b->times) {
    one_time = rf__malloc(b->dim * w);
    if (!one_time) return NULL;
    copy_words(one_time, b->time, b->dim);
  }
  size_t n_fence = 0;
  uint64_t *fence = b->key_arity == 1 ? fence_new(b->keys, b->n_keys, &n_fence) : NULL;
  bool fence_ok = fence || n_fence == 0;
  rf__batch *out =
      fence_ok ? shell_new(b->key_arity, b->val_arity, b->dim, lower, upper, since) : NULL;
  if (!out) {
    rf__free(one_time);
    rf__free_sized(fence, n_fence * w);
    return NULL;
  }
  if (b->n_keys > 0) {
    b->key_off[b->n_keys] = b->n_vals;
    if (b->val_off) b->val_off[b->n_vals] = b->n_upds;
    out->n_keys = b->n_keys;
    out->n_vals = b->n_vals;
    out->n_upds = b->n_upds;
    out->keys = rf__shrink(b->keys, b->n_keys * b->key_arity * w);
    out->key_off = rf__shrink(b->key_off, (b->n_keys + 1) * o);
    out->vals = b->val_arity ? rf__shrink(b->vals, b->n_vals * b->val_arity * w) : b->vals;
    out->val_off = b->val_off ? rf__shrink(b->val_off, (b->n_vals + 1) * o) : NULL;
    out->times = b->times ? rf__shrink(b->times, b->n_upds * b->dim * w) : one_time;
    out->time_stride = b->times ? b->dim : 0;
    out->diffs = rf__shrink(b->diffs, b->n_upds * sizeof(int64_t));
    out->fence = fence;
    out->n_fence = n_fence;
    rf__builder_init(b, b->key_arity, b->val_arity, b->dim);
  }
  return out;
}

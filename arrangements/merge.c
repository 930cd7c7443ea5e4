/*
 * merge.c: one merge of a trace, in slices, shareable between threads (see
 * merge.h).
 *
 * Design
 *
 *   The merge keeps a position in each input (next key and val) and moves
 *   one (key, val) at a time: the run of updates of that (key, val) in each
 *   input is copied out with its times advanced to since, re-sorted when
 *   times have several coordinates (advancing can reorder them), summed per
 *   time and pushed to the output builder, which was reserved at the start
 *   for every input key, val and update, so pushing never allocates. A
 *   slice stops once its fuel (updates read) runs out; the last one builds
 *   the output batch, frees the builder and drops the inputs.
 *
 *   Claims. `state` is FREE (nobody in a slice), BUSY (one thread is) or
 *   DONE. A thread starts a slice with a compare-and-swap FREE -> BUSY
 *   (acquire: it sees everything the previous slice wrote) and ends it with
 *   a release store of FREE or DONE. So slices never overlap, and the
 *   positions, builder and scratch are only touched inside one. After DONE
 *   only `result` is read, by the owner (rf__merge_result), which saw DONE
 *   with an acquire load.
 *
 *   References. The owning spine level holds one; a merge board or the
 *   worker helping with it holds another. Whoever drops the last frees what
 *   is left (dec-to-zero is acquire-release, so it sees every slice).
 */
#include "arrangements/merge.h"

#include <sched.h>
#include <string.h>

#include "common/alloc.h"
#include "common/atomic.h"
#include "common/error.h"
#include "common/sort.h"

typedef enum { MERGE_FREE, MERGE_BUSY, MERGE_DONE } merge_state;

struct rf__merge {
  uint32_t refs;  /* atomic: see the top of the file */
  uint32_t state; /* atomic: merge_state */
  /* Touched only inside a slice (BUSY), or by the last reference: */
  rf__batch *a, *b;           /* the inputs (own references) until DONE */
  rf__builder out;
  rf__antichain since;        /* times are advanced to this frontier */
  uint64_t floor[RF_MAX_DIM]; /* its floor (rf__antichain_floor), when it
                                 has elements: advancing t is join(t, floor) */
  size_t ka, va, kb, vb;      /* next key and val in a and in b */
  uint64_t *scratch;          /* (time, diff) rows of one long val */
  size_t scratch_cap;         /* in words */
  /* Set by the slice that finishes; handed over by rf__merge_result. */
  rf__batch *result;
  size_t bytes; /* reserved output arrays; never changes */
  size_t total; /* input updates; never changes */
  size_t read;  /* input updates merged so far (inside slices) */
  /* Atomic, relaxed: total - read as of the last slice, for helpers that
   * pick the smallest merge on offer (a hint, read without a claim). */
  uint64_t left;
  /* Atomic, relaxed: the board slot it was last placed in (a hint for
   * withdrawing it: merge_board.c). */
  uint32_t slot;
};

/* ---- merging one (key, val) -------------------------------------------- */

/* The updates [lo, hi) of one val of batch b (b NULL: none). */
typedef struct run {
  const rf__batch *b;
  size_t lo, hi;
} run;

static size_t run_len(run r) { return r.b ? r.hi - r.lo : 0; }

/* A val with at most this many updates is merged in a buffer on the
 * stack (insertion-sorted); longer ones use the merge's scratch. */
#define VAL_STACK_ROWS 32

/* Copies the run's updates into rows of (dim time words, diff), each time
 * advanced to the merge's since (see rf__time_advance). Returns the end of
 * what it wrote. */
static inline uint64_t *fill_advanced(uint64_t *row, const rf__merge *m, run r, uint32_t d) {
  bool advance = m->since.n > 0;
  for (size_t u = r.lo; r.b && u < r.hi; u++, row += d + 1) {
    const uint64_t *t = rf__batch_time(r.b, u);
    for (uint32_t c = 0; c < d; c++) row[c] = advance && m->floor[c] > t[c] ? m->floor[c] : t[c];
    row[d] = (uint64_t)r.b->diffs[u];
  }
  return row;
}

/* Sorts n rows of w words by their first d words: insertion sort, for the
 * few updates of one val (two runs that were each sorted before their times
 * were advanced, so usually nearly in order). */
static void sort_small(uint64_t *rows, size_t n, uint32_t w, uint32_t d) {
  uint64_t tmp[RF_MAX_DIM + 1];
  for (size_t i = 1; i < n; i++) {
    uint64_t *r = rows + i * w;
    if (rf__time_cmp(r - w, r, d) <= 0) continue;
    memcpy(tmp, r, w * sizeof(uint64_t));
    size_t j = i;
    while (j > 0 && rf__time_cmp(rows + (j - 1) * w, tmp, d) > 0) {
      memcpy(rows + j * w, rows + (j - 1) * w, w * sizeof(uint64_t));
      j--;
    }
    memcpy(rows + j * w, tmp, w * sizeof(uint64_t));
  }
}

/* Sums the diffs of equal times among n sorted rows, in place, dropping
 * zeros. Returns how many rows are left. */
static size_t consolidate_rows(uint64_t *rows, size_t n, uint32_t d) {
  uint32_t w = d + 1;
  size_t out = 0;
  for (size_t i = 0; i < n;) {
    const uint64_t *r = rows + i * w;
    int64_t sum = (int64_t)r[d];
    size_t j = i + 1;
    while (j < n && rf__time_eq(rows + j * w, r, d)) sum += (int64_t)rows[j++ * w + d];
    if (sum != 0) {
      uint64_t *o = rows + out * w;
      if (o != r) memcpy(o, r, d * sizeof(uint64_t));
      o[d] = (uint64_t)sum;
      out++;
    }
    i = j;
  }
  return out;
}

/* 1-dim times: advancing is t -> max(t, floor), which keeps both runs
 * sorted, so one merge pass advances, sums equal times and writes the
 * consolidated (time, diff) rows. Returns how many. */
static size_t merge_1d(uint64_t *rows, run ra, run rb, uint64_t floor) {
  size_t i = ra.lo, j = rb.lo, ie = ra.b ? ra.hi : i, je = rb.b ? rb.hi : j, n = 0;
  uint64_t cur = 0;
  int64_t acc = 0;
  while (i < ie || j < je) {
    uint64_t ta = i < ie ? rf__batch_time(ra.b, i)[0] : 0;
    uint64_t tb = j < je ? rf__batch_time(rb.b, j)[0] : 0;
    ta = ta < floor ? floor : ta;
    tb = tb < floor ? floor : tb;
    bool take_a = i < ie && (j == je || ta <= tb);
    uint64_t t = take_a ? ta : tb;
    if (acc != 0 && t != cur) {
      rows[2 * n] = cur;
      rows[2 * n++ + 1] = (uint64_t)acc;
    }
    if (t != cur) acc = 0;
    cur = t;
    acc += take_a ? ra.b->diffs[i++] : rb.b->diffs[j++];
  }
  if (acc != 0) {
    rows[2 * n] = cur;
    rows[2 * n++ + 1] = (uint64_t)acc;
  }
  return n;
}

/* Merges the updates of one (key, val) from both runs into the output:
 * times advanced to the merge's since, equal times summed, zeros dropped,
 * all pushed at once (nothing if they cancel). */
static int emit_val(rf__merge *m, const uint64_t *key, const uint64_t *val, run ra, run rb) {
  uint32_t d = m->out.dim, w = d + 1;
  size_t n = run_len(ra) + run_len(rb);
  uint64_t stack[VAL_STACK_ROWS * (RF_MAX_DIM + 1)];
  uint64_t *rows = stack;
  if (n > VAL_STACK_ROWS) {
    if (rf__grow((void **)&m->scratch, &m->scratch_cap, n * w, sizeof(uint64_t)) < 0)
      return rf__error(RF_ENOMEM, "merge: out of memory compacting %zu updates", n);
    rows = m->scratch;
  }
  size_t k;
  if (d == 1) {
    k = merge_1d(rows, ra, rb, m->since.n ? m->floor[0] : 0);
  } else {
    /* Product times: advancing can reorder times (join with since is
     * monotone in the product order, not in the lexicographic one), so
     * the advanced rows are sorted again before consolidating. */
    fill_advanced(fill_advanced(rows, m, ra, d), m, rb, d);
    if (n == 1) /* most vals: one update, nothing to order or sum */
      return rf__builder_push_val(&m->out, key, val, rows, 1);
    if (n <= VAL_STACK_ROWS)
      sort_small(rows, n, w, d);
    else if (rf__sort_rows(rows, n, w, d) < 0)
      return rf__error(RF_ENOMEM, "merge: out of memory sorting %zu updates", n);
    k = consolidate_rows(rows, n, d);
  }
  return rf__builder_push_val(&m->out, key, val, rows, k);
}

static run val_run(const rf__batch *b, size_t v) {
  return (run){b, rf__batch_upd(b, v), rf__batch_upd(b, v + 1)};
}

/* Moves past val v of key k of b. */
static void next_val(const rf__batch *b, size_t *k, size_t *v) {
  if (++*v == b->key_off[*k + 1]) ++*k;
}

/* Which input holds the next (key, val): -1 a, 1 b, 0 both. */
static int next_side(const rf__merge *m) {
  const rf__batch *a = m->a, *b = m->b;
  bool ha = m->ka < a->n_keys, hb = b && m->kb < b->n_keys;
  if (!hb) return -1;
  if (!ha) return 1;
  int c = rf__words_cmp(rf__batch_key(a, m->ka), rf__batch_key(b, m->kb), a->key_arity);
  if (c == 0)
    c = rf__words_cmp(rf__batch_val(a, m->va), rf__batch_val(b, m->vb), a->val_arity);
  return c < 0 ? -1 : c > 0;
}

static bool exhausted(const rf__merge *m) {
  return m->ka >= m->a->n_keys && (!m->b || m->kb >= m->b->n_keys);
}

/* Merges the next (key, val), adding the updates it read to *used. */
static int step(rf__merge *m, size_t *used) {
  int side = next_side(m);
  const rf__batch *src = side <= 0 ? m->a : m->b;
  size_t k = side <= 0 ? m->ka : m->kb, v = side <= 0 ? m->va : m->vb;
  run ra = side <= 0 ? val_run(m->a, m->va) : (run){NULL, 0, 0};
  run rb = side >= 0 ? val_run(m->b, m->vb) : (run){NULL, 0, 0};
  RF_FORWARD_IF_ERROR(emit_val(m, rf__batch_key(src, k), rf__batch_val(src, v), ra, rb));
  if (side <= 0) next_val(m->a, &m->ka, &m->va);
  if (side >= 0) next_val(m->b, &m->kb, &m->vb);
  *used += run_len(ra) + run_len(rb);
  return 0;
}

/* Frees what only the slices use: the builder, the scratch and since. */
static void free_work(rf__merge *m) {
  rf__builder_free(&m->out);
  rf__antichain_free(&m->since);
  rf__free(m->scratch);
  m->scratch = NULL;
}

/* Every (key, val) is merged: builds the result and drops the inputs. */
static int build(rf__merge *m) {
  const rf__antichain *upper = m->b ? &m->b->upper : &m->a->upper;
  rf__batch *r = rf__builder_done(&m->out, &m->a->lower, upper, &m->since);
  RF_CHECK_ALLOC(r);
  m->result = r;
  free_work(m);
  rf__batch_unref(m->a);
  rf__batch_unref(m->b);
  m->a = m->b = NULL;
  return 0;
}

rf__merge *rf__merge_new(rf__batch *a, rf__batch *b, const rf__antichain *since) {
  rf__merge *m = rf__calloc(1, sizeof *m);
  if (!m) {
    rf__error(RF_ENOMEM, "merge: out of memory");
    return NULL;
  }
  rf__builder_init(&m->out, a->key_arity, a->val_arity, a->dim);
  rf__antichain_init(&m->since, a->dim);
  size_t nk = a->n_keys + (b ? b->n_keys : 0), nv = a->n_vals + (b ? b->n_vals : 0);
  size_t nu = a->n_upds + (b ? b->n_upds : 0);
  if (rf__antichain_copy(&m->since, since) < 0 ||
      rf__builder_reserve_exact(&m->out, nk, nv, nu) < 0) {
    free_work(m);
    rf__free(m);
    rf__error(RF_ENOMEM, "merge: out of memory starting a merge of %zu updates", nu);
    return NULL;
  }
  if (m->since.n > 0) rf__antichain_floor(&m->since, m->floor);
  const rf__builder *o = &m->out;
  m->bytes = o->keys_cap * o->key_arity * sizeof(uint64_t) + o->key_off_cap * sizeof(size_t) +
             o->vals_cap * o->val_arity * sizeof(uint64_t) +
             (o->val_off ? (o->vals_cap + 1) * sizeof(size_t) : 0) +
             o->upds_cap * ((o->times ? o->dim * sizeof(uint64_t) : 0) + sizeof(int64_t));
  m->a = rf__batch_ref(a);
  m->b = b ? rf__batch_ref(b) : NULL;
  m->total = nu;
  m->left = nu;
  m->refs = 1; /* not yet shared: a plain store */
  m->state = MERGE_FREE;
  return m;
}

rf__merge *rf__merge_ref(rf__merge *m) {
  rf__atomic_inc_relaxed_32(&m->refs);
  return m;
}

void rf__merge_unref(rf__merge *m) {
  if (!m || !rf__atomic_dec_zero_32(&m->refs)) return;
  free_work(m);
  rf__batch_unref(m->a);
  rf__batch_unref(m->b);
  rf__batch_unref(m->result);
  rf__free(m);
}

int rf__merge_work(rf__merge *m, size_t *fuel) {
  /* Acquire on success: the previous slice's writes; on failure the
   * state is only looked at. */
  if (!rf__atomic_cas_32(&m->state, MERGE_FREE, MERGE_BUSY))
    return rf__atomic_load_acquire_32(&m->state) == MERGE_DONE ? RF_MERGE_DONE : RF_MERGE_BUSY;
  int rc = 0;
  while (*fuel > 0 && !exhausted(m) && rc == 0) {
    size_t used = 0;
    rc = step(m, &used);
    m->read += used;
    *fuel = used >= *fuel ? 0 : *fuel - used;
  }
  if (rc == 0 && exhausted(m)) rc = build(m);
  rf__atomic_store_relaxed_64(&m->left, m->result ? 0 : m->total - m->read);
  bool done = rc == 0 && m->result;
  /* Release: this slice's writes, for the next slice or the owner. */
  rf__atomic_store_release_32(&m->state, done ? MERGE_DONE : MERGE_FREE);
  return rc < 0 ? rc : done ? RF_MERGE_DONE : RF_MERGE_MORE;
}

/* Pauses a waiting rf__merge_finish spins for before it yields the core. */
#define FINISH_SPINS 1024

int rf__merge_finish(rf__merge *m) {
  for (unsigned spins = 0;; spins++) {
    size_t fuel = SIZE_MAX;
    int rc = rf__merge_work(m, &fuel);
    if (rc != RF_MERGE_BUSY) return rc;
    /* Another worker is in a slice (at most a board slice of work). */
    if (spins < FINISH_SPINS)
      rf__atomic_pause();
    else
      sched_yield();
  }
}

bool rf__merge_done(const rf__merge *m) {
  return rf__atomic_load_acquire_32(&m->state) == MERGE_DONE;
}

rf__batch *rf__merge_result(rf__merge *m) {
  rf__batch *r = m->result;
  m->result = NULL;
  return r;
}

size_t rf__merge_bytes(const rf__merge *m) { return m->bytes; }

uint32_t rf__merge_slot(const rf__merge *m) {
  return rf__atomic_load_relaxed_32(&m->slot);
}
void rf__merge_set_slot(rf__merge *m, uint32_t slot) {
  rf__atomic_store_relaxed_32(&m->slot, slot);
}

size_t rf__merge_left(const rf__merge *m) {
  return (size_t)rf__atomic_load_relaxed_64(&m->left);
}

/*
 * reduce.c: the reduce operator (a user function per key from accumulated
 * input values to output values) and the built-in reducers: count, sum,
 * min, max, distinct, threshold.
 *
 * Design
 *   The input is an arrangement; the output is an arrangement of its own
 *   (readable by joins, reduces and views). Each run handles the input
 *   batches that arrived, whose uppers move the input frontier from `lower`
 *   to `upper`. For every key with new updates or with pending times, it
 *   finds the times at which the output may have to change (the
 *   "interesting times"), and at each such time t that is complete (not in
 *   advance of `upper`) it computes
 *       desired(t) = f(sum of input updates at times <= t)
 *       actual(t)  = sum of output updates at times <= t
 *   and emits desired - actual at t. Times still in the future are kept as
 *   pending (and held as capabilities) for a later run.
 *
 *   Interesting times: the input accumulation can only change at the new
 *   updates' times and at lattice joins of them with the key's other input
 *   times. Starting from the new times and the pending ones, each time t
 *   handled adds join(t, h) for every input time h of the key. With totally
 *   ordered (top-level) times this is just the new times; inside iterate it
 *   is how a change at (epoch e, iteration i) reaches later iterations.
 *
 *   Cost: a run touches only the keys of its work, in key order, and each
 *   of them costs a few fixed steps, so those are kept lean (a BFS round
 *   evaluates some ten thousand keys per run). The work comes key by key
 *   from merging the new batches with the pending rows, both sorted, so it
 *   needs no sort. A key's input and output histories are gathered by
 *   seekers (one search per batch of each trace, every update of the key
 *   at once, grouped by value), and evaluation reads them in place. A
 *   second walk over the work runs a few keys ahead and announces the keys
 *   to load to both seekers (rf__seeker_ahead), whose loads then overlap
 *   with the evaluation of the keys before. Scratch
 *   buffers live in the operator and are reused from key to key and run to
 *   run.
 *
 * Invariants
 *   - After a run, for every time t not in advance of `upper` and in
 *     advance of the trace's compaction frontier, the output accumulated at
 *     t equals f(input accumulated at t).
 *   - Pending times are all in advance of `upper`; the operator holds
 *     capabilities for their minimal elements.
 *   - The input and output readers compact to `upper`: every time handled
 *     later is in advance of it, where compacted times compare the same.
 */
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/sort.h"
#include "dataflow/graph.h"
#include "operators/ops.h"

/* The history of one key in one trace: the updates a seeker gathered,
 * sorted by value, cut into groups of equal value. */
typedef struct history {
  rf__seeker sk;   /* its upds are the key's updates */
  size_t *end;     /* per group: one past its last update */
  size_t n_groups, end_cap;
} history;

struct rf_reduce_out {
  rf__upbuf *buf; /* (val, diff) rows, dim 0 */
  int err;        /* an allocation failure inside rf_reduce_push */
};

typedef struct reduce_op {
  rf__op op;
  rf__reader *in_reader;
  rf__spine *out_spine;
  rf__reader *out_reader;
  uint32_t key_arity, in_val_arity, out_val_arity;
  rf_reduce_fn fn;
  void *ctx;
  rf__antichain upper;   /* input frontier handled so far */
  rf__upbuf *pending;    /* (key, time) rows still to evaluate */
  /* scratch, reused across runs and keys */
  rf__upbuf *new_pending;
  history in_hist, out_hist;
  uint64_t *cand;        /* candidate times of the current key, sorted */
  size_t n_cand, cand_cap;
  rf__upbuf *acc_out;    /* (val, count) of the output at the time evaluated */
  rf_reduce_out desired;
  rf__upbuf *produced;   /* (val, time, diff) emitted for the current key */
  uint64_t *fn_vals;     /* the user function's arguments */
  rf_diff *fn_counts;
  size_t fn_vals_cap, fn_counts_cap;
  rf__builder builder;
} reduce_op;

/* ------------------------------------------------------------------ */
/* Key history                                                         */
/* ------------------------------------------------------------------ */

/* Gathers key's updates from the history's seeker and groups them by
 * value. */
static int history_load(history *h, const uint64_t *key) {
  RF_FORWARD_IF_ERROR(rf__seeker_seek(&h->sk, key, true));
  const rf__upd_ref *u = h->sk.upds;
  size_t n = h->sk.n_upds;
  uint32_t va = h->sk.val_arity;
  h->n_groups = 0;
  if (n == 0) return 0;
  /* At most one group per update: one reservation covers the key. */
  if (rf__grow((void **)&h->end, &h->end_cap, n, sizeof(size_t)) < 0) return RF_ENOMEM;
  for (size_t i = 1; i < n; i++)
    if (va > 0 && rf__words_cmp(u[i - 1].val, u[i].val, va) != 0) h->end[h->n_groups++] = i;
  h->end[h->n_groups++] = n;
  return 0;
}

/* ------------------------------------------------------------------ */
/* Evaluating one key                                                  */
/* ------------------------------------------------------------------ */

/* Inserts t into the sorted candidate list unless present. */
static int cand_insert(reduce_op *r, const uint64_t *t) {
  uint32_t dim = r->op.dim;
  size_t lo = 0, hi = r->n_cand;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = rf__time_cmp(r->cand + mid * dim, t, dim);
    if (c == 0) return 0;
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  if (rf__grow((void **)&r->cand, &r->cand_cap, r->n_cand + 1, dim * sizeof(uint64_t)) < 0)
    return RF_ENOMEM;
  memmove(r->cand + (lo + 1) * dim, r->cand + lo * dim, (r->n_cand - lo) * dim * sizeof(uint64_t));
  memcpy(r->cand + lo * dim, t, dim * sizeof(uint64_t));
  r->n_cand++;
  return 0;
}

/* Values are a few words: a plain loop beats a memcpy call. */
static inline void copy_words(uint64_t *dst, const uint64_t *src, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) dst[i] = src[i];
}

/* The count of group g of a history at time t. */
static inline int64_t group_sum(const history *h, size_t g, const uint64_t *t, uint32_t dim) {
  const rf__upd_ref *u = h->sk.upds;
  int64_t sum = 0;
  for (size_t i = g ? h->end[g - 1] : 0; i < h->end[g]; i++)
    if (rf__time_le(u[i].time, t, dim)) sum += u[i].diff;
  return sum;
}

/* The input accumulated at t, straight into the user function's arguments
 * (values in order, zero counts dropped). Returns how many values. */
static size_t accumulate_in(reduce_op *r, const uint64_t *t) {
  const history *h = &r->in_hist;
  uint32_t va = r->in_val_arity, dim = r->op.dim;
  size_t n = 0;
  for (size_t g = 0; g < h->n_groups; g++) {
    int64_t sum = group_sum(h, g, t, dim);
    if (sum == 0) continue;
    copy_words(r->fn_vals + n * va, h->sk.upds[h->end[g] - 1].val, va);
    r->fn_counts[n++] = sum;
  }
  return n;
}

/* The output accumulated at t into acc as (val, count) rows, values in
 * order, zero counts dropped: the trace's history plus what this run has
 * produced for the key so far. */
static int accumulate_out(reduce_op *r, const uint64_t *t, rf__upbuf *acc) {
  const history *h = &r->out_hist;
  const rf__upbuf *p = r->produced;
  uint32_t va = r->out_val_arity, dim = r->op.dim;
  acc->n = 0;
  for (size_t g = 0; g < h->n_groups; g++) {
    int64_t sum = group_sum(h, g, t, dim);
    if (sum == 0) continue;
    uint64_t *row = rf__upbuf_push_raw(acc);
    if (!row) return RF_ENOMEM;
    copy_words(row, h->sk.upds[h->end[g] - 1].val, va);
    row[va] = (uint64_t)sum;
  }
  size_t before = acc->n;
  for (size_t i = 0; i < p->n; i++) {
    if (!rf__time_le(rf__upbuf_time(p, i), t, dim)) continue;
    uint64_t *row = rf__upbuf_push_raw(acc);
    if (!row) return RF_ENOMEM;
    copy_words(row, rf__upbuf_row(p, i), va);
    row[va] = (uint64_t)rf__upbuf_diff(p, i);
  }
  if (acc->n != before) return rf__upbuf_consolidate(acc);
  return 0;
}

/* Emits desired - actual at t into r->produced. Both lists are sorted by
 * value and consolidated. */
static int emit_difference(reduce_op *r, const rf__upbuf *want, const rf__upbuf *have,
                           const uint64_t *t) {
  uint32_t va = r->out_val_arity;
  size_t i = 0, j = 0;
  while (i < want->n || j < have->n) {
    int c;
    if (i == want->n) c = 1;
    else if (j == have->n) c = -1;
    else c = rf__words_cmp(rf__upbuf_row(want, i), rf__upbuf_row(have, j), va);
    const uint64_t *val;
    int64_t d;
    if (c < 0) {
      val = rf__upbuf_row(want, i);
      d = rf__upbuf_diff(want, i++);
    } else if (c > 0) {
      val = rf__upbuf_row(have, j);
      d = -rf__upbuf_diff(have, j++);
    } else {
      val = rf__upbuf_row(want, i);
      d = rf__upbuf_diff(want, i++) - rf__upbuf_diff(have, j++);
    }
    if (d != 0 && rf__upbuf_push(r->produced, val, t, d) < 0) return RF_ENOMEM;
  }
  return 0;
}

/* Evaluates one complete time t of a key. */
static int evaluate(reduce_op *r, const uint64_t *key, const uint64_t *t) {
  rf__upbuf *want = r->desired.buf;
  want->n = 0;
  size_t n = accumulate_in(r, t);
  if (n > 0) {
    r->desired.err = 0;
    int rc = r->fn(r->ctx, key, r->fn_vals, r->fn_counts, n, &r->desired);
    if (r->desired.err) return r->desired.err;
    if (rc < 0) return rf__error(RF_ECALLBACK, "reduce: the user callback returned %d", rc);
    /* One row is consolidated already (rf_reduce_push drops zero counts). */
    if (want->n > 1) RF_FORWARD_IF_ERROR(rf__upbuf_consolidate(want));
  }
  RF_FORWARD_IF_ERROR(accumulate_out(r, t, r->acc_out));
  return emit_difference(r, want, r->acc_out, t);
}

/* Handles one key: its candidate times are r->cand. New pending times go
 * to r->new_pending; output updates go to the builder. */
static int reduce_key(reduce_op *r, const uint64_t *key, const rf__antichain *upper) {
  uint32_t dim = r->op.dim, va = r->in_val_arity;
  RF_FORWARD_IF_ERROR(history_load(&r->in_hist, key));
  RF_FORWARD_IF_ERROR(history_load(&r->out_hist, key));
  /* The user function's arguments: at most one value per group. */
  size_t groups = r->in_hist.n_groups;
  if (rf__grow((void **)&r->fn_vals, &r->fn_vals_cap, groups * va + 1, sizeof(uint64_t)) < 0 ||
      rf__grow((void **)&r->fn_counts, &r->fn_counts_cap, groups + 1, sizeof(rf_diff)) < 0)
    return RF_ENOMEM;
  r->produced->n = 0;
  const rf__upd_ref *in = r->in_hist.sk.upds;
  size_t n_in = r->in_hist.sk.n_upds;
  uint64_t j[RF_MAX_DIM];
  for (size_t ci = 0; ci < r->n_cand; ci++) {
    /* A copy: cand_insert below may move the candidate list. */
    uint64_t t[RF_MAX_DIM];
    copy_words(t, r->cand + ci * dim, dim);
    if (rf__antichain_le(upper, t)) {
      RF_FORWARD_IF_ERROR(rf__upbuf_push(r->new_pending, key, t, 1));
      continue;
    }
    RF_FORWARD_IF_ERROR(evaluate(r, key, t));
    /* The input accumulation may also change at t joined with each input
     * time h of the key; join(t, h) differs from t exactly when h is not
     * <= t (duplicates are merged by cand_insert). */
    for (size_t h = 0; h < n_in; h++) {
      if (rf__time_le(in[h].time, t, dim)) continue;
      rf__time_join(t, in[h].time, j, dim);
      RF_FORWARD_IF_ERROR(cand_insert(r, j));
    }
  }
  /* Output in (val, time) order for the builder (one row is in order and,
   * emit_difference pushing no zeros, consolidated). */
  rf__upbuf *p = r->produced;
  if (p->n > 1) RF_FORWARD_IF_ERROR(rf__upbuf_consolidate(p));
  for (size_t i = 0; i < p->n; i++)
    RF_FORWARD_IF_ERROR(rf__builder_push(&r->builder, key, rf__upbuf_row(p, i),
                                         rf__upbuf_time(p, i), rf__upbuf_diff(p, i)));
  return 0;
}

/* ------------------------------------------------------------------ */
/* The operator                                                        */
/* ------------------------------------------------------------------ */

/* Sorts the candidate times and drops repeats. */
static int cand_normalize(reduce_op *r) {
  uint32_t dim = r->op.dim;
  if (r->n_cand < 2) return 0;
  if (rf__sort_rows(r->cand, r->n_cand, dim, dim) < 0) return RF_ENOMEM;
  size_t w = 1;
  for (size_t i = 1; i < r->n_cand; i++) {
    if (rf__time_eq(r->cand + (w - 1) * dim, r->cand + i * dim, dim)) continue;
    if (w != i) memcpy(r->cand + w * dim, r->cand + i * dim, dim * sizeof(uint64_t));
    w++;
  }
  r->n_cand = w;
  return 0;
}

/* Appends n times to the candidate list. */
static int cand_append(reduce_op *r, const uint64_t *times, size_t n) {
  uint32_t dim = r->op.dim;
  if (rf__grow((void **)&r->cand, &r->cand_cap, r->n_cand + n, dim * sizeof(uint64_t)) < 0)
    return RF_ENOMEM;
  memcpy(r->cand + r->n_cand * dim, times, n * dim * sizeof(uint64_t));
  r->n_cand += n;
  return 0;
}

/* Whether a run has no key to evaluate: its batches are empty (they only
 * move the upper) and every pending time stays incomplete. With several
 * workers a frontier moves in many small steps, and a quarter of the runs
 * of a BFS round are such. */
static bool nothing_ready(const reduce_op *r, rf__batch **batches, size_t n_batches,
                          const rf__antichain *upper) {
  for (size_t bi = 0; bi < n_batches; bi++)
    if (batches[bi]->n_keys) return false;
  const rf__upbuf *pend = r->pending;
  for (size_t i = 0; i < pend->n; i++)
    if (!rf__antichain_le(upper, rf__upbuf_time(pend, i))) return false;
  return true;
}

/* Ends a run: the output built so far (maybe none: an empty batch still
 * carries the new upper to the output's readers) goes into the trace and
 * to the consumers, and the operator's upper moves to `upper`. */
static int emit_batch(reduce_op *r, const rf__antichain *upper) {
  rf__batch *out = rf__builder_done(&r->builder, &r->upper, upper, &r->upper);
  if (!out) return RF_ENOMEM;
  int rc = rf__spine_insert(r->out_spine, rf__batch_ref(out));
  if (rc == 0) rc = rf__op_send_batch(&r->op, out);
  else rf__batch_unref(out);
  if (rc == 0) rc = rf__antichain_copy(&r->upper, upper);
  return rc;
}

/* The least key at or after positions pos (of the batches) and pp (of the
 * pending rows): the key reduce_step visits next; NULL when none is left. */
static const uint64_t *next_key(const reduce_op *r, rf__batch **batches, size_t n_batches,
                                const size_t *pos, size_t pp) {
  uint32_t ka = r->key_arity;
  const uint64_t *key = NULL;
  for (size_t bi = 0; bi < n_batches; bi++) {
    if (pos[bi] == batches[bi]->n_keys) continue;
    const uint64_t *k = rf__batch_key(batches[bi], pos[bi]);
    if (!key || rf__words_cmp(k, key, ka) < 0) key = k;
  }
  if (pp < r->pending->n && (!key || rf__words_cmp(rf__upbuf_row(r->pending, pp), key, ka) < 0))
    key = rf__upbuf_row(r->pending, pp);
  return key;
}

/* A walk over a run's work: a position in each new batch and in the
 * pending rows. reduce_step walks it twice: once to evaluate, and once a
 * few keys ahead, to tell the seekers which keys come (rf__seeker_ahead). */
typedef struct walk {
  size_t *pos; /* per new batch: its next key */
  size_t pp;   /* the next pending row */
} walk;

/* Moves w past its next key and returns it (NULL when the work is done).
 * *load: whether the run evaluates it (it has new updates, or a pending
 * time the upper completes); the others stay pending as they are, without
 * loading the key's histories (with a frontier that moves in small steps
 * most pending keys wait). *p0: where its pending rows start. */
static const uint64_t *walk_step(const reduce_op *r, rf__batch **batches, size_t n_batches,
                                 walk *w, const rf__antichain *upper, bool *load, size_t *p0) {
  uint32_t ka = r->key_arity;
  const rf__upbuf *pend = r->pending;
  const uint64_t *key = next_key(r, batches, n_batches, w->pos, w->pp);
  if (!key) return NULL;
  bool l = false;
  for (size_t bi = 0; bi < n_batches; bi++) {
    const rf__batch *b = batches[bi];
    if (w->pos[bi] == b->n_keys || rf__words_cmp(rf__batch_key(b, w->pos[bi]), key, ka) != 0)
      continue;
    w->pos[bi]++;
    l = true;
  }
  *p0 = w->pp;
  for (; w->pp < pend->n && rf__words_cmp(rf__upbuf_row(pend, w->pp), key, ka) == 0; w->pp++)
    if (!l && !rf__antichain_le(upper, rf__upbuf_time(pend, w->pp))) l = true;
  *load = l;
  return key;
}

/* The candidate times of a key the walk w has just passed: the times of its
 * new updates (in the batches whose position it passed) and its pending
 * times (rows p0 .. w->pp). */
static int gather_cands(reduce_op *r, rf__batch **batches, size_t n_batches, const walk *w,
                        const uint64_t *key, size_t p0) {
  uint32_t ka = r->key_arity;
  r->n_cand = 0;
  for (size_t bi = 0; bi < n_batches; bi++) {
    const rf__batch *b = batches[bi];
    /* Keys are visited in increasing order: the key just before a batch's
     * position equals this one only if the walk passed it now. */
    size_t k = w->pos[bi];
    if (k == 0 || rf__words_cmp(rf__batch_key(b, k - 1), key, ka) != 0) continue;
    size_t u1 = rf__batch_upd(b, b->key_off[k]);
    for (size_t u = rf__batch_upd(b, b->key_off[k - 1]); u < u1; u++)
      RF_FORWARD_IF_ERROR(cand_append(r, rf__batch_time(b, u), 1));
  }
  for (size_t p = p0; p < w->pp; p++)
    RF_FORWARD_IF_ERROR(cand_append(r, rf__upbuf_time(r->pending, p), 1));
  return cand_normalize(r);
}

/* Keeps the seekers told of the next keys the run will load, as many as
 * they take: the lookahead walk `ahead` runs in front of the evaluation,
 * *held being a key it found that the seekers did not take yet. */
static void announce(reduce_op *r, rf__batch **batches, size_t n_batches, walk *ahead,
                     const rf__antichain *upper, const uint64_t **held) {
  for (;;) {
    while (!*held) {
      bool load;
      size_t p0;
      const uint64_t *key = walk_step(r, batches, n_batches, ahead, upper, &load, &p0);
      if (!key) return;
      if (load) *held = key;
    }
    if (!rf__seeker_ahead(&r->in_hist.sk, *held)) return;
    (void)rf__seeker_ahead(&r->out_hist.sk, *held);
    *held = NULL;
  }
}

/* The work of a run: every key of the new batches, at the times of its new
 * updates, and every pending (key, time). Keys are taken in order by
 * merging the batches (each sorted by key) with the pending rows (sorted by
 * key and time: a run pushes them key by key, in candidate order), so the
 * work needs no sorting of its own. */
static int reduce_step(reduce_op *r, rf__batch **batches, size_t n_batches,
                       const rf__antichain *upper) {
  const rf__upbuf *pend = r->pending;
  /* Nothing to evaluate: the pending work stays as it is. */
  if (nothing_ready(r, batches, n_batches, upper)) return emit_batch(r, upper);
  r->new_pending->n = 0;
  size_t *pos = rf__calloc(2 * n_batches, sizeof *pos);
  walk w = {pos, 0}, ahead = {pos + n_batches, 0};
  const uint64_t *held = NULL;
  bool in_open = false, out_open = false;
  int rc = pos ? 0 : RF_ENOMEM;
  if (rc == 0) rc = rf__reader_seeker(r->in_reader, upper, &r->in_hist.sk);
  in_open = rc == 0;
  if (rc == 0) rc = rf__reader_seeker(r->out_reader, NULL, &r->out_hist.sk);
  out_open = in_open && rc == 0;
  while (rc == 0) {
    bool load;
    size_t p0;
    const uint64_t *key = walk_step(r, batches, n_batches, &w, upper, &load, &p0);
    if (!key) break;
    if (!load) {
      for (size_t i = p0; rc == 0 && i < w.pp; i++)
        rc = rf__upbuf_push(r->new_pending, key, rf__upbuf_time(pend, i), 1);
      continue;
    }
    if (r->key_arity == 1) announce(r, batches, n_batches, &ahead, upper, &held);
    rc = gather_cands(r, batches, n_batches, &w, key, p0);
    if (rc == 0) rc = reduce_key(r, key, upper);
  }
  rf__free(pos);
  if (in_open) rf__seeker_free(&r->in_hist.sk);
  if (out_open) rf__seeker_free(&r->out_hist.sk);
  if (rc == 0) rc = emit_batch(r, upper);
  if (rc == 0) {
    /* The new pending work replaces the old; the old buffer is reused. */
    rf__upbuf *old = r->pending;
    r->pending = r->new_pending;
    r->new_pending = old;
  }
  return rc;
}

static int hold_pending(reduce_op *r) {
  rf__antichain caps;
  rf__antichain_init(&caps, r->op.dim);
  int rc = rf__upbuf_min_times(r->pending, &caps);
  if (rc == 0) rc = rf__op_hold(&r->op, &caps);
  rf__antichain_free(&caps);
  return rc;
}

static int reduce_run(rf__op *op) {
  reduce_op *r = (reduce_op *)op;
  rf__batch **batches = NULL;
  size_t n = 0, cap = 0;
  rf__antichain upper;
  rf__antichain_init(&upper, op->dim);
  int rc = rf__antichain_copy(&upper, &r->upper);
  rf__msg *m;
  while (rc == 0 && (m = rf__port_pop(&op->in[0]))) {
    rc = rf__grow((void **)&batches, &cap, n + 1, sizeof *batches);
    if (rc == 0) {
      batches[n++] = rf__batch_ref(m->batch);
      rc = rf__antichain_copy(&upper, &m->batch->upper);
    }
    rf__msg_free(m);
  }
  if (rc == 0 && n > 0) rc = reduce_step(r, batches, n, &upper);
  for (size_t i = 0; i < n; i++) rf__batch_unref(batches[i]);
  rf__free(batches);
  rf__antichain_free(&upper);
  if (rc == 0 && n > 0) {
    rc = hold_pending(r);
    if (rc == 0) rc = rf__reader_set_logical(r->in_reader, &r->upper);
    if (rc == 0) rc = rf__reader_set_physical(r->in_reader, &r->upper);
    if (rc == 0) rc = rf__reader_set_logical(r->out_reader, &r->upper);
    if (rc == 0) rc = rf__reader_set_physical(r->out_reader, &r->upper);
  }
  if (rc == RF_ENOMEM) return rf__error(RF_ENOMEM, "reduce: out of memory");
  return rc;
}

static int reduce_idle(rf__op *op, size_t fuel) {
  return rf__spine_exert(((reduce_op *)op)->out_spine, &fuel);
}

static void history_free(history *h) { rf__free(h->end); }

static void reduce_destroy(rf__op *op) {
  reduce_op *r = (reduce_op *)op;
  rf__reader_free(r->in_reader);
  rf__reader_free(r->out_reader);
  rf__spine_free(r->out_spine);
  rf__antichain_free(&r->upper);
  rf__upbuf_unref(r->pending);
  history_free(&r->in_hist);
  history_free(&r->out_hist);
  rf__free(r->cand);
  rf__free(r->fn_vals);
  rf__free(r->fn_counts);
  rf__upbuf_unref(r->new_pending);
  rf__upbuf_unref(r->acc_out);
  rf__upbuf_unref(r->desired.buf);
  rf__upbuf_unref(r->produced);
  rf__builder_free(&r->builder);
}

static rf__spine *reduce_spine(rf__op *op) { return ((reduce_op *)op)->out_spine; }

/* Everything a reduce owns but its input reader. */
static int reduce_init(reduce_op *r, uint32_t key_arity, uint32_t in_val_arity,
                       uint32_t out_val_arity, rf_reduce_fn fn, void *ctx) {
  uint32_t dim = r->op.dim;
  r->key_arity = key_arity;
  r->in_val_arity = in_val_arity;
  r->out_val_arity = out_val_arity;
  r->fn = fn;
  r->ctx = ctx;
  rf__antichain_init(&r->upper, dim);
  uint64_t zero[RF_MAX_DIM] = {0};
  r->pending = rf__upbuf_new(key_arity, dim, 0);
  r->new_pending = rf__upbuf_new(key_arity, dim, 0);
  r->acc_out = rf__upbuf_new(out_val_arity, 0, 0);
  r->desired.buf = rf__upbuf_new(out_val_arity, 0, 0);
  r->produced = rf__upbuf_new(out_val_arity, dim, 0);
  r->out_spine = rf__spine_new(key_arity, out_val_arity, dim);
  rf__builder_init(&r->builder, key_arity, out_val_arity, dim);
  if (!r->pending || !r->new_pending || !r->acc_out || !r->desired.buf || !r->produced ||
      !r->out_spine || rf__antichain_set1(&r->upper, zero) < 0)
    return RF_ENOMEM;
  r->out_reader = rf__spine_reader_new(r->out_spine);
  return r->out_reader ? 0 : RF_ENOMEM;
}

/* Several workers: a replica reduces its worker's keys, reading its
 * worker's input trace. */
static int reduce_clone(const rf__op *src, rf__op *dst) {
  const reduce_op *from = (const reduce_op *)src;
  reduce_op *r = (reduce_op *)dst;
  if (reduce_init(r, from->key_arity, from->in_val_arity, from->out_val_arity, from->fn,
                  from->ctx) < 0)
    return RF_ENOMEM;
  r->in_reader = rf__spine_reader_new(rf__op_trace(dst->in[0].src));
  return r->in_reader ? 0 : RF_ENOMEM;
}

static const rf__op_class reduce_class = {.name = "reduce",
                                          .run = reduce_run,
                                          .destroy = reduce_destroy,
                                          .idle = reduce_idle,
                                          .spine = reduce_spine,
                                          .clone = reduce_clone};

int rf_reduce_push(rf_reduce_out *out, const rf_value *val, rf_diff count) {
  if (!out) return rf__error(RF_EINVAL, "rf_reduce_push: output is NULL");
  if (count == 0) return 0;
  static const rf_value none[RF_MAX_COLS] = {0};
  if (!val && out->buf->arity > 0)
    return out->err = rf__error(RF_EINVAL, "rf_reduce_push: value is NULL but the reducer "
                                           "outputs %u columns", out->buf->arity);
  static const uint64_t no_time[1] = {0}; /* the buffer's rows have no time words */
  if (rf__upbuf_push(out->buf, val ? val : none, no_time, count) < 0)
    return out->err = rf__error(RF_ENOMEM, "rf_reduce_push: out of memory");
  return 0;
}

rf_arr *rf_reduce(rf_arr *in, uint32_t out_val_arity, rf_reduce_fn fn, void *ctx) {
  if (!in) return NULL;
  rf_graph *g = in->op->g;
  if (!fn) {
    rf__graph_build_error(g, rf__error(RF_EINVAL, "rf_reduce: callback is NULL"));
    return NULL;
  }
  if (in->key_arity + out_val_arity > RF_MAX_COLS) {
    rf__graph_build_error(g, rf__error(RF_EARITY, "rf_reduce: %u key + %u value columns "
                                                  "exceed %d",
                                       in->key_arity, out_val_arity, RF_MAX_COLS));
    return NULL;
  }
  if (in->ext > 0) /* Reducing an entered arrangement: reduce outside, enter the result. */
    return rf_arr_enter(in->op->scope, rf_reduce(in->base, out_val_arity, fn, ctx));
  uint32_t dim = in->op->dim;
  reduce_op *r = (reduce_op *)rf__op_new(g, in->op->scope, &reduce_class, sizeof *r, 1, dim,
                                         in->key_arity + out_val_arity);
  if (!r) return NULL;
  if (reduce_init(r, in->key_arity, in->val_arity, out_val_arity, fn, ctx) < 0 ||
      !(r->in_reader = rf__arr_reader(in))) {
    rf__graph_build_error(g, rf__error(RF_ENOMEM, "rf_reduce: out of memory"));
    return NULL;
  }
  if (rf__op_connect(&r->op, 0, in->op, 0) < 0) return NULL;
  return rf__arr_new(&r->op, r->out_spine, in->key_arity, out_val_arity, 0);
}

/* ------------------------------------------------------------------ */
/* Built-in reducers                                                   */
/* ------------------------------------------------------------------ */

/* Overflow of i64 arithmetic in a built-in reducer is bad input, not
 * undefined behaviour: it stops the dataflow with RF_ERANGE. */
static int overflowed(rf_reduce_out *out, const char *what) {
  out->err = rf__error(RF_ERANGE, "%s: the result overflows a signed 64-bit integer", what);
  return out->err;
}

static int count_fn(void *ctx, const rf_value *key, const rf_value *vals, const rf_diff *counts,
                    size_t n, rf_reduce_out *out) {
  int64_t sum = 0;
  for (size_t i = 0; i < n; i++)
    if (__builtin_add_overflow(sum, counts[i], &sum)) return overflowed(out, "rf_count");
  rf_value v = rf_from_i64(sum);
  return rf_reduce_push(out, &v, 1);
}

static int sum_fn(void *ctx, const rf_value *key, const rf_value *vals, const rf_diff *counts,
                  size_t n, rf_reduce_out *out) {
  int64_t sum = 0, term;
  for (size_t i = 0; i < n; i++)
    if (__builtin_mul_overflow(rf_to_i64(vals[i]), counts[i], &term) ||
        __builtin_add_overflow(sum, term, &sum))
      return overflowed(out, "rf_sum");
  rf_value v = rf_from_i64(sum);
  return rf_reduce_push(out, &v, 1);
}

static int min_fn(void *ctx, const rf_value *key, const rf_value *vals, const rf_diff *counts,
                  size_t n, rf_reduce_out *out) {
  return rf_reduce_push(out, vals, 1);
}

static int max_fn(void *ctx, const rf_value *key, const rf_value *vals, const rf_diff *counts,
                  size_t n, rf_reduce_out *out) {
  uint32_t va = *(const uint32_t *)ctx;
  return rf_reduce_push(out, vals + (n - 1) * va, 1);
}

static int distinct_fn(void *ctx, const rf_value *key, const rf_value *vals,
                       const rf_diff *counts, size_t n, rf_reduce_out *out) {
  return counts[0] > 0 ? rf_reduce_push(out, NULL, 1) : 0;
}

typedef struct threshold_ctx {
  rf_threshold_fn fn;
  void *ctx;
  uint32_t val_arity;
} threshold_ctx;

static int threshold_fn(void *ctx, const rf_value *key, const rf_value *vals,
                        const rf_diff *counts, size_t n, rf_reduce_out *out) {
  threshold_ctx *t = ctx;
  for (size_t i = 0; i < n; i++) {
    rf_diff c = t->fn(t->ctx, counts[i]);
    RF_FORWARD_IF_ERROR(rf_reduce_push(out, vals + i * t->val_arity, c));
  }
  return 0;
}

rf_arr *rf_count(rf_arr *in) { return in ? rf_reduce(in, 1, count_fn, NULL) : NULL; }

rf_arr *rf_sum(rf_arr *in) {
  if (!in) return NULL;
  if (in->val_arity != 1) {
    rf__graph_build_error(in->op->g, rf__error(RF_EARITY, "rf_sum: sums one value column; the "
                                                          "arrangement has %u",
                                               in->val_arity));
    return NULL;
  }
  return rf_reduce(in, 1, sum_fn, NULL);
}

static rf_arr *min_max(rf_arr *in, bool is_max) {
  if (!in) return NULL;
  if (in->val_arity == 0) {
    rf__graph_build_error(in->op->g, rf__error(RF_EARITY, "rf_%s: the arrangement has no value "
                                                          "columns",
                                               is_max ? "max" : "min"));
    return NULL;
  }
  if (!is_max) return rf_reduce(in, in->val_arity, min_fn, NULL);
  uint32_t *va = rf__graph_own(in->op->g, sizeof *va);
  if (!va) return NULL;
  *va = in->val_arity;
  return rf_reduce(in, in->val_arity, max_fn, va);
}

rf_arr *rf_min(rf_arr *in) { return min_max(in, false); }
rf_arr *rf_max(rf_arr *in) { return min_max(in, true); }

rf_arr *rf_distinct(rf_coll *in) {
  if (!in) return NULL;
  return rf_reduce(rf_arrange(in, in->op->arity), 0, distinct_fn, NULL);
}

rf_arr *rf_threshold(rf_arr *in, rf_threshold_fn fn, void *ctx) {
  if (!in) return NULL;
  if (!fn) {
    rf__graph_build_error(in->op->g, rf__error(RF_EINVAL, "rf_threshold: callback is NULL"));
    return NULL;
  }
  threshold_ctx *t = rf__graph_own(in->op->g, sizeof *t);
  if (!t) return NULL;
  t->fn = fn;
  t->ctx = ctx;
  t->val_arity = in->val_arity;
  return rf_reduce(in, in->val_arity, threshold_fn, t);
}

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

/* The history of one key: updates grouped by value (values in order). */
typedef struct history {
  const uint64_t **vals; /* per group */
  size_t *off;           /* per group + 1: its updates in t / d */
  size_t n_groups, groups_cap, off_cap;
  uint64_t *t;           /* times, dim words each */
  int64_t *d;
  size_t n, cap, d_cap;
  uint32_t dim;
  int err;
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
  /* scratch, reused across keys */
  history in_hist, out_hist;
  uint64_t *cand;        /* candidate times of the current key, sorted */
  size_t n_cand, cand_cap;
  uint64_t *htimes;      /* distinct input times of the current key */
  size_t n_htimes, htimes_cap;
  rf__upbuf *acc_in;     /* (val, count) at the time being evaluated */
  rf__upbuf *acc_out;
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

static void history_time(void *ctx, const uint64_t *t, int64_t diff) {
  history *h = ctx;
  if (h->err) return;
  if (rf__grow((void **)&h->t, &h->cap, h->n + 1, h->dim * sizeof(uint64_t)) < 0) {
    h->err = RF_ENOMEM;
    return;
  }
  if (rf__grow((void **)&h->d, &h->d_cap, h->n + 1, sizeof(int64_t)) < 0) {
    h->err = RF_ENOMEM;
    return;
  }
  memcpy(h->t + h->n * h->dim, t, h->dim * sizeof(uint64_t));
  h->d[h->n] = diff;
  h->n++;
}

/* Loads the cursor's updates for key into h (empty if the key is absent). */
static int history_load(history *h, rf__cursor *c, const uint64_t *key, uint32_t key_arity) {
  h->n_groups = 0;
  h->n = 0;
  h->err = 0;
  if (rf__grow((void **)&h->off, &h->off_cap, 1, sizeof(size_t)) < 0) return RF_ENOMEM;
  h->off[0] = 0;
  rf__cursor_seek_key(c, key);
  if (!rf__cursor_key_valid(c) || rf__words_cmp(rf__cursor_key(c), key, key_arity) != 0)
    return 0;
  for (rf__cursor_rewind_vals(c); rf__cursor_val_valid(c); rf__cursor_step_val(c)) {
    size_t g = h->n_groups;
    if (rf__grow((void **)&h->vals, &h->groups_cap, g + 1, sizeof(uint64_t *)) < 0 ||
        rf__grow((void **)&h->off, &h->off_cap, g + 2, sizeof(size_t)) < 0)
      return RF_ENOMEM;
    h->vals[g] = rf__cursor_val(c);
    rf__cursor_map_times(c, history_time, h);
    if (h->err) return h->err;
    h->off[g + 1] = h->n;
    h->n_groups = g + 1;
  }
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

/* The distinct input times of the current key, for generating joins. */
static int collect_htimes(reduce_op *r) {
  uint32_t dim = r->op.dim;
  history *h = &r->in_hist;
  if (rf__grow((void **)&r->htimes, &r->htimes_cap, h->n + 1, dim * sizeof(uint64_t)) < 0)
    return RF_ENOMEM;
  memcpy(r->htimes, h->t, h->n * dim * sizeof(uint64_t));
  if (rf__sort_rows(r->htimes, h->n, dim, dim) < 0) return RF_ENOMEM;
  size_t w = 0;
  for (size_t i = 0; i < h->n; i++) {
    if (w > 0 && rf__time_eq(r->htimes + (w - 1) * dim, r->htimes + i * dim, dim)) continue;
    if (w != i) memcpy(r->htimes + w * dim, r->htimes + i * dim, dim * sizeof(uint64_t));
    w++;
  }
  r->n_htimes = w;
  return 0;
}

/* Accumulates a history at time t into acc as (val, count) rows, values in
 * order, zero counts dropped. */
static int accumulate(const history *h, const uint64_t *t, uint32_t val_arity, rf__upbuf *acc) {
  acc->n = 0;
  for (size_t g = 0; g < h->n_groups; g++) {
    int64_t sum = 0;
    for (size_t u = h->off[g]; u < h->off[g + 1]; u++)
      if (rf__time_le(h->t + u * h->dim, t, h->dim)) sum += h->d[u];
    if (sum == 0) continue;
    uint64_t *row = rf__upbuf_push_raw(acc);
    if (!row) return RF_ENOMEM;
    memcpy(row, h->vals[g], val_arity * sizeof(uint64_t));
    row[val_arity] = (uint64_t)sum;
  }
  return 0;
}

/* Adds the updates produced so far for this key at times <= t to acc (a
 * consolidated (val, count) list). */
static int add_produced(reduce_op *r, const uint64_t *t, rf__upbuf *acc) {
  const rf__upbuf *p = r->produced;
  uint32_t va = r->out_val_arity;
  size_t before = acc->n;
  for (size_t i = 0; i < p->n; i++) {
    if (!rf__time_le(rf__upbuf_time(p, i), t, p->dim)) continue;
    uint64_t *row = rf__upbuf_push_raw(acc);
    if (!row) return RF_ENOMEM;
    memcpy(row, rf__upbuf_row(p, i), va * sizeof(uint64_t));
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
  int rc = accumulate(&r->in_hist, t, r->in_val_arity, r->acc_in);
  if (rc == 0) rc = accumulate(&r->out_hist, t, r->out_val_arity, r->acc_out);
  if (rc == 0) rc = add_produced(r, t, r->acc_out);
  if (rc < 0) return rc;
  rf__upbuf *want = r->desired.buf;
  want->n = 0;
  if (r->acc_in->n > 0) {
    /* acc_in rows are (val words, count): hand the user separate arrays. */
    size_t n = r->acc_in->n;
    uint32_t va = r->in_val_arity;
    if (rf__grow((void **)&r->fn_vals, &r->fn_vals_cap, n * va + 1, sizeof(uint64_t)) < 0 ||
        rf__grow((void **)&r->fn_counts, &r->fn_counts_cap, n, sizeof(rf_diff)) < 0)
      return RF_ENOMEM;
    for (size_t i = 0; i < n; i++) {
      memcpy(r->fn_vals + i * va, rf__upbuf_row(r->acc_in, i), va * sizeof(uint64_t));
      r->fn_counts[i] = rf__upbuf_diff(r->acc_in, i);
    }
    r->desired.err = 0;
    rc = r->fn(r->ctx, key, r->fn_vals, r->fn_counts, n, &r->desired);
    if (r->desired.err) return r->desired.err;
    if (rc < 0) return rf__error(RF_ECALLBACK, "reduce: the user callback returned %d", rc);
    RF_FORWARD_IF_ERROR(rf__upbuf_consolidate(want));
  }
  return emit_difference(r, want, r->acc_out, t);
}

/* Handles one key: its candidate times are r->cand. New pending times go
 * to new_pending; output updates go to the builder. */
static int reduce_key(reduce_op *r, const uint64_t *key, rf__cursor *in_c, rf__cursor *out_c,
                      const rf__antichain *upper, rf__upbuf *new_pending) {
  uint32_t dim = r->op.dim;
  int rc = history_load(&r->in_hist, in_c, key, r->key_arity);
  if (rc == 0) rc = history_load(&r->out_hist, out_c, key, r->key_arity);
  if (rc == 0) rc = collect_htimes(r);
  if (rc < 0) return rc;
  r->produced->n = 0;
  uint64_t j[RF_MAX_DIM];
  for (size_t ci = 0; ci < r->n_cand; ci++) {
    uint64_t t[RF_MAX_DIM];
    memcpy(t, r->cand + ci * dim, dim * sizeof(uint64_t));
    if (rf__antichain_le(upper, t)) {
      RF_FORWARD_IF_ERROR(rf__upbuf_push(new_pending, key, t, 1));
      continue;
    }
    RF_FORWARD_IF_ERROR(evaluate(r, key, t));
    for (size_t h = 0; h < r->n_htimes; h++) {
      rf__time_join(t, r->htimes + h * dim, j, dim);
      if (!rf__time_eq(j, t, dim)) RF_FORWARD_IF_ERROR(cand_insert(r, j));
    }
  }
  /* Output in (val, time) order for the builder. */
  rf__upbuf *p = r->produced;
  RF_FORWARD_IF_ERROR(rf__upbuf_consolidate(p));
  for (size_t i = 0; i < p->n; i++)
    RF_FORWARD_IF_ERROR(rf__builder_push(&r->builder, key, rf__upbuf_row(p, i),
                                         rf__upbuf_time(p, i), rf__upbuf_diff(p, i)));
  return 0;
}

/* ------------------------------------------------------------------ */
/* The operator                                                        */
/* ------------------------------------------------------------------ */

/* (key, time) rows of the work to do: every update of the new batches, and
 * every pending time. Sorted by key, then time; duplicates merged. */
static int collect_work(reduce_op *r, rf__batch **batches, size_t n_batches, rf__upbuf *work) {
  for (size_t bi = 0; bi < n_batches; bi++) {
    const rf__batch *b = batches[bi];
    for (size_t k = 0; k < b->n_keys; k++)
      for (size_t u = b->val_off[b->key_off[k]]; u < b->val_off[b->key_off[k + 1]]; u++)
        RF_FORWARD_IF_ERROR(rf__upbuf_push(work, rf__batch_key(b, k), rf__batch_time(b, u), 1));
  }
  for (size_t i = 0; i < r->pending->n; i++)
    RF_FORWARD_IF_ERROR(rf__upbuf_push(work, rf__upbuf_row(r->pending, i),
                                       rf__upbuf_time(r->pending, i), 1));
  return rf__upbuf_consolidate(work);
}

static int reduce_step(reduce_op *r, rf__batch **batches, size_t n_batches,
                       const rf__antichain *upper) {
  uint32_t ka = r->key_arity, dim = r->op.dim;
  rf__upbuf *work = rf__upbuf_new(ka, dim, 0);
  rf__upbuf *new_pending = rf__upbuf_new(ka, dim, 0);
  rf__cursor in_c, out_c;
  bool in_open = false, out_open = false;
  int rc = (work && new_pending) ? 0 : RF_ENOMEM;
  if (rc == 0) rc = collect_work(r, batches, n_batches, work);
  if (rc == 0) rc = rf__reader_cursor(r->in_reader, upper, &in_c);
  in_open = rc == 0;
  if (rc == 0) rc = rf__reader_cursor(r->out_reader, NULL, &out_c);
  out_open = in_open && rc == 0;
  for (size_t i = 0; rc == 0 && i < work->n;) {
    const uint64_t *key = rf__upbuf_row(work, i);
    r->n_cand = 0;
    size_t e = i;
    while (rc == 0 && e < work->n && rf__words_cmp(rf__upbuf_row(work, e), key, ka) == 0)
      rc = cand_insert(r, rf__upbuf_time(work, e++));
    if (rc == 0) rc = reduce_key(r, key, &in_c, &out_c, upper, new_pending);
    i = e;
  }
  if (in_open) rf__cursor_free(&in_c);
  if (out_open) rf__cursor_free(&out_c);
  rf__batch *out = NULL;
  if (rc == 0) {
    out = rf__builder_done(&r->builder, &r->upper, upper, &r->upper);
    if (!out) rc = RF_ENOMEM;
  }
  if (rc == 0) rc = rf__spine_insert(r->out_spine, rf__batch_ref(out));
  if (rc == 0) rc = rf__op_send_batch(&r->op, out);
  else rf__batch_unref(out);
  if (rc == 0) {
    rf__upbuf_unref(r->pending);
    r->pending = new_pending;
    new_pending = NULL;
    rc = rf__antichain_copy(&r->upper, upper);
  }
  rf__upbuf_unref(work);
  rf__upbuf_unref(new_pending);
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

static void history_free(history *h) {
  rf__free(h->vals);
  rf__free(h->off);
  rf__free(h->t);
  rf__free(h->d);
}

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
  rf__free(r->htimes);
  rf__free(r->fn_vals);
  rf__free(r->fn_counts);
  rf__upbuf_unref(r->acc_in);
  rf__upbuf_unref(r->acc_out);
  rf__upbuf_unref(r->desired.buf);
  rf__upbuf_unref(r->produced);
  rf__builder_free(&r->builder);
}

static rf__spine *reduce_spine(rf__op *op) { return ((reduce_op *)op)->out_spine; }

static const rf__op_class reduce_class = {"reduce", reduce_run, reduce_destroy, reduce_idle,
                                          reduce_spine};

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
  r->key_arity = in->key_arity;
  r->in_val_arity = in->val_arity;
  r->out_val_arity = out_val_arity;
  r->fn = fn;
  r->ctx = ctx;
  rf__antichain_init(&r->upper, dim);
  uint64_t zero[RF_MAX_DIM] = {0};
  r->in_hist.dim = r->out_hist.dim = dim;
  r->pending = rf__upbuf_new(in->key_arity, dim, 0);
  r->acc_in = rf__upbuf_new(in->val_arity, 0, 0);
  r->acc_out = rf__upbuf_new(out_val_arity, 0, 0);
  r->desired.buf = rf__upbuf_new(out_val_arity, 0, 0);
  r->produced = rf__upbuf_new(out_val_arity, dim, 0);
  r->out_spine = rf__spine_new(in->key_arity, out_val_arity, dim);
  rf__builder_init(&r->builder, in->key_arity, out_val_arity, dim);
  if (!r->pending || !r->acc_in || !r->acc_out || !r->desired.buf || !r->produced ||
      !r->out_spine || rf__antichain_set1(&r->upper, zero) < 0) {
    rf__graph_build_error(g, rf__error(RF_ENOMEM, "rf_reduce: out of memory"));
    return NULL;
  }
  r->in_reader = rf__arr_reader(in);
  r->out_reader = rf__spine_reader_new(r->out_spine);
  if (!r->in_reader || !r->out_reader) {
    rf__graph_build_error(g, rf__error(RF_ENOMEM, "rf_reduce: out of memory"));
    return NULL;
  }
  if (rf__op_connect(&r->op, 0, in->op, 0) < 0) return NULL;
  return rf__arr_new(&r->op, r->out_spine, in->key_arity, out_val_arity, 0);
}

/* ------------------------------------------------------------------ */
/* Built-in reducers                                                   */
/* ------------------------------------------------------------------ */

static int count_fn(void *ctx, const rf_value *key, const rf_value *vals, const rf_diff *counts,
                    size_t n, rf_reduce_out *out) {
  int64_t sum = 0;
  for (size_t i = 0; i < n; i++) sum += counts[i];
  rf_value v = rf_from_i64(sum);
  return rf_reduce_push(out, &v, 1);
}

static int sum_fn(void *ctx, const rf_value *key, const rf_value *vals, const rf_diff *counts,
                  size_t n, rf_reduce_out *out) {
  int64_t sum = 0;
  for (size_t i = 0; i < n; i++) sum += rf_to_i64(vals[i]) * counts[i];
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

/*
 * join.c: join of two arrangements, and semijoin / antijoin built on it.
 *
 * Design
 *   Each input delivers the batches of a shared arrangement. A batch from
 *   one side is joined against the other side's trace "through" the upper
 *   of the batches already handled from that side (its ack), then this
 *   side's ack moves to the batch's upper. So every pair of updates (one
 *   from each side) meets exactly once: when the later of their two batches
 *   is handled. Output times are the lattice join of the two times and the
 *   diff is the product.
 *
 * Invariants
 *   - Each side's reader holds its physical frontier at its ack, so the
 *     spine keeps a batch boundary there and a seeker "through ack" of
 *     that side exists.
 *   - Each side's logical frontier is the other side's ack (projected to
 *     its own times): every later batch of the other side is at times in
 *     advance of it, and joining with a time in advance of the frontier
 *     gives the same result for compacted and original times.
 *   - An arrangement entered into a nested scope has shorter times; they
 *     are extended with zeros (iteration 0) on the fly, never copied.
 */
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "dataflow/graph.h"
#include "operators/ops.h"

typedef struct join_side {
  rf__reader *reader;
  rf__antichain ack; /* upper of the batches handled, in the arrangement's dim */
  uint32_t dim;      /* the arrangement's time words */
  uint32_t val_arity;
} join_side;

/* One update of the other side at the current key. */
typedef struct other_upd {
  const uint64_t *val;
  uint64_t t[RF_MAX_DIM];
  int64_t diff;
} other_upd;

typedef struct join_op {
  rf__op op;
  join_side side[2];
  uint32_t key_arity;
  rf_join_fn fn; /* NULL: output key, va, vb */
  void *ctx;
  other_upd *others;     /* scratch: the other side's updates at one key */
  size_t others_cap;
} join_op;

/* Writes one output row (room reserved by the caller): (key, va, vb), or
 * what the user function makes of them, at time t with the diff. */
static int emit(join_op *j, rf__upbuf *out, const uint64_t *key, const uint64_t *va,
                const uint64_t *vb, const uint64_t *t, int64_t diff) {
  rf__op *op = &j->op;
  uint64_t *row = out->rows + out->n * out->width;
  if (j->fn) {
    int rc = j->fn(j->ctx, key, va, vb, row);
    if (rc <= 0) {
      if (rc < 0) return rf__error(RF_ECALLBACK, "join_map: the user callback returned %d", rc);
      return 0;
    }
  } else {
    uint32_t ka = j->key_arity, a0 = j->side[0].val_arity, a1 = j->side[1].val_arity;
    memcpy(row, key, ka * sizeof(uint64_t));
    memcpy(row + ka, va, a0 * sizeof(uint64_t));
    memcpy(row + ka + a0, vb, a1 * sizeof(uint64_t));
  }
  for (uint32_t c = 0; c < op->dim; c++) row[op->arity + c] = t[c];
  row[op->arity + op->dim] = (uint64_t)diff;
  out->n++;
  return 0;
}

/* Joins batch b (from side s) against the other side's trace, read key by
 * key through seeker sk (b's keys are in order, as a seeker wants them). */
static int join_batch(join_op *j, int s, const rf__batch *b, rf__seeker *sk, rf__upbuf *out) {
  uint32_t dim = j->op.dim, sdim = j->side[s].dim, odim = j->side[1 - s].dim;
  uint64_t ts[RF_MAX_DIM], tj[RF_MAX_DIM];
  /* Keys announced to the seeker: [k, ahead) (so that their loads go out
   * while earlier keys' pairs are made). */
  size_t ahead = 0;
  for (size_t k = 0; k < b->n_keys; k++) {
    const uint64_t *key = rf__batch_key(b, k);
    if (ahead < k) ahead = k;
    while (ahead < b->n_keys && rf__seeker_ahead(sk, rf__batch_key(b, ahead))) ahead++;
    RF_FORWARD_IF_ERROR(rf__seeker_seek(sk, key, false));
    size_t n_others = sk->n_upds;
    if (n_others == 0) continue;
    /* The other side's updates at this key, times extended to the join's
     * dim once rather than once per pair. */
    if (rf__grow((void **)&j->others, &j->others_cap, n_others, sizeof(other_upd)) < 0)
      return RF_ENOMEM;
    for (size_t i = 0; i < n_others; i++) {
      const rf__upd_ref *u = &sk->upds[i];
      j->others[i].val = u->val;
      j->others[i].diff = u->diff;
      rf__time_extend(u->time, odim, dim, j->others[i].t);
    }
    size_t u0 = rf__batch_upd(b, b->key_off[k]), u1 = rf__batch_upd(b, b->key_off[k + 1]);
    /* Every pair of this key writes at most one row: room for all of
     * them at once. */
    if (rf__upbuf_reserve(out, out->n + (u1 - u0) * n_others) < 0) return RF_ENOMEM;
    for (size_t v = b->key_off[k]; v < b->key_off[k + 1]; v++) {
      const uint64_t *val = rf__batch_val(b, v);
      for (size_t u = rf__batch_upd(b, v); u < rf__batch_upd(b, v + 1); u++) {
        rf__time_extend(rf__batch_time(b, u), sdim, dim, ts);
        int64_t d = b->diffs[u];
        for (size_t i = 0; i < n_others; i++) {
          const other_upd *o = &j->others[i];
          rf__time_join(ts, o->t, tj, dim);
          const uint64_t *va = s == 0 ? val : o->val, *vb = s == 0 ? o->val : val;
          RF_FORWARD_IF_ERROR(emit(j, out, key, va, vb, tj, d * o->diff));
        }
      }
    }
  }
  return 0;
}

/* The antichain `from` (times of from_dim words) as seen by an arrangement
 * of to_dim words: through the join's dim, extended or truncated. */
static int project(const rf__antichain *from, uint32_t to_dim, rf__antichain *out) {
  rf__antichain_reset(out, to_dim);
  uint64_t t[RF_MAX_DIM];
  for (uint32_t i = 0; i < from->n; i++) {
    rf__time_extend(rf__antichain_at(from, i), from->dim < to_dim ? from->dim : to_dim,
                    to_dim, t);
    if (rf__antichain_insert(out, t) < 0) return RF_ENOMEM;
  }
  return 0;
}

static int update_readers(join_op *j) {
  rf__antichain proj;
  rf__antichain_init(&proj, 1);
  int rc = 0;
  for (int s = 0; s < 2 && rc == 0; s++) {
    join_side *me = &j->side[s], *other = &j->side[1 - s];
    rc = rf__reader_set_physical(me->reader, &me->ack);
    if (rc == 0) rc = project(&other->ack, me->dim, &proj);
    if (rc == 0) rc = rf__reader_set_logical(me->reader, &proj);
  }
  rf__antichain_free(&proj);
  return rc;
}

static int join_run(rf__op *op) {
  join_op *j = (join_op *)op;
  int rc = 0;
  for (int s = 0; s < 2 && rc == 0; s++) {
    rf__msg *m;
    while (rc == 0 && (m = rf__port_pop(&op->in[s]))) {
      const rf__batch *b = m->batch;
      if (b->n_upds > 0) {
        rf__seeker sk;
        join_side *other = &j->side[1 - s];
        rc = rf__reader_seeker(other->reader, &other->ack, &sk);
        if (rc == 0) {
          rf__upbuf *out = rf__upbuf_new(op->arity, op->dim, 0);
          rc = out ? join_batch(j, s, b, &sk, out) : RF_ENOMEM;
          rf__seeker_free(&sk);
          if (rc == 0) rc = rf__op_send(op, out);
          else rf__upbuf_unref(out);
        }
      }
      if (rc == 0 && rf__antichain_copy(&j->side[s].ack, &b->upper) < 0) rc = RF_ENOMEM;
      rf__msg_free(m);
    }
  }
  if (rc == 0) rc = update_readers(j);
  if (rc == RF_ENOMEM) return rf__error(RF_ENOMEM, "join: out of memory");
  return rc;
}

static void join_destroy(rf__op *op) {
  join_op *j = (join_op *)op;
  for (int s = 0; s < 2; s++) {
    rf__reader_free(j->side[s].reader);
    rf__antichain_free(&j->side[s].ack);
  }
  rf__free(j->others);
}

/* A side's handled-upper starts at the least time. */
static int side_init(join_side *side, uint32_t dim, uint32_t val_arity) {
  side->dim = dim;
  side->val_arity = val_arity;
  rf__antichain_init(&side->ack, dim);
  uint64_t zero[RF_MAX_DIM] = {0};
  return rf__antichain_set1(&side->ack, zero) < 0 ? RF_ENOMEM : 0;
}

/* Several workers: a replica reads its own worker's traces. */
static int join_clone(const rf__op *src, rf__op *dst) {
  const join_op *from = (const join_op *)src;
  join_op *j = (join_op *)dst;
  j->key_arity = from->key_arity;
  j->fn = from->fn;
  j->ctx = from->ctx;
  for (int s = 0; s < 2; s++) {
    if (side_init(&j->side[s], from->side[s].dim, from->side[s].val_arity) < 0) return RF_ENOMEM;
    j->side[s].reader = rf__spine_reader_new(rf__op_trace(dst->in[s].src));
    if (!j->side[s].reader) return RF_ENOMEM;
  }
  return 0;
}

static const rf__op_class join_class = {.name = "join",
                                        .run = join_run,
                                        .destroy = join_destroy,
                                        .clone = join_clone};

static rf_coll *join_new(rf_arr *a, rf_arr *b, uint32_t out_arity, rf_join_fn fn, void *ctx,
                         const char *what) {
  if (!a || !b) return NULL;
  rf_graph *g = a->op->g;
  if (b->op->g != g) {
    rf__graph_build_error(g, rf__error(RF_EINVAL, "%s: arrangements of different graphs", what));
    return NULL;
  }
  if (a->op->scope != b->op->scope) {
    rf__graph_build_error(g, rf__error(RF_ESCOPE, "%s: arrangements of different scopes "
                                                  "(use rf_arr_enter)", what));
    return NULL;
  }
  if (a->key_arity != b->key_arity) {
    rf__graph_build_error(g, rf__error(RF_EARITY, "%s: keys of %u and %u columns", what,
                                       a->key_arity, b->key_arity));
    return NULL;
  }
  if (out_arity == 0 || out_arity > RF_MAX_COLS) {
    rf__graph_build_error(g, rf__error(RF_EARITY, "%s: %u output columns (1 to %d allowed)",
                                       what, out_arity, RF_MAX_COLS));
    return NULL;
  }
  join_op *j = (join_op *)rf__op_new(g, a->op->scope, &join_class, sizeof *j, 2, a->op->dim,
                                     out_arity);
  if (!j) return NULL;
  j->key_arity = a->key_arity;
  j->fn = fn;
  j->ctx = ctx;
  rf_arr *sides[2] = {a, b};
  for (int s = 0; s < 2; s++) {
    if (side_init(&j->side[s], a->op->dim - sides[s]->ext, sides[s]->val_arity) < 0) {
      rf__graph_build_error(g, rf__error(RF_ENOMEM, "%s: out of memory", what));
      return NULL;
    }
    j->side[s].reader = rf__arr_reader(sides[s]);
    if (!j->side[s].reader) return NULL;
    if (rf__op_connect(&j->op, (uint32_t)s, sides[s]->op, 0) < 0) return NULL;
  }
  return rf__coll_new(&j->op);
}

rf_coll *rf_join(rf_arr *a, rf_arr *b) {
  if (!a || !b) return NULL;
  return join_new(a, b, a->key_arity + a->val_arity + b->val_arity, NULL, NULL, "rf_join");
}

rf_coll *rf_join_map(rf_arr *a, rf_arr *b, uint32_t out_arity, rf_join_fn fn, void *ctx) {
  if (!a || !b) return NULL;
  if (!fn) {
    rf__graph_build_error(a->op->g, rf__error(RF_EINVAL, "rf_join_map: callback is NULL"));
    return NULL;
  }
  return join_new(a, b, out_arity, fn, ctx, "rf_join_map");
}

rf_coll *rf_semijoin(rf_coll *c, rf_coll *keys) {
  if (!c || !keys) return NULL;
  uint32_t k = keys->op->arity;
  if (k > c->op->arity) {
    rf__graph_build_error(c->op->g, rf__error(RF_EARITY, "rf_semijoin: keys of %u columns for "
                                                         "a collection of %u", k, c->op->arity));
    return NULL;
  }
  return rf_join(rf_arrange(c, k), rf_distinct(keys));
}

rf_coll *rf_antijoin(rf_coll *c, rf_coll *keys) {
  return rf_concat(c, rf_negate(rf_semijoin(c, keys)));
}

/*
 * program.c: the callback semantics every oracle program uses, the or_coll
 * multiset (canonical, sorted, consolidated collections), the readable dumps
 * of programs, streams and collections printed on failure, and the small
 * program surgery (liveness, redirecting a node) the shrinker needs.
 *
 * The callback functions are deliberately simple arithmetic on the encoded
 * words, reduced modulo the program's value domain where they invent values,
 * so that keys keep colliding and loops over them have finitely many states.
 */
#include "program.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) {
    fprintf(stderr, "oracle: out of memory\n");
    abort();
  }
  return q;
}

rf_time or_stream_last_time(const or_stream *s) {
  if (s->n_steps == 0) return 0;
  return s->steps[s->n_steps - 1].advance_to - 1;
}

/* ------------------------------------------------------------------ */
/* Callback semantics                                                  */
/* ------------------------------------------------------------------ */

void or_map_apply(const or_fn *f, const rf_value *in, rf_value *out) {
  uint32_t ia = f->in_arity, oa = f->out_arity, p = f->param;
  uint64_t d = f->domain;
  switch (f->flavor) {
  case OR_MAP_ROTATE:
    for (uint32_t j = 0; j < oa; j++) out[j] = in[(j + p) % ia];
    break;
  case OR_MAP_SHIFT:
    for (uint32_t j = 0; j < oa; j++) out[j] = (in[(j + p) % ia] + p + j) % d;
    break;
  case OR_MAP_MIX:
    for (uint32_t j = 0; j < oa; j++)
      out[j] = (in[j % ia] * (2 * (p % 5) + 1) + in[(j + 1) % ia] + p) % d;
    break;
  case OR_MAP_TO_I64:
    /* keeps the first oa-1 columns, appends a small signed value */
    for (uint32_t j = 0; j + 1 < oa; j++) out[j] = in[j % ia];
    out[oa - 1] = rf_from_i64((int64_t)(in[(oa - 1 + p) % ia] % d) - (int64_t)(d / 2));
    break;
  case OR_MAP_RELABEL: {
    /* (node, label, ..., dst) -> (dst, g(label)), g monotone: identity for an
     * even param, else +1 up to domain-1 */
    rf_value lbl = in[1 % ia];
    out[0] = in[ia - 1];
    out[1] = ((p & 1) && lbl < d - 1) ? lbl + 1 : lbl;
    for (uint32_t j = 2; j < oa; j++) out[j] = in[j % ia];
    break;
  }
  default:
    abort();
  }
}

static uint64_t rec_hash(uint64_t seed, const rf_value *rec, uint32_t n) {
  uint64_t h = or_mix64(seed);
  for (uint32_t i = 0; i < n; i++) h = or_mix64(h ^ rec[i]);
  return h;
}

int or_filter_apply(const or_fn *f, const rf_value *rec) {
  uint32_t ia = f->in_arity, p = f->param;
  uint64_t d = f->domain;
  switch (f->flavor) {
  case OR_FILTER_LE:
    return rec[p % ia] % d <= (p >> 3) % d;
  case OR_FILTER_NEQ:
    if (ia >= 2) return (rec[0] != rec[1]) ^ (int)(p & 1);
    return (rec[0] + p) % 3 != 0;
  case OR_FILTER_HASH:
    return rec_hash(p, rec, ia) % 4 != 0;
  case OR_FILTER_KEY:
    return (rec[0] + p) % d != 0;
  default:
    abort();
  }
}

int or_flat_map_apply(const or_fn *f, const rf_value *in, or_emit_fn emit, void *ctx) {
  uint32_t ia = f->in_arity, oa = f->out_arity, p = f->param;
  uint64_t d = f->domain;
  rf_value out[OR_MAX_ARITY];
  int rc;
  switch (f->flavor) {
  case OR_FLAT_FAN: {
    uint64_t k = (in[0] + p) % 3;
    for (uint64_t i = 0; i < k; i++) {
      for (uint32_t j = 0; j < oa; j++) out[j] = (in[j % ia] + i + j * (p % 3)) % d;
      if ((rc = emit(ctx, out))) return rc;
    }
    return 0;
  }
  case OR_FLAT_SELF:
    for (uint32_t j = 0; j < oa; j++) out[j] = in[(j + p) % ia];
    if ((rc = emit(ctx, out))) return rc;
    if ((in[0] + p) % 2 == 0) {
      for (uint32_t j = 0; j < oa; j++) out[j] = (out[j] + 1) % d;
      if ((rc = emit(ctx, out))) return rc;
    }
    return 0;
  default:
    abort();
  }
}

int or_join_map_apply(const or_fn *f, const rf_value *key, const rf_value *va,
                      const rf_value *vb, rf_value *out) {
  rf_value w[3 * OR_MAX_ARITY];
  uint32_t len = 0, p = f->param;
  uint64_t d = f->domain;
  for (uint32_t i = 0; i < f->key_arity; i++) w[len++] = key[i];
  for (uint32_t i = 0; i < f->va; i++) w[len++] = va[i];
  for (uint32_t i = 0; i < f->vb; i++) w[len++] = vb[i];
  switch (f->flavor) {
  case OR_JM_PICK:
    for (uint32_t j = 0; j < f->out_arity; j++) out[j] = w[(j * (p % 3 + 1) + p) % len];
    return (w[0] + w[len - 1] + p) % 4 != 0;
  case OR_JM_SUM:
    for (uint32_t j = 0; j < f->out_arity; j++) out[j] = (w[j % len] + w[(j + p) % len]) % d;
    return 1;
  default:
    abort();
  }
}

int or_reduce_apply(const or_fn *f, const rf_value *key, const rf_value *vals,
                    const rf_diff *counts, size_t n, or_push_fn push, void *ctx) {
  uint32_t va = f->va, p = f->param;
  uint64_t d = f->domain;
  rf_value v[2];
  int rc;
  if (n == 0) return 0;
  switch (f->flavor) {
  case OR_RED_TOP: /* the greatest value */
    return push(ctx, vals + (n - 1) * va, 1);
  case OR_RED_NDISTINCT: /* how many distinct values, modulo the domain */
    v[0] = n % d;
    return push(ctx, v, 1);
  case OR_RED_POSVALS: /* each value with a positive count, once */
    for (size_t i = 0; i < n; i++)
      if (counts[i] > 0 && (rc = push(ctx, vals + i * va, 1))) return rc;
    return 0;
  case OR_RED_WEIGHT: { /* the least value with the key's total count */
    rf_diff total = 0;
    for (size_t i = 0; i < n; i++) total += counts[i];
    return total != 0 ? push(ctx, vals, total) : 0;
  }
  case OR_RED_TWO: /* two small values (possibly equal: count 2) */
    v[0] = (key[0] + n) % d;
    if ((rc = push(ctx, v, 1))) return rc;
    v[0] = (key[0] + p) % d;
    return push(ctx, v, 1);
  case OR_RED_ODD: /* the median value when there is an odd number */
    return (n % 2 == 1) ? push(ctx, vals + (n / 2) * va, 1) : 0;
  default:
    abort();
  }
}

rf_diff or_threshold_apply(const or_fn *f, rf_diff c) {
  switch (f->flavor) {
  case OR_TH_POS:
    return c > 0 ? 1 : 0;
  case OR_TH_GE2:
    return c >= 2 ? 1 : 0;
  case OR_TH_DOUBLE:
    return c > 0 ? 2 * c : 0;
  case OR_TH_CLAMP:
    return c > 2 ? 2 : c;
  case OR_TH_ODD:
    return c % 2;
  default:
    abort();
  }
}

bool or_reduce_positive(const or_fn *f, bool input_positive) {
  return f->flavor == OR_RED_WEIGHT ? input_positive : true;
}

bool or_threshold_positive(const or_fn *f, bool input_positive) {
  return (f->flavor == OR_TH_CLAMP || f->flavor == OR_TH_ODD) ? input_positive : true;
}

/* ------------------------------------------------------------------ */
/* Multisets                                                           */
/* ------------------------------------------------------------------ */

int or_rec_cmp(const rf_value *a, const rf_value *b, uint32_t n) {
  for (uint32_t i = 0; i < n; i++)
    if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}

void or_coll_init(or_coll *c, uint32_t arity) {
  memset(c, 0, sizeof *c);
  c->arity = arity;
}

void or_coll_free(or_coll *c) {
  free(c->recs);
  free(c->cnt);
  memset(c, 0, sizeof *c);
}

void or_coll_clear(or_coll *c) { c->n = 0; }

void or_coll_push(or_coll *c, const rf_value *rec, rf_diff d) {
  if (c->n == c->cap) {
    c->cap = c->cap ? 2 * c->cap : 16;
    c->recs = xrealloc(c->recs, c->cap * (c->arity ? c->arity : 1) * sizeof *c->recs);
    c->cnt = xrealloc(c->cnt, c->cap * sizeof *c->cnt);
  }
  if (c->arity) memcpy(c->recs + c->n * c->arity, rec, c->arity * sizeof *rec);
  c->cnt[c->n++] = d;
}

/* Bottom-up merge sort of record indices. */
static void sort_indices(const or_coll *c, size_t *idx, size_t *tmp) {
  size_t n = c->n;
  for (size_t w = 1; w < n; w *= 2) {
    for (size_t lo = 0; lo < n; lo += 2 * w) {
      size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
      size_t i = lo, j = mid, k = lo;
      while (i < mid && j < hi) {
        if (or_rec_cmp(or_coll_rec(c, idx[j]), or_coll_rec(c, idx[i]), c->arity) < 0)
          tmp[k++] = idx[j++];
        else
          tmp[k++] = idx[i++];
      }
      while (i < mid) tmp[k++] = idx[i++];
      while (j < hi) tmp[k++] = idx[j++];
    }
    memcpy(idx, tmp, n * sizeof *idx);
  }
}

void or_coll_normalize(or_coll *c) {
  size_t n = c->n;
  if (n == 0) return;
  size_t *idx = xrealloc(NULL, n * sizeof *idx), *tmp = xrealloc(NULL, n * sizeof *tmp);
  for (size_t i = 0; i < n; i++) idx[i] = i;
  sort_indices(c, idx, tmp);
  uint32_t a = c->arity;
  rf_value *recs = xrealloc(NULL, n * (a ? a : 1) * sizeof *recs);
  rf_diff *cnt = xrealloc(NULL, n * sizeof *cnt);
  size_t m = 0;
  for (size_t i = 0; i < n;) {
    const rf_value *r = or_coll_rec(c, idx[i]);
    rf_diff sum = 0;
    size_t j = i;
    while (j < n && or_rec_cmp(or_coll_rec(c, idx[j]), r, a) == 0) sum += c->cnt[idx[j++]];
    if (sum != 0) {
      if (a) memcpy(recs + m * a, r, a * sizeof *r);
      cnt[m++] = sum;
    }
    i = j;
  }
  free(c->recs);
  free(c->cnt);
  free(idx);
  free(tmp);
  c->recs = recs;
  c->cnt = cnt;
  c->n = m;
  c->cap = n;
}

void or_coll_copy(or_coll *dst, const or_coll *src) {
  or_coll_free(dst);
  or_coll_init(dst, src->arity);
  for (size_t i = 0; i < src->n; i++) or_coll_push(dst, or_coll_rec(src, i), src->cnt[i]);
}

bool or_coll_equal(const or_coll *a, const or_coll *b) {
  if (a->arity != b->arity || a->n != b->n) return false;
  for (size_t i = 0; i < a->n; i++)
    if (a->cnt[i] != b->cnt[i] || or_rec_cmp(or_coll_rec(a, i), or_coll_rec(b, i), a->arity))
      return false;
  return true;
}

uint64_t or_coll_hash(const or_coll *c) {
  uint64_t h = or_mix64(c->arity ^ ((uint64_t)c->n << 32));
  for (size_t i = 0; i < c->n; i++) {
    h = rec_hash(h, or_coll_rec(c, i), c->arity);
    h = or_mix64(h ^ (uint64_t)c->cnt[i]);
  }
  return h;
}

/* ------------------------------------------------------------------ */
/* Text                                                                */
/* ------------------------------------------------------------------ */

void or_buf_init(or_buf *b) { memset(b, 0, sizeof *b); }

void or_buf_free(or_buf *b) {
  free(b->s);
  memset(b, 0, sizeof *b);
}

void or_buf_printf(or_buf *b, const char *fmt, ...) {
  va_list ap;
  for (;;) {
    size_t room = b->cap - b->n;
    va_start(ap, fmt);
    int k = vsnprintf(b->s ? b->s + b->n : NULL, room, fmt, ap);
    va_end(ap);
    if (k < 0) return;
    if ((size_t)k < room) {
      b->n += (size_t)k;
      return;
    }
    b->cap = (b->cap + (size_t)k + 1) * 2;
    b->s = xrealloc(b->s, b->cap);
  }
}

void or_buf_append(or_buf *b, const void *data, size_t n) {
  if (b->cap - b->n < n + 1) {
    b->cap = (b->n + n + 1) * 2;
    b->s = xrealloc(b->s, b->cap);
  }
  memcpy(b->s + b->n, data, n);
  b->n += n;
  b->s[b->n] = 0;
}

char *or_buf_take(or_buf *b) {
  char *s = b->s ? b->s : xrealloc(NULL, 1);
  if (!b->s) s[0] = 0;
  memset(b, 0, sizeof *b);
  return s;
}

const char *or_op_name(or_op op) {
  static const char *names[OR_N_OPS] = {
      "input",   "map",       "filter",   "flat_map", "project",   "concat",  "negate",
      "consolidate", "inspect", "arrange", "arr_collection", "join", "join_map",
      "semijoin", "antijoin", "reduce",   "count",    "sum",       "min",     "max",
      "distinct", "threshold", "enter",   "arr_enter", "var",      "leave",   "iterate"};
  return (unsigned)op < OR_N_OPS ? names[op] : "?";
}

void or_dump_value(or_buf *b, rf_value v) {
  int64_t s = rf_to_i64(v);
  if (v < (UINT64_C(1) << 32))
    or_buf_printf(b, "%" PRIu64, v);
  else if (s > -(INT64_C(1) << 32) && s < (INT64_C(1) << 32))
    or_buf_printf(b, "i%" PRId64, s);
  else
    or_buf_printf(b, "0x%" PRIx64, v);
}

void or_dump_record(or_buf *b, const rf_value *rec, uint32_t arity) {
  or_buf_printf(b, "(");
  for (uint32_t i = 0; i < arity; i++) {
    if (i) or_buf_printf(b, ",");
    or_dump_value(b, rec[i]);
  }
  or_buf_printf(b, ")");
}

static const char *fn_name(or_op op, uint32_t flavor) {
  static const char *maps[] = {"rotate", "shift", "mix", "to_i64", "relabel"};
  static const char *filters[] = {"le", "neq", "hash", "key"};
  static const char *flats[] = {"fan", "self"};
  static const char *jms[] = {"pick", "sum"};
  static const char *reds[] = {"top", "ndistinct", "posvals", "weight", "two", "odd"};
  static const char *ths[] = {"pos", "ge2", "double", "clamp", "odd"};
  switch (op) {
  case OR_MAP: return flavor < 5 ? maps[flavor] : "?";
  case OR_FILTER: return flavor < 4 ? filters[flavor] : "?";
  case OR_FLAT_MAP: return flavor < 2 ? flats[flavor] : "?";
  case OR_JOIN_MAP: return flavor < 2 ? jms[flavor] : "?";
  case OR_REDUCE: return flavor < 6 ? reds[flavor] : "?";
  case OR_THRESHOLD: return flavor < 5 ? ths[flavor] : "?";
  default: return "?";
  }
}

void or_dump_program(or_buf *b, const or_program *p) {
  or_buf_printf(b, "program (seed 0x%016" PRIx64 ", values mod %u):\n", p->seed, p->domain);
  for (int i = 0; i < p->n_inputs; i++)
    or_buf_printf(b, "  input in%d: %u columns, %s counts\n", i, p->input_arity[i],
                  p->input_positive[i] ? "non-negative" : "signed");
  for (int s = 1; s < p->n_scopes; s++) {
    const or_scope *sc = &p->scopes[s];
    bool live = false;
    for (int i = 0; i < p->n_nodes; i++) live = live || (!p->nodes[i].dead && p->nodes[i].scope == s);
    if (!live) continue;
    or_buf_printf(b, "  scope s%d: child of s%d, depth %d, %s", s, sc->parent, sc->depth,
                  sc->iterate_style ? "rf_iterate" : "rf_scope_new/rf_var_new");
    for (int j = 0; j < sc->n_vars; j++)
      or_buf_printf(b, "; var%d starts as n%d, next n%d", j, sc->var_init[j], sc->var_next[j]);
    or_buf_printf(b, "\n");
  }
  for (int i = 0; i < p->n_nodes; i++) {
    const or_node *n = &p->nodes[i];
    if (n->dead) continue;
    const or_scope *sc = &p->scopes[n->scope];
    or_buf_printf(b, "  %*sn%d = ", 2 * sc->depth, "", i);
    switch (n->op) {
    case OR_INPUT:
      or_buf_printf(b, "input in%d", n->input);
      break;
    case OR_MAP:
    case OR_FLAT_MAP:
      or_buf_printf(b, "%s(n%d, %s/%u) -> %u cols", or_op_name(n->op), n->in[0],
                    fn_name(n->op, n->fn.flavor), n->fn.param, n->arity);
      break;
    case OR_FILTER:
      or_buf_printf(b, "filter(n%d, %s/%u)", n->in[0], fn_name(n->op, n->fn.flavor), n->fn.param);
      break;
    case OR_PROJECT:
      or_buf_printf(b, "project(n%d, [", n->in[0]);
      for (uint32_t j = 0; j < n->arity; j++) or_buf_printf(b, "%s%u", j ? "," : "", n->cols[j]);
      or_buf_printf(b, "])");
      break;
    case OR_ARRANGE:
      or_buf_printf(b, "arrange(n%d, key %u)", n->in[0], n->key_arity);
      break;
    case OR_JOIN_MAP:
      or_buf_printf(b, "join_map(n%d, n%d, %s/%u) -> %u cols", n->in[0], n->in[1],
                    fn_name(n->op, n->fn.flavor), n->fn.param, n->arity);
      break;
    case OR_SEMIJOIN:
    case OR_ANTIJOIN:
      or_buf_printf(b, "%s(n%d, keys n%d)", or_op_name(n->op), n->in[0], n->in[1]);
      break;
    case OR_REDUCE:
      or_buf_printf(b, "reduce(n%d, %s/%u) -> %u value cols", n->in[0],
                    fn_name(n->op, n->fn.flavor), n->fn.param, n->fn.out_arity);
      break;
    case OR_THRESHOLD:
      or_buf_printf(b, "threshold(n%d, %s)", n->in[0], fn_name(n->op, n->fn.flavor));
      break;
    case OR_VAR:
      or_buf_printf(b, "var(s%d, %d)", n->scope, n->sub);
      break;
    case OR_LEAVE:
      or_buf_printf(b, "leave(n%d) from s%d", n->in[0], n->sub);
      break;
    case OR_ITERATE:
      or_buf_printf(b, "iterate(n%d) as s%d: result var0 at the fixed point", p->scopes[n->sub].var_init[0],
                    n->sub);
      break;
    default:
      or_buf_printf(b, "%s(", or_op_name(n->op));
      for (int j = 0; j < n->n_in; j++) or_buf_printf(b, "%sn%d", j ? ", " : "", n->in[j]);
      or_buf_printf(b, ")");
      break;
    }
    if (n->is_arr)
      or_buf_printf(b, "   [s%d arr key %u val %u%s]\n", n->scope, n->key_arity,
                    n->arity - n->key_arity, n->positive ? " +" : "");
    else
      or_buf_printf(b, "   [s%d coll %u%s]\n", n->scope, n->arity, n->positive ? " +" : "");
  }
  or_buf_printf(b, "  outputs:");
  for (int o = 0; o < p->n_outputs; o++) or_buf_printf(b, " o%d=n%d", o, p->outputs[o]);
  or_buf_printf(b, "\n");
}

void or_dump_stream(or_buf *b, const or_program *p, const or_stream *s) {
  or_buf_printf(b, "stream (%d steps, %d updates%s):\n", s->n_steps, s->n_updates,
                s->buffered ? ", inputs buffered" : "");
  for (int k = 0; k < s->n_steps; k++) {
    const or_step *st = &s->steps[k];
    or_buf_printf(b, "  t=%" PRIu64 ":", st->time);
    for (int i = 0; i < st->count; i++) {
      const or_update *u = &s->updates[st->first + i];
      if (st->mid_flush && i == st->count / 2) or_buf_printf(b, " [flush+step]");
      or_buf_printf(b, " in%d%+" PRId64, u->input, u->diff);
      or_dump_record(b, u->rec, p->input_arity[u->input]);
    }
    or_buf_printf(b, " -> advance to %" PRIu64 "%s\n", st->advance_to, st->wait ? ", wait+check" : "");
  }
}

void or_dump_coll(or_buf *b, const or_coll *c, size_t max) {
  or_buf_printf(b, "{");
  for (size_t i = 0; i < c->n && i < max; i++) {
    or_buf_printf(b, "%s", i ? " " : "");
    or_dump_record(b, or_coll_rec(c, i), c->arity);
    or_buf_printf(b, "x%" PRId64, c->cnt[i]);
  }
  if (c->n > max) or_buf_printf(b, " ... (%zu records)", c->n);
  or_buf_printf(b, "}");
}

/* ------------------------------------------------------------------ */
/* Surgery                                                             */
/* ------------------------------------------------------------------ */

typedef struct live_ctx {
  or_program *p;
  bool node[OR_MAX_NODES];
  bool scope[OR_MAX_SCOPES];
} live_ctx;

static void live_node(live_ctx *L, int i);

static void live_scope(live_ctx *L, int s) {
  if (L->scope[s]) return;
  L->scope[s] = true;
  for (int j = 0; j < L->p->scopes[s].n_vars; j++) {
    live_node(L, L->p->scopes[s].var_init[j]);
    live_node(L, L->p->scopes[s].var_next[j]);
  }
}

static void live_node(live_ctx *L, int i) {
  if (i < 0 || L->node[i]) return;
  L->node[i] = true;
  const or_node *n = &L->p->nodes[i];
  for (int j = 0; j < n->n_in; j++) live_node(L, n->in[j]);
  if (n->op == OR_VAR) live_scope(L, n->scope);
  if (n->op == OR_LEAVE || n->op == OR_ITERATE) live_scope(L, n->sub);
}

void or_program_mark_live(or_program *p) {
  live_ctx *L = calloc(1, sizeof *L);
  if (!L) abort();
  L->p = p;
  for (int o = 0; o < p->n_outputs; o++) live_node(L, p->outputs[o]);
  for (int i = 0; i < p->n_nodes; i++)
    p->nodes[i].dead = !L->node[i] && p->nodes[i].op != OR_INPUT; /* the stream feeds every input */
  free(L);
}

void or_program_redirect(or_program *p, int from, int to) {
  for (int i = 0; i < p->n_nodes; i++)
    for (int j = 0; j < p->nodes[i].n_in; j++)
      if (p->nodes[i].in[j] == from) p->nodes[i].in[j] = to;
  for (int o = 0; o < p->n_outputs; o++)
    if (p->outputs[o] == from) p->outputs[o] = to;
  for (int s = 0; s < p->n_scopes; s++)
    for (int j = 0; j < p->scopes[s].n_vars; j++) {
      if (p->scopes[s].var_init[j] == from) p->scopes[s].var_init[j] = to;
      if (p->scopes[s].var_next[j] == from) p->scopes[s].var_next[j] = to;
    }
  or_program_mark_live(p);
}

/* Whether node i (of any scope) depends on leaving scope s. */
static bool reaches_exit(const or_program *p, int i, int s, bool *seen) {
  if (i < 0 || seen[i]) return false;
  seen[i] = true;
  const or_node *n = &p->nodes[i];
  if ((n->op == OR_LEAVE || n->op == OR_ITERATE) && n->sub == s) return true;
  for (int j = 0; j < n->n_in; j++)
    if (reaches_exit(p, n->in[j], s, seen)) return true;
  if (n->op == OR_LEAVE || n->op == OR_ITERATE) {
    const or_scope *sc = &p->scopes[n->sub];
    for (int j = 0; j < sc->n_vars; j++)
      if (reaches_exit(p, sc->var_init[j], s, seen) || reaches_exit(p, sc->var_next[j], s, seen))
        return true;
  }
  return false;
}

int or_program_check(const or_program *p, char *msg, size_t msg_len) {
#define BAD(...)                                                                                   \
  do {                                                                                             \
    snprintf(msg, msg_len, __VA_ARGS__);                                                           \
    return -1;                                                                                     \
  } while (0)
  bool seen[OR_MAX_NODES];
  for (int i = 0; i < p->n_nodes; i++) {
    const or_node *n = &p->nodes[i];
    if (n->dead) continue;
    for (int j = 0; j < n->n_in; j++) {
      int x = n->in[j];
      if (x < 0 || x >= i) BAD("n%d: operand n%d does not come before it", i, x);
      int want = n->scope;
      if (n->op == OR_ENTER || n->op == OR_ARR_ENTER) want = p->scopes[n->scope].parent;
      if (n->op == OR_LEAVE) want = n->sub;
      if (p->nodes[x].scope != want) BAD("n%d: operand n%d is in scope s%d, not s%d", i, x, p->nodes[x].scope, want);
    }
    if (n->op == OR_LEAVE && p->scopes[n->sub].parent != n->scope)
      BAD("n%d leaves s%d, which is not a child of s%d", i, n->sub, n->scope);
    if (n->op == OR_ENTER || n->op == OR_ARR_ENTER) {
      memset(seen, 0, sizeof seen);
      if (reaches_exit(p, n->in[0], n->scope, seen))
        BAD("n%d enters into s%d a collection that depends on leaving s%d", i, n->scope, n->scope);
    }
  }
  for (int s = 1; s < p->n_scopes; s++) {
    const or_scope *sc = &p->scopes[s];
    for (int j = 0; j < sc->n_vars; j++) {
      int init = sc->var_init[j], next = sc->var_next[j];
      int init_scope = sc->iterate_style ? sc->parent : s;
      if (p->nodes[init].scope != init_scope) BAD("s%d var%d: initial n%d is in the wrong scope", s, j, init);
      if (p->nodes[next].scope != s) BAD("s%d var%d: next n%d is not in the scope", s, j, next);
      if (p->nodes[init].arity != p->nodes[next].arity)
        BAD("s%d var%d: initial and next arities differ", s, j);
    }
  }
  return 0;
#undef BAD
}

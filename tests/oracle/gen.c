/*
 * gen.c: the seeded random generator of oracle programs and update streams.
 *
 * A program starts from 1-3 inputs of 1-3 columns over a small value domain
 * and grows by random operations, each picking operands from the nodes
 * already made in the current scope (recent ones preferred). Loops come from
 * templates whose bodies converge by construction:
 *   reach   v' = distinct(initial + map(join(v, edges)))  (monotone, finite)
 *   min/max label propagation over an edge relation with a monotone relabel
 *   twovar  two mutually recursive monotone variables (explicit scope)
 *   wild    random operators on v (antijoin, reduce, negate, ...), usually
 *           normalized by distinct; accepted only when the evaluator finds a
 *           fixed point at every time
 * Loops are built half the time with rf_iterate and half the time with an
 * explicit scope (rf_scope_new / rf_var_new / rf_var_set / rf_leave), enter
 * outer collections and arrangements, and nest when the family allows.
 * The generator tracks which collections have only positive counts, so that
 * what a monotone loop enters is positive (else it goes through distinct).
 * Every draw is then evaluated at every time (gen.h): loops, nested and
 * unread ones included, must reach a fixed point within 40 rounds, and the
 * evaluator's work is bounded, else the draw is discarded.
 */
#include "gen.h"

#include <stdio.h>
#include <string.h>

#define MAXAR OR_MAX_ARITY
/* Records all operators of a case may make at one time, loop rounds
 * included: a proxy for the engine's work that keeps every case small. */
#ifndef OR_GEN_MAX_WORK
#define OR_GEN_MAX_WORK 60000
#endif

typedef struct gen {
  or_program *p;
  or_stream *s;
  uint64_t rng;
  or_family fam;
  int max_depth; /* deepest scope allowed */
  int nest_pct;  /* chance that a loop body nests another loop */
  bool full;     /* ran out of room: the draw is discarded */
  bool vdep[OR_MAX_NODES]; /* depends on a variable of its own scope */
} gen;

/* ------------------------------------------------------------------ */
/* Randomness                                                          */
/* ------------------------------------------------------------------ */

static uint64_t rnd(gen *G) {
  G->rng += UINT64_C(0x9e3779b97f4a7c15);
  return or_mix64(G->rng);
}
static uint32_t rn(gen *G, uint32_t n) { return n ? (uint32_t)(rnd(G) % n) : 0; }
static bool chance(gen *G, int pct) { return rn(G, 100) < (uint32_t)pct; }
static uint32_t umin(uint32_t a, uint32_t b) { return a < b ? a : b; }

/* ------------------------------------------------------------------ */
/* Seeds and families                                                  */
/* ------------------------------------------------------------------ */

const char *or_family_name(or_family f) {
  switch (f) {
  case OR_FAM_BASIC: return "basic";
  case OR_FAM_JOIN: return "join";
  case OR_FAM_REDUCE: return "reduce";
  case OR_FAM_ITERATE: return "iterate";
  case OR_FAM_NESTED: return "nested";
  case OR_FAM_MIXED: return "mixed";
  default: return "?";
  }
}

uint64_t or_case_seed(or_family f, uint64_t index) {
  uint64_t h = or_mix64(((uint64_t)f << 40) ^ or_mix64(index ^ UINT64_C(0x0ac1e5eed)));
  return ((uint64_t)f << 56) | (h & UINT64_C(0x00ffffffffffffff));
}

or_family or_seed_family(uint64_t seed) {
  uint64_t f = seed >> 56;
  return (f >= OR_FAM_BASIC && f < OR_N_FAMILIES) ? (or_family)f : (or_family)0;
}

or_eval_limits or_gen_accept_limits(void) {
  or_eval_limits l = {40, 1500, (rf_diff)1 << 24, OR_GEN_MAX_WORK};
  return l;
}

/* ------------------------------------------------------------------ */
/* Node constructors                                                   */
/* ------------------------------------------------------------------ */

static or_node *N(gen *G, int i) { return &G->p->nodes[i]; }
static uint32_t ar(gen *G, int i) { return G->p->nodes[i].arity; }
static uint32_t kar(gen *G, int i) { return G->p->nodes[i].key_arity; }
static bool pos(gen *G, int i) { return G->p->nodes[i].positive; }
static int scope_of(gen *G, int i) { return G->p->nodes[i].scope; }
static bool is_arr(gen *G, int i) { return G->p->nodes[i].is_arr; }
static int depth(gen *G, int s) { return G->p->scopes[s].depth; }

static int add(gen *G, or_op op, int scope, bool arr, uint32_t arity, uint32_t key_arity,
               bool positive, int n_in, const int *in) {
  or_program *p = G->p;
  if (p->n_nodes >= OR_MAX_NODES || arity == 0 || arity > MAXAR) {
    G->full = true;
    return 0;
  }
  int i = p->n_nodes++;
  or_node *n = &p->nodes[i];
  memset(n, 0, sizeof *n);
  n->op = op;
  n->scope = scope;
  n->is_arr = arr;
  n->arity = arity;
  n->key_arity = key_arity;
  n->positive = positive;
  n->n_in = n_in;
  n->fn.domain = p->domain;
  G->vdep[i] = op == OR_VAR;
  for (int j = 0; j < n_in; j++) {
    n->in[j] = in[j];
    if (p->nodes[in[j]].scope == scope && G->vdep[in[j]]) G->vdep[i] = true;
  }
  return i;
}

static void set_fn(gen *G, int i, uint32_t flavor, uint32_t param, uint32_t in_ar, uint32_t out_ar) {
  or_fn *f = &N(G, i)->fn;
  f->flavor = flavor;
  f->param = param;
  f->in_arity = in_ar;
  f->out_arity = out_ar;
}

static int mk_map(gen *G, int c, uint32_t oa, uint32_t flavor, uint32_t param) {
  int i = add(G, OR_MAP, scope_of(G, c), false, oa, 0, pos(G, c), 1, &c);
  set_fn(G, i, flavor, param, ar(G, c), oa);
  return i;
}

static int mk_filter(gen *G, int c, uint32_t flavor, uint32_t param) {
  int i = add(G, OR_FILTER, scope_of(G, c), false, ar(G, c), 0, pos(G, c), 1, &c);
  set_fn(G, i, flavor, param, ar(G, c), ar(G, c));
  return i;
}

static int mk_flat(gen *G, int c, uint32_t oa, uint32_t flavor, uint32_t param) {
  int i = add(G, OR_FLAT_MAP, scope_of(G, c), false, oa, 0, pos(G, c), 1, &c);
  set_fn(G, i, flavor, param, ar(G, c), oa);
  return i;
}

static int mk_project(gen *G, int c, uint32_t n, const uint32_t *cols) {
  int i = add(G, OR_PROJECT, scope_of(G, c), false, n, 0, pos(G, c), 1, &c);
  if (!G->full) memcpy(N(G, i)->cols, cols, n * sizeof *cols);
  return i;
}

/* Keeps n random distinct columns of c, in random order. */
static int mk_project_random(gen *G, int c, uint32_t n) {
  uint32_t cols[MAXAR], a = ar(G, c);
  for (uint32_t j = 0; j < a; j++) cols[j] = j;
  for (uint32_t j = a; j > 1; j--) {
    uint32_t k = rn(G, j), t = cols[j - 1];
    cols[j - 1] = cols[k];
    cols[k] = t;
  }
  return mk_project(G, c, umin(n, a), cols);
}

static int mk_concat(gen *G, int n, const int *ins) {
  bool positive = true;
  for (int j = 0; j < n; j++) positive = positive && pos(G, ins[j]);
  return add(G, OR_CONCAT, scope_of(G, ins[0]), false, ar(G, ins[0]), 0, positive, n, ins);
}

static int mk_concat2(gen *G, int a, int b) {
  int ins[2] = {a, b};
  return mk_concat(G, 2, ins);
}

static int mk_un(gen *G, or_op op, int c) {
  return add(G, op, scope_of(G, c), false, ar(G, c), 0, op == OR_NEGATE ? false : pos(G, c), 1, &c);
}

static int mk_arrange(gen *G, int c, uint32_t k) {
  return add(G, OR_ARRANGE, scope_of(G, c), true, ar(G, c), k, pos(G, c), 1, &c);
}

static int mk_arr_coll(gen *G, int a) {
  return add(G, OR_ARR_COLL, scope_of(G, a), false, ar(G, a), 0, pos(G, a), 1, &a);
}

static int mk_join(gen *G, int a, int b) {
  int ins[2] = {a, b};
  uint32_t k = kar(G, a);
  return add(G, OR_JOIN, scope_of(G, a), false, ar(G, a) + ar(G, b) - k, 0, pos(G, a) && pos(G, b),
             2, ins);
}

static int mk_join_map(gen *G, int a, int b, uint32_t oa, uint32_t flavor, uint32_t param) {
  int ins[2] = {a, b};
  uint32_t k = kar(G, a);
  int i = add(G, OR_JOIN_MAP, scope_of(G, a), false, oa, 0, pos(G, a) && pos(G, b), 2, ins);
  set_fn(G, i, flavor, param, 0, oa);
  N(G, i)->fn.key_arity = k;
  N(G, i)->fn.va = ar(G, a) - k;
  N(G, i)->fn.vb = ar(G, b) - k;
  return i;
}

static int mk_semi(gen *G, or_op op, int c, int keys) {
  int ins[2] = {c, keys};
  return add(G, op, scope_of(G, c), false, ar(G, c), 0, pos(G, c), 2, ins);
}

/* count, sum, min, max, threshold, or general reduce (flavor, param) */
static int mk_red(gen *G, or_op op, int a, uint32_t flavor, uint32_t param) {
  uint32_t k = kar(G, a), va = ar(G, a) - k, out_va = 1;
  or_fn f;
  memset(&f, 0, sizeof f);
  f.flavor = flavor;
  bool positive = true;
  switch (op) {
  case OR_COUNT:
  case OR_SUM:
    out_va = 1;
    break;
  case OR_MIN:
  case OR_MAX:
    out_va = va;
    break;
  case OR_THRESHOLD:
    out_va = va;
    positive = or_threshold_positive(&f, pos(G, a));
    break;
  case OR_REDUCE:
    out_va = (flavor == OR_RED_NDISTINCT || flavor == OR_RED_TWO) ? 1 : va;
    positive = or_reduce_positive(&f, pos(G, a));
    break;
  default:
    G->full = true;
    return 0;
  }
  int i = add(G, op, scope_of(G, a), true, k + out_va, k, positive, 1, &a);
  set_fn(G, i, flavor, param, ar(G, a), out_va);
  N(G, i)->fn.key_arity = k;
  N(G, i)->fn.va = va;
  return i;
}

static int mk_distinct(gen *G, int c) {
  return add(G, OR_DISTINCT, scope_of(G, c), true, ar(G, c), ar(G, c), true, 1, &c);
}

static int mk_enter(gen *G, int s, int x) {
  return add(G, is_arr(G, x) ? OR_ARR_ENTER : OR_ENTER, s, is_arr(G, x), ar(G, x), kar(G, x),
             pos(G, x), 1, &x);
}

/* x (of s or an enclosing scope) as a node of scope s, entered level by level. */
static int bring(gen *G, int x, int s) {
  if (G->full) return 0;
  if (scope_of(G, x) == s) return x;
  int parent = G->p->scopes[s].parent;
  if (parent < 0) {
    G->full = true;
    return 0;
  }
  return mk_enter(G, s, bring(G, x, parent));
}

static int mk_var(gen *G, int s, int j, uint32_t arity, bool positive) {
  int i = add(G, OR_VAR, s, false, arity, 0, positive, 0, NULL);
  N(G, i)->sub = j;
  return i;
}

static int new_scope(gen *G, int parent, bool iterate_style) {
  or_program *p = G->p;
  if (p->n_scopes >= OR_MAX_SCOPES) {
    G->full = true;
    return -1;
  }
  int s = p->n_scopes++;
  or_scope *sc = &p->scopes[s];
  memset(sc, 0, sizeof *sc);
  sc->parent = parent;
  sc->depth = parent < 0 ? 0 : p->scopes[parent].depth + 1;
  sc->iterate_style = iterate_style;
  return s;
}

/* ------------------------------------------------------------------ */
/* Operand pickers                                                     */
/* ------------------------------------------------------------------ */

/* A node of scope s: a collection (want_arr false) or an arrangement, of
 * arity in [min_ar, max_ar], key arity `key` (0: any), optionally positive;
 * recent nodes, and nodes that depend on a variable (prefer_vdep), first. */
static int pick(gen *G, int s, bool want_arr, uint32_t min_ar, uint32_t max_ar, uint32_t key,
                uint32_t min_va, bool need_pos, bool prefer_vdep) {
  int cand[OR_MAX_NODES], n = 0, nv = 0, vc[OR_MAX_NODES];
  for (int i = 0; i < G->p->n_nodes; i++) {
    const or_node *x = N(G, i);
    if (x->scope != s || x->is_arr != want_arr || x->arity < min_ar || x->arity > max_ar) continue;
    if (want_arr && ((key && x->key_arity != key) || x->arity - x->key_arity < min_va)) continue;
    if (need_pos && !x->positive) continue;
    cand[n++] = i;
    if (G->vdep[i]) vc[nv++] = i;
  }
  if (n == 0) return -1;
  if (prefer_vdep && nv > 0 && chance(G, 75)) return vc[chance(G, 50) ? nv - 1 : (int)rn(G, (uint32_t)nv)];
  if (chance(G, 50)) return cand[n - 1 - (int)rn(G, (uint32_t)(n < 3 ? n : 3))];
  return cand[rn(G, (uint32_t)n)];
}

/* A collection of scope s with arity in [min_ar, max_ar], mapped from
 * another one if none fits. */
static int any_coll(gen *G, int s, uint32_t min_ar, uint32_t max_ar, bool pv) {
  int c = pick(G, s, false, min_ar, max_ar, 0, 0, false, pv);
  if (c >= 0) return c;
  c = pick(G, s, false, 1, MAXAR, 0, 0, false, pv);
  if (c < 0) {
    int a = pick(G, s, true, 1, MAXAR, 0, 0, false, pv);
    if (a < 0) {
      G->full = true;
      return 0;
    }
    c = mk_arr_coll(G, a);
  }
  if (ar(G, c) < min_ar || ar(G, c) > max_ar) {
    uint32_t target = ar(G, c) < min_ar ? min_ar : max_ar;
    c = mk_map(G, c, target, rn(G, 3), rn(G, 64));
  }
  return c;
}

/* c itself if its counts are positive, else distinct(c) as a collection. */
static int make_pos(gen *G, int c) {
  if (pos(G, c)) return c;
  return mk_arr_coll(G, mk_distinct(G, c));
}

/* An arrangement of scope s with key arity k (0: any) and at least min_va
 * value columns: an existing one or a new arrange. */
static int any_arr(gen *G, int s, uint32_t k, uint32_t min_va, bool pv) {
  if (chance(G, 50)) {
    int a = pick(G, s, true, (k ? k : 1) + min_va, MAXAR, k, min_va, false, pv);
    if (a >= 0) return a;
  }
  int c = any_coll(G, s, (k ? k : 1) + min_va, MAXAR, pv);
  uint32_t kk = k ? k : 1 + rn(G, umin(2, ar(G, c) - min_va));
  return mk_arrange(G, c, kk);
}

/* A 2-column collection of scope s made from anything. */
static int two_cols(gen *G, int s, bool pv) {
  int c = any_coll(G, s, 1, MAXAR, pv);
  if (ar(G, c) == 2) return c;
  if (ar(G, c) > 2 && chance(G, 50)) return mk_project_random(G, c, 2);
  return mk_map(G, c, 2, chance(G, 50) ? OR_MAP_ROTATE : OR_MAP_SHIFT, rn(G, 64));
}

/* ------------------------------------------------------------------ */
/* Random operations                                                   */
/* ------------------------------------------------------------------ */

enum {
  C_MAP, C_FILTER, C_FLAT, C_PROJECT, C_CONCAT, C_NEGATE, C_CONSOLIDATE, C_INSPECT,
  C_JOIN, C_JOIN_MAP, C_SELF_JOIN, C_SHARED_JOIN, C_SEMI, C_ANTI, C_ARR_COLL,
  C_COUNT, C_SUM, C_MIN, C_MAX, C_REDUCE, C_DISTINCT, C_THRESHOLD,
  C_LOOP, C_ENTER, C_N
};

/* weights per family for operations at the top scope, and inside loops */
static const uint8_t W_BASIC[C_N] = {3, 3, 2, 2, 3, 2, 1, 1};
static const uint8_t W_JOIN[C_N] = {1, 1, 0, 1, 1, 1, 0, 0, 4, 3, 2, 2, 3, 3, 1};
static const uint8_t W_REDUCE[C_N] = {1, 1, 0, 1, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1,
                                      3, 3, 3, 3, 4, 3, 3};
static const uint8_t W_ITER_TOP[C_N] = {2, 1, 0, 1, 1, 1, 0, 0, 2, 0, 0, 0, 1, 1, 0,
                                        1, 0, 1, 0, 1, 1, 0};
static const uint8_t W_MIXED[C_N] = {2, 2, 1, 1, 2, 1, 1, 1, 2, 1, 1, 1, 1, 1, 1,
                                     1, 1, 1, 1, 1, 1, 1, 2};
static const uint8_t W_BODY[C_N] = {3, 2, 1, 1, 2, 1, 1, 1, 3, 1, 1, 0, 2, 3, 0,
                                    1, 1, 2, 1, 1, 2, 1, 1, 2};

static int gen_loop(gen *G, int P, int tmpl, int init);

static int op_join_operands(gen *G, int s, bool pv, int *pa, int *pb) {
  int a = any_arr(G, s, 0, 0, pv);
  uint32_t k = kar(G, a);
  int b = chance(G, 25) ? a : any_arr(G, s, k, 0, pv);
  if (ar(G, a) + ar(G, b) - k > MAXAR) b = mk_arrange(G, mk_project_random(G, any_coll(G, s, k, MAXAR, pv), k), k);
  if (ar(G, a) + ar(G, b) - k > MAXAR) return -1;
  *pa = a;
  *pb = b;
  return 0;
}

static int gen_op(gen *G, int s, int choice, bool pv) {
  int c, a, b, r;
  uint32_t k;
  switch (choice) {
  case C_MAP:
    c = any_coll(G, s, 1, MAXAR, pv);
    return mk_map(G, c, 1 + rn(G, 3), chance(G, 10) ? OR_MAP_TO_I64 : rn(G, 3), rn(G, 64));
  case C_FILTER:
    return mk_filter(G, any_coll(G, s, 1, MAXAR, pv), rn(G, OR_N_FILTER_FLAVORS), rn(G, 64));
  case C_FLAT:
    return mk_flat(G, any_coll(G, s, 1, MAXAR, pv), 1 + rn(G, 3), rn(G, OR_N_FLAT_FLAVORS), rn(G, 64));
  case C_PROJECT:
    c = any_coll(G, s, 1, MAXAR, pv);
    return mk_project_random(G, c, 1 + rn(G, umin(ar(G, c), 3)));
  case C_CONCAT: {
    int ins[3];
    int n = 2 + (int)rn(G, 2);
    ins[0] = any_coll(G, s, 1, MAXAR, pv);
    for (int j = 1; j < n; j++) ins[j] = any_coll(G, s, ar(G, ins[0]), ar(G, ins[0]), pv);
    return mk_concat(G, n, ins);
  }
  case C_NEGATE:
    return mk_un(G, OR_NEGATE, any_coll(G, s, 1, MAXAR, pv));
  case C_CONSOLIDATE:
    return mk_un(G, OR_CONSOLIDATE, any_coll(G, s, 1, MAXAR, pv));
  case C_INSPECT:
    return mk_un(G, OR_INSPECT, any_coll(G, s, 1, MAXAR, pv));
  case C_JOIN:
    if (op_join_operands(G, s, pv, &a, &b)) return -1;
    r = mk_join(G, a, b);
    if (ar(G, r) > 4 && chance(G, 50)) r = mk_project_random(G, r, 3);
    return r;
  case C_JOIN_MAP:
    if (op_join_operands(G, s, pv, &a, &b)) return -1;
    return mk_join_map(G, a, b, 1 + rn(G, 3), rn(G, OR_N_JM_FLAVORS), rn(G, 64));
  case C_SELF_JOIN:
    c = any_coll(G, s, 1, 3, pv);
    a = mk_arrange(G, c, 1 + rn(G, umin(ar(G, c), 2)));
    return chance(G, 50) ? mk_join(G, a, a) : mk_join_map(G, a, a, 1 + rn(G, 3), rn(G, 2), rn(G, 64));
  case C_SHARED_JOIN: {
    /* one arrangement read by two joins */
    c = any_coll(G, s, 1, 3, pv);
    a = mk_arrange(G, c, 1);
    int b1 = any_arr(G, s, 1, 0, pv), b2 = any_arr(G, s, 1, 0, pv);
    if (ar(G, a) + ar(G, b1) - 1 > MAXAR || ar(G, a) + ar(G, b2) - 1 > MAXAR) return -1;
    int j1 = mk_join(G, a, b1);
    int j2 = chance(G, 50) ? mk_join(G, b2, a) : mk_join_map(G, a, b2, ar(G, j1), rn(G, 2), rn(G, 64));
    if (ar(G, j1) == ar(G, j2) && chance(G, 60)) return mk_concat2(G, j1, j2);
    return j2;
  }
  case C_SEMI:
  case C_ANTI: {
    c = any_coll(G, s, 1, MAXAR, pv);
    int keys = pick(G, s, false, 1, ar(G, c), 0, 0, false, pv);
    if (keys < 0 || chance(G, 40)) {
      keys = any_coll(G, s, 1, MAXAR, pv);
      keys = mk_project_random(G, keys, 1 + rn(G, umin(ar(G, keys), ar(G, c))));
    }
    return mk_semi(G, choice == C_SEMI ? OR_SEMIJOIN : OR_ANTIJOIN, c, keys);
  }
  case C_ARR_COLL:
    a = pick(G, s, true, 1, MAXAR, 0, 0, false, pv);
    return a < 0 ? -1 : mk_arr_coll(G, a);
  case C_COUNT:
    r = mk_red(G, OR_COUNT, any_arr(G, s, 0, 0, pv), 0, 0);
    return chance(G, 70) ? mk_arr_coll(G, r) : r;
  case C_SUM:
    c = any_coll(G, s, 1, MAXAR, pv);
    k = 1 + rn(G, umin(2, ar(G, c)));
    c = mk_map(G, c, k + 1, OR_MAP_TO_I64, rn(G, 64));
    r = mk_red(G, OR_SUM, mk_arrange(G, c, k), 0, 0);
    return chance(G, 70) ? mk_arr_coll(G, r) : r;
  case C_MIN:
  case C_MAX:
    r = mk_red(G, choice == C_MIN ? OR_MIN : OR_MAX, any_arr(G, s, 0, 1, pv), 0, 0);
    return chance(G, 70) ? mk_arr_coll(G, r) : r;
  case C_REDUCE: {
    a = any_arr(G, s, 0, 0, pv);
    uint32_t va = ar(G, a) - kar(G, a);
    uint32_t fl = va == 0 ? (chance(G, 50) ? OR_RED_NDISTINCT : OR_RED_TWO) : rn(G, OR_N_RED_FLAVORS);
    r = mk_red(G, OR_REDUCE, a, fl, rn(G, 64));
    return chance(G, 70) ? mk_arr_coll(G, r) : r;
  }
  case C_DISTINCT:
    r = mk_distinct(G, any_coll(G, s, 1, MAXAR, pv));
    return chance(G, 70) ? mk_arr_coll(G, r) : r;
  case C_THRESHOLD:
    r = mk_red(G, OR_THRESHOLD, any_arr(G, s, 0, 0, pv), rn(G, OR_N_TH_FLAVORS), 0);
    return chance(G, 70) ? mk_arr_coll(G, r) : r;
  case C_LOOP:
    if (depth(G, s) + 1 > G->max_depth) return -1;
    return gen_loop(G, s, -1, -1);
  case C_ENTER: {
    int outer = G->p->scopes[s].parent;
    if (outer < 0) return -1;
    if (G->p->scopes[outer].parent >= 0 && chance(G, 30)) outer = G->p->scopes[outer].parent;
    int x = pick(G, outer, chance(G, 30), 1, MAXAR, 0, 0, false, false);
    if (x < 0) x = any_coll(G, outer, 1, MAXAR, false);
    return bring(G, x, s);
  }
  default:
    return -1;
  }
}

static int pick_choice(gen *G, const uint8_t *w) {
  unsigned total = 0;
  for (int c = 0; c < C_N; c++) total += w[c];
  unsigned r = rn(G, total);
  for (int c = 0; c < C_N; c++) {
    if (r < w[c]) return c;
    r -= w[c];
  }
  return C_MAP;
}

static int random_op(gen *G, int s, const uint8_t *w, bool pv) {
  for (int tries = 0; tries < 8 && !G->full; tries++) {
    int r = gen_op(G, s, pick_choice(G, w), pv);
    if (r >= 0) return r;
  }
  return -1;
}

/* ------------------------------------------------------------------ */
/* Loops                                                               */
/* ------------------------------------------------------------------ */

enum { T_REACH, T_MIN, T_MAX, T_WILD, T_TWOVAR, T_N };

/* The loop's view of its initial collection inside the scope. */
typedef struct loop {
  int S, P;
  int x[OR_MAX_VARS];     /* initial collections, in P */
  int init_s[OR_MAX_VARS];/* the same entered into S (-1 until needed) */
  int v[OR_MAX_VARS];
} loop;

static int init_in(gen *G, loop *L, int j) {
  if (L->init_s[j] < 0) L->init_s[j] = bring(G, L->x[j], L->S);
  return L->init_s[j];
}

/* distinct(c) as a collection; sometimes threshold(pos) instead */
static int set_of(gen *G, int c) {
  if (chance(G, 80)) return mk_arr_coll(G, mk_distinct(G, c));
  return mk_arr_coll(G, mk_red(G, OR_THRESHOLD, mk_arrange(G, c, 1 + rn(G, ar(G, c))), OR_TH_POS, 0));
}

/* One monotone step from variable-derived `src` (of L->S) to a collection
 * of arity `a`: map(join(src, edges)) with optional filter, semijoin,
 * antijoin against outer keys, a second join on the same arrangement, and a
 * nested loop. */
static int reach_step(gen *G, loop *L, int src, uint32_t a) {
  int S = L->S, P = L->P;
  int E = make_pos(G, any_coll(G, P, 1, 3, false));
  uint32_t k = (ar(G, src) >= 2 && ar(G, E) >= 2 && chance(G, 25)) ? 2 : 1;
  int vs = chance(G, 60) ? src : mk_map(G, src, ar(G, src), OR_MAP_ROTATE, rn(G, 64));
  int av = mk_arrange(G, vs, k), ae;
  uint32_t r = rn(G, 100);
  if (r < 20 && 2 * ar(G, vs) - k <= MAXAR)
    ae = av; /* self-join of the variable */
  else if (r < 60)
    ae = bring(G, mk_arrange(G, E, k), S); /* rf_arr_enter */
  else
    ae = mk_arrange(G, bring(G, E, S), k);
  if (ar(G, av) + ar(G, ae) - k > MAXAR) ae = mk_arrange(G, mk_project_random(G, bring(G, E, S), k), k);
  /* either operand first: the entered arrangement has one time coordinate
   * fewer than the variable's */
  int first = av, second = ae;
  if (chance(G, 50)) {
    first = ae;
    second = av;
  }
  int j = chance(G, 70) ? mk_join(G, first, second)
                        : mk_join_map(G, first, second, a, rn(G, 2), rn(G, 64));
  int step = (ar(G, j) == a && chance(G, 50)) ? j : mk_map(G, j, a, rn(G, 3), rn(G, 64));
  if (chance(G, 20) && ae != av) {
    /* a second join reading the same arrangement */
    int vs2 = mk_map(G, src, ar(G, src), OR_MAP_ROTATE, 1 + rn(G, 64));
    int j2 = chance(G, 50) ? mk_join(G, mk_arrange(G, vs2, k), ae) : mk_join(G, ae, mk_arrange(G, vs2, k));
    step = mk_concat2(G, step, mk_map(G, j2, a, rn(G, 3), rn(G, 64)));
  }
  if (chance(G, 25)) step = mk_filter(G, step, rn(G, OR_N_FILTER_FLAVORS), rn(G, 64));
  if (chance(G, 20)) {
    int keys = chance(G, 50) ? mk_project_random(G, src, 1)
                             : bring(G, make_pos(G, any_coll(G, P, 1, a, false)), S);
    if (ar(G, keys) > a) keys = mk_project_random(G, keys, a);
    step = mk_semi(G, OR_SEMIJOIN, step, keys);
  } else if (chance(G, 20)) {
    int keys = bring(G, any_coll(G, P, 1, a, false), S);
    if (ar(G, keys) > a) keys = mk_project_random(G, keys, a);
    step = mk_semi(G, OR_ANTIJOIN, step, keys);
  }
  if (chance(G, 10)) step = mk_un(G, OR_INSPECT, step);
  if (chance(G, 10)) step = mk_un(G, OR_CONSOLIDATE, step);
  if (depth(G, S) < G->max_depth && chance(G, G->nest_pct)) {
    int inner = gen_loop(G, S, chance(G, 70) ? T_REACH : T_WILD, step);
    if (inner >= 0 && ar(G, inner) == a) step = inner;
  }
  return step;
}

/* min/max label propagation: v = (node, label) */
static int label_next(gen *G, loop *L, int tmpl) {
  int S = L->S, P = L->P;
  int e2 = make_pos(G, two_cols(G, P, false));
  int ae = chance(G, 50) ? bring(G, mk_arrange(G, e2, 1), S) : mk_arrange(G, bring(G, e2, S), 1);
  int j = mk_join(G, mk_arrange(G, L->v[0], 1), ae);
  int r = mk_map(G, j, 2, OR_MAP_RELABEL, rn(G, 64));
  if (chance(G, 30)) r = mk_filter(G, r, OR_FILTER_KEY, rn(G, 64));
  if (depth(G, S) < G->max_depth && chance(G, G->nest_pct)) {
    int inner = gen_loop(G, S, T_REACH, r);
    if (inner >= 0 && ar(G, inner) == 2) r = inner;
  }
  int a = mk_arrange(G, mk_concat2(G, init_in(G, L, 0), r), 1);
  int red;
  if (tmpl == T_MIN)
    red = mk_red(G, OR_MIN, a, 0, 0);
  else
    red = chance(G, 50) ? mk_red(G, OR_MAX, a, 0, 0) : mk_red(G, OR_REDUCE, a, OR_RED_TOP, 0);
  return mk_arr_coll(G, red);
}

static int wild_next(gen *G, loop *L) {
  int S = L->S, P = L->P;
  uint32_t a = ar(G, L->v[0]);
  if (chance(G, 60)) bring(G, any_coll(G, P, 1, MAXAR, false), S);
  int last = L->v[0];
  int nops = 2 + (int)rn(G, 3);
  for (int i = 0; i < nops && !G->full; i++) {
    int r = random_op(G, S, W_BODY, true);
    if (r >= 0) last = r;
  }
  if (is_arr(G, last)) last = mk_arr_coll(G, last);
  if (ar(G, last) != a) last = mk_map(G, last, a, rn(G, 3), rn(G, 64));
  uint32_t r = rn(G, 100);
  if (r < 45) return set_of(G, mk_concat2(G, init_in(G, L, 0), last));
  if (r < 70) return set_of(G, last);
  if (r < 80)
    return mk_arr_coll(G, mk_red(G, OR_THRESHOLD, mk_arrange(G, last, 1), chance(G, 50) ? OR_TH_CLAMP : OR_TH_POS, 0));
  return last;
}

/* A loop in scope P of template tmpl (-1: random) starting from collection
 * init of P (-1: chosen here). Returns the collection it leaves into P, or
 * -1 when no loop fits. */
static int gen_loop(gen *G, int P, int tmpl, int init) {
  if (G->full || depth(G, P) + 1 > G->max_depth) return -1;
  if (tmpl < 0) tmpl = (int)rn(G, T_N);
  if (init >= 0 && (tmpl == T_MIN || tmpl == T_MAX || tmpl == T_TWOVAR)) tmpl = T_REACH;
  bool explicit_scope = tmpl == T_TWOVAR || chance(G, 50);
  loop L;
  memset(&L, 0, sizeof L);
  L.P = P;
  int nv = tmpl == T_TWOVAR ? 2 : 1;
  for (int j = 0; j < nv; j++) {
    int x = init;
    if (x < 0 || j > 0) {
      if (tmpl == T_MIN || tmpl == T_MAX)
        x = two_cols(G, P, false);
      else
        x = any_coll(G, P, 1, 3, false);
    }
    if (tmpl != T_WILD) x = make_pos(G, x);
    L.x[j] = x;
    L.init_s[j] = -1;
  }
  L.S = new_scope(G, P, !explicit_scope);
  if (L.S < 0 || G->full) return -1;
  int S = L.S;
  or_scope *sc = &G->p->scopes[S];
  sc->n_vars = nv;
  bool monotone = tmpl != T_WILD;
  for (int j = 0; j < nv; j++) {
    if (explicit_scope)
      sc->var_init[j] = init_in(G, &L, j);
    else
      sc->var_init[j] = L.x[j];
    L.v[j] = mk_var(G, S, j, ar(G, L.x[j]), monotone);
  }
  int next[OR_MAX_VARS] = {-1, -1};
  switch (tmpl) {
  case T_REACH:
    next[0] = set_of(G, mk_concat2(G, init_in(G, &L, 0), reach_step(G, &L, L.v[0], ar(G, L.v[0]))));
    break;
  case T_MIN:
  case T_MAX:
    next[0] = label_next(G, &L, tmpl);
    break;
  case T_TWOVAR: {
    uint32_t a0 = ar(G, L.v[0]), a1 = ar(G, L.v[1]);
    int s0 = chance(G, 60) ? reach_step(G, &L, L.v[1], a0) : mk_map(G, L.v[1], a0, rn(G, 3), rn(G, 64));
    next[0] = set_of(G, mk_concat2(G, init_in(G, &L, 0), s0));
    int s1 = chance(G, 50) ? mk_map(G, L.v[0], a1, rn(G, 3), rn(G, 64))
                           : mk_flat(G, L.v[0], a1, rn(G, 2), rn(G, 64));
    next[1] = set_of(G, mk_concat2(G, init_in(G, &L, 1), s1));
    break;
  }
  default:
    next[0] = wild_next(G, &L);
    break;
  }
  if (G->full) return -1;
  sc = &G->p->scopes[S];
  for (int j = 0; j < nv; j++) sc->var_next[j] = next[j];
  if (!explicit_scope) {
    int it = add(G, OR_ITERATE, P, false, ar(G, L.x[0]), 0, pos(G, next[0]), 0, NULL);
    N(G, it)->sub = S;
    return it;
  }
  /* explicit scope: leave the variable or its next value, sometimes another
   * collection of the body too (made before any leave, so nothing the loop
   * enters can depend on what leaves it) */
  int extra = -1;
  if (chance(G, 35)) {
    uint32_t r = rn(G, 3);
    if (r == 0)
      extra = mk_arr_coll(G, mk_red(G, OR_COUNT, mk_arrange(G, L.v[0], 1), 0, 0));
    else if (r == 1 || ar(G, L.v[0]) < 2)
      extra = mk_semi(G, OR_ANTIJOIN, bring(G, any_coll(G, P, 1, MAXAR, false), S),
                      mk_project_random(G, L.v[0], 1));
    else
      extra = mk_arr_coll(G, mk_red(G, OR_MIN, mk_arrange(G, L.v[0], 1), 0, 0));
  }
  int inner = chance(G, 50) ? next[0] : L.v[nv - 1];
  int lv = add(G, OR_LEAVE, P, false, ar(G, inner), 0, pos(G, inner), 1, &inner);
  N(G, lv)->sub = S;
  if (extra >= 0 && !G->full) {
    int lx = add(G, OR_LEAVE, P, false, ar(G, extra), 0, pos(G, extra), 1, &extra);
    N(G, lx)->sub = S;
  }
  return lv;
}

/* ------------------------------------------------------------------ */
/* Programs and streams                                                */
/* ------------------------------------------------------------------ */

static void choose_outputs(gen *G) {
  or_program *p = G->p;
  bool used[OR_MAX_NODES];
  memset(used, 0, sizeof used);
  for (int i = 0; i < p->n_nodes; i++)
    for (int j = 0; j < p->nodes[i].n_in; j++) used[p->nodes[i].in[j]] = true;
  for (int s = 1; s < p->n_scopes; s++)
    for (int j = 0; j < p->scopes[s].n_vars; j++) {
      used[p->scopes[s].var_init[j]] = true;
      used[p->scopes[s].var_next[j]] = true;
    }
  int sinks[OR_MAX_NODES], n = 0;
  for (int i = 0; i < p->n_nodes; i++)
    if (p->nodes[i].scope == 0 && !used[i] && p->nodes[i].op != OR_INPUT) sinks[n++] = i;
  if (n == 0) sinks[n++] = p->n_nodes - 1;
  int first = n > OR_MAX_OUTPUTS ? n - OR_MAX_OUTPUTS : 0;
  p->n_outputs = 0;
  for (int i = first; i < n; i++) p->outputs[p->n_outputs++] = sinks[i];
}

static void gen_program(gen *G) {
  or_program *p = G->p;
  p->domain = 3 + rn(G, 4);
  p->n_scopes = 0;
  new_scope(G, -1, false);
  int min_inputs = (G->fam == OR_FAM_JOIN || G->fam == OR_FAM_NESTED) ? 2 : 1;
  p->n_inputs = min_inputs + (int)rn(G, (uint32_t)(OR_MAX_INPUTS - min_inputs + 1));
  for (int i = 0; i < p->n_inputs; i++) {
    p->input_arity[i] = 1 + rn(G, OR_IN_ARITY_MAX);
    p->input_positive[i] = chance(G, 80);
    int n = add(G, OR_INPUT, 0, false, p->input_arity[i], 0, p->input_positive[i], 0, NULL);
    N(G, n)->input = i;
  }
  G->max_depth = 0;
  G->nest_pct = 0;
  switch (G->fam) {
  case OR_FAM_BASIC:
  case OR_FAM_JOIN:
  case OR_FAM_REDUCE: {
    const uint8_t *w = G->fam == OR_FAM_BASIC ? W_BASIC : G->fam == OR_FAM_JOIN ? W_JOIN : W_REDUCE;
    int nops = 3 + (int)rn(G, 6);
    for (int i = 0; i < nops; i++) random_op(G, 0, w, false);
    break;
  }
  case OR_FAM_ITERATE:
  case OR_FAM_NESTED: {
    bool nested = G->fam == OR_FAM_NESTED;
    G->max_depth = nested ? (chance(G, 25) ? 3 : 2) : 1;
    G->nest_pct = nested ? 70 : 0;
    int pre = (int)rn(G, 3);
    for (int i = 0; i < pre; i++) random_op(G, 0, W_ITER_TOP, false);
    int loops = nested ? 1 : 1 + chance(G, 30);
    for (int i = 0; i < loops; i++) gen_loop(G, 0, -1, -1);
    int post = (int)rn(G, 3);
    for (int i = 0; i < post; i++) random_op(G, 0, W_ITER_TOP, false);
    break;
  }
  default: {
    G->max_depth = 2;
    G->nest_pct = 25;
    int nops = 4 + (int)rn(G, 7);
    for (int i = 0; i < nops; i++) random_op(G, 0, W_MIXED, false);
    break;
  }
  }
  choose_outputs(G);
}

static uint32_t rec_index(const rf_value *rec, uint32_t arity, uint32_t d) {
  uint32_t ix = 0;
  for (uint32_t j = 0; j < arity; j++) ix = ix * d + (uint32_t)rec[j];
  return ix;
}

static void push_update(gen *G, int input, const rf_value *rec, rf_diff diff) {
  or_stream *s = G->s;
  if (s->n_updates >= OR_MAX_UPDATES) return;
  or_update *u = &s->updates[s->n_updates++];
  memset(u, 0, sizeof *u);
  u->input = input;
  memcpy(u->rec, rec, G->p->input_arity[input] * sizeof *rec);
  u->diff = diff;
}

static void gen_stream(gen *G) {
  or_program *p = G->p;
  or_stream *s = G->s;
  uint32_t d = p->domain;
  rf_diff counts[OR_MAX_INPUTS][6 * 6 * 6];
  memset(counts, 0, sizeof counts);
  bool loops = p->n_scopes > 1;
  /* mostly short streams; one in five long, so arrangements merge batches
   * and compact history over many epochs */
  bool long_stream = chance(G, 20);
  int n_steps = long_stream ? 14 + (int)rn(G, OR_MAX_STEPS - 14) : 3 + (int)rn(G, loops ? 6 : 9);
  rf_time t = chance(G, 20) ? 1 + rn(G, 3) : 0;
  s->n_steps = 0;
  s->n_updates = 0;
  for (int k = 0; k < n_steps; k++) {
    or_step *st = &s->steps[s->n_steps++];
    memset(st, 0, sizeof *st);
    st->time = t;
    st->first = s->n_updates;
    for (int i = 0; i < p->n_inputs; i++) {
      uint32_t a = p->input_arity[i], size = 1;
      for (uint32_t j = 0; j < a; j++) size *= d;
      int m = (int)rn(G, long_stream ? 9 : chance(G, 10) ? 8 : 5);
      if (chance(G, 3)) m = 16 + (int)rn(G, 16); /* a burst */
      for (int u = 0; u < m; u++) {
        rf_value rec[OR_IN_ARITY_MAX];
        for (uint32_t j = 0; j < a; j++) rec[j] = rn(G, d);
        if (!p->input_positive[i]) {
          rf_diff diff = 1 + (rf_diff)rn(G, 2);
          push_update(G, i, rec, chance(G, 40) ? -diff : diff);
          continue;
        }
        uint32_t present[6 * 6 * 6], np = 0;
        for (uint32_t x = 0; x < size; x++)
          if (counts[i][x] > 0) present[np++] = x;
        uint32_t r = rn(G, 100);
        if (r < 50 || np == 0) {
          rf_diff diff = chance(G, 15) ? 2 : 1;
          counts[i][rec_index(rec, a, d)] += diff;
          push_update(G, i, rec, diff);
        } else if (r < 85) {
          uint32_t x = present[rn(G, np)];
          for (uint32_t j = a; j-- > 0;) {
            rec[j] = x % d;
            x /= d;
          }
          rf_diff *c = &counts[i][rec_index(rec, a, d)];
          rf_diff diff = chance(G, 20) ? *c : 1;
          *c -= diff;
          push_update(G, i, rec, -diff);
        } else {
          push_update(G, i, rec, 1); /* in and out again within the epoch */
          push_update(G, i, rec, -1);
        }
      }
    }
    st->count = s->n_updates - st->first;
    /* interleave the inputs' updates (a permutation within the epoch; a
     * removal may come before its insertion, but counts only matter once the
     * epoch is complete, and then they are not negative) */
    for (int j = st->count; j > 1; j--) {
      int x = (int)rn(G, (uint32_t)j);
      or_update tmp = s->updates[st->first + j - 1];
      s->updates[st->first + j - 1] = s->updates[st->first + x];
      s->updates[st->first + x] = tmp;
    }
    st->advance_to = t + (chance(G, 80) ? 1 : 2 + rn(G, 3));
    st->wait = chance(G, 75) || k == n_steps - 1;
    st->mid_flush = st->count >= 2 && chance(G, 15);
    t = st->advance_to;
  }
  /* Drawn last, so that the steps above stay those of earlier versions. */
  s->buffered = chance(G, 50);
}

int or_generate(uint64_t seed, or_program *p, or_stream *s, or_expected *exp, char *msg,
                size_t msg_len) {
  or_eval_limits lim = or_gen_accept_limits();
  char why[320] = "";
  for (int attempt = 0; attempt < 200; attempt++) {
    gen G;
    memset(&G, 0, sizeof G);
    memset(p, 0, sizeof *p);
    memset(s, 0, sizeof *s);
    G.p = p;
    G.s = s;
    G.fam = or_seed_family(seed) ? or_seed_family(seed) : OR_FAM_MIXED;
    G.rng = or_mix64(seed ^ or_mix64((uint64_t)attempt + 1));
    p->seed = seed;
    gen_program(&G);
    if (G.full) continue;
    if (G.fam == OR_FAM_ITERATE && p->n_scopes < 2) continue;
    if (G.fam == OR_FAM_NESTED) {
      bool deep = false;
      for (int sc = 1; sc < p->n_scopes; sc++) deep = deep || p->scopes[sc].depth >= 2;
      if (!deep) continue;
    }
    gen_stream(&G);
    char m[256];
    or_eval_status st = or_eval_all(p, s, &lim, exp, m, sizeof m);
    if (st == OR_EVAL_INVALID) {
      snprintf(msg, msg_len, "seed 0x%016llx attempt %d: generator made an invalid program: %s",
               (unsigned long long)seed, attempt, m);
      return -1;
    }
    if (st != OR_EVAL_OK) {
      snprintf(why, sizeof why, "%s: %s", or_eval_status_name(st), m);
      continue;
    }
    /* prefer cases whose outputs are not always empty */
    size_t total = 0;
    for (rf_time t = 0; t < exp->n_times; t++)
      for (int o = 0; o < exp->n_outputs; o++) total += or_expected_at(exp, t, o)->n;
    if (total == 0 && attempt < 20) {
      or_expected_free(exp);
      continue;
    }
    return 0;
  }
  snprintf(msg, msg_len, "seed 0x%016llx: no acceptable case in 200 draws (last: %s)",
           (unsigned long long)seed, why);
  return -1;
}

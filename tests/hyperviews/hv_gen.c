/*
 * hv_gen.c: random delta streams for the HyperView oracle tests (hv_gen.h).
 *
 * Design
 *   A stream is drawn in two steps. First a "universe" of deltas in the
 *   order they are made: the schema rules, the data deltas, negations
 *   (chains of them), schema changes; each gets an arrival key (its
 *   position plus noise, or placed before its target, or late for the
 *   mid-stream changes). Sorting by the key gives the arrival order, into
 *   which duplicates, reused ids and invalid deltas are mixed; then it is
 *   cut into batches. Schema definitions (for rf_hv_schema_deltas) start
 *   batches of their own.
 *
 *   Names are few so they collide: objects o1..o6, ghost objects g1, g2
 *   (referenced, never selected), properties from a list of six, schemas
 *   s0..s3 with transforms only from a lower to a higher index (a DAG three
 *   levels deep at most), except in the few streams that close a cycle on
 *   purpose with raw rule deltas. Timestamps lie in 1..30, so equal
 *   timestamps are common. Reals are multiples of 1/4, so that sums and
 *   averages are exact in any order of summation.
 */
#include "hv_gen.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

uint64_t hvg_rand(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* ---- streams built by hand ---------------------------------------------- */

static char *dup_str(const char *s) {
  char *d = strdup(s);
  if (!d) abort();
  return d;
}

void hvg_init(hvg_stream *s) { memset(s, 0, sizeof *s); }

void hvg_push(hvg_stream *s, hvg_kind kind, const char *text, int64_t ts) {
  if (s->n_items == s->cap_items) {
    s->cap_items = s->cap_items ? 2 * s->cap_items : 64;
    s->items = realloc(s->items, s->cap_items * sizeof *s->items);
    if (!s->items) abort();
  }
  s->items[s->n_items++] = (hvg_item){kind, dup_str(text), ts};
}

void hvg_cut(hvg_stream *s) {
  s->batch_end = realloc(s->batch_end, (s->n_batches + 1) * sizeof *s->batch_end);
  if (!s->batch_end) abort();
  s->batch_end[s->n_batches++] = s->n_items;
}

void hvg_add_name(hvg_stream *s, const char *name) {
  for (size_t i = 0; i < s->n_names; i++)
    if (strcmp(s->names[i], name) == 0) return;
  s->names = realloc(s->names, (s->n_names + 1) * sizeof *s->names);
  if (!s->names) abort();
  s->names[s->n_names++] = dup_str(name);
}

void hvg_free(hvg_stream *s) {
  for (size_t i = 0; i < s->n_items; i++) free(s->items[i].text);
  for (size_t i = 0; i < s->n_names; i++) free(s->names[i]);
  for (size_t i = 0; i < s->n_subs; i++) free(s->subs[i]);
  free(s->items);
  free(s->batch_end);
  free(s->names);
  memset(s, 0, sizeof *s);
}

/* ---- the generator ---------------------------------------------------- */

enum { U_RULE, U_DATA, U_NEG };

typedef struct udelta {
  json_t *json;
  char id[96];
  int64_t ts;
  int kind;
  int depth;  /* U_NEG: 1 + depth of its target if that is a negation */
  int target; /* U_NEG: universe index of the target, or -1 */
  double key; /* arrival key */
} udelta;

typedef struct gen {
  uint64_t rng;
  udelta *u;
  size_t nu, cap;
  int n_obj, n_props, n_schemas;
  const char *props[6];
  int next_data, next_neg;
  bool cycles; /* this stream closes a schema cycle with raw rules */
  bool no_consensus;
} gen;

#define T_MAX 30

static const char *const all_props[] = {"name", "score", "tag", "rank", "note", "link"};
static const char *const objects[] = {"o1", "o2", "o3", "o4", "o5", "o6"};
static const char *const ghosts[] = {"g1", "g2"};
static const char *const tr_roles[] = {"a", "b", "c"};
static const char *const authors[] = {"alice", "bob", "carol", "dave"};
static const char *const policy_names[] = {"most-recent", "first-write", "all-values",
                                           "trusted-author", "min", "max", "sum", "average",
                                           "count", "consensus"};
static const char *const strings[] = {"x", "y", "z", "hello"};

static uint64_t rnd(gen *g) { return hvg_rand(&g->rng); }
static size_t below(gen *g, size_t n) { return (size_t)(rnd(g) % n); }
static bool chance(gen *g, double p) { return (double)(rnd(g) >> 11) / 9007199254740992.0 < p; }
static int64_t ts_in(gen *g, int64_t lo, int64_t hi) {
  if (lo < 1) lo = 1;
  if (hi < lo) hi = lo;
  return lo + (int64_t)below(g, (size_t)(hi - lo + 1));
}
#define PICK(g, arr) ((arr)[below((g), sizeof(arr) / sizeof *(arr))])

/* out holds at least SCHEMA_NAME_CAP bytes. */
#define SCHEMA_NAME_CAP 16
static void schema_name(int i, char *out) { snprintf(out, SCHEMA_NAME_CAP, "s%d", i); }

static bool id_used(const gen *g, const char *id) {
  for (size_t i = 0; i < g->nu; i++)
    if (strcmp(g->u[i].id, id) == 0) return true;
  return false;
}

static size_t add_u(gen *g, json_t *d, int kind, double key) {
  if (g->nu == g->cap) {
    g->cap = g->cap ? 2 * g->cap : 64;
    g->u = realloc(g->u, g->cap * sizeof *g->u);
    if (!g->u) abort();
  }
  udelta *x = &g->u[g->nu];
  memset(x, 0, sizeof *x);
  x->json = d;
  snprintf(x->id, sizeof x->id, "%s", json_string_value(json_object_get(d, "id")));
  x->ts = (int64_t)json_integer_value(json_object_get(d, "timestamp"));
  x->kind = kind;
  x->target = -1;
  x->key = key;
  return g->nu++;
}

static json_t *mk_delta(const char *id, int64_t ts, const char *author, const char *system,
                        json_t *ptrs /* consumed */) {
  return json_pack("{s:s, s:I, s:s, s:s, s:o}", "id", id, "timestamp", (json_int_t)ts, "author",
                   author, "system", system, "pointers", ptrs);
}

static json_t *ref(const char *id, const char *context) {
  return context ? json_pack("{s:s, s:s}", "id", id, "context", context) : json_pack("{s:s}", "id", id);
}

static json_t *ptr(const char *role, json_t *target /* consumed */) {
  return json_pack("{s:s, s:o}", "role", role, "target", target);
}

static json_t *primitive(gen *g) {
  switch (below(g, 4)) {
  case 0: return json_string(PICK(g, strings));
  case 1: return json_integer((json_int_t)below(g, 16) - 3);
  case 2: {
    int q = (int)below(g, 48) - 8; /* q/4, never integral */
    if (q % 4 == 0) q++;
    return json_real(q / 4.0);
  }
  default: return json_boolean(chance(g, 0.5));
  }
}

/* A rule delta of the docs' table, with id KIND-specific "@ts"; the
 * timestamp moves forward until the id is free. */
static size_t add_rule(gen *g, const char *name, const char *what, const char *key, json_t *ptrs,
                       int64_t ts, double akey) {
  char id[96];
  for (;;) {
    if (key)
      snprintf(id, sizeof id, "schema/%s/%s/%s@%" PRId64, name, what, key, ts);
    else
      snprintf(id, sizeof id, "schema/%s/%s@%" PRId64, name, what, ts);
    if (!id_used(g, id)) break;
    ts++;
  }
  const char *sys = chance(g, 0.7) ? "rhizoflow-schema" : "hand";
  json_t *d = mk_delta(id, ts, chance(g, 0.8) ? "rhizoflow" : PICK(g, authors), sys, ptrs);
  return add_u(g, d, U_RULE, akey);
}

static size_t add_selection_rule(gen *g, const char *name, int64_t ts, double akey) {
  json_t *ptrs = json_pack("[o, o]", ptr("schema", ref(name, "selection")),
                           ptr("selection", json_string("target-context")));
  if (chance(g, 0.1)) json_array_append_new(ptrs, ptr("comment", json_string("extra pointer")));
  return add_rule(g, name, "selection", NULL, ptrs, ts, akey);
}

static size_t add_transform_rule(gen *g, const char *name, const char *role, const char *to,
                                 int64_t ts, double akey) {
  json_t *ptrs = json_pack("[o, o, o]", ptr("schema", ref(name, "transform")),
                           ptr("role", json_string(role)), ptr("expand", ref(to, NULL)));
  return add_rule(g, name, "transform", role, ptrs, ts, akey);
}

/* A random policy name (consensus left out if asked). */
static const char *some_policy(gen *g) {
  const char *pol = PICK(g, policy_names);
  while (g->no_consensus && strcmp(pol, "consensus") == 0) pol = PICK(g, policy_names);
  return pol;
}

static size_t add_resolve_rule(gen *g, const char *name, const char *prop, int64_t ts, double akey) {
  const char *pol = some_policy(g);
  json_t *ptrs = json_pack("[o, o, o]", ptr("schema", ref(name, "resolve")),
                           ptr("property", json_string(prop)), ptr("policy", json_string(pol)));
  if (strcmp(pol, "trusted-author") == 0) {
    size_t n = 1 + below(g, 3), first = below(g, 4);
    for (size_t i = 0; i < n; i++)
      json_array_append_new(ptrs, ptr("trusted", json_string(authors[(first + i) % 4])));
  }
  return add_rule(g, name, "resolve", prop, ptrs, ts, akey);
}

/* A negation of universe delta t (or, t < 0, of a delta never made). Its
 * timestamp is usually later than the target's (or equal: the ids decide),
 * sometimes earlier: then it does not count. */
static size_t add_negation(gen *g, int t, double akey) {
  char id[32];
  snprintf(id, sizeof id, "n%d", g->next_neg++);
  const char *target = t >= 0 ? g->u[t].id : "d999";
  int64_t base = t >= 0 ? g->u[t].ts : ts_in(g, 1, T_MAX);
  int64_t ts = chance(g, 0.15) ? ts_in(g, base - 3, base - 1) : base + (int64_t)below(g, 4);
  json_t *ptrs = json_pack("[o]", ptr("negates", ref(target, NULL)));
  if (chance(g, 0.1)) /* a negation that is also selected */
    json_array_append_new(ptrs, ptr("why", ref(objects[below(g, (size_t)g->n_obj)], "note")));
  size_t i = add_u(g, mk_delta(id, ts, PICK(g, authors), "gen", ptrs), U_NEG, akey);
  g->u[i].target = t;
  g->u[i].depth = t >= 0 && g->u[t].kind == U_NEG ? g->u[t].depth + 1 : 1;
  return i;
}

static const char *some_object(gen *g) {
  size_t r = below(g, 20);
  if (r < 16) return objects[below(g, (size_t)g->n_obj)];
  if (r < 18) return ghosts[below(g, 2)];
  static const char *const sn[] = {"s0", "s1"}; /* schema names are objects too */
  return sn[below(g, 2)];
}

static size_t add_data(gen *g, double akey) {
  char id[32];
  snprintf(id, sizeof id, "d%d", g->next_data++);
  const char *obj = objects[below(g, (size_t)g->n_obj)];
  const char *prop = g->props[below(g, (size_t)g->n_props)];
  static const char *const sel_roles[] = {"subject", "subject", "subject", "a", "b"};
  json_t *ptrs = json_array();
  json_array_append_new(ptrs, ptr(PICK(g, sel_roles), ref(obj, prop)));
  if (chance(g, 0.15)) { /* a second selecting pointer: the same place, or another */
    if (chance(g, 0.5))
      json_array_append_new(ptrs, ptr("again", ref(obj, prop)));
    else
      json_array_append_new(ptrs, ptr(PICK(g, sel_roles), ref(objects[below(g, (size_t)g->n_obj)],
                                                               g->props[below(g, (size_t)g->n_props)])));
  }
  size_t r = below(g, 100);
  json_t *value = NULL, *reference = NULL;
  if (r < 55) {
    value = ptr("value", primitive(g));
  } else if (r < 85) {
    reference = ptr(PICK(g, tr_roles), ref(some_object(g), chance(g, 0.25) ? PICK(g, all_props) : NULL));
  } else if (r < 95) {
    value = ptr("value", primitive(g));
    reference = ptr(PICK(g, tr_roles), ref(some_object(g), NULL));
  } /* else: only the selecting pointer(s): the value is true */
  if (reference && value && chance(g, 0.5)) {
    json_array_append_new(ptrs, reference);
    json_array_append_new(ptrs, value);
  } else {
    if (value) json_array_append_new(ptrs, value);
    if (reference) json_array_append_new(ptrs, reference);
  }
  if (chance(g, 0.2)) { /* the value pointer first */
    json_t *first = json_incref(json_array_get(ptrs, 0));
    json_array_remove(ptrs, 0);
    json_array_append_new(ptrs, first);
  }
  return add_u(g, mk_delta(id, ts_in(g, 1, T_MAX), PICK(g, authors), "gen", ptrs), U_DATA, akey);
}

static int key_cmp(const void *a, const void *b) {
  double x = ((const udelta *const *)a)[0]->key, y = ((const udelta *const *)b)[0]->key;
  return x < y ? -1 : x > y ? 1 : 0;
}

static char *dump(const json_t *j, size_t flags) {
  char *t = json_dumps(j, flags | JSON_COMPACT);
  if (!t) abort();
  return t;
}

static void feature(hvg_stream *s, const char *f) {
  if (strstr(s->features, f)) return;
  size_t n = strlen(s->features);
  snprintf(s->features + n, sizeof s->features - n, "%s%s", n ? " " : "", f);
}

/* A schema definition for rf_hv_schema_deltas: valid (transforms upward),
 * closing a cycle, or invalid. */
static char *schema_def(gen *g, int n_schemas, int *kind_out) {
  size_t r = below(g, 10);
  char nm[SCHEMA_NAME_CAP], to[SCHEMA_NAME_CAP];
  json_t *def;
  if (r < 7) {
    int i = (int)below(g, (size_t)n_schemas);
    schema_name(i, nm);
    def = json_pack("{s:s}", "name", nm);
    if (chance(g, 0.5)) json_object_set_new(def, "selection", json_string("target-context"));
    json_t *tr = json_object();
    for (int k = 0; k < 3 && i + 1 < n_schemas; k++) {
      if (!chance(g, 0.5)) continue;
      schema_name(i + 1 + (int)below(g, (size_t)(n_schemas - i - 1)), to);
      json_object_set_new(tr, tr_roles[k], json_string(to));
    }
    json_object_set_new(def, "transform", tr);
    json_t *rs = json_object();
    for (int k = 0; k < g->n_props; k++) {
      if (!chance(g, 0.5)) continue;
      const char *pol = some_policy(g);
      if (strcmp(pol, "trusted-author") == 0)
        json_object_set_new(rs, g->props[k],
                            json_pack("{s:s, s:[s, s]}", "policy", pol, "authors", PICK(g, authors),
                                      PICK(g, authors)));
      else if (chance(g, 0.3))
        json_object_set_new(rs, g->props[k], json_pack("{s:s}", "policy", pol));
      else
        json_object_set_new(rs, g->props[k], json_string(pol));
    }
    json_object_set_new(def, "resolve", rs);
    *kind_out = 0;
  } else if (r < 9) {
    int i = (int)below(g, (size_t)n_schemas);
    schema_name(i, nm);
    if (r == 7 || n_schemas < 2) { /* a schema expanding into itself */
      def = json_pack("{s:s, s:{s:s}}", "name", nm, "transform", "a", nm);
    } else { /* two schemas expanding into each other */
      schema_name((i + 1) % n_schemas, to);
      def = json_pack("[{s:s, s:{s:s}}, {s:s, s:{s:s}}]", "name", nm, "transform", "b", to, "name",
                      to, "transform", "c", nm);
    }
    *kind_out = 1;
  } else {
    def = json_pack("{s:s, s:{s:s}}", "name", "", "transform", "a", "s1");
    *kind_out = 2;
  }
  char *t = dump(def, 0);
  json_decref(def);
  return t;
}

void hvg_options_from_env(hvg_options *opt) {
  memset(opt, 0, sizeof *opt);
  const char *v = getenv("RF_HV_AVOID");
  if (!v) return;
  opt->no_consensus = strstr(v, "consensus") != NULL;
  opt->no_raw_cycle = strstr(v, "raw-cycle") != NULL;
}

void hvg_generate(uint64_t seed, const hvg_options *opt, hvg_stream *s) {
  hvg_init(s);
  s->seed = seed;
  gen G = {0};
  gen *g = &G;
  g->no_consensus = opt && opt->no_consensus;
  g->rng = seed ^ 0x5eed5eed12345678ull;
  hvg_rand(&g->rng);
  g->n_obj = 3 + (int)below(g, 4);
  g->n_props = 2 + (int)below(g, 3);
  size_t first_prop = below(g, 6);
  for (int i = 0; i < g->n_props; i++) g->props[i] = all_props[(first_prop + (size_t)i) % 6];
  g->n_schemas = 1 + (int)below(g, 4);
  bool ops = chance(g, 0.15); /* schema definitions through rf_hv_schema_deltas */
  g->cycles = !ops && g->n_schemas >= 2 && chance(g, 0.05);
  if (opt && opt->no_raw_cycle) g->cycles = false;
  int n_data = 8 + (int)below(g, 40);
  double spread = (double)below(g, 4) * 0.25; /* how far arrival strays from creation */
  char nm[SCHEMA_NAME_CAP], to[SCHEMA_NAME_CAP];

  /* The schemas: a selection rule each, transforms upward, resolve rules. */
  for (int i = 0; i < g->n_schemas; i++) {
    schema_name(i, nm);
    double pos = (double)below(g, 20);
    add_selection_rule(g, nm, ts_in(g, 1, T_MAX), pos);
    for (int k = 0; k < 3; k++) {
      if (i + 1 < g->n_schemas && chance(g, 0.6)) {
        schema_name(i + 1 + (int)below(g, (size_t)(g->n_schemas - i - 1)), to);
        add_transform_rule(g, nm, tr_roles[k], to, ts_in(g, 1, T_MAX), (double)below(g, 20));
      } else if (chance(g, 0.05)) {
        add_transform_rule(g, nm, tr_roles[k], "nowhere", ts_in(g, 1, T_MAX), (double)below(g, 20));
      }
    }
    for (int k = 0; k < g->n_props; k++)
      if (chance(g, 0.7)) add_resolve_rule(g, nm, g->props[k], ts_in(g, 1, T_MAX), (double)below(g, 20));
  }
  if (g->cycles) { /* raw rules closing a cycle: reading must stop at the path */
    int i = (int)below(g, (size_t)g->n_schemas);
    schema_name(i, nm);
    schema_name(i == 0 || chance(g, 0.3) ? i : (int)below(g, (size_t)i), to);
    add_transform_rule(g, nm, PICK(g, tr_roles), to, ts_in(g, 1, T_MAX), (double)below(g, 60));
    feature(s, "raw-cycle");
  }

  /* Data, in creation order, with arrival keys around their position. */
  for (int i = 0; i < n_data; i++) {
    double pos = 10 + i;
    add_data(g, pos + spread * (double)below(g, (size_t)n_data + 1));
  }

  /* Negations of data and rules, chains of them up to depth 4. */
  size_t made = g->nu;
  for (size_t i = 0; i < made; i++) {
    double p = g->u[i].kind == U_DATA ? 0.3 : 0.08;
    if (!chance(g, p)) continue;
    int t = (int)i;
    for (int depth = 1; depth <= 4; depth++) {
      double akey = g->u[t].key + 1 + (double)below(g, 10);
      if (chance(g, 0.25)) { /* arrives before its target */
        akey = g->u[t].key - 1 - (double)below(g, 10);
        if (depth == 1) feature(s, "neg-before-target");
      }
      size_t n = add_negation(g, t, akey);
      if (depth >= 2) feature(s, depth >= 3 ? "neg-chain-3+" : "neg-chain");
      if (!chance(g, 0.35)) break;
      t = (int)n;
    }
  }
  if (chance(g, 0.3)) add_negation(g, -1, (double)below(g, 60)); /* a target never seen */

  /* Schema changes in the middle of the stream. */
  double mid = 10 + n_data / 2.0;
  int changes = g->n_schemas > 0 && chance(g, 0.6) ? 1 + (int)below(g, 3) : 0;
  for (int c = 0; c < changes; c++) {
    int i = (int)below(g, (size_t)g->n_schemas);
    schema_name(i, nm);
    switch (below(g, 4)) {
    case 0: /* re-point a transform: a new rule and a negation of the old */
      if (i + 1 < g->n_schemas) {
        const char *role = PICK(g, tr_roles);
        schema_name(i + 1 + (int)below(g, (size_t)(g->n_schemas - i - 1)), to);
        int old = -1;
        char prefix[64];
        snprintf(prefix, sizeof prefix, "schema/%s/transform/%s@", nm, role);
        for (size_t k = 0; k < g->nu; k++)
          if (strncmp(g->u[k].id, prefix, strlen(prefix)) == 0) old = (int)k;
        int64_t ts = old >= 0 ? g->u[old].ts + 1 + (int64_t)below(g, 5) : ts_in(g, 1, T_MAX);
        size_t nr = add_transform_rule(g, nm, role, to, ts, mid + (double)below(g, 10));
        if (old >= 0) {
          char nid[128];
          snprintf(nid, sizeof nid, "%s/negation", g->u[nr].id);
          json_t *d = mk_delta(nid, g->u[nr].ts, "rhizoflow", "rhizoflow-schema",
                               json_pack("[o]", ptr("negates", ref(g->u[old].id, NULL))));
          size_t ni = add_u(g, d, U_NEG, mid + (double)below(g, 10));
          g->u[ni].target = old;
          g->u[ni].depth = 1;
        }
        feature(s, "repoint");
      }
      break;
    case 1: /* negate a rule, sometimes restore it */
    case 2: {
      int r = -1;
      for (int tries = 0; tries < 10 && r < 0; tries++) {
        size_t k = below(g, g->nu);
        if (g->u[k].kind == U_RULE) r = (int)k;
      }
      if (r < 0) break;
      size_t n = add_negation(g, r, mid + (double)below(g, 10));
      feature(s, "rule-negated");
      if (chance(g, 0.5)) {
        add_negation(g, (int)n, mid + 10 + (double)below(g, 10));
        feature(s, "rule-restored");
      }
      break;
    }
    default: /* a later resolve rule replaces the policy (latest wins) */
      if (g->n_props > 0) {
        size_t r = add_resolve_rule(g, nm, g->props[below(g, (size_t)g->n_props)], ts_in(g, 20, T_MAX + 10),
                                    mid + (double)below(g, 10));
        if (chance(g, 0.4)) add_negation(g, (int)r, mid + 10 + (double)below(g, 10));
        feature(s, "policy-changed");
      }
    }
  }

  /* The arrival order. */
  udelta **arr = malloc(g->nu * sizeof *arr);
  if (!arr) abort();
  for (size_t i = 0; i < g->nu; i++) arr[i] = &g->u[i];
  qsort(arr, g->nu, sizeof *arr, key_cmp);

  /* Texts in arrival order, with duplicates, reused ids and invalid deltas
   * mixed in. */
  char **texts = NULL;
  size_t nt = 0, ct = 0;
#define PUSH_TEXT(t)                                      \
  do {                                                    \
    if (nt == ct) {                                       \
      ct = ct ? 2 * ct : 64;                              \
      texts = realloc(texts, ct * sizeof *texts);         \
      if (!texts) abort();                                \
    }                                                     \
    texts[nt++] = (t);                                    \
  } while (0)
  static const char *const invalid[] = {
      "{\"id\":\"bad1\",\"timestamp\":0,\"author\":\"a\",\"system\":\"s\",\"pointers\":[{\"role\":\"r\",\"target\":\"v\"}]}",
      "{\"id\":\"bad2\",\"timestamp\":3,\"system\":\"s\",\"pointers\":[{\"role\":\"r\",\"target\":\"v\"}]}",
      "{\"id\":\"bad3\",\"timestamp\":3,\"author\":\"a\",\"system\":\"s\",\"pointers\":[]}",
      "{\"id\":\"bad4\",\"timestamp\":5,\"author\":\"a\",\"system\":\"s\",\"pointers\":[{\"role\":\"negates\",\"target\":{\"id\":\"d1\",\"context\":\"name\"}}]}",
      "{\"id\":\"bad5\",\"timestamp\":5,\"author\":\"a\",\"system\":\"s\",\"pointers\":[{\"role\":\"negates\",\"target\":\"d1\"}]}",
      "{\"id\":\"bad6\",\"timestamp\":5,\"author\":\"a\",",
      "{\"id\":\"bad7\",\"timestamp\":5,\"author\":\"a\",\"system\":\"s\",\"extra\":1,\"pointers\":[{\"role\":\"r\",\"target\":\"v\"}]}",
      "{\"id\":\"bad8\",\"timestamp\":5,\"author\":\"a\",\"system\":\"s\",\"pointers\":[{\"role\":\"r\",\"target\":null}]}",
      "{\"id\":\"bad9\",\"timestamp\":5,\"author\":\"a\",\"system\":\"s\",\"pointers\":[{\"role\":\"\",\"target\":{\"id\":\"o1\",\"context\":\"name\"}}]}",
      "{\"id\":\"bad10\",\"timestamp\":1.5,\"author\":\"a\",\"system\":\"s\",\"pointers\":[{\"role\":\"r\",\"target\":{\"id\":\"o1\",\"context\":\"name\"}}]}",
      "{\"id\":\"\",\"timestamp\":5,\"author\":\"a\",\"system\":\"s\",\"pointers\":[{\"role\":\"r\",\"target\":{\"id\":\"o1\",\"context\":\"name\"}}]}",
      "[1,2]",
  };
  for (size_t i = 0; i < g->nu; i++) {
    PUSH_TEXT(dump(arr[i]->json, 0));
    if (chance(g, 0.02)) {
      PUSH_TEXT(strdup(PICK(g, invalid)));
      feature(s, "invalid");
    }
  }
  free(arr);
  size_t base = nt;
  for (size_t i = 0; i < base; i++) {
    json_error_t je;
    json_t *d = json_loads(texts[i], 0, &je);
    if (!d || !json_object_get(d, "pointers")) {
      json_decref(d);
      continue;
    }
    if (chance(g, 0.08)) { /* the same delta again, later: same text or same content */
      size_t at = i + 1 + below(g, nt - i);
      char *t = dump(d, chance(g, 0.3) ? JSON_SORT_KEYS : 0);
      texts = realloc(texts, (nt + 1) * sizeof *texts);
      ct = nt + 1;
      memmove(texts + at + 1, texts + at, (nt - at) * sizeof *texts);
      texts[at] = t;
      nt++;
      feature(s, "duplicate");
    } else if (chance(g, 0.02)) { /* the id again with other content, before or after */
      json_object_set_new(d, "timestamp",
                          json_integer(json_integer_value(json_object_get(d, "timestamp")) + 1));
      size_t at = below(g, nt + 1);
      texts = realloc(texts, (nt + 1) * sizeof *texts);
      ct = nt + 1;
      memmove(texts + at + 1, texts + at, (nt - at) * sizeof *texts);
      texts[at] = dump(d, 0);
      nt++;
      feature(s, "reused-id");
    }
    json_decref(d);
  }

  /* Batches, and the schema definitions that start some of them. */
  size_t max_batch = (size_t[]){1, 3, 6, 12}[below(g, 4)];
  int n_ops = ops ? 1 + (int)below(g, 3) : 0;
  if (ops) feature(s, "schema-deltas");
  int64_t op_ts = 1000;
  size_t i = 0;
  int batch = 0;
  while (i < nt || n_ops > 0) {
    if (batch > 0 && n_ops > 0 && (i >= nt || chance(g, 0.3))) {
      int kind;
      char *def = schema_def(g, g->n_schemas, &kind);
      hvg_push(s, HVG_SCHEMA, def, op_ts);
      free(def);
      op_ts += 10;
      n_ops--;
    }
    if (chance(g, 0.05)) {
      hvg_cut(s); /* an empty batch (or one with only a schema definition) */
      batch++;
      continue;
    }
    size_t n = 1 + below(g, max_batch);
    for (size_t k = 0; k < n && i < nt; k++, i++) hvg_push(s, HVG_DELTA, texts[i], 0);
    hvg_cut(s);
    batch++;
  }
  for (size_t k = 0; k < nt; k++) free(texts[k]);
  free(texts);

  /* Names to read: every schema and object the stream can mention. */
  for (int k = 0; k < g->n_schemas; k++) {
    schema_name(k, nm);
    hvg_add_name(s, nm);
  }
  hvg_add_name(s, "nowhere");
  for (int k = 0; k < g->n_obj; k++) hvg_add_name(s, objects[k]);
  for (int k = 0; k < 2; k++) hvg_add_name(s, ghosts[k]);
  s->n_subs = g->n_schemas > 1 && chance(g, 0.5) ? 2 : 1;
  for (size_t k = 0; k < s->n_subs; k++) {
    schema_name((int)below(g, (size_t)g->n_schemas), nm);
    if (k == 1 && strcmp(nm, s->subs[0]) == 0) schema_name((atoi(nm + 1) + 1) % g->n_schemas, nm);
    s->subs[k] = dup_str(nm);
  }
  for (size_t k = 0; k < g->nu; k++) json_decref(g->u[k].json);
  free(g->u);
}

/* ---- files ------------------------------------------------------------ */

void hvg_dump(FILE *f, const hvg_stream *s) {
  json_t *names = json_array(), *subs = json_array();
  for (size_t i = 0; i < s->n_names; i++) json_array_append_new(names, json_string(s->names[i]));
  for (size_t i = 0; i < s->n_subs; i++) json_array_append_new(subs, json_string(s->subs[i]));
  char seed[32];
  snprintf(seed, sizeof seed, "0x%016" PRIx64, s->seed);
  json_t *h = json_pack("{s:s, s:o, s:o, s:s}", "seed", seed, "subscribe", subs, "names", names,
                        "features", s->features);
  char *t = dump(h, JSON_PRESERVE_ORDER);
  fprintf(f, "%s\n", t);
  free(t);
  json_decref(h);
  size_t at = 0;
  for (size_t b = 0; b < s->n_batches; b++) {
    if (at == s->batch_end[b]) fprintf(f, "{\"batch\":%zu}\n", b);
    for (; at < s->batch_end[b]; at++) {
      const hvg_item *it = &s->items[at];
      if (it->kind == HVG_DELTA)
        fprintf(f, "{\"batch\":%zu,\"delta\":%s}\n", b, it->text);
      else
        fprintf(f, "{\"batch\":%zu,\"ts\":%" PRId64 ",\"schema\":%s}\n", b, it->ts, it->text);
    }
  }
}

bool hvg_load(FILE *f, hvg_stream *s) {
  hvg_init(s);
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  bool first = true, ok = true;
  long cur = -1;
  while (ok && (n = getline(&line, &cap, f)) > 0) {
    json_error_t je;
    json_t *j = json_loadb(line, (size_t)n, JSON_DECODE_ANY, &je);
    if (!j) {
      /* a delta that is not JSON (an invalid one) cannot be wrapped:
       * lines "{"batch":b,"delta":<text>}" are split by hand */
      const char *p = strstr(line, ",\"delta\":");
      long b;
      if (!first && p && sscanf(line, "{\"batch\":%ld", &b) == 1) {
        while (cur < b) {
          if (cur >= 0) hvg_cut(s);
          cur++;
        }
        char *text = dup_str(p + 9);
        size_t len = strlen(text);
        while (len && (text[len - 1] == '\n' || text[len - 1] == '\r')) text[--len] = 0;
        if (len && text[len - 1] == '}') text[--len] = 0;
        hvg_push(s, HVG_DELTA, text, 0);
        free(text);
        continue;
      }
      ok = false;
      break;
    }
    if (first) {
      first = false;
      const char *seed = json_string_value(json_object_get(j, "seed"));
      s->seed = seed ? strtoull(seed, NULL, 0) : 0;
      json_t *v;
      size_t i;
      json_array_foreach(json_object_get(j, "names"), i, v) hvg_add_name(s, json_string_value(v));
      json_array_foreach(json_object_get(j, "subscribe"), i, v) {
        if (s->n_subs < 2) s->subs[s->n_subs++] = dup_str(json_string_value(v));
      }
      const char *feat = json_string_value(json_object_get(j, "features"));
      snprintf(s->features, sizeof s->features, "%s", feat ? feat : "");
      json_decref(j);
      continue;
    }
    long b = (long)json_integer_value(json_object_get(j, "batch"));
    while (cur < b) {
      if (cur >= 0) hvg_cut(s);
      cur++;
    }
    json_t *d = json_object_get(j, "delta"), *sc = json_object_get(j, "schema");
    if (d || sc) {
      char *t = json_dumps(d ? d : sc, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
      hvg_push(s, d ? HVG_DELTA : HVG_SCHEMA, t, (int64_t)json_integer_value(json_object_get(j, "ts")));
      free(t);
    }
    json_decref(j);
  }
  if (cur >= 0) hvg_cut(s);
  free(line);
  return ok && !first;
}

/*
 * schema.c: turning a schema definition (JSON, docs/hyperviews.md
 * "Schemas are deltas") into the deltas that define it: the rules that are
 * new or changed, and negations of the live rules they replace or drop,
 * after checking the definition and that the transforms stay acyclic.
 */
#include <inttypes.h>
#include <jansson.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "hyperviews/internal.h"
#include "hyperviews/jsonw.h"

static const char *const POLICIES[] = {"most-recent", "first-write", "all-values",
                                       "trusted-author", "min", "max", "sum", "average",
                                       "count", "consensus", NULL};

/* ---- checking a definition ------------------------------------------- */

static int check_schema(const json_t *s, size_t at) {
  RF_RETURN_ERROR_IF(!json_is_object(s), RF_EINVAL, "schema %zu: must be an object", at);
  const char *key;
  const json_t *v;
  json_object_foreach((json_t *)s, key, v) {
    RF_RETURN_ERROR_IF(strcmp(key, "name") && strcmp(key, "selection") &&
                           strcmp(key, "transform") && strcmp(key, "resolve"),
                       RF_EINVAL,
                       "schema %zu: unknown field '%s' (known: name, selection, transform, "
                       "resolve)",
                       at, key);
  }
  const json_t *name = json_object_get(s, "name");
  RF_RETURN_ERROR_IF(!json_is_string(name) || !json_string_length(name), RF_EINVAL,
                     "schema %zu: field 'name': must be a non-empty string", at);
  const char *n = json_string_value(name);
  const json_t *sel = json_object_get(s, "selection");
  RF_RETURN_ERROR_IF(sel && (!json_is_string(sel) ||
                             strcmp(json_string_value(sel), "target-context") != 0),
                     RF_EINVAL,
                     "schema '%s': field 'selection': only \"target-context\" is known", n);
  const json_t *tr = json_object_get(s, "transform");
  RF_RETURN_ERROR_IF(tr && !json_is_object(tr), RF_EINVAL,
                     "schema '%s': field 'transform': must map roles to schema names", n);
  json_object_foreach((json_t *)tr, key, v) {
    RF_RETURN_ERROR_IF(!*key || !json_is_string(v) || !json_string_length(v), RF_EINVAL,
                       "schema '%s': field 'transform.%s': must be a non-empty schema name", n,
                       key);
  }
  const json_t *res = json_object_get(s, "resolve");
  RF_RETURN_ERROR_IF(res && !json_is_object(res), RF_EINVAL,
                     "schema '%s': field 'resolve': must map properties to policies", n);
  json_object_foreach((json_t *)res, key, v) {
    const char *policy = json_string_value(json_is_object(v) ? json_object_get(v, "policy") : v);
    int known = 0;
    for (size_t i = 0; policy && POLICIES[i]; i++) known |= strcmp(policy, POLICIES[i]) == 0;
    RF_RETURN_ERROR_IF(!known, RF_EINVAL,
                       "schema '%s': field 'resolve.%s': unknown policy (known: most-recent, "
                       "first-write, all-values, trusted-author, min, max, sum, average, count, "
                       "consensus)",
                       n, key);
    const json_t *authors = json_is_object(v) ? json_object_get(v, "authors") : NULL;
    RF_RETURN_ERROR_IF(strcmp(policy, "trusted-author") == 0 &&
                           (!json_is_array(authors) || !json_array_size(authors)),
                       RF_EINVAL,
                       "schema '%s': field 'resolve.%s': trusted-author needs "
                       "{\"policy\": \"trusted-author\", \"authors\": [...]}",
                       n, key);
    size_t i;
    const json_t *a;
    json_array_foreach(authors, i, a) {
      RF_RETURN_ERROR_IF(!json_is_string(a) || !json_string_length(a), RF_EINVAL,
                         "schema '%s': field 'resolve.%s.authors[%zu]': must be a non-empty "
                         "string",
                         n, key, i);
    }
  }
  return 0;
}

/* ---- the live rules -------------------------------------------------- */

/* A live rule: (kind, S, key, S2, d). */
typedef struct live_rule {
  rf_value kind, S, key, S2, d;
} live_rule;

typedef struct rule_list {
  live_rule *v;
  size_t n, cap;
} rule_list;

static int collect_rule(void *ctx, const rf_value *key, const rf_value *val, rf_diff count) {
  rule_list *l = ctx;
  if (count <= 0) return 0;
  RF_FORWARD_IF_ERROR(rf__grow((void **)&l->v, &l->cap, l->n + 1, sizeof *l->v));
  l->v[l->n++] = (live_rule){key[0], key[1], val[0], val[1], val[2]};
  return 0;
}

static const char *name_of(const rf_hv *hv, uint64_t sym) { return hv_name(hv->cat, sym, NULL); }

/* The winning live rule of (kind, S, key), or NULL. */
static const live_rule *winner(const rf_hv *hv, const rule_list *l, rf_value kind, rf_value S,
                               rf_value key) {
  const live_rule *best = NULL;
  for (size_t i = 0; i < l->n; i++) {
    const live_rule *r = &l->v[i];
    if (r->kind != kind || r->S != S || r->key != key) continue;
    if (!best || hv_delta_cmp(hv->cat, hv_delta_of(hv->cat, r->d), hv_delta_of(hv->cat, best->d)) > 0)
      best = r;
  }
  return best;
}

/* ---- cycles ---------------------------------------------------------- */

/* The transform graph after the definitions: edges by schema name. */
typedef struct tgraph {
  const char **from, **to;
  size_t n, cap;
} tgraph;

static int tg_add(tgraph *g, const char *from, const char *to) {
  size_t cap = g->cap;
  RF_FORWARD_IF_ERROR(rf__grow((void **)&g->from, &cap, g->n + 1, sizeof *g->from));
  cap = g->cap;
  RF_FORWARD_IF_ERROR(rf__grow((void **)&g->to, &cap, g->n + 1, sizeof *g->to));
  g->cap = cap;
  g->from[g->n] = from;
  g->to[g->n++] = to;
  return 0;
}

/* Depth-first search from `at` for a path back to a schema on the stack;
 * on a cycle, writes it ("a -> b -> a") into msg. */
static int find_cycle(const tgraph *g, const char **stack, size_t depth, char *msg, size_t cap) {
  const char *at = stack[depth - 1];
  for (size_t i = 0; i < g->n; i++) {
    if (strcmp(g->from[i], at) != 0) continue;
    for (size_t j = 0; j < depth; j++) {
      if (strcmp(stack[j], g->to[i]) != 0) continue;
      size_t len = 0;
      for (size_t k = j; k < depth && len < cap; k++)
        len += (size_t)snprintf(msg + len, cap - len, "%s -> ", stack[k]);
      if (len < cap) snprintf(msg + len, cap - len, "%s", g->to[i]);
      return 1;
    }
    if (depth >= 64) continue;
    stack[depth] = g->to[i];
    if (find_cycle(g, stack, depth + 1, msg, cap)) return 1;
  }
  return 0;
}

/* ---- writing the deltas ---------------------------------------------- */

typedef struct emitter {
  rf_hv *hv;
  int64_t ts;
  rf_hv_emit_fn emit;
  void *ctx;
} emitter;

static void jw_kv_head(jbuf *b, const char *id, int64_t ts) {
  jw_puts(b, "{\"id\":");
  jw_string(b, id, strlen(id));
  jw_puts(b, ",\"timestamp\":");
  jw_i64(b, ts);
  jw_puts(b, ",\"author\":\"rhizoflow\",\"system\":\"rhizoflow-schema\",\"pointers\":[");
}

static void jw_ref_ptr(jbuf *b, const char *role, const char *id, const char *ctx) {
  jw_puts(b, "{\"role\":");
  jw_string(b, role, strlen(role));
  jw_puts(b, ",\"target\":{\"id\":");
  jw_string(b, id, strlen(id));
  if (ctx) {
    jw_puts(b, ",\"context\":");
    jw_string(b, ctx, strlen(ctx));
  }
  jw_puts(b, "}}");
}

static void jw_str_ptr(jbuf *b, const char *role, const char *value) {
  jw_puts(b, ",{\"role\":");
  jw_string(b, role, strlen(role));
  jw_puts(b, ",\"target\":");
  jw_string(b, value, strlen(value));
  jw_puts(b, "}");
}

static int finish(emitter *e, jbuf *b) {
  jw_puts(b, "]}");
  int rc = b->err ? b->err : e->emit(e->ctx, jw_text(b), b->b.len);
  rf__free(b->b.data);
  return rc;
}

static int emit_negation(emitter *e, uint64_t old) {
  const char *old_id = name_of(e->hv, old);
  char id[1024];
  snprintf(id, sizeof id, "%s/negated@%" PRId64, old_id, e->ts);
  jbuf b = {0};
  jw_kv_head(&b, id, e->ts);
  jw_ref_ptr(&b, "negates", old_id, NULL);
  return finish(e, &b);
}

/* Negates every live rule of (kind, S, key). */
static int negate_all(emitter *e, const rule_list *l, rf_value kind, rf_value S, rf_value key) {
  for (size_t i = 0; i < l->n; i++) {
    const live_rule *r = &l->v[i];
    if (r->kind == kind && r->S == S && r->key == key) RF_FORWARD_IF_ERROR(emit_negation(e, r->d));
  }
  return 0;
}

static int check_later(emitter *e, const rule_list *l) {
  for (size_t i = 0; i < l->n; i++) {
    const hv_delta *d = hv_delta_of(e->hv->cat, l->v[i].d);
    RF_RETURN_ERROR_IF(d && d->ts >= e->ts, RF_EINVAL,
                       "schema: timestamp %" PRId64 " is not later than the live rule '%s' (%" PRId64
                       ")",
                       e->ts, name_of(e->hv, d->id), d->ts);
  }
  return 0;
}

/* The trusted authors of a resolve rule delta equal those of v? */
static int same_resolve(const rf_hv *hv, const hv_delta *d, const char *policy,
                        const json_t *authors) {
  const char *have = NULL;
  size_t k = 0;
  for (uint32_t i = 0; i < d->n_ptrs; i++) {
    const hv_ptr *p = &d->ptrs[i];
    if (p->kind != HV_STR) continue;
    if (p->role == hv->w.policy && !have) have = name_of(hv, p->a);
    if (p->role == hv->w.trusted) {
      const json_t *a = json_array_get(authors, k++);
      if (!a || strcmp(json_string_value(a), name_of(hv, p->a)) != 0) return 0;
    }
  }
  return have && strcmp(have, policy) == 0 && k == json_array_size(authors);
}

static int emit_schema(emitter *e, const json_t *s, const rule_list *live) {
  rf_hv *hv = e->hv;
  const char *n = json_string_value(json_object_get(s, "name"));
  uint64_t S = 0;
  int known = hv_find(hv->cat, n, strlen(n), &S);
  char id[1024];
  if (!known || !winner(hv, live, HV_RULE_SELECTION, S, 0)) {
    snprintf(id, sizeof id, "schema/%s/selection@%" PRId64, n, e->ts);
    jbuf b = {0};
    jw_kv_head(&b, id, e->ts);
    jw_ref_ptr(&b, "schema", n, "selection");
    jw_str_ptr(&b, "selection", "target-context");
    RF_FORWARD_IF_ERROR(finish(e, &b));
  }
  const json_t *tr = json_object_get(s, "transform"), *res = json_object_get(s, "resolve");
  const char *key;
  const json_t *v;
  /* Live transforms and resolves of S that the definition drops. */
  for (size_t i = 0; known && i < live->n; i++) {
    const live_rule *r = &live->v[i];
    if (r->S != S || r->kind == HV_RULE_SELECTION) continue;
    const json_t *map = r->kind == HV_RULE_TRANSFORM ? tr : res;
    if (!json_object_get(map, name_of(hv, r->key))) RF_FORWARD_IF_ERROR(emit_negation(e, r->d));
  }
  json_object_foreach((json_t *)tr, key, v) {
    uint64_t R = 0;
    const live_rule *w = known && hv_find(hv->cat, key, strlen(key), &R)
                             ? winner(hv, live, HV_RULE_TRANSFORM, S, R)
                             : NULL;
    if (w && strcmp(name_of(hv, w->S2), json_string_value(v)) == 0) continue;
    if (w) RF_FORWARD_IF_ERROR(negate_all(e, live, HV_RULE_TRANSFORM, S, R));
    snprintf(id, sizeof id, "schema/%s/transform/%s@%" PRId64, n, key, e->ts);
    jbuf b = {0};
    jw_kv_head(&b, id, e->ts);
    jw_ref_ptr(&b, "schema", n, "transform");
    jw_str_ptr(&b, "role", key);
    jw_puts(&b, ",");
    jw_ref_ptr(&b, "expand", json_string_value(v), NULL);
    RF_FORWARD_IF_ERROR(finish(e, &b));
  }
  json_object_foreach((json_t *)res, key, v) {
    const char *policy = json_string_value(json_is_object(v) ? json_object_get(v, "policy") : v);
    const json_t *authors = json_is_object(v) ? json_object_get(v, "authors") : NULL;
    uint64_t P = 0;
    const live_rule *w = known && hv_find(hv->cat, key, strlen(key), &P)
                             ? winner(hv, live, HV_RULE_RESOLVE, S, P)
                             : NULL;
    if (w && same_resolve(hv, hv_delta_of(hv->cat, w->d), policy, authors)) continue;
    if (w) RF_FORWARD_IF_ERROR(negate_all(e, live, HV_RULE_RESOLVE, S, P));
    snprintf(id, sizeof id, "schema/%s/resolve/%s@%" PRId64, n, key, e->ts);
    jbuf b = {0};
    jw_kv_head(&b, id, e->ts);
    jw_ref_ptr(&b, "schema", n, "resolve");
    jw_str_ptr(&b, "property", key);
    jw_str_ptr(&b, "policy", policy);
    size_t i;
    const json_t *a;
    json_array_foreach(authors, i, a) jw_str_ptr(&b, "trusted", json_string_value(a));
    RF_FORWARD_IF_ERROR(finish(e, &b));
  }
  return 0;
}

static int schema_deltas_at(rf_hv *hv, const json_t *defs, rf_time t, emitter *e) {
  rule_list live = {0};
  int rc = t ? rf_view_scan(hv->flow.rules, t, collect_rule, &live) : 0;
  /* The transform graph after the definitions, by names. */
  tgraph g = {0};
  size_t i;
  const json_t *s;
  for (size_t k = 0; !rc && k < live.n; k++) {
    const live_rule *r = &live.v[k];
    if (r->kind != HV_RULE_TRANSFORM) continue;
    const char *from = name_of(hv, r->S);
    int redefined = 0;
    json_array_foreach(defs, i, s) redefined |=
        strcmp(json_string_value(json_object_get(s, "name")), from) == 0;
    if (!redefined && winner(hv, &live, HV_RULE_TRANSFORM, r->S, r->key) == r)
      rc = tg_add(&g, from, name_of(hv, r->S2));
  }
  json_array_foreach(defs, i, s) {
    const char *key;
    const json_t *v;
    json_object_foreach(json_object_get(s, "transform"), key, v) if (!rc) rc =
        tg_add(&g, json_string_value(json_object_get(s, "name")), json_string_value(v));
  }
  for (size_t k = 0; !rc && k < g.n; k++) {
    const char *stack[65] = {g.from[k]};
    char msg[512];
    if (find_cycle(&g, stack, 1, msg, sizeof msg))
      rc = rf__error(RF_EINVAL, "schema: the transforms would form a cycle: %s", msg);
  }
  if (!rc) rc = check_later(e, &live);
  json_array_foreach(defs, i, s) if (!rc) rc = emit_schema(e, s, &live);
  rf__free(g.from);
  rf__free(g.to);
  rf__free(live.v);
  return rc;
}

int rf_hv_schema_deltas(rf_hv *hv, const char *json, size_t len, int64_t timestamp,
                        rf_hv_emit_fn emit, void *ctx) {
  RF_RETURN_ERROR_IF(!hv || !json || !emit, RF_EINVAL, "rf_hv_schema_deltas: NULL argument");
  RF_RETURN_ERROR_IF(timestamp <= 0, RF_EINVAL,
                     "rf_hv_schema_deltas: timestamp must be positive, got %" PRId64, timestamp);
  hv_json_init();
  json_error_t jerr;
  json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!root)
    return rf__error(RF_EINVAL, "schema: line %d, column %d: %s", jerr.line, jerr.column,
                     jerr.text);
  json_t *defs = json_is_array(root) ? json_incref(root) : json_pack("[O]", root);
  int rc = defs ? 0 : RF_ENOMEM;
  size_t i;
  const json_t *s;
  json_array_foreach(defs, i, s) if (!rc) rc = check_schema(s, i);
  for (size_t a = 0; !rc && a < json_array_size(defs); a++)
    for (size_t b = a + 1; !rc && b < json_array_size(defs); b++) {
      const char *na = json_string_value(json_object_get(json_array_get(defs, a), "name"));
      const char *nb = json_string_value(json_object_get(json_array_get(defs, b), "name"));
      if (strcmp(na, nb) == 0)
        rc = rf__error(RF_EINVAL, "schema %zu: schema '%s' is defined twice", b, nb);
    }
  emitter e = {hv, timestamp, emit, ctx};
  /* Every check (fields, names, cycles, timestamps) comes before the first
   * delta is emitted. */
  if (!rc) {
    rf_time t = hv_visible_time(hv);
    rc = schema_deltas_at(hv, defs, t, &e);
  }
  json_decref(defs);
  json_decref(root);
  return rc;
}

/*
 * hv_oracle.c: the from-scratch evaluator of docs/hyperviews.md (see
 * hv_oracle.h). Written to be read next to the document, section by
 * section; nothing here is clever or fast.
 *
 * Design
 *   The deltas are kept as given (canonical text and its parse). A read
 *   first evaluates, over all of them at once:
 *     1. the canonical order (timestamp, then id as bytes);
 *     2. liveness, walking the canonical order from the latest delta back:
 *        a delta is live iff no live later delta negates it (only later
 *        negations count, so every negator's liveness is known already);
 *     3. selection: object -> property -> live deltas, in canonical order,
 *        each delta once per (object, property);
 *     4. the schema state: the rules read from live rule-shaped deltas in
 *        canonical order, a later rule overwriting an earlier one with the
 *        same key (latest wins), with the ids of all live rules per key.
 *   HyperViews, Views and change-stream content are then rendered by
 *   recursion over the transforms, carrying the path of schemas from the
 *   root (the cycle guard), with a cache of rendered nested views keyed by
 *   (object, schema, path). Adding a delta drops the evaluation.
 */
#include "hv_oracle.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "store/delta.h"

#define HVO_MAX_PATH 64 /* schemas on one expansion path (all distinct) */

typedef struct odelta {
  json_t *json; /* the canonical form, parsed */
  char *canon;  /* the canonical text, NUL-terminated */
  size_t canon_len;
  const char *id; /* in json */
  size_t id_len;
  int64_t ts;
} odelta;

struct hvo {
  odelta *d; /* accepted deltas, arrival order */
  size_t n, cap;
  /* The evaluation of the current set (valid while !dirty). */
  bool dirty;
  size_t *order; /* arrival indices in canonical order */
  bool *live;    /* by arrival index */
  json_t *sel;   /* object -> {property -> [arrival index, ...]}: live, canonical order */
  json_t *schemas; /* name -> {"selection": [ids], "transform": {R: {"expand", "ids"}},
                       "resolve": {P: {"policy", "authors", "ids"}}} */
  json_t *memo;    /* rendered nested views: key -> json */
};

static const char *const policies[] = {"most-recent", "first-write", "all-values",
                                       "trusted-author", "min", "max", "sum", "average",
                                       "count", "consensus", NULL};

static bool known_policy(const char *p) {
  for (size_t i = 0; policies[i]; i++)
    if (strcmp(p, policies[i]) == 0) return true;
  return false;
}

static void set_err(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t cap, const char *fmt, ...) {
  if (!err || !cap) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, cap, fmt, ap);
  va_end(ap);
}

int hvo_bytes_cmp(const char *a, size_t an, const char *b, size_t bn) {
  int c = memcmp(a, b, an < bn ? an : bn);
  if (c) return c;
  return an < bn ? -1 : an > bn ? 1 : 0;
}

static int str_cmp(const char *a, const char *b) { return hvo_bytes_cmp(a, strlen(a), b, strlen(b)); }

/* ---- lifetime --------------------------------------------------------- */

hvo *hvo_create(void) {
  hvo *o = calloc(1, sizeof *o);
  if (o) o->dirty = true;
  return o;
}

static void drop_evaluation(hvo *o) {
  free(o->order);
  free(o->live);
  json_decref(o->sel);
  json_decref(o->schemas);
  json_decref(o->memo);
  o->order = NULL;
  o->live = NULL;
  o->sel = o->schemas = o->memo = NULL;
  o->dirty = true;
}

void hvo_destroy(hvo *o) {
  if (!o) return;
  drop_evaluation(o);
  for (size_t i = 0; i < o->n; i++) {
    json_decref(o->d[i].json);
    free(o->d[i].canon);
  }
  free(o->d);
  free(o);
}

size_t hvo_n_deltas(const hvo *o) { return o->n; }
const char *hvo_delta_text(const hvo *o, size_t i) { return i < o->n ? o->d[i].canon : NULL; }

/* ---- accepting deltas (docs: "Deltas") -------------------------------- */

static const char *role_of(const json_t *ptr) { return json_string_value(json_object_get(ptr, "role")); }
static const json_t *target_of(const json_t *ptr) { return json_object_get(ptr, "target"); }
static const json_t *pointers_of(const json_t *d) { return json_object_get(d, "pointers"); }

/* A reference target is a JSON object {id, context?}; anything else is a
 * primitive. */
static bool is_ref(const json_t *t) { return json_is_object(t); }
static const char *ref_id(const json_t *t) { return json_string_value(json_object_get(t, "id")); }
static const char *ref_context(const json_t *t) {
  return json_string_value(json_object_get(t, "context"));
}

static long find_id(const hvo *o, const char *id, size_t id_len) {
  for (size_t i = 0; i < o->n; i++)
    if (o->d[i].id_len == id_len && memcmp(o->d[i].id, id, id_len) == 0) return (long)i;
  return -1;
}

int hvo_add(hvo *o, const char *json, size_t len, char *err, size_t err_cap) {
  rf__bytes canon = {0};
  char msg[400];
  if (rf__delta_canonicalize(json, len, &canon, msg, sizeof msg) != 0) {
    set_err(err, err_cap, "%s", msg);
    rf__free(canon.data);
    return HVO_REJECTED;
  }
  json_error_t je;
  json_t *d = json_loadb((const char *)canon.data, canon.len, 0, &je);
  if (!d) {
    set_err(err, err_cap, "oracle: cannot read back the canonical form: %s", je.text);
    rf__free(canon.data);
    return HVO_REJECTED;
  }
  /* A pointer with role "negates" must target a reference without context. */
  const json_t *ptrs = pointers_of(d);
  for (size_t i = 0; i < json_array_size(ptrs); i++) {
    const json_t *p = json_array_get(ptrs, i);
    if (strcmp(role_of(p), "negates") != 0) continue;
    const json_t *t = target_of(p);
    if (!is_ref(t) || json_object_get(t, "context")) {
      set_err(err, err_cap, "pointers[%zu]: a negation of an unknown form", i);
      json_decref(d);
      rf__free(canon.data);
      return HVO_REJECTED;
    }
  }
  const json_t *idv = json_object_get(d, "id");
  long at = find_id(o, json_string_value(idv), json_string_length(idv));
  if (at >= 0) {
    const odelta *old = &o->d[at];
    bool same = old->canon_len == canon.len && memcmp(old->canon, canon.data, canon.len) == 0;
    if (!same)
      set_err(err, err_cap, "delta id '%s' is already stored with different content",
              json_string_value(idv));
    json_decref(d);
    rf__free(canon.data);
    return same ? HVO_DUPLICATE : HVO_REJECTED;
  }
  if (o->n == o->cap) {
    size_t cap = o->cap ? 2 * o->cap : 64;
    odelta *nd = realloc(o->d, cap * sizeof *nd);
    if (!nd) abort();
    o->d = nd;
    o->cap = cap;
  }
  odelta *x = &o->d[o->n++];
  x->json = d;
  x->canon = malloc(canon.len + 1);
  if (!x->canon) abort();
  memcpy(x->canon, canon.data, canon.len);
  x->canon[canon.len] = 0;
  x->canon_len = canon.len;
  x->id = json_string_value(idv);
  x->id_len = json_string_length(idv);
  x->ts = (int64_t)json_integer_value(json_object_get(d, "timestamp"));
  rf__free(canon.data);
  drop_evaluation(o);
  return HVO_ADDED;
}

/* ---- canonical order and liveness (docs: "Negation") ------------------ */

/* Canonical order: timestamp, then id as bytes. */
static int canon_cmp(const odelta *a, const odelta *b) {
  if (a->ts != b->ts) return a->ts < b->ts ? -1 : 1;
  return hvo_bytes_cmp(a->id, a->id_len, b->id, b->id_len);
}

static const hvo *sort_ctx; /* qsort has no context argument */
static int order_cmp(const void *x, const void *y) {
  return canon_cmp(&sort_ctx->d[*(const size_t *)x], &sort_ctx->d[*(const size_t *)y]);
}

/* Does delta n have a pointer {role: negates, target: {id: t}}? */
static bool negates(const odelta *n, const odelta *t) {
  const json_t *ptrs = pointers_of(n->json);
  for (size_t i = 0; i < json_array_size(ptrs); i++) {
    const json_t *p = json_array_get(ptrs, i);
    if (strcmp(role_of(p), "negates") != 0) continue;
    const json_t *v = json_object_get(target_of(p), "id");
    if (json_string_length(v) == t->id_len && memcmp(json_string_value(v), t->id, t->id_len) == 0)
      return true;
  }
  return false;
}

/* ---- schema rules (docs: "Schemas are deltas") ------------------------ */

typedef enum { RULE_NONE, RULE_SELECTION, RULE_TRANSFORM, RULE_RESOLVE } rule_kind;

typedef struct rule {
  rule_kind kind;
  const char *name;     /* the schema */
  const char *key;      /* transform: the role; resolve: the property */
  const char *expand;   /* transform: the schema it expands under */
  const char *policy;   /* resolve */
  json_t *authors;      /* resolve: the trusted authors (new reference) */
} rule;

/* The first pointer after the first with this role, or NULL. */
static const json_t *find_role(const json_t *ptrs, const char *role) {
  for (size_t i = 1; i < json_array_size(ptrs); i++) {
    const json_t *p = json_array_get(ptrs, i);
    if (strcmp(role_of(p), role) == 0) return p;
  }
  return NULL;
}

/* Reads delta d as a schema rule. A rule's first pointer has role "schema"
 * and a reference target with context selection, transform or resolve; it
 * must have the table's other pointers (found by role, the first of each;
 * their targets of the table's kind), others are ignored. */
static rule read_rule(const json_t *d) {
  rule r = {RULE_NONE, NULL, NULL, NULL, NULL, NULL};
  const json_t *ptrs = pointers_of(d);
  const json_t *p0 = json_array_get(ptrs, 0);
  if (!p0 || strcmp(role_of(p0), "schema") != 0) return r;
  const json_t *t0 = target_of(p0);
  if (!is_ref(t0) || !ref_context(t0)) return r;
  const char *ctx = ref_context(t0);
  r.name = ref_id(t0);
  if (strcmp(ctx, "selection") == 0) {
    const json_t *s = find_role(ptrs, "selection");
    if (s && json_is_string(target_of(s)) &&
        strcmp(json_string_value(target_of(s)), "target-context") == 0)
      r.kind = RULE_SELECTION;
  } else if (strcmp(ctx, "transform") == 0) {
    const json_t *ro = find_role(ptrs, "role"), *ex = find_role(ptrs, "expand");
    if (ro && ex && json_is_string(target_of(ro)) && is_ref(target_of(ex))) {
      r.kind = RULE_TRANSFORM;
      r.key = json_string_value(target_of(ro));
      r.expand = ref_id(target_of(ex));
    }
  } else if (strcmp(ctx, "resolve") == 0) {
    const json_t *pr = find_role(ptrs, "property"), *po = find_role(ptrs, "policy");
    if (pr && po && json_is_string(target_of(pr)) && json_is_string(target_of(po)) &&
        known_policy(json_string_value(target_of(po)))) {
      r.kind = RULE_RESOLVE;
      r.key = json_string_value(target_of(pr));
      r.policy = json_string_value(target_of(po));
      r.authors = json_array();
      if (strcmp(r.policy, "trusted-author") == 0) {
        for (size_t i = 1; i < json_array_size(ptrs); i++) {
          const json_t *p = json_array_get(ptrs, i);
          if (strcmp(role_of(p), "trusted") == 0 && json_is_string(target_of(p)))
            json_array_append(r.authors, (json_t *)target_of(p));
        }
      }
    }
  }
  return r;
}

static json_t *obj_child(json_t *parent, const char *key) {
  json_t *c = json_object_get(parent, key);
  if (!c) {
    c = json_object();
    json_object_set_new(parent, key, c);
  }
  return c;
}

static json_t *arr_child(json_t *parent, const char *key) {
  json_t *c = json_object_get(parent, key);
  if (!c) {
    c = json_array();
    json_object_set_new(parent, key, c);
  }
  return c;
}

/* Applies live rule r (delta id) to the schema state; called in canonical
 * order, so a later rule with the same key overwrites (latest wins). */
static void apply_rule(json_t *schemas, const rule *r, const char *id) {
  json_t *s = obj_child(schemas, r->name);
  if (r->kind == RULE_SELECTION) {
    json_array_append_new(arr_child(s, "selection"), json_string(id));
  } else if (r->kind == RULE_TRANSFORM) {
    json_t *k = obj_child(obj_child(s, "transform"), r->key);
    json_object_set_new(k, "expand", json_string(r->expand));
    json_array_append_new(arr_child(k, "ids"), json_string(id));
  } else if (r->kind == RULE_RESOLVE) {
    json_t *k = obj_child(obj_child(s, "resolve"), r->key);
    json_object_set_new(k, "policy", json_string(r->policy));
    json_object_set(k, "authors", r->authors);
    json_array_append_new(arr_child(k, "ids"), json_string(id));
  }
}

/* ---- the evaluation --------------------------------------------------- */

static void evaluate(hvo *o) {
  if (!o->dirty) return;
  drop_evaluation(o);
  o->dirty = false;
  size_t n = o->n;
  o->order = malloc((n ? n : 1) * sizeof *o->order);
  o->live = calloc(n ? n : 1, sizeof *o->live);
  if (!o->order || !o->live) abort();
  for (size_t i = 0; i < n; i++) o->order[i] = i;
  sort_ctx = o;
  qsort(o->order, n, sizeof *o->order, order_cmp);

  /* Liveness: from the latest delta back. A delta is live iff no live
   * delta later in canonical order negates it (an earlier or equal one
   * never counts). */
  for (size_t k = n; k-- > 0;) {
    size_t i = o->order[k];
    o->live[i] = true;
    for (size_t k2 = k + 1; k2 < n && o->live[i]; k2++) {
      size_t j = o->order[k2];
      if (o->live[j] && negates(&o->d[j], &o->d[i])) o->live[i] = false;
    }
  }

  /* Selection: (object, property) of every pointer whose target is a
   * reference with a context; once per delta. */
  o->sel = json_object();
  for (size_t k = 0; k < n; k++) {
    size_t i = o->order[k];
    if (!o->live[i]) continue;
    const json_t *ptrs = pointers_of(o->d[i].json);
    for (size_t pi = 0; pi < json_array_size(ptrs); pi++) {
      const json_t *t = target_of(json_array_get(ptrs, pi));
      if (!is_ref(t) || !ref_context(t)) continue;
      json_t *list = arr_child(obj_child(o->sel, ref_id(t)), ref_context(t));
      size_t m = json_array_size(list);
      if (m && (size_t)json_integer_value(json_array_get(list, m - 1)) == i) continue;
      json_array_append_new(list, json_integer((json_int_t)i));
    }
  }

  /* The schema state, from live rules in canonical order. */
  o->schemas = json_object();
  for (size_t k = 0; k < n; k++) {
    size_t i = o->order[k];
    if (!o->live[i]) continue;
    rule r = read_rule(o->d[i].json);
    if (r.kind != RULE_NONE) apply_rule(o->schemas, &r, o->d[i].id);
    json_decref(r.authors);
  }
  o->memo = json_object();
}

/* ---- schema lookups ---------------------------------------------------- */

int hvo_schema_exists(hvo *o, const char *schema) {
  evaluate(o);
  json_t *s = json_object_get(o->schemas, schema);
  return s && json_array_size(json_object_get(s, "selection")) > 0;
}

/* The winning live transform of (schema, role): the schema it names, or
 * NULL. */
static const char *transform_of(hvo *o, const char *schema, const char *role) {
  json_t *k = json_object_get(json_object_get(json_object_get(o->schemas, schema), "transform"), role);
  return json_string_value(json_object_get(k, "expand"));
}

/* The winning live resolve rule of (schema, property): {"policy",
 * "authors"}, or NULL (most-recent). */
static json_t *resolve_of(hvo *o, const char *schema, const char *prop) {
  return json_object_get(json_object_get(json_object_get(o->schemas, schema), "resolve"), prop);
}

typedef struct path {
  const char *s[HVO_MAX_PATH];
  size_t n;
} path;

static bool on_path(const path *p, const char *schema) {
  for (size_t i = 0; i < p->n; i++)
    if (strcmp(p->s[i], schema) == 0) return true;
  return false;
}

static path path_push(const path *p, const char *schema) {
  path q = *p;
  assert(q.n < HVO_MAX_PATH);
  q.s[q.n++] = schema;
  return q;
}

/* The schema a pointer of this role expands under, inside a view under
 * `schema` reached by path p: the transform's target if there is one, it
 * exists, and it is not on the path already (the cycle guard); else NULL. */
static const char *expansion(hvo *o, const char *schema, const char *role, const path *p) {
  const char *s2 = transform_of(o, schema, role);
  if (!s2 || !hvo_schema_exists(o, s2) || on_path(p, s2)) return NULL;
  return s2;
}

static char *memo_key(char kind, const char *object, const path *p) {
  size_t len = 3 + strlen(object);
  for (size_t i = 0; i < p->n; i++) len += strlen(p->s[i]) + 1;
  char *k = malloc(len);
  if (!k) abort();
  size_t at = (size_t)sprintf(k, "%c\x1f%s", kind, object);
  for (size_t i = 0; i < p->n; i++) at += (size_t)sprintf(k + at, "\x1f%s", p->s[i]);
  return k;
}

/* ---- HyperViews (docs: "HyperView JSON") ------------------------------ */

static json_t *render_hv(hvo *o, const char *object, const path *p);

/* A delta as stored, with every reference pointer whose role has a
 * transform expanded: target {id, context?, view}. */
static json_t *render_delta(hvo *o, size_t idx, const path *p) {
  const char *schema = p->s[p->n - 1];
  json_t *d = json_deep_copy(o->d[idx].json);
  json_t *ptrs = json_object_get(d, "pointers");
  for (size_t i = 0; i < json_array_size(ptrs); i++) {
    json_t *ptr = json_array_get(ptrs, i);
    json_t *t = json_object_get(ptr, "target");
    if (!is_ref(t)) continue;
    const char *s2 = expansion(o, schema, role_of(ptr), p);
    if (!s2) continue;
    path q = path_push(p, s2);
    json_object_set_new(t, "view", render_hv(o, ref_id(t), &q));
  }
  return d;
}

/* HyperView(object, last schema of p): {"id": object, p: [deltas]...}. */
static json_t *render_hv(hvo *o, const char *object, const path *p) {
  char *key = memo_key('h', object, p);
  json_t *hit = json_object_get(o->memo, key);
  if (hit) {
    free(key);
    return json_incref(hit);
  }
  json_t *view = json_object();
  json_object_set_new(view, "id", json_string(object));
  const char *prop;
  json_t *list;
  json_object_foreach(json_object_get(o->sel, object), prop, list) {
    json_t *arr = json_array();
    for (size_t i = 0; i < json_array_size(list); i++)
      json_array_append_new(arr, render_delta(o, (size_t)json_integer_value(json_array_get(list, i)), p));
    json_object_set_new(view, prop, arr);
  }
  json_object_set(o->memo, key, view);
  free(key);
  return view;
}

/* ---- Views (docs: "Views: resolving a HyperView") --------------------- */

static json_t *render_view(hvo *o, const char *object, const path *p);

/* The value of delta idx under (object, prop): its first primitive target;
 * else its first reference other than {id: object, context: prop}, as
 * {"id": X} (plus "view" when the pointer's role expands); else true. */
static json_t *delta_value(hvo *o, size_t idx, const char *object, const char *prop, const path *p) {
  const char *schema = p->s[p->n - 1];
  const json_t *ptrs = pointers_of(o->d[idx].json);
  for (size_t i = 0; i < json_array_size(ptrs); i++) {
    const json_t *t = target_of(json_array_get(ptrs, i));
    if (!is_ref(t)) return json_deep_copy(t);
  }
  for (size_t i = 0; i < json_array_size(ptrs); i++) {
    const json_t *ptr = json_array_get(ptrs, i);
    const json_t *t = target_of(ptr);
    const char *ctx = ref_context(t);
    if (ctx && strcmp(ref_id(t), object) == 0 && strcmp(ctx, prop) == 0) continue;
    json_t *v = json_object();
    json_object_set_new(v, "id", json_string(ref_id(t)));
    const char *s2 = expansion(o, schema, role_of(ptr), p);
    if (s2) {
      path q = path_push(p, s2);
      json_object_set_new(v, "view", render_view(o, ref_id(t), &q));
    }
    return v;
  }
  return json_true();
}

static const char *author_of(const hvo *o, size_t idx) {
  return json_string_value(json_object_get(o->d[idx].json, "author"));
}

static bool is_number(const json_t *v) { return json_is_integer(v) || json_is_real(v); }

/* a < b as numbers (integers exactly, otherwise as doubles). */
static bool num_less(const json_t *a, const json_t *b) {
  if (json_is_integer(a) && json_is_integer(b)) return json_integer_value(a) < json_integer_value(b);
  return json_number_value(a) < json_number_value(b);
}

/* Resolves property prop of object (its live deltas `list`, canonical
 * order, never empty) by the policy of the view's schema. */
static json_t *resolve_prop(hvo *o, const char *object, const char *prop, const json_t *list,
                            const path *p) {
  const char *schema = p->s[p->n - 1];
  size_t n = json_array_size(list);
  assert(n > 0);
  size_t *ix = malloc(n * sizeof *ix);
  if (!ix) abort();
  for (size_t i = 0; i < n; i++) ix[i] = (size_t)json_integer_value(json_array_get(list, i));
  json_t *rrule = resolve_of(o, schema, prop);
  const char *policy = rrule ? json_string_value(json_object_get(rrule, "policy")) : "most-recent";
  json_t *out = NULL;

  if (strcmp(policy, "most-recent") == 0) {
    out = delta_value(o, ix[n - 1], object, prop, p);
  } else if (strcmp(policy, "first-write") == 0) {
    out = delta_value(o, ix[0], object, prop, p);
  } else if (strcmp(policy, "all-values") == 0) {
    out = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(out, delta_value(o, ix[i], object, prop, p));
  } else if (strcmp(policy, "trusted-author") == 0) {
    /* Among the deltas of the earliest-listed author who has any, the
     * latest; if no listed author has one, the latest of all. */
    size_t pick = ix[n - 1];
    json_t *authors = json_object_get(rrule, "authors");
    bool found = false;
    for (size_t a = 0; a < json_array_size(authors) && !found; a++) {
      const char *who = json_string_value(json_array_get(authors, a));
      for (size_t i = n; i-- > 0;) {
        if (strcmp(author_of(o, ix[i]), who) == 0) {
          pick = ix[i];
          found = true;
          break;
        }
      }
    }
    out = delta_value(o, pick, object, prop, p);
  } else if (strcmp(policy, "min") == 0 || strcmp(policy, "max") == 0) {
    bool want_min = strcmp(policy, "min") == 0;
    for (size_t i = 0; i < n; i++) {
      json_t *v = delta_value(o, ix[i], object, prop, p);
      if (is_number(v) && (!out || (want_min ? num_less(v, out) : num_less(out, v)))) {
        json_decref(out);
        out = v;
      } else {
        json_decref(v);
      }
    }
    if (!out) out = json_null();
  } else if (strcmp(policy, "sum") == 0 || strcmp(policy, "average") == 0) {
    /* Integers are summed exactly; the sum stays an integer if every
     * numeric value is one and the total fits in 64 bits. With a real
     * among them, the doubles are summed in canonical order. */
    __int128 isum = 0;
    double dsum = 0;
    size_t count = 0;
    bool any_real = false;
    for (size_t i = 0; i < n; i++) {
      json_t *v = delta_value(o, ix[i], object, prop, p);
      if (is_number(v)) {
        count++;
        dsum += json_number_value(v);
        if (json_is_integer(v))
          isum += json_integer_value(v);
        else
          any_real = true;
      }
      json_decref(v);
    }
    bool fits = isum >= INT64_MIN && isum <= INT64_MAX;
    if (strcmp(policy, "sum") == 0) {
      if (!any_real && fits)
        out = json_integer((json_int_t)isum);
      else
        out = json_real(any_real ? dsum : (double)isum);
    } else {
      if (count == 0)
        out = json_null();
      else
        out = json_real((any_real ? dsum : (double)isum) / (double)count);
    }
  } else if (strcmp(policy, "count") == 0) {
    out = json_integer((json_int_t)n);
  } else if (strcmp(policy, "consensus") == 0) {
    /* The most frequent value (JSON equality); a tie goes to the value
     * whose latest delta is latest. */
    json_t **val = malloc(n * sizeof *val);
    size_t *cnt = calloc(n, sizeof *cnt), *last = calloc(n, sizeof *last);
    if (!val || !cnt || !last) abort();
    size_t groups = 0;
    for (size_t i = 0; i < n; i++) {
      json_t *v = delta_value(o, ix[i], object, prop, p);
      size_t g = 0;
      while (g < groups && !json_equal(val[g], v)) g++;
      if (g == groups) {
        val[groups++] = v;
      } else {
        json_decref(v);
      }
      cnt[g]++;
      last[g] = i; /* canonical position of its latest delta */
    }
    size_t best = 0;
    for (size_t g = 1; g < groups; g++)
      if (cnt[g] > cnt[best] || (cnt[g] == cnt[best] && last[g] > last[best])) best = g;
    out = json_incref(val[best]);
    for (size_t g = 0; g < groups; g++) json_decref(val[g]);
    free(val);
    free(cnt);
    free(last);
  } else {
    abort(); /* read_rule admits known policies only */
  }
  free(ix);
  return out;
}

/* View(object, last schema of p): {"id": object, p: value...}. */
static json_t *render_view(hvo *o, const char *object, const path *p) {
  char *key = memo_key('v', object, p);
  json_t *hit = json_object_get(o->memo, key);
  if (hit) {
    free(key);
    return json_incref(hit);
  }
  json_t *view = json_object();
  json_object_set_new(view, "id", json_string(object));
  const char *prop;
  json_t *list;
  json_object_foreach(json_object_get(o->sel, object), prop, list) {
    json_object_set_new(view, prop, resolve_prop(o, object, prop, list, p));
  }
  json_object_set(o->memo, key, view);
  free(key);
  return view;
}

json_t *hvo_get(hvo *o, const char *schema, const char *object, int resolve) {
  evaluate(o);
  if (!hvo_schema_exists(o, schema)) return NULL;
  path p = {{schema}, 1};
  return resolve ? render_view(o, object, &p) : render_hv(o, object, &p);
}

/* ---- listings ----------------------------------------------------------- */

static int strp_cmp(const void *a, const void *b) {
  return str_cmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of a JSON object (or the members of a set built as one), as a
 * sorted array of strings. */
static json_t *sorted_keys(const json_t *obj) {
  size_t n = json_object_size(obj), i = 0;
  const char **keys = malloc((n ? n : 1) * sizeof *keys);
  if (!keys) abort();
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)obj, k, v) keys[i++] = k;
  qsort(keys, n, sizeof *keys, strp_cmp);
  json_t *out = json_array();
  for (i = 0; i < n; i++) json_array_append_new(out, json_string(keys[i]));
  free(keys);
  return out;
}

json_t *hvo_schemas(hvo *o) {
  evaluate(o);
  json_t *set = json_object();
  const char *name;
  json_t *s;
  json_object_foreach(o->schemas, name, s) {
    if (json_array_size(json_object_get(s, "selection")) > 0) json_object_set_new(set, name, json_true());
  }
  json_t *out = sorted_keys(set);
  json_decref(set);
  return out;
}

json_t *hvo_objects(hvo *o, const char *schema) {
  evaluate(o);
  if (!hvo_schema_exists(o, schema)) return NULL;
  return sorted_keys(o->sel); /* every object with a live selected delta */
}

json_t *hvo_known_objects(hvo *o) {
  json_t *set = json_object();
  for (size_t i = 0; i < o->n; i++) {
    const json_t *ptrs = pointers_of(o->d[i].json);
    for (size_t pi = 0; pi < json_array_size(ptrs); pi++) {
      const json_t *ptr = json_array_get(ptrs, pi);
      if (is_ref(target_of(ptr)) && strcmp(role_of(ptr), "negates") != 0)
        json_object_set_new(set, ref_id(target_of(ptr)), json_true());
    }
  }
  json_t *out = sorted_keys(set);
  json_decref(set);
  return out;
}

json_t *hvo_known_schemas(hvo *o) {
  json_t *set = json_object();
  for (size_t i = 0; i < o->n; i++) {
    const json_t *ptrs = pointers_of(o->d[i].json);
    const json_t *p0 = json_array_get(ptrs, 0);
    if (p0 && strcmp(role_of(p0), "schema") == 0 && is_ref(target_of(p0)))
      json_object_set_new(set, ref_id(target_of(p0)), json_true());
  }
  json_t *out = sorted_keys(set);
  json_decref(set);
  return out;
}

/* ---- change-stream content (docs: "Change streams") ------------------- */

/* Adds (root, schema, via, property, delta) for every delta of via's
 * HyperView under the schema p holds, then recurses into every view
 * embedded in it. `seen` skips a (via, schema) already walked for this
 * root. */
static void collect(hvo *o, const char *root, const char *via, const path *p, json_t *set,
                    json_t *seen) {
  char *key = memo_key('c', via, p);
  if (json_object_get(seen, key)) {
    free(key);
    return;
  }
  json_object_set_new(seen, key, json_true());
  free(key);
  const char *schema = p->s[p->n - 1];
  const char *prop;
  json_t *list;
  json_object_foreach(json_object_get(o->sel, via), prop, list) {
    for (size_t i = 0; i < json_array_size(list); i++) {
      size_t idx = (size_t)json_integer_value(json_array_get(list, i));
      const char *id = o->d[idx].id;
      size_t len = strlen(root) + strlen(schema) + strlen(via) + strlen(prop) + strlen(id) + 5;
      char *t = malloc(len);
      if (!t) abort();
      snprintf(t, len, "%s\x1f%s\x1f%s\x1f%s\x1f%s", root, schema, via, prop, id);
      if (!json_object_get(set, t)) {
        json_t *tuple = json_pack("[sssss]", root, schema, via, prop, id);
        json_object_set_new(set, t, tuple);
      }
      free(t);
      const json_t *ptrs = pointers_of(o->d[idx].json);
      for (size_t pi = 0; pi < json_array_size(ptrs); pi++) {
        const json_t *ptr = json_array_get(ptrs, pi);
        if (!is_ref(target_of(ptr))) continue;
        /* Every view reachable through the transforms: no path guard here
         * (docs: "Change streams"); `seen` keeps a raw cycle finite. */
        const path none = {{NULL}, 0};
        const char *s2 = expansion(o, schema, role_of(ptr), &none);
        if (!s2) continue;
        path q = {{s2}, 1};
        collect(o, root, ref_id(target_of(ptr)), &q, set, seen);
      }
    }
  }
}

json_t *hvo_content(hvo *o, const char *schema) {
  evaluate(o);
  json_t *out = json_array();
  if (!hvo_schema_exists(o, schema)) return out;
  json_t *set = json_object();
  const char *object;
  json_t *props;
  json_object_foreach(o->sel, object, props) {
    json_t *seen = json_object();
    path p = {{schema}, 1};
    collect(o, object, object, &p, set, seen);
    json_decref(seen);
  }
  json_t *keys = sorted_keys(set);
  for (size_t i = 0; i < json_array_size(keys); i++)
    json_array_append(out, json_object_get(set, json_string_value(json_array_get(keys, i))));
  json_decref(keys);
  json_decref(set);
  return out;
}

/* ---- schema definitions (docs: "Schemas are deltas") ------------------ */

json_t *hvo_schema_state(hvo *o, const char *name) {
  evaluate(o);
  if (!hvo_schema_exists(o, name)) return NULL;
  json_t *s = json_object_get(o->schemas, name);
  json_t *out = json_pack("{s:s, s:s, s:{}, s:{}}", "name", name, "selection", "target-context",
                          "transform", "resolve");
  const char *k;
  json_t *v;
  json_object_foreach(json_object_get(s, "transform"), k, v) {
    json_object_set(json_object_get(out, "transform"), k, json_object_get(v, "expand"));
  }
  json_object_foreach(json_object_get(s, "resolve"), k, v) {
    const char *pol = json_string_value(json_object_get(v, "policy"));
    json_t *r = json_pack("{s:s}", "policy", pol);
    if (strcmp(pol, "trusted-author") == 0)
      json_object_set(r, "authors", json_object_get(v, "authors"));
    json_object_set_new(json_object_get(out, "resolve"), k, r);
  }
  return out;
}

json_t *hvo_normalize_def(const json_t *def) {
  if (!json_is_object(def)) return NULL;
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)def, k, v) {
    if (strcmp(k, "name") && strcmp(k, "selection") && strcmp(k, "transform") && strcmp(k, "resolve"))
      return NULL;
  }
  const json_t *name = json_object_get(def, "name");
  if (!json_is_string(name) || json_string_length(name) == 0) return NULL;
  const json_t *sel = json_object_get(def, "selection");
  if (sel && !(json_is_string(sel) && strcmp(json_string_value(sel), "target-context") == 0))
    return NULL;
  json_t *out = json_pack("{s:O, s:s, s:{}, s:{}}", "name", name, "selection", "target-context",
                          "transform", "resolve");
  const json_t *tr = json_object_get(def, "transform");
  if (tr && !json_is_object(tr)) goto bad;
  json_object_foreach((json_t *)tr, k, v) {
    if (!*k || !json_is_string(v) || json_string_length(v) == 0) goto bad;
    json_object_set(json_object_get(out, "transform"), k, v);
  }
  const json_t *rs = json_object_get(def, "resolve");
  if (rs && !json_is_object(rs)) goto bad;
  json_object_foreach((json_t *)rs, k, v) {
    if (!*k) goto bad;
    const json_t *pol = json_is_object(v) ? json_object_get(v, "policy") : v;
    if (!json_is_string(pol) || !known_policy(json_string_value(pol))) goto bad;
    json_t *r = json_pack("{s:O}", "policy", pol);
    if (strcmp(json_string_value(pol), "trusted-author") == 0) {
      const json_t *au = json_is_object(v) ? json_object_get(v, "authors") : NULL;
      if (au && !json_is_array(au)) {
        json_decref(r);
        goto bad;
      }
      json_t *authors = json_array();
      for (size_t i = 0; i < json_array_size(au); i++) {
        const json_t *a = json_array_get(au, i);
        if (!json_is_string(a) || json_string_length(a) == 0) {
          json_decref(authors);
          json_decref(r);
          goto bad;
        }
        json_array_append(authors, (json_t *)a);
      }
      json_object_set_new(r, "authors", authors);
    }
    json_object_set_new(json_object_get(out, "resolve"), k, r);
  }
  return out;
bad:
  json_decref(out);
  return NULL;
}

static json_t *rule_delta(const char *id, int64_t ts, json_t *pointers /* consumed */) {
  return json_pack("{s:s, s:I, s:s, s:s, s:o}", "id", id, "timestamp", (json_int_t)ts, "author",
                   "rhizoflow", "system", "rhizoflow-schema", "pointers", pointers);
}

/* Depth-first search for a cycle in graph (name -> {role: schema}) from
 * `at`, with the path so far on stack; on finding one, writes it ("a -> b
 * -> a") into cyc and returns true. */
static bool find_cycle(const json_t *graph, const char *at, const char **stack, size_t depth,
                       json_t *done, char *cyc, size_t cap) {
  for (size_t i = 0; i < depth; i++) {
    if (strcmp(stack[i], at) != 0) continue;
    cyc[0] = 0;
    for (size_t j = i; j < depth; j++) {
      strncat(cyc, stack[j], cap - strlen(cyc) - 1);
      strncat(cyc, " -> ", cap - strlen(cyc) - 1);
    }
    strncat(cyc, at, cap - strlen(cyc) - 1);
    return true;
  }
  if (json_object_get(done, at) || depth >= HVO_MAX_PATH) return false;
  stack[depth] = at;
  const char *role;
  json_t *to;
  json_object_foreach(json_object_get(graph, at), role, to) {
    if (find_cycle(graph, json_string_value(to), stack, depth + 1, done, cyc, cap)) return true;
  }
  json_object_set_new(done, at, json_true());
  return false;
}

int hvo_schema_deltas(hvo *o, const char *json, size_t len, int64_t ts, json_t **out, char *err,
                      size_t err_cap) {
  evaluate(o);
  *out = NULL;
  json_error_t je;
  json_t *doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
  if (!doc) {
    set_err(err, err_cap, "invalid JSON: %s", je.text);
    return -1;
  }
  json_t *defs = json_is_array(doc) ? json_incref(doc) : json_pack("[O]", doc);
  json_decref(doc);
  json_t *norm = json_array(); /* normalized definitions */
  json_t *names = json_object();
  for (size_t i = 0; i < json_array_size(defs); i++) {
    json_t *d = hvo_normalize_def(json_array_get(defs, i));
    if (!d) {
      set_err(err, err_cap, "schema %zu: invalid definition", i);
      goto fail;
    }
    const char *nm = json_string_value(json_object_get(d, "name"));
    if (json_object_get(names, nm)) {
      json_decref(d);
      set_err(err, err_cap, "schema '%s' defined twice", nm);
      goto fail;
    }
    json_object_set_new(names, nm, json_true());
    json_array_append_new(norm, d);
  }

  /* The transform graph after the change: the live winners of every schema
   * not being defined, plus the new definitions. */
  json_t *graph = json_object();
  const char *nm;
  json_t *s;
  json_object_foreach(o->schemas, nm, s) {
    if (json_object_get(names, nm)) continue;
    const char *role;
    json_t *k;
    json_object_foreach(json_object_get(s, "transform"), role, k) {
      json_object_set(obj_child(graph, nm), role, json_object_get(k, "expand"));
    }
  }
  for (size_t i = 0; i < json_array_size(norm); i++) {
    json_t *d = json_array_get(norm, i);
    json_object_set(graph, json_string_value(json_object_get(d, "name")),
                    json_object_get(d, "transform"));
  }
  json_t *done = json_object();
  const char *stack[HVO_MAX_PATH];
  char cyc[512] = "";
  bool cyclic = false;
  json_object_foreach(graph, nm, s) {
    if (find_cycle(graph, nm, stack, 0, done, cyc, sizeof cyc)) {
      cyclic = true;
      break;
    }
  }
  json_decref(done);
  json_decref(graph);
  if (cyclic) {
    set_err(err, err_cap, "a cycle of transforms: %s", cyc);
    goto fail;
  }

  json_t *rules = json_array(), *must = json_array(), *may = json_array();
  for (size_t i = 0; i < json_array_size(norm); i++) {
    json_t *d = json_array_get(norm, i);
    const char *name = json_string_value(json_object_get(d, "name"));
    json_t *st = json_object_get(o->schemas, name);
    char id[1024];
    if (!hvo_schema_exists(o, name)) {
      snprintf(id, sizeof id, "schema/%s/selection@%" PRId64, name, ts);
      json_array_append_new(
          rules, rule_delta(id, ts,
                            json_pack("[{s:s, s:{s:s, s:s}}, {s:s, s:s}]", "role", "schema", "target",
                                      "id", name, "context", "selection", "role", "selection",
                                      "target", "target-context")));
    }
    /* Transforms: a rule for each role whose winner changes; the winner
     * must be negated, other live rules of the key may be; every live rule
     * of a role the definition drops must be negated. */
    const char *role;
    json_t *v;
    json_t *cur_tr = json_object_get(st, "transform");
    json_object_foreach(json_object_get(d, "transform"), role, v) {
      json_t *cur = json_object_get(cur_tr, role);
      if (cur && json_equal(json_object_get(cur, "expand"), v)) continue;
      snprintf(id, sizeof id, "schema/%s/transform/%s@%" PRId64, name, role, ts);
      json_array_append_new(
          rules, rule_delta(id, ts,
                            json_pack("[{s:s, s:{s:s, s:s}}, {s:s, s:s}, {s:s, s:{s:O}}]", "role",
                                      "schema", "target", "id", name, "context", "transform", "role",
                                      "role", "target", role, "role", "expand", "target", "id", v)));
      json_t *ids = json_object_get(cur, "ids");
      for (size_t j = 0; j < json_array_size(ids); j++)
        json_array_append(j + 1 == json_array_size(ids) ? must : may, json_array_get(ids, j));
    }
    json_object_foreach(cur_tr, role, v) {
      if (json_object_get(json_object_get(d, "transform"), role)) continue;
      json_array_extend(must, json_object_get(v, "ids"));
    }
    /* Resolve rules, the same way. */
    json_t *cur_rs = json_object_get(st, "resolve");
    json_object_foreach(json_object_get(d, "resolve"), role, v) {
      json_t *cur = json_object_get(cur_rs, role);
      const char *pol = json_string_value(json_object_get(v, "policy"));
      bool trusted = strcmp(pol, "trusted-author") == 0;
      if (cur && json_equal(json_object_get(cur, "policy"), json_object_get(v, "policy")) &&
          (!trusted || json_equal(json_object_get(cur, "authors"), json_object_get(v, "authors"))))
        continue;
      snprintf(id, sizeof id, "schema/%s/resolve/%s@%" PRId64, name, role, ts);
      json_t *ptrs = json_pack("[{s:s, s:{s:s, s:s}}, {s:s, s:s}, {s:s, s:s}]", "role", "schema",
                               "target", "id", name, "context", "resolve", "role", "property",
                               "target", role, "role", "policy", "target", pol);
      json_t *au = json_object_get(v, "authors");
      for (size_t j = 0; trusted && j < json_array_size(au); j++)
        json_array_append_new(ptrs, json_pack("{s:s, s:O}", "role", "trusted", "target",
                                              json_array_get(au, j)));
      json_array_append_new(rules, rule_delta(id, ts, ptrs));
      json_t *ids = json_object_get(cur, "ids");
      for (size_t j = 0; j < json_array_size(ids); j++)
        json_array_append(j + 1 == json_array_size(ids) ? must : may, json_array_get(ids, j));
    }
    json_object_foreach(cur_rs, role, v) {
      if (json_object_get(json_object_get(d, "resolve"), role)) continue;
      json_array_extend(must, json_object_get(v, "ids"));
    }
  }
  json_t *deltas = json_deep_copy(rules);
  for (size_t i = 0; i < json_array_size(must); i++) {
    const char *old = json_string_value(json_array_get(must, i));
    char id[1100];
    snprintf(id, sizeof id, "%s/negation@%" PRId64, old, ts);
    json_array_append_new(deltas, rule_delta(id, ts, json_pack("[{s:s, s:{s:s}}]", "role", "negates",
                                                               "target", "id", old)));
  }
  *out = json_pack("{s:o, s:o, s:o, s:o}", "rules", rules, "must_negate", must, "may_negate", may,
                   "deltas", deltas);
  json_decref(norm);
  json_decref(names);
  json_decref(defs);
  return 0;
fail:
  json_decref(norm);
  json_decref(names);
  json_decref(defs);
  return -1;
}

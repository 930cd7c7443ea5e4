/*
 * render.c: reading HyperViews and Views (docs/hyperviews.md) from the
 * dataflow's live views, from any thread: a consistent time is chosen
 * once, every lookup reads that time, and the JSON is written by hand in
 * the store's canonical style (objects' members in a fixed order).
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/atomic.h"
#include "common/error.h"
#include "hyperviews/internal.h"
#include "hyperviews/jsonw.h"

/* ---- reading views at one time ---------------------------------------- */

typedef struct rows {
  rf_value *v; /* n rows of `width` words */
  size_t n, cap;
  uint32_t width;
} rows;

static int collect(void *ctx, const rf_value *key, const rf_value *val, rf_diff count) {
  rows *r = ctx;
  if (count <= 0) return 0;
  if (rf__grow((void **)&r->v, &r->cap, (r->n + 1) * r->width, sizeof *r->v)) return RF_ENOMEM;
  memcpy(r->v + r->n * r->width, val, r->width * sizeof *val);
  r->n++;
  return 0;
}

static int collect_keys(void *ctx, const rf_value *key, const rf_value *val, rf_diff count) {
  rows *r = ctx;
  if (count <= 0) return 0;
  if (rf__grow((void **)&r->v, &r->cap, r->n + 1, sizeof *r->v)) return RF_ENOMEM;
  r->v[r->n++] = key[0];
  return 0;
}

rf_time hv_visible_time(rf_hv *hv) {
  rf_view *views[] = {hv->flow.top, hv->flow.objects, hv->flow.schemas, hv->flow.rules};
  rf_time f = rf__atomic_load_acquire_64(&hv->open);
  for (size_t i = 0; i < 4; i++) {
    rf_time vf = rf_view_frontier(views[i]);
    if (vf < f) f = vf;
  }
  return f ? f - 1 : 0;
}

rf_time rf_hv_time(rf_hv *hv) { return hv_visible_time(hv); }

int hv_schema_exists(rf_hv *hv, uint64_t S, rf_time t) {
  if (t == 0) return 0; /* time 0 is empty by construction (flow.c) */
  rows r = {.width = 0};
  int rc = rf_view_lookup(hv->flow.schemas, &S, t, collect_keys, &r);
  rf__free(r.v);
  return rc < 0 ? rc : r.n > 0;
}

/* One render: the time, the schema rules read so far (per schema). */
typedef struct rules_of {
  uint64_t S;
  rows transform; /* (r, S2, d) winners, S2 existing */
  rows resolve;   /* (p, 0, d) winners */
} rules_of;

typedef struct render {
  rf_hv *hv;
  const hv_catalog *cat;
  rf_time t;
  jbuf out;
  rules_of *rules;
  size_t n_rules, cap_rules;
  uint64_t path[64]; /* schemas on the current expansion path */
  size_t depth;
} render;

/* Keeps, per key (column 0), the row whose delta (column 2) is latest. */
static void keep_latest(const hv_catalog *cat, rows *r) {
  size_t n = 0;
  for (size_t i = 0; i < r->n; i++) {
    rf_value *row = r->v + i * 3;
    size_t j = 0;
    while (j < n && r->v[j * 3] != row[0]) j++;
    if (j == n) {
      memmove(r->v + n * 3, row, 3 * sizeof *row);
      n++;
    } else if (hv_delta_cmp(cat, hv_delta_of(cat, row[2]), hv_delta_of(cat, r->v[j * 3 + 2])) > 0) {
      memcpy(r->v + j * 3, row, 3 * sizeof *row);
    }
  }
  r->n = n;
}

static int load_rules(render *R, uint64_t S, const rules_of **out) {
  for (size_t i = 0; i < R->n_rules; i++)
    if (R->rules[i].S == S) {
      *out = &R->rules[i];
      return 0;
    }
  RF_FORWARD_IF_ERROR(rf__grow((void **)&R->rules, &R->cap_rules, R->n_rules + 1, sizeof *R->rules));
  rules_of *ro = &R->rules[R->n_rules++];
  memset(ro, 0, sizeof *ro);
  ro->S = S;
  ro->transform.width = ro->resolve.width = 3;
  rf_value key[2] = {HV_RULE_TRANSFORM, S};
  RF_FORWARD_IF_ERROR(rf_view_lookup(R->hv->flow.rules, key, R->t, collect, &ro->transform));
  keep_latest(R->cat, &ro->transform);
  /* A transform to a schema that does not exist expands nothing. */
  size_t n = 0;
  for (size_t i = 0; i < ro->transform.n; i++) {
    int ex = hv_schema_exists(R->hv, ro->transform.v[i * 3 + 1], R->t);
    if (ex < 0) return ex;
    if (ex) memmove(ro->transform.v + n++ * 3, ro->transform.v + i * 3, 3 * sizeof(rf_value));
  }
  ro->transform.n = n;
  key[0] = HV_RULE_RESOLVE;
  RF_FORWARD_IF_ERROR(rf_view_lookup(R->hv->flow.rules, key, R->t, collect, &ro->resolve));
  keep_latest(R->cat, &ro->resolve);
  *out = ro;
  return 0;
}

/* The schema that expands role r in S, or 0. */
static uint64_t expands_to(const rules_of *ro, uint64_t r) {
  for (size_t i = 0; i < ro->transform.n; i++)
    if (ro->transform.v[i * 3] == r) return ro->transform.v[i * 3 + 1];
  return 0;
}

static int on_path(const render *R, uint64_t S) {
  for (size_t i = 0; i < R->depth; i++)
    if (R->path[i] == S) return 1;
  return 0;
}

/* The live selected deltas of O, sorted by (property bytes, canonical). */
typedef struct prop_delta {
  uint64_t p;
  const hv_delta *d;
} prop_delta;

/* qsort has no context argument: the catalog for the comparators of this
 * thread's current sort. */
static _Thread_local const hv_catalog *sort_cat;
static int cmp_prop_delta(const void *a, const void *b) {
  const prop_delta *x = a, *y = b;
  int c = hv_sym_cmp(sort_cat, x->p, y->p);
  return c ? c : hv_delta_cmp(sort_cat, x->d, y->d);
}
static int cmp_sym(const void *a, const void *b) {
  return hv_sym_cmp(sort_cat, *(const rf_value *)a, *(const rf_value *)b);
}

static int load_object(render *R, uint64_t O, prop_delta **out, size_t *n_out) {
  rows r = {.width = 2};
  int rc = rf_view_lookup(R->hv->flow.top, &O, R->t, collect, &r);
  prop_delta *pd = NULL;
  if (!rc && r.n) {
    pd = rf__malloc(r.n * sizeof *pd);
    if (!pd) rc = RF_ENOMEM;
  }
  for (size_t i = 0; !rc && i < r.n; i++) {
    pd[i].p = r.v[i * 2];
    pd[i].d = hv_delta_of(R->cat, r.v[i * 2 + 1]);
    if (!pd[i].d) rc = rf__error(RF_ECORRUPT, "hyperviews: a view names an unknown delta");
  }
  rf__free(r.v);
  if (rc) {
    rf__free(pd);
    return rc;
  }
  sort_cat = R->cat;
  if (r.n > 1) qsort(pd, r.n, sizeof *pd, cmp_prop_delta);
  *out = pd;
  *n_out = r.n;
  return 0;
}

static int render_hyperview(render *R, uint64_t O, uint64_t S);
static int render_view(render *R, uint64_t O, uint64_t S);

static void put_primitive(render *R, const hv_ptr *p) {
  jbuf *b = &R->out;
  switch (p->kind) {
    case HV_STR: jw_sym(b, R->cat, p->a); break;
    case HV_INT: {
      int64_t v;
      memcpy(&v, &p->a, sizeof v);
      jw_i64(b, v);
      break;
    }
    case HV_REAL: {
      double v;
      memcpy(&v, &p->a, sizeof v);
      jw_real(b, v);
      break;
    }
    case HV_BOOL: jw_puts(b, p->a ? "true" : "false"); break;
  }
}

/* {"id": X[, "context": c][, "view": ...]} */
static int put_reference(render *R, const hv_ptr *p, uint64_t S2, int resolved, int with_ctx) {
  jbuf *b = &R->out;
  jw_puts(b, "{\"id\":");
  jw_sym(b, R->cat, p->a);
  if (with_ctx && p->ctx) {
    jw_puts(b, ",\"context\":");
    jw_sym(b, R->cat, p->ctx);
  }
  if (S2) {
    jw_puts(b, ",\"view\":");
    RF_RETURN_ERROR_IF(R->depth >= 64, RF_ERANGE, "hyperviews: views nested deeper than 64");
    R->path[R->depth++] = S2;
    int rc = resolved ? render_view(R, p->a, S2) : render_hyperview(R, p->a, S2);
    R->depth--;
    RF_FORWARD_IF_ERROR(rc);
  }
  jw_puts(b, "}");
  return b->err;
}

static int put_delta(render *R, const hv_delta *d, const rules_of *ro) {
  jbuf *b = &R->out;
  jw_puts(b, "{\"id\":");
  jw_sym(b, R->cat, d->id);
  jw_puts(b, ",\"timestamp\":");
  jw_i64(b, d->ts);
  jw_puts(b, ",\"author\":");
  jw_sym(b, R->cat, d->author);
  jw_puts(b, ",\"system\":");
  jw_sym(b, R->cat, d->system);
  jw_puts(b, ",\"pointers\":[");
  for (uint32_t i = 0; i < d->n_ptrs; i++) {
    const hv_ptr *p = &d->ptrs[i];
    jw_puts(b, i ? ",{\"role\":" : "{\"role\":");
    jw_sym(b, R->cat, p->role);
    jw_puts(b, ",\"target\":");
    if (p->kind == HV_REF) {
      uint64_t S2 = expands_to(ro, p->role);
      if (S2 && on_path(R, S2)) S2 = 0;
      RF_FORWARD_IF_ERROR(put_reference(R, p, S2, 0, 1));
    } else {
      put_primitive(R, p);
    }
    jw_puts(b, "}");
  }
  jw_puts(b, "]}");
  return b->err;
}

static int render_hyperview(render *R, uint64_t O, uint64_t S) {
  const rules_of *ro;
  RF_FORWARD_IF_ERROR(load_rules(R, S, &ro));
  prop_delta *pd;
  size_t n;
  RF_FORWARD_IF_ERROR(load_object(R, O, &pd, &n));
  jbuf *b = &R->out;
  jw_puts(b, "{\"id\":");
  jw_sym(b, R->cat, O);
  int rc = 0;
  for (size_t i = 0; i < n && !rc; i++) {
    if (i == 0 || pd[i].p != pd[i - 1].p) {
      jw_puts(b, i ? "]," : ",");
      jw_sym(b, R->cat, pd[i].p);
      jw_puts(b, ":[");
    } else {
      jw_puts(b, ",");
    }
    rc = put_delta(R, pd[i].d, ro);
  }
  if (n) jw_puts(b, "]");
  jw_puts(b, "}");
  rf__free(pd);
  return rc ? rc : b->err;
}

/* ---- Views: resolution policies --------------------------------------- */

/* The value of d under (O, p): docs/hyperviews.md "Views". */
typedef struct value {
  const hv_ptr *ptr; /* a primitive, or a reference; NULL: true */
  const hv_delta *d;
} value;

static value value_of(const hv_delta *d, uint64_t O, uint64_t p) {
  for (uint32_t i = 0; i < d->n_ptrs; i++)
    if (d->ptrs[i].kind != HV_REF) return (value){&d->ptrs[i], d};
  for (uint32_t i = 0; i < d->n_ptrs; i++) {
    const hv_ptr *q = &d->ptrs[i];
    if (!(q->a == O && q->ctx == p)) return (value){q, d};
  }
  return (value){NULL, d};
}

static int put_value(render *R, value v, const rules_of *ro) {
  if (!v.ptr) {
    jw_puts(&R->out, "true");
    return R->out.err;
  }
  if (v.ptr->kind != HV_REF) {
    put_primitive(R, v.ptr);
    return R->out.err;
  }
  uint64_t S2 = expands_to(ro, v.ptr->role);
  if (S2 && on_path(R, S2)) S2 = 0;
  return put_reference(R, v.ptr, S2, 1, 0);
}

/* The JSON text of a value (rf__malloc'd into *out). */
static int value_text(render *R, value v, const rules_of *ro, char **out) {
  jbuf saved = R->out;
  R->out = (jbuf){0};
  int rc = put_value(R, v, ro);
  if (!rc && !jw_text(&R->out)) jw_puts(&R->out, ""); /* never NULL */
  rc = rc ? rc : R->out.err;
  *out = jw_text(&R->out);
  R->out = saved;
  return rc;
}

static int is_number(value v) { return v.ptr && (v.ptr->kind == HV_INT || v.ptr->kind == HV_REAL); }
static double as_double(value v) {
  if (v.ptr->kind == HV_INT) {
    int64_t i;
    memcpy(&i, &v.ptr->a, sizeof i);
    return (double)i;
  }
  double x;
  memcpy(&x, &v.ptr->a, sizeof x);
  return x;
}
/* Numeric order of two numbers (exact between two integers). */
static int num_cmp(value a, value b) {
  if (a.ptr->kind == HV_INT && b.ptr->kind == HV_INT) {
    int64_t x, y;
    memcpy(&x, &a.ptr->a, sizeof x);
    memcpy(&y, &b.ptr->a, sizeof y);
    return (x > y) - (x < y);
  }
  double x = as_double(a), y = as_double(b);
  return (x > y) - (x < y);
}

/* Writes the resolved value of deltas ds[0..n) (canonical order). */
static int resolve_property(render *R, uint64_t O, uint64_t p, const hv_delta *const *ds,
                            size_t n, const hv_delta *rule, const rules_of *ro) {
  jbuf *b = &R->out;
  const char *policy = "most-recent";
  if (rule) {
    for (uint32_t i = 0; i < rule->n_ptrs; i++)
      if (rule->ptrs[i].role == R->hv->w.policy && rule->ptrs[i].kind == HV_STR) {
        policy = hv_name(R->cat, rule->ptrs[i].a, NULL);
        break;
      }
  }
  if (strcmp(policy, "first-write") == 0) return put_value(R, value_of(ds[0], O, p), ro);
  if (strcmp(policy, "all-values") == 0) {
    jw_puts(b, "[");
    for (size_t i = 0; i < n; i++) {
      if (i) jw_puts(b, ",");
      RF_FORWARD_IF_ERROR(put_value(R, value_of(ds[i], O, p), ro));
    }
    jw_puts(b, "]");
    return b->err;
  }
  if (strcmp(policy, "trusted-author") == 0 && rule) {
    for (uint32_t i = 0; i < rule->n_ptrs; i++) {
      const hv_ptr *a = &rule->ptrs[i];
      if (a->role != R->hv->w.trusted || a->kind != HV_STR) continue;
      for (size_t j = n; j-- > 0;)
        if (ds[j]->author == a->a) return put_value(R, value_of(ds[j], O, p), ro);
    }
    return put_value(R, value_of(ds[n - 1], O, p), ro);
  }
  if (strcmp(policy, "count") == 0) {
    jw_i64(b, (int64_t)n);
    return b->err;
  }
  if (strcmp(policy, "min") == 0 || strcmp(policy, "max") == 0) {
    int want = policy[1] == 'i' ? -1 : 1;
    value best = {0};
    for (size_t i = 0; i < n; i++) {
      value v = value_of(ds[i], O, p);
      if (is_number(v) && (!best.ptr || num_cmp(v, best) * want > 0)) best = v;
    }
    if (!best.ptr) {
      jw_puts(b, "null");
      return b->err;
    }
    return put_value(R, best, ro);
  }
  if (strcmp(policy, "sum") == 0 || strcmp(policy, "average") == 0) {
    int64_t isum = 0;
    double dsum = 0;
    int all_int = 1;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
      value v = value_of(ds[i], O, p);
      if (!is_number(v)) continue;
      k++;
      dsum += as_double(v);
      if (v.ptr->kind == HV_INT && all_int) {
        int64_t x;
        memcpy(&x, &v.ptr->a, sizeof x);
        if (__builtin_add_overflow(isum, x, &isum)) all_int = 0;
      } else {
        all_int = 0;
      }
    }
    if (policy[1] == 'u') {
      if (all_int)
        jw_i64(b, isum);
      else
        jw_real(b, dsum);
    } else if (k == 0) {
      jw_puts(b, "null");
    } else {
      jw_real(b, all_int ? (double)isum / (double)k : dsum / (double)k);
    }
    return b->err;
  }
  if (strcmp(policy, "consensus") == 0) {
    /* Values are equal as JSON: compare their texts (nested views too). */
    char **text = rf__calloc(n, sizeof *text);
    if (!text) return RF_ENOMEM;
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) rc = value_text(R, value_of(ds[i], O, p), ro, &text[i]);
    size_t best = 0, best_count = 0, best_last = 0;
    for (size_t i = 0; i < n && !rc; i++) {
      size_t count = 0, last = 0;
      for (size_t j = 0; j < n; j++)
        if (strcmp(text[i], text[j]) == 0) {
          count++;
          last = j;
        }
      if (count > best_count || (count == best_count && last > best_last)) {
        best = i;
        best_count = count;
        best_last = last;
      }
    }
    if (!rc) jw_puts(b, text[best]);
    for (size_t i = 0; i < n; i++) rf__free(text[i]);
    rf__free(text);
    return rc ? rc : b->err;
  }
  /* most-recent, and any policy this build does not know */
  return put_value(R, value_of(ds[n - 1], O, p), ro);
}

static const hv_delta *resolve_rule(const render *R, const rules_of *ro, uint64_t p) {
  for (size_t i = 0; i < ro->resolve.n; i++)
    if (ro->resolve.v[i * 3] == p) return hv_delta_of(R->cat, ro->resolve.v[i * 3 + 2]);
  return NULL;
}

static int render_view(render *R, uint64_t O, uint64_t S) {
  const rules_of *ro;
  RF_FORWARD_IF_ERROR(load_rules(R, S, &ro));
  prop_delta *pd;
  size_t n;
  RF_FORWARD_IF_ERROR(load_object(R, O, &pd, &n));
  const hv_delta **ds = n ? rf__malloc(n * sizeof *ds) : NULL;
  if (n && !ds) {
    rf__free(pd);
    return RF_ENOMEM;
  }
  jbuf *b = &R->out;
  jw_puts(b, "{\"id\":");
  jw_sym(b, R->cat, O);
  int rc = 0;
  for (size_t i = 0; i < n && !rc;) {
    size_t j = i;
    while (j < n && pd[j].p == pd[i].p) {
      ds[j - i] = pd[j].d;
      j++;
    }
    jw_puts(b, ",");
    jw_sym(b, R->cat, pd[i].p);
    jw_puts(b, ":");
    rc = resolve_property(R, O, pd[i].p, ds, j - i, resolve_rule(R, ro, pd[i].p), ro);
    i = j;
  }
  jw_puts(b, "}");
  rf__free(ds);
  rf__free(pd);
  return rc ? rc : b->err;
}

/* ---- the API ------------------------------------------------------------ */

static void render_free(render *R) {
  for (size_t i = 0; i < R->n_rules; i++) {
    rf__free(R->rules[i].transform.v);
    rf__free(R->rules[i].resolve.v);
  }
  rf__free(R->rules);
  R->rules = NULL;
  R->n_rules = R->cap_rules = 0;
}

/* Runs fn at time t, or, for RF_TIME_LATEST, at the latest visible time,
 * again at a newer one if compaction overtook the read. */
typedef int (*at_time_fn)(rf_hv *hv, rf_time t, void *arg);
static int at_time(rf_hv *hv, rf_time t, at_time_fn fn, void *arg) {
  if (t != RF_TIME_LATEST) return fn(hv, t, arg);
  for (int tries = 0;; tries++) {
    int rc = fn(hv, hv_visible_time(hv), arg);
    if (rc != RF_ECOMPACTED || tries >= 1000) return rc;
  }
}

typedef struct get_args {
  const char *schema, *object;
  int resolve;
  char **json;
} get_args;

static int get_at(rf_hv *hv, rf_time t, void *arg) {
  get_args *a = arg;
  uint64_t S, O;
  int have_s = hv_find(hv->cat, a->schema, strlen(a->schema), &S);
  if (!have_s) return rf__error(RF_ENOTFOUND, "schema '%s' does not exist", a->schema);
  int ex = hv_schema_exists(hv, S, t);
  if (ex < 0) return ex;
  if (!ex) return rf__error(RF_ENOTFOUND, "schema '%s' does not exist at time %" PRIu64,
                            a->schema, t);
  render R = {.hv = hv, .cat = hv->cat, .t = t};
  R.path[R.depth++] = S;
  int rc;
  if (!hv_find(hv->cat, a->object, strlen(a->object), &O)) {
    jw_puts(&R.out, "{\"id\":");
    jw_string(&R.out, a->object, strlen(a->object));
    jw_puts(&R.out, "}");
    rc = R.out.err;
  } else {
    rc = a->resolve ? render_view(&R, O, S) : render_hyperview(&R, O, S);
  }
  render_free(&R);
  if (rc) {
    rf__free(R.out.b.data);
    return rc;
  }
  *a->json = jw_text(&R.out);
  return 0;
}

int rf_hv_get(rf_hv *hv, const char *schema, const char *object, rf_time t, int resolve,
              char **json) {
  RF_RETURN_ERROR_IF(!hv || !schema || !object || !json, RF_EINVAL, "rf_hv_get: NULL argument");
  get_args a = {schema, object, resolve, json};
  return at_time(hv, t, get_at, &a);
}

void rf_hv_free(char *s) { rf__free(s); }

typedef struct list_args {
  const char *schema; /* NULL: list the schemas */
  rf_hv_name_fn fn;
  void *ctx;
} list_args;

static int list_at(rf_hv *hv, rf_time t, void *arg) {
  list_args *a = arg;
  if (a->schema) {
    uint64_t S;
    int ex = hv_find(hv->cat, a->schema, strlen(a->schema), &S) ? hv_schema_exists(hv, S, t) : 0;
    if (ex < 0) return ex;
    if (!ex) return rf__error(RF_ENOTFOUND, "schema '%s' does not exist", a->schema);
  }
  if (t == 0) return 0; /* time 0 is empty by construction (flow.c) */
  rows r = {.width = 1};
  int rc = rf_view_scan(a->schema ? hv->flow.objects : hv->flow.schemas, t, collect_keys, &r);
  sort_cat = hv->cat;
  if (!rc && r.n > 1) qsort(r.v, r.n, sizeof *r.v, cmp_sym);
  for (size_t i = 0; !rc && i < r.n; i++) rc = a->fn(a->ctx, hv_name(hv->cat, r.v[i], NULL));
  rf__free(r.v);
  return rc;
}

int rf_hv_objects(rf_hv *hv, const char *schema, rf_time t, rf_hv_name_fn fn, void *ctx) {
  RF_RETURN_ERROR_IF(!hv || !schema || !fn, RF_EINVAL, "rf_hv_objects: NULL argument");
  list_args a = {schema, fn, ctx};
  return at_time(hv, t, list_at, &a);
}

int rf_hv_schemas(rf_hv *hv, rf_time t, rf_hv_name_fn fn, void *ctx) {
  RF_RETURN_ERROR_IF(!hv || !fn, RF_EINVAL, "rf_hv_schemas: NULL argument");
  list_args a = {NULL, fn, ctx};
  return at_time(hv, t, list_at, &a);
}

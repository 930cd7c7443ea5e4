/*
 * hv.c: an rf_hv's life and its writer: taking deltas in (validation,
 * idempotence, interning), turning each into the rows of the dataflow's
 * inputs (docs/hyperviews.md), deciding which negations count, recognising
 * schema rules, and committing batches as times.
 */
#include <jansson.h>
#include <math.h>
#include <sched.h>
#include <string.h>

#include "common/alloc.h"
#include "common/atomic.h"
#include "common/error.h"
#include "hyperviews/internal.h"
#include "hyperviews/jsonw.h"

static int intern_cstr(rf_hv *hv, const char *s, uint64_t *sym) {
  return hv_intern(hv->cat, s, strlen(s), sym);
}

static int intern_words(rf_hv *hv) {
  hv_words *w = &hv->w;
  struct {
    const char *s;
    uint64_t *sym;
  } words[] = {{"negates", &w->negates},     {"schema", &w->schema},
               {"selection", &w->selection}, {"transform", &w->transform},
               {"resolve", &w->resolve},     {"target-context", &w->target_context},
               {"role", &w->role},           {"expand", &w->expand},
               {"property", &w->property},   {"policy", &w->policy},
               {"trusted", &w->trusted}};
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
    RF_FORWARD_IF_ERROR(intern_cstr(hv, words[i].s, words[i].sym));
  return 0;
}

int rf_hv_create(const rf_hv_options *opts, rf_hv **out) {
  RF_RETURN_ERROR_IF(!out, RF_EINVAL, "rf_hv_create: out is NULL");
  uint32_t workers = opts && opts->workers ? opts->workers : 1;
  RF_RETURN_ERROR_IF(workers > 64, RF_EINVAL, "rf_hv_create: workers must be 1..64, got %u",
                     workers);
  hv_json_init();
  rf_hv *hv = rf__calloc(1, sizeof *hv);
  if (!hv) return RF_ENOMEM;
  hv->workers = workers;
  hv->open = 1;
  hv->user_retain = RF_TIME_LATEST;
  int rc = hv_catalog_new(&hv->cat);
  if (!rc) rc = intern_words(hv);
  if (!rc) rc = hv_hub_new(hv, &hv->hub);
  if (!rc) rc = hv_flow_build(hv);
  if (rc) {
    const char *msg = rf_last_error();
    char saved[256];
    snprintf(saved, sizeof saved, "%s", msg);
    rf_hv_destroy(hv);
    return rf__error(rc, "%s", saved);
  }
  *out = hv;
  return 0;
}

void rf_hv_destroy(rf_hv *hv) {
  if (!hv) return;
  rf_graph_destroy(hv->flow.g);
  hv_hub_free(hv->hub);
  hv_catalog_free(hv->cat);
  rf__free(hv->pending);
  rf__free(hv);
}

/* ---- taking a delta in ------------------------------------------------ */

static int intern_json_str(rf_hv *hv, const json_t *s, uint64_t *sym) {
  return hv_intern(hv->cat, json_string_value(s), json_string_length(s), sym);
}

/* Fills p from one pointer of a canonical delta (already validated). */
static int read_pointer(rf_hv *hv, const json_t *jp, hv_ptr *p) {
  RF_FORWARD_IF_ERROR(intern_json_str(hv, json_object_get(jp, "role"), &p->role));
  const json_t *t = json_object_get(jp, "target");
  switch (json_typeof(t)) {
    case JSON_OBJECT: {
      p->kind = HV_REF;
      RF_FORWARD_IF_ERROR(intern_json_str(hv, json_object_get(t, "id"), &p->a));
      const json_t *c = json_object_get(t, "context");
      p->ctx = 0;
      if (c) RF_FORWARD_IF_ERROR(intern_json_str(hv, c, &p->ctx));
      return 0;
    }
    case JSON_STRING:
      p->kind = HV_STR;
      return intern_json_str(hv, t, &p->a);
    case JSON_INTEGER: {
      p->kind = HV_INT;
      int64_t v = json_integer_value(t);
      memcpy(&p->a, &v, sizeof v);
      return 0;
    }
    case JSON_REAL: {
      /* As the canonical form has it: an integral real below 2^53 is an
       * integer (put_number in store/delta.c), so 1.0 and 1 are one value. */
      double v = json_real_value(t);
      if (v == floor(v) && fabs(v) < 9007199254740992.0) {
        p->kind = HV_INT;
        int64_t i = (int64_t)v; /* -0.0 becomes 0 */
        memcpy(&p->a, &i, sizeof i);
        return 0;
      }
      p->kind = HV_REAL;
      memcpy(&p->a, &v, sizeof v);
      return 0;
    }
    case JSON_TRUE:
    case JSON_FALSE:
      p->kind = HV_BOOL;
      p->a = json_is_true(t);
      return 0;
    default:
      return rf__error(RF_EINVAL, "hyperviews: a pointer target of an unknown kind");
  }
}

/* A negation must point at a delta by id alone. */
static int check_negations(const json_t *ptrs) {
  size_t i;
  const json_t *jp;
  json_array_foreach(ptrs, i, jp) {
    if (strcmp(json_string_value(json_object_get(jp, "role")), "negates") != 0) continue;
    const json_t *t = json_object_get(jp, "target");
    RF_RETURN_ERROR_IF(!json_is_object(t), RF_EINVAL,
                       "field 'pointers[%zu].target': a negation of an unknown form: "
                       "'negates' must target a delta reference {\"id\": ...}",
                       i);
    RF_RETURN_ERROR_IF(json_object_get(t, "context"), RF_EINVAL,
                       "field 'pointers[%zu].target.context': a negation of an unknown "
                       "form: a negated delta is referenced without context",
                       i);
  }
  return 0;
}

static int insert1(rf_input *in, rf_value a) { return rf_input_insert(in, &a, 1); }
static int insert2(rf_input *in, rf_value a, rf_value b) {
  const rf_value r[2] = {a, b};
  return rf_input_insert(in, r, 2);
}
static int insert3(rf_input *in, rf_value a, rf_value b, rf_value c) {
  const rf_value r[3] = {a, b, c};
  return rf_input_insert(in, r, 3);
}

/* The n-th pointer of d with this role, or NULL. */
static const hv_ptr *ptr_with_role(const hv_delta *d, uint64_t role, uint32_t from) {
  for (uint32_t i = from; i < d->n_ptrs; i++)
    if (d->ptrs[i].role == role) return &d->ptrs[i];
  return NULL;
}

/* A schema rule (docs/hyperviews.md "Schemas are deltas"), if d is one. */
static int emit_rule(rf_hv *hv, const hv_delta *d) {
  const hv_words *w = &hv->w;
  const hv_ptr *head = &d->ptrs[0];
  if (head->role != w->schema || head->kind != HV_REF) return 0;
  rf_value row[5] = {d->id, 0, head->a, 0, 0};
  if (head->ctx == w->selection) {
    const hv_ptr *s = ptr_with_role(d, w->selection, 1);
    if (!s || s->kind != HV_STR || s->a != w->target_context) return 0;
    row[1] = HV_RULE_SELECTION;
  } else if (head->ctx == w->transform) {
    const hv_ptr *r = ptr_with_role(d, w->role, 1), *e = ptr_with_role(d, w->expand, 1);
    if (!r || r->kind != HV_STR || !e || e->kind != HV_REF) return 0;
    row[1] = HV_RULE_TRANSFORM;
    row[3] = r->a;
    row[4] = e->a;
  } else if (head->ctx == w->resolve) {
    const hv_ptr *p = ptr_with_role(d, w->property, 1), *pol = ptr_with_role(d, w->policy, 1);
    if (!p || p->kind != HV_STR || !pol || pol->kind != HV_STR) return 0;
    row[1] = HV_RULE_RESOLVE;
    row[3] = p->a;
  } else {
    return 0;
  }
  return rf_input_insert(hv->flow.in_rule, row, 5);
}

static int add_pending(rf_hv *hv, uint64_t target, uint64_t negator) {
  RF_FORWARD_IF_ERROR(rf__grow((void **)&hv->pending, &hv->cap_pending, hv->n_pending + 1,
                               sizeof *hv->pending));
  hv->pending[hv->n_pending++] = (hv_pending){target, negator};
  return 0;
}

/* Negations of d that arrived before it now count if they are later. A
 * linear scan: pending negations are rare (out-of-order arrival only). */
static int settle_pending(rf_hv *hv, const hv_delta *d) {
  for (size_t i = 0; i < hv->n_pending;) {
    if (hv->pending[i].target != d->id) {
      i++;
      continue;
    }
    const hv_delta *n = hv_delta_of(hv->cat, hv->pending[i].negator);
    if (n && hv_delta_cmp(hv->cat, n, d) > 0)
      RF_FORWARD_IF_ERROR(insert2(hv->flow.in_neg, n->id, d->id));
    hv->pending[i] = hv->pending[--hv->n_pending];
  }
  return 0;
}

/* The rows of a new delta (published in the catalog). */
static int emit_rows(rf_hv *hv, const hv_delta *d) {
  hv_flow *f = &hv->flow;
  RF_FORWARD_IF_ERROR(insert1(f->in_delta, d->id));
  for (uint32_t i = 0; i < d->n_ptrs; i++) {
    const hv_ptr *p = &d->ptrs[i];
    if (p->kind != HV_REF) continue;
    int seen_sel = 0, seen_ref = 0;
    for (uint32_t j = 0; j < i; j++) {
      const hv_ptr *q = &d->ptrs[j];
      if (q->kind != HV_REF || q->a != p->a) continue;
      seen_sel |= q->ctx == p->ctx;
      seen_ref |= q->role == p->role;
    }
    if (p->ctx && !seen_sel) RF_FORWARD_IF_ERROR(insert3(f->in_sel, d->id, p->a, p->ctx));
    if (!seen_ref) RF_FORWARD_IF_ERROR(insert3(f->in_ref, d->id, p->role, p->a));
    if (p->role == hv->w.negates && !seen_ref) {
      const hv_delta *t = hv_delta_of(hv->cat, p->a);
      if (!t)
        RF_FORWARD_IF_ERROR(add_pending(hv, p->a, d->id));
      else if (hv_delta_cmp(hv->cat, d, t) > 0)
        RF_FORWARD_IF_ERROR(insert2(f->in_neg, d->id, t->id));
    }
  }
  RF_FORWARD_IF_ERROR(settle_pending(hv, d));
  return emit_rule(hv, d);
}

int rf_hv_add_json(rf_hv *hv, const char *json, size_t len) {
  char err[512];
  rf__bytes canon = {0};
  json_t *root = NULL;
  int rc = rf__delta_canonicalize_tree(json, len, &canon, err, sizeof err, &root);
  if (rc == RF_EINVAL) return rf__error(RF_EINVAL, "%s", err);
  if (rc) return rc;
  rf__delta_addr addr = rf__delta_address(canon.data, canon.len);
  rf__free(canon.data);

  const json_t *ptrs = json_object_get(root, "pointers");
  const char *id = json_string_value(json_object_get(root, "id"));
  uint64_t id_sym;
  const hv_delta *known;
  rc = check_negations(ptrs);
  if (rc) goto out;
  if (hv_find(hv->cat, id, strlen(id), &id_sym) && (known = hv_delta_of(hv->cat, id_sym))) {
    if (known->addr.lo == addr.lo && known->addr.hi == addr.hi) {
      rc = RF_HV_DUPLICATE;
    } else {
      rc = rf__error(RF_EINVAL, "delta id '%s' is already stored with different content", id);
    }
    goto out;
  }
  hv_delta *d = hv_delta_alloc(hv->cat, (uint32_t)json_array_size(ptrs));
  rc = d ? 0 : RF_ENOMEM;
  if (!rc) rc = intern_cstr(hv, id, &d->id);
  if (!rc) rc = intern_json_str(hv, json_object_get(root, "author"), &d->author);
  if (!rc) rc = intern_json_str(hv, json_object_get(root, "system"), &d->system);
  if (rc) goto out;
  d->ts = json_integer_value(json_object_get(root, "timestamp"));
  d->addr = addr;
  for (uint32_t i = 0; i < d->n_ptrs && !rc; i++)
    rc = read_pointer(hv, json_array_get(ptrs, i), &d->ptrs[i]);
  if (!rc) rc = hv_delta_publish(hv->cat, d);
  if (!rc) rc = emit_rows(hv, d);
out:
  json_decref(root);
  return rc;
}

/* ---- batches and times -------------------------------------------------- */

static rf_view **views_of(rf_hv *hv, rf_view *v[4]) {
  v[0] = hv->flow.top;
  v[1] = hv->flow.objects;
  v[2] = hv->flow.schemas;
  v[3] = hv->flow.rules;
  return v;
}

/* Writer: lets the views compact up to the visible time (or the user's
 * retain point), so that reads at any visible time find every view. */
static int advance_retained(rf_hv *hv) {
  rf_time t = hv_visible_time(hv);
  rf_time user = rf__atomic_load_acquire_64(&hv->user_retain);
  if (user < t) t = user;
  if (t <= hv->retained) return 0;
  rf_view *v[4];
  views_of(hv, v);
  for (size_t i = 0; i < 4; i++) RF_FORWARD_IF_ERROR(rf_view_retain_from(v[i], t));
  hv->retained = t;
  return 0;
}

int rf_hv_commit(rf_hv *hv, rf_time *t) {
  hv_flow *f = &hv->flow;
  rf_time open = hv->open;
  hv_hub_on_commit(hv->hub, open);
  rf_input *ins[] = {f->in_delta, f->in_neg, f->in_sel, f->in_ref, f->in_rule};
  for (size_t i = 0; i < 5; i++) RF_FORWARD_IF_ERROR(rf_input_advance_to(ins[i], open + 1));
  /* Release: subscribers read the open time from any thread. */
  rf__atomic_store_release_64(&hv->open, open + 1);
  if (t) *t = open;
  return advance_retained(hv);
}

int rf_hv_sync(rf_hv *hv) {
  hv_flow *f = &hv->flow;
  rf_time last = hv->open - 1;
  if (last == 0) return 0;
  for (size_t i = 0; i < 5; i++) RF_FORWARD_IF_ERROR(rf_probe_wait(f->done[i], last));
  /* A view's frontier is published when its arrangement seals, which the
   * probes above may see a moment before: wait for the views too. */
  while (hv_visible_time(hv) < last) {
    if (hv->workers == 1) {
      int rc = rf_graph_step(f->g);
      if (rc < 0) return rc;
    } else {
      sched_yield();
    }
  }
  hv_hub_completed(hv->hub, last);
  return advance_retained(hv);
}

int rf_hv_retain_from(rf_hv *hv, rf_time t) {
  rf_view *v[4];
  views_of(hv, v);
  for (size_t i = 0; i < 4; i++) RF_FORWARD_IF_ERROR(rf_view_retain_from(v[i], t));
  rf__atomic_store_release_64(&hv->user_retain, t);
  return 0;
}

/*
 * test_hv_oracle.c: the HyperView oracle tests (a plain program, exit 0 if
 * every case passes). Each case is a random delta stream (hv_gen.c) fed in
 * batches to an rf_hv with 1 and 2 workers; after every batch every read
 * is compared with the from-scratch evaluator (hv_oracle.c), by structural
 * JSON equality:
 *   - every delta's acceptance (added, duplicate, rejected);
 *   - the schema list; each known schema's object list (RF_ENOTFOUND for a
 *     schema that does not exist);
 *   - rf_hv_get with resolve 0 and 1 for every known schema and object;
 *   - rf_hv_schema_deltas for the schema definitions of the stream (the
 *     rule deltas exactly, the negations by target; a cycle or an invalid
 *     definition rejected with nothing emitted; after adding them, the
 *     schema's live state is the definition);
 *   - the subscriptions taken before the first batch: the changes of each
 *     time, summed, equal the difference of the oracle's flattened content
 *     between that time and the one before;
 *   - at the end, reads at a few past (retained) times.
 *
 * Built without the engine (HV_WITH_ENGINE undefined, or --oracle-only),
 * it checks the oracle against itself instead: the same results from the
 * accepted deltas in reverse arrival order, each given twice; every View
 * has the HyperView's properties; every HyperView property is in strictly
 * increasing canonical order.
 *
 * Options and environment (README.md):
 *   --cases N / RF_HV_CASES       streams (default 300)
 *   --first I / RF_HV_FIRST       first case index (default 0)
 *   --seed S / RF_HV_SEED         run only that stream (shrinks it on failure)
 *   --replay FILE                 run a stream dumped by a failure
 *   --workers 1,2 / RF_HV_WORKERS worker counts (default 1,2)
 *   --oracle-only                 the self-checks, no engine
 *   RF_HV_ISOLATE=0               run cases in this process (default: a child
 *                                 process each, 60 s limit: RF_HV_TIMEOUT)
 *   RF_HV_SHRINK=0/1              shrink a failing stream (default: when replaying)
 *   RF_HV_VERBOSE=1               print every case
 *   RF_HV_OUT=DIR                 where failing streams are written (default .)
 *   RF_HV_MAX_FAILURES=n          stop after n failing cases (default 3)
 *   RF_HV_AVOID=consensus,raw-cycle  streams without these (other streams
 *                                 for the same seeds)
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hv_gen.h"
#include "hv_oracle.h"

#ifdef HV_WITH_ENGINE
#include "rhizoflow.h"
#include "rhizoflow.h"
#endif

/* ---- configuration ---------------------------------------------------- */

typedef struct config {
  uint64_t cases, first, max_failures, timeout_s;
  bool replaying;
  uint64_t seed;
  const char *file;
  uint32_t workers[8];
  size_t n_workers;
  bool oracle_only, isolate, shrink, verbose;
  const char *out_dir;
  hvg_options gen; /* RF_HV_AVOID */
} config;

static bool env_u64(const char *name, uint64_t *out) {
  const char *v = getenv(name);
  if (!v || !*v) return false;
  char *end;
  errno = 0;
  unsigned long long x = strtoull(v, &end, 0);
  if (errno || *end) return false;
  *out = x;
  return true;
}

static size_t parse_workers(const char *list, uint32_t *out, size_t max) {
  size_t n = 0;
  while (*list && n < max) {
    char *end;
    unsigned long w = strtoul(list, &end, 10);
    if (end == list) break;
    if (w >= 1 && w <= 64) out[n++] = (uint32_t)w;
    list = *end == ',' ? end + 1 : end;
  }
  return n;
}

/* Case k's seed. */
static uint64_t case_seed(uint64_t k) {
  uint64_t st = 0x68797065727669ull + k * 0x9e3779b97f4a7c15ull;
  return hvg_rand(&st);
}

/* ---- failure reports ------------------------------------------------- */

typedef struct run {
  const hvg_stream *s;
  uint32_t workers; /* 0: oracle self-check */
  size_t batch;     /* current batch */
  bool failed;
  FILE *log; /* where failures are written (stderr, or a buffer while shrinking) */
} run;

static void fail(run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(run *r, const char *fmt, ...) {
  if (r->failed) return; /* the first difference of a case is the one reported */
  r->failed = true;
  if (!r->log) return;
  fprintf(r->log, "FAIL seed 0x%016" PRIx64 " workers %u batch %zu: ", r->s->seed, r->workers,
          r->batch);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(r->log, fmt, ap);
  va_end(ap);
  fprintf(r->log, "\n");
}

/* Is v the JSON string s? */
static bool str_is(const json_t *v, const char *s) { return json_is_string(v) && strcmp(json_string_value(v), s) == 0; }

/* json_equal, with two NULLs equal. */
static bool jeq(const json_t *a, const json_t *b) { return (!a && !b) || json_equal(a, b); }

static char *show(const json_t *j) {
  if (!j) return strdup("(none)");
  return json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

static void fail_json(run *r, const char *what, const json_t *expected, const json_t *got) {
  char *e = show(expected), *g = show(got);
  fail(r, "%s differs\n  oracle: %s\n  engine: %s", what, e, g);
  free(e);
  free(g);
}

/* ---- names to read ---------------------------------------------------- */

static json_t *union_names(const hvg_stream *s, json_t *more /* consumed */) {
  json_t *set = json_object();
  for (size_t i = 0; i < s->n_names; i++) json_object_set_new(set, s->names[i], json_true());
  size_t i;
  json_t *v;
  json_array_foreach(more, i, v) json_object_set_new(set, json_string_value(v), json_true());
  json_decref(more);
  json_t *out = json_array();
  const char *k;
  json_object_foreach(set, k, v) json_array_append_new(out, json_string(k));
  json_decref(set);
  return out;
}

static json_t *read_schemas(hvo *o, const hvg_stream *s) { return union_names(s, hvo_known_schemas(o)); }
static json_t *read_objects(hvo *o, const hvg_stream *s) { return union_names(s, hvo_known_objects(o)); }

/* The tuple key of a change-stream record. */
static char *tuple_key(const char *object, const char *schema, const char *via, const char *prop,
                       const char *delta) {
  size_t n = strlen(object) + strlen(schema) + strlen(via) + strlen(prop) + strlen(delta) + 5;
  char *k = malloc(n);
  if (!k) abort();
  snprintf(k, n, "%s\x1f%s\x1f%s\x1f%s\x1f%s", object, schema, via, prop, delta);
  return k;
}

/* content (sorted tuples) as an object key -> 1 */
__attribute__((unused)) static json_t *content_set(const json_t *content) {
  json_t *set = json_object();
  size_t i;
  json_t *t;
  json_array_foreach(content, i, t) {
    char *k = tuple_key(json_string_value(json_array_get(t, 0)), json_string_value(json_array_get(t, 1)),
                        json_string_value(json_array_get(t, 2)), json_string_value(json_array_get(t, 3)),
                        json_string_value(json_array_get(t, 4)));
    json_object_set_new(set, k, json_integer(1));
    free(k);
  }
  return set;
}

/* The change from set a to set b: key -> +1 / -1. */
__attribute__((unused)) static json_t *set_diff(const json_t *a, const json_t *b) {
  json_t *d = json_object();
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)b, k, v) {
    if (!json_object_get(a, k)) json_object_set_new(d, k, json_integer(1));
  }
  json_object_foreach((json_t *)a, k, v) {
    if (!json_object_get(b, k)) json_object_set_new(d, k, json_integer(-1));
  }
  return d;
}

/* Readable form of a change set: sorted "+1 object/schema/via/property/delta". */
__attribute__((unused)) static char *show_changes(const json_t *changes) {
  json_t *lines = json_array();
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)changes, k, v) {
    char *line = malloc(strlen(k) + 32);
    if (!line) abort();
    sprintf(line, "%+" JSON_INTEGER_FORMAT " %s", json_integer_value(v), k);
    for (char *p = line; *p; p++)
      if (*p == '\x1f') *p = '|';
    json_array_append_new(lines, json_string(line));
    free(line);
  }
  char *out = json_dumps(lines, JSON_COMPACT);
  json_decref(lines);
  return out;
}

/* ---- the oracle's side of a schema definition ------------------------- */

/* Checks the deltas an engine emitted for a schema definition against what
 * the oracle expects (exp from hvo_schema_deltas). */
__attribute__((unused)) static void check_emitted(run *r, const char *def, int64_t ts, const json_t *exp, const json_t *emitted) {
  const json_t *rules = json_object_get(exp, "rules");
  json_t *got_rules = json_array();
  size_t i;
  json_t *d;
  json_t *negated = json_object();
  json_array_foreach(emitted, i, d) {
    const json_t *ptrs = json_object_get(d, "pointers");
    const char *role0 = json_string_value(json_object_get(json_array_get(ptrs, 0), "role"));
    if (role0 && strcmp(role0, "negates") == 0) {
      const json_t *target = json_object_get(json_array_get(ptrs, 0), "target");
      const char *tid = json_string_value(json_object_get(target, "id"));
      bool shape = json_array_size(ptrs) == 1 && json_object_size(target) == 1 && tid &&
                   json_integer_value(json_object_get(d, "timestamp")) == ts &&
                   str_is(json_object_get(d, "author"), "rhizoflow") &&
                   str_is(json_object_get(d, "system"), "rhizoflow-schema");
      bool allowed = false;
      size_t j;
      json_t *id;
      json_array_foreach(json_object_get(exp, "must_negate"), j, id) allowed |= strcmp(json_string_value(id), tid ? tid : "") == 0;
      json_array_foreach(json_object_get(exp, "may_negate"), j, id) allowed |= strcmp(json_string_value(id), tid ? tid : "") == 0;
      if (!shape || !allowed) {
        char *t = show(d);
        fail(r, "rf_hv_schema_deltas(%s, ts %" PRId64 "): unexpected negation %s (%s)", def, ts, t,
             !shape ? "not of the form {author rhizoflow, system rhizoflow-schema, timestamp ts, "
                      "pointers [{negates, {id}}]}"
                    : "its target is not a live rule that the definition replaces or drops");
        free(t);
      }
      if (tid) json_object_set_new(negated, tid, json_true());
    } else {
      json_array_append(got_rules, d);
    }
  }
  /* the rule deltas: exactly the expected set */
  bool same = json_array_size(got_rules) == json_array_size(rules);
  json_array_foreach(rules, i, d) {
    bool found = false;
    size_t j;
    json_t *e;
    json_array_foreach(got_rules, j, e) found |= json_equal(d, e);
    same &= found;
  }
  if (!same) {
    char what[300];
    snprintf(what, sizeof what, "rf_hv_schema_deltas(%s, ts %" PRId64 "): the rule deltas", def, ts);
    fail_json(r, what, rules, got_rules);
  }
  json_array_foreach(json_object_get(exp, "must_negate"), i, d) {
    if (!json_object_get(negated, json_string_value(d)))
      fail(r, "rf_hv_schema_deltas(%s, ts %" PRId64 "): live rule '%s' is replaced or dropped but not negated",
           def, ts, json_string_value(d));
  }
  json_decref(negated);
  json_decref(got_rules);
}

/* After the deltas of a definition are in: every schema it defines has
 * exactly the defined state. */
static void check_state_after_def(run *r, hvo *o, const char *def) {
  json_t *doc = json_loads(def, 0, NULL);
  json_t *defs = json_is_array(doc) ? json_incref(doc) : json_pack("[O]", doc);
  size_t i;
  json_t *d;
  json_array_foreach(defs, i, d) {
    json_t *want = hvo_normalize_def(d);
    json_t *have = hvo_schema_state(o, json_string_value(json_object_get(want, "name")));
    if (!json_equal(want, have)) {
      char what[300];
      snprintf(what, sizeof what, "the live state of schema %s after adding its definition's deltas "
                                  "(oracle: the definition; engine: the state the deltas give)",
               json_string_value(json_object_get(want, "name")));
      fail_json(r, what, want, have);
    }
    json_decref(want);
    json_decref(have);
  }
  json_decref(defs);
  json_decref(doc);
}

/* ---- the oracle self-check -------------------------------------------- */

static bool canon_before(const json_t *a, const json_t *b) {
  json_int_t ta = json_integer_value(json_object_get(a, "timestamp"));
  json_int_t tb = json_integer_value(json_object_get(b, "timestamp"));
  if (ta != tb) return ta < tb;
  const json_t *ia = json_object_get(a, "id"), *ib = json_object_get(b, "id");
  return hvo_bytes_cmp(json_string_value(ia), json_string_length(ia), json_string_value(ib),
                       json_string_length(ib)) < 0;
}

/* Every property array of a HyperView (nested ones included) is in
 * strictly increasing canonical order, and every View has its
 * HyperView's members. */
static bool hv_ordered(const json_t *hv) {
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)hv, k, v) {
    if (!json_is_array(v)) continue;
    for (size_t i = 0; i < json_array_size(v); i++) {
      const json_t *d = json_array_get(v, i);
      if (i > 0 && !canon_before(json_array_get(v, i - 1), d)) return false;
      const json_t *ptrs = json_object_get(d, "pointers");
      for (size_t p = 0; p < json_array_size(ptrs); p++) {
        const json_t *view = json_object_get(json_object_get(json_array_get(ptrs, p), "target"), "view");
        if (view && !hv_ordered(view)) return false;
      }
    }
  }
  return true;
}

static void compare_oracles(run *r, hvo *a, hvo *b, const hvg_stream *s) {
  json_t *sa = hvo_schemas(a), *sb = hvo_schemas(b);
  if (!json_equal(sa, sb)) fail_json(r, "schemas (arrival order vs reversed)", sa, sb);
  json_decref(sa);
  json_decref(sb);
  json_t *schemas = read_schemas(a, s), *objects = read_objects(a, s);
  size_t i, j;
  json_t *sv, *ov;
  json_array_foreach(schemas, i, sv) {
    const char *S = json_string_value(sv);
    json_t *ca = hvo_content(a, S), *cb = hvo_content(b, S);
    if (!json_equal(ca, cb)) fail_json(r, "content (arrival order vs reversed)", ca, cb);
    json_decref(ca);
    json_decref(cb);
    json_array_foreach(objects, j, ov) {
      const char *O = json_string_value(ov);
      for (int res = 0; res < 2; res++) {
        json_t *x = hvo_get(a, S, O, res), *y = hvo_get(b, S, O, res);
        if (!jeq(x, y)) {
          char what[200];
          snprintf(what, sizeof what, "%s %s/%s (arrival order vs reversed)", res ? "View" : "HyperView", S, O);
          fail_json(r, what, x, y);
        }
        json_decref(y);
        if (res == 0 && x && !hv_ordered(x)) fail(r, "HyperView %s/%s out of canonical order", S, O);
        if (res == 0 && x) {
          json_t *v = hvo_get(a, S, O, 1);
          const char *k;
          json_t *m;
          json_object_foreach(x, k, m) if (!json_object_get(v, k)) fail(r, "View %s/%s lacks %s", S, O, k);
          json_object_foreach(v, k, m) if (!json_object_get(x, k)) fail(r, "View %s/%s has extra %s", S, O, k);
          json_decref(v);
        }
        json_decref(x);
      }
    }
  }
  json_decref(schemas);
  json_decref(objects);
}

static void run_self(run *r) {
  const hvg_stream *s = r->s;
  hvo *a = hvo_create();
  size_t at = 0;
  for (r->batch = 0; r->batch < s->n_batches && !r->failed; r->batch++) {
    for (; at < s->batch_end[r->batch]; at++) {
      const hvg_item *it = &s->items[at];
      if (it->kind == HVG_DELTA) {
        hvo_add(a, it->text, strlen(it->text), NULL, 0);
        continue;
      }
      json_t *exp;
      if (hvo_schema_deltas(a, it->text, strlen(it->text), it->ts, &exp, NULL, 0) != 0) continue;
      size_t i;
      json_t *d;
      json_array_foreach(json_object_get(exp, "deltas"), i, d) {
        char *t = json_dumps(d, JSON_COMPACT);
        if (hvo_add(a, t, strlen(t), NULL, 0) != HVO_ADDED) fail(r, "oracle: its own schema delta %s is not added", t);
        free(t);
      }
      check_state_after_def(r, a, it->text);
      json_decref(exp);
    }
    /* the content must be computable at every batch */
    for (size_t k = 0; k < s->n_subs; k++) json_decref(hvo_content(a, s->subs[k]));
  }
  /* The same accepted deltas in reverse order, each twice. */
  hvo *b = hvo_create();
  for (size_t i = hvo_n_deltas(a); i-- > 0;) {
    const char *t = hvo_delta_text(a, i);
    if (hvo_add(b, t, strlen(t), NULL, 0) != HVO_ADDED) fail(r, "oracle: reordered delta not added: %s", t);
    if (hvo_add(b, t, strlen(t), NULL, 0) != HVO_DUPLICATE) fail(r, "oracle: delta not a duplicate: %s", t);
  }
  compare_oracles(r, a, b, s);
  hvo_destroy(a);
  hvo_destroy(b);
}

/* ---- against the engine ------------------------------------------------ */

#ifdef HV_WITH_ENGINE

static int collect_name(void *ctx, const char *name) {
  json_array_append_new((json_t *)ctx, json_string(name));
  return 0;
}

static int collect_emitted(void *ctx, const char *json, size_t len) {
  json_error_t je;
  json_t *d = json_loadb(json, len, 0, &je);
  json_array_append_new((json_t *)ctx, d ? d : json_stringn(json, len));
  return 0;
}

static const char *err_name(int rc) { return rc == 0 ? "0" : rc == RF_HV_DUPLICATE ? "RF_HV_DUPLICATE" : rf_err_name(rc); }

typedef struct sub_state {
  rf_hv_sub *sub;
  const char *schema;
  json_t *prev;      /* the oracle's content set at the last time */
  json_t *expected;  /* time (decimal) -> change set */
  json_t *got;       /* time -> summed change set */
  rf_time last_time; /* of the last record read */
  bool broken;
} sub_state;

static void drain(run *r, sub_state *ss, int timeout_ms, rf_time max_time) {
  while (!ss->broken) {
    rf_hv_change c;
    int rc = rf_hv_sub_next(ss->sub, &c, timeout_ms);
    if (rc == 0) return;
    if (rc != 1) {
      fail(r, "rf_hv_sub_next(%s): %s (lost %" PRIu64 ") %s", ss->schema, err_name(rc), c.lost,
           rc < 0 ? rf_last_error() : "");
      ss->broken = true;
      return;
    }
    if (c.time < ss->last_time || c.time == 0 || c.time > max_time) {
      fail(r, "subscription %s: a change at time %" PRIu64 " after one at %" PRIu64
              " (committed up to %" PRIu64 ")",
           ss->schema, c.time, ss->last_time, max_time);
      ss->broken = true;
      return;
    }
    ss->last_time = c.time;
    char tk[32];
    snprintf(tk, sizeof tk, "%" PRIu64, c.time);
    json_t *set = json_object_get(ss->got, tk);
    if (!set) {
      set = json_object();
      json_object_set_new(ss->got, tk, set);
    }
    char *k = tuple_key(c.object, c.schema, c.via, c.property, c.delta);
    json_int_t sum = json_integer_value(json_object_get(set, k)) + c.diff;
    if (sum)
      json_object_set_new(set, k, json_integer(sum));
    else
      json_object_del(set, k);
    free(k);
  }
}

/* The engine's reads at time t against the oracle o (which holds exactly
 * the deltas of times <= t). */
static void compare_reads(run *r, rf_hv *hv, hvo *o, rf_time t) {
  char tn[40]; /* the time, as the messages name it */
  if (t == RF_TIME_LATEST)
    snprintf(tn, sizeof tn, "RF_TIME_LATEST");
  else
    snprintf(tn, sizeof tn, "t %" PRIu64, t);
  json_t *es = json_array();
  int rc = rf_hv_schemas(hv, t, collect_name, es);
  json_t *os = hvo_schemas(o);
  if (rc != 0)
    fail(r, "rf_hv_schemas(%s): %s %s", tn, err_name(rc), rf_last_error());
  else if (!json_equal(os, es))
    fail_json(r, "the schema list", os, es);
  json_decref(es);
  json_decref(os);
  json_t *schemas = read_schemas(o, r->s), *objects = read_objects(o, r->s);
  size_t i, j;
  json_t *sv, *ov;
  json_array_foreach(schemas, i, sv) {
    if (r->failed) break;
    const char *S = json_string_value(sv);
    bool exists = hvo_schema_exists(o, S);
    json_t *eo = json_array();
    rc = rf_hv_objects(hv, S, t, collect_name, eo);
    if (!exists && rc != RF_ENOTFOUND) {
      fail(r, "rf_hv_objects(%s, %s): %s, but the schema does not exist (RF_ENOTFOUND)", S, tn,
           err_name(rc));
    } else if (exists) {
      json_t *oo = hvo_objects(o, S);
      char what[200];
      snprintf(what, sizeof what, "rf_hv_objects(%s, %s)", S, tn);
      if (rc != 0)
        fail(r, "%s: %s %s", what, err_name(rc), rf_last_error());
      else if (!json_equal(oo, eo))
        fail_json(r, what, oo, eo);
      json_decref(oo);
    }
    json_decref(eo);
    json_array_foreach(objects, j, ov) {
      const char *O = json_string_value(ov);
      for (int res = 0; res < 2 && !r->failed; res++) {
        char *text = NULL;
        rc = rf_hv_get(hv, S, O, t, res, &text);
        char what[300];
        snprintf(what, sizeof what, "rf_hv_get(%s, %s, %s, resolve %d)", S, O, tn, res);
        if (!exists) {
          if (rc != RF_ENOTFOUND)
            fail(r, "%s: %s (%s), but the schema does not exist (RF_ENOTFOUND)", what, err_name(rc),
                 text ? text : "");
        } else if (rc != 0) {
          fail(r, "%s: %s %s", what, err_name(rc), rf_last_error());
        } else {
          json_error_t je;
          json_t *got = json_loads(text, 0, &je);
          json_t *want = hvo_get(o, S, O, res);
          if (!got)
            fail(r, "%s: not JSON (%s): %s", what, je.text, text);
          else if (!json_equal(want, got))
            fail_json(r, what, want, got);
          json_decref(got);
          json_decref(want);
        }
        if (text) rf_hv_free(text);
      }
    }
  }
  json_decref(schemas);
  json_decref(objects);
}

typedef struct added {
  char **texts; /* every delta given to both, in order */
  size_t *batch;
  size_t n, cap;
} added;

static void note_added(added *a, const char *text, size_t batch) {
  if (a->n == a->cap) {
    a->cap = a->cap ? 2 * a->cap : 128;
    a->texts = realloc(a->texts, a->cap * sizeof *a->texts);
    a->batch = realloc(a->batch, a->cap * sizeof *a->batch);
    if (!a->texts || !a->batch) abort();
  }
  a->texts[a->n] = strdup(text);
  a->batch[a->n++] = batch;
}

static void add_both(run *r, rf_hv *hv, hvo *o, added *ad, const char *text) {
  size_t len = strlen(text);
  char oerr[400] = "";
  int ro = hvo_add(o, text, len, oerr, sizeof oerr);
  int re = rf_hv_add_json(hv, text, len);
  int want = ro == HVO_ADDED ? 0 : ro == HVO_DUPLICATE ? RF_HV_DUPLICATE : RF_EINVAL;
  if (re != want)
    fail(r, "rf_hv_add_json(%s): %s (%s), the oracle says %s%s%s", text, err_name(re),
         re < 0 ? rf_last_error() : "", err_name(want), *oerr ? ": " : "", oerr);
  note_added(ad, text, r->batch);
}

static void run_engine(run *r) {
  const hvg_stream *s = r->s;
  rf_hv_options opt = {r->workers};
  rf_hv *hv = NULL;
  int rc = rf_hv_create(&opt, &hv);
  if (rc != 0) {
    fail(r, "rf_hv_create(%u workers): %s %s", r->workers, err_name(rc), rf_last_error());
    return;
  }
  rc = rf_hv_retain_from(hv, 1);
  if (rc != 0) fail(r, "rf_hv_retain_from(1): %s %s", err_name(rc), rf_last_error());
  hvo *o = hvo_create();
  added ad = {0};
  sub_state subs[2] = {{0}};
  for (size_t k = 0; k < s->n_subs; k++) {
    subs[k].schema = s->subs[k];
    subs[k].prev = json_object();
    subs[k].expected = json_object();
    subs[k].got = json_object();
    rc = rf_hv_subscribe(hv, s->subs[k], 1u << 20, &subs[k].sub);
    if (rc != 0) {
      fail(r, "rf_hv_subscribe(%s) before the first batch: %s %s", s->subs[k], err_name(rc), rf_last_error());
      subs[k].broken = true;
      subs[k].sub = NULL;
    }
  }
  size_t at = 0;
  rf_time t = 0;
  for (r->batch = 0; r->batch < s->n_batches && !r->failed; r->batch++) {
    for (; at < s->batch_end[r->batch] && !r->failed; at++) {
      const hvg_item *it = &s->items[at];
      if (it->kind == HVG_DELTA) {
        add_both(r, hv, o, &ad, it->text);
        continue;
      }
      /* a schema definition: what each side makes of it */
      json_t *emitted = json_array();
      int re = rf_hv_schema_deltas(hv, it->text, strlen(it->text), it->ts, collect_emitted, emitted);
      json_t *exp = NULL;
      char oerr[600] = "";
      int ro = hvo_schema_deltas(o, it->text, strlen(it->text), it->ts, &exp, oerr, sizeof oerr);
      if (ro != 0) {
        if (re != RF_EINVAL || json_array_size(emitted))
          fail(r, "rf_hv_schema_deltas(%s): %s with %zu deltas emitted; the oracle rejects it (%s)", it->text,
               err_name(re), json_array_size(emitted), oerr);
      } else if (re != 0) {
        fail(r, "rf_hv_schema_deltas(%s): %s %s; the oracle accepts it", it->text, err_name(re), rf_last_error());
      } else {
        check_emitted(r, it->text, it->ts, exp, emitted);
        size_t i;
        json_t *d;
        json_array_foreach(emitted, i, d) {
          char *text = json_dumps(d, JSON_COMPACT | JSON_ENCODE_ANY);
          add_both(r, hv, o, &ad, text);
          free(text);
        }
        check_state_after_def(r, o, it->text);
      }
      json_decref(exp);
      json_decref(emitted);
    }
    if (r->failed) break;
    rf_time ct = 0;
    rc = rf_hv_commit(hv, &ct);
    if (rc != 0 || ct != t + 1) {
      fail(r, "rf_hv_commit: %s, time %" PRIu64 " (expected %" PRIu64 ")", err_name(rc), ct, t + 1);
      break;
    }
    t = ct;
    rc = rf_hv_sync(hv);
    if (rc != 0) {
      fail(r, "rf_hv_sync: %s %s", err_name(rc), rf_last_error());
      break;
    }
    if (rf_hv_time(hv) != t) fail(r, "rf_hv_time: %" PRIu64 " after the sync of time %" PRIu64, rf_hv_time(hv), t);
    compare_reads(r, hv, o, RF_TIME_LATEST);
    for (size_t k = 0; k < s->n_subs; k++) {
      json_t *c = hvo_content(o, s->subs[k]), *now = content_set(c);
      json_t *d = set_diff(subs[k].prev, now);
      char tk[32];
      snprintf(tk, sizeof tk, "%" PRIu64, t);
      if (json_object_size(d)) json_object_set(subs[k].expected, tk, d);
      json_decref(d);
      json_decref(c);
      json_decref(subs[k].prev);
      subs[k].prev = now;
      if (subs[k].sub) drain(r, &subs[k], 0, t);
    }
  }
  /* The change streams, time by time. */
  for (size_t k = 0; k < s->n_subs && !r->failed; k++) {
    sub_state *ss = &subs[k];
    if (!ss->sub) continue;
    drain(r, ss, 0, t);
    /* wait (once) if a time with expected changes has not shown up yet */
    const char *tk;
    json_t *v;
    bool waiting = false;
    json_object_foreach(ss->expected, tk, v) waiting |= strtoull(tk, NULL, 10) > ss->last_time;
    if (waiting) drain(r, ss, 2000, t);
    for (rf_time u = 1; u <= t && !r->failed && !ss->broken; u++) {
      char key[32];
      snprintf(key, sizeof key, "%" PRIu64, u);
      json_t *want = json_object_get(ss->expected, key), *got = json_object_get(ss->got, key);
      json_t *empty = json_object();
      if (!json_equal(want ? want : empty, got ? got : empty)) {
        char *w = show_changes(want ? want : empty), *g = show_changes(got ? got : empty);
        r->batch = (size_t)u - 1;
        fail(r, "subscription %s: the changes of time %" PRIu64
                " (object|schema|via|property|delta)\n  oracle: %s\n  engine: %s",
             ss->schema, u, w, g);
        free(w);
        free(g);
      }
      json_decref(empty);
    }
  }
  /* Reads at past times, against an oracle rebuilt from the deltas of the
   * batches up to each. */
  if (!r->failed && t > 1) {
    uint64_t st = s->seed;
    for (int k = 0; k < 2 && !r->failed; k++) {
      rf_time past = 1 + hvg_rand(&st) % (t - 1);
      hvo *p = hvo_create();
      for (size_t i = 0; i < ad.n && ad.batch[i] < past; i++) hvo_add(p, ad.texts[i], strlen(ad.texts[i]), NULL, 0);
      r->batch = (size_t)past - 1;
      compare_reads(r, hv, p, past);
      hvo_destroy(p);
    }
  }
  for (size_t k = 0; k < s->n_subs; k++) {
    if (subs[k].sub) rf_hv_unsubscribe(subs[k].sub);
    json_decref(subs[k].prev);
    json_decref(subs[k].expected);
    json_decref(subs[k].got);
  }
  for (size_t i = 0; i < ad.n; i++) free(ad.texts[i]);
  free(ad.texts);
  free(ad.batch);
  hvo_destroy(o);
  rf_hv_destroy(hv);
}

/* Checks that a schema cycle is rejected by rf_hv_schema_deltas with
 * nothing emitted, once per run. */
static int check_cycle_rejected(void) {
  rf_hv *hv = NULL;
  rf_hv_options opt = {1};
  if (rf_hv_create(&opt, &hv) != 0) return 1;
  static const char *const defs[] = {
      "{\"name\":\"alpha\",\"transform\":{\"x\":\"alpha\"}}",
      "[{\"name\":\"alpha\",\"transform\":{\"x\":\"beta\"}},{\"name\":\"beta\",\"transform\":{\"y\":\"alpha\"}}]",
  };
  int bad = 0;
  for (size_t i = 0; i < 2; i++) {
    json_t *emitted = json_array();
    int rc = rf_hv_schema_deltas(hv, defs[i], strlen(defs[i]), 5, collect_emitted, emitted);
    if (rc != RF_EINVAL || json_array_size(emitted)) {
      fprintf(stderr, "FAIL: rf_hv_schema_deltas(%s): %s with %zu deltas; a cycle must be RF_EINVAL\n", defs[i],
              err_name(rc), json_array_size(emitted));
      bad = 1;
    } else if (!strstr(rf_last_error(), "alpha")) {
      fprintf(stderr, "FAIL: the cycle error does not name the cycle: %s\n", rf_last_error());
      bad = 1;
    }
    json_decref(emitted);
  }
  /* b -> c stored, then c -> b closes a cycle through the stored rules */
  json_t *emitted = json_array();
  const char *b = "{\"name\":\"b\",\"transform\":{\"y\":\"c\"}}", *c = "{\"name\":\"c\",\"transform\":{\"z\":\"b\"}}";
  int rc = rf_hv_schema_deltas(hv, b, strlen(b), 5, collect_emitted, emitted);
  for (size_t i = 0; rc == 0 && i < json_array_size(emitted); i++) {
    char *t = json_dumps(json_array_get(emitted, i), JSON_COMPACT);
    rf_hv_add_json(hv, t, strlen(t));
    free(t);
  }
  rf_hv_commit(hv, NULL);
  rf_hv_sync(hv);
  json_array_clear(emitted);
  rc = rf_hv_schema_deltas(hv, c, strlen(c), 6, collect_emitted, emitted);
  if (rc != RF_EINVAL || json_array_size(emitted)) {
    fprintf(stderr, "FAIL: rf_hv_schema_deltas(%s) after %s: %s with %zu deltas; a cycle must be RF_EINVAL\n", c,
            b, err_name(rc), json_array_size(emitted));
    bad = 1;
  }
  json_decref(emitted);
  rf_hv_destroy(hv);
  return bad;
}

#endif /* HV_WITH_ENGINE */

/* ---- running cases ----------------------------------------------------- */

static bool run_stream(const config *c, const hvg_stream *s, uint32_t workers, FILE *log) {
  run r = {s, workers, 0, false, log};
#ifdef HV_WITH_ENGINE
  if (workers > 0) {
    run_engine(&r);
    return !r.failed;
  }
#endif
  (void)c;
  run_self(&r);
  return !r.failed;
}

/* Runs one stream with one worker count, in a child process if isolating:
 * true if it passed. */
static bool run_isolated(const config *c, const hvg_stream *s, uint32_t workers, FILE *log) {
  if (!c->isolate) return run_stream(c, s, workers, log);
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    exit(2);
  }
  if (pid == 0) {
    alarm((unsigned)c->timeout_s);
    bool ok = run_stream(c, s, workers, log);
    fflush(NULL);
    _exit(ok ? 0 : 1);
  }
  int st;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(st)) return WEXITSTATUS(st) == 0;
  if (log)
    fprintf(log, "FAIL seed 0x%016" PRIx64 " workers %u: the run ended by signal %d (%s)\n", s->seed, workers,
            WTERMSIG(st), WTERMSIG(st) == SIGALRM ? "timed out" : strsignal(WTERMSIG(st)));
  return false;
}

static bool fails(const config *c, const hvg_stream *s, uint32_t workers) {
  return !run_isolated(c, s, workers, NULL);
}

/* Removes item k (and keeps batches). */
static void drop_item(hvg_stream *s, size_t k) {
  free(s->items[k].text);
  memmove(s->items + k, s->items + k + 1, (s->n_items - k - 1) * sizeof *s->items);
  s->n_items--;
  for (size_t b = 0; b < s->n_batches; b++)
    if (s->batch_end[b] > k) s->batch_end[b]--;
}

static void copy_stream(hvg_stream *dst, const hvg_stream *src) {
  hvg_init(dst);
  dst->seed = src->seed;
  size_t at = 0;
  for (size_t b = 0; b < src->n_batches; b++) {
    for (; at < src->batch_end[b]; at++) hvg_push(dst, src->items[at].kind, src->items[at].text, src->items[at].ts);
    hvg_cut(dst);
  }
  for (size_t i = 0; i < src->n_names; i++) hvg_add_name(dst, src->names[i]);
  for (size_t i = 0; i < src->n_subs; i++) dst->subs[dst->n_subs++] = strdup(src->subs[i]);
  memcpy(dst->features, src->features, sizeof dst->features);
}

/* Shrinks a failing stream: drops items (chunks, then one by one) and
 * empty batches while it still fails. */
static void shrink(const config *c, hvg_stream *s, uint32_t workers) {
  fprintf(stderr, "shrinking (%zu items, %zu batches)...\n", s->n_items, s->n_batches);
  for (size_t chunk = s->n_items / 2; chunk >= 1; chunk /= 2) {
    for (size_t k = 0; k + chunk <= s->n_items;) {
      hvg_stream t;
      copy_stream(&t, s);
      for (size_t i = 0; i < chunk; i++) drop_item(&t, k);
      if (fails(c, &t, workers)) {
        hvg_free(s);
        *s = t;
      } else {
        hvg_free(&t);
        k += chunk;
      }
    }
  }
  for (size_t b = 0; b < s->n_batches;) { /* merge batches: b into b+1 */
    if (b + 1 == s->n_batches) break;
    hvg_stream t;
    copy_stream(&t, s);
    memmove(t.batch_end + b, t.batch_end + b + 1, (t.n_batches - b - 1) * sizeof *t.batch_end);
    t.n_batches--;
    if (fails(c, &t, workers)) {
      hvg_free(s);
      *s = t;
    } else {
      hvg_free(&t);
      b++;
    }
  }
  fprintf(stderr, "shrunk to %zu items, %zu batches\n", s->n_items, s->n_batches);
}

static void write_stream(const config *c, const hvg_stream *s, const char *tag) {
  char path[512];
  snprintf(path, sizeof path, "%s/hv_fail_%016" PRIx64 "%s.jsonl", c->out_dir, s->seed, tag);
  FILE *f = fopen(path, "w");
  if (!f) {
    fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
    return;
  }
  hvg_dump(f, s);
  fclose(f);
  fprintf(stderr, "  stream written to %s (replay: test_hv_oracle --replay %s)\n", path, path);
}

static void print_stream(const hvg_stream *s) {
  fprintf(stderr, "  the stream (%zu items, %zu batches; %s):\n", s->n_items, s->n_batches, s->features);
  if (s->n_items > 80) {
    fprintf(stderr, "  (long: see the file)\n");
    return;
  }
  hvg_dump(stderr, s);
}

/* Runs one stream with every worker count; returns false on failure. */
static bool run_case(const config *c, hvg_stream *s) {
  bool ok = true;
  if (c->verbose || !c->isolate) fprintf(stderr, "case seed 0x%016" PRIx64 ": %zu items, %zu batches; %s\n", s->seed, s->n_items, s->n_batches, s->features);
  size_t nw = c->oracle_only ? 1 : c->n_workers;
  for (size_t w = 0; w < nw && ok; w++) {
    uint32_t workers = c->oracle_only ? 0 : c->workers[w];
    if (run_isolated(c, s, workers, stderr)) continue;
    ok = false;
    write_stream(c, s, "");
    if (c->shrink) {
      hvg_stream t;
      copy_stream(&t, s);
      shrink(c, &t, workers);
      fprintf(stderr, "the shrunk case fails so:\n");
      run_isolated(c, &t, workers, stderr);
      print_stream(&t);
      write_stream(c, &t, "_shrunk");
      hvg_free(&t);
    } else {
      print_stream(s);
    }
    const char *avoid = getenv("RF_HV_AVOID");
    fprintf(stderr, "  replay: %s%s%sRF_HV_SEED=0x%016" PRIx64 " RF_HV_WORKERS=%u ./tests/hyperviews/%s\n",
            avoid ? "RF_HV_AVOID=" : "", avoid ? avoid : "", avoid ? " " : "", s->seed, workers,
            workers ? "test_hv_oracle" : "test_hv_oracle_self");
  }
  return ok;
}

static void usage(void) {
  fprintf(stderr, "usage: test_hv_oracle [--cases N] [--first I] [--seed S] [--replay FILE] "
                  "[--workers 1,2] [--oracle-only]\n");
  exit(2);
}

int main(int argc, char **argv) {
  config c = {0};
  c.cases = 300;
  c.max_failures = 3;
  c.timeout_s = 60;
  c.isolate = true;
  c.out_dir = ".";
  c.n_workers = parse_workers("1,2", c.workers, 8);
#ifndef HV_WITH_ENGINE
  c.oracle_only = true;
#endif
  env_u64("RF_HV_CASES", &c.cases);
  env_u64("RF_HV_FIRST", &c.first);
  env_u64("RF_HV_MAX_FAILURES", &c.max_failures);
  env_u64("RF_HV_TIMEOUT", &c.timeout_s);
  c.replaying = env_u64("RF_HV_SEED", &c.seed);
  uint64_t v;
  if (env_u64("RF_HV_ISOLATE", &v)) c.isolate = v != 0;
  if (env_u64("RF_HV_VERBOSE", &v)) c.verbose = v != 0;
  if (getenv("RF_HV_WORKERS")) c.n_workers = parse_workers(getenv("RF_HV_WORKERS"), c.workers, 8);
  if (getenv("RF_HV_OUT")) c.out_dir = getenv("RF_HV_OUT");
  hvg_options_from_env(&c.gen);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *val = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--oracle-only") == 0) {
      c.oracle_only = true;
    } else if (strcmp(a, "--verbose") == 0) {
      c.verbose = true;
    } else if (!val) {
      usage();
    } else if (strcmp(a, "--cases") == 0) {
      c.cases = strtoull(val, NULL, 0), i++;
    } else if (strcmp(a, "--first") == 0) {
      c.first = strtoull(val, NULL, 0), i++;
    } else if (strcmp(a, "--seed") == 0) {
      c.seed = strtoull(val, NULL, 0), c.replaying = true, i++;
    } else if (strcmp(a, "--replay") == 0) {
      c.file = val, i++;
    } else if (strcmp(a, "--workers") == 0) {
      c.n_workers = parse_workers(val, c.workers, 8), i++;
    } else {
      usage();
    }
  }
  c.shrink = c.replaying || c.file;
  if (env_u64("RF_HV_SHRINK", &v)) c.shrink = v != 0;
  if (c.n_workers == 0) usage();

  int failures = 0;
  uint64_t done = 0;
#ifdef HV_WITH_ENGINE
  if (!c.oracle_only && !c.file && !c.replaying) failures += check_cycle_rejected();
#endif
  if (c.file) {
    FILE *f = fopen(c.file, "r");
    hvg_stream s;
    if (!f || !hvg_load(f, &s)) {
      fprintf(stderr, "cannot read the stream %s\n", c.file);
      return 2;
    }
    fclose(f);
    c.verbose = true;
    failures += !run_case(&c, &s);
    done = 1;
    hvg_free(&s);
  } else {
    for (uint64_t k = 0; k < (c.replaying ? 1 : c.cases); k++) {
      hvg_stream s;
      hvg_generate(c.replaying ? c.seed : case_seed(c.first + k), &c.gen, &s);
      if (c.replaying) c.verbose = true;
      failures += !run_case(&c, &s);
      hvg_free(&s);
      done++;
      if ((uint64_t)failures >= c.max_failures) {
        fprintf(stderr, "stopping after %d failing cases\n", failures);
        break;
      }
    }
  }
  fprintf(stderr, "%s: %" PRIu64 " stream(s)%s, %d failing\n", c.oracle_only ? "hv oracle self-check" : "hv oracle",
          done, c.oracle_only ? "" : " x worker counts", failures);
  return failures ? 1 : 0;
}

/*
 * test_hv_golden.c: HyperViews on hand-worked examples. Every expected
 * result below is written out by hand from docs/hyperviews.md, never
 * produced by either implementation, and each example is checked against
 * BOTH the oracle (hv_oracle.c) and, when built with HV_WITH_ENGINE, the
 * engine (rf_hv, 1 worker and 2 workers), so these tests validate the
 * oracle as much as the engine.
 *
 * JSON in this file is written with single quotes ('id') to spare the
 * escapes; q() turns them into double quotes. No string here contains an
 * apostrophe.
 *
 * Examples: nested expansion 2 and 3 deep (and a delta on the deepest
 * object changing every parent view, with the change streams saying so);
 * a reference back to the viewed object; double and triple negation; a
 * negation arriving before its target; negations that point backward (an
 * earlier timestamp, or an equal one with a smaller id) and do not count;
 * a schema changed by new deltas (a transform re-pointed with a negation of
 * the old rule, then negated, then the old one restored, then a schema
 * removed); every resolution policy through four retractions; the value of
 * a delta (primitive, reference, true); duplicates, a reused id, invalid
 * deltas; the view of a referenced object with no deltas; a cycle made of
 * raw rule deltas; rf_hv_schema_deltas (the deltas of a new schema, of a
 * changed one, a cycle and an invalid definition rejected).
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv_oracle.h"

#ifdef HV_WITH_ENGINE
#include "rhizoflow.h"
#include "rhizoflow.h"
#define N_ENGINES 2 /* 1 worker and 2 workers */
#else
#define N_ENGINES 0
#endif

/* ---- helpers ------------------------------------------------------------ */

/* Is v the JSON string s? */
static bool str_is(const json_t *v, const char *s) { return json_is_string(v) && strcmp(json_string_value(v), s) == 0; }


/* vsprintf into a new buffer (malloc'd). */
static char *vformat(const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  if (n < 0) abort();
  char *s = malloc((size_t)n + 1);
  if (!s) abort();
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  return s;
}

/* printf, then ' -> " (malloc'd). */
static char *q(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *q(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = vformat(fmt, ap);
  va_end(ap);
  for (char *p = s; *p; p++)
    if (*p == '\'') *p = '"';
  return s;
}

static json_t *parse(const char *text) {
  json_error_t je;
  json_t *j = json_loads(text, JSON_DECODE_ANY, &je);
  cr_assert(j, "the test's own JSON does not parse (%s): %s", je.text, text);
  return j;
}

static char *show(const json_t *j) {
  return j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : strdup("(none)");
}

typedef struct golden {
  hvo *o;
#ifdef HV_WITH_ENGINE
  rf_hv *hv[N_ENGINES];
  rf_hv_sub *sub[N_ENGINES][2];
  const char *sub_schema[2];
  size_t n_subs;
#endif
  json_t *content[2]; /* the oracle's content of the subscribed schemas at the last commit */
  uint64_t time;
} golden;

static void g_begin(golden *g) {
  memset(g, 0, sizeof *g);
  g->o = hvo_create();
#ifdef HV_WITH_ENGINE
  for (int e = 0; e < N_ENGINES; e++) {
    rf_hv_options opt = {(uint32_t)e + 1};
    cr_assert_eq(rf_hv_create(&opt, &g->hv[e]), 0, "rf_hv_create: %s", rf_last_error());
  }
#endif
}

static void g_end(golden *g) {
#ifdef HV_WITH_ENGINE
  for (int e = 0; e < N_ENGINES; e++) {
    for (size_t k = 0; k < g->n_subs; k++) rf_hv_unsubscribe(g->sub[e][k]);
    rf_hv_destroy(g->hv[e]);
  }
#endif
  for (int k = 0; k < 2; k++) json_decref(g->content[k]);
  hvo_destroy(g->o);
}

enum { ADDED, DUPLICATE, REJECTED };

/* Adds one delta (single-quoted JSON, printf format) to every side and
 * checks how each took it. */
static void g_add_as(golden *g, int expect, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void g_add_as(golden *g, int expect, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *raw = vformat(fmt, ap);
  va_end(ap);
  char *t = q("%s", raw);
  free(raw);
  char err[400] = "";
  int ro = hvo_add(g->o, t, strlen(t), err, sizeof err);
  int want_o = expect == ADDED ? HVO_ADDED : expect == DUPLICATE ? HVO_DUPLICATE : HVO_REJECTED;
  cr_expect_eq(ro, want_o, "oracle: adding %s gave %d (%s), expected %d", t, ro, err, want_o);
#ifdef HV_WITH_ENGINE
  int want_e = expect == ADDED ? 0 : expect == DUPLICATE ? RF_HV_DUPLICATE : RF_EINVAL;
  for (int e = 0; e < N_ENGINES; e++) {
    int re = rf_hv_add_json(g->hv[e], t, strlen(t));
    cr_expect_eq(re, want_e, "engine (%d workers): rf_hv_add_json(%s) gave %d (%s), expected %d", e + 1, t, re,
                 re < 0 ? rf_last_error() : "", want_e);
  }
#endif
  free(t);
}
#define g_add(g, ...) g_add_as(g, ADDED, __VA_ARGS__)

/* Subscribes every engine to schema (before the first commit); the oracle
 * side of the subscription is its content, compared per commit. */
static void g_subscribe(golden *g, size_t k, const char *schema) {
#ifdef HV_WITH_ENGINE
  g->sub_schema[k] = schema;
  g->n_subs = k + 1;
  for (int e = 0; e < N_ENGINES; e++)
    cr_assert_eq(rf_hv_subscribe(g->hv[e], schema, 1 << 16, &g->sub[e][k]), 0, "rf_hv_subscribe(%s): %s",
                 schema, rf_last_error());
#else
  (void)schema;
#endif
  g->content[k] = json_array();
}

static void g_commit(golden *g) {
  g->time++;
#ifdef HV_WITH_ENGINE
  for (int e = 0; e < N_ENGINES; e++) {
    rf_time t = 0;
    cr_assert_eq(rf_hv_commit(g->hv[e], &t), 0, "rf_hv_commit: %s", rf_last_error());
    cr_assert_eq(t, g->time, "rf_hv_commit gave time %" PRIu64 ", expected %" PRIu64, t, g->time);
    cr_assert_eq(rf_hv_sync(g->hv[e]), 0, "rf_hv_sync: %s", rf_last_error());
  }
#endif
}

/* Checks HyperView (resolve 0) or View (resolve 1) of object under schema
 * on every side; expected NULL: the schema does not exist. */
static void g_expect(golden *g, const char *schema, const char *object, int resolve, const char *expected) {
  char *qe = expected ? q("%s", expected) : NULL;
  json_t *want = qe ? parse(qe) : NULL;
  json_t *got = hvo_get(g->o, schema, object, resolve);
  char *w = show(want), *o = show(got);
  cr_expect(want ? json_equal(want, got) : got == NULL,
            "oracle: %s(%s, %s) at time %" PRIu64 "\n  expected: %s\n  oracle:   %s", resolve ? "View" : "HyperView",
            schema, object, g->time, w, o);
  free(o);
  json_decref(got);
#ifdef HV_WITH_ENGINE
  for (int e = 0; e < N_ENGINES; e++) {
    char *text = NULL;
    int rc = rf_hv_get(g->hv[e], schema, object, RF_TIME_LATEST, resolve, &text);
    if (!want) {
      cr_expect_eq(rc, RF_ENOTFOUND, "engine (%d workers): rf_hv_get(%s, %s) gave %d (%s); the schema does not exist",
                   e + 1, schema, object, rc, text ? text : "");
    } else {
      cr_expect_eq(rc, 0, "engine (%d workers): rf_hv_get(%s, %s, resolve %d): %d %s", e + 1, schema, object,
                   resolve, rc, rf_last_error());
      json_t *eg = text ? json_loads(text, 0, NULL) : NULL;
      char *es = show(eg);
      cr_expect(json_equal(want, eg), "engine (%d workers): %s(%s, %s) at time %" PRIu64 "\n  expected: %s\n  engine:   %s",
                e + 1, resolve ? "View" : "HyperView", schema, object, g->time, w, text ? es : "(none)");
      free(es);
      json_decref(eg);
    }
    if (text) rf_hv_free(text);
  }
#endif
  free(w);
  json_decref(want);
  free(qe);
}
#define HV(g, s, o, e) g_expect(g, s, o, 0, e)
#define VIEW(g, s, o, e) g_expect(g, s, o, 1, e)

#ifdef HV_WITH_ENGINE
static int collect_name(void *ctx, const char *name) {
  json_array_append_new((json_t *)ctx, json_string(name));
  return 0;
}
#endif

/* The object list of schema (expected: a JSON array, or NULL if the schema
 * does not exist) and the schema list. */
static void g_expect_objects(golden *g, const char *schema, const char *expected) {
  char *qe = expected ? q("%s", expected) : NULL;
  json_t *want = qe ? parse(qe) : NULL;
  json_t *got = hvo_objects(g->o, schema);
  char *w = show(want), *o = show(got);
  cr_expect(want ? json_equal(want, got) : got == NULL, "oracle: objects of %s: expected %s, oracle %s", schema, w, o);
  free(o);
  json_decref(got);
#ifdef HV_WITH_ENGINE
  for (int e = 0; e < N_ENGINES; e++) {
    json_t *eg = json_array();
    int rc = rf_hv_objects(g->hv[e], schema, RF_TIME_LATEST, collect_name, eg);
    char *es = show(eg);
    if (!want)
      cr_expect_eq(rc, RF_ENOTFOUND, "engine (%d workers): rf_hv_objects(%s): %d; the schema does not exist", e + 1,
                   schema, rc);
    else
      cr_expect(rc == 0 && json_equal(want, eg), "engine (%d workers): objects of %s: expected %s, engine %s (rc %d)",
                e + 1, schema, w, es, rc);
    free(es);
    json_decref(eg);
  }
#endif
  free(w);
  json_decref(want);
  free(qe);
}

static void g_expect_schemas(golden *g, const char *expected) {
  char *qe = q("%s", expected);
  json_t *want = parse(qe);
  json_t *got = hvo_schemas(g->o);
  char *w = show(want), *o = show(got);
  cr_expect(json_equal(want, got), "oracle: schemas: expected %s, oracle %s", w, o);
  free(o);
  json_decref(got);
#ifdef HV_WITH_ENGINE
  for (int e = 0; e < N_ENGINES; e++) {
    json_t *eg = json_array();
    int rc = rf_hv_schemas(g->hv[e], RF_TIME_LATEST, collect_name, eg);
    char *es = show(eg);
    cr_expect(rc == 0 && json_equal(want, eg), "engine (%d workers): schemas: expected %s, engine %s (rc %d)", e + 1, w,
              es, rc);
    free(es);
    json_decref(eg);
  }
#endif
  free(w);
  json_decref(want);
  free(qe);
}

/* The changes of subscription k at the last committed time: expected is a
 * JSON array of [object, schema, via, property, delta, diff]. The oracle's
 * side is the difference of its content since the previous check. */
static void g_expect_changes(golden *g, size_t k, const char *schema, const char *expected) {
  char *qe = q("%s", expected);
  json_t *want = parse(qe);
  /* as a set of "object|schema|via|property|delta|diff" */
  json_t *wset = json_object();
  size_t i;
  json_t *c;
  json_array_foreach(want, i, c) {
    char *key = q("%s|%s|%s|%s|%s|%+lld", json_string_value(json_array_get(c, 0)), json_string_value(json_array_get(c, 1)),
                  json_string_value(json_array_get(c, 2)), json_string_value(json_array_get(c, 3)),
                  json_string_value(json_array_get(c, 4)), (long long)json_integer_value(json_array_get(c, 5)));
    json_object_set_new(wset, key, json_true());
    free(key);
  }
  char *w = show(wset);
  /* the oracle: content now minus content before */
  json_t *now = hvo_content(g->o, schema), *oset = json_object();
  json_t *before = g->content[k];
  for (int pass = 0; pass < 2; pass++) {
    json_t *a = pass ? before : now, *b = pass ? now : before;
    json_array_foreach(a, i, c) {
      bool in_b = false;
      size_t j;
      json_t *d;
      json_array_foreach(b, j, d) in_b |= json_equal(c, d);
      if (in_b) continue;
      char *key = q("%s|%s|%s|%s|%s|%s", json_string_value(json_array_get(c, 0)), json_string_value(json_array_get(c, 1)),
                    json_string_value(json_array_get(c, 2)), json_string_value(json_array_get(c, 3)),
                    json_string_value(json_array_get(c, 4)), pass ? "-1" : "+1");
      json_object_set_new(oset, key, json_true());
      free(key);
    }
  }
  char *o = show(oset);
  cr_expect(json_equal(wset, oset), "oracle: changes of %s at time %" PRIu64 "\n  expected: %s\n  oracle:   %s", schema,
            g->time, w, o);
  free(o);
  json_decref(oset);
  json_decref(g->content[k]);
  g->content[k] = now;
#ifdef HV_WITH_ENGINE
  for (int e = 0; e < N_ENGINES; e++) {
    json_t *eset = json_object(); /* summed per tuple, this time only */
    rf_hv_change ch;
    int rc;
    /* wait for the time to be delivered only if it has changes */
    int timeout = json_array_size(want) ? 2000 : 0;
    while ((rc = rf_hv_sub_next(g->sub[e][k], &ch, timeout)) == 1) {
      timeout = 0;
      cr_expect_eq(ch.time, g->time, "engine (%d workers): a change of time %" PRIu64 " read at time %" PRIu64, e + 1,
                   ch.time, g->time);
      char *key = q("%s|%s|%s|%s|%s", ch.object, ch.schema, ch.via, ch.property, ch.delta);
      json_int_t sum = json_integer_value(json_object_get(eset, key)) + ch.diff;
      json_object_set_new(eset, key, json_integer(sum));
      free(key);
    }
    cr_expect(rc >= 0, "engine (%d workers): rf_hv_sub_next: %d", e + 1, rc);
    json_t *es = json_object();
    const char *key;
    json_t *v;
    json_object_foreach(eset, key, v) {
      if (json_integer_value(v) == 0) continue;
      char *k2 = q("%s|%+lld", key, (long long)json_integer_value(v));
      json_object_set_new(es, k2, json_true());
      free(k2);
    }
    char *s = show(es);
    cr_expect(json_equal(wset, es), "engine (%d workers): changes of %s at time %" PRIu64 "\n  expected: %s\n  engine:   %s",
              e + 1, schema, g->time, w, s);
    free(s);
    json_decref(es);
    json_decref(eset);
  }
#endif
  free(w);
  json_decref(wset);
  json_decref(want);
  free(qe);
}

/* Schema rule deltas of the docs' table (author rhizoflow, system
 * rhizoflow-schema), as single-quoted JSON. */
#define SEL(name, ts)                                                                                      \
  "{'id':'schema/" name "/selection@" #ts "','timestamp':" #ts ",'author':'rhizoflow','system':'rhizoflow-schema'," \
  "'pointers':[{'role':'schema','target':{'id':'" name "','context':'selection'}},"                        \
  "{'role':'selection','target':'target-context'}]}"
#define TR(name, role, to, ts)                                                                             \
  "{'id':'schema/" name "/transform/" role "@" #ts "','timestamp':" #ts                                    \
  ",'author':'rhizoflow','system':'rhizoflow-schema','pointers':[{'role':'schema','target':{'id':'" name     \
  "','context':'transform'}},{'role':'role','target':'" role "'},{'role':'expand','target':{'id':'" to "'}}]}"
#define RS(name, prop, policy, ts, trusted)                                                                \
  "{'id':'schema/" name "/resolve/" prop "@" #ts "','timestamp':" #ts                                      \
  ",'author':'rhizoflow','system':'rhizoflow-schema','pointers':[{'role':'schema','target':{'id':'" name     \
  "','context':'resolve'}},{'role':'property','target':'" prop "'},{'role':'policy','target':'" policy "'}" \
  trusted "]}"
#define NEG(id, ts, target)                                                                                \
  "{'id':'" id "','timestamp':" #ts ",'author':'alice','system':'t','pointers':[{'role':'negates','target':{'id':'" \
  target "'}}]}"

/* ---- nested expansion --------------------------------------------------- */

#define D1 "{'id':'d1','timestamp':10,'author':'alice','system':'t','pointers':[{'role':'post','target':{'id':'p1','context':'title'}},{'role':'title','target':'Hello'}]}"
#define D2 "{'id':'d2','timestamp':11,'author':'alice','system':'t','pointers':[{'role':'post','target':{'id':'p1','context':'author'}},{'role':'author','target':{'id':'alice'}}]}"
#define D3 "{'id':'d3','timestamp':12,'author':'bob','system':'t','pointers':[{'role':'person','target':{'id':'alice','context':'name'}},{'role':'name','target':'Alice'}]}"
#define D4 "{'id':'d4','timestamp':13,'author':'bob','system':'t','pointers':[{'role':'person','target':{'id':'alice','context':'works'}},{'role':'employer','target':{'id':'acme'}}]}"
#define D5 "{'id':'d5','timestamp':14,'author':'carol','system':'t','pointers':[{'role':'company','target':{'id':'acme','context':'name'}},{'role':'name','target':'ACME'}]}"
#define D6 "{'id':'d6','timestamp':15,'author':'carol','system':'t','pointers':[{'role':'company','target':{'id':'acme','context':'hq'}},{'role':'city','target':{'id':'paris'}}]}"
#define D7 "{'id':'d7','timestamp':16,'author':'dave','system':'t','pointers':[{'role':'city','target':{'id':'paris','context':'name'}},{'role':'name','target':'Paris'}]}"
#define D8 "{'id':'d8','timestamp':20,'author':'dave','system':'t','pointers':[{'role':'city','target':{'id':'paris','context':'name'}},{'role':'name','target':'Paris, FR'}]}"
/* a pointer of role author back to p1 itself: expanded under person */
#define D9 "{'id':'d9','timestamp':17,'author':'alice','system':'t','pointers':[{'role':'author','target':{'id':'p1','context':'note'}},{'role':'note','target':'self'}]}"

/* HyperViews, innermost first */
#define HV_PARIS "{'id':'paris','name':[" D7 "]}"
#define HV_PARIS2 "{'id':'paris','name':[" D7 "," D8 "]}"
#define HV_ACME(paris)                                                                                     \
  "{'id':'acme','name':[" D5 "],'hq':[{'id':'d6','timestamp':15,'author':'carol','system':'t','pointers':[" \
  "{'role':'company','target':{'id':'acme','context':'hq'}},{'role':'city','target':{'id':'paris','view':" paris "}}]}]}"
#define HV_ALICE(acme)                                                                                     \
  "{'id':'alice','name':[" D3 "],'works':[{'id':'d4','timestamp':13,'author':'bob','system':'t','pointers':[" \
  "{'role':'person','target':{'id':'alice','context':'works'}},{'role':'employer','target':{'id':'acme','view':" acme "}}]}]}"
/* p1 under person: nothing of p1 expands there */
#define HV_P1_PERSON "{'id':'p1','title':[" D1 "],'author':[" D2 "],'note':[" D9 "]}"
#define HV_P1(alice)                                                                                       \
  "{'id':'p1','title':[" D1 "],"                                                                           \
  "'author':[{'id':'d2','timestamp':11,'author':'alice','system':'t','pointers':["                          \
  "{'role':'post','target':{'id':'p1','context':'author'}},{'role':'author','target':{'id':'alice','view':" alice "}}]}]," \
  "'note':[{'id':'d9','timestamp':17,'author':'alice','system':'t','pointers':["                            \
  "{'role':'author','target':{'id':'p1','context':'note','view':" HV_P1_PERSON "}},{'role':'note','target':'self'}]}]}"

static void nested_setup(golden *g) {
  g_subscribe(g, 0, "post");
  g_subscribe(g, 1, "person");
  g_add(g, SEL("post", 1));
  g_add(g, SEL("person", 1));
  g_add(g, SEL("company", 1));
  g_add(g, SEL("city", 1));
  g_add(g, TR("post", "author", "person", 1));
  g_add(g, TR("person", "employer", "company", 1));
  g_add(g, TR("company", "city", "city", 1));
  /* out of order on purpose */
  g_add(g, D9);
  g_add(g, D7);
  g_add(g, D6);
  g_add(g, D5);
  g_add(g, D4);
  g_add(g, D3);
  g_add(g, D2);
  g_add(g, D1);
  g_commit(g);
}

Test(golden, nested_expansion) {
  golden g;
  g_begin(&g);
  nested_setup(&g);
  /* depth 3: post -> person -> company -> city */
  HV(&g, "post", "p1", HV_P1(HV_ALICE(HV_ACME(HV_PARIS))));
  /* depth 2: person -> company -> city */
  HV(&g, "person", "alice", HV_ALICE(HV_ACME(HV_PARIS)));
  HV(&g, "company", "acme", HV_ACME(HV_PARIS));
  HV(&g, "city", "paris", HV_PARIS);
  /* under post, alice's pointers do not expand (post expands author only) */
  HV(&g, "post", "alice", "{'id':'alice','name':[" D3 "],'works':[" D4 "]}");
  /* an object with no deltas */
  HV(&g, "post", "nobody", "{'id':'nobody'}");
  VIEW(&g, "post", "nobody", "{'id':'nobody'}");
  /* the Views: references resolve to {id, view} */
  VIEW(&g, "post", "p1",
       "{'id':'p1','title':'Hello','note':'self','author':{'id':'alice','view':{'id':'alice','name':'Alice',"
       "'works':{'id':'acme','view':{'id':'acme','name':'ACME','hq':{'id':'paris','view':{'id':'paris','name':'Paris'}}}}}}}");
  VIEW(&g, "city", "paris", "{'id':'paris','name':'Paris'}");
  /* every object with a live selected delta, the schema names included
   * (their rule deltas select them) */
  g_expect_objects(&g, "post", "['acme','alice','city','company','p1','paris','person','post']");
  g_expect_objects(&g, "nothing", NULL);
  g_expect_schemas(&g, "['city','company','person','post']");
  HV(&g, "nothing", "p1", NULL);
  g_end(&g);
}

Test(golden, nested_update_reaches_every_parent) {
  golden g;
  g_begin(&g);
  nested_setup(&g);
  /* time 1: everything entered; not checked record by record here */
  g_expect_changes(&g, 0, "post",
                   "[['p1','post','p1','title','d1',1],['p1','post','p1','author','d2',1],['p1','post','p1','note','d9',1],"
                   "['p1','person','alice','name','d3',1],['p1','person','alice','works','d4',1],"
                   "['p1','company','acme','name','d5',1],['p1','company','acme','hq','d6',1],"
                   "['p1','city','paris','name','d7',1],"
                   "['p1','person','p1','title','d1',1],['p1','person','p1','author','d2',1],['p1','person','p1','note','d9',1],"
                   "['alice','post','alice','name','d3',1],['alice','post','alice','works','d4',1],"
                   "['acme','post','acme','name','d5',1],['acme','post','acme','hq','d6',1],"
                   "['paris','post','paris','name','d7',1],"
                   "['post','post','post','selection','schema/post/selection@1',1],"
                   "['post','post','post','transform','schema/post/transform/author@1',1],"
                   "['person','post','person','selection','schema/person/selection@1',1],"
                   "['person','post','person','transform','schema/person/transform/employer@1',1],"
                   "['company','post','company','selection','schema/company/selection@1',1],"
                   "['company','post','company','transform','schema/company/transform/city@1',1],"
                   "['city','post','city','selection','schema/city/selection@1',1]]");
  g_expect_changes(&g, 1, "person",
                   "[['alice','person','alice','name','d3',1],['alice','person','alice','works','d4',1],"
                   "['alice','company','acme','name','d5',1],['alice','company','acme','hq','d6',1],"
                   "['alice','city','paris','name','d7',1],"
                   "['acme','person','acme','name','d5',1],['acme','person','acme','hq','d6',1],"
                   "['paris','person','paris','name','d7',1],"
                   "['p1','person','p1','title','d1',1],['p1','person','p1','author','d2',1],['p1','person','p1','note','d9',1],"
                   "['post','person','post','selection','schema/post/selection@1',1],"
                   "['post','person','post','transform','schema/post/transform/author@1',1],"
                   "['person','person','person','selection','schema/person/selection@1',1],"
                   "['person','person','person','transform','schema/person/transform/employer@1',1],"
                   "['company','person','company','selection','schema/company/selection@1',1],"
                   "['company','person','company','transform','schema/company/transform/city@1',1],"
                   "['city','person','city','selection','schema/city/selection@1',1]]");
  /* time 2: a new name for paris, three levels below p1 */
  g_add(&g, D8);
  g_commit(&g);
  HV(&g, "post", "p1", HV_P1(HV_ALICE(HV_ACME(HV_PARIS2))));
  HV(&g, "person", "alice", HV_ALICE(HV_ACME(HV_PARIS2)));
  VIEW(&g, "post", "p1",
       "{'id':'p1','title':'Hello','note':'self','author':{'id':'alice','view':{'id':'alice','name':'Alice',"
       "'works':{'id':'acme','view':{'id':'acme','name':'ACME','hq':{'id':'paris','view':{'id':'paris','name':'Paris, FR'}}}}}}}");
  g_expect_changes(&g, 0, "post", "[['paris','post','paris','name','d8',1],['p1','city','paris','name','d8',1]]");
  g_expect_changes(&g, 1, "person", "[['paris','person','paris','name','d8',1],['alice','city','paris','name','d8',1]]");
  /* time 3: d7 negated: it leaves every view that embeds paris */
  g_add(&g, NEG("n7", 21, "d7"));
  g_commit(&g);
  g_expect_changes(&g, 0, "post", "[['paris','post','paris','name','d7',-1],['p1','city','paris','name','d7',-1]]");
  g_expect_changes(&g, 1, "person", "[['paris','person','paris','name','d7',-1],['alice','city','paris','name','d7',-1]]");
  VIEW(&g, "company", "acme", "{'id':'acme','name':'ACME','hq':{'id':'paris','view':{'id':'paris','name':'Paris, FR'}}}");
  g_end(&g);
}

#ifdef HV_WITH_ENGINE
/* A subscriber with room for 3 changes misses most of time 1's 23 changes
 * of schema post (listed in nested_update_reaches_every_parent): it is told
 * once, with the count lost and the first time it may trust; what it got
 * of the earlier times plus what it lost is all of them; and time 2 comes
 * whole. (Engine only: the oracle has no buffers.) */
Test(golden, subscriber_that_falls_behind) {
  golden g;
  g_begin(&g);
  rf_hv_sub *sub[N_ENGINES];
  for (int e = 0; e < N_ENGINES; e++)
    cr_assert_eq(rf_hv_subscribe(g.hv[e], "post", 3, &sub[e]), 0, "rf_hv_subscribe: %s", rf_last_error());
  nested_setup(&g);
  uint64_t before_trust[N_ENGINES] = {0}, lost[N_ENGINES] = {0}, lagged[N_ENGINES] = {0};
  rf_time trust[N_ENGINES] = {0};
  for (int e = 0; e < N_ENGINES; e++) {
    rf_hv_change c;
    int rc, timeout = 2000;
    while ((rc = rf_hv_sub_next(sub[e], &c, timeout)) > 0) {
      timeout = 0;
      if (rc == RF_HV_LAGGED) {
        lagged[e]++;
        lost[e] = c.lost;
        trust[e] = c.time;
      } else {
        before_trust[e]++;
      }
    }
    cr_expect_eq(lagged[e], 1, "engine (%d workers): told %" PRIu64 " times that it fell behind", e + 1, lagged[e]);
    cr_expect(lost[e] > 0 && trust[e] == 2,
              "engine (%d workers): lost %" PRIu64 ", trusted from time %" PRIu64 " (expected some lost, time 2)", e + 1,
              lost[e], trust[e]);
    cr_expect_eq(before_trust[e] + lost[e], 23, "engine (%d workers): %" PRIu64 " changes of time 1 read and %" PRIu64
                 " lost, of 23", e + 1, before_trust[e], lost[e]);
  }
  g_add(&g, D8);
  g_commit(&g);
  for (int e = 0; e < N_ENGINES; e++) {
    json_t *got = json_object();
    rf_hv_change c;
    int rc, timeout = 2000;
    while ((rc = rf_hv_sub_next(sub[e], &c, timeout)) == 1) {
      timeout = 0;
      char *k = q("%" PRIu64 "|%s|%s|%s|%s|%s|%+lld", c.time, c.object, c.schema, c.via, c.property, c.delta,
                  (long long)c.diff);
      json_object_set_new(got, k, json_true());
      free(k);
    }
    json_t *want = json_pack("{s:b, s:b}", "2|paris|post|paris|name|d8|+1", 1, "2|p1|city|paris|name|d8|+1", 1);
    char *w = show(want), *s = show(got);
    cr_expect(rc == 0 && json_equal(want, got), "engine (%d workers): time 2 after the lag (rc %d)\n  expected: %s\n  engine:   %s",
              e + 1, rc, w, s);
    free(w);
    free(s);
    json_decref(want);
    json_decref(got);
    rf_hv_unsubscribe(sub[e]);
  }
  g_end(&g);
}
#endif

/* ---- negation ---------------------------------------------------------- */

#define X0 "{'id':'d0','timestamp':5,'author':'alice','system':'t','pointers':[{'role':'v','target':{'id':'o1','context':'tag'}},{'role':'v','target':'t'}]}"
#define X1 "{'id':'d1','timestamp':10,'author':'alice','system':'t','pointers':[{'role':'v','target':{'id':'o1','context':'name'}},{'role':'v','target':'one'}]}"
#define O1_BOTH "{'id':'o1','tag':[" X0 "],'name':[" X1 "]}"
#define O1_TAG "{'id':'o1','tag':[" X0 "]}"

Test(golden, double_negation_restores) {
  golden g;
  g_begin(&g);
  g_add(&g, SEL("s", 1));
  g_add(&g, X0);
  g_add(&g, X1);
  g_commit(&g);
  HV(&g, "s", "o1", O1_BOTH);
  VIEW(&g, "s", "o1", "{'id':'o1','tag':'t','name':'one'}");
  g_add(&g, NEG("n1", 11, "d1"));
  g_commit(&g);
  HV(&g, "s", "o1", O1_TAG);
  VIEW(&g, "s", "o1", "{'id':'o1','tag':'t'}");
  g_add(&g, NEG("n2", 12, "n1")); /* negates the negation: d1 is back */
  g_commit(&g);
  HV(&g, "s", "o1", O1_BOTH);
  VIEW(&g, "s", "o1", "{'id':'o1','tag':'t','name':'one'}");
  g_add(&g, NEG("n3", 13, "n2")); /* and gone again */
  g_commit(&g);
  HV(&g, "s", "o1", O1_TAG);
  /* the whole object: o1 leaves the object list when its last delta goes */
  g_add(&g, NEG("n4", 14, "d0"));
  g_commit(&g);
  HV(&g, "s", "o1", "{'id':'o1'}");
  g_expect_objects(&g, "s", "['s']");
  g_end(&g);
}

Test(golden, negation_before_target) {
  golden g;
  g_begin(&g);
  g_add(&g, SEL("s", 1));
  g_add(&g, X0);
  g_add(&g, NEG("n1", 20, "d1")); /* d1 not seen yet */
  g_commit(&g);
  HV(&g, "s", "o1", O1_TAG);
  g_add(&g, X1); /* arrives already negated */
  g_commit(&g);
  HV(&g, "s", "o1", O1_TAG);
  VIEW(&g, "s", "o1", "{'id':'o1','tag':'t'}");
  g_add(&g, NEG("n2", 21, "n1"));
  g_commit(&g);
  HV(&g, "s", "o1", O1_BOTH);
  g_end(&g);
}

Test(golden, backward_negation_does_not_count) {
  golden g;
  g_begin(&g);
  g_add(&g, SEL("s", 1));
  g_add(&g, X0);
  g_add(&g, X1);
  g_add(&g, NEG("n0", 9, "d1"));  /* earlier timestamp */
  g_add(&g, NEG("c1", 10, "d1")); /* same timestamp, smaller id: earlier */
  g_add_as(&g, REJECTED, NEG("d1", 10, "d1")); /* its target's id: taken, other content */
  g_commit(&g);
  HV(&g, "s", "o1", O1_BOTH);
  /* a counting negation of a non-counting one changes nothing for d1 */
  g_add(&g, NEG("n5", 30, "n0"));
  g_commit(&g);
  HV(&g, "s", "o1", O1_BOTH);
  /* same timestamp, larger id ('d1x' > 'd1': a longer id with a common
   * prefix is later): counts */
  g_add(&g, NEG("d1x", 10, "d1"));
  g_commit(&g);
  HV(&g, "s", "o1", O1_TAG);
  g_end(&g);
}

/* ---- schema changes ---------------------------------------------------- */

#define P2 "{'id':'p2','timestamp':11,'author':'alice','system':'t','pointers':[{'role':'post','target':{'id':'p1','context':'author'}},{'role':'author','target':{'id':'alice'}}]}"
#define A1 "{'id':'a1','timestamp':12,'author':'bob','system':'t','pointers':[{'role':'person','target':{'id':'alice','context':'name'}},{'role':'name','target':'Alice'}]}"
#define A2 "{'id':'a2','timestamp':13,'author':'bob','system':'t','pointers':[{'role':'person','target':{'id':'alice','context':'boss'}},{'role':'manager','target':{'id':'bob'}}]}"
#define P1_WITH(view)                                                                                      \
  "{'id':'p1','author':[{'id':'p2','timestamp':11,'author':'alice','system':'t','pointers':["               \
  "{'role':'post','target':{'id':'p1','context':'author'}},{'role':'author','target':{'id':'alice'" view "}}]}]}"
#define ALICE_PERSON "{'id':'alice','name':[" A1 "],'boss':[" A2 "]}"
#define ALICE_ORG                                                                                          \
  "{'id':'alice','name':[" A1 "],'boss':[{'id':'a2','timestamp':13,'author':'bob','system':'t','pointers':[" \
  "{'role':'person','target':{'id':'alice','context':'boss'}},{'role':'manager','target':{'id':'bob','view':{'id':'bob'}}}]}]}"

Test(golden, schema_changed_by_deltas) {
  golden g;
  g_begin(&g);
  g_add(&g, SEL("post", 1));
  g_add(&g, SEL("person", 1));
  g_add(&g, SEL("org", 1));
  g_add(&g, TR("post", "author", "person", 1));
  g_add(&g, P2);
  g_add(&g, A1);
  g_add(&g, A2);
  g_commit(&g);
  HV(&g, "post", "p1", P1_WITH(",'view':" ALICE_PERSON));
  VIEW(&g, "post", "p1", "{'id':'p1','author':{'id':'alice','view':{'id':'alice','name':'Alice','boss':{'id':'bob'}}}}");
  /* re-pointed: a new rule to org and a negation of the old one (what
   * schema add would append); org expands manager under person and
   * resolves name with all-values */
  g_add(&g, TR("post", "author", "org", 5));
  g_add(&g, "{'id':'schema/post/transform/author@5/negation','timestamp':5,'author':'rhizoflow',"
            "'system':'rhizoflow-schema','pointers':[{'role':'negates','target':{'id':'schema/post/transform/author@1'}}]}");
  g_add(&g, TR("org", "manager", "person", 5));
  g_add(&g, RS("org", "name", "all-values", 5, ""));
  g_commit(&g);
  HV(&g, "post", "p1", P1_WITH(",'view':" ALICE_ORG));
  VIEW(&g, "post", "p1",
       "{'id':'p1','author':{'id':'alice','view':{'id':'alice','name':['Alice'],'boss':{'id':'bob','view':{'id':'bob'}}}}}");
  /* the new rule negated: the old one is negated too, so author expands
   * nothing */
  g_add(&g, NEG("nr2", 6, "schema/post/transform/author@5"));
  g_commit(&g);
  HV(&g, "post", "p1", P1_WITH(""));
  VIEW(&g, "post", "p1", "{'id':'p1','author':{'id':'alice'}}");
  /* the negation of the old rule negated: the old rule is back */
  g_add(&g, NEG("nr3", 7, "schema/post/transform/author@5/negation"));
  g_commit(&g);
  HV(&g, "post", "p1", P1_WITH(",'view':" ALICE_PERSON));
  g_expect_schemas(&g, "['org','person','post']");
  /* person removed: its views are gone, and post's transform to it
   * expands nothing */
  g_add(&g, NEG("nr4", 8, "schema/person/selection@1"));
  g_commit(&g);
  g_expect_schemas(&g, "['org','post']");
  HV(&g, "person", "alice", NULL);
  g_expect_objects(&g, "person", NULL);
  HV(&g, "post", "p1", P1_WITH(""));
  /* a later resolve rule wins over an earlier one; negating it restores
   * the earlier */
  g_add(&g, RS("org", "name", "count", 9, ""));
  g_commit(&g);
  /* (manager expands under person, which no longer exists) */
  VIEW(&g, "org", "alice", "{'id':'alice','name':1,'boss':{'id':'bob'}}");
  g_add(&g, NEG("nr5", 10, "schema/org/resolve/name@9"));
  g_commit(&g);
  VIEW(&g, "org", "alice", "{'id':'alice','name':['Alice'],'boss':{'id':'bob'}}");
  g_end(&g);
}

/* ---- resolution policies --------------------------------------------- */

#define E(id, ts, author, value)                                                                           \
  "{'id':'" id "','timestamp':" #ts ",'author':'" author "','system':'t','pointers':[{'role':'m','target':{'id':'m1','context':'score'}},{'role':'v','target':" value "}]}"

static const char *const pol_schemas[] = {"mr", "fw", "av", "ta", "tz", "min", "max", "sum", "avg", "count", "cons"};
#define N_POL 11

/* Expected score of m1 under each schema, by state (a row per state). */
static const char *const pol_expected[5][N_POL] = {
    /* e1 5 alice@10, e2 'x' bob@11, e3 'x' carol@12, e4 5 bob@12, e5 true dave@13, e6 3.5 alice@14 */
    {"3.5", "5", "[5,'x','x',5,true,3.5]", "'x'", "3.5", "3.5", "5", "13.5", "4.5", "6", "5"},
    /* e4 retracted: 'x' twice is the consensus */
    {"3.5", "5", "[5,'x','x',true,3.5]", "'x'", "3.5", "3.5", "5", "8.5", "4.25", "5", "'x'"},
    /* e3 retracted: carol has none, bob's latest is e2; a four-way tie goes to the latest, e6 */
    {"3.5", "5", "[5,'x',true,3.5]", "'x'", "3.5", "3.5", "5", "8.5", "4.25", "4", "3.5"},
    /* e6 retracted: an integer sum stays an integer; the average is a real */
    {"true", "5", "[5,'x',true]", "'x'", "true", "5", "5", "5", "5.0", "3", "true"},
    /* e1 retracted: no number left */
    {"true", "'x'", "['x',true]", "'x'", "true", "null", "null", "0", "null", "2", "true"},
};

Test(golden, every_policy_under_retraction) {
  golden g;
  g_begin(&g);
  static const char *const rules[N_POL] = {
      RS("mr", "score", "most-recent", 1, ""),
      RS("fw", "score", "first-write", 1, ""),
      RS("av", "score", "all-values", 1, ""),
      RS("ta", "score", "trusted-author", 1, ",{'role':'trusted','target':'carol'},{'role':'trusted','target':'bob'}"),
      RS("tz", "score", "trusted-author", 1, ",{'role':'trusted','target':'zed'}"),
      RS("min", "score", "min", 1, ""),
      RS("max", "score", "max", 1, ""),
      RS("sum", "score", "sum", 1, ""),
      RS("avg", "score", "average", 1, ""),
      RS("count", "score", "count", 1, ""),
      RS("cons", "score", "consensus", 1, ""),
  };
  for (int i = 0; i < N_POL; i++) {
    char *sel = q("{'id':'schema/%s/selection@1','timestamp':1,'author':'rhizoflow','system':'rhizoflow-schema',"
                  "'pointers':[{'role':'schema','target':{'id':'%s','context':'selection'}},"
                  "{'role':'selection','target':'target-context'}]}",
                  pol_schemas[i], pol_schemas[i]);
    g_add(&g, "%s", sel);
    free(sel);
    g_add(&g, "%s", rules[i]);
  }
  g_add(&g, E("e1", 10, "alice", "5"));
  g_add(&g, E("e2", 11, "bob", "'x'"));
  g_add(&g, E("e3", 12, "carol", "'x'"));
  g_add(&g, E("e4", 12, "bob", "5"));
  g_add(&g, E("e5", 13, "dave", "true"));
  g_add(&g, E("e6", 14, "alice", "3.5"));
  g_commit(&g);
  static const char *const retract[4] = {NEG("x1", 20, "e4"), NEG("x2", 21, "e3"), NEG("x3", 22, "e6"),
                                         NEG("x4", 23, "e1")};
  for (int state = 0; state < 5; state++) {
    if (state > 0) {
      g_add(&g, "%s", retract[state - 1]);
      g_commit(&g);
    }
    for (int i = 0; i < N_POL; i++) {
      char *want = q("{'id':'m1','score':%s}", pol_expected[state][i]);
      VIEW(&g, pol_schemas[i], "m1", want);
      free(want);
    }
  }
  g_end(&g);
}

/* The value of a delta: the first primitive target, wherever it is; else
 * the first reference other than the selecting one ({id} only, with a view
 * when its role expands); else true. */
Test(golden, value_of_a_delta) {
  golden g;
  g_begin(&g);
  g_add(&g, SEL("s", 1));
  g_add(&g, SEL("t", 1));
  g_add(&g, TR("s", "to", "t", 1));
  g_add(&g, RS("s", "all", "all-values", 1, ""));
  /* only the selecting pointer: true */
  g_add(&g, "{'id':'f1','timestamp':10,'author':'a','system':'t','pointers':[{'role':'x','target':{'id':'v1','context':'flag'}}]}");
  /* the same place selected twice: still only true, and the delta once */
  g_add(&g, "{'id':'f2','timestamp':11,'author':'a','system':'t','pointers':[{'role':'x','target':{'id':'v1','context':'twice'}},"
            "{'role':'y','target':{'id':'v1','context':'twice'}}]}");
  /* a reference with a context, not expanding: {id} only */
  g_add(&g, "{'id':'f3','timestamp':12,'author':'a','system':'t','pointers':[{'role':'x','target':{'id':'v1','context':'link'}},"
            "{'role':'other','target':{'id':'v2','context':'back'}}]}");
  /* a reference that expands under t, then a primitive after it: the primitive wins */
  g_add(&g, "{'id':'f4','timestamp':13,'author':'a','system':'t','pointers':[{'role':'to','target':{'id':'v2'}},"
            "{'role':'x','target':{'id':'v1','context':'prim'}},{'role':'n','target':false}]}");
  /* a reference that expands: {id, view} */
  g_add(&g, "{'id':'f5','timestamp':14,'author':'a','system':'t','pointers':[{'role':'x','target':{'id':'v1','context':'ref'}},"
            "{'role':'to','target':{'id':'v2'}}]}");
  /* no primitive: the first reference that is not this place, here
   * another place of the same object */
  g_add(&g, "{'id':'f6','timestamp':15,'author':'a','system':'t','pointers':[{'role':'x','target':{'id':'v1','context':'all'}},"
            "{'role':'x','target':{'id':'v1','context':'other'}}]}");
  g_add(&g, "{'id':'f7','timestamp':16,'author':'a','system':'t','pointers':[{'role':'x','target':{'id':'v1','context':'all'}},"
            "{'role':'y','target':{'id':'v3','context':'z'}}]}");
  g_commit(&g);
  /* f3 selects v2 under 'back' too: v2's View under t resolves it */
  VIEW(&g, "s", "v1",
       "{'id':'v1','flag':true,'twice':true,'link':{'id':'v2'},'prim':false,"
       "'ref':{'id':'v2','view':{'id':'v2','back':{'id':'v1'}}},"
       "'all':[{'id':'v1'},{'id':'v3'}],'other':{'id':'v1'}}");
  g_end(&g);
}

/* Consensus counts values equal as JSON: the `true` of a delta with no
 * value equals a primitive true; a reference with a view differs from the
 * same reference without one. */
Test(golden, consensus_values_equal_as_json) {
  golden g;
  g_begin(&g);
  g_add(&g, SEL("s", 1));
  g_add(&g, SEL("t", 1));
  g_add(&g, TR("s", "to", "t", 1));
  g_add(&g, RS("s", "c1", "consensus", 1, ""));
  g_add(&g, RS("s", "c2", "consensus", 1, ""));
  /* c1: true (no value), true (primitive), {id: o2}: true twice wins */
  g_add(&g, "{'id':'k1','timestamp':10,'author':'a','system':'t','pointers':[{'role':'x','target':{'id':'o1','context':'c1'}}]}");
  g_add(&g, "{'id':'k2','timestamp':11,'author':'a','system':'t','pointers':[{'role':'x','target':{'id':'o1','context':'c1'}},{'role':'v','target':true}]}");
  g_add(&g, "{'id':'k3','timestamp':12,'author':'a','system':'t','pointers':[{'role':'x','target':{'id':'o1','context':'c1'}},{'role':'y','target':{'id':'o2'}}]}");
  /* c2: {id: o2} (role y: no transform), then {id: o2, view} (role to):
   * two different values, once each: the later wins */
  g_add(&g, "{'id':'k4','timestamp':10,'author':'a','system':'t','pointers':[{'role':'x','target':{'id':'o1','context':'c2'}},{'role':'y','target':{'id':'o2'}}]}");
  g_add(&g, "{'id':'k5','timestamp':11,'author':'a','system':'t','pointers':[{'role':'x','target':{'id':'o1','context':'c2'}},{'role':'to','target':{'id':'o2'}}]}");
  g_commit(&g);
  VIEW(&g, "s", "o1", "{'id':'o1','c1':true,'c2':{'id':'o2','view':{'id':'o2'}}}");
  /* a second {id: o2} without a view: now the most frequent */
  g_add(&g, "{'id':'k6','timestamp':12,'author':'a','system':'t','pointers':[{'role':'x','target':{'id':'o1','context':'c2'}},{'role':'z','target':{'id':'o2'}}]}");
  g_commit(&g);
  VIEW(&g, "s", "o1", "{'id':'o1','c1':true,'c2':{'id':'o2'}}");
  g_end(&g);
}

/* ---- acceptance ------------------------------------------------------ */

Test(golden, duplicates_reused_ids_invalid) {
  golden g;
  g_begin(&g);
  g_add(&g, SEL("s", 1));
  g_add(&g, X1);
  g_commit(&g);
  g_add_as(&g, DUPLICATE, X1);
  /* the same content written otherwise: keys in another order, spaces */
  g_add_as(&g, DUPLICATE,
           "{ 'pointers': [ {'target':{'context':'name','id':'o1'},'role':'v'}, {'role':'v','target':'one'} ],"
           " 'system':'t', 'author':'alice', 'timestamp':10, 'id':'d1' }");
  /* the id again with other content */
  g_add_as(&g, REJECTED, "{'id':'d1','timestamp':11,'author':'alice','system':'t','pointers':[{'role':'v','target':{'id':'o1','context':'name'}},{'role':'v','target':'one'}]}");
  g_add_as(&g, REJECTED, "{'id':'d1','timestamp':10,'author':'alice','system':'t','pointers':[{'role':'v','target':{'id':'o1','context':'name'}},{'role':'v','target':'two'}]}");
  /* invalid deltas */
  g_add_as(&g, REJECTED, "{'id':'b1','timestamp':0,'author':'a','system':'t','pointers':[{'role':'v','target':'x'}]}");
  g_add_as(&g, REJECTED, "{'id':'b2','timestamp':3,'author':'a','system':'t','pointers':[]}");
  g_add_as(&g, REJECTED, "{'id':'b3','timestamp':3,'author':'a','system':'t','pointers':[{'role':'negates','target':{'id':'d1','context':'name'}}]}");
  g_add_as(&g, REJECTED, "{'id':'b4','timestamp':3,'author':'a','system':'t','pointers':[{'role':'negates','target':'d1'}]}");
  g_add_as(&g, REJECTED, "{'id':'b5','timestamp':3,'author':'a','system':'t'");
  g_add_as(&g, REJECTED, "{'id':'b6','timestamp':3,'author':'a','pointers':[{'role':'v','target':'x'}]}");
  g_commit(&g);
  HV(&g, "s", "o1", "{'id':'o1','name':[" X1 "]}");
  /* a rejected id stays free */
  g_add(&g, "{'id':'b1','timestamp':4,'author':'a','system':'t','pointers':[{'role':'v','target':{'id':'o1','context':'tag'}},{'role':'v','target':'t'}]}");
  g_commit(&g);
  VIEW(&g, "s", "o1", "{'id':'o1','name':'one','tag':'t'}");
  /* an integral real is stored as an integer (the store's canonical form) */
  g_add(&g, "{'id':'r1','timestamp':5,'author':'a','system':'t','pointers':[{'role':'v','target':{'id':'o2','context':'n'}},{'role':'v','target':2.0}]}");
  g_commit(&g);
  HV(&g, "s", "o2", "{'id':'o2','n':[{'id':'r1','timestamp':5,'author':'a','system':'t','pointers':[{'role':'v','target':{'id':'o2','context':'n'}},{'role':'v','target':2}]}]}");
  g_end(&g);
}

Test(golden, referenced_object_without_deltas) {
  golden g;
  g_begin(&g);
  g_add(&g, SEL("post", 1));
  g_add(&g, SEL("person", 1));
  g_add(&g, TR("post", "author", "person", 1));
  g_add(&g, "{'id':'g1','timestamp':10,'author':'a','system':'t','pointers':[{'role':'p','target':{'id':'p1','context':'author'}},{'role':'author','target':{'id':'ghost'}}]}");
  g_commit(&g);
  HV(&g, "post", "p1",
     "{'id':'p1','author':[{'id':'g1','timestamp':10,'author':'a','system':'t','pointers':[{'role':'p','target':{'id':'p1','context':'author'}},"
     "{'role':'author','target':{'id':'ghost','view':{'id':'ghost'}}}]}]}");
  VIEW(&g, "post", "p1", "{'id':'p1','author':{'id':'ghost','view':{'id':'ghost'}}}");
  HV(&g, "person", "ghost", "{'id':'ghost'}");
  g_expect_objects(&g, "person", "['p1','person','post']");
  g_end(&g);
}

/* A cycle made of raw rule deltas: reading stops at a schema already on
 * the path. */
Test(golden, raw_cycle_stops_at_the_path) {
  golden g;
  g_begin(&g);
  g_add(&g, SEL("A", 1));
  g_add(&g, SEL("B", 1));
  g_add(&g, TR("A", "x", "B", 1));
  g_add(&g, TR("B", "y", "A", 1));
  g_add(&g, "{'id':'c1','timestamp':10,'author':'a','system':'t','pointers':[{'role':'s','target':{'id':'o1','context':'p'}},{'role':'x','target':{'id':'o2'}}]}");
  g_add(&g, "{'id':'c2','timestamp':11,'author':'a','system':'t','pointers':[{'role':'s','target':{'id':'o2','context':'q'}},{'role':'y','target':{'id':'o1'}}]}");
  g_commit(&g);
  HV(&g, "A", "o1",
     "{'id':'o1','p':[{'id':'c1','timestamp':10,'author':'a','system':'t','pointers':[{'role':'s','target':{'id':'o1','context':'p'}},"
     "{'role':'x','target':{'id':'o2','view':{'id':'o2','q':[{'id':'c2','timestamp':11,'author':'a','system':'t','pointers':["
     "{'role':'s','target':{'id':'o2','context':'q'}},{'role':'y','target':{'id':'o1'}}]}]}}}]}]}");
  VIEW(&g, "B", "o2", "{'id':'o2','q':{'id':'o1','view':{'id':'o1','p':{'id':'o2'}}}}");
  g_end(&g);
}

/* ---- schema definitions as deltas ------------------------------------ */

#define BLOG_SEL SEL("blog", 100)
#define BLOG_TR TR("blog", "author", "person", 100)
#define BLOG_TITLE RS("blog", "title", "first-write", 100, "")
#define BLOG_BODY RS("blog", "body", "trusted-author", 100, ",{'role':'trusted','target':'alice'},{'role':'trusted','target':'bob'}")
#define BLOG_TR2 TR("blog", "author", "org", 200)

/* Checks a set of emitted deltas against the expected rule deltas (exact)
 * and the expected negation targets (their ids are the implementation's). */
static void check_deltas(const char *who, json_t *emitted, const char *rules, const char *negated_ids, int64_t ts) {
  char *qr = q("%s", rules), *qn = q("%s", negated_ids);
  json_t *want = parse(qr), *want_neg = parse(qn);
  json_t *got_rules = json_array(), *got_neg = json_array();
  size_t i;
  json_t *d;
  json_array_foreach(emitted, i, d) {
    json_t *p0 = json_array_get(json_object_get(d, "pointers"), 0);
    if (str_is(json_object_get(p0, "role"), "negates")) {
      cr_expect(json_array_size(json_object_get(d, "pointers")) == 1 &&
                    json_integer_value(json_object_get(d, "timestamp")) == ts &&
                    str_is(json_object_get(d, "author"), "rhizoflow") &&
                    str_is(json_object_get(d, "system"), "rhizoflow-schema"),
                "%s: a negation of the wrong shape: %s", who, show(d));
      json_array_append(got_neg, json_object_get(json_object_get(p0, "target"), "id"));
    } else {
      json_array_append(got_rules, d);
    }
  }
  bool same = json_array_size(want) == json_array_size(got_rules);
  json_array_foreach(want, i, d) {
    bool found = false;
    size_t j;
    json_t *e;
    json_array_foreach(got_rules, j, e) found |= json_equal(d, e);
    same &= found;
  }
  char *ws = show(want), *gs = show(got_rules);
  cr_expect(same, "%s: rule deltas\n  expected: %s\n  got:      %s", who, ws, gs);
  free(ws);
  free(gs);
  same = json_array_size(want_neg) == json_array_size(got_neg);
  json_array_foreach(want_neg, i, d) {
    bool found = false;
    size_t j;
    json_t *e;
    json_array_foreach(got_neg, j, e) found |= json_equal(d, e);
    same &= found;
  }
  ws = show(want_neg);
  gs = show(got_neg);
  cr_expect(same, "%s: negated rules\n  expected: %s\n  got:      %s", who, ws, gs);
  free(ws);
  free(gs);
  json_decref(want);
  json_decref(want_neg);
  json_decref(got_rules);
  json_decref(got_neg);
  free(qr);
  free(qn);
}

#ifdef HV_WITH_ENGINE
static int collect_emitted(void *ctx, const char *json, size_t len) {
  json_t *d = json_loadb(json, len, 0, NULL);
  cr_expect(d, "emitted delta is not JSON: %.*s", (int)len, json);
  if (d) json_array_append_new((json_t *)ctx, d);
  return 0;
}
#endif

/* Defines a schema on every side; expects the given rule deltas and
 * negations (rules NULL: rejected). Adds what was emitted and commits. */
static void g_define(golden *g, const char *def_sq, int64_t ts, const char *rules, const char *negated) {
  char *def = q("%s", def_sq);
  json_t *exp = NULL;
  char err[400] = "";
  int ro = hvo_schema_deltas(g->o, def, strlen(def), ts, &exp, err, sizeof err);
  if (!rules) {
    cr_expect_neq(ro, 0, "oracle: accepts the definition %s; expected a rejection", def);
  } else {
    cr_expect_eq(ro, 0, "oracle: rejects the definition %s: %s", def, err);
    if (ro == 0) {
      /* the oracle's must_negate is the negation set expected here */
      json_t *em = json_deep_copy(json_object_get(exp, "deltas"));
      check_deltas("oracle", em, rules, negated, ts);
      json_decref(em);
    }
  }
#ifdef HV_WITH_ENGINE
  for (int e = 0; e < N_ENGINES; e++) {
    json_t *em = json_array();
    int rc = rf_hv_schema_deltas(g->hv[e], def, strlen(def), ts, collect_emitted, em);
    if (!rules) {
      cr_expect(rc == RF_EINVAL && json_array_size(em) == 0,
                "engine: rf_hv_schema_deltas(%s) gave %d with %zu deltas; expected RF_EINVAL and none", def, rc,
                json_array_size(em));
    } else {
      cr_expect_eq(rc, 0, "engine: rf_hv_schema_deltas(%s): %d %s", def, rc, rf_last_error());
      check_deltas("engine", em, rules, negated, ts);
      size_t i;
      json_t *d;
      json_array_foreach(em, i, d) {
        char *t = json_dumps(d, JSON_COMPACT);
        cr_expect_eq(rf_hv_add_json(g->hv[e], t, strlen(t)), 0, "engine: its own delta %s is not added", t);
        free(t);
      }
    }
    json_decref(em);
  }
#endif
  if (ro == 0) {
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(exp, "deltas"), i, d) {
      char *t = json_dumps(d, JSON_COMPACT);
      cr_expect_eq(hvo_add(g->o, t, strlen(t), NULL, 0), HVO_ADDED);
      free(t);
    }
  }
  json_decref(exp);
  free(def);
  g_commit(g);
}

Test(golden, schema_definitions_as_deltas) {
  golden g;
  g_begin(&g);
  g_define(&g,
           "{'name':'blog','transform':{'author':'person'},"
           "'resolve':{'title':'first-write','body':{'policy':'trusted-author','authors':['alice','bob']}}}",
           100, "[" BLOG_SEL "," BLOG_TR "," BLOG_TITLE "," BLOG_BODY "]", "[]");
  g_expect_schemas(&g, "['blog']");
  /* the same again: nothing changes, nothing is appended */
  g_define(&g,
           "{'name':'blog','selection':'target-context','transform':{'author':'person'},"
           "'resolve':{'title':{'policy':'first-write'},'body':{'policy':'trusted-author','authors':['alice','bob']}}}",
           150, "[]", "[]");
  /* changed: author re-pointed (new rule, old negated), body dropped
   * (negated), title unchanged */
  g_define(&g, "{'name':'blog','transform':{'author':'org'},'resolve':{'title':'first-write'}}", 200,
           "[" BLOG_TR2 "]", "['schema/blog/transform/author@100','schema/blog/resolve/body@100']");
  /* a schema expanding into itself */
  g_define(&g, "{'name':'blog','transform':{'author':'blog'}}", 300, NULL, NULL);
  /* org -> blog closes blog -> org */
  g_define(&g, "{'name':'org','transform':{'m':'blog'}}", 300, NULL, NULL);
  /* two schemas into each other, in one definition */
  g_define(&g, "[{'name':'x1','transform':{'a':'x2'}},{'name':'x2','transform':{'b':'x1'}}]", 300, NULL, NULL);
  /* invalid: no name, an unknown policy */
  g_define(&g, "{'transform':{'a':'b'}}", 300, NULL, NULL);
  g_define(&g, "{'name':'y','resolve':{'p':'loudest'}}", 300, NULL, NULL);
  g_expect_schemas(&g, "['blog']");
  /* org created: blog's author now expands */
  g_define(&g, "{'name':'org'}", 400, "[" SEL("org", 400) "]", "[]");
  g_add(&g, "{'id':'w1','timestamp':10,'author':'a','system':'t','pointers':[{'role':'p','target':{'id':'b1','context':'author'}},{'role':'author','target':{'id':'acme'}}]}");
  g_add(&g, "{'id':'w2','timestamp':11,'author':'a','system':'t','pointers':[{'role':'p','target':{'id':'acme','context':'name'}},{'role':'n','target':'ACME'}]}");
  g_commit(&g);
  VIEW(&g, "blog", "b1", "{'id':'b1','author':{'id':'acme','view':{'id':'acme','name':'ACME'}}}");
  g_end(&g);
}

/*
 * test_hv_restart.c: views rebuilt from the store equal the views before
 * the restart (issue 6). For random delta streams (hv_gen.h): every delta
 * that rf_hv accepts, and every delta a schema definition turns into, is
 * also appended to a store, batch by batch; then the store is closed,
 * reopened read-only, replayed into a fresh rf_hv (1 or 2 workers) and
 * every schema's object list, HyperViews and Views are compared with those
 * of the instance that lived through the stream.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hv_gen.h"
#include "rhizoflow.h"

typedef struct feed {
  rf_hv *hv;
  rf_store *st;
} feed;

/* A delta into both the live views and the store. */
static int add_both(void *ctx, const char *json, size_t len) {
  feed *f = ctx;
  int rc = rf_hv_add_json(f->hv, json, len);
  if (rc < 0) return 0; /* refused by the views (bad, or an id reused): not stored */
  int s = rf_store_append_delta_json(f->st, json, len, NULL);
  cr_assert(s >= 0, "store append: %s", rf_last_error());
  return 0;
}

typedef struct names {
  char **v;
  size_t n, cap;
} names;

static int keep_name(void *ctx, const char *name) {
  names *l = ctx;
  if (l->n == l->cap) {
    l->cap = l->cap ? 2 * l->cap : 16;
    l->v = realloc(l->v, l->cap * sizeof *l->v);
    cr_assert_not_null(l->v);
  }
  l->v[l->n++] = strdup(name);
  return 0;
}

static void free_names(names *l) {
  for (size_t i = 0; i < l->n; i++) free(l->v[i]);
  free(l->v);
}

static size_t views_compared; /* over all streams: the test must compare something */

static void compare(rf_hv *a, rf_hv *b, uint64_t seed) {
  names sa = {0}, sb = {0};
  cr_assert_eq(rf_hv_schemas(a, RF_TIME_LATEST, keep_name, &sa), 0, "%s", rf_last_error());
  cr_assert_eq(rf_hv_schemas(b, RF_TIME_LATEST, keep_name, &sb), 0, "%s", rf_last_error());
  cr_assert_eq(sa.n, sb.n, "seed %#llx: %zu schemas before, %zu after", (unsigned long long)seed,
               sa.n, sb.n);
  for (size_t i = 0; i < sa.n; i++) {
    cr_assert_str_eq(sa.v[i], sb.v[i]);
    names oa = {0}, ob = {0};
    cr_assert_eq(rf_hv_objects(a, sa.v[i], RF_TIME_LATEST, keep_name, &oa), 0);
    cr_assert_eq(rf_hv_objects(b, sa.v[i], RF_TIME_LATEST, keep_name, &ob), 0);
    cr_assert_eq(oa.n, ob.n, "seed %#llx, schema %s: %zu objects before, %zu after",
                 (unsigned long long)seed, sa.v[i], oa.n, ob.n);
    for (size_t j = 0; j < oa.n; j++) {
      cr_assert_str_eq(oa.v[j], ob.v[j]);
      for (int resolve = 0; resolve < 2; resolve++) {
        char *ja, *jb;
        cr_assert_eq(rf_hv_get(a, sa.v[i], oa.v[j], RF_TIME_LATEST, resolve, &ja), 0);
        cr_assert_eq(rf_hv_get(b, sa.v[i], oa.v[j], RF_TIME_LATEST, resolve, &jb), 0);
        cr_assert_str_eq(ja, jb, "seed %#llx, %s under %s (resolve %d)", (unsigned long long)seed,
                         oa.v[j], sa.v[i], resolve);
        rf_hv_free(ja);
        rf_hv_free(jb);
        views_compared++;
      }
    }
    free_names(&oa);
    free_names(&ob);
  }
  free_names(&sa);
  free_names(&sb);
}

static void run_stream(uint64_t seed, uint32_t workers_after) {
  char dir[] = "/tmp/rf_hv_restart_XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  hvg_stream s;
  hvg_generate(seed, NULL, &s);
  rf_store_options so = rf_store_options_default();
  so.dir = dir;
  so.durability = RF_STORE_NONE;
  feed f;
  cr_assert_eq(rf_store_open(&so, &f.st), 0, "%s", rf_last_error());
  rf_hv_options o1 = {.workers = 1};
  cr_assert_eq(rf_hv_create(&o1, &f.hv), 0, "%s", rf_last_error());
  for (size_t b = 0; b < s.n_batches; b++) {
    for (size_t i = b ? s.batch_end[b - 1] : 0; i < s.batch_end[b]; i++) {
      const hvg_item *it = &s.items[i];
      if (it->kind == HVG_SCHEMA)
        (void)rf_hv_schema_deltas(f.hv, it->text, strlen(it->text), it->ts, add_both, &f);
      else
        add_both(&f, it->text, strlen(it->text));
    }
    cr_assert_eq(rf_hv_commit(f.hv, NULL), 0, "%s", rf_last_error());
    cr_assert_eq(rf_hv_sync(f.hv), 0, "%s", rf_last_error());
  }
  cr_assert_eq(rf_store_close(f.st), 0);

  /* The restart: the store, read-only, replayed into new views. */
  so.read_only = true;
  rf_store *st;
  cr_assert_eq(rf_store_open(&so, &st), 0, "%s", rf_last_error());
  rf_hv *again;
  rf_hv_options o2 = {.workers = workers_after};
  cr_assert_eq(rf_hv_create(&o2, &again), 0, "%s", rf_last_error());
  rf_store_reader *r;
  cr_assert_eq(rf_store_reader_open(st, NULL, &r), 0);
  rf_store_delta d;
  int rc;
  while ((rc = rf_store_reader_next(r, &d)) == 1)
    cr_assert(rf_hv_add_json(again, d.json, d.len) >= 0, "seed %#llx: a stored delta refused: %s",
              (unsigned long long)seed, rf_last_error());
  cr_assert_eq(rc, 0, "%s", rf_last_error());
  rf_store_reader_close(r);
  cr_assert_eq(rf_hv_commit(again, NULL), 0);
  cr_assert_eq(rf_hv_sync(again), 0, "%s", rf_last_error());
  compare(f.hv, again, seed);
  rf_hv_destroy(again);
  rf_hv_destroy(f.hv);
  rf_store_close(st);
  hvg_free(&s);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  cr_assert_eq(system(cmd), 0);
}

Test(hv_restart, views_rebuilt_from_the_store_equal_the_views_before) {
  for (uint64_t i = 0; i < 40; i++) run_stream(0x5eed0000u + i * 7919u, 1 + (uint32_t)(i % 2));
  cr_assert_gt(views_compared, 1000, "only %zu views compared", views_compared);
}

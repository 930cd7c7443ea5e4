/*
 * hv_demo.c: `rhizoflow demo`, the README's main job. It stores a small
 * bundled blog (schemas, posts, people, comments, with conflicting edits,
 * a retraction and a retracted retraction) as deltas in a store, replays
 * the store into live HyperViews, prints a post's HyperView and View, then
 * applies a stream of new deltas one at a time and shows each view change
 * and how long it took to become visible. `rhizoflow demo bfs` runs the
 * BFS demo instead.
 */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "hv_cli.h"

static const char *SCHEMAS =
    "[{\"name\": \"post\", \"transform\": {\"author\": \"person\", \"comment\": \"comment\"},"
    "  \"resolve\": {\"title\": \"most-recent\", \"rating\": \"average\", \"comments\": \"all-values\","
    "               \"tags\": \"all-values\","
    "               \"body\": {\"policy\": \"trusted-author\", \"authors\": [\"alice\"]}}},"
    " {\"name\": \"comment\", \"transform\": {\"author\": \"person\"}},"
    " {\"name\": \"person\", \"resolve\": {\"name\": \"most-recent\"}}]";

/* A delta in short form: id, timestamp, author, then pointers as
 * "role=object.context" (a reference), "role=@object" (a reference without
 * context), or "role:value" (a string; "role#n" a number). */
typedef struct demo_delta {
  const char *id;
  int64_t ts;
  const char *author;
  const char *ptrs[4];
} demo_delta;

static const demo_delta STORED[] = {
    {"d01", 100, "alice", {"person=alice.name", "name:Alice"}},
    {"d02", 101, "bob", {"person=bob.name", "name:Bob"}},
    {"d03", 102, "alice", {"post=post1.title", "title:Incremental views"}},
    {"d04", 103, "alice", {"post=post1.author", "author=@alice"}},
    {"d05", 104, "alice", {"post=post1.body", "body:Views that update themselves."}},
    {"d06", 105, "bob", {"post=post1.body", "body:Vandalised!"}},
    {"d07", 106, "bob", {"post=post1.title", "title:Incremental views, explained"}},
    {"d08", 107, "carol", {"post=post1.rating", "rating#4"}},
    {"d09", 108, "dave", {"post=post1.rating", "rating#2"}},
    {"d10", 109, "bob", {"post=post1.tags", "tags:dataflow"}},
    {"d11", 110, "carol", {"post=post1.tags", "tags:databases"}},
    {"d12", 111, "bob", {"post=post1.comments", "comment=@c1"}},
    {"d13", 112, "bob", {"comment=c1.text", "text:Nice post!", "author=@bob"}},
    {"d14", 113, "dave", {"negates=@d09"}},       /* dave takes his rating back */
    {"d15", 114, "alice", {"negates=@d07"}},      /* alice reverts bob's title */
    {"d16", 115, "bob", {"negates=@d15"}},        /* bob restores it */
};

static const demo_delta LIVE[] = {
    {"d17", 200, "carol", {"person=alice.name", "name:Alice Liddell"}},
    {"d18", 201, "erin", {"post=post1.rating", "rating#5"}},
    {"d19", 202, "carol", {"post=post1.comments", "comment=@c2"}},
    {"d20", 203, "carol", {"comment=c2.text", "text:Where is part two?", "author=@carol"}},
    {"d21", 204, "carol", {"person=carol.name", "name:Carol"}},
    {"d22", 205, "alice", {"negates=@d16"}},      /* alice reverts the title again */
    {"d23", 206, "bob", {"negates=@d13"}},        /* bob deletes his comment */
};

/* The JSON of d into buf. */
static int delta_json(const demo_delta *d, char *buf, size_t cap) {
  int n = snprintf(buf, cap,
                   "{\"id\":\"%s\",\"timestamp\":%" PRId64
                   ",\"author\":\"%s\",\"system\":\"demo\",\"pointers\":[",
                   d->id, d->ts, d->author);
  for (int i = 0; i < 4 && d->ptrs[i]; i++) {
    const char *p = d->ptrs[i];
    size_t role_len = strcspn(p, "=:#");
    const char *rest = p + role_len + 1;
    n += snprintf(buf + n, cap - (size_t)n, "%s{\"role\":\"%.*s\",\"target\":", i ? "," : "",
                  (int)role_len, p);
    if (p[role_len] == '=' && rest[0] == '@') {
      n += snprintf(buf + n, cap - (size_t)n, "{\"id\":\"%s\"}}", rest + 1);
    } else if (p[role_len] == '=') {
      size_t obj_len = strcspn(rest, ".");
      n += snprintf(buf + n, cap - (size_t)n, "{\"id\":\"%.*s\",\"context\":\"%s\"}}",
                    (int)obj_len, rest, rest + obj_len + 1);
    } else if (p[role_len] == '#') {
      n += snprintf(buf + n, cap - (size_t)n, "%s}", rest);
    } else {
      n += snprintf(buf + n, cap - (size_t)n, "\"%s\"}", rest);
    }
  }
  n += snprintf(buf + n, cap - (size_t)n, "]}");
  return n;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int check(int rc, const char *what) {
  if (rc < 0) fprintf(stderr, "rhizoflow demo: %s: %s (%s)\n", what, rf_strerror(rc), rf_last_error());
  return rc < 0;
}

static int print_view(rf_hv *hv, const char *schema, const char *object, int resolve,
                      const char *label) {
  char *json;
  int rc = rf_hv_get(hv, schema, object, RF_TIME_LATEST, resolve, &json);
  if (check(rc, "reading a view")) return 1;
  printf("%s\n  %s\n", label, json);
  rf_hv_free(json);
  return 0;
}

static int store_schema_delta(void *ctx, const char *json, size_t len) {
  int rc = rf_store_append_delta_json(ctx, json, len, NULL);
  return rc < 0 ? rc : 0;
}

/* Removes the demo's temporary store: its files, then the directory. */
static void remove_dir(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  char path[4096];
  while (d && (e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    if (unlink(path)) fprintf(stderr, "rhizoflow demo: could not remove %s\n", path);
  }
  if (d) closedir(d);
  if (rmdir(dir)) fprintf(stderr, "rhizoflow demo: could not remove %s\n", dir);
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: rhizoflow demo [--store DIR] [--workers W]\n"
          "       rhizoflow demo bfs [options]   (BFS under edge churn; demo bfs --help)\n"
          "\n"
          "Stores a small bundled blog as deltas (schemas included) in a store,\n"
          "materializes its HyperViews, then applies new deltas one by one and\n"
          "shows the views change live, with the time each change took to become\n"
          "visible in every affected view.\n"
          "\n"
          "  --store DIR   where to keep the store (default: a new temporary\n"
          "                directory, removed afterwards)\n"
          "  --workers W   dataflow worker threads (default 1)\n");
}

int rf_cli_demo(int argc, char **argv) {
  if (argc >= 1 && !strcmp(argv[0], "bfs")) return rf_cli_demo_bfs(argc - 1, argv + 1);
  const char *dir = NULL;
  uint32_t workers = 1;
  for (int i = 0; i < argc; i++) {
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(argv[i], "--store") && i + 1 < argc) {
      dir = argv[++i];
    } else if (!strcmp(argv[i], "--workers") && i + 1 < argc) {
      long w = strtol(argv[++i], NULL, 10);
      if (w < 1 || w > 64) {
        fprintf(stderr, "rhizoflow demo: --workers: expected 1 to 64, got '%s'\n", argv[i]);
        return 2;
      }
      workers = (uint32_t)w;
    } else {
      fprintf(stderr, "rhizoflow demo: unknown argument '%s' (try rhizoflow demo --help)\n",
              argv[i]);
      return 2;
    }
  }
  char tmp[] = "/tmp/rhizoflow-demo-XXXXXX";
  int own_dir = !dir;
  if (own_dir && !(dir = mkdtemp(tmp))) {
    perror("rhizoflow demo: creating a temporary directory");
    return 1;
  }

  /* 1. Store the bundled blog: schemas, then deltas. */
  rf_store_options so = rf_store_options_default();
  so.dir = dir;
  so.durability = RF_STORE_NONE;
  rf_store *st;
  if (check(rf_store_open(&so, &st), "opening the store")) return 1;
  rf_hv_options ho = {.workers = workers};
  rf_hv *hv;
  if (check(rf_hv_create(&ho, &hv), "starting the views")) return 1;
  int status = 1;
  char buf[1024];
  if (check(rf_hv_schema_deltas(hv, SCHEMAS, strlen(SCHEMAS), 1, store_schema_delta, st),
            "defining the schemas"))
    goto out;
  size_t n_stored = sizeof STORED / sizeof STORED[0];
  for (size_t i = 0; i < n_stored; i++) {
    int n = delta_json(&STORED[i], buf, sizeof buf);
    if (check(rf_store_append_delta_json(st, buf, (size_t)n, NULL), "storing a delta")) goto out;
  }
  printf("Stored 3 schemas (post, comment, person) and %zu blog deltas in %s.\n", n_stored, dir);

  /* 2. Replay the store into live views. */
  rf_store_reader *r;
  if (check(rf_store_reader_open(st, NULL, &r), "reading the store")) goto out;
  double t0 = now_ms();
  int rc = rf_hv_cli_load(st, r, hv, "demo", NULL);
  rf_store_reader_close(r);
  if (rc || check(rf_hv_commit(hv, NULL), "commit") || check(rf_hv_sync(hv), "sync")) goto out;
  printf("Replayed the store and materialized every view in %.2f ms.\n\n", now_ms() - t0);
  if (print_view(hv, "post", "post1", 0,
                 "HyperView of post1 under schema 'post' (author and comments expanded):") ||
      print_view(hv, "post", "post1", 1,
                 "\nView of post1 (title: most-recent; body: alice trusted; rating: average of "
                 "live ratings, dave's retracted; tags, comments: all values):"))
    goto out;

  /* 3. New deltas, one at a time: the change stream and the latency. */
  rf_hv_sub *sub;
  if (check(rf_hv_subscribe(hv, "post", 0, &sub), "subscribing")) goto out;
  printf("\nNew deltas arrive one by one; each is stored, then applied, and every\n"
         "change to a 'post' HyperView (at any depth) is printed:\n");
  double worst = 0, sum = 0;
  size_t n_live = sizeof LIVE / sizeof LIVE[0];
  for (size_t i = 0; i < n_live; i++) {
    int n = delta_json(&LIVE[i], buf, sizeof buf);
    if (check(rf_store_append_delta_json(st, buf, (size_t)n, NULL), "storing a delta")) break;
    double s = now_ms();
    if (check(rf_hv_add_json(hv, buf, (size_t)n), "adding a delta") ||
        check(rf_hv_commit(hv, NULL), "commit") || check(rf_hv_sync(hv), "sync"))
      break;
    double ms = now_ms() - s;
    sum += ms;
    if (ms > worst) worst = ms;
    printf("\n+ %s by %s: visible in every view after %.3f ms\n", LIVE[i].id, LIVE[i].author, ms);
    rf_hv_change c;
    while ((rc = rf_hv_sub_next(sub, &c, 0)) == 1)
      if (!strcmp(c.object, "post1"))
        printf("    %s %s.%s %s%s%s%s\n", c.diff > 0 ? "+" : "-", c.via, c.property, c.delta,
               strcmp(c.via, c.object) ? " (nested: the '" : "",
               strcmp(c.via, c.object) ? c.schema : "",
               strcmp(c.via, c.object) ? "' view embedded in post1)" : "");
  }
  rf_hv_unsubscribe(sub);
  printf("\nUpdate latency over %zu single-delta batches: mean %.3f ms, worst %.3f ms.\n", n_live,
         sum / (double)n_live, worst);
  if (!print_view(hv, "post", "post1", 1, "\nView of post1 now:")) status = 0;
out:
  rf_hv_destroy(hv);
  rf_store_close(st);
  if (own_dir) remove_dir(dir);
  return status;
}

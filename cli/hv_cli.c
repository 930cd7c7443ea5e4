/*
 * hv_cli.c: the HyperViews subcommands: `schema add`, `view` and `watch`.
 * Each opens the store (DESIGN §8), replays its deltas into an rf_hv
 * (rhizoflow.h, "HyperViews"), and then adds a schema, prints views, or
 * follows the log as deltas arrive and prints the change stream.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "common/alloc.h"
#include "hv_cli.h"

static void fail_msg(const char *cmd, const char *what, int rc) {
  fprintf(stderr, "rhizoflow %s: %s: %s (%s)\n", cmd, what, rf_strerror(rc), rf_last_error());
}

int rf_hv_cli_load(rf_store *st, rf_store_reader *r, rf_hv *hv, const char *cmd,
                   uint64_t *added) {
  rf_store_delta d;
  int rc;
  uint64_t n = 0;
  while ((rc = rf_store_reader_next(r, &d)) == 1) {
    int a = rf_hv_add_json(hv, d.json, d.len);
    if (a == RF_EINVAL) {
      fprintf(stderr,
              "rhizoflow %s: stored delta at segment %" PRIu64 " offset %" PRIu64
              " not used: %s\n",
              cmd, d.pos.segment, d.pos.offset, rf_last_error());
      continue;
    }
    if (a < 0) {
      fail_msg(cmd, "adding a stored delta", a);
      return a;
    }
    n += a == 0;
  }
  if (rc < 0) {
    fail_msg(cmd, "reading the store", rc);
    return rc;
  }
  if (added) *added = n;
  return 0;
}

/* Options shared by the three commands. */
typedef struct hv_opts {
  const char *store;
  uint32_t workers;
  int resolve, all;
  int64_t as_of;
  const char *args[2];
  int n_args;
} hv_opts;

static int parse(const char *cmd, int argc, char **argv, hv_opts *o, int max_args,
                 void (*usage)(FILE *)) {
  memset(o, 0, sizeof *o);
  o->workers = 1;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout);
      return -1;
    } else if (!strcmp(a, "--store") && i + 1 < argc) {
      o->store = argv[++i];
    } else if (!strcmp(a, "--workers") && i + 1 < argc) {
      char *end;
      long w = strtol(argv[++i], &end, 10);
      if (*end || w < 1 || w > 64) {
        fprintf(stderr, "rhizoflow %s: --workers: expected 1 to 64, got '%s'\n", cmd, argv[i]);
        return 2;
      }
      o->workers = (uint32_t)w;
    } else if (!strcmp(a, "--as-of") && i + 1 < argc) {
      char *end;
      long long t = strtoll(argv[++i], &end, 10);
      if (*end || t <= 0) {
        fprintf(stderr, "rhizoflow %s: --as-of: expected a positive delta timestamp, got '%s'\n",
                cmd, argv[i]);
        return 2;
      }
      o->as_of = t;
    } else if (!strcmp(a, "--resolve")) {
      o->resolve = 1;
    } else if (!strcmp(a, "--all")) {
      o->all = 1;
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "rhizoflow %s: unknown option '%s' (try --help)\n", cmd, a);
      return 2;
    } else if (o->n_args < max_args) {
      o->args[o->n_args++] = a;
    } else {
      fprintf(stderr, "rhizoflow %s: unexpected argument '%s' (try --help)\n", cmd, a);
      return 2;
    }
  }
  return 0;
}

/* Opens the store and an rf_hv with every stored delta (up to as_of). */
static int open_views(const char *cmd, const hv_opts *o, int read_only, rf_store **st,
                      rf_hv **hv, rf_store_reader **reader) {
  rf_store_options so = rf_store_options_default();
  so.dir = o->store;
  so.read_only = read_only;
  int rc = rf_store_open(&so, st);
  if (rc) {
    fail_msg(cmd, "opening the store", rc);
    return 1;
  }
  const char *note = rf_store_recovery_note(*st);
  if (note) fprintf(stderr, "rhizoflow %s: store: %s\n", cmd, note);
  rf_hv_options ho = {.workers = o->workers};
  rc = rf_hv_create(&ho, hv);
  if (rc) {
    fail_msg(cmd, "starting the views", rc);
    rf_store_close(*st);
    return 1;
  }
  rf_store_read_options ro = {.until_timestamp = o->as_of};
  rc = rf_store_reader_open(*st, &ro, reader);
  if (!rc) rc = rf_hv_cli_load(*st, *reader, *hv, cmd, NULL);
  if (!rc) rc = rf_hv_commit(*hv, NULL);
  if (!rc) rc = rf_hv_sync(*hv);
  if (rc) {
    if (rc != RF_EINVAL) fail_msg(cmd, "materializing the views", rc);
    rf_store_reader_close(*reader);
    rf_hv_destroy(*hv);
    rf_store_close(*st);
    return 1;
  }
  return 0;
}

static void close_views(rf_store *st, rf_hv *hv, rf_store_reader *r) {
  rf_store_reader_close(r);
  rf_hv_destroy(hv);
  rf_store_close(st);
}

/* ---- schema add -------------------------------------------------------- */

static void schema_usage(FILE *f) {
  fprintf(f,
          "usage: rhizoflow schema add [--store DIR] FILE.json\n"
          "\n"
          "Defines or changes HyperSchemas: FILE holds one schema or an array,\n"
          "  {\"name\": \"post\", \"selection\": \"target-context\",\n"
          "   \"transform\": {\"author\": \"person\"},\n"
          "   \"resolve\": {\"rating\": \"average\"}}\n"
          "(docs/hyperviews.md). The schema is stored as deltas: new rules, and\n"
          "negations of the rules they replace. A definition that would make the\n"
          "transforms cyclic is rejected and nothing is stored.\n"
          "\n"
          "  --store DIR   the store (default ./rhizoflow-data)\n");
}

typedef struct collected {
  char **json;
  size_t n, cap;
} collected;

static int collect_delta(void *ctx, const char *json, size_t len) {
  collected *c = ctx;
  if (c->n == c->cap) {
    size_t cap = c->cap ? 2 * c->cap : 16;
    char **p = rf__realloc(c->json, cap * sizeof *p);
    if (!p) return RF_ENOMEM;
    c->json = p;
    c->cap = cap;
  }
  char *s = rf__malloc(len + 1);
  if (!s) return RF_ENOMEM;
  memcpy(s, json, len);
  s[len] = 0;
  c->json[c->n++] = s;
  return 0;
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
  if (!f) return NULL;
  size_t cap = 4096, n = 0;
  char *buf = rf__malloc(cap);
  size_t got;
  while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) {
      char *b = rf__realloc(buf, cap *= 2);
      if (!b) {
        rf__free(buf);
        buf = NULL;
      }
      buf = b;
    }
  }
  if (f != stdin) fclose(f);
  *len = n;
  return buf;
}

int rf_cli_schema(int argc, char **argv) {
  if (argc < 1 || strcmp(argv[0], "add") != 0) {
    if (argc >= 1 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))) {
      schema_usage(stdout);
      return 0;
    }
    fprintf(stderr, "rhizoflow schema: expected 'add' (try rhizoflow schema --help)\n");
    return 2;
  }
  hv_opts o;
  int rc = parse("schema add", argc - 1, argv + 1, &o, 1, schema_usage);
  if (rc) return rc < 0 ? 0 : rc;
  if (o.n_args != 1) {
    fprintf(stderr, "rhizoflow schema add: missing FILE.json (try --help)\n");
    return 2;
  }
  size_t len;
  char *text = read_file(o.args[0], &len);
  if (!text) {
    fprintf(stderr, "rhizoflow schema add: cannot read '%s': %s\n", o.args[0], strerror(errno));
    return 1;
  }
  rf_store *st;
  rf_hv *hv;
  rf_store_reader *r;
  if (open_views("schema add", &o, 0, &st, &hv, &r)) {
    rf__free(text);
    return 1;
  }
  collected c = {0};
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  int64_t ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
  rc = rf_hv_schema_deltas(hv, text, len, ms, collect_delta, &c);
  int status = 0;
  if (rc) {
    fprintf(stderr, "rhizoflow schema add: %s: %s\n", o.args[0], rf_last_error());
    status = rc == RF_EINVAL ? 2 : 1;
  }
  size_t stored = 0;
  for (size_t i = 0; !status && i < c.n; i++) {
    int a = rf_store_append_delta_json(st, c.json[i], strlen(c.json[i]), NULL);
    if (a < 0) {
      fail_msg("schema add", "appending a schema delta", a);
      status = 1;
    }
    stored += a == 0 || a == 1;
  }
  if (!status && (rc = rf_store_sync(st))) {
    fail_msg("schema add", "syncing the store", rc);
    status = 1;
  }
  if (!status)
    printf("schema add: %zu delta%s stored (%s)\n", stored, stored == 1 ? "" : "s",
           stored ? "rules and negations of the rules they replace" : "no change");
  for (size_t i = 0; i < c.n; i++) rf__free(c.json[i]);
  rf__free(c.json);
  rf__free(text);
  close_views(st, hv, r);
  return status;
}

/* ---- view ------------------------------------------------------------- */

static void view_usage(FILE *f) {
  fprintf(f,
          "usage: rhizoflow view [--store DIR] SCHEMA OBJECT [--resolve] [--as-of T]\n"
          "       rhizoflow view [--store DIR] SCHEMA --all [--resolve] [--as-of T]\n"
          "\n"
          "Prints the HyperView of OBJECT under SCHEMA as JSON (docs/hyperviews.md),\n"
          "or with --resolve its View (each property resolved by the schema's\n"
          "policy). --all prints every object's, one JSON line each, sorted by id.\n"
          "\n"
          "  --store DIR   the store (default ./rhizoflow-data)\n"
          "  --as-of T     only the deltas with timestamp <= T: the past\n"
          "  --workers W   dataflow worker threads (default 1)\n"
          "exit status: 0 ok, 1 failure, 2 usage, 3 no such schema\n");
}

typedef struct print_ctx {
  rf_hv *hv;
  const char *schema;
  int resolve;
} print_ctx;

static int print_object(void *ctx, const char *object) {
  print_ctx *p = ctx;
  char *json;
  int rc = rf_hv_get(p->hv, p->schema, object, RF_TIME_LATEST, p->resolve, &json);
  if (rc) return rc;
  puts(json);
  rf_hv_free(json);
  return 0;
}

int rf_cli_view(int argc, char **argv) {
  hv_opts o;
  int rc = parse("view", argc, argv, &o, 2, view_usage);
  if (rc) return rc < 0 ? 0 : rc;
  if (o.n_args != (o.all ? 1 : 2)) {
    fprintf(stderr, "rhizoflow view: expected SCHEMA and OBJECT, or SCHEMA --all (try --help)\n");
    return 2;
  }
  rf_store *st;
  rf_hv *hv;
  rf_store_reader *r;
  if (open_views("view", &o, 1, &st, &hv, &r)) return 1;
  print_ctx p = {hv, o.args[0], o.resolve};
  rc = o.all ? rf_hv_objects(hv, o.args[0], RF_TIME_LATEST, print_object, &p)
             : print_object(&p, o.args[1]);
  int status = 0;
  if (rc == RF_ENOTFOUND) {
    fprintf(stderr, "rhizoflow view: %s\n", rf_last_error());
    status = 3;
  } else if (rc) {
    fail_msg("view", "reading the view", rc);
    status = 1;
  }
  close_views(st, hv, r);
  return status;
}

/* ---- watch ------------------------------------------------------------ */

static void watch_usage(FILE *f) {
  fprintf(f,
          "usage: rhizoflow watch [--store DIR] SCHEMA [--workers W]\n"
          "\n"
          "Follows the store as deltas are ingested (by this or another process)\n"
          "and prints every change of SCHEMA's materialized HyperViews as a JSON\n"
          "line: {\"time\", \"object\", \"schema\", \"via\", \"property\", \"delta\",\n"
          "\"diff\"} (docs/hyperviews.md, \"Change streams\"). Stops on SIGINT.\n"
          "\n"
          "  --store DIR   the store (default ./rhizoflow-data)\n"
          "  --workers W   dataflow worker threads (default 1)\n");
}

static volatile sig_atomic_t stop_watch;
static void on_sigint(int sig) { stop_watch = 1; }

static void print_str_field(const char *key, const char *s, int first) {
  printf("%s\"%s\":\"", first ? "" : ",", key);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') printf("\\%c", *p);
    else if (*p < 0x20) printf("\\u%04x", *p);
    else putchar(*p);
  }
  putchar('"');
}

int rf_cli_watch(int argc, char **argv) {
  hv_opts o;
  int rc = parse("watch", argc, argv, &o, 1, watch_usage);
  if (rc) return rc < 0 ? 0 : rc;
  if (o.n_args != 1) {
    fprintf(stderr, "rhizoflow watch: expected SCHEMA (try --help)\n");
    return 2;
  }
  rf_store *st;
  rf_hv *hv;
  rf_store_reader *r;
  if (open_views("watch", &o, 1, &st, &hv, &r)) return 1;
  rf_hv_sub *sub;
  rc = rf_hv_subscribe(hv, o.args[0], 0, &sub);
  if (rc) {
    fail_msg("watch", "subscribing", rc);
    close_views(st, hv, r);
    return 1;
  }
  signal(SIGINT, on_sigint);
  signal(SIGTERM, on_sigint);
  fprintf(stderr, "rhizoflow watch: following schema '%s' (Ctrl-C stops)\n", o.args[0]);
  int status = 0;
  while (!stop_watch) {
    uint64_t added = 0;
    rc = rf_hv_cli_load(st, r, hv, "watch", &added);
    if (!rc && added) {
      rc = rf_hv_commit(hv, NULL);
      if (!rc) rc = rf_hv_sync(hv);
    }
    if (rc) {
      status = 1;
      break;
    }
    rf_hv_change c;
    int n;
    while ((n = rf_hv_sub_next(sub, &c, added ? 0 : 100)) != 0) {
      if (n == RF_HV_LAGGED) {
        printf("{\"lagged\":true,\"lost\":%" PRIu64 ",\"resume_time\":%" PRIu64 "}\n", c.lost,
               (uint64_t)c.time);
        continue;
      }
      if (n < 0) {
        fail_msg("watch", "reading changes", n);
        status = 1;
        break;
      }
      printf("{\"time\":%" PRIu64, (uint64_t)c.time);
      print_str_field("object", c.object, 0);
      print_str_field("schema", c.schema, 0);
      print_str_field("via", c.via, 0);
      print_str_field("property", c.property, 0);
      print_str_field("delta", c.delta, 0);
      printf(",\"diff\":%" PRId64 "}\n", (int64_t)c.diff);
    }
    fflush(stdout);
    if (status) break;
  }
  rf_hv_unsubscribe(sub);
  close_views(st, hv, r);
  return status;
}

/*
 * test_store_public.c: the store through the public header only
 * (rhizoflow.h, "Durable delta store"): options and their errors, appending
 * deltas (new, duplicate, bad with the field named), batch ingest of JSON
 * Lines with its callbacks and report, the delta reader (log order,
 * canonical NUL-terminated JSON, bounds by position and by timestamp,
 * tailing, continuing from a position, a reader thread beside the writer),
 * group commit with rf_store_wait_durable, collection updates (append,
 * replay by name and up to a time, tailing from the next position, a batch
 * too large for one record split and still whole), statistics and the
 * check, and errors naming segment and offset.
 */
#include <pthread.h>

#include "unit/store_helpers/store_test.h"
#include "rhizoflow.h"

#define D(id, ts)                                                                                  \
  "{\"id\":\"" id "\",\"timestamp\":" #ts ",\"author\":\"ann\",\"system\":\"s\",\"pointers\":[{"   \
  "\"role\":\"r\",\"target\":{\"id\":\"o\"}}]}"

static rf_store *open_at(const char *dir, rf_store_durability d) {
  rf_store_options o = rf_store_options_default();
  o.dir = dir;
  o.durability = d;
  rf_store *st;
  cr_assert_eq(rf_store_open(&o, &st), 0, "%s", rf_last_error());
  return st;
}

Test(store_public, options_and_errors) {
  rf_store_options o = rf_store_options_default();
  cr_assert_str_eq(o.dir, RF_STORE_DEFAULT_DIR);
  cr_assert_eq(o.durability, RF_STORE_FSYNC);
  cr_assert_eq(o.group_n, 64);
  cr_assert_eq(o.group_ms, 10);
  cr_assert_eq(o.segment_size, 64u << 20);
  cr_assert_not(o.read_only);
  char dir[64];
  scratch_dir(dir, sizeof dir);
  rf_store *st, *st2;
  o.dir = dir;
  cr_assert_eq(rf_store_open(&o, NULL), RF_EINVAL);
  o.durability = (rf_store_durability)7;
  cr_assert_eq(rf_store_open(&o, &st), RF_EINVAL);
  cr_assert(strstr(rf_last_error(), "durability") != NULL, "%s", rf_last_error());
  o.durability = RF_STORE_NONE;
  o.read_only = true;
  cr_assert_eq(rf_store_open(&o, &st), RF_ENOTFOUND);
  cr_assert(strstr(rf_last_error(), dir) != NULL, "%s", rf_last_error());
  o.read_only = false;
  cr_assert_eq(rf_store_open(&o, &st), 0, "%s", rf_last_error());
  cr_assert_null(rf_store_recovery_note(st));
  cr_assert_eq(rf_store_open(&o, &st2), RF_EIO); /* one writer */
  o.read_only = true;
  cr_assert_eq(rf_store_open(&o, &st2), 0, "%s", rf_last_error());
  cr_assert_eq(rf_store_append_delta_json(st2, D("x", 1), strlen(D("x", 1)), NULL), RF_ESTATE);
  rf_value row[1] = {1};
  rf_diff diff[1] = {1};
  cr_assert_eq(rf_store_append_updates(st2, "c", 1, 1, row, diff, 1, NULL), RF_ESTATE);
  cr_assert_eq(rf_store_close(st2), 0);
  /* NULL arguments */
  cr_assert_eq(rf_store_append_delta_json(NULL, "{}", 2, NULL), RF_EINVAL);
  cr_assert_eq(rf_store_append_delta_json(st, NULL, 2, NULL), RF_EINVAL);
  cr_assert_eq(rf_store_ingest_jsonl(st, NULL, NULL, NULL), RF_EINVAL);
  cr_assert_eq(rf_store_reader_open(st, NULL, NULL), RF_EINVAL);
  cr_assert_eq(rf_store_replay_updates(st, NULL, NULL, NULL, NULL, NULL), RF_EINVAL);
  cr_assert_eq(rf_store_get_stats(st, NULL), RF_EINVAL);
  cr_assert_eq(rf_store_sync(NULL), RF_EINVAL);
  cr_assert_eq(rf_store_check(NULL, NULL, NULL, NULL), RF_EINVAL);
  cr_assert_eq(rf_store_reader_next(NULL, NULL), RF_EINVAL);
  rf_store_reader_close(NULL);
  cr_assert_eq(rf_store_close(NULL), 0);
  cr_assert_null(rf_store_recovery_note(NULL));
  /* bad updates, each named */
  cr_assert_eq(rf_store_append_updates(st, NULL, 1, 1, row, diff, 1, NULL), RF_EINVAL);
  cr_assert(strstr(rf_last_error(), "no collection name") != NULL, "%s", rf_last_error());
  cr_assert_eq(rf_store_append_updates(st, "", 1, 1, row, diff, 1, NULL), RF_EINVAL);
  cr_assert_eq(rf_store_append_updates(st, "c", 1, 0, row, diff, 1, NULL), RF_EINVAL);
  cr_assert(strstr(rf_last_error(), "collection 'c': arity 0") != NULL, "%s", rf_last_error());
  cr_assert_eq(rf_store_append_updates(st, "c", 1, RF_MAX_COLS + 1, row, diff, 1, NULL), RF_EINVAL);
  cr_assert_eq(rf_store_append_updates(st, "c", 1, 1, NULL, diff, 1, NULL), RF_EINVAL);
  char *longname = malloc(5000);
  memset(longname, 'n', 4999);
  longname[4999] = 0;
  cr_assert_eq(rf_store_append_updates(st, longname, 1, 1, row, diff, 1, NULL), RF_EINVAL);
  cr_assert(strstr(rf_last_error(), "over the 4096-byte limit") != NULL, "%s", rf_last_error());
  free(longname);
  cr_assert_eq(rf_store_append_updates(st, "c", 1, 1, row, diff, 0, NULL), 0); /* nothing */
  rf_store_stats s;
  cr_assert_eq(rf_store_get_stats(st, &s), 0);
  cr_assert_eq(s.records, 0);
  cr_assert_eq(rf_store_close(st), 0);
  remove_dir(dir);
}

Test(store_public, deltas_append_and_read_back) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  rf_store *st = open_at(dir, RF_STORE_FSYNC);
  const char *d[] = {D("a", 30), D("b", 10), D("c", 20)};
  rf_store_pos pos[3];
  for (int i = 0; i < 3; i++)
    cr_assert_eq(rf_store_append_delta_json(st, d[i], strlen(d[i]), &pos[i]), 0, "%s",
                 rf_last_error());
  /* the same delta spelled otherwise is a duplicate */
  const char *again = "{ \"timestamp\": 30, \"id\": \"a\", \"system\": \"s\", \"author\": \"ann\","
                      " \"pointers\": [{\"target\": {\"id\": \"o\"}, \"role\": \"r\"}] }";
  cr_assert_eq(rf_store_append_delta_json(st, again, strlen(again), NULL), RF_STORE_DUPLICATE);
  const char *bad = "{\"id\":\"x\",\"timestamp\":1,\"author\":\"a\",\"system\":\"s\",\"pointers\":"
                    "[{\"role\":\"r\",\"target\":null}]}";
  cr_assert_eq(rf_store_append_delta_json(st, bad, strlen(bad), NULL), RF_EINVAL);
  cr_assert(strstr(rf_last_error(), "field 'pointers[0].target'") != NULL, "%s", rf_last_error());
  /* everything, in log order, canonical and NUL-terminated */
  rf_store_reader *r;
  cr_assert_eq(rf_store_reader_open(st, NULL, &r), 0);
  rf_store_delta x;
  int64_t ts[] = {30, 10, 20};
  for (int i = 0; i < 3; i++) {
    cr_assert_eq(rf_store_reader_next(r, &x), 1);
    cr_assert_str_eq(x.json, d[i]);
    cr_assert_eq(x.len, strlen(d[i]));
    cr_assert_eq(x.timestamp, ts[i]);
    cr_assert(x.pos.segment == pos[i].segment && x.pos.offset == pos[i].offset);
  }
  cr_assert_eq(rf_store_reader_next(r, &x), 0); /* no more for now */
  /* tailing: a new append shows up on the same reader */
  cr_assert_eq(rf_store_append_delta_json(st, D("d", 5), strlen(D("d", 5)), NULL), 0);
  cr_assert_eq(rf_store_reader_next(r, &x), 1);
  cr_assert_str_eq(x.json, D("d", 5));
  rf_store_pos here = rf_store_reader_position(r);
  rf_store_reader_close(r);
  /* continuing from a position later */
  cr_assert_eq(rf_store_append_delta_json(st, D("e", 6), strlen(D("e", 6)), NULL), 0);
  rf_store_read_options o;
  memset(&o, 0, sizeof o);
  o.from = here;
  cr_assert_eq(rf_store_reader_open(st, &o, &r), 0);
  cr_assert_eq(rf_store_reader_next(r, &x), 1);
  cr_assert_str_eq(x.json, D("e", 6));
  cr_assert_eq(rf_store_reader_next(r, &x), 0);
  rf_store_reader_close(r);
  /* up to a log position: the log as it was when c came */
  memset(&o, 0, sizeof o);
  o.until = pos[2];
  cr_assert_eq(rf_store_reader_open(st, &o, &r), 0);
  int n = 0;
  while (rf_store_reader_next(r, &x) == 1) n++;
  cr_assert_eq(n, 2);
  rf_store_reader_close(r);
  /* up to a timestamp: those at or before 20, in log order */
  memset(&o, 0, sizeof o);
  o.until_timestamp = 20;
  cr_assert_eq(rf_store_reader_open(st, &o, &r), 0);
  const char *want[] = {D("b", 10), D("c", 20), D("d", 5), D("e", 6)};
  for (int i = 0; i < 4; i++) {
    cr_assert_eq(rf_store_reader_next(r, &x), 1);
    cr_assert_str_eq(x.json, want[i]);
  }
  cr_assert_eq(rf_store_reader_next(r, &x), 0);
  rf_store_reader_close(r);
  o.until_timestamp = -1;
  cr_assert_eq(rf_store_reader_open(st, &o, &r), RF_EINVAL);
  cr_assert_eq(rf_store_close(st), 0);
  remove_dir(dir);
}

typedef struct calls {
  int progress, rejects, batches;
  uint64_t last_bad_line;
  char last_msg[256];
  uint64_t batch_first, batch_last, batch_bad;
} calls;

static void c_progress(void *ctx, const rf_store_ingest_report *r) {
  calls *c = ctx;
  c->progress++;
  cr_assert_eq(r->lines % 4, 0);
}
static void c_reject(void *ctx, uint64_t line, const char *msg) {
  calls *c = ctx;
  c->rejects++;
  c->last_bad_line = line;
  snprintf(c->last_msg, sizeof c->last_msg, "%s", msg);
}
static void c_batch(void *ctx, uint64_t first, uint64_t last, uint64_t bad) {
  calls *c = ctx;
  c->batches++;
  c->batch_first = first;
  c->batch_last = last;
  c->batch_bad = bad;
}

Test(store_public, ingest_in_batches) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  rf_store *st = open_at(dir, RF_STORE_GROUP);
  /* 10 lines in batches of 4: lines 5-8 hold a bad one (7) */
  char input[4096] = "";
  for (int i = 1; i <= 10; i++) {
    char line[300];
    if (i == 7)
      snprintf(line, sizeof line, "{\"id\":\"n7\",\"timestamp\":7,\"author\":\"\",\"system\":\"s\"}\n");
    else
      snprintf(line, sizeof line,
               "{\"id\":\"n%d\",\"timestamp\":%d,\"author\":\"a\",\"system\":\"s\",\"pointers\":"
               "[{\"role\":\"r\",\"target\":%d}]}\n",
               i % 9 == 0 ? 1 : i, i % 9 == 0 ? 1 : i, i % 9 == 0 ? 1 : i); /* line 9 repeats line 1 */
    strcat(input, line);
  }
  FILE *f = fmemopen(input, strlen(input), "r");
  calls c;
  memset(&c, 0, sizeof c);
  rf_store_ingest_options o;
  memset(&o, 0, sizeof o);
  o.batch_lines = 4;
  o.progress_every = 4;
  o.progress = c_progress;
  o.on_reject = c_reject;
  o.on_batch_rejected = c_batch;
  o.ctx = &c;
  rf_store_ingest_report rep;
  cr_assert_eq(rf_store_ingest_jsonl(st, f, &o, &rep), RF_EINVAL);
  fclose(f);
  cr_assert(strstr(rf_last_error(), "line 7: field 'author': must be a non-empty string") != NULL,
            "%s", rf_last_error());
  cr_assert_eq(rep.lines, 10);
  cr_assert_eq(rep.accepted, 5); /* 1-4, 10 */
  cr_assert_eq(rep.duplicates, 1); /* 9 */
  cr_assert_eq(rep.rejected_lines, 1);
  cr_assert_eq(rep.batches, 2);
  cr_assert_eq(rep.rejected_batches, 1);
  cr_assert_eq(c.progress, 2);
  cr_assert_eq(c.rejects, 1);
  cr_assert_eq(c.last_bad_line, 7);
  cr_assert(strstr(c.last_msg, "field 'author'") != NULL, "%s", c.last_msg);
  cr_assert(c.batches == 1 && c.batch_first == 5 && c.batch_last == 8 && c.batch_bad == 1);
  rf_store_stats s;
  cr_assert_eq(rf_store_get_stats(st, &s), 0);
  cr_assert_eq(s.deltas, 5);
  cr_assert_eq(s.batches, 2);
  /* everything accepted is acknowledged by the time ingest returns: no
   * options, no report, all good */
  const char *more = D("m", 3) "\n\n";
  f = fmemopen((void *)more, strlen(more), "r");
  cr_assert_eq(rf_store_ingest_jsonl(st, f, NULL, NULL), 0, "%s", rf_last_error());
  fclose(f);
  cr_assert_eq(rf_store_close(st), 0);
  /* a restart sees the same */
  st = open_at(dir, RF_STORE_FSYNC);
  cr_assert_eq(rf_store_get_stats(st, &s), 0);
  cr_assert_eq(s.deltas, 6);
  uint64_t problems = 99;
  cr_assert_eq(rf_store_check(st, NULL, NULL, &problems), 0, "%s", rf_last_error());
  cr_assert_eq(problems, 0);
  cr_assert_eq(rf_store_close(st), 0);
  remove_dir(dir);
}

typedef struct tail_arg {
  rf_store *st;
  int want, seen, bad;
} tail_arg;

static void *tail_thread(void *a) {
  tail_arg *t = a;
  rf_store_reader *r;
  if (rf_store_reader_open(t->st, NULL, &r) != 0) {
    t->bad = 1;
    return NULL;
  }
  rf_store_delta x;
  while (t->seen < t->want) {
    int rc = rf_store_reader_next(r, &x);
    if (rc < 0) {
      t->bad = 2;
      break;
    }
    if (rc == 0) {
      sched_yield();
      continue;
    }
    char want[64];
    snprintf(want, sizeof want, "{\"id\":\"t%d\",", t->seen);
    if (strncmp(x.json, want, strlen(want)) != 0 || x.json[x.len] != 0) t->bad = 3;
    t->seen++;
  }
  rf_store_reader_close(r);
  return NULL;
}

Test(store_public, a_reader_thread_tails_the_writer) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  rf_store_options o = rf_store_options_default();
  o.dir = dir;
  o.durability = RF_STORE_NONE;
  o.segment_size = 8192;
  rf_store *st;
  cr_assert_eq(rf_store_open(&o, &st), 0);
  enum { N = 3000 };
  tail_arg t = {st, N, 0, 0};
  pthread_t th;
  cr_assert_eq(pthread_create(&th, NULL, tail_thread, &t), 0);
  /* half appended one by one, half ingested in batches of 7 */
  size_t cap = N * 200, len = 0;
  char *input = malloc(cap);
  for (int i = 0; i < N; i++) {
    char buf[200];
    int n = snprintf(buf, sizeof buf,
                     "{\"id\":\"t%d\",\"timestamp\":%d,\"author\":\"a\",\"system\":\"s\","
                     "\"pointers\":[{\"role\":\"r\",\"target\":true}]}",
                     i, i + 1);
    if (i < N / 2) {
      cr_assert_eq(rf_store_append_delta_json(st, buf, (size_t)n, NULL), 0);
    } else {
      memcpy(input + len, buf, (size_t)n);
      len += (size_t)n;
      input[len++] = '\n';
    }
  }
  FILE *f = fmemopen(input, len, "r");
  rf_store_ingest_options io;
  memset(&io, 0, sizeof io);
  io.batch_lines = 7;
  cr_assert_eq(rf_store_ingest_jsonl(st, f, &io, NULL), 0, "%s", rf_last_error());
  fclose(f);
  pthread_join(th, NULL);
  cr_assert_eq(t.bad, 0, "reader fault %d after %d deltas", t.bad, t.seen);
  cr_assert_eq(t.seen, N);
  free(input);
  cr_assert_eq(rf_store_close(st), 0);
  remove_dir(dir);
}

Test(store_public, group_commit_and_wait_durable) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  rf_store_options o = rf_store_options_default();
  o.dir = dir;
  o.durability = RF_STORE_GROUP;
  o.group_n = 100000;
  o.group_ms = 5;
  rf_store *st;
  cr_assert_eq(rf_store_open(&o, &st), 0);
  rf_store_pos pos;
  cr_assert_eq(rf_store_append_delta_json(st, D("g", 1), strlen(D("g", 1)), &pos), 1);
  cr_assert_eq(rf_store_wait_durable(st, pos), 0, "%s", rf_last_error());
  rf_value row[2] = {1, 2};
  rf_diff diff[1] = {1};
  cr_assert_eq(rf_store_append_updates(st, "c", 1, 2, row, diff, 1, &pos), 1);
  cr_assert_eq(rf_store_wait_durable(st, pos), 0, "%s", rf_last_error());
  pos.offset += 1000;
  cr_assert_eq(rf_store_wait_durable(st, pos), RF_EINVAL);
  cr_assert_eq(rf_store_sync(st), 0);
  cr_assert_eq(rf_store_close(st), 0);
  remove_dir(dir);
}

/* ---- collection updates --------------------------------------------------- */

typedef struct got {
  int calls;
  char names[16][16];
  rf_time times[16];
  size_t rows;
  rf_value sum; /* of every word times its diff */
  int stop_at;  /* return 42 at this call (0: never) */
} got;

static int on_updates(void *ctx, const char *collection, rf_time time, uint32_t arity,
                      const rf_value *rows, const rf_diff *diffs, size_t n) {
  got *g = ctx;
  if (g->calls < 16) {
    snprintf(g->names[g->calls], sizeof g->names[0], "%s", collection);
    g->times[g->calls] = time;
  }
  g->calls++;
  for (size_t i = 0; i < n; i++)
    for (uint32_t c = 0; c < arity; c++) g->sum += rows[i * arity + c] * (rf_value)diffs[i];
  g->rows += n;
  return g->calls == g->stop_at ? 42 : 0;
}

Test(store_public, updates_append_and_replay) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  rf_store *st = open_at(dir, RF_STORE_NONE);
  rf_value e1[] = {1, 2, 2, 3, 3, 1};
  rf_diff d1[] = {1, 1, 1};
  rf_value e2[] = {2, 3};
  rf_diff d2[] = {-1};
  rf_value n1[] = {7};
  rf_diff dn[] = {5};
  rf_store_pos p1, p2, p3;
  cr_assert_eq(rf_store_append_updates(st, "edges", 1, 2, e1, d1, 3, &p1), 0, "%s", rf_last_error());
  cr_assert_eq(rf_store_append_delta_json(st, D("between", 1), strlen(D("between", 1)), NULL), 0);
  cr_assert_eq(rf_store_append_updates(st, "nodes", 1, 1, n1, dn, 1, &p2), 0);
  cr_assert_eq(rf_store_append_updates(st, "edges", 2, 2, e2, d2, 1, &p3), 0);
  /* everything */
  got g;
  memset(&g, 0, sizeof g);
  rf_store_pos next;
  cr_assert_eq(rf_store_replay_updates(st, NULL, NULL, on_updates, &g, &next), 0);
  cr_assert_eq(g.calls, 3);
  cr_assert_str_eq(g.names[0], "edges");
  cr_assert_str_eq(g.names[1], "nodes");
  cr_assert_eq(g.rows, 5);
  cr_assert_eq(g.sum, (rf_value)(1 + 2 + 2 + 3 + 3 + 1 + 35 - 5));
  /* one collection */
  memset(&g, 0, sizeof g);
  cr_assert_eq(rf_store_replay_updates(st, NULL, "edges", on_updates, &g, NULL), 0);
  cr_assert(g.calls == 2 && g.times[0] == 1 && g.times[1] == 2);
  /* up to a time */
  rf_store_read_options o;
  memset(&o, 0, sizeof o);
  o.bound_time = true;
  o.until_time = 1;
  memset(&g, 0, sizeof g);
  cr_assert_eq(rf_store_replay_updates(st, &o, "edges", on_updates, &g, NULL), 0);
  cr_assert(g.calls == 1 && g.rows == 3);
  /* up to a position */
  memset(&o, 0, sizeof o);
  o.until = p3;
  memset(&g, 0, sizeof g);
  cr_assert_eq(rf_store_replay_updates(st, &o, NULL, on_updates, &g, NULL), 0);
  cr_assert_eq(g.calls, 2);
  /* the callback stops it, and its value comes back */
  memset(&g, 0, sizeof g);
  g.stop_at = 2;
  cr_assert_eq(rf_store_replay_updates(st, NULL, NULL, on_updates, &g, NULL), 42);
  cr_assert_eq(g.calls, 2);
  /* tailing: from next, only what came after */
  rf_value e3[] = {9, 9};
  rf_diff d3[] = {2};
  cr_assert_eq(rf_store_append_updates(st, "edges", 3, 2, e3, d3, 1, NULL), 0);
  memset(&o, 0, sizeof o);
  o.from = next;
  memset(&g, 0, sizeof g);
  cr_assert_eq(rf_store_replay_updates(st, &o, NULL, on_updates, &g, &next), 0);
  cr_assert(g.calls == 1 && g.times[0] == 3 && g.sum == 36);
  memset(&g, 0, sizeof g);
  o.from = next;
  cr_assert_eq(rf_store_replay_updates(st, &o, NULL, on_updates, &g, NULL), 0);
  cr_assert_eq(g.calls, 0);
  rf_store_stats s;
  cr_assert_eq(rf_store_get_stats(st, &s), 0);
  cr_assert_eq(s.update_records, 4);
  cr_assert_eq(s.deltas, 1);
  cr_assert_eq(rf_store_close(st), 0);
  /* read-only after a restart: the same, and the check is happy */
  rf_store_options ro = rf_store_options_default();
  ro.dir = dir;
  ro.read_only = true;
  cr_assert_eq(rf_store_open(&ro, &st), 0);
  memset(&g, 0, sizeof g);
  cr_assert_eq(rf_store_replay_updates(st, NULL, "edges", on_updates, &g, NULL), 0);
  cr_assert_eq(g.calls, 3);
  cr_assert_eq(rf_store_check(st, NULL, NULL, NULL), 0, "%s", rf_last_error());
  cr_assert_eq(rf_store_close(st), 0);
  remove_dir(dir);
}

Test(store_public, updates_too_large_for_one_record) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  rf_store *st = open_at(dir, RF_STORE_NONE);
  /* 32 words and a diff per row: about 254,000 rows fill a 64 MiB record */
  const uint32_t arity = RF_MAX_COLS;
  const size_t n = 300000;
  rf_value *rows = malloc(n * arity * sizeof *rows);
  rf_diff *diffs = malloc(n * sizeof *diffs);
  rf_value want = 0;
  for (size_t i = 0; i < n; i++) {
    for (uint32_t c = 0; c < arity; c++) rows[i * arity + c] = i * 31 + c;
    diffs[i] = (rf_diff)(i % 3) - 1;
    for (uint32_t c = 0; c < arity; c++) want += rows[i * arity + c] * (rf_value)diffs[i];
  }
  rf_store_pos pos;
  cr_assert_eq(rf_store_append_updates(st, "wide", 4, arity, rows, diffs, n, &pos), 0, "%s",
               rf_last_error());
  free(rows);
  free(diffs);
  rf_store_stats s;
  cr_assert_eq(rf_store_get_stats(st, &s), 0);
  cr_assert_eq(s.update_records, 2);
  cr_assert_eq(s.batches, 1); /* two records, one batch: all or nothing */
  got g;
  memset(&g, 0, sizeof g);
  cr_assert_eq(rf_store_replay_updates(st, NULL, "wide", on_updates, &g, NULL), 0);
  cr_assert_eq(g.calls, 2);
  cr_assert_eq(g.rows, n);
  cr_assert_eq(g.sum, want);
  cr_assert_eq(rf_store_close(st), 0);
  remove_dir(dir);
}

/* ---- check, and damage named by segment and offset ---------------------- */

typedef struct problems_seen {
  int n;
  char first[512];
} problems_seen;

static void on_problem(void *ctx, const char *msg) {
  problems_seen *p = ctx;
  if (p->n++ == 0) snprintf(p->first, sizeof p->first, "%s", msg);
}

Test(store_public, check_finds_damage) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  rf_store *st = open_at(dir, RF_STORE_NONE);
  for (int i = 0; i < 5; i++) {
    char buf[200];
    int n = snprintf(buf, sizeof buf,
                     "{\"id\":\"k%d\",\"timestamp\":%d,\"author\":\"a\",\"system\":\"s\","
                     "\"pointers\":[{\"role\":\"r\",\"target\":1}]}",
                     i, i + 1);
    cr_assert_eq(rf_store_append_delta_json(st, buf, (size_t)n, NULL), 0);
  }
  cr_assert_eq(rf_store_close(st), 0);
  char path[128];
  seg_path(dir, 0, path, sizeof path);
  size_t len;
  unsigned char *b = read_file(path, &len);
  /* a torn tail, seen read-only: a problem, and nothing changed */
  write_file(path, b, len - 4);
  rf_store_options ro = rf_store_options_default();
  ro.dir = dir;
  ro.read_only = true;
  cr_assert_eq(rf_store_open(&ro, &st), 0, "%s", rf_last_error());
  problems_seen ps;
  memset(&ps, 0, sizeof ps);
  uint64_t problems = 0;
  cr_assert_eq(rf_store_check(st, on_problem, &ps, &problems), RF_ECORRUPT);
  cr_assert_eq(problems, 1);
  cr_assert(strstr(ps.first, "00000000.seg: torn tail at offset") != NULL, "%s", ps.first);
  cr_assert(strstr(ps.first, "a writer would drop") != NULL, "%s", ps.first);
  cr_assert_eq(rf_store_close(st), 0);
  cr_assert_eq((size_t)file_size(path), len - 4);
  /* a flipped byte before the tail: the open itself fails, naming where */
  b[32 + 20] ^= 0x40;
  write_file(path, b, len);
  cr_assert_eq(rf_store_open(&ro, &st), RF_ECORRUPT);
  cr_assert(strstr(rf_last_error(), "00000000.seg at offset 32: checksum mismatch") != NULL, "%s",
            rf_last_error());
  /* a segment of a newer format */
  b[32 + 20] ^= 0x40;
  write_file(path, b, len);
  rewrite_header(path, 3, 0, 1);
  cr_assert_eq(rf_store_open(&ro, &st), RF_EVERSION);
  cr_assert(strstr(rf_last_error(), "00000000.seg has format version 3") != NULL, "%s",
            rf_last_error());
  free(b);
  remove_dir(dir);
}

/* A read-only handle (as another process would open) tails what the
 * writer appends after it was opened, across a segment roll, and never
 * sees part of a batch. */
Test(store_public, read_only_handle_tails_the_writer) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  rf_store_options o = rf_store_options_default();
  o.dir = dir;
  o.durability = RF_STORE_NONE;
  o.segment_size = 4096; /* rolls every dozen deltas or so */
  rf_store *w, *ro;
  cr_assert_eq(rf_store_open(&o, &w), 0, "%s", rf_last_error());
  cr_assert_eq(rf_store_append_delta_json(w, D("a", 1), strlen(D("a", 1)), NULL), 0);
  rf_store_options r = o;
  r.read_only = true;
  cr_assert_eq(rf_store_open(&r, &ro), 0, "%s", rf_last_error());
  rf_store_reader *rd;
  cr_assert_eq(rf_store_reader_open(ro, NULL, &rd), 0, "%s", rf_last_error());
  rf_store_delta d;
  cr_assert_eq(rf_store_reader_next(rd, &d), 1);
  cr_assert_eq(rf_store_reader_next(rd, &d), 0);
  int seen = 1;
  char json[256];
  for (int i = 0; i < 100; i++) {
    snprintf(json, sizeof json,
             "{\"id\":\"t%d\",\"timestamp\":%d,\"author\":\"ann\",\"system\":\"s\",\"pointers\":"
             "[{\"role\":\"r\",\"target\":{\"id\":\"o\"}}]}",
             i, i + 2);
    cr_assert_eq(rf_store_append_delta_json(w, json, strlen(json), NULL), 0, "%s", rf_last_error());
    int rc;
    while ((rc = rf_store_reader_next(rd, &d)) == 1) {
      seen++;
      cr_assert(strstr(d.json, "\"id\":\"t") != NULL, "%s", d.json);
    }
    cr_assert_eq(rc, 0, "%s", rf_last_error());
    cr_assert_eq(seen, i + 2, "after %d appends the read-only reader saw %d deltas", i + 1, seen);
  }
  rf_store_stats st;
  cr_assert_eq(rf_store_get_stats(w, &st), 0);
  cr_assert_gt(st.segments, 1, "the test should cross segment rolls");
  rf_store_reader_close(rd);
  cr_assert_eq(rf_store_close(ro), 0);
  cr_assert_eq(rf_store_close(w), 0);
  remove_dir(dir);
}

/*
 * test_store_delta.c: deltas in the store (store/delta.h): the canonical
 * encoding and content address, validation messages naming the field,
 * ingestion in batches (a bad line rejects its own batch and nothing else;
 * every bad line is counted and described up to a cap, with its line
 * number; the callbacks see every bad line and rejected batch), batches of
 * deltas (duplicates within a batch, abort forgets, commit indexes),
 * over-long lines, invalid UTF-8, idempotent appends, and allocation
 * failure.
 */
#include "unit/store_helpers/store_test.h"
#include "common/alloc.h"
#include "common/error.h"
#include "store/delta.h"

#define GOOD "{\"id\":\"d1\",\"timestamp\":5,\"author\":\"ann\",\"system\":\"s\"," \
             "\"pointers\":[{\"role\":\"title\",\"target\":\"Hello\"}]}"

static char *canon(const char *json, int *rc, char *err, size_t err_cap) {
  rf__bytes b = {NULL, 0, 0};
  *rc = rf__delta_canonicalize(json, strlen(json), &b, err, err_cap);
  if (*rc < 0) {
    rf__free(b.data);
    return NULL;
  }
  char *s = malloc(b.len + 1);
  memcpy(s, b.data, b.len);
  s[b.len] = 0;
  rf__free(b.data);
  return s;
}

static void expect_canon(const char *in, const char *want) {
  int rc;
  char err[400];
  char *got = canon(in, &rc, err, sizeof err);
  cr_assert_eq(rc, 0, "%s: %s", in, err);
  cr_expect_str_eq(got, want, "input %s", in);
  free(got);
}

static void expect_bad(const char *in, const char *want) {
  int rc;
  char err[400];
  char *got = canon(in, &rc, err, sizeof err);
  cr_assert_null(got);
  cr_assert_eq(rc, RF_EINVAL);
  cr_expect(strstr(err, want) != NULL, "input %s: message '%s' lacks '%s'", in, err, want);
}

Test(store_delta, canonical_form) {
  expect_canon(GOOD, GOOD);
  /* key order and whitespace do not matter; pointer order is kept */
  expect_canon(" { \"pointers\" : [ {\"target\":\"Hello\", \"role\":\"title\"} ], \"system\":\"s\","
               " \"author\":\"ann\", \"timestamp\": 5, \"id\":\"d1\" } ",
               GOOD);
  expect_canon("{\"id\":\"x\",\"timestamp\":1,\"author\":\"a\",\"system\":\"s\",\"pointers\":["
               "{\"role\":\"r\",\"target\":{\"context\":\"c\",\"id\":\"o\"}},"
               "{\"role\":\"n\",\"target\":1.0},{\"role\":\"f\",\"target\":-0.0},"
               "{\"role\":\"g\",\"target\":0.1},{\"role\":\"h\",\"target\":1e300},"
               "{\"role\":\"b\",\"target\":true},{\"role\":\"c\",\"target\":false},"
               "{\"role\":\"i\",\"target\":-42},{\"role\":\"q\",\"target\":{\"id\":\"p\"}}]}",
               "{\"id\":\"x\",\"timestamp\":1,\"author\":\"a\",\"system\":\"s\",\"pointers\":["
               "{\"role\":\"r\",\"target\":{\"id\":\"o\",\"context\":\"c\"}},"
               "{\"role\":\"n\",\"target\":1},{\"role\":\"f\",\"target\":0},"
               "{\"role\":\"g\",\"target\":0.1},{\"role\":\"h\",\"target\":1e+300},"
               "{\"role\":\"b\",\"target\":true},{\"role\":\"c\",\"target\":false},"
               "{\"role\":\"i\",\"target\":-42},{\"role\":\"q\",\"target\":{\"id\":\"p\"}}]}");
  /* strings: only the escapes JSON requires; everything else raw UTF-8 */
  expect_canon("{\"id\":\"\\u0041\\/\\u00e9\",\"timestamp\":1,\"author\":\"a\\\"\\\\\",\"system\":"
               "\"\\t\\u0001\",\"pointers\":[{\"role\":\"r\",\"target\":\"\xc3\xa9\"}]}",
               "{\"id\":\"A/\xc3\xa9\",\"timestamp\":1,\"author\":\"a\\\"\\\\\",\"system\":"
               "\"\\t\\u0001\",\"pointers\":[{\"role\":\"r\",\"target\":\"\xc3\xa9\"}]}");
}

Test(store_delta, content_address) {
  int rc;
  char *a = canon(GOOD, &rc, NULL, 0);
  char *b = canon("{\"id\":\"d1\",\"timestamp\":5,\"author\":\"ann\",\"system\":\"s\","
                  "\"pointers\":[{\"role\":\"title\",\"target\":\"Hello!\"}]}",
                  &rc, NULL, 0);
  rf__delta_addr x = rf__delta_address(a, strlen(a)), y = rf__delta_address(b, strlen(b));
  cr_assert(x.lo != y.lo || x.hi != y.hi);
  rf__delta_addr x2 = rf__delta_address(a, strlen(a));
  cr_assert(x.lo == x2.lo && x.hi == x2.hi);
  free(a);
  free(b);
}

#define HEAD "\"id\":\"d\",\"timestamp\":3,\"author\":\"a\",\"system\":\"s\""
#define PTR "\"pointers\":[{\"role\":\"r\",\"target\":\"v\"}]"

Test(store_delta, each_field_missing) {
  expect_bad("{\"timestamp\":3,\"author\":\"a\",\"system\":\"s\"," PTR "}", "field 'id': missing");
  expect_bad("{\"id\":\"d\",\"author\":\"a\",\"system\":\"s\"," PTR "}", "field 'timestamp': missing");
  expect_bad("{\"id\":\"d\",\"timestamp\":3,\"system\":\"s\"," PTR "}", "field 'author': missing");
  expect_bad("{\"id\":\"d\",\"timestamp\":3,\"author\":\"a\"," PTR "}", "field 'system': missing");
  expect_bad("{" HEAD "}", "field 'pointers': missing");
  expect_bad("{" HEAD ",\"pointers\":[{\"target\":\"v\"}]}", "field 'pointers[0].role': missing");
  expect_bad("{" HEAD ",\"pointers\":[{\"role\":\"r\",\"target\":1},{\"role\":\"r\"}]}",
             "field 'pointers[1].target': missing");
  expect_bad("{" HEAD ",\"pointers\":[{\"role\":\"r\",\"target\":{\"context\":\"c\"}}]}",
             "field 'pointers[0].target.id': missing");
}

Test(store_delta, each_field_wrongly_typed) {
  expect_bad("{\"id\":5,\"timestamp\":3,\"author\":\"a\",\"system\":\"s\"," PTR "}",
             "field 'id': must be a non-empty string, got an integer");
  expect_bad("{\"id\":\"\",\"timestamp\":3,\"author\":\"a\",\"system\":\"s\"," PTR "}",
             "field 'id': must be a non-empty string, got an empty string");
  expect_bad("{\"id\":\"d\",\"timestamp\":\"3\",\"author\":\"a\",\"system\":\"s\"," PTR "}",
             "field 'timestamp': must be a positive integer, got a string");
  expect_bad("{\"id\":\"d\",\"timestamp\":0,\"author\":\"a\",\"system\":\"s\"," PTR "}",
             "field 'timestamp': must be a positive integer");
  expect_bad("{\"id\":\"d\",\"timestamp\":-4,\"author\":\"a\",\"system\":\"s\"," PTR "}",
             "field 'timestamp': must be a positive integer");
  expect_bad("{\"id\":\"d\",\"timestamp\":1.5,\"author\":\"a\",\"system\":\"s\"," PTR "}",
             "field 'timestamp': must be a positive integer, got a real number");
  expect_bad("{\"id\":\"d\",\"timestamp\":3,\"author\":null,\"system\":\"s\"," PTR "}",
             "field 'author': must be a non-empty string, got null");
  expect_bad("{\"id\":\"d\",\"timestamp\":3,\"author\":\"a\",\"system\":[]," PTR "}",
             "field 'system': must be a non-empty string, got an array");
  expect_bad("{" HEAD ",\"pointers\":{}}", "field 'pointers': must be a non-empty array, got an object");
  expect_bad("{" HEAD ",\"pointers\":[]}", "field 'pointers': must be a non-empty array, got an empty array");
  expect_bad("{" HEAD ",\"pointers\":[7]}", "field 'pointers[0]': must be an object");
  expect_bad("{" HEAD ",\"pointers\":[{\"role\":true,\"target\":1}]}",
             "field 'pointers[0].role': must be a non-empty string, got a boolean");
  expect_bad("{" HEAD ",\"pointers\":[{\"role\":\"r\",\"target\":null}]}",
             "field 'pointers[0].target': must be a reference {id, context?} or a string, number or boolean, got null");
  expect_bad("{" HEAD ",\"pointers\":[{\"role\":\"r\",\"target\":[1]}]}",
             "field 'pointers[0].target': must be a reference");
  expect_bad("{" HEAD ",\"pointers\":[{\"role\":\"r\",\"target\":{\"id\":3}}]}",
             "field 'pointers[0].target.id': must be a non-empty string, got an integer");
  expect_bad("{" HEAD ",\"pointers\":[{\"role\":\"r\",\"target\":{\"id\":\"o\",\"context\":4}}]}",
             "field 'pointers[0].target.context': must be a non-empty string");
  expect_bad("{" HEAD ",\"pointers\":[{\"role\":\"r\",\"target\":{\"id\":\"o\",\"ctx\":\"c\"}}]}",
             "field 'pointers[0].target.ctx': unknown field");
  expect_bad("{" HEAD ",\"extra\":1," PTR "}", "field 'extra': unknown field");
  expect_bad("{" HEAD ",\"pointers\":[{\"role\":\"r\",\"target\":1,\"weight\":2}]}",
             "field 'pointers[0].weight': unknown field");
  expect_bad("[1,2]", "a delta must be a JSON object, got an array");
  expect_bad("\"just a string\"", "a delta must be a JSON object, got a string");
}

Test(store_delta, malformed_json_and_utf8) {
  expect_bad("{\"id\":", "invalid JSON at column");
  expect_bad("{\"id\":\"d\"} trailing", "invalid JSON");
  expect_bad("{" HEAD "," PTR ",\"id\":\"again\"}", "duplicate object key");
  expect_bad("", "invalid JSON");
  expect_bad("{\"id\":\"d\xff\",\"timestamp\":3,\"author\":\"a\",\"system\":\"s\"," PTR "}",
             "UTF-8");
  expect_bad("{\"id\":\"d\xc3\",\"timestamp\":3,\"author\":\"a\",\"system\":\"s\"," PTR "}",
             "UTF-8");
  expect_bad("{\"id\":\"d\\u0000x\",\"timestamp\":3,\"author\":\"a\",\"system\":\"s\"," PTR "}",
             "invalid JSON");
  expect_bad("{\"id\":\"d\",\"timestamp\":99999999999999999999999,\"author\":\"a\",\"system\":\"s\"," PTR
             "}",
             "invalid JSON");
}

/* A delta line with id `id`. */
static void delta_line(char *buf, size_t cap, const char *id, int ts) {
  snprintf(buf, cap,
           "{\"id\":\"%s\",\"timestamp\":%d,\"author\":\"a\",\"system\":\"s\",\"pointers\":[{\"role\":"
           "\"r\",\"target\":{\"id\":\"obj\",\"context\":\"p\"}}]}",
           id, ts);
}

static FILE *text(const char *s) { return fmemopen((void *)s, strlen(s), "r"); }

Test(store_delta, bad_batch_appends_nothing) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  rf__deltas *ds;
  cr_assert_eq(rf__deltas_open(dir, NULL, &ds), 0, "%s", rf_last_error());
  char l1[256], l3[256];
  delta_line(l1, sizeof l1, "one", 1);
  delta_line(l3, sizeof l3, "three", 3);
  char input[2048];
  snprintf(input, sizeof input,
           "%s\n{\"id\":\"two\"\n%s\n\n{\"id\":\"four\",\"timestamp\":4,\"author\":\"a\","
           "\"system\":\"s\",\"pointers\":[{\"role\":\"r\"}]}\n",
           l1, l3);
  FILE *f = text(input);
  rf__ingest_report rep;
  cr_assert_eq(rf__deltas_ingest(ds, f, NULL, &rep), RF_EINVAL);
  fclose(f);
  cr_assert_eq(rep.rejected, 2);
  cr_assert_eq(rep.accepted, 0);
  cr_assert_eq(rep.lines, 5);
  cr_assert_eq(rep.n_messages, 2);
  cr_expect(strstr(rep.messages[0], "line 2: invalid JSON") != NULL, "%s", rep.messages[0]);
  cr_expect(strstr(rep.messages[1], "line 5: field 'pointers[0].target': missing") != NULL, "%s",
            rep.messages[1]);
  cr_expect(strstr(rf_last_error(), "2 bad lines in 1 batch of up to 10000 lines: that batch was not appended") != NULL,
            "%s", rf_last_error());
  cr_assert_eq(rep.rejected_batches, 1);
  cr_assert_eq(rep.batches, 0);
  rf__ingest_report_free(&rep);
  cr_assert_eq(rf__deltas_count(ds), 0);
  rf__store_stats s;
  rf__store_get_stats(rf__deltas_store(ds), &s);
  cr_assert_eq(s.n_records, 0);
  rf__deltas_close(ds);
  remove_dir(dir);
}

Test(store_delta, message_cap_and_long_lines) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  rf__deltas *ds;
  cr_assert_eq(rf__deltas_open(dir, NULL, &ds), 0);
  /* 30 bad lines, 5 described */
  char input[4096] = "";
  for (int i = 0; i < 30; i++) strcat(input, "{\"id\":1}\n");
  FILE *f = text(input);
  rf__ingest_opts o = {0};
  o.max_messages = 5;
  rf__ingest_report rep;
  cr_assert_eq(rf__deltas_ingest(ds, f, &o, &rep), RF_EINVAL);
  fclose(f);
  cr_assert_eq(rep.rejected, 30);
  cr_assert_eq(rep.n_messages, 5);
  cr_assert(strstr(rep.messages[4], "line 5: field 'id'") != NULL, "%s", rep.messages[4]);
  rf__ingest_report_free(&rep);
  /* an over-long line (the limit is 200 bytes here) */
  char l1[256];
  delta_line(l1, sizeof l1, "ok", 1);
  char longid[400];
  memset(longid, 'x', 300);
  longid[300] = 0;
  char l2[512];
  delta_line(l2, sizeof l2, longid, 2);
  snprintf(input, sizeof input, "%s\n%s\n%s", l1, l2, l1);
  f = text(input);
  o.max_line = 200;
  cr_assert_eq(rf__deltas_ingest(ds, f, &o, &rep), RF_EINVAL);
  fclose(f);
  cr_assert_eq(rep.rejected, 1);
  cr_assert_eq(rep.lines, 3);
  cr_assert(strstr(rep.messages[0], "line 2: longer than the 200-byte limit") != NULL, "%s",
            rep.messages[0]);
  rf__ingest_report_free(&rep);
  cr_assert_eq(rf__deltas_count(ds), 0);
  rf__deltas_close(ds);
  remove_dir(dir);
}

Test(store_delta, duplicates_are_stored_once) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  rf__store_policy p = rf__store_policy_default();
  p.durability = RF_DURABILITY_GROUP;
  rf__deltas *ds;
  cr_assert_eq(rf__deltas_open(dir, &p, &ds), 0);
  char a[256], b[256], input[1024];
  delta_line(a, sizeof a, "a", 1);
  delta_line(b, sizeof b, "b", 2);
  /* the same delta spelled differently is the same delta */
  snprintf(input, sizeof input,
           "%s\n%s\n%s\n{\"pointers\":[{\"target\":{\"context\":\"p\",\"id\":\"obj\"},\"role\":\"r\"}],"
           "\"system\":\"s\",\"author\":\"a\",\"timestamp\":2,\"id\":\"b\"}\n",
           a, b, a);
  FILE *f = text(input);
  rf__ingest_report rep;
  cr_assert_eq(rf__deltas_ingest(ds, f, NULL, &rep), 0, "%s", rf_last_error());
  fclose(f);
  cr_assert_eq(rep.accepted, 2);
  cr_assert_eq(rep.duplicates, 2);
  cr_assert_eq(rep.rejected, 0);
  rf__ingest_report_free(&rep);
  f = text(input);
  cr_assert_eq(rf__deltas_ingest(ds, f, NULL, &rep), 0);
  fclose(f);
  cr_assert_eq(rep.accepted, 0);
  cr_assert_eq(rep.duplicates, 4);
  rf__ingest_report_free(&rep);
  cr_assert_eq(rf__deltas_add_json(ds, a, strlen(a), NULL), RF_DELTA_DUPLICATE);
  cr_assert_eq(rf__deltas_add_json(ds, "{}", 2, NULL), RF_EINVAL);
  cr_assert(strstr(rf_last_error(), "field 'id': missing") != NULL, "%s", rf_last_error());
  rf__deltas_close(ds);
  /* the index is rebuilt on open */
  cr_assert_eq(rf__deltas_open(dir, &p, &ds), 0);
  cr_assert_eq(rf__deltas_count(ds), 2);
  cr_assert_eq(rf__deltas_add_json(ds, b, strlen(b), NULL), RF_DELTA_DUPLICATE);
  char c[256];
  delta_line(c, sizeof c, "c", 3);
  rf__delta_addr addr;
  cr_assert_geq(rf__deltas_add_json(ds, c, strlen(c), &addr), 0);
  cr_assert(rf__deltas_contains(ds, addr));
  rf__store_stats s;
  rf__store_get_stats(rf__deltas_store(ds), &s);
  cr_assert_eq(s.n_records, 3);
  cr_assert_eq(s.n_by_type[RF_STORE_REC_DELTA], 3);
  /* the records are the canonical forms, in order */
  rf__store_reader *r;
  cr_assert_eq(rf__store_reader_open(rf__deltas_store(ds), (rf__store_pos){0, 0}, &r), 0);
  rf__store_record rec;
  const char *want[] = {a, b, c};
  for (int i = 0; i < 3; i++) {
    cr_assert_eq(rf__store_reader_next(r, &rec), 1);
    cr_assert(rec.len == strlen(want[i]) && memcmp(rec.data, want[i], rec.len) == 0);
  }
  cr_assert_eq(rf__store_reader_next(r, &rec), 0);
  rf__store_reader_close(r);
  rf__deltas_close(ds);
  remove_dir(dir);
}

static int progress_calls;
static uint64_t progress_last_lines;
static void on_progress(void *arg, const rf__ingest_report *so_far) {
  (void)arg;
  progress_calls++;
  cr_assert_gt(so_far->lines, progress_last_lines);
  progress_last_lines = so_far->lines;
}

Test(store_delta, big_batch_with_progress) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  rf__store_policy p = rf__store_policy_default();
  p.durability = RF_DURABILITY_NONE;
  p.segment_size = 64 << 10;
  rf__deltas *ds;
  cr_assert_eq(rf__deltas_open(dir, &p, &ds), 0);
  size_t cap = 5000 * 200, len = 0;
  char *input = malloc(cap);
  for (int i = 0; i < 5000; i++) {
    char id[32], line[256];
    snprintf(id, sizeof id, "id-%d", i % 4000);
    delta_line(line, sizeof line, id, 1 + i % 4000);
    len += (size_t)snprintf(input + len, cap - len, "%s\n", line);
  }
  FILE *f = fmemopen(input, len, "r");
  rf__ingest_opts o = {0};
  o.progress_every = 1000;
  o.progress = on_progress;
  o.batch_lines = 700;
  rf__ingest_report rep;
  cr_assert_eq(rf__deltas_ingest(ds, f, &o, &rep), 0, "%s", rf_last_error());
  fclose(f);
  cr_assert_eq(rep.accepted, 4000);
  cr_assert_eq(rep.duplicates, 1000);
  cr_assert_eq(rep.batches, 8); /* 7 of 700 lines and one of 100 */
  cr_assert_eq(progress_calls, 5);
  rf__ingest_report_free(&rep);
  rf__deltas_close(ds);
  cr_assert_eq(rf__deltas_open(dir, &p, &ds), 0);
  cr_assert_eq(rf__deltas_count(ds), 4000);
  rf__store_stats s;
  rf__store_get_stats(rf__deltas_store(ds), &s);
  cr_assert_gt(s.n_segments, 5);
  rf__deltas_close(ds);
  free(input);
  remove_dir(dir);
}

Test(store_delta, out_of_memory_is_an_error) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  rf__store_policy p = rf__store_policy_default();
  p.durability = RF_DURABILITY_NONE;
  char a[256], b[256], input[1024];
  delta_line(a, sizeof a, "a", 1);
  delta_line(b, sizeof b, "b", 2);
  snprintf(input, sizeof input, "%s\n%s\n{\"id\":3}\n", a, b);
  size_t good_len = strlen(a) + strlen(b) + 2;
  for (uint64_t k = 1; k < 120; k++) {
    rf__deltas *ds;
    rf__alloc_fail_after(k);
    int rc = rf__deltas_open(dir, &p, &ds);
    if (rc == 0) {
      for (int bad = 0; bad < 2; bad++) {
        FILE *f = fmemopen(input, bad ? strlen(input) : good_len, "r");
        rf__ingest_report rep;
        int r = rf__deltas_ingest(ds, f, NULL, &rep);
        fclose(f);
        rf__ingest_report_free(&rep);
        cr_assert(r == 0 || r == RF_ENOMEM || r == RF_EINVAL, "k=%llu: %d %s", (unsigned long long)k, r,
                  rf_last_error());
      }
      rf__deltas_close(ds);
    }
    rf__alloc_fail_after(0);
    cr_assert(rc == 0 || rc == RF_ENOMEM, "k=%llu: %d %s", (unsigned long long)k, rc, rf_last_error());
  }
  rf__deltas *ds;
  cr_assert_eq(rf__deltas_open(dir, &p, &ds), 0);
  cr_assert_eq(rf__deltas_count(ds), 2);
  rf__deltas_close(ds);
  remove_dir(dir);
}

Test(store_delta, timestamp_of_canonical_form) {
  int rc;
  char *a = canon("{\"id\":\"we\\\"ird,\\\"timestamp\\\":7\",\"timestamp\":1234567,\"author\":\"a\","
                  "\"system\":\"s\",\"pointers\":[{\"role\":\"r\",\"target\":1}]}",
                  &rc, NULL, 0);
  cr_assert_eq(rc, 0);
  int64_t ts = 0;
  cr_assert_eq(rf__delta_timestamp(a, strlen(a), &ts), 0);
  cr_assert_eq(ts, 1234567);
  cr_assert_eq(rf__delta_timestamp(a, 20, &ts), RF_ECORRUPT);
  cr_assert_eq(rf__delta_timestamp("{\"id\":1}", 9, &ts), RF_ECORRUPT);
  cr_assert_eq(rf__delta_timestamp("", 0, &ts), RF_ECORRUPT);
  free(a);
}

/* Callbacks of a batched ingest, recorded. */
typedef struct seen {
  uint64_t bad_line[16];
  char bad_msg[16][200];
  int n_bad;
  uint64_t batch[8][3];
  int n_batches;
} seen;

static void seen_reject(void *arg, uint64_t line, const char *message) {
  seen *s = arg;
  cr_assert_lt(s->n_bad, 16);
  s->bad_line[s->n_bad] = line;
  snprintf(s->bad_msg[s->n_bad], sizeof s->bad_msg[0], "%s", message);
  s->n_bad++;
}

static void seen_batch(void *arg, uint64_t first, uint64_t last, uint64_t bad) {
  seen *s = arg;
  cr_assert_lt(s->n_batches, 8);
  s->batch[s->n_batches][0] = first;
  s->batch[s->n_batches][1] = last;
  s->batch[s->n_batches][2] = bad;
  s->n_batches++;
}

static int stored(rf__deltas *ds, const char *json) {
  rf__bytes b = {NULL, 0, 0};
  cr_assert_eq(rf__delta_canonicalize(json, strlen(json), &b, NULL, 0), 0);
  int in = rf__deltas_contains(ds, rf__delta_address(b.data, b.len));
  rf__free(b.data);
  return in;
}

Test(store_delta, a_bad_line_rejects_its_own_batch_only) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  rf__deltas *ds;
  cr_assert_eq(rf__deltas_open(dir, NULL, &ds), 0, "%s", rf_last_error());
  /* batches of 3 lines: 1-3 good (one blank), 4-6 with a bad line 5,
   * 7-9 good (a duplicate of line 1), 10-12 with two bad lines, 13 good */
  char l[14][256];
  char input[8192] = "";
  for (int i = 1; i <= 13; i++) {
    char id[16];
    snprintf(id, sizeof id, "n%d", i);
    delta_line(l[i], sizeof l[i], id, i);
  }
  strcpy(l[2], "");
  strcpy(l[5], "{\"id\":\"n5\",\"timestamp\":5,\"author\":\"a\",\"system\":\"s\",\"pointers\":[{\"target\":1}]}");
  strcpy(l[8], l[1]);
  strcpy(l[10], "{\"id\":\"n10\",\"timestamp\":\"ten\"}");
  strcpy(l[12], "nonsense");
  for (int i = 1; i <= 13; i++) {
    strcat(input, l[i]);
    strcat(input, "\n");
  }
  FILE *f = text(input);
  seen sn;
  memset(&sn, 0, sizeof sn);
  rf__ingest_opts o = {0};
  o.batch_lines = 3;
  o.on_reject = seen_reject;
  o.on_batch_rejected = seen_batch;
  o.arg = &sn;
  rf__ingest_report rep;
  cr_assert_eq(rf__deltas_ingest(ds, f, &o, &rep), RF_EINVAL);
  fclose(f);
  cr_assert_eq(rep.lines, 13);
  cr_assert_eq(rep.rejected, 3);
  cr_assert_eq(rep.rejected_batches, 2);
  cr_assert_eq(rep.batches, 3);
  cr_assert_eq(rep.accepted, 5, "accepted %llu", (unsigned long long)rep.accepted); /* 1 3 7 9 13 */
  cr_assert_eq(rep.duplicates, 1);
  cr_assert(strstr(rf_last_error(), "3 bad lines in 2 batches of up to 3 lines: those batches were "
                                    "not appended (3 others were); first: line 5: field "
                                    "'pointers[0].role': missing") != NULL,
            "%s", rf_last_error());
  /* the callbacks: every bad line with its field, every rejected batch */
  cr_assert_eq(sn.n_bad, 3);
  cr_assert_eq(sn.bad_line[0], 5);
  cr_assert(strstr(sn.bad_msg[0], "field 'pointers[0].role': missing") != NULL, "%s", sn.bad_msg[0]);
  cr_assert_eq(sn.bad_line[1], 10);
  cr_assert(strstr(sn.bad_msg[1], "field 'timestamp'") != NULL, "%s", sn.bad_msg[1]);
  cr_assert_eq(sn.bad_line[2], 12);
  cr_assert(strstr(sn.bad_msg[2], "invalid JSON") != NULL, "%s", sn.bad_msg[2]);
  cr_assert_eq(sn.n_batches, 2);
  cr_assert(sn.batch[0][0] == 4 && sn.batch[0][1] == 6 && sn.batch[0][2] == 1);
  cr_assert(sn.batch[1][0] == 10 && sn.batch[1][1] == 12 && sn.batch[1][2] == 2);
  rf__ingest_report_free(&rep);
  /* what is stored: batches 1, 3 and 5, nothing of 2 and 4 */
  int want[14] = {0, 1, 0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1};
  for (int i = 1; i <= 13; i++) {
    if (!l[i][0] || i == 5 || i == 8 || i == 10 || i == 12) continue;
    cr_assert_eq(stored(ds, l[i]), want[i], "line %d", i);
  }
  cr_assert_eq(rf__deltas_count(ds), 5);
  rf__store_stats s;
  rf__store_get_stats(rf__deltas_store(ds), &s);
  cr_assert_eq(s.n_batches, 3);
  cr_assert_eq(s.n_records, 5);
  rf__deltas_close(ds);
  /* and so after reopening */
  cr_assert_eq(rf__deltas_open(dir, NULL, &ds), 0, "%s", rf_last_error());
  cr_assert_eq(rf__deltas_count(ds), 5);
  cr_assert(stored(ds, l[13]) && !stored(ds, l[4]) && !stored(ds, l[11]));
  rf__deltas_close(ds);
  remove_dir(dir);
}

Test(store_delta, batches_of_deltas) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  rf__store_policy p = rf__store_policy_default();
  p.durability = RF_DURABILITY_NONE;
  rf__deltas *ds;
  cr_assert_eq(rf__deltas_open(dir, &p, &ds), 0);
  char a[256], b[256], c[256];
  delta_line(a, sizeof a, "a", 1);
  delta_line(b, sizeof b, "b", 2);
  delta_line(c, sizeof c, "c", 3);
  /* an aborted batch leaves nothing, in the log or in the index */
  cr_assert_eq(rf__deltas_batch_begin(ds), 0);
  cr_assert_eq(rf__deltas_batch_begin(ds), RF_ESTATE);
  cr_assert_eq(rf__deltas_add_json(ds, a, strlen(a), NULL), 1);
  cr_assert_eq(rf__deltas_add_json(ds, a, strlen(a), NULL), RF_DELTA_DUPLICATE); /* in the batch */
  cr_assert_not(stored(ds, a));
  cr_assert_eq(rf__deltas_batch_abort(ds), 0);
  cr_assert_eq(rf__deltas_count(ds), 0);
  rf__store_stats s;
  rf__store_get_stats(rf__deltas_store(ds), &s);
  cr_assert_eq(s.n_records, 0);
  /* a committed one is indexed; a repeat in the next batch is a duplicate */
  cr_assert_eq(rf__deltas_batch_begin(ds), 0);
  cr_assert_eq(rf__deltas_add_json(ds, a, strlen(a), NULL), 1);
  cr_assert_eq(rf__deltas_add_json(ds, b, strlen(b), NULL), 1);
  rf__store_pos at;
  cr_assert_eq(rf__deltas_batch_commit(ds, &at), 0);
  cr_assert(rf__store_durable(rf__deltas_store(ds), at));
  cr_assert(stored(ds, a) && stored(ds, b));
  cr_assert_eq(rf__deltas_batch_begin(ds), 0);
  cr_assert_eq(rf__deltas_add_json(ds, b, strlen(b), NULL), RF_DELTA_DUPLICATE);
  cr_assert_eq(rf__deltas_add_json(ds, c, strlen(c), NULL), 1);
  cr_assert_eq(rf__deltas_batch_commit(ds, NULL), 0);
  /* a batch of duplicates only writes nothing */
  cr_assert_eq(rf__deltas_batch_begin(ds), 0);
  cr_assert_eq(rf__deltas_add_json(ds, c, strlen(c), NULL), RF_DELTA_DUPLICATE);
  cr_assert_eq(rf__deltas_batch_commit(ds, NULL), 0);
  rf__store_get_stats(rf__deltas_store(ds), &s);
  cr_assert_eq(s.n_records, 3);
  cr_assert_eq(s.n_batches, 2);
  /* closing with a batch open drops it */
  cr_assert_eq(rf__deltas_batch_begin(ds), 0);
  char d[256];
  delta_line(d, sizeof d, "d", 4);
  cr_assert_eq(rf__deltas_add_json(ds, d, strlen(d), NULL), 1);
  cr_assert_eq(rf__deltas_close(ds), 0);
  cr_assert_eq(rf__deltas_open(dir, &p, &ds), 0, "%s", rf_last_error());
  cr_assert_null(rf__store_recovery_note(rf__deltas_store(ds)));
  cr_assert_eq(rf__deltas_count(ds), 3);
  cr_assert_not(stored(ds, d));
  rf__deltas_close(ds);
  remove_dir(dir);
}

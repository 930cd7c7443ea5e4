/*
 * test_store_delta.c: deltas in the store (store/delta.h): the canonical
 * encoding and content address, validation messages naming the field, batch
 * ingestion (a bad line anywhere appends nothing; every bad line is counted
 * and described up to a cap, with its line number), over-long lines, invalid
 * UTF-8, idempotent appends, and allocation failure.
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
  cr_expect(strstr(rf_last_error(), "2 bad lines: nothing appended") != NULL, "%s", rf_last_error());
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
static void on_progress(void *arg, int phase, uint64_t done) {
  (void)arg;
  (void)phase;
  (void)done;
  progress_calls++;
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
  rf__ingest_report rep;
  cr_assert_eq(rf__deltas_ingest(ds, f, &o, &rep), 0, "%s", rf_last_error());
  fclose(f);
  cr_assert_eq(rep.accepted, 4000);
  cr_assert_eq(rep.duplicates, 1000);
  cr_assert_eq(progress_calls, 10);
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

/*
 * test_store_log.c: the record log of store/store.h: append, reopen and
 * replay round trips under each durability policy, what each policy
 * acknowledges, segment rollover, readers from a position, tailing and a
 * reader thread beside the writer, and refused misuse.
 */
#include <pthread.h>
#include <time.h>

#include "unit/store_helpers/store_test.h"
#include "common/alloc.h"
#include "common/error.h"

static rf__store_policy policy(rf__durability d) {
  rf__store_policy p = rf__store_policy_default();
  p.durability = d;
  return p;
}

/* The payload of record i: its number, padded to a length that varies. */
static size_t payload(int i, char *buf, size_t cap) {
  int n = snprintf(buf, cap, "record-%d:", i);
  size_t len = (size_t)n + (size_t)(i * 7 % 50);
  for (size_t k = (size_t)n; k < len; k++) buf[k] = (char)('a' + k % 26);
  return len;
}

static void check_replay(rf__store *st, int n, rf__store_pos from, int first) {
  rf__store_reader *r;
  cr_assert_eq(rf__store_reader_open(st, from, &r), 0);
  rf__store_record rec;
  int i = first;
  int rc;
  while ((rc = rf__store_reader_next(r, &rec)) == 1) {
    char want[128];
    size_t len = payload(i, want, sizeof want);
    cr_assert_eq(rec.type, RF_STORE_REC_RAW);
    cr_assert_eq(rec.len, len, "record %d: length %zu, want %zu", i, rec.len, len);
    cr_assert(memcmp(rec.data, want, len) == 0, "record %d differs", i);
    i++;
  }
  cr_assert_eq(rc, 0, "%s", rf_last_error());
  cr_assert_eq(i, n, "replayed %d records, want %d", i - first, n - first);
  rf__store_reader_close(r);
}

static void round_trip(rf__store_policy p) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  rf__store *st;
  cr_assert_eq(rf__store_open(dir, &p, &st), 0, "%s", rf_last_error());
  cr_assert_null(rf__store_recovery_note(st));
  for (int i = 0; i < 200; i++) {
    char buf[128];
    size_t len = payload(i, buf, sizeof buf);
    rf__store_pos pos;
    int rc = rf__store_append(st, RF_STORE_REC_RAW, buf, len, &pos);
    cr_assert(rc == 0 || rc == 1, "%s", rf_last_error());
  }
  check_replay(st, 200, (rf__store_pos){0, 0}, 0);
  cr_assert_eq(rf__store_close(st), 0);
  cr_assert_eq(rf__store_open(dir, &p, &st), 0, "%s", rf_last_error());
  cr_assert_null(rf__store_recovery_note(st));
  rf__store_stats s;
  rf__store_get_stats(st, &s);
  cr_assert_eq(s.n_records, 200);
  cr_assert_eq(s.n_by_type[RF_STORE_REC_RAW], 200);
  check_replay(st, 200, (rf__store_pos){0, 0}, 0);
  /* appends after reopen continue the log */
  char buf[128];
  size_t len = payload(200, buf, sizeof buf);
  cr_assert_geq(rf__store_append(st, RF_STORE_REC_RAW, buf, len, NULL), 0);
  cr_assert_eq(rf__store_close(st), 0);
  cr_assert_eq(rf__store_open(dir, &p, &st), 0, "%s", rf_last_error());
  check_replay(st, 201, (rf__store_pos){0, 0}, 0);
  rf__store_close(st);
  remove_dir(dir);
}

Test(store_log, round_trip_fsync) { round_trip(policy(RF_DURABILITY_FSYNC)); }
Test(store_log, round_trip_group) { round_trip(policy(RF_DURABILITY_GROUP)); }
Test(store_log, round_trip_none) { round_trip(policy(RF_DURABILITY_NONE)); }

Test(store_log, round_trip_small_segments) {
  rf__store_policy p = policy(RF_DURABILITY_NONE);
  p.segment_size = 300;
  round_trip(p);
}

Test(store_log, acknowledgments_per_policy) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  rf__store *st;
  rf__store_policy p = policy(RF_DURABILITY_GROUP);
  p.group_n = 4;
  p.group_ms = 100000;
  cr_assert_eq(rf__store_open(dir, &p, &st), 0);
  rf__store_pos pos[8];
  for (int i = 0; i < 8; i++) {
    int rc = rf__store_append(st, RF_STORE_REC_RAW, "x", 1, &pos[i]);
    cr_assert_eq(rc, i % 4 == 3 ? 0 : 1, "append %d returned %d", i, rc);
    cr_assert_eq(rf__store_durable(st, pos[i]), i % 4 == 3);
    if (i % 4 == 3)
      for (int k = 0; k <= i; k++) cr_assert(rf__store_durable(st, pos[k]));
  }
  cr_assert_eq(rf__store_append(st, RF_STORE_REC_RAW, "y", 1, &pos[0]), 1);
  cr_assert_not(rf__store_durable(st, pos[0]));
  cr_assert_eq(rf__store_sync(st), 0);
  cr_assert(rf__store_durable(st, pos[0]));
  rf__store_close(st);

  /* The time window: the first append at least T ms after the group's
   * first closes the group. */
  p.group_n = 1000;
  p.group_ms = 20;
  cr_assert_eq(rf__store_open(dir, &p, &st), 0);
  cr_assert_eq(rf__store_append(st, RF_STORE_REC_RAW, "a", 1, NULL), 1);
  struct timespec ts = {0, 30 * 1000000};
  nanosleep(&ts, NULL);
  cr_assert_eq(rf__store_append(st, RF_STORE_REC_RAW, "b", 1, NULL), 0);
  rf__store_close(st);

  p = policy(RF_DURABILITY_FSYNC);
  cr_assert_eq(rf__store_open(dir, &p, &st), 0);
  cr_assert_eq(rf__store_append(st, RF_STORE_REC_RAW, "c", 1, &pos[0]), 0);
  cr_assert(rf__store_durable(st, pos[0]));
  rf__store_close(st);
  p = policy(RF_DURABILITY_NONE);
  cr_assert_eq(rf__store_open(dir, &p, &st), 0);
  cr_assert_eq(rf__store_append(st, RF_STORE_REC_RAW, "d", 1, &pos[0]), 0);
  rf__store_stats s;
  rf__store_get_stats(st, &s);
  cr_assert_eq(s.n_records, 13);
  rf__store_close(st);
  remove_dir(dir);
}

Test(store_log, rollover_and_positions) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  rf__store_policy p = policy(RF_DURABILITY_NONE);
  p.segment_size = 512;
  rf__store *st;
  cr_assert_eq(rf__store_open(dir, &p, &st), 0);
  rf__store_pos pos[300];
  for (int i = 0; i < 300; i++) {
    char buf[128];
    size_t len = payload(i, buf, sizeof buf);
    cr_assert_eq(rf__store_append(st, RF_STORE_REC_RAW, buf, len, &pos[i]), 0);
    if (i) cr_assert_lt(rf__store_pos_cmp(pos[i - 1], pos[i]), 0);
    cr_assert_leq(pos[i].offset + len + 13, 512);
  }
  rf__store_stats s;
  rf__store_get_stats(st, &s);
  cr_assert_gt(s.n_segments, 10);
  cr_assert_eq(pos[299].segment, s.n_segments - 1);
  for (int from = 0; from < 300; from += 37) check_replay(st, 300, pos[from], from);
  /* replay up to a position: [pos[40], pos[200]) */
  rf__store_reader *r;
  cr_assert_eq(rf__store_reader_open(st, pos[40], &r), 0);
  rf__store_reader_set_until(r, pos[200]);
  rf__store_record rec;
  int got = 0;
  while (rf__store_reader_next(r, &rec) == 1) {
    cr_assert_eq(rf__store_pos_cmp(rec.pos, pos[40 + got]), 0);
    got++;
  }
  cr_assert_eq(got, 160);
  rf__store_reader_close(r);
  rf__store_pos past = {s.n_segments + 3, 0};
  check_replay(st, 0, past, 0);
  rf__store_close(st);
  /* every segment file is there, and no segment is over the limit */
  for (uint64_t n = 0; n < s.n_segments; n++) {
    char path[128];
    seg_path(dir, n, path, sizeof path);
    cr_assert_leq(file_size(path), 512);
  }
  cr_assert_eq(rf__store_open(dir, &p, &st), 0);
  check_replay(st, 300, (rf__store_pos){0, 0}, 0);
  rf__store_close(st);
  remove_dir(dir);
}

Test(store_log, empty_and_large_records) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  rf__store_policy p = policy(RF_DURABILITY_NONE);
  p.segment_size = 4096;
  rf__store *st;
  cr_assert_eq(rf__store_open(dir, &p, &st), 0);
  size_t big = 3u << 20;
  unsigned char *b = malloc(big);
  for (size_t i = 0; i < big; i++) b[i] = (unsigned char)(i * 31);
  cr_assert_eq(rf__store_append(st, 7, "", 0, NULL), 0);
  cr_assert_eq(rf__store_append(st, 8, b, big, NULL), 0); /* bigger than a segment */
  cr_assert_eq(rf__store_append(st, 9, "z", 1, NULL), 0);
  rf__store_close(st);
  cr_assert_eq(rf__store_open(dir, &p, &st), 0, "%s", rf_last_error());
  rf__store_reader *r;
  cr_assert_eq(rf__store_reader_open(st, (rf__store_pos){0, 0}, &r), 0);
  rf__store_record rec;
  cr_assert_eq(rf__store_reader_next(r, &rec), 1);
  cr_assert_eq(rec.type, 7);
  cr_assert_eq(rec.len, 0);
  cr_assert_eq(rf__store_reader_next(r, &rec), 1);
  cr_assert_eq(rec.type, 8);
  cr_assert_eq(rec.len, big);
  cr_assert(memcmp(rec.data, b, big) == 0);
  cr_assert_eq(rf__store_reader_next(r, &rec), 1);
  cr_assert_eq(rec.type, 9);
  cr_assert_eq(rf__store_reader_next(r, &rec), 0);
  rf__store_reader_close(r);
  rf__store_close(st);
  free(b);
  remove_dir(dir);
}

Test(store_log, tailing_reader) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  rf__store_policy p = policy(RF_DURABILITY_NONE);
  p.segment_size = 256;
  rf__store *st;
  cr_assert_eq(rf__store_open(dir, &p, &st), 0);
  rf__store_reader *r;
  cr_assert_eq(rf__store_reader_open(st, (rf__store_pos){0, 0}, &r), 0);
  rf__store_record rec;
  int seen = 0;
  for (int i = 0; i < 100; i++) {
    char buf[128];
    size_t len = payload(i, buf, sizeof buf);
    cr_assert_eq(rf__store_append(st, RF_STORE_REC_RAW, buf, len, NULL), 0);
    if (i % 3 == 0) {
      while (rf__store_reader_next(r, &rec) == 1) {
        len = payload(seen, buf, sizeof buf);
        cr_assert(rec.len == len && memcmp(rec.data, buf, len) == 0);
        seen++;
      }
      cr_assert_eq(seen, i + 1);
    }
  }
  rf__store_reader_close(r);
  rf__store_close(st);
  remove_dir(dir);
}

typedef struct reader_arg {
  rf__store *st;
  int want;
  int seen;
  int bad;
} reader_arg;

static void *reader_thread(void *a) {
  reader_arg *ra = a;
  rf__store_reader *r;
  if (rf__store_reader_open(ra->st, (rf__store_pos){0, 0}, &r) != 0) {
    ra->bad = 1;
    return NULL;
  }
  rf__store_record rec;
  while (ra->seen < ra->want) {
    int rc = rf__store_reader_next(r, &rec);
    if (rc < 0) {
      ra->bad = 1;
      break;
    }
    if (rc == 0) {
      sched_yield();
      continue;
    }
    char buf[128];
    size_t len = payload(ra->seen, buf, sizeof buf);
    if (rec.len != len || memcmp(rec.data, buf, len) != 0) ra->bad = 1;
    ra->seen++;
  }
  rf__store_reader_close(r);
  return NULL;
}

Test(store_log, readers_beside_the_writer) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  rf__store_policy p = policy(RF_DURABILITY_NONE);
  p.segment_size = 2048;
  rf__store *st;
  cr_assert_eq(rf__store_open(dir, &p, &st), 0);
  enum { N = 5000, R = 3 };
  reader_arg ra[R];
  pthread_t t[R];
  for (int k = 0; k < R; k++) {
    ra[k] = (reader_arg){st, N, 0, 0};
    cr_assert_eq(pthread_create(&t[k], NULL, reader_thread, &ra[k]), 0);
  }
  for (int i = 0; i < N; i++) {
    char buf[128];
    size_t len = payload(i, buf, sizeof buf);
    cr_assert_eq(rf__store_append(st, RF_STORE_REC_RAW, buf, len, NULL), 0);
  }
  for (int k = 0; k < R; k++) {
    pthread_join(t[k], NULL);
    cr_assert_eq(ra[k].bad, 0, "reader %d saw a bad record", k);
    cr_assert_eq(ra[k].seen, N);
  }
  rf__store_close(st);
  remove_dir(dir);
}

Test(store_log, misuse_is_refused) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  rf__store *st, *st2;
  rf__store_policy p = policy(RF_DURABILITY_NONE);
  cr_assert_eq(rf__store_open(dir, &p, &st), 0);
  cr_assert_eq(rf__store_append(st, 0, "x", 1, NULL), RF_EINVAL);
  cr_assert_eq(rf__store_append(st, 1, "x", RF_STORE_MAX_RECORD + 1u, NULL), RF_EINVAL);
  cr_assert(strstr(rf_last_error(), "limit") != NULL, "%s", rf_last_error());
  /* a second writer is refused while the first holds the store */
  cr_assert_eq(rf__store_open(dir, &p, &st2), RF_EIO);
  cr_assert(strstr(rf_last_error(), "another") != NULL, "%s", rf_last_error());
  /* a reader-only open is fine, and may not append */
  rf__store_policy ro = p;
  ro.read_only = 1;
  cr_assert_eq(rf__store_open(dir, &ro, &st2), 0, "%s", rf_last_error());
  cr_assert_eq(rf__store_append(st2, 1, "x", 1, NULL), RF_ESTATE);
  rf__store_close(st2);
  rf__store_close(st);
  rf__store_close(NULL);
  /* read-only on a directory that does not exist */
  char none[80];
  snprintf(none, sizeof none, "%s-absent", dir);
  cr_assert_eq(rf__store_open(none, &ro, &st2), RF_ENOTFOUND);
  remove_dir(dir);
}

Test(store_log, out_of_memory_is_an_error) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  rf__store_policy p = policy(RF_DURABILITY_NONE);
  p.segment_size = 200;
  rf__store *st;
  cr_assert_eq(rf__store_open(dir, &p, &st), 0);
  for (int i = 0; i < 20; i++) cr_assert_eq(rf__store_append(st, 1, "abcdefgh", 8, NULL), 0);
  rf__store_close(st);
  for (uint64_t k = 1; k < 40; k++) {
    rf__alloc_fail_after(k);
    int rc = rf__store_open(dir, &p, &st);
    if (rc == 0) {
      rf__store_reader *r;
      rc = rf__store_reader_open(st, (rf__store_pos){0, 0}, &r);
      if (rc == 0) {
        rf__store_record rec;
        while ((rc = rf__store_reader_next(r, &rec)) == 1) {
        }
        rf__store_reader_close(r);
      }
      rf__store_close(st);
    }
    rf__alloc_fail_after(0);
    cr_assert(rc == 0 || rc == RF_ENOMEM, "k=%llu: %d %s", (unsigned long long)k, rc,
              rf_last_error());
  }
  cr_assert_eq(rf__store_open(dir, &p, &st), 0);
  rf__store_stats s;
  rf__store_get_stats(st, &s);
  cr_assert_eq(s.n_records, 20);
  rf__store_close(st);
  remove_dir(dir);
}

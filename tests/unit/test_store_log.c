/*
 * test_store_log.c: the record log of store/store.h: append, reopen and
 * replay round trips under each durability policy, what each policy
 * acknowledges, the group commit flusher (a lone append becomes durable
 * with no further append) and rf__store_wait_durable, segment rollover,
 * readers from a position, tailing and reader threads beside the writer,
 * batches (invisible until their commit, also to reader threads; aborted
 * without a trace; never split across segments; larger than the write
 * buffer), and refused misuse.
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

  /* (The time window, T ms, is the flusher's: see group_flusher_*.) */
  p.group_n = 1000;
  p.group_ms = 100000;
  cr_assert_eq(rf__store_open(dir, &p, &st), 0);
  cr_assert_eq(rf__store_append(st, RF_STORE_REC_RAW, "a", 1, NULL), 1);
  cr_assert_eq(rf__store_append(st, RF_STORE_REC_RAW, "b", 1, &pos[0]), 1);
  cr_assert_not(rf__store_durable(st, pos[0]));
  cr_assert_eq(rf__store_close(st), 0); /* close syncs */

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
  cr_assert_eq(s.n_batches, 0);
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

/* ---- group commit: the flusher, and waiting for durability ---------------- */

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
  nanosleep(&ts, NULL);
}

Test(store_log, group_flusher_makes_a_lone_append_durable) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  rf__store_policy p = policy(RF_DURABILITY_GROUP);
  p.group_n = 1000000; /* the count never closes the group here */
  p.group_ms = 5;
  rf__store *st;
  cr_assert_eq(rf__store_open(dir, &p, &st), 0, "%s", rf_last_error());
  for (int round = 0; round < 3; round++) {
    rf__store_pos pos;
    cr_assert_eq(rf__store_append(st, RF_STORE_REC_RAW, "lone", 4, &pos), 1);
    /* no other append: the flusher must sync it; eventually, within seconds */
    int durable = 0;
    for (int i = 0; i < 10000 && !durable; i++) {
      durable = rf__store_durable(st, pos);
      if (!durable) sleep_ms(1);
    }
    cr_assert(durable, "round %d: a lone append under group commit never became durable", round);
  }
  /* the same through rf__store_wait_durable, on the writer's thread */
  rf__store_pos pos;
  cr_assert_eq(rf__store_append(st, RF_STORE_REC_RAW, "wait", 4, &pos), 1);
  cr_assert_eq(rf__store_wait_durable(st, pos), 0, "%s", rf_last_error());
  cr_assert(rf__store_durable(st, pos));
  /* a position nothing was appended at: waiting would never end */
  rf__store_pos past = {pos.segment, pos.offset + 1000};
  cr_assert_eq(rf__store_wait_durable(st, past), RF_EINVAL);
  cr_assert(strstr(rf_last_error(), "no committed record") != NULL, "%s", rf_last_error());
  cr_assert_eq(rf__store_close(st), 0);
  remove_dir(dir);
}

typedef struct waiter_arg {
  rf__store *st;
  rf__store_pos pos;
  int rc;
} waiter_arg;

static void *waiter_thread(void *a) {
  waiter_arg *w = a;
  w->rc = rf__store_wait_durable(w->st, w->pos);
  return NULL;
}

Test(store_log, wait_durable_on_other_threads) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  rf__store_policy p = policy(RF_DURABILITY_GROUP);
  p.group_n = 50;
  p.group_ms = 3;
  p.segment_size = 4096; /* rolls while the flusher runs */
  rf__store *st;
  cr_assert_eq(rf__store_open(dir, &p, &st), 0, "%s", rf_last_error());
  enum { W = 4 };
  waiter_arg w[W];
  pthread_t t[W];
  for (int i = 0; i < 400; i++) {
    char buf[128];
    size_t len = payload(i, buf, sizeof buf);
    rf__store_pos pos;
    int rc = rf__store_append(st, RF_STORE_REC_RAW, buf, len, &pos);
    cr_assert(rc == 0 || rc == 1, "%s", rf_last_error());
    if (i % 100 == 0) {
      int k = i / 100;
      w[k] = (waiter_arg){st, pos, -99};
      cr_assert_eq(pthread_create(&t[k], NULL, waiter_thread, &w[k]), 0);
    }
    if (i % 37 == 0) sleep_ms(1);
  }
  for (int k = 0; k < W; k++) {
    pthread_join(t[k], NULL);
    cr_assert_eq(w[k].rc, 0, "waiter %d: %d", k, w[k].rc);
    cr_assert(rf__store_durable(st, w[k].pos));
  }
  cr_assert_eq(rf__store_close(st), 0);
  cr_assert_eq(rf__store_open(dir, &p, &st), 0, "%s", rf_last_error());
  check_replay(st, 400, (rf__store_pos){0, 0}, 0);
  rf__store_close(st);
  remove_dir(dir);
}

/* ---- batches ---------------------------------------------------------------- */

static int count_all(rf__store *st) {
  rf__store_reader *r;
  cr_assert_eq(rf__store_reader_open(st, (rf__store_pos){0, 0}, &r), 0);
  rf__store_record rec;
  int n = 0, rc;
  while ((rc = rf__store_reader_next(r, &rec)) == 1) n++;
  cr_assert_eq(rc, 0, "%s", rf_last_error());
  rf__store_reader_close(r);
  return n;
}

Test(store_log, batch_is_invisible_until_commit) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  rf__store_policy p = policy(RF_DURABILITY_FSYNC);
  rf__store *st;
  cr_assert_eq(rf__store_open(dir, &p, &st), 0);
  char buf[128];
  size_t len = payload(0, buf, sizeof buf);
  cr_assert_eq(rf__store_append(st, RF_STORE_REC_RAW, buf, len, NULL), 0);
  rf__store_reader *r;
  cr_assert_eq(rf__store_reader_open(st, (rf__store_pos){0, 0}, &r), 0);
  rf__store_record rec;
  cr_assert_eq(rf__store_reader_next(r, &rec), 1);
  cr_assert_eq(rf__store_batch_begin(st), 0);
  cr_assert(rf__store_in_batch(st));
  rf__store_pos pos[5];
  for (int i = 1; i <= 5; i++) {
    len = payload(i, buf, sizeof buf);
    cr_assert_eq(rf__store_append(st, RF_STORE_REC_RAW, buf, len, &pos[i - 1]), 1);
    cr_assert_eq(rf__store_reader_next(r, &rec), 0, "a record of an open batch was served");
    cr_assert_not(rf__store_durable(st, pos[i - 1]));
    cr_assert_eq(rf__store_wait_durable(st, pos[i - 1]), RF_EINVAL);
  }
  rf__store_stats s;
  rf__store_get_stats(st, &s);
  cr_assert_eq(s.n_records, 1);
  rf__store_pos commit;
  cr_assert_eq(rf__store_batch_commit(st, &commit), 0);
  cr_assert_not(rf__store_in_batch(st));
  cr_assert_gt(rf__store_pos_cmp(commit, pos[4]), 0);
  cr_assert(rf__store_durable(st, commit) && rf__store_durable(st, pos[0]));
  for (int i = 1; i <= 5; i++) {
    cr_assert_eq(rf__store_reader_next(r, &rec), 1);
    len = payload(i, buf, sizeof buf);
    cr_assert(rec.len == len && memcmp(rec.data, buf, len) == 0);
    cr_assert_eq(rf__store_pos_cmp(rec.pos, pos[i - 1]), 0);
  }
  cr_assert_eq(rf__store_reader_next(r, &rec), 0); /* the COMMIT is not served */
  rf__store_get_stats(st, &s);
  cr_assert_eq(s.n_records, 6);
  cr_assert_eq(s.n_batches, 1);
  cr_assert_eq(s.n_by_type[RF_STORE_REC_BEGIN], 1);
  cr_assert_eq(s.n_by_type[RF_STORE_REC_COMMIT], 1);
  /* an aborted batch leaves no trace: not in the file, not to readers */
  char path[128];
  seg_path(dir, 0, path, sizeof path);
  off_t size = file_size(path);
  cr_assert_eq(rf__store_batch_begin(st), 0);
  for (int i = 0; i < 3; i++) cr_assert_eq(rf__store_append(st, RF_STORE_REC_RAW, "gone", 4, NULL), 1);
  cr_assert_eq(rf__store_batch_abort(st), 0);
  cr_assert_eq(file_size(path), size);
  cr_assert_eq(rf__store_reader_next(r, &rec), 0);
  /* an empty batch writes nothing */
  cr_assert_eq(rf__store_batch_begin(st), 0);
  cr_assert_eq(rf__store_batch_commit(st, NULL), 0);
  cr_assert_eq(file_size(path), size);
  cr_assert_eq(rf__store_append(st, RF_STORE_REC_RAW, "after", 5, NULL), 0);
  cr_assert_eq(rf__store_reader_next(r, &rec), 1);
  cr_assert(rec.len == 5 && memcmp(rec.data, "after", 5) == 0);
  rf__store_reader_close(r);
  cr_assert_eq(rf__store_close(st), 0);
  cr_assert_eq(rf__store_open(dir, &p, &st), 0, "%s", rf_last_error());
  cr_assert_null(rf__store_recovery_note(st));
  rf__store_get_stats(st, &s);
  cr_assert_eq(s.n_records, 7);
  cr_assert_eq(s.n_batches, 1);
  cr_assert_eq(count_all(st), 7);
  rf__store_close(st);
  remove_dir(dir);
}

Test(store_log, batch_misuse_is_refused) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  rf__store_policy p = policy(RF_DURABILITY_NONE);
  rf__store *st;
  cr_assert_eq(rf__store_open(dir, &p, &st), 0);
  cr_assert_eq(rf__store_batch_commit(st, NULL), RF_ESTATE);
  cr_assert_eq(rf__store_batch_abort(st), 0); /* nothing open: nothing to do */
  cr_assert_eq(rf__store_append(st, RF_STORE_REC_BEGIN, "", 0, NULL), RF_EINVAL);
  cr_assert_eq(rf__store_append(st, RF_STORE_REC_COMMIT, "abcd", 4, NULL), RF_EINVAL);
  cr_assert(strstr(rf_last_error(), "framing") != NULL, "%s", rf_last_error());
  cr_assert_eq(rf__store_batch_begin(st), 0);
  cr_assert_eq(rf__store_batch_begin(st), RF_ESTATE);
  cr_assert_eq(rf__store_append(st, RF_STORE_REC_RAW, "x", RF_STORE_MAX_RECORD + 1u, NULL), RF_EINVAL);
  cr_assert_eq(rf__store_append(st, RF_STORE_REC_RAW, "x", 1, NULL), 1);
  cr_assert_eq(rf__store_batch_commit(st, NULL), 0);
  rf__store_close(st);
  rf__store_policy ro = p;
  ro.read_only = 1;
  cr_assert_eq(rf__store_open(dir, &ro, &st), 0);
  cr_assert_eq(rf__store_batch_begin(st), RF_ESTATE);
  cr_assert_eq(count_all(st), 1);
  rf__store_close(st);
  remove_dir(dir);
}

Test(store_log, batches_stay_in_one_segment) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  rf__store_policy p = policy(RF_DURABILITY_GROUP);
  p.segment_size = 1024;
  p.group_n = 3;
  rf__store *st;
  cr_assert_eq(rf__store_open(dir, &p, &st), 0);
  /* batches of 1..12 records of ~60 bytes in 1 KiB segments; some larger
   * than a segment */
  int next = 0;
  for (int b = 0; b < 40; b++) {
    int k = 1 + b % 12;
    cr_assert_eq(rf__store_batch_begin(st), 0);
    rf__store_pos first = {0, 0}, pos;
    for (int i = 0; i < k; i++, next++) {
      char buf[128];
      size_t len = payload(next, buf, sizeof buf);
      cr_assert_eq(rf__store_append(st, RF_STORE_REC_RAW, buf, len, &pos), 1);
      if (i == 0) first = pos;
      cr_assert_eq(pos.segment, first.segment, "batch %d spans segments", b);
    }
    int rc = rf__store_batch_commit(st, &pos);
    cr_assert(rc == 0 || rc == 1, "%s", rf_last_error());
    cr_assert_eq(pos.segment, first.segment);
  }
  /* a record outside batches still rolls as before */
  cr_assert_geq(rf__store_append(st, RF_STORE_REC_RAW, "x", 1, NULL), 0);
  rf__store_stats s;
  rf__store_get_stats(st, &s);
  cr_assert_gt(s.n_segments, 10);
  cr_assert_eq(s.n_batches, 40);
  cr_assert_eq(rf__store_close(st), 0);
  cr_assert_eq(rf__store_open(dir, &p, &st), 0, "%s", rf_last_error());
  cr_assert_null(rf__store_recovery_note(st));
  rf__store_reader *r;
  cr_assert_eq(rf__store_reader_open(st, (rf__store_pos){0, 0}, &r), 0);
  rf__store_record rec;
  for (int i = 0; i < next; i++) {
    cr_assert_eq(rf__store_reader_next(r, &rec), 1);
    char buf[128];
    size_t len = payload(i, buf, sizeof buf);
    cr_assert(rec.len == len && memcmp(rec.data, buf, len) == 0, "record %d", i);
  }
  cr_assert_eq(rf__store_reader_next(r, &rec), 1);
  cr_assert_eq(rf__store_reader_next(r, &rec), 0);
  rf__store_reader_close(r);
  rf__store_close(st);
  remove_dir(dir);
}

Test(store_log, batch_larger_than_the_write_buffer) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  rf__store_policy p = policy(RF_DURABILITY_FSYNC);
  p.segment_size = 1 << 20;
  rf__store *st;
  cr_assert_eq(rf__store_open(dir, &p, &st), 0);
  size_t sizes[] = {700000, 500000, 3u << 20, 10, 900000};
  int n = (int)(sizeof sizes / sizeof sizes[0]);
  unsigned char *b = malloc(3u << 20);
  cr_assert_eq(rf__store_append(st, RF_STORE_REC_RAW, "before", 6, NULL), 0);
  cr_assert_eq(rf__store_batch_begin(st), 0);
  for (int i = 0; i < n; i++) {
    memset(b, 'a' + i, sizes[i]);
    cr_assert_eq(rf__store_append(st, RF_STORE_REC_RAW, b, sizes[i], NULL), 1);
  }
  /* some of it went to the file already; readers see none of it */
  rf__store_reader *r;
  cr_assert_eq(rf__store_reader_open(st, (rf__store_pos){0, 0}, &r), 0);
  rf__store_record rec;
  cr_assert_eq(rf__store_reader_next(r, &rec), 1);
  cr_assert_eq(rf__store_reader_next(r, &rec), 0);
  cr_assert_eq(rf__store_batch_commit(st, NULL), 0);
  for (int i = 0; i < n; i++) {
    cr_assert_eq(rf__store_reader_next(r, &rec), 1);
    cr_assert_eq(rec.len, sizes[i]);
    cr_assert(rec.len == 0 || (rec.data[0] == 'a' + i && rec.data[rec.len - 1] == 'a' + i));
  }
  cr_assert_eq(rf__store_reader_next(r, &rec), 0);
  rf__store_reader_close(r);
  /* the same size aborted after part was written: cut off the file (the
   * next record is the segment's last bytes) */
  cr_assert_eq(rf__store_batch_begin(st), 0);
  for (int i = 0; i < n; i++) cr_assert_eq(rf__store_append(st, RF_STORE_REC_RAW, b, sizes[i], NULL), 1);
  cr_assert_eq(rf__store_batch_abort(st), 0);
  rf__store_pos z;
  cr_assert_eq(rf__store_append(st, RF_STORE_REC_RAW, "z", 1, &z), 0);
  char path[128];
  seg_path(dir, z.segment, path, sizeof path);
  cr_assert_eq((uint64_t)file_size(path), z.offset + 13 + 1);
  cr_assert_eq(rf__store_close(st), 0);
  cr_assert_eq(rf__store_open(dir, &p, &st), 0, "%s", rf_last_error());
  cr_assert_null(rf__store_recovery_note(st));
  cr_assert_eq(count_all(st), n + 2);
  rf__store_close(st);
  free(b);
  remove_dir(dir);
}

/* Readers on other threads tail a log written in batches of 1 to 17
 * records: whenever a reader reaches the end, it must have seen whole
 * batches only. Each payload is "b<batch> <index> <size>". */
typedef struct batch_reader_arg {
  rf__store *st;
  int want;
  int seen;
  int bad;
  int ends; /* times the end was reached */
} batch_reader_arg;

static void *batch_reader_thread(void *a) {
  batch_reader_arg *ra = a;
  rf__store_reader *r;
  if (rf__store_reader_open(ra->st, (rf__store_pos){0, 0}, &r) != 0) {
    ra->bad = 1;
    return NULL;
  }
  rf__store_record rec;
  int idx = 0, size = 0, batch = -1;
  while (ra->seen < ra->want && !ra->bad) {
    int rc = rf__store_reader_next(r, &rec);
    if (rc < 0) {
      ra->bad = 1;
      break;
    }
    if (rc == 0) {
      ra->ends++;
      if (batch >= 0 && idx != size) ra->bad = 2; /* stopped inside a batch */
      sched_yield();
      continue;
    }
    char buf[64];
    size_t n = rec.len < sizeof buf - 1 ? rec.len : sizeof buf - 1;
    memcpy(buf, rec.data, n);
    buf[n] = 0;
    int b, i, k;
    if (sscanf(buf, "b%d %d %d", &b, &i, &k) != 3) {
      ra->bad = 3;
      break;
    }
    if (i == 0) {
      if (batch >= 0 && idx != size) ra->bad = 4;
      if (b != batch + 1) ra->bad = 5;
      batch = b;
      size = k;
      idx = 0;
    } else if (b != batch || i != idx) {
      ra->bad = 6;
    }
    idx++;
    ra->seen++;
  }
  rf__store_reader_close(r);
  return NULL;
}

Test(store_log, readers_see_whole_batches) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  rf__store_policy p = policy(RF_DURABILITY_NONE);
  p.segment_size = 2048;
  rf__store *st;
  cr_assert_eq(rf__store_open(dir, &p, &st), 0);
  enum { BATCHES = 1500, R = 3 };
  int total = 0;
  for (int b = 0; b < BATCHES; b++) total += 1 + (b * 7) % 17;
  batch_reader_arg ra[R];
  pthread_t t[R];
  for (int k = 0; k < R; k++) {
    ra[k] = (batch_reader_arg){st, total, 0, 0, 0};
    cr_assert_eq(pthread_create(&t[k], NULL, batch_reader_thread, &ra[k]), 0);
  }
  for (int b = 0; b < BATCHES; b++) {
    int k = 1 + (b * 7) % 17;
    cr_assert_eq(rf__store_batch_begin(st), 0);
    for (int i = 0; i < k; i++) {
      char buf[64];
      int len = snprintf(buf, sizeof buf, "b%d %d %d", b, i, k);
      cr_assert_eq(rf__store_append(st, RF_STORE_REC_RAW, buf, (size_t)len, NULL), 1);
      if (i % 5 == 4) sched_yield(); /* give readers a chance to look mid-batch */
    }
    cr_assert_eq(rf__store_batch_commit(st, NULL), 0);
  }
  for (int k = 0; k < R; k++) {
    pthread_join(t[k], NULL);
    cr_assert_eq(ra[k].bad, 0, "reader %d: fault %d after %d records", k, ra[k].bad, ra[k].seen);
    cr_assert_eq(ra[k].seen, total);
  }
  rf__store_close(st);
  remove_dir(dir);
}

/* A new store fsyncs the directory holding it (policies fsync and group):
 * every spelling of the directory works: absolute, with a trailing slash,
 * relative to the working directory, nested in an existing directory. */
Test(store_log, new_store_in_every_spelling_of_its_directory) {
  char base[64];
  scratch_dir(base, sizeof base);
  cr_assert_eq(mkdir(base, 0755), 0);
  cr_assert_eq(chdir(base), 0);
  const char *dirs[] = {"plain", "slash/", "./dot", "nested", "nested/inner//"};
  for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
    for (int d = 0; d < 2; d++) {
      const char *dir = dirs[i]; /* opened twice: created, then existing */
      rf__store_policy p = policy(d ? RF_DURABILITY_GROUP : RF_DURABILITY_FSYNC);
      rf__store *st;
      cr_assert_eq(rf__store_open(dir, &p, &st), 0, "%s: %s", dir, rf_last_error());
      cr_assert_geq(rf__store_append(st, RF_STORE_REC_RAW, "x", 1, NULL), 0);
      cr_assert_eq(rf__store_close(st), 0);
    }
  }
  char abs[128];
  snprintf(abs, sizeof abs, "%s/abs", base);
  rf__store_policy p = policy(RF_DURABILITY_FSYNC);
  rf__store *st;
  cr_assert_eq(rf__store_open(abs, &p, &st), 0, "%s", rf_last_error());
  rf__store_close(st);
  /* a directory whose parent is missing is an error naming it */
  cr_assert_eq(rf__store_open("missing/parent/store", &p, &st), RF_EIO);
  cr_assert(strstr(rf_last_error(), "missing/parent/store") != NULL, "%s", rf_last_error());
  cr_assert_eq(chdir("/tmp"), 0);
  const char *rm[] = {"plain", "slash", "dot", "nested/inner", "nested", "abs"};
  for (size_t i = 0; i < sizeof rm / sizeof rm[0]; i++) {
    char path[160];
    snprintf(path, sizeof path, "%s/%s", base, rm[i]);
    remove_dir(path);
  }
  rmdir(base);
}

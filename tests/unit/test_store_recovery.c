/*
 * test_store_recovery.c: opening a damaged store (store/store.h). A torn
 * or corrupt tail is truncated to the last whole record and reported, for a
 * cut at every byte of the last record; every other kind of damage (flipped
 * bytes before the tail, a truncated segment before the last, a missing
 * segment, a bad header, a newer format version) is its own error naming
 * the segment file and byte offset. Nothing crashes. Batches: a store cut
 * at every byte of its last batch, or with any byte of its COMMIT record
 * flipped, loses exactly that batch (an unfinished batch, reported); batch
 * framing that does not match up is an error naming segment and offset;
 * a store of format version 1 opens, reads and grows a new segment.
 */
#include <xxhash.h>

#include "unit/store_helpers/store_test.h"
#include "common/error.h"

#define N_REC 6

static rf__store_policy none_policy(uint64_t seg_size) {
  rf__store_policy p = rf__store_policy_default();
  p.durability = RF_DURABILITY_NONE;
  p.segment_size = seg_size;
  return p;
}

/* Writes N_REC records ("rec-i", padded) to a new store; pos[] gets their
 * positions. */
static void make_store(const char *dir, uint64_t seg_size, rf__store_pos *pos, int n) {
  rf__store_policy p = none_policy(seg_size);
  rf__store *st;
  cr_assert_eq(rf__store_open(dir, &p, &st), 0, "%s", rf_last_error());
  for (int i = 0; i < n; i++) {
    char buf[64];
    int len = snprintf(buf, sizeof buf, "rec-%d-%.*s", i, 10 + i, "0123456789abcdefghijklmnop");
    cr_assert_eq(rf__store_append(st, RF_STORE_REC_RAW, buf, (size_t)len, &pos[i]), 0);
  }
  cr_assert_eq(rf__store_close(st), 0);
}

static int count_records(rf__store *st) {
  rf__store_reader *r;
  cr_assert_eq(rf__store_reader_open(st, (rf__store_pos){0, 0}, &r), 0);
  rf__store_record rec;
  int n = 0, rc;
  while ((rc = rf__store_reader_next(r, &rec)) == 1) {
    char want[64];
    int len = snprintf(want, sizeof want, "rec-%d-%.*s", n, 10 + n, "0123456789abcdefghijklmnop");
    if (rec.type == RF_STORE_REC_RAW)
      cr_assert(rec.len == (size_t)len && memcmp(rec.data, want, rec.len) == 0,
                "record %d served wrong bytes", n);
    n++;
  }
  cr_assert_eq(rc, 0, "%s", rf_last_error());
  rf__store_reader_close(r);
  return n;
}

Test(store_recovery, torn_tail_at_every_offset) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  rf__store_pos pos[N_REC];
  make_store(dir, 1 << 20, pos, N_REC);
  char path[128];
  seg_path(dir, 0, path, sizeof path);
  size_t len;
  unsigned char *orig = read_file(path, &len);
  size_t last = (size_t)pos[N_REC - 1].offset;
  rf__store_policy p = none_policy(1 << 20);
  for (size_t cut = last; cut < len; cut++) {
    write_file(path, orig, cut);
    rf__store *st;
    cr_assert_eq(rf__store_open(dir, &p, &st), 0, "cut %zu: %s", cut, rf_last_error());
    const char *note = rf__store_recovery_note(st);
    if (cut == last) {
      cr_assert_null(note, "cut at a record boundary: nothing to say, got %s", note);
    } else {
      cr_assert_not_null(note, "cut %zu: truncation not reported", cut);
      char want[64];
      snprintf(want, sizeof want, "dropped %zu bytes", cut - last);
      cr_assert(strstr(note, want) != NULL, "cut %zu: note '%s' lacks '%s'", cut, note, want);
      cr_assert(strstr(note, "00000000.seg") != NULL, "%s", note);
    }
    cr_assert_eq((size_t)file_size(path), last, "cut %zu: not truncated to the last whole record", cut);
    cr_assert_eq(count_records(st), N_REC - 1);
    /* new appends work and survive a reopen */
    cr_assert_eq(rf__store_append(st, 9, "new", 3, NULL), 0);
    rf__store_close(st);
    cr_assert_eq(rf__store_open(dir, &p, &st), 0, "%s", rf_last_error());
    cr_assert_null(rf__store_recovery_note(st));
    cr_assert_eq(count_records(st), N_REC);
    rf__store_close(st);
  }
  free(orig);
  remove_dir(dir);
}

Test(store_recovery, corrupt_last_record_is_a_corrupt_tail) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  rf__store_pos pos[N_REC];
  make_store(dir, 1 << 20, pos, N_REC);
  char path[128];
  seg_path(dir, 0, path, sizeof path);
  size_t len;
  unsigned char *orig = read_file(path, &len);
  size_t last = (size_t)pos[N_REC - 1].offset;
  rf__store_policy p = none_policy(1 << 20);
  for (size_t at = last; at < len; at++) {
    unsigned char *b = malloc(len);
    memcpy(b, orig, len);
    b[at] ^= 0x20;
    write_file(path, b, len);
    free(b);
    rf__store *st;
    cr_assert_eq(rf__store_open(dir, &p, &st), 0, "flip %zu: %s", at, rf_last_error());
    cr_assert_not_null(rf__store_recovery_note(st));
    cr_assert_eq(count_records(st), N_REC - 1);
    rf__store_close(st);
  }
  free(orig);
  remove_dir(dir);
}

Test(store_recovery, read_only_open_does_not_truncate) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  rf__store_pos pos[N_REC];
  make_store(dir, 1 << 20, pos, N_REC);
  char path[128];
  seg_path(dir, 0, path, sizeof path);
  size_t len;
  unsigned char *orig = read_file(path, &len);
  write_file(path, orig, len - 3);
  rf__store_policy p = none_policy(1 << 20);
  p.read_only = 1;
  rf__store *st;
  cr_assert_eq(rf__store_open(dir, &p, &st), 0, "%s", rf_last_error());
  cr_assert(strstr(rf__store_recovery_note(st), "would drop") != NULL, "%s",
            rf__store_recovery_note(st));
  cr_assert_eq(count_records(st), N_REC - 1);
  rf__store_close(st);
  cr_assert_eq((size_t)file_size(path), len - 3);
  free(orig);
  remove_dir(dir);
}

Test(store_recovery, flipped_bytes_before_the_tail) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  rf__store_pos pos[N_REC];
  make_store(dir, 1 << 20, pos, N_REC);
  char path[128];
  seg_path(dir, 0, path, sizeof path);
  size_t len;
  unsigned char *orig = read_file(path, &len);
  rf__store_policy p = none_policy(1 << 20);
  size_t end = (size_t)pos[N_REC - 1].offset;
  for (size_t at = 0; at < end; at++) {
    unsigned char *b = malloc(len);
    memcpy(b, orig, len);
    b[at] ^= 0x01;
    write_file(path, b, len);
    free(b);
    rf__store *st;
    int rc = rf__store_open(dir, &p, &st);
    cr_assert_eq(rc, RF_ECORRUPT, "flip at %zu: got %d (%s)", at, rc, rf_last_error());
    /* the message names the file and the offset of the damaged record */
    uint64_t rec_off = 0;
    for (int i = 0; i < N_REC; i++)
      if (pos[i].offset <= at) rec_off = pos[i].offset;
    char want[64];
    snprintf(want, sizeof want, "offset %llu", (unsigned long long)(at < 32 ? 0 : rec_off));
    const char *msg = rf_last_error();
    cr_assert(strstr(msg, "00000000.seg") != NULL, "flip at %zu: %s", at, msg);
    if (at >= 32 || at < 8 || at >= 24)
      cr_assert(strstr(msg, want) != NULL, "flip at %zu: '%s' lacks '%s'", at, msg, want);
    /* the file is left as it was: nothing truncated */
    cr_assert_eq((size_t)file_size(path), len);
  }
  free(orig);
  remove_dir(dir);
}

Test(store_recovery, damaged_segment_before_the_last) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  rf__store_pos pos[40];
  make_store(dir, 160, pos, 40);
  cr_assert_gt(pos[39].segment, 2);
  char path[128];
  seg_path(dir, 1, path, sizeof path);
  size_t len;
  unsigned char *orig = read_file(path, &len);
  rf__store_policy p = none_policy(160);
  rf__store *st;
  /* truncated in the middle of its last record, or at a record boundary
   * lost (a whole record gone is not detectable; a torn one is) */
  write_file(path, orig, len - 5);
  cr_assert_eq(rf__store_open(dir, &p, &st), RF_ECORRUPT);
  cr_assert(strstr(rf_last_error(), "00000001.seg") != NULL, "%s", rf_last_error());
  cr_assert(strstr(rf_last_error(), "not the last segment") != NULL, "%s", rf_last_error());
  /* shorter than its header */
  write_file(path, orig, 10);
  cr_assert_eq(rf__store_open(dir, &p, &st), RF_ECORRUPT);
  cr_assert(strstr(rf_last_error(), "00000001.seg is truncated") != NULL, "%s", rf_last_error());
  /* a flipped byte at the end of a middle segment */
  unsigned char *b = malloc(len);
  memcpy(b, orig, len);
  b[len - 1] ^= 0x80;
  write_file(path, b, len);
  free(b);
  cr_assert_eq(rf__store_open(dir, &p, &st), RF_ECORRUPT);
  cr_assert(strstr(rf_last_error(), "checksum mismatch") != NULL, "%s", rf_last_error());
  /* restored, the store opens */
  write_file(path, orig, len);
  cr_assert_eq(rf__store_open(dir, &p, &st), 0, "%s", rf_last_error());
  cr_assert_eq(count_records(st), 40);
  rf__store_close(st);
  free(orig);
  remove_dir(dir);
}

Test(store_recovery, missing_segment) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  rf__store_pos pos[40];
  make_store(dir, 160, pos, 40);
  char path[128], moved[160];
  seg_path(dir, 2, path, sizeof path);
  snprintf(moved, sizeof moved, "%s.moved", path);
  cr_assert_eq(rename(path, moved), 0);
  rf__store_policy p = none_policy(160);
  rf__store *st;
  cr_assert_eq(rf__store_open(dir, &p, &st), RF_ECORRUPT);
  cr_assert(strstr(rf_last_error(), "00000002.seg is missing") != NULL, "%s", rf_last_error());
  cr_assert_eq(rename(moved, path), 0);
  /* the first one missing */
  seg_path(dir, 0, path, sizeof path);
  snprintf(moved, sizeof moved, "%s.moved", path);
  cr_assert_eq(rename(path, moved), 0);
  cr_assert_eq(rf__store_open(dir, &p, &st), RF_ECORRUPT);
  cr_assert(strstr(rf_last_error(), "00000000.seg is missing") != NULL, "%s", rf_last_error());
  cr_assert_eq(rename(moved, path), 0);
  cr_assert_eq(rf__store_open(dir, &p, &st), 0, "%s", rf_last_error());
  rf__store_close(st);
  remove_dir(dir);
}

Test(store_recovery, newer_format_version) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  rf__store_pos pos[40];
  make_store(dir, 160, pos, 40);
  char path[128];
  seg_path(dir, 1, path, sizeof path);
  rewrite_header(path, 3, 1, 1);
  rf__store_policy p = none_policy(160);
  rf__store *st;
  cr_assert_eq(rf__store_open(dir, &p, &st), RF_EVERSION);
  cr_assert(strstr(rf_last_error(), "00000001.seg has format version 3, newer") != NULL, "%s",
            rf_last_error());
  /* a header whose checksum does not match */
  rewrite_header(path, 1, 1, 0);
  rewrite_header(path, 1, 7, 0);
  cr_assert_eq(rf__store_open(dir, &p, &st), RF_ECORRUPT);
  cr_assert(strstr(rf_last_error(), "header checksum") != NULL, "%s", rf_last_error());
  /* a valid header naming the wrong segment */
  rewrite_header(path, 1, 7, 1);
  cr_assert_eq(rf__store_open(dir, &p, &st), RF_ECORRUPT);
  cr_assert(strstr(rf_last_error(), "segment number 7") != NULL, "%s", rf_last_error());
  rewrite_header(path, 1, 1, 1);
  cr_assert_eq(rf__store_open(dir, &p, &st), 0, "%s", rf_last_error());
  rf__store_close(st);
  remove_dir(dir);
}

Test(store_recovery, not_a_segment) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  rf__store_pos pos[4];
  make_store(dir, 1 << 20, pos, 4);
  char path[128];
  seg_path(dir, 0, path, sizeof path);
  unsigned char junk[100];
  memset(junk, 'j', sizeof junk);
  write_file(path, junk, sizeof junk);
  rf__store_policy p = none_policy(1 << 20);
  rf__store *st;
  cr_assert_eq(rf__store_open(dir, &p, &st), RF_ECORRUPT);
  cr_assert(strstr(rf_last_error(), "bad magic") != NULL, "%s", rf_last_error());
  remove_dir(dir);
}

Test(store_recovery, torn_segment_header) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  rf__store_pos pos[40];
  make_store(dir, 160, pos, 40);
  /* a crash while the next segment was being created */
  char path[128];
  seg_path(dir, pos[39].segment + 1, path, sizeof path);
  write_file(path, (const unsigned char *)"RFST", 4);
  rf__store_policy p = none_policy(160);
  rf__store *st;
  cr_assert_eq(rf__store_open(dir, &p, &st), 0, "%s", rf_last_error());
  cr_assert(strstr(rf__store_recovery_note(st), "torn segment header") != NULL);
  cr_assert_eq(count_records(st), 40);
  cr_assert_eq(rf__store_append(st, 9, "after", 5, NULL), 0);
  rf__store_close(st);
  cr_assert_eq(rf__store_open(dir, &p, &st), 0, "%s", rf_last_error());
  cr_assert_eq(count_records(st), 41);
  rf__store_close(st);
  remove_dir(dir);
}

Test(store_recovery, reader_finds_damage_after_open) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  rf__store_pos pos[N_REC];
  make_store(dir, 1 << 20, pos, N_REC);
  rf__store_policy p = none_policy(1 << 20);
  rf__store *st;
  cr_assert_eq(rf__store_open(dir, &p, &st), 0);
  char path[128];
  seg_path(dir, 0, path, sizeof path);
  size_t len;
  unsigned char *b = read_file(path, &len);
  b[pos[2].offset + 7] ^= 0xff;
  write_file(path, b, len);
  free(b);
  rf__store_reader *r;
  cr_assert_eq(rf__store_reader_open(st, (rf__store_pos){0, 0}, &r), 0);
  rf__store_record rec;
  cr_assert_eq(rf__store_reader_next(r, &rec), 1);
  cr_assert_eq(rf__store_reader_next(r, &rec), 1);
  cr_assert_eq(rf__store_reader_next(r, &rec), RF_ECORRUPT);
  char want[64];
  snprintf(want, sizeof want, "00000000.seg at offset %llu", (unsigned long long)pos[2].offset);
  cr_assert(strstr(rf_last_error(), want) != NULL, "%s", rf_last_error());
  rf__store_reader_close(r);
  rf__store_close(st);
  remove_dir(dir);
}

/* ---- batches ---------------------------------------------------------------- */

#define N_SINGLE 3
#define N_BATCH 4

/* N_SINGLE single records, then a batch of N_BATCH. *begin: the offset of
 * the batch's BEGIN record; *end: the file's size. */
static void make_batch_store(const char *dir, uint64_t *begin, uint64_t *end) {
  rf__store_pos pos[N_SINGLE];
  make_store(dir, 1 << 20, pos, N_SINGLE);
  rf__store_policy p = none_policy(1 << 20);
  rf__store *st;
  cr_assert_eq(rf__store_open(dir, &p, &st), 0, "%s", rf_last_error());
  cr_assert_eq(rf__store_batch_begin(st), 0);
  rf__store_pos first, commit;
  for (int i = 0; i < N_BATCH; i++) {
    char buf[64];
    int len = snprintf(buf, sizeof buf, "rec-%d-%.*s", N_SINGLE + i, 10 + N_SINGLE + i,
                       "0123456789abcdefghijklmnop");
    cr_assert_eq(rf__store_append(st, RF_STORE_REC_RAW, buf, (size_t)len, i ? NULL : &first), 1);
  }
  cr_assert_eq(rf__store_batch_commit(st, &commit), 0);
  cr_assert_eq(rf__store_close(st), 0);
  *begin = first.offset - 13;
  *end = commit.offset + 13 + 4;
}

Test(store_recovery, unfinished_batch_at_every_cut) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  uint64_t begin, end;
  make_batch_store(dir, &begin, &end);
  char path[128];
  seg_path(dir, 0, path, sizeof path);
  size_t len;
  unsigned char *orig = read_file(path, &len);
  cr_assert_eq(len, end);
  rf__store_policy p = none_policy(1 << 20);
  for (size_t cut = begin; cut <= len; cut++) {
    write_file(path, orig, cut);
    rf__store *st;
    cr_assert_eq(rf__store_open(dir, &p, &st), 0, "cut %zu: %s", cut, rf_last_error());
    const char *note = rf__store_recovery_note(st);
    if (cut == begin || cut == len) {
      cr_assert_null(note, "cut %zu at a batch boundary: nothing to say, got %s", cut, note);
    } else {
      cr_assert_not_null(note, "cut %zu: dropping the batch not reported", cut);
      char want[64];
      snprintf(want, sizeof want, "dropped %zu bytes", cut - (size_t)begin);
      cr_assert(strstr(note, want) != NULL, "cut %zu: note '%s' lacks '%s'", cut, note, want);
      if (cut >= begin + 13) /* the BEGIN record is whole */
        cr_assert(strstr(note, "unfinished batch at offset") != NULL, "cut %zu: %s", cut, note);
    }
    int want_records = cut == len ? N_SINGLE + N_BATCH : N_SINGLE;
    cr_assert_eq((size_t)file_size(path), cut == len ? len : begin, "cut %zu", cut);
    cr_assert_eq(count_records(st), want_records, "cut %zu", cut);
    rf__store_stats s;
    rf__store_get_stats(st, &s);
    cr_assert_eq(s.n_records, (uint64_t)want_records, "cut %zu: stats count the dropped batch", cut);
    cr_assert_eq(s.n_batches, cut == len ? 1u : 0u);
    rf__store_close(st);
  }
  /* read-only: nothing truncated, reads stop before the batch */
  write_file(path, orig, len - 1);
  rf__store_policy ro = p;
  ro.read_only = 1;
  rf__store *st;
  cr_assert_eq(rf__store_open(dir, &ro, &st), 0, "%s", rf_last_error());
  cr_assert(strstr(rf__store_recovery_note(st), "unfinished batch") != NULL);
  cr_assert(strstr(rf__store_recovery_note(st), "a writer would drop") != NULL);
  cr_assert_eq(count_records(st), N_SINGLE);
  rf__store_close(st);
  cr_assert_eq((size_t)file_size(path), len - 1);
  free(orig);
  remove_dir(dir);
}

Test(store_recovery, damaged_commit_record_drops_its_batch) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  uint64_t begin, end;
  make_batch_store(dir, &begin, &end);
  char path[128];
  seg_path(dir, 0, path, sizeof path);
  size_t len;
  unsigned char *orig = read_file(path, &len);
  rf__store_policy p = none_policy(1 << 20);
  for (size_t at = len - 17; at < len; at++) {
    unsigned char *b = malloc(len);
    memcpy(b, orig, len);
    b[at] ^= 0x10;
    write_file(path, b, len);
    free(b);
    rf__store *st;
    cr_assert_eq(rf__store_open(dir, &p, &st), 0, "flip %zu: %s", at, rf_last_error());
    const char *note = rf__store_recovery_note(st);
    cr_assert(note && strstr(note, "unfinished batch") != NULL, "flip %zu: %s", at, note);
    cr_assert_eq(count_records(st), N_SINGLE);
    cr_assert_eq((uint64_t)file_size(path), begin);
    rf__store_close(st);
  }
  free(orig);
  remove_dir(dir);
}

/* A segment 0 made of the header of a fresh store and the given frames. */
static void craft_segment(const char *dir, const unsigned char *frames, size_t n) {
  rf__store_policy p = none_policy(1 << 20);
  rf__store *st;
  cr_assert_eq(rf__store_open(dir, &p, &st), 0);
  rf__store_close(st);
  char path[128];
  seg_path(dir, 0, path, sizeof path);
  size_t len;
  unsigned char *h = read_file(path, &len);
  cr_assert_eq(len, 32);
  unsigned char *b = malloc(32 + n);
  memcpy(b, h, 32);
  memcpy(b + 32, frames, n);
  write_file(path, b, 32 + n);
  free(b);
  free(h);
}

static void expect_corrupt(const unsigned char *frames, size_t n, const char *want) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  craft_segment(dir, frames, n);
  rf__store_policy p = none_policy(1 << 20);
  rf__store *st;
  int rc = rf__store_open(dir, &p, &st);
  if (rc == 0) rf__store_close(st);
  cr_assert_eq(rc, RF_ECORRUPT, "want '%s', got %d", want, rc);
  cr_assert(strstr(rf_last_error(), want) != NULL, "'%s' lacks '%s'", rf_last_error(), want);
  cr_assert(strstr(rf_last_error(), "00000000.seg") != NULL, "%s", rf_last_error());
  remove_dir(dir);
}

Test(store_recovery, batch_framing_that_does_not_match_up) {
  unsigned char f[512];
  unsigned char two[4] = {2, 0, 0, 0}, one[4] = {1, 0, 0, 0};
  size_t n;
  /* a COMMIT counting 2 records after a batch of 1 (then a record, so it
   * is not the tail) */
  n = put_test_frame(f, RF_STORE_REC_BEGIN, NULL, 0);
  n += put_test_frame(f + n, RF_STORE_REC_RAW, "a", 1);
  n += put_test_frame(f + n, RF_STORE_REC_COMMIT, two, 4);
  n += put_test_frame(f + n, RF_STORE_REC_RAW, "b", 1);
  expect_corrupt(f, n, "offset 59: batch COMMIT record counts 2 records, but the batch begun at offset 32 has 1");
  /* a COMMIT with no batch */
  n = put_test_frame(f, RF_STORE_REC_RAW, "a", 1);
  n += put_test_frame(f + n, RF_STORE_REC_COMMIT, one, 4);
  expect_corrupt(f, n, "offset 46: batch COMMIT record with no batch open");
  /* a BEGIN inside a batch */
  n = put_test_frame(f, RF_STORE_REC_BEGIN, NULL, 0);
  n += put_test_frame(f + n, RF_STORE_REC_RAW, "a", 1);
  n += put_test_frame(f + n, RF_STORE_REC_BEGIN, NULL, 0);
  expect_corrupt(f, n, "offset 59: batch BEGIN record inside a batch (begun at offset 32)");
  /* a BEGIN with a payload */
  n = put_test_frame(f, RF_STORE_REC_BEGIN, "x", 1);
  expect_corrupt(f, n, "offset 32: batch BEGIN record with a payload");
  /* a COMMIT of the wrong length */
  n = put_test_frame(f, RF_STORE_REC_BEGIN, NULL, 0);
  n += put_test_frame(f + n, RF_STORE_REC_RAW, "a", 1);
  n += put_test_frame(f + n, RF_STORE_REC_COMMIT, one, 3);
  expect_corrupt(f, n, "offset 59: batch COMMIT record counts");
}

Test(store_recovery, unfinished_batch_before_the_last_segment) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  unsigned char f[128];
  size_t n = put_test_frame(f, RF_STORE_REC_BEGIN, NULL, 0);
  n += put_test_frame(f + n, RF_STORE_REC_RAW, "a", 1);
  craft_segment(dir, f, n);
  /* a second segment after it */
  char path0[128], path1[128];
  seg_path(dir, 0, path0, sizeof path0);
  seg_path(dir, 1, path1, sizeof path1);
  size_t len;
  unsigned char *b = read_file(path0, &len);
  write_file(path1, b, 32);
  rewrite_header(path1, 2, 1, 1);
  free(b);
  rf__store_policy p = none_policy(1 << 20);
  rf__store *st;
  cr_assert_eq(rf__store_open(dir, &p, &st), RF_ECORRUPT);
  cr_assert(strstr(rf_last_error(), "00000000.seg at offset 32: unfinished batch") != NULL, "%s",
            rf_last_error());
  cr_assert(strstr(rf_last_error(), "not the last") != NULL, "%s", rf_last_error());
  cr_assert_eq((size_t)file_size(path0), len); /* nothing changed */
  remove_dir(dir);
}

Test(store_recovery, format_version_1_store_opens_and_grows) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  rf__store_pos pos[40];
  make_store(dir, 160, pos, 40);
  uint64_t n_seg = pos[39].segment + 1;
  /* what a version-1 build wrote: the same bytes, version 1 in the headers */
  for (uint64_t i = 0; i < n_seg; i++) {
    char path[128];
    seg_path(dir, i, path, sizeof path);
    rewrite_header(path, 1, i, 1);
  }
  rf__store_policy ro = none_policy(1 << 20);
  ro.read_only = 1;
  rf__store *st;
  cr_assert_eq(rf__store_open(dir, &ro, &st), 0, "%s", rf_last_error());
  cr_assert_eq(count_records(st), 40);
  rf__store_close(st);
  /* a writer reads it, and its first append starts a segment of version 2
   * (no version-1 segment ever holds batch records) */
  rf__store_policy p = none_policy(1 << 20);
  cr_assert_eq(rf__store_open(dir, &p, &st), 0, "%s", rf_last_error());
  cr_assert_null(rf__store_recovery_note(st));
  cr_assert_eq(count_records(st), 40);
  cr_assert_eq(rf__store_batch_begin(st), 0);
  rf__store_pos at;
  cr_assert_eq(rf__store_append(st, 9, "new", 3, &at), 1);
  cr_assert_eq(rf__store_batch_commit(st, NULL), 0);
  cr_assert_eq(at.segment, n_seg);
  cr_assert_eq(at.offset, 32 + 13);
  cr_assert_eq(rf__store_append(st, 9, "new2", 4, NULL), 0);
  rf__store_close(st);
  char path[128];
  seg_path(dir, n_seg, path, sizeof path);
  size_t len;
  unsigned char *b = read_file(path, &len);
  cr_assert_eq(b[8], 2, "the new segment has version %d", b[8]);
  free(b);
  seg_path(dir, n_seg - 1, path, sizeof path);
  b = read_file(path, &len);
  cr_assert_eq(b[8], 1);
  free(b);
  cr_assert_eq(rf__store_open(dir, &p, &st), 0, "%s", rf_last_error());
  cr_assert_eq(count_records(st), 42);
  rf__store_stats s;
  rf__store_get_stats(st, &s);
  cr_assert_eq(s.n_batches, 1);
  rf__store_close(st);
  remove_dir(dir);
}

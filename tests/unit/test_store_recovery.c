/*
 * test_store_recovery.c: opening a damaged store (store/store.h). A torn
 * or corrupt tail is truncated to the last whole record and reported, for a
 * cut at every byte of the last record; every other kind of damage (flipped
 * bytes before the tail, a truncated segment before the last, a missing
 * segment, a bad header, a newer format version) is its own error naming
 * the segment file and byte offset. Nothing crashes.
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

static void rewrite_header(const char *path, uint32_t version, uint64_t number, int fix_sum) {
  size_t len;
  unsigned char *b = read_file(path, &len);
  for (int i = 0; i < 4; i++) b[8 + i] = (unsigned char)(version >> (8 * i));
  for (int i = 0; i < 8; i++) b[16 + i] = (unsigned char)(number >> (8 * i));
  if (fix_sum) {
    uint64_t h = XXH3_64bits(b, 24);
    for (int i = 0; i < 8; i++) b[24 + i] = (unsigned char)(h >> (8 * i));
  }
  write_file(path, b, len);
  free(b);
}

Test(store_recovery, newer_format_version) {
  char dir[64];
  scratch_dir(dir, sizeof dir);
  rf__store_pos pos[40];
  make_store(dir, 160, pos, 40);
  char path[128];
  seg_path(dir, 1, path, sizeof path);
  rewrite_header(path, 2, 1, 1);
  rf__store_policy p = none_policy(160);
  rf__store *st;
  cr_assert_eq(rf__store_open(dir, &p, &st), RF_EVERSION);
  cr_assert(strstr(rf_last_error(), "00000001.seg has format version 2, newer") != NULL, "%s",
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

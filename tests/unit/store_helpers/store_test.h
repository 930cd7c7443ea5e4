/*
 * store_test.h: helpers shared by the store tests (tests/unit/test_store_*.c):
 * scratch store directories under /tmp, removed when done, whole-file
 * reads and writes for corrupting segments on purpose, and frame and
 * header writers for crafting them.
 */
#ifndef RF_TESTS_STORE_TEST_H
#define RF_TESTS_STORE_TEST_H

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "store/store.h"

/* A fresh empty directory name (the directory is not created: the store
 * creates it). */
static inline void scratch_dir(char *buf, size_t cap) {
  char tmpl[] = "/tmp/rf_store_test_XXXXXX";
  cr_assert_not_null(mkdtemp(tmpl));
  cr_assert_eq(rmdir(tmpl), 0);
  snprintf(buf, cap, "%s", tmpl);
}

static inline void remove_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  char path[512];
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    unlink(path);
  }
  closedir(d);
  rmdir(dir);
}

static inline void seg_path(const char *dir, uint64_t n, char *buf, size_t cap) {
  char name[32];
  rf__store_segment_name(n, name, sizeof name);
  snprintf(buf, cap, "%s/%s", dir, name);
}

/* Reads a whole file into a malloc'd buffer. */
static inline unsigned char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f, "open %s", path);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *b = malloc((size_t)n + 1);
  cr_assert_eq(fread(b, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  *len = (size_t)n;
  return b;
}

static inline void write_file(const char *path, const unsigned char *b, size_t len) {
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f, "open %s", path);
  cr_assert_eq(fwrite(b, 1, len, f), len);
  fclose(f);
}

/* Writes one record frame at dst ([u32 len][u8 type][payload][u64 XXH3-64],
 * docs/store-format.md) and returns its size: for crafting segments. */
static inline size_t put_test_frame(unsigned char *dst, unsigned type, const void *p, size_t len) {
  for (int i = 0; i < 4; i++) dst[i] = (unsigned char)(len >> (8 * i));
  dst[4] = (unsigned char)type;
  if (len) memcpy(dst + 5, p, len);
  uint64_t h = XXH3_64bits(dst, 5 + len);
  for (int i = 0; i < 8; i++) dst[5 + len + i] = (unsigned char)(h >> (8 * i));
  return 13 + len;
}

/* Sets the format version (and segment number) in a segment's header,
 * fixing the header checksum if fix_sum. */
static inline void rewrite_header(const char *path, uint32_t version, uint64_t number, int fix_sum);

static inline off_t file_size(const char *path) {
  struct stat s;
  cr_assert_eq(stat(path, &s), 0, "stat %s", path);
  return s.st_size;
}

static inline void rewrite_header(const char *path, uint32_t version, uint64_t number, int fix_sum) {
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

#endif

/*
 * store_bench_util.h: helpers shared by the delta store ingest benchmarks
 * (benchmarks/store_ingest.c, `bench_store`, and benchmarks/store_sqlite.c,
 * `bench_store_sqlite`; issue 5): the deterministic generator of DESIGN §9
 * deltas as JSON Lines, loading a JSON Lines file into memory, timing, peak
 * and current RSS, and the size and removal of a store directory. These are
 * benchmark clients: they allocate with plain malloc and check every return.
 */
#ifndef RF_BENCH_STORE_UTIL_H
#define RF_BENCH_STORE_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* A set of JSON lines in one buffer: line i is data[off[i]] .. + len[i]
 * bytes (no newline). */
typedef struct sb_lines {
  char *data;
  size_t size, cap;
  size_t *off;
  uint32_t *len;
  size_t n, ncap;
} sb_lines;

/* Generates n deltas from seed into *out (see the .c file for the shape).
 * 0 or -1 (out of memory; message on stderr). */
int sb_generate(uint64_t n, uint64_t seed, sb_lines *out);
/* Writes the lines, one per line, to path. 0 or -1 (message on stderr). */
int sb_write(const sb_lines *l, const char *path);
/* Reads the JSON Lines file at path (blank lines skipped). 0 or -1. */
int sb_load(const char *path, sb_lines *out);
void sb_lines_free(sb_lines *l);

double sb_now(void);                  /* monotonic seconds */
uint64_t sb_peak_rss(void);           /* getrusage ru_maxrss in bytes */
uint64_t sb_cur_rss(void);            /* /proc/self/statm resident, bytes */
/* Removes dir and the plain files in it (stores are flat). 0 or -1. */
int sb_rmdir(const char *dir);
/* Sum of st_size of the plain files in dir. */
uint64_t sb_dir_bytes(const char *dir);

#endif

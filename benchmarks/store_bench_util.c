/*
 * store_bench_util.c: the shared part of the delta store ingest benchmarks
 * (issue 5): a deterministic generator of RhizomeDB deltas (DESIGN §9) as
 * JSON Lines, file loading, timing and memory figures. See
 * store_bench_util.h.
 *
 * The generated stream (splitmix64 from the seed, so identical for a given
 * seed and count on every machine):
 *  - 100,000 objects "obj-NNNNNN", 1,000 authors, 4 systems, 16 properties;
 *  - delta ids "d" + 16 hex digits, timestamps increasing (ms, with jitter);
 *  - about 3% negations: {role "negates", target {id: an earlier delta}}
 *    and a string "reason";
 *  - the rest: a "subject" reference {id: object, context: property}, a
 *    "value" (string, integer, real or boolean by property), then with
 *    probability 1/2 a reference to another object and with probability
 *    1/4 a "weight" number: 2 to 4 pointers;
 *  - about 0.5% of the lines repeat an earlier line byte for byte (a client
 *    re-sending), which an idempotent store must not store twice.
 */
#include "store_bench_util.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define N_OBJECTS 100000u
#define N_AUTHORS 1000u
#define N_SYSTEMS 4u

static uint64_t splitmix(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static uint32_t below(uint64_t *s, uint32_t n) { return (uint32_t)(splitmix(s) % n); }

static int reserve(sb_lines *l, size_t more) {
  if (l->size + more <= l->cap) return 0;
  size_t cap = l->cap ? l->cap : (1u << 20);
  while (cap < l->size + more) cap *= 2;
  char *d = realloc(l->data, cap);
  if (!d) {
    fprintf(stderr, "out of memory (%zu bytes of input)\n", cap);
    return -1;
  }
  l->data = d;
  l->cap = cap;
  return 0;
}

static int push_line(sb_lines *l, size_t off, size_t len) {
  if (l->n == l->ncap) {
    size_t c = l->ncap ? l->ncap * 2 : 4096;
    size_t *o = realloc(l->off, c * sizeof *o);
    if (!o) goto oom;
    l->off = o;
    uint32_t *n = realloc(l->len, c * sizeof *n);
    if (!n) goto oom;
    l->len = n;
    l->ncap = c;
  }
  l->off[l->n] = off;
  l->len[l->n] = (uint32_t)len;
  l->n++;
  return 0;
oom:
  fprintf(stderr, "out of memory (line index)\n");
  return -1;
}

/* Appends printf output to the current (unfinished) line. */
static int add(sb_lines *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int add(sb_lines *l, const char *fmt, ...) {
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    size_t room = l->cap - l->size;
    int k = vsnprintf(l->data + l->size, room, fmt, ap);
    va_end(ap);
    if (k < 0) return -1;
    if ((size_t)k < room) {
      l->size += (size_t)k;
      return 0;
    }
    if (reserve(l, (size_t)k + 1) < 0) return -1;
  }
}

static const char *const PROPS[16] = {"name",   "title", "email",  "body",  "age",   "score",
                                      "rating", "price", "active", "city",  "tag",   "status",
                                      "count",  "ratio", "public", "owner"};
/* 0 string, 1 integer, 2 real, 3 boolean */
static const int PROP_KIND[16] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 0, 0, 0, 1, 2, 3, 0};
static const char *const WORDS[16] = {"alpha", "river", "stone", "cedar", "quartz", "maple",
                                      "ember", "delta", "willow", "harbor", "summit", "lumen",
                                      "fjord", "amber", "orbit", "prairie"};

static void delta_id(uint64_t seed, uint64_t i, char out[18]) {
  uint64_t s = seed ^ (i * 0xd1b54a32d192ed03ull);
  snprintf(out, 18, "d%016" PRIx64, splitmix(&s));
}

int sb_generate(uint64_t n, uint64_t seed, sb_lines *out) {
  memset(out, 0, sizeof *out);
  uint64_t s = seed;
  int64_t ts = 1735689600000;  /* 2025-01-01 in ms */
  char id[18], ref[18];
  for (uint64_t i = 0; i < n; i++) {
    if (reserve(out, 1024) < 0) return -1;
    size_t start = out->size;
    uint32_t r = below(&s, 1000);
    if (i > 0 && r < 5) {  /* a re-sent earlier line */
      size_t j = (size_t)(splitmix(&s) % out->n);
      if (reserve(out, out->len[j]) < 0) return -1;
      memcpy(out->data + out->size, out->data + out->off[j], out->len[j]);
      out->size += out->len[j];
      if (push_line(out, start, out->len[j]) < 0) return -1;
      continue;
    }
    ts += 1 + below(&s, 20);
    delta_id(seed, i, id);
    int rc = add(out, "{\"id\":\"%s\",\"timestamp\":%" PRId64
                 ",\"author\":\"user-%u\",\"system\":\"sys-%u\",\"pointers\":[",
                 id, ts, below(&s, N_AUTHORS), below(&s, N_SYSTEMS));
    if (i > 0 && r < 35) {  /* a negation of an earlier delta */
      delta_id(seed, splitmix(&s) % i, ref);
      rc |= add(out, "{\"role\":\"negates\",\"target\":{\"id\":\"%s\"}},"
                "{\"role\":\"reason\",\"target\":\"%s\"}]}",
                ref, WORDS[below(&s, 16)]);
    } else {
      uint32_t p = below(&s, 16);
      rc |= add(out, "{\"role\":\"subject\",\"target\":{\"id\":\"obj-%06u\",\"context\":\"%s\"}},"
                "{\"role\":\"value\",\"target\":",
                below(&s, N_OBJECTS), PROPS[p]);
      switch (PROP_KIND[p]) {
        case 0:
          rc |= add(out, "\"%s %s #%u\"}", WORDS[below(&s, 16)], WORDS[below(&s, 16)],
                    below(&s, 100000));
          break;
        case 1: rc |= add(out, "%u}", below(&s, 1000000)); break;
        case 2: rc |= add(out, "%u.%02u}", below(&s, 10000), below(&s, 100)); break;
        default: rc |= add(out, "%s}", below(&s, 2) ? "true" : "false"); break;
      }
      if (below(&s, 2))
        rc |= add(out, ",{\"role\":\"ref\",\"target\":{\"id\":\"obj-%06u\",\"context\":\"%s\"}}",
                  below(&s, N_OBJECTS), PROPS[below(&s, 16)]);
      if (below(&s, 4) == 0)
        rc |= add(out, ",{\"role\":\"weight\",\"target\":%d}", (int)below(&s, 201) - 100);
      rc |= add(out, "]}");
    }
    if (rc) return -1;
    if (push_line(out, start, out->size - start) < 0) return -1;
  }
  return 0;
}

int sb_write(const sb_lines *l, const char *path) {
  FILE *f = fopen(path, "wb");
  if (!f) {
    fprintf(stderr, "cannot create %s: %s\n", path, strerror(errno));
    return -1;
  }
  for (size_t i = 0; i < l->n; i++) {
    if (fwrite(l->data + l->off[i], 1, l->len[i], f) != l->len[i] || fputc('\n', f) == EOF) {
      fprintf(stderr, "writing %s: %s\n", path, strerror(errno));
      fclose(f);
      return -1;
    }
  }
  if (fclose(f) != 0) {
    fprintf(stderr, "writing %s: %s\n", path, strerror(errno));
    return -1;
  }
  return 0;
}

int sb_load(const char *path, sb_lines *out) {
  memset(out, 0, sizeof *out);
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "cannot open %s: %s\n", path, strerror(errno));
    return -1;
  }
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || reserve(out, (size_t)st.st_size + 1) < 0) {
    fclose(f);
    return -1;
  }
  size_t got = fread(out->data, 1, (size_t)st.st_size, f);
  fclose(f);
  if (got != (size_t)st.st_size) {
    fprintf(stderr, "reading %s: short read\n", path);
    return -1;
  }
  out->size = got;
  size_t a = 0;
  while (a < got) {
    char *nl = memchr(out->data + a, '\n', got - a);
    size_t b = nl ? (size_t)(nl - out->data) : got;
    if (b > a && push_line(out, a, b - a) < 0) return -1;
    a = b + 1;
  }
  return 0;
}

void sb_lines_free(sb_lines *l) {
  free(l->data);
  free(l->off);
  free(l->len);
  memset(l, 0, sizeof *l);
}

double sb_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

uint64_t sb_peak_rss(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
  return (uint64_t)ru.ru_maxrss * 1024u;
}

uint64_t sb_cur_rss(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long long size = 0, res = 0;
  int k = fscanf(f, "%llu %llu", &size, &res);
  fclose(f);
  if (k != 2) return 0;
  return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
}

static int each_file(const char *dir, int remove, uint64_t *bytes) {
  DIR *d = opendir(dir);
  if (!d) return errno == ENOENT ? 0 : -1;
  struct dirent *e;
  char path[4096];
  int rc = 0;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    struct stat st;
    if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (bytes) *bytes += (uint64_t)st.st_size;
    if (remove && unlink(path) != 0) rc = -1;
  }
  closedir(d);
  return rc;
}

int sb_rmdir(const char *dir) {
  if (each_file(dir, 1, NULL) < 0) goto fail;
  if (rmdir(dir) != 0 && errno != ENOENT) goto fail;
  return 0;
fail:
  fprintf(stderr, "cannot remove %s: %s\n", dir, strerror(errno));
  return -1;
}

uint64_t sb_dir_bytes(const char *dir) {
  uint64_t b = 0;
  each_file(dir, 0, &b);
  return b;
}

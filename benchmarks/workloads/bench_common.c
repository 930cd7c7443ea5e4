/*
 * bench_common.c: the workload-independent helpers of bench_common.h:
 * counts, clock, RSS, latency statistics, JSON strings, progress line.
 */
#include "bench_common.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

int rfw_parse_count(const char *s, uint64_t max, uint64_t *out) {
  if (!s || !*s || *s == '-' || *s == '+' || *s == ' ') return -1;
  errno = 0;
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s) return -1;
  uint64_t mul = 1;
  if (*end == 'k' || *end == 'K') mul = 1000, end++;
  else if (*end == 'm' || *end == 'M') mul = 1000000, end++;
  else if (*end == 'g' || *end == 'G') mul = 1000000000, end++;
  if (*end) return -1;
  if (v > max / mul) return -1;
  *out = (uint64_t)v * mul;
  return 0;
}

int rfw_opt_count(int argc, char **argv, int *i, uint64_t lo, uint64_t hi,
                  uint64_t *out, const char *prog, FILE *err) {
  const char *name = argv[*i];
  if (*i + 1 >= argc) {
    fprintf(err, "%s: option %s needs a value\n", prog, name);
    return RFW_EXIT_USAGE;
  }
  const char *v = argv[++*i];
  if (rfw_parse_count(v, hi, out) != 0 || *out < lo) {
    fprintf(err, "%s: bad value '%s' for %s: expected a whole number from %" PRIu64
                 " to %" PRIu64 "\n", prog, v, name, lo, hi);
    return RFW_EXIT_USAGE;
  }
  return 0;
}

double rfw_now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

uint64_t rfw_peak_rss_bytes(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
  return (uint64_t)ru.ru_maxrss * 1024; /* Linux reports KiB */
}

double rfw_cpu_s(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

void rfw_sort_doubles(double *v, size_t n) {
  if (n > 1) qsort(v, n, sizeof *v, cmp_double);
}

double rfw_percentile(const double *v, size_t n, double q) {
  if (n == 0) return 0;
  size_t k = (size_t)ceil(q * (double)n);
  if (k < 1) k = 1;
  return v[k - 1];
}

double rfw_median(const double *v, size_t n) {
  if (n == 0) return 0;
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void rfw_json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    if (*c == '"' || *c == '\\') fprintf(f, "\\%c", *c);
    else if (*c < 0x20) fprintf(f, "\\u%04x", *c);
    else fputc(*c, f);
  }
  fputc('"', f);
}

void rfw_progress_init(rfw_progress *p, bool forced) {
  memset(p, 0, sizeof *p);
  p->tty = isatty(STDERR_FILENO) == 1;
  p->on = forced || p->tty;
  p->last = rfw_now_s();
}

bool rfw_progress_due(rfw_progress *p) {
  if (!p->on) return false;
  return rfw_now_s() - p->last >= 0.5;
}

void rfw_progress_print(rfw_progress *p, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (p->tty) fputs("\r\033[K", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  if (p->tty) p->shown = true;
  else fputc('\n', stderr);
  fflush(stderr);
  p->last = rfw_now_s();
}

void rfw_progress_end(rfw_progress *p) {
  if (p->shown) {
    fputs("\r\033[K", stderr);
    fflush(stderr);
  }
  p->shown = false;
}

/*
 * bench_common.h: what every benchmark workload shares that is not about
 * its data: exit codes, parsing counts with k/M/G suffixes, a monotonic
 * clock, peak RSS, latency statistics, JSON string output and the
 * rate-limited progress line on stderr.
 */
#ifndef RFW_BENCH_COMMON_H
#define RFW_BENCH_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The most worker threads --workers accepts (rf_config.workers' limit). */
#define RFW_MAX_WORKERS 64

/* Exit codes of the benchmark programs and the CLI. */
enum {
  RFW_EXIT_OK = 0,
  RFW_EXIT_FAILURE = 1,  /* the run failed (engine error, I/O error, bad input file) */
  RFW_EXIT_USAGE = 2,    /* bad command line */
  RFW_EXIT_MISMATCH = 3, /* bfs --check-ref: the histogram differs */
  RFW_EXIT_HELP = -1     /* parse only: --help was printed, exit 0 */
};

/* Parses a count: decimal, with an optional k/M/G suffix (10^3/6/9).
 * Returns 0 or -1 if s is not such a number or exceeds max. */
int rfw_parse_count(const char *s, uint64_t max, uint64_t *out);
/* Reads the value of option argv[*i] (a count in [lo, hi]) into *out and
 * steps *i past it. Returns 0, or RFW_EXIT_USAGE after a message to err
 * naming the option and the bad value. */
int rfw_opt_count(int argc, char **argv, int *i, uint64_t lo, uint64_t hi,
                  uint64_t *out, const char *prog, FILE *err);

/* A monotonic clock in seconds. */
double rfw_now_s(void);
/* Peak resident set of the process in bytes (getrusage). */
uint64_t rfw_peak_rss_bytes(void);
/* CPU time used so far by the whole process (every thread), user + system, in
 * seconds. */
double rfw_cpu_s(void);

/* Latency statistics: sorts v[0..n) ascending; the median of sorted v; the
 * nearest-rank percentile q (in (0, 1]) of sorted v. 0 when n is 0. */
void rfw_sort_doubles(double *v, size_t n);
double rfw_median(const double *v, size_t n);
double rfw_percentile(const double *v, size_t n, double q);

/* Writes s as a JSON string literal (quotes included). */
void rfw_json_string(FILE *f, const char *s);

/* The progress line: on stderr, only when it is a terminal (rewritten in
 * place) or when forced (--progress; then one line each), and at most
 * twice a second. */
typedef struct rfw_progress {
  bool on, tty;
  bool shown;  /* a line is on the terminal, not yet ended */
  double last; /* when the last line was printed */
} rfw_progress;

void rfw_progress_init(rfw_progress *p, bool forced);
/* True when a line may be printed now (on, and 0.5 s since the last). */
bool rfw_progress_due(rfw_progress *p);
/* Prints a progress line (call when rfw_progress_due said so). */
void rfw_progress_print(rfw_progress *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Ends a line left on the terminal. */
void rfw_progress_end(rfw_progress *p);

#endif

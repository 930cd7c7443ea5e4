/*
 * tests/tsan_runner/runner.c: main() for the Criterion test executables in
 * the ThreadSanitizer build, where the real Criterion cannot start (see
 * criterion/criterion.h here and README.md). It runs every test registered
 * by Test(), one at a time in the order suite/name, each in its own forked
 * child process as Criterion does (fresh globals, a crash or a hang fails
 * that test only, and TSan's report fails the test whose child made it),
 * and prints one line per test and a summary. The exit status is non-zero
 * if any test failed, crashed or timed out, if a filter matched nothing, or
 * if no test is registered at all.
 *
 * A test passes only if its child reports "passed" through a pipe AND exits
 * with status 0: a crash, a signal, TSan's exit code (66), an assertion
 * failing on another thread (which exits the child with 1) or a timeout
 * all fail it.
 *
 * Options (Criterion's names where Criterion has one):
 *   -l, --list           list the tests and exit
 *   --filter PATTERN     run the tests whose "suite/name" matches the glob
 *   --timeout S          a timeout for tests that set none (default: none)
 *   --timeout-scale F    multiply every timeout by F (TSan is several
 *                        times slower than the builds the .timeout values
 *                        were chosen for); also RF_TSAN_RUNNER_TIMEOUT_SCALE
 *   --no-fork            run the tests in this process (for a debugger):
 *                        a failed cr_assert longjmps out of the test
 *   -jN, --jobs N        accepted for Criterion's command line; tests
 *                        always run one at a time
 *   --verbose[=N], -q    accepted; the output is always one line per test
 *
 * The parent never starts a thread, so each fork is of a single-threaded
 * process, which TSan supports.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "criterion/criterion.h"

/* ---- registration ------------------------------------------------------ */

static struct rf_crt_test **tests;
static size_t n_tests, cap_tests;

void rf_crt_register(struct rf_crt_test *t) {
  if (n_tests == cap_tests) {
    cap_tests = cap_tests ? 2 * cap_tests : 64;
    tests = realloc(tests, cap_tests * sizeof *tests);
    if (!tests) {
      fputs("rf_tsan_runner: out of memory registering tests\n", stderr);
      abort();
    }
  }
  tests[n_tests++] = t;
}

static int by_suite_name(const void *a, const void *b) {
  const struct rf_crt_test *x = *(struct rf_crt_test *const *)a;
  const struct rf_crt_test *y = *(struct rf_crt_test *const *)b;
  int c = strcmp(x->suite, y->suite);
  return c ? c : strcmp(x->name, y->name);
}

/* ---- the running test (in the child, or in-process with --no-fork) ---- */

enum { OUTCOME_PASS = 'P', OUTCOME_FAIL = 'F', OUTCOME_SKIP = 'S' };

static struct {
  const struct rf_crt_test *test; /* atomic: read by the test's threads */
  pthread_t thread;   /* the thread running the test's body */
  jmp_buf jump;       /* where a failed cr_assert or cr_skip_test lands */
  int result_fd;      /* the pipe to the parent; -1 with --no-fork */
  int failures;       /* failed checks, atomic: any thread may fail one */
  int skipped;
} cur;

static bool in_test(void) { return __atomic_load_n(&cur.test, __ATOMIC_SEQ_CST) != NULL; }

static bool on_test_thread(void) { return pthread_equal(pthread_self(), cur.thread) != 0; }

static void send_outcome(char outcome) {
  if (cur.result_fd < 0) return;
  ssize_t w;
  do {
    w = write(cur.result_fd, &outcome, 1);
  } while (w < 0 && errno == EINTR);
}

static void vreport(const char *kind, const char *file, int line, const char *expr,
                    const char *fmt, va_list ap) {
  /* One fprintf per piece, stderr unbuffered: lines from several threads
   * may interleave but none is lost. */
  if (expr)
    fprintf(stderr, "[%s] %s:%d: %s failed", kind, file, line, expr);
  else
    fprintf(stderr, "[%s] %s:%d", kind, file, line);
  if (fmt && *fmt) {
    fputs(": ", stderr);
    vfprintf(stderr, fmt, ap);
  }
  fputc('\n', stderr);
}

void rf_crt_assert_failed(const char *file, int line, const char *expr, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vreport("ASSERT", file, line, expr, fmt, ap);
  va_end(ap);
  __atomic_add_fetch(&cur.failures, 1, __ATOMIC_SEQ_CST);
  if (in_test() && on_test_thread()) longjmp(cur.jump, 1);
  /* Another thread of the test: it cannot unwind the test's body, so the
   * whole child (or, with --no-fork, the runner) ends here, failed. */
  fprintf(stderr, "[ASSERT] (on a thread other than the test's: the test process exits)\n");
  send_outcome(OUTCOME_FAIL);
  exit(1);
}

void rf_crt_expect_failed(const char *file, int line, const char *expr, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vreport("EXPECT", file, line, expr, fmt, ap);
  va_end(ap);
  __atomic_add_fetch(&cur.failures, 1, __ATOMIC_SEQ_CST);
}

void rf_crt_skip(const char *file, int line, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vreport("SKIP", file, line, NULL, fmt, ap);
  va_end(ap);
  __atomic_store_n(&cur.skipped, 1, __ATOMIC_SEQ_CST);
  if (in_test() && on_test_thread()) longjmp(cur.jump, 2);
  fprintf(stderr, "[SKIP] (cr_skip_test on a thread other than the test's: a failure)\n");
  send_outcome(OUTCOME_FAIL);
  exit(1);
}

void rf_crt_log(int level, const char *file, int line, const char *fmt, ...) {
  const char *tag = level == CR_LOG_ERROR ? "ERROR" : level == CR_LOG_WARNING ? "WARN" : "INFO";
  va_list ap;
  va_start(ap, fmt);
  vreport(tag, file, line, NULL, fmt, ap);
  va_end(ap);
}

/* Runs init, the body and fini of T on this thread; returns its outcome.
 * fini runs even when the body ends with a failed assertion or a skip, as
 * in Criterion. */
static char run_body(const struct rf_crt_test *t) {
  cur.thread = pthread_self();
  __atomic_store_n(&cur.test, t, __ATOMIC_SEQ_CST);
  __atomic_store_n(&cur.failures, 0, __ATOMIC_SEQ_CST);
  __atomic_store_n(&cur.skipped, 0, __ATOMIC_SEQ_CST);
  if (setjmp(cur.jump) == 0) {
    if (t->init) t->init();
    t->fn();
  }
  if (t->fini && setjmp(cur.jump) == 0) t->fini();
  __atomic_store_n(&cur.test, NULL, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&cur.failures, __ATOMIC_SEQ_CST) > 0) return OUTCOME_FAIL;
  if (__atomic_load_n(&cur.skipped, __ATOMIC_SEQ_CST)) return OUTCOME_SKIP;
  return OUTCOME_PASS;
}

/* ---- the parent ------------------------------------------------------- */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_s(double s) {
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* Runs T in a forked child with a limit of TIMEOUT seconds (0: none).
 * Returns the outcome; WHY receives a reason for a failure not reported
 * by an assertion (a signal, an exit status, a timeout). */
static char run_forked(const struct rf_crt_test *t, double timeout, char *why, size_t why_cap) {
  int fds[2];
  if (pipe(fds) != 0) {
    snprintf(why, why_cap, "pipe: %s", strerror(errno));
    return OUTCOME_FAIL;
  }
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) {
    snprintf(why, why_cap, "fork: %s", strerror(errno));
    close(fds[0]);
    close(fds[1]);
    return OUTCOME_FAIL;
  }
  if (pid == 0) {
    close(fds[0]);
    cur.result_fd = fds[1];
    char outcome = run_body(t);
    send_outcome(outcome);
    /* exit, not _exit: ThreadSanitizer's exit-time checks and exit code
     * (66 if it reported anything) come from the exit path. */
    exit(outcome == OUTCOME_FAIL ? 1 : 0);
  }
  close(fds[1]);

  /* Wait, polling (the parent has no threads and keeps no SIGCHLD handler,
   * so that the tests' own children are none of its business). */
  double start = now_s(), nap = 0.001;
  int status = 0;
  bool timed_out = false;
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) {
      snprintf(why, why_cap, "waitpid: %s", strerror(errno));
      close(fds[0]);
      return OUTCOME_FAIL;
    }
    if (timeout > 0 && now_s() - start > timeout) {
      kill(pid, SIGKILL);
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      timed_out = true;
      break;
    }
    sleep_s(nap);
    if (nap < 0.02) nap *= 2;
  }

  /* What the child sent: exactly one outcome byte when it ran to the end
   * (its own children may hold the pipe open, so read without blocking). */
  char buf[8];
  size_t got = 0;
  int fl = fcntl(fds[0], F_GETFL);
  if (fl >= 0) fcntl(fds[0], F_SETFL, fl | O_NONBLOCK);
  for (;;) {
    ssize_t n = read(fds[0], buf + got, sizeof buf - got);
    if (n > 0) {
      got += (size_t)n;
      if (got == sizeof buf) break;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;
    }
  }
  close(fds[0]);

  if (timed_out) {
    snprintf(why, why_cap, "timed out after %.1f s (killed)", timeout);
    return OUTCOME_FAIL;
  }
  if (WIFSIGNALED(status)) {
    snprintf(why, why_cap, "crashed: signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    return OUTCOME_FAIL;
  }
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  const char *tsan = code == 66 ? " (ThreadSanitizer's exit code: see its report above)" : "";
  if (got != 1) {
    snprintf(why, why_cap, "the test process exited with status %d%s %s", code, tsan,
             got == 0 ? "without finishing the test (exit() or a fatal error inside it)"
                      : "after sending more than one outcome");
    return OUTCOME_FAIL;
  }
  if (buf[0] == OUTCOME_FAIL) return OUTCOME_FAIL;
  if (code != 0) {
    snprintf(why, why_cap, "the test finished but its process exited with status %d%s", code,
             tsan);
    return OUTCOME_FAIL;
  }
  if (buf[0] == OUTCOME_PASS || buf[0] == OUTCOME_SKIP) return buf[0];
  snprintf(why, why_cap, "unknown outcome byte %d", buf[0]);
  return OUTCOME_FAIL;
}

static void usage(FILE *f, const char *argv0) {
  fprintf(f,
          "usage: %s [--list] [--filter PATTERN] [--timeout S] [--timeout-scale F] [--no-fork]\n"
          "       (-jN, --jobs N, --verbose[=N], -q are accepted and ignored)\n"
          "ThreadSanitizer build's stand-in for Criterion: runs each test in a forked child,\n"
          "one at a time (tests/tsan_runner/README.md).\n",
          argv0);
}

int main(int argc, char **argv) {
  const char *filter = NULL;
  bool list = false, fork_tests = true;
  double default_timeout = 0, scale = 1;
  const char *env_scale = getenv("RF_TSAN_RUNNER_TIMEOUT_SCALE");
  if (env_scale && *env_scale) scale = atof(env_scale);

  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *next = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "-l") || !strcmp(a, "--list")) {
      list = true;
    } else if (!strcmp(a, "--filter") && next) {
      filter = next, i++;
    } else if (!strncmp(a, "--filter=", 9)) {
      filter = a + 9;
    } else if (!strcmp(a, "--timeout") && next) {
      default_timeout = atof(next), i++;
    } else if (!strcmp(a, "--timeout-scale") && next) {
      scale = atof(next), i++;
    } else if (!strcmp(a, "--no-fork")) {
      fork_tests = false;
    } else if (!strcmp(a, "--jobs") && next) {
      i++;
    } else if (!strncmp(a, "-j", 2) || !strncmp(a, "--jobs=", 7) || !strncmp(a, "--verbose", 9) ||
               !strcmp(a, "-q") || !strcmp(a, "--quiet")) {
      /* accepted, see above */
    } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout, argv[0]);
      return 0;
    } else {
      fprintf(stderr, "%s: unknown option %s\n", argv[0], a);
      usage(stderr, argv[0]);
      return 2;
    }
  }
  if (!(scale > 0)) scale = 1;
  setvbuf(stderr, NULL, _IONBF, 0);
  setvbuf(stdout, NULL, _IOLBF, 0);

  if (n_tests == 0) {
    fprintf(stderr, "%s: no tests are registered\n", argv[0]);
    return 1;
  }
  qsort(tests, n_tests, sizeof *tests, by_suite_name);

  if (list) {
    for (size_t i = 0; i < n_tests; i++)
      printf("%s/%s%s\n", tests[i]->suite, tests[i]->name,
             tests[i]->disabled ? " (disabled)" : "");
    return 0;
  }

  int ran = 0, passed = 0, failed = 0, skipped = 0;
  double all_start = now_s();
  for (size_t i = 0; i < n_tests; i++) {
    const struct rf_crt_test *t = tests[i];
    char full[512];
    snprintf(full, sizeof full, "%s/%s", t->suite, t->name);
    if (filter && fnmatch(filter, full, 0) != 0) continue;
    ran++;
    if (t->disabled) {
      fprintf(stderr, "[SKIP] %s (disabled)\n", full);
      skipped++;
      continue;
    }
    double timeout = (t->timeout > 0 ? t->timeout : default_timeout) * scale;
    fprintf(stderr, "[RUN ] %s (%s:%d)\n", full, t->file, t->line);
    double start = now_s();
    char why[256] = "";
    char outcome;
    if (fork_tests) {
      outcome = run_forked(t, timeout, why, sizeof why);
    } else {
      cur.result_fd = -1;
      outcome = run_body(t);
    }
    double took = now_s() - start;
    if (outcome == OUTCOME_PASS) {
      fprintf(stderr, "[PASS] %s (%.2f s)\n", full, took);
      passed++;
    } else if (outcome == OUTCOME_SKIP) {
      fprintf(stderr, "[SKIP] %s (%.2f s)\n", full, took);
      skipped++;
    } else {
      fprintf(stderr, "[FAIL] %s (%s:%d) (%.2f s)%s%s\n", full, t->file, t->line, took,
              why[0] ? ": " : "", why);
      failed++;
    }
  }
  fprintf(stderr, "[====] Synthesis: Tested: %d | Passing: %d | Failing: %d | Skipped: %d (%.1f s)\n",
          ran, passed, failed, skipped, now_s() - all_start);
  if (filter && ran == 0) {
    fprintf(stderr, "%s: no test matches --filter '%s'\n", argv[0], filter);
    return 1;
  }
  return failed ? 1 : 0;
}

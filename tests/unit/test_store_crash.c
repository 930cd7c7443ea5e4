/*
 * test_store_crash.c: the crash test of issue 5. A child process appends
 * deltas with fsync-per-append and writes the number of each delta whose
 * append was acknowledged to a pipe; the parent SIGKILLs it at a random
 * moment (from "before it opened the store" to several milliseconds in),
 * 250 times over one growing store. After each kill the parent reopens the
 * store and checks that every acknowledged delta is present, that every
 * record served is whole and is the canonical form of a delta this test
 * wrote, and that a new append works. The same runs 100 times under group
 * commit, where an append that closes a group acknowledges the whole group.
 * The seed is printed on failure.
 */
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "unit/store_helpers/store_test.h"
#include "common/alloc.h"
#include "common/error.h"
#include "store/delta.h"

#define ROUNDS 250

/* Delta number n of round r (the parent's own appends use round -1). The
 * padding makes records of varying size, a few hundred bytes. */
static size_t delta_json(char *buf, size_t cap, int r, int n) {
  return (size_t)snprintf(buf, cap,
                          "{\"id\":\"r%d-n%d\",\"timestamp\":%d,\"author\":\"crash\",\"system\":\"t\","
                          "\"pointers\":[{\"role\":\"seq\",\"target\":%d},{\"role\":\"pad\","
                          "\"target\":\"%.*s\"}]}",
                          r, n, n + 1, n, n % 97,
                          "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                          "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
}

/* Appends deltas until killed; reports each acknowledged one on fd. Under
 * group commit an append that returns 0 acknowledges the open group too. */
static void child(const char *dir, int round, int fd, rf__durability d) {
  rf__store_policy p = rf__store_policy_default();
  p.durability = d;
  p.group_n = 8;
  p.group_ms = 2;
  p.segment_size = 16 << 10; /* small: rollovers happen under the knife too */
  rf__deltas *ds;
  if (rf__deltas_open(dir, &p, &ds) != 0) _exit(3);
  int first_pending = 0;
  for (int n = 0; n < 1000000; n++) {
    char buf[512];
    size_t len = delta_json(buf, sizeof buf, round, n);
    int rc = rf__deltas_add_json(ds, buf, len, NULL);
    if (rc == 1) continue; /* written, its group still open */
    if (rc != 0) _exit(4);
    for (; first_pending <= n; first_pending++) {
      uint32_t v = (uint32_t)first_pending;
      if (write(fd, &v, sizeof v) != (ssize_t)sizeof v) _exit(5);
    }
  }
  _exit(0);
}

static void crash_rounds(rf__durability d, int rounds) {
  unsigned seed = (unsigned)time(NULL);
  srand(seed);
  char dir[64];
  scratch_dir(dir, sizeof dir);
  uint32_t *acked = malloc(sizeof(uint32_t) * 1000000);
  int total_acked = 0, truncations = 0;
  for (int round = 0; round < rounds; round++) {
    int pfd[2];
    cr_assert_eq(pipe(pfd), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
      close(pfd[0]);
      child(dir, round, pfd[1], d);
    }
    close(pfd[1]);
    /* 0 to 8 ms, in microseconds; one round in ten kills at once */
    long us = rand() % 10 == 0 ? 0 : rand() % 8000;
    struct timespec ts = {0, us * 1000};
    nanosleep(&ts, NULL);
    kill(pid, SIGKILL);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 0),
              "seed %u round %d: the child failed by itself (status %d)", seed, round, status);
    int n_acked = 0;
    ssize_t got;
    while ((got = read(pfd[0], acked + n_acked, sizeof(uint32_t) * 4096)) > 0)
      n_acked += (int)(got / (ssize_t)sizeof(uint32_t));
    close(pfd[0]);
    total_acked += n_acked;

    rf__store_policy p = rf__store_policy_default();
    p.segment_size = 16 << 10;
    rf__deltas *ds;
    int rc = rf__deltas_open(dir, &p, &ds);
    cr_assert_eq(rc, 0, "seed %u round %d: reopen failed: %s", seed, round, rf_last_error());
    if (rf__store_recovery_note(rf__deltas_store(ds))) truncations++;
    /* every acknowledged delta is there */
    for (int i = 0; i < n_acked; i++) {
      char buf[512];
      size_t len = delta_json(buf, sizeof buf, round, (int)acked[i]);
      rf__bytes b = {NULL, 0, 0};
      cr_assert_eq(rf__delta_canonicalize(buf, len, &b, NULL, 0), 0);
      int present = rf__deltas_contains(ds, rf__delta_address(b.data, b.len));
      rf__free(b.data);
      cr_assert(present, "seed %u round %d: acknowledged delta %u of %d is lost", seed, round,
                acked[i], n_acked);
    }
    /* every record served is a whole delta this test wrote */
    rf__store_reader *r;
    cr_assert_eq(rf__store_reader_open(rf__deltas_store(ds), (rf__store_pos){0, 0}, &r), 0);
    rf__store_record rec;
    uint64_t n_rec = 0;
    while ((rc = rf__store_reader_next(r, &rec)) == 1) {
      n_rec++;
      cr_assert_eq(rec.type, RF_STORE_REC_DELTA);
      rf__bytes b = {NULL, 0, 0};
      char err[400];
      cr_assert_eq(rf__delta_canonicalize((const char *)rec.data, rec.len, &b, err, sizeof err), 0,
                   "seed %u round %d: a served record is not a delta: %s", seed, round, err);
      cr_assert(b.len == rec.len && memcmp(b.data, rec.data, b.len) == 0);
      cr_assert(memcmp(rec.data, "{\"id\":\"r", 8) == 0);
      rf__free(b.data);
    }
    cr_assert_eq(rc, 0, "seed %u round %d: %s", seed, round, rf_last_error());
    rf__store_reader_close(r);
    cr_assert_eq(n_rec, rf__deltas_count(ds));
    /* and new appends work */
    char buf[512];
    size_t len = delta_json(buf, sizeof buf, 100000 + round, 0);
    cr_assert_eq(rf__deltas_add_json(ds, buf, len, NULL), 0, "seed %u round %d: %s", seed, round,
                 rf_last_error());
    cr_assert_eq(rf__deltas_close(ds), 0);
  }
  cr_log_info("crash test (%s): %d rounds, %d acknowledged appends, %d tails truncated",
              d == RF_DURABILITY_FSYNC ? "fsync" : "group", rounds, total_acked, truncations);
  free(acked);
  remove_dir(dir);
}

Test(store_crash, sigkill_during_fsync_appends, .timeout = 120) {
  crash_rounds(RF_DURABILITY_FSYNC, ROUNDS);
}

Test(store_crash, sigkill_during_group_commit_appends, .timeout = 120) {
  crash_rounds(RF_DURABILITY_GROUP, 100);
}

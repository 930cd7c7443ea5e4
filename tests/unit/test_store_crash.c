/*
 * test_store_crash.c: the crash test of issue 5, with batches. A child
 * process appends deltas in units: most units are a batch of 2 to 8 deltas
 * (rf__deltas_batch_*), some a single delta appended on its own; after each
 * unit is acknowledged it writes the unit's number to a pipe. Batches are
 * written out in pieces of 256 bytes (the store's write buffer, made small)
 * so that a kill can fall between the writes of one batch, and segments
 * are small so that rollovers happen under the knife too. The parent
 * SIGKILLs the child at a random moment: one round in ten at once (during
 * its open and recovery), the others 0 to 15 ms after the child reports the
 * store open; 250 times over one growing store. After each kill the
 * parent reopens the store and reads the whole log back:
 *   - every record served is whole and is the canonical form of a delta
 *     this test wrote;
 *   - every unit of the round is wholly present or wholly absent (a delta's
 *     id names its round, unit, index and the unit's size);
 *   - the units present are a prefix 0..M of the round's units (the log is
 *     appended in order and only its tail may go);
 *   - every acknowledged unit is present;
 *   - earlier rounds, and the parent's own appends, are all still there;
 *   - a new batch can be appended.
 * The same runs 100 times under group commit, where a unit is acknowledged
 * when the position of its last record (a batch's COMMIT record) is
 * durable: when its commit or append returns 0, or later, when
 * rf__store_durable says so (the flusher's work). The seed is printed on
 * failure.
 */
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "unit/store_helpers/store_test.h"
#include "common/alloc.h"
#include "common/error.h"
#include "store/delta.h"

#define ROUNDS 250
#define MAX_UNITS 100000
#define MAX_ROUNDS 400

/* The size of unit u of round r: 1 (a single delta appended outside any
 * batch) or 2..8 (a batch). */
static int unit_size(int r, int u) {
  uint32_t h = (uint32_t)r * 2654435761u ^ (uint32_t)u * 40503u;
  h ^= h >> 13;
  h *= 0x5bd1e995u;
  h ^= h >> 15;
  return h % 5 == 0 ? 1 : 2 + (int)(h % 7);
}

/* Delta i of unit u of round r. The padding makes records of varying size,
 * a few hundred bytes. */
static size_t delta_json(char *buf, size_t cap, int r, int u, int i, int k) {
  int n = u * 8 + i;
  return (size_t)snprintf(buf, cap,
                          "{\"id\":\"r%d-u%d-i%d-k%d\",\"timestamp\":%d,\"author\":\"crash\","
                          "\"system\":\"t\",\"pointers\":[{\"role\":\"seq\",\"target\":%d},"
                          "{\"role\":\"pad\",\"target\":\"%.*s\"}]}",
                          r, u, i, k, n + 1, n, n % 97,
                          "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                          "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
}

static rf__store_policy test_policy(rf__durability d) {
  rf__store_policy p = rf__store_policy_default();
  p.durability = d;
  p.group_n = 8;
  p.group_ms = 2;
  p.segment_size = 16 << 10; /* small: rollovers happen under the knife too */
  p.write_buffer = 256;      /* small: a batch goes out in several writes */
  return p;
}

#define OPENED UINT32_MAX /* the child's first word on the pipe */

static void ack(int fd, int u) {
  uint32_t v = (uint32_t)u;
  if (write(fd, &v, sizeof v) != (ssize_t)sizeof v) _exit(5);
}

/* Appends units until killed; reports each acknowledged unit on fd. */
static void child(const char *dir, int round, int fd, rf__durability d) {
  rf__store_policy p = test_policy(d);
  rf__deltas *ds;
  if (rf__deltas_open(dir, &p, &ds) != 0) _exit(3);
  rf__store *st = rf__deltas_store(ds);
  uint32_t opened = OPENED;
  if (write(fd, &opened, sizeof opened) != (ssize_t)sizeof opened) _exit(5);
  static rf__store_pos last_pos[MAX_UNITS]; /* group: the position that acknowledges unit u */
  int first_pending = 0;
  for (int u = 0; u < MAX_UNITS; u++) {
    int k = unit_size(round, u);
    char buf[512];
    int rc;
    if (k == 1) {
      size_t len = delta_json(buf, sizeof buf, round, u, 0, 1);
      rc = rf__deltas_add_json_at(ds, buf, len, NULL, &last_pos[u]);
    } else {
      if (rf__deltas_batch_begin(ds) != 0) _exit(4);
      for (int i = 0; i < k; i++) {
        size_t len = delta_json(buf, sizeof buf, round, u, i, k);
        if (rf__deltas_add_json(ds, buf, len, NULL) != 1) _exit(6);
      }
      rc = rf__deltas_batch_commit(ds, &last_pos[u]);
    }
    if (rc < 0) _exit(7);
    /* rc 0: this unit and every earlier one are acknowledged; rc 1 (group
     * commit): those whose last position has become durable are */
    for (; first_pending <= u; first_pending++) {
      if (rc != 0 && !rf__store_durable(st, last_pos[first_pending])) break;
      ack(fd, first_pending);
    }
  }
  _exit(0);
}

/* Parses the id of a delta record written by this test. 1 and the fields,
 * or 0 for one of the parent's own ("p...") deltas; fails on anything else. */
static int parse_id(const rf__store_record *rec, int *r, int *u, int *i, int *k, unsigned seed,
                    int round) {
  char head[96];
  size_t n = rec->len < sizeof head - 1 ? rec->len : sizeof head - 1;
  memcpy(head, rec->data, n);
  head[n] = 0;
  if (strncmp(head, "{\"id\":\"p", 8) == 0) return 0;
  cr_assert_eq(sscanf(head, "{\"id\":\"r%d-u%d-i%d-k%d\"", r, u, i, k), 4,
               "seed %u round %d: a record this test did not write: %s", seed, round, head);
  return 1;
}

static void crash_rounds(rf__durability d, int rounds) {
  unsigned seed = (unsigned)time(NULL);
  srand(seed);
  char dir[64];
  scratch_dir(dir, sizeof dir);
  uint32_t *acked = malloc(sizeof(uint32_t) * MAX_UNITS);
  int *count = malloc(sizeof(int) * MAX_UNITS);
  uint64_t round_records[MAX_ROUNDS] = {0}, seen_round[MAX_ROUNDS];
  cr_assert_leq(rounds, MAX_ROUNDS);
  int total_acked = 0, dropped_batches = 0, truncations = 0;
  uint64_t total_units = 0;
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
    /* one round in ten kills at once (during the open); the others wait
     * for the open, then 0 to 15 ms */
    int n_acked = 0;
    if (rand() % 10 != 0) {
      uint32_t first;
      if (read(pfd[0], &first, sizeof first) == (ssize_t)sizeof first) {
        cr_assert_eq(first, OPENED);
        long us = rand() % 15000;
        struct timespec ts = {0, us * 1000};
        nanosleep(&ts, NULL);
      }
    }
    kill(pid, SIGKILL);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 0),
              "seed %u round %d: the child failed by itself (status %d)", seed, round, status);
    ssize_t got;
    while ((got = read(pfd[0], acked + n_acked, sizeof(uint32_t) * 4096)) > 0)
      n_acked += (int)(got / (ssize_t)sizeof(uint32_t));
    close(pfd[0]);
    if (n_acked > 0 && acked[0] == OPENED) memmove(acked, acked + 1, sizeof(uint32_t) * (size_t)--n_acked);
    total_acked += n_acked;

    rf__store_policy p = test_policy(RF_DURABILITY_FSYNC);
    rf__deltas *ds;
    int rc = rf__deltas_open(dir, &p, &ds);
    cr_assert_eq(rc, 0, "seed %u round %d: reopen failed: %s", seed, round, rf_last_error());
    const char *note = rf__store_recovery_note(rf__deltas_store(ds));
    if (note) truncations++;
    if (note && strstr(note, "unfinished batch")) dropped_batches++;

    /* read everything back */
    memset(count, 0, sizeof(int) * MAX_UNITS);
    memset(seen_round, 0, sizeof seen_round);
    uint64_t own = 0, n_rec = 0;
    rf__store_reader *r;
    cr_assert_eq(rf__store_reader_open(rf__deltas_store(ds), (rf__store_pos){0, 0}, &r), 0);
    rf__store_record rec;
    while ((rc = rf__store_reader_next(r, &rec)) == 1) {
      n_rec++;
      cr_assert_eq(rec.type, RF_STORE_REC_DELTA, "seed %u round %d: a record of type %u", seed,
                   round, rec.type);
      int rr, u, i, k;
      if (!parse_id(&rec, &rr, &u, &i, &k, seed, round)) {
        own++;
        continue;
      }
      cr_assert(rr >= 0 && rr <= round && u >= 0 && u < MAX_UNITS, "seed %u round %d", seed, round);
      seen_round[rr]++;
      if (rr != round) continue;
      /* this round's records: whole, canonical, and of a unit of that size */
      rf__bytes b = {NULL, 0, 0};
      char err[400];
      cr_assert_eq(rf__delta_canonicalize((const char *)rec.data, rec.len, &b, err, sizeof err), 0,
                   "seed %u round %d: a served record is not a delta: %s", seed, round, err);
      cr_assert(b.len == rec.len && memcmp(b.data, rec.data, b.len) == 0);
      rf__free(b.data);
      cr_assert_eq(k, unit_size(round, u), "seed %u round %d unit %d", seed, round, u);
      cr_assert(i >= 0 && i < k);
      count[u]++;
    }
    cr_assert_eq(rc, 0, "seed %u round %d: %s", seed, round, rf_last_error());
    rf__store_reader_close(r);
    cr_assert_eq(n_rec, rf__deltas_count(ds));
    /* every unit wholly there or wholly not, and those there a prefix */
    int present = 0;
    while (present < MAX_UNITS && count[present] > 0) {
      cr_assert_eq(count[present], unit_size(round, present),
                   "seed %u round %d: unit %d is there in part: %d of its %d deltas", seed, round,
                   present, count[present], unit_size(round, present));
      present++;
    }
    for (int u = present; u < MAX_UNITS; u++)
      cr_assert_eq(count[u], 0, "seed %u round %d: unit %d is there but unit %d is not", seed,
                   round, u, present);
    total_units += (uint64_t)present;
    /* every acknowledged unit is there */
    for (int a = 0; a < n_acked; a++)
      cr_assert_lt((int)acked[a], present, "seed %u round %d: acknowledged unit %u is lost (%d of %d)",
                   seed, round, acked[a], a, n_acked);
    /* earlier rounds and the parent's own appends are intact */
    round_records[round] = seen_round[round];
    for (int e = 0; e < round; e++)
      cr_assert_eq(seen_round[e], round_records[e], "seed %u round %d: round %d had %llu records, now %llu",
                   seed, round, e, (unsigned long long)round_records[e],
                   (unsigned long long)seen_round[e]);
    cr_assert_eq(own, 2u * (uint64_t)round, "seed %u round %d: the parent's deltas", seed, round);
    /* and a new batch can be appended */
    cr_assert_eq(rf__deltas_batch_begin(ds), 0);
    for (int i = 0; i < 2; i++) {
      char buf[128];
      int len = snprintf(buf, sizeof buf,
                         "{\"id\":\"p%d-%d\",\"timestamp\":1,\"author\":\"parent\",\"system\":\"t\","
                         "\"pointers\":[{\"role\":\"r\",\"target\":1}]}",
                         round, i);
      cr_assert_eq(rf__deltas_add_json(ds, buf, (size_t)len, NULL), 1, "seed %u round %d: %s", seed,
                   round, rf_last_error());
    }
    cr_assert_eq(rf__deltas_batch_commit(ds, NULL), 0, "seed %u round %d: %s", seed, round,
                 rf_last_error());
    cr_assert_eq(rf__deltas_close(ds), 0);
  }
  cr_log_info("crash test (%s): %d kills, %llu units found whole (%d acknowledged), %d tails "
              "truncated, %d of them in an unfinished batch",
              d == RF_DURABILITY_FSYNC ? "fsync" : "group", rounds,
              (unsigned long long)total_units, total_acked, truncations, dropped_batches);
  free(acked);
  free(count);
  remove_dir(dir);
}

Test(store_crash, sigkill_during_fsync_batches, .timeout = 180) {
  crash_rounds(RF_DURABILITY_FSYNC, ROUNDS);
}

Test(store_crash, sigkill_during_group_commit_batches, .timeout = 180) {
  crash_rounds(RF_DURABILITY_GROUP, 100);
}

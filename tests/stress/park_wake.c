/*
 * park_wake.c: a stress test for parking and waking (scheduler/park.h).
 * A plain program (not Criterion) so that it also runs under
 * ThreadSanitizer; exits non-zero on failure.
 *
 * Two threads play ping-pong ROUNDS times: a shared counter says whose turn
 * it is (even: ping, odd: pong); each thread waits on its own parker until
 * the counter reaches its turn, bumps it, and wakes the other. Every wait
 * has no timeout, so a lost wake-up stalls the game: a watchdog then fails
 * the run (exit 2) instead of letting it hang. Every third round a thread
 * waits without a has_work check, relying on the wake token alone.
 *
 * Usage: park_wake [ROUNDS]   (default 20000)
 */
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/atomic.h"
#include "scheduler/park.h"

enum { WATCHDOG_S = 120 };

static rf__park parks[2];
/* Atomic: the two players bump it in turn and the waiting one polls it.
 * Release/acquire: each hands the other its turn. */
static uint64_t ball;
static uint64_t rounds;
/* Plain data handed over with the ball: written by the player whose turn
 * it is, read by the other after it sees the ball move (TSan checks that
 * the hand-over orders them). */
static uint64_t last_hitter;

static void on_watchdog(int sig) {
  static const char msg[] = "park_wake: FAILED: watchdog expired (a wake-up was lost)\n";
  (void)sig;
  ssize_t w = write(2, msg, sizeof msg - 1);
  (void)w;
  _exit(2);
}

typedef struct turn {
  uint64_t parity;
} turn;

static bool my_turn(void *ctx) {
  const turn *t = ctx;
  uint64_t b = rf__atomic_load_acquire_64(&ball);
  return b >= 2 * rounds || (b & 1) == t->parity;
}

static void *player(void *arg) {
  uint64_t me = (uint64_t)(uintptr_t)arg;
  turn t = {me};
  for (uint64_t i = 0;; i++) {
    while (!my_turn(&t)) rf__park_wait(&parks[me], i % 3 == 2 ? NULL : my_turn, &t, 0);
    uint64_t b = rf__atomic_load_acquire_64(&ball);
    if (b >= 2 * rounds) break;
    if (b > 0 && last_hitter != 1 - me) {
      fprintf(stderr, "park_wake: FAILED: round %" PRIu64 ": last hitter %" PRIu64 "\n", b,
              last_hitter);
      exit(1);
    }
    last_hitter = me;
    rf__atomic_store_release_64(&ball, b + 1); /* hand the turn over */
    rf__park_wake(&parks[1 - me]);
  }
  /* Let the other player see the end too. */
  rf__park_wake(&parks[1 - me]);
  return NULL;
}

int main(int argc, char **argv) {
  rounds = argc > 1 ? strtoull(argv[1], NULL, 10) : 20000;
  signal(SIGALRM, on_watchdog);
  alarm(WATCHDOG_S);
  for (int i = 0; i < 2; i++)
    if (rf__park_init(&parks[i]) != 0) return 1;
  pthread_t th[2];
  for (uintptr_t i = 0; i < 2; i++)
    if (pthread_create(&th[i], NULL, player, (void *)i) != 0) return 1;
  for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
  for (int i = 0; i < 2; i++) rf__park_destroy(&parks[i]);
  uint64_t b = rf__atomic_load_relaxed_64(&ball);
  if (b != 2 * rounds) {
    fprintf(stderr, "park_wake: FAILED: %" PRIu64 " hits, expected %" PRIu64 "\n", b, 2 * rounds);
    return 1;
  }
  printf("park_wake: %" PRIu64 " round trips, no wake-up lost; 1 passed, 0 failed\n", rounds);
  return 0;
}

/*
 * bell_ring.c: a stress test for waiting and ringing (scheduler/bell.h).
 * A plain program (not Criterion) so that it also runs under
 * ThreadSanitizer; exits non-zero on failure.
 *
 * PLAYERS threads pass a ball ROUNDS times around, all waiting on ONE bell
 * (several waiters at once, as parked workers do): a shared counter says
 * whose turn it is (ball % PLAYERS); each thread waits until its turn,
 * bumps the counter and rings. Waits have no timeout, so a lost wake-up
 * stalls the game: a watchdog then fails the run (exit 2) instead of
 * letting it hang.
 *
 * Usage: bell_ring [ROUNDS]   (default 20000)
 */
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/atomic.h"
#include "scheduler/bell.h"

enum { PLAYERS = 3, WATCHDOG_S = 120 };

static rf__bell bell;
/* Atomic: the players bump it in turn and the waiting ones poll it.
 * Release/acquire: each hands the next its turn. */
static uint64_t ball;
static uint64_t rounds;
/* Plain data handed over with the ball: written by the player whose turn
 * it is, read by the next after it sees the ball move (TSan checks that
 * the hand-over orders them). */
static uint64_t last_hitter;

static void on_watchdog(int sig) {
  static const char msg[] = "bell_ring: FAILED: watchdog expired (a wake-up was lost)\n";
  (void)sig;
  ssize_t w = write(2, msg, sizeof msg - 1);
  (void)w;
  _exit(2);
}

typedef struct turn {
  uint64_t me;
} turn;

static bool my_turn(void *ctx) {
  const turn *t = ctx;
  uint64_t b = rf__atomic_load_acquire_64(&ball);
  return b >= PLAYERS * rounds || b % PLAYERS == t->me;
}

static void *player(void *arg) {
  turn t = {(uint64_t)(uintptr_t)arg};
  for (;;) {
    rf__bell_wait(&bell, my_turn, &t);
    uint64_t b = rf__atomic_load_acquire_64(&ball);
    if (b >= PLAYERS * rounds) break;
    if (b > 0 && last_hitter != (t.me + PLAYERS - 1) % PLAYERS) {
      fprintf(stderr, "bell_ring: FAILED: hit %" PRIu64 ": last hitter %" PRIu64 "\n", b,
              last_hitter);
      exit(1);
    }
    last_hitter = t.me;
    rf__atomic_store_release_64(&ball, b + 1); /* hand the turn over */
    rf__bell_ring(&bell);
  }
  rf__bell_ring(&bell); /* let the others see the end too */
  return NULL;
}

int main(int argc, char **argv) {
  rounds = argc > 1 ? strtoull(argv[1], NULL, 10) : 20000;
  signal(SIGALRM, on_watchdog);
  alarm(WATCHDOG_S);
  if (rf__bell_init(&bell) != 0) return 1;
  pthread_t th[PLAYERS];
  for (uintptr_t i = 0; i < PLAYERS; i++)
    if (pthread_create(&th[i], NULL, player, (void *)i) != 0) return 1;
  for (int i = 0; i < PLAYERS; i++) pthread_join(th[i], NULL);
  rf__bell_destroy(&bell);
  uint64_t b = rf__atomic_load_relaxed_64(&ball);
  if (b != PLAYERS * rounds) {
    fprintf(stderr, "bell_ring: FAILED: %" PRIu64 " hits, expected %" PRIu64 "\n", b,
            (uint64_t)PLAYERS * rounds);
    return 1;
  }
  printf("bell_ring: %" PRIu64 " rounds of %d players on one bell, no wake-up lost; 1 passed, "
         "0 failed\n",
         rounds, PLAYERS);
  return 0;
}

/*
 * spine.c: the trace of one arranged collection, a fueled LSM of batches
 * (see spine.h; the full note is docs/spine.md).
 *
 * Design
 *
 *   Batches live in levels 0..N_LEVELS-1. Level i holds batches of up to
 *   about 2^i updates, as nothing (EMPTY), one batch (SINGLE) or two batches
 *   being merged (PAIR). Higher levels hold older batches: reading the levels
 *   from the top down, each PAIR as (older a, newer b), then the pending
 *   queue, lists the batches in time order, each one's lower the previous
 *   one's upper.
 *
 *   A new batch of n updates enters at level k = ceil(log2 n). First every
 *   merge in progress gets fuel 8 * 2^k and advances by that much work; then
 *   the levels below k are rolled up into level k (they hold fewer than 2^k
 *   updates together), level k is made room in, and the batch is put there,
 *   starting a merge if the level held a batch. A finished merge whose
 *   result outgrew its level moves up one level, maybe starting a merge
 *   there. Fuel is granted in proportion to the inserted updates, so each
 *   merge is done long before its level is needed again and no insert stalls
 *   on a large merge (the argument of differential dataflow's fueled spine).
 *
 *   A merge walks both inputs one (key, val) at a time, advances every time
 *   to the spine's logical `since` (captured when the merge starts), sums
 *   the diffs of equal times and drops zeros, so vals and keys that cancel
 *   out disappear (logical compaction; merge.c does it). Merges with an
 *   empty input cost O(1): the other batch is reframed under the joint
 *   frontiers.
 *
 *   Batches whose upper the readers' physical frontier has not passed wait,
 *   unmerged, in the pending queue (physical compaction); they enter the
 *   levels, in order, once it has.
 *
 *   rf__spine_exert spends idle fuel: it advances merges in progress
 *   (smallest first), then starts merges no insert would: the cheapest pair
 *   of adjacent batches, or else the recompaction of a single batch whose
 *   upper the since has overtaken. An idle merge must be paid for: by
 *   credit (each inserted update earns IDLE_CREDIT units; pairs only of
 *   batches within IDLE_SIZE_RATIO of each other in size) or by itself,
 *   when it is sure to remove half of its input (since has overtaken all
 *   its times, some input still lags, two or more updates per val). So
 *   after a burst the merges finish and what cancels goes without more
 *   input (memory falls back), while a steady trickle of small batches with
 *   idle gaps never has a large batch rewritten to absorb a small one.
 *
 *   An idle merge is work no insert asked for, so inserts do not pay for
 *   it while they need not: insert fuel reaches it only once the updates
 *   below its level (lower levels, pending batches, the batch coming in)
 *   are a quarter of its level's size. From there an insert may need its
 *   level within another quarter, and the fuel of that quarter (8 units an
 *   update) covers the merge (at most 1.5 times the level's size), so it
 *   still finishes before it is needed. Before that, idle time alone
 *   advances it. (Measured: idle merges of the large batches a load leaves,
 *   fed by every insert, made the first BFS rounds after a load with 2
 *   workers as slow as with 1; benchmarks/RESULTS.md, session 12.)
 *
 *   With several workers a spine has a merge board (merge_board.h): after
 *   each insert or reader frontier move it starts the idle merges exert
 *   would start (up to OFFERED_IDLE_MAX) and offers them there, since its
 *   worker may never be idle. A merge an insert starts is offered too, at
 *   the next insert or reader frontier move (offer_idle offers every started
 *   merge not on the board), so that a large one inserts feed for many
 *   rounds gets help as well. Idle workers do slices of them (merge.h: one
 *   thread at a time, by a claim). The spine alone touches its levels: it
 *   skips a merge another worker is in a slice of, waits such a slice out
 *   when it needs the level (rf__merge_finish), puts a helper's result in
 *   place at its next insert or exert, and withdraws from the board what it
 *   finished itself.
 *
 * Invariants
 *
 *   - Levels top-down, then pending, are contiguous in time; a PAIR's a
 *     precedes its b. Moves only go to empty levels or make a batch the
 *     newest input of a PAIR whose older input is the level's batch.
 *   - Every batch in the levels has an upper the physical frontier had
 *     passed when it entered; pending batches are never merged.
 *   - since only moves forward: it is the meet of the readers' logical
 *     frontiers, or upper when there are no readers.
 *   - Every merge output is a valid batch: sorted, consolidated, no zero
 *     diffs, times advanced to its since.
 *   - Idle work is bounded by the input: credit-paid merges cost at most
 *     IDLE_CREDIT per inserted update, self-paying ones two units per
 *     update they remove, merges with an empty input nothing.
 *   - After an RF_ENOMEM every batch is still held exactly once and in
 *     order; the failed step is retried by the next call.
 *
 * Threads: rf__spine_* and rf__reader_* run on the worker owning the spine
 * (the arrange operator writes, its readers set frontiers and open cursors
 * there); only the merges it offered are worked on by other workers. A
 * cursor holds its own batch references and may then be used on any
 * thread, whatever the spine merges meanwhile.
 */
#include "arrangements/spine.h"

#include <assert.h>
#include <stddef.h>
#include <string.h>

#include "arrangements/merge.h"
#include "arrangements/merge_board.h"
#include "common/alloc.h"
#include "common/atomic.h"
#include "common/epoch.h"
#include "common/error.h"
#include "common/sort.h"

/* Level i holds batches of up to 2^i updates; sizes are size_t. */
#define N_LEVELS 66
/* Fuel per update granted to each merge in progress by an insert. */
#define FUEL_PER_UPDATE 8
/* Idle merge work each inserted update pays for in advance. */
#define IDLE_CREDIT 2
/* Credit pays for merging two batches only if neither is more than this
 * many times the other (comparable). */
#define IDLE_SIZE_RATIO 8

typedef enum { LEVEL_EMPTY, LEVEL_SINGLE, LEVEL_PAIR } level_kind;

typedef struct level {
  level_kind kind;
  rf__batch *a; /* SINGLE: the batch; PAIR: the older input */
  rf__batch *b; /* PAIR: the newer input, NULL when a is recompacted alone */
  rf__merge *m; /* PAIR: the merge, NULL until it starts (merge.h) */
  bool idle;    /* PAIR: started by idle work (start_idle), not by an insert */
  bool offered; /* PAIR: m is on the board, or with a worker helping */
} level;

struct rf__spine {
  uint32_t key_arity, val_arity, dim;
  rf__antichain upper;
  rf__antichain since;    /* logical compaction frontier */
  rf__antichain physical; /* batches enter the levels once this passes their upper */
  level levels[N_LEVELS];
  uint32_t n_levels;      /* levels above n_levels - 1 are EMPTY */
  rf__batch **pending;    /* waiting for the physical frontier, oldest first */
  size_t n_pending, pending_cap;
  rf__reader **readers;
  size_t n_readers, readers_cap;
  size_t idle_credit;     /* merge work idle exertion may still start */
  bool publishing;        /* readers on other threads: publish snapshots */
  rf__merge_board *board; /* several workers: where merges are offered */
  struct snapshot *published; /* atomic: the latest batch list for them */
};

/* An immutable list of the spine's non-empty batches (each referenced), for
 * readers on other threads. Replaced as a whole after every change and
 * retired through the epoch domain, so a reader that loaded it inside an
 * epoch section can still take references to its batches. */
typedef struct snapshot {
  rf__epoch_entry entry; /* for rf__epoch_retire */
  uint32_t n;
  rf__batch *b[];
} snapshot;

static int publish(rf__spine *s);
static void each_batch(const rf__spine *s, void (*fn)(void *, rf__batch *), void *ctx);

struct rf__reader {
  rf__spine *s;
  rf__antichain logical, physical;
};

/* ---- sizes ------------------------------------------------------------ */

/* The level for n updates: ceil(log2 n), 0 for n <= 1. */
static uint32_t size_class(size_t n) {
  return n <= 1 ? 0 : (uint32_t)(64 - __builtin_clzll((unsigned long long)(n - 1)));
}

static size_t insert_fuel(uint32_t k) {
  return k >= 60 ? SIZE_MAX : (size_t)FUEL_PER_UPDATE << k;
}

static void note_level(rf__spine *s, uint32_t i) {
  if (i + 1 > s->n_levels) s->n_levels = i + 1;
}

/* ---- level states ------------------------------------------------------ */

/* Drops the level's merge, taking it off the board if it is still there. */
static void drop_merge(rf__spine *s, level *L) {
  if (L->m && L->offered && s->board) rf__merge_board_withdraw(s->board, L->m);
  rf__merge_unref(L->m);
}

/* The PAIR at L is done, with result r. */
static void pair_finish(rf__spine *s, level *L, rf__batch *r) {
  drop_merge(s, L);
  rf__batch_unref(L->a);
  rf__batch_unref(L->b);
  *L = (level){LEVEL_SINGLE, r, NULL, NULL, false, false};
}

/* a and b merged when one of them is empty: no update moves. */
static rf__batch *joined_frame(const rf__spine *s, rf__batch *a, rf__batch *b) {
  if (b->n_upds > 0) return rf__batch_reframe(b, &a->lower, &b->upper, &b->since);
  if (a->n_upds > 0) return rf__batch_reframe(a, &a->lower, &b->upper, &a->since);
  return rf__batch_empty(s->key_arity, s->val_arity, s->dim, &a->lower, &b->upper);
}

/* Starts the merge of the PAIR at L, offering it to the board if the
 * spine has one and `offer` says so. With an empty input the PAIR is done
 * at once. */
static int merge_start(rf__spine *s, level *L, bool offer) {
  rf__batch *a = L->a, *b = L->b;
  if (b && (a->n_upds == 0 || b->n_upds == 0)) {
    rf__batch *r = joined_frame(s, a, b);
    RF_CHECK_ALLOC(r);
    pair_finish(s, L, r);
    return 0;
  }
  L->m = rf__merge_new(a, b, &s->since);
  if (!L->m) return RF_ENOMEM;
  L->offered = offer && s->board && rf__merge_board_offer(s->board, L->m);
  return 0;
}

/* Spends up to *fuel on the PAIR at L (starting it if needed); another
 * worker may be in a slice of it, or have finished it. Returns 1 when it
 * is done (L is then SINGLE), 0 if work remains, or RF_ENOMEM. */
static int pair_work(rf__spine *s, level *L, size_t *fuel) {
  if (!L->m) {
    RF_FORWARD_IF_ERROR(merge_start(s, L, L->idle));
    if (L->kind == LEVEL_SINGLE) return 1;
  }
  int rc = rf__merge_work(L->m, fuel);
  if (rc < 0) return rc;
  if (rc != RF_MERGE_DONE) return 0;
  pair_finish(s, L, rf__merge_result(L->m));
  return 1;
}

/* Finishes the PAIR at level i, if there is one, now. */
static int complete_level(rf__spine *s, uint32_t i) {
  level *L = &s->levels[i];
  if (L->kind != LEVEL_PAIR) return 0;
  if (!L->m) {
    RF_FORWARD_IF_ERROR(merge_start(s, L, false));
    if (L->kind == LEVEL_SINGLE) return 0;
  }
  RF_FORWARD_IF_ERROR(rf__merge_finish(L->m));
  pair_finish(s, L, rf__merge_result(L->m));
  return 0;
}

/* Makes the batch (which is newer than everything at level i) the newest
 * at level i: EMPTY becomes SINGLE, SINGLE becomes a PAIR. */
static void put(rf__spine *s, uint32_t i, rf__batch *batch) {
  level *L = &s->levels[i];
  assert(L->kind != LEVEL_PAIR);
  if (L->kind == LEVEL_EMPTY)
    *L = (level){LEVEL_SINGLE, batch, NULL, NULL, false, false};
  else
    *L = (level){LEVEL_PAIR, L->a, batch, NULL, false, false};
  note_level(s, i);
}

static int make_room(rf__spine *s, uint32_t i);

/* Moves level i's SINGLE up into level i + 1. */
static int lift(rf__spine *s, uint32_t i) {
  assert(i + 1 < N_LEVELS);
  RF_FORWARD_IF_ERROR(make_room(s, i + 1));
  put(s, i + 1, s->levels[i].a);
  s->levels[i] = (level){LEVEL_EMPTY, NULL, NULL, NULL, false, false};
  return 0;
}

/* Moves level i's SINGLE up if it has outgrown the level. */
static int promote(rf__spine *s, uint32_t i) {
  level *L = &s->levels[i];
  if (L->kind == LEVEL_SINGLE && size_class(L->a->n_upds) > i) return lift(s, i);
  return 0;
}

/* Readies level i to take a new batch: no merge in progress, and no batch
 * too large for the level. */
static int make_room(rf__spine *s, uint32_t i) {
  RF_FORWARD_IF_ERROR(complete_level(s, i));
  return promote(s, i);
}

/* Merges everything below level k into level k. */
static int roll_up(rf__spine *s, uint32_t k) {
  for (uint32_t j = 0; j < k && j < s->n_levels; j++) {
    if (s->levels[j].kind == LEVEL_EMPTY) continue;
    RF_FORWARD_IF_ERROR(complete_level(s, j));
    RF_FORWARD_IF_ERROR(lift(s, j));
  }
  return 0;
}

/* Is an insert close enough to needing level i that the idle merge there
 * must take insert fuel? Yes once the updates below level i (in the lower
 * levels and in the pending batches from `first`, the one coming in) are a
 * quarter of its size (see the top of the file). */
static bool idle_merge_due(const rf__spine *s, uint32_t i, size_t first) {
  if (i < 2) return true;
  size_t below = 0, quarter = (size_t)1 << (i - 2);
  for (size_t p = first; p < s->n_pending && below < quarter; p++) below += s->pending[p]->n_upds;
  for (uint32_t j = 0; j < i && below < quarter; j++) {
    const level *L = &s->levels[j];
    below += (L->a ? L->a->n_upds : 0) + (L->b ? L->b->n_upds : 0);
  }
  return below >= quarter;
}

/* Gives each merge in progress `fuel`, largest first, so that a finished
 * merge moving up finds the level above already advanced; an idle merge
 * only when an insert may soon need its level (idle_merge_due), though one
 * a helper finished is put in place. */
static int apply_fuel(rf__spine *s, size_t fuel, size_t first) {
  for (uint32_t i = s->n_levels; i-- > 0;) {
    const level *L = &s->levels[i];
    if (L->kind != LEVEL_PAIR) continue;
    bool due = !L->idle || idle_merge_due(s, i, first);
    /* Not due but done: no fuel, so pair_work only puts the result in
     * place (a done merge takes no claim). */
    if (!due && !(L->m && rf__merge_done(L->m))) continue;
    size_t f = due ? fuel : 0;
    int rc = pair_work(s, &s->levels[i], &f);
    if (rc < 0) return rc;
    if (rc == 1) RF_FORWARD_IF_ERROR(promote(s, i));
  }
  return 0;
}

/* Moves batches down into empty levels their size fits, and drops empty
 * top levels. */
static void tidy(rf__spine *s) {
  for (uint32_t j = s->n_levels; j-- > 1;) {
    level *L = &s->levels[j];
    if (L->kind != LEVEL_SINGLE || size_class(L->a->n_upds) >= j) continue;
    if (s->levels[j - 1].kind != LEVEL_EMPTY) continue;
    s->levels[j - 1] = *L;
    *L = (level){LEVEL_EMPTY, NULL, NULL, NULL, false, false};
  }
  while (s->n_levels > 0 && s->levels[s->n_levels - 1].kind == LEVEL_EMPTY) s->n_levels--;
}

/* Takes pending batch i (the oldest not yet taken) into the levels. On
 * error it stays pending. */
static int introduce(rf__spine *s, size_t i) {
  rf__batch *batch = s->pending[i];
  uint32_t k = size_class(batch->n_upds);
  RF_FORWARD_IF_ERROR(apply_fuel(s, insert_fuel(k), i));
  RF_FORWARD_IF_ERROR(roll_up(s, k));
  RF_FORWARD_IF_ERROR(make_room(s, k));
  put(s, k, batch);
  tidy(s);
  return 0;
}

static int offer_idle(rf__spine *s);

/* Introduces the pending batches whose upper the physical frontier has
 * passed, oldest first. */
static int consider_merges(rf__spine *s) {
  size_t done = 0;
  int rc = 0;
  while (done < s->n_pending && rf__antichain_dominates(&s->pending[done]->upper, &s->physical)) {
    rc = introduce(s, done);
    if (rc < 0) break;
    done++;
  }
  if (done > 0)
    memmove(s->pending, s->pending + done, (s->n_pending - done) * sizeof *s->pending);
  s->n_pending -= done;
  if (rc == 0 && s->board) rc = offer_idle(s);
  return rc;
}

/* ---- idle work ---------------------------------------------------------- */

/* Has b's since not yet been overtaken by b's upper (its times may still
 * collapse further)? */
static bool lagging(const rf__batch *b) { return !rf__antichain_dominates(&b->upper, &b->since); }

/* Would re-merging b alone shrink it? Only if some val has several times
 * (n_upds > n_vals) and since has overtaken b's upper since b was built. */
static bool recompactable(const rf__spine *s, const rf__batch *b) {
  return b->n_upds > b->n_vals && s->since.n > 0 && rf__antichain_dominates(&b->upper, &s->since) &&
         lagging(b);
}

/* Will merging x with its newer neighbour y (NULL: x alone) drop at least
 * half of their updates? So when since has overtaken all their times, some
 * input still lags, and there are two updates per val or more (for 1-dim
 * times each val then keeps one update; for product times it is the best
 * cheap estimate). Such a merge pays for itself: each update it removes
 * pays for two units of work, and an update is removed only once. */
static bool halves(const rf__spine *s, const rf__batch *x, const rf__batch *y) {
  const rf__batch *newest = y ? y : x;
  size_t upds = x->n_upds + (y ? y->n_upds : 0), vals = x->n_vals + (y ? y->n_vals : 0);
  return s->since.n > 0 && upds / 2 >= vals && (lagging(x) || (y && lagging(y))) &&
         rf__antichain_dominates(&newest->upper, &s->since);
}

/* The work of merging two adjacent batches (none if one is empty). */
static size_t pair_cost(const rf__batch *older, const rf__batch *newer) {
  if (older->n_upds == 0 || newer->n_upds == 0) return 0;
  return older->n_upds + newer->n_upds;
}

/* Are two batches close enough in size for credit to pay for merging
 * them? An insert merges batches of about equal size; folding a small batch
 * into a much larger one rewrites the large one for little gain (one batch
 * fewer to read), and the credit a bulk load earned would pay for that
 * again and again (measured: a 5M-update edge batch rewritten for every
 * 10k updates that trickled in, a quarter of the BFS round time with two
 * workers). An empty input costs nothing and always qualifies. */
static bool comparable(const rf__batch *x, const rf__batch *y) {
  size_t a = x->n_upds, b = y->n_upds;
  return a == 0 || b == 0 || (a <= b * IDLE_SIZE_RATIO && b <= a * IDLE_SIZE_RATIO);
}

/* Idle merges are paid by the credit inserts earned (pairs of comparable
 * size, or a batch recompacted alone), or by what they remove. */
static bool affordable(const rf__spine *s, const rf__batch *x, const rf__batch *y, size_t cost) {
  return (cost <= s->idle_credit && (!y || comparable(x, y))) || halves(s, x, y);
}

/* Finds the idle work to start when no merge is in progress: the cheapest
 * affordable pair of adjacent batches, at levels *lo < *hi, or else a batch
 * at *lo == *hi to recompact alone. */
static bool find_idle(const rf__spine *s, uint32_t *lo, uint32_t *hi, size_t *cost) {
  const rf__batch *newer = NULL;
  uint32_t newer_at = 0;
  bool found = false;
  for (uint32_t i = 0; i < s->n_levels; i++) {
    const level *L = &s->levels[i];
    if (L->kind == LEVEL_PAIR) newer = NULL; /* a merge between: not adjacent */
    if (L->kind != LEVEL_SINGLE) continue;
    size_t c = newer ? pair_cost(L->a, newer) : SIZE_MAX;
    if (newer && (!found || c < *cost) && affordable(s, L->a, newer, c)) {
      *lo = newer_at;
      *hi = i;
      *cost = c;
      found = true;
    }
    newer = L->a;
    newer_at = i;
  }
  for (uint32_t i = 0; i < s->n_levels && !found; i++) {
    const rf__batch *b = s->levels[i].a;
    if (s->levels[i].kind != LEVEL_SINGLE || !recompactable(s, b) ||
        !affordable(s, b, NULL, b->n_upds))
      continue;
    *lo = *hi = i;
    *cost = b->n_upds;
    found = true;
  }
  return found;
}

/* Starts the idle merge find_idle chose, charging the credit if it pays. */
static void start_idle(rf__spine *s, uint32_t lo, uint32_t hi, size_t cost) {
  level *H = &s->levels[hi];
  if (cost <= s->idle_credit) s->idle_credit -= cost;
  if (lo == hi) {
    *H = (level){LEVEL_PAIR, H->a, NULL, NULL, true, false};
    return;
  }
  /* The levels between lo and hi are empty, so the two are adjacent. */
  *H = (level){LEVEL_PAIR, H->a, s->levels[lo].a, NULL, true, false};
  s->levels[lo] = (level){LEVEL_EMPTY, NULL, NULL, NULL, false, false};
}

/* Idle merges a spine with a board keeps on offer at once, at most. */
#define OFFERED_IDLE_MAX 4

/* With a board: starts the idle merges exert would start, and offers them,
 * so that idle workers do them while this one is busy; at most
 * OFFERED_IDLE_MAX at a time, and only while the board has room. */
static int offer_idle(rf__spine *s) {
  uint32_t lo, hi, n = 0;
  size_t cost;
  for (uint32_t i = 0; i < s->n_levels; i++) {
    level *L = &s->levels[i];
    if (L->kind != LEVEL_PAIR) continue;
    n += L->idle;
    /* A merge an insert started (unoffered), or one the board had no room
     * for when it started: offer it now. */
    if (L->m && !L->offered) L->offered = rf__merge_board_offer(s->board, L->m);
  }
  for (; n < OFFERED_IDLE_MAX && rf__merge_board_has_room(s->board) &&
         find_idle(s, &lo, &hi, &cost);
       n++) {
    start_idle(s, lo, hi, cost);
    RF_FORWARD_IF_ERROR(merge_start(s, &s->levels[hi], true));
    RF_FORWARD_IF_ERROR(promote(s, hi)); /* an empty input: done at once */
  }
  return 0;
}

static bool merging(const rf__spine *s) {
  for (uint32_t i = 0; i < s->n_levels; i++)
    if (s->levels[i].kind == LEVEL_PAIR) return true;
  return false;
}

/* Spends the shared pool *fuel on merges in progress, smallest first;
 * sets *finished if one finished (the batch list changed). */
static int spend(rf__spine *s, size_t *fuel, bool *finished) {
  for (uint32_t i = 0; i < s->n_levels; i++) {
    if (s->levels[i].kind != LEVEL_PAIR) continue;
    int rc = pair_work(s, &s->levels[i], fuel);
    if (rc < 0) return rc;
    if (rc == 1) {
      *finished = true;
      RF_FORWARD_IF_ERROR(promote(s, i));
    }
  }
  return 0;
}

int rf__spine_exert(rf__spine *s, size_t *fuel) {
  uint32_t lo, hi;
  size_t cost;
  bool finished = false;
  for (;;) {
    int rc = spend(s, fuel, &finished);
    if (rc < 0) return rc;
    if (merging(s) || !find_idle(s, &lo, &hi, &cost)) break;
    start_idle(s, lo, hi, cost);
  }
  tidy(s);
  /* Workers call this whenever they are idle, mostly to find nothing to
   * do: readers on other threads get a new list only when it changed. */
  if (finished) RF_FORWARD_IF_ERROR(publish(s));
  return rf__spine_has_work(s) ? 1 : 0;
}

/* How many levels hold a batch, counting up to two: the lowest at *lo, the
 * next at *hi (adjacent batches, the levels between them being empty). */
static uint32_t lowest_levels(const rf__spine *s, uint32_t *lo, uint32_t *hi) {
  uint32_t found = 0;
  for (uint32_t i = 0; i < s->n_levels && found < 2; i++) {
    if (s->levels[i].kind == LEVEL_EMPTY) continue;
    if (found++ == 0) *lo = i;
    else *hi = i;
  }
  return found;
}

/* Finishes every merge in progress, lowest level first (a finished merge
 * that outgrows its level moves up, finishing what is there). */
static int finish_merges(rf__spine *s) {
  for (uint32_t i = 0; i < s->n_levels; i++) {
    RF_FORWARD_IF_ERROR(complete_level(s, i));
    RF_FORWARD_IF_ERROR(promote(s, i));
  }
  return 0;
}

int rf__spine_compact(rf__spine *s) {
  uint32_t lo, hi;
  RF_FORWARD_IF_ERROR(finish_merges(s));
  /* The two smallest batches first: each merge then costs about the
   * batches below it, and the whole about twice the trace. */
  while (lowest_levels(s, &lo, &hi) == 2) {
    start_idle(s, lo, hi, 0);
    RF_FORWARD_IF_ERROR(finish_merges(s));
  }
  /* One batch left: merged alone, if since has passed times it holds. */
  if (lowest_levels(s, &lo, &hi) == 1 && recompactable(s, s->levels[lo].a)) {
    start_idle(s, lo, lo, 0);
    RF_FORWARD_IF_ERROR(finish_merges(s));
  }
  tidy(s);
  return publish(s);
}

bool rf__spine_has_work(const rf__spine *s) {
  uint32_t lo, hi;
  size_t cost;
  return merging(s) || find_idle(s, &lo, &hi, &cost);
}

/* ---- frontiers and readers ---------------------------------------------- */

/* out = the meet of every reader's logical (or physical) frontier; out is
 * left as it was on RF_ENOMEM. */
static int readers_meet(const rf__spine *s, bool logical, rf__antichain *out) {
  rf__antichain acc;
  rf__antichain_init(&acc, s->dim);
  for (size_t i = 0; i < s->n_readers; i++) {
    const rf__reader *r = s->readers[i];
    const rf__antichain *f = logical ? &r->logical : &r->physical;
    if (rf__antichain_meet(&acc, f, &acc) < 0) {
      rf__antichain_free(&acc);
      return RF_ENOMEM;
    }
  }
  rf__antichain_free(out);
  *out = acc;
  return 0;
}

/* Recomputes since and physical from the readers (or from upper when there
 * are none), then introduces the pending batches the physical frontier now
 * passes. */
static int refresh_frontiers(rf__spine *s) {
  int rc = 0;
  if (s->n_readers == 0) {
    if (rf__antichain_dominates(&s->since, &s->upper))
      rc = rf__antichain_copy(&s->since, &s->upper);
    if (rc == 0) rc = rf__antichain_copy(&s->physical, &s->upper);
  } else {
    rc = readers_meet(s, true, &s->since);
    if (rc == 0) rc = readers_meet(s, false, &s->physical);
  }
  if (rc < 0) return rf__error(RF_ENOMEM, "rf__spine: out of memory updating frontiers");
  return consider_merges(s);
}

/* ---- publishing for readers on other threads ------------------------------ */

static void snapshot_free(rf__epoch_entry *e) {
  snapshot *sn = (snapshot *)((char *)e - offsetof(snapshot, entry));
  for (uint32_t i = 0; i < sn->n; i++) rf__batch_unref(sn->b[i]);
  rf__free(sn);
}

static void count_nonempty(void *ctx, rf__batch *b) { *(uint32_t *)ctx += b->n_upds > 0; }

static void take_nonempty(void *ctx, rf__batch *b) {
  snapshot *sn = ctx;
  if (b->n_upds > 0) sn->b[sn->n++] = rf__batch_ref(b);
}

/* Publishes the current batch list (owning worker, after every change). */
static int publish(rf__spine *s) {
  if (!s->publishing) return 0;
  uint32_t n = 0;
  each_batch(s, count_nonempty, &n);
  snapshot *sn = rf__malloc(sizeof *sn + (size_t)n * sizeof(rf__batch *));
  RF_CHECK_ALLOC(sn);
  sn->n = 0;
  each_batch(s, take_nonempty, sn);
  /* Atomic exchange (release): the list's contents before the pointer that
   * makes it reachable (pairs with the acquire in rf__spine_snapshot). */
  snapshot *old = rf__atomic_fas_ptr(&s->published, sn);
  return old ? rf__epoch_retire(&old->entry, snapshot_free) : 0;
}

void rf__spine_share_merges(rf__spine *s, rf__merge_board *board) { s->board = board; }

int rf__spine_publish_enable(rf__spine *s) {
  s->publishing = true;
  return publish(s);
}

int rf__spine_snapshot(rf__spine *s, rf__batch ***out, uint32_t *n) {
  rf__epoch_section sec;
  RF_FORWARD_IF_ERROR(rf__epoch_enter(&sec));
  /* Acquire: see the list the pointer was published with (the owning
   * worker replaces it concurrently). */
  snapshot *sn = rf__atomic_load_acquire_ptr(&s->published);
  uint32_t count = sn ? sn->n : 0;
  rf__batch **list = rf__malloc(((size_t)count + 1) * sizeof *list);
  if (list)
    for (uint32_t i = 0; i < count; i++) list[i] = rf__batch_ref(sn->b[i]);
  /* The references are taken inside the section: the snapshot (and with it
   * one reference to each batch) cannot be freed before we leave. */
  rf__epoch_exit(&sec);
  RF_CHECK_ALLOC(list);
  *out = list;
  *n = count;
  return 0;
}

rf__spine *rf__spine_new(uint32_t key_arity, uint32_t val_arity, uint32_t dim) {
  rf__spine *s = rf__calloc(1, sizeof *s);
  if (!s) return NULL;
  s->key_arity = key_arity;
  s->val_arity = val_arity;
  s->dim = dim;
  rf__antichain_init(&s->upper, dim);
  rf__antichain_init(&s->since, dim);
  rf__antichain_init(&s->physical, dim);
  uint64_t zero[RF_MAX_DIM] = {0};
  if (rf__antichain_set1(&s->upper, zero) < 0 || rf__antichain_set1(&s->since, zero) < 0 ||
      rf__antichain_set1(&s->physical, zero) < 0) {
    rf__spine_free(s);
    return NULL;
  }
  return s;
}

void rf__spine_free(rf__spine *s) {
  if (!s) return;
  assert(s->n_readers == 0);
  /* Atomic: readers on other threads may be loading it right now. */
  snapshot *sn = rf__atomic_fas_ptr(&s->published, NULL);
  if (sn) {
    /* Readers on other threads may still be inside: wait for them. */
    if (rf__epoch_retire(&sn->entry, snapshot_free) < 0) snapshot_free(&sn->entry);
    rf__epoch_barrier();
  }
  for (uint32_t i = 0; i < N_LEVELS; i++) {
    drop_merge(s, &s->levels[i]);
    rf__batch_unref(s->levels[i].a);
    rf__batch_unref(s->levels[i].b);
  }
  for (size_t i = 0; i < s->n_pending; i++) rf__batch_unref(s->pending[i]);
  rf__free(s->pending);
  rf__free(s->readers);
  rf__antichain_free(&s->upper);
  rf__antichain_free(&s->since);
  rf__antichain_free(&s->physical);
  rf__free(s);
}

int rf__spine_insert(rf__spine *s, rf__batch *b) {
  if (b->key_arity != s->key_arity || b->val_arity != s->val_arity || b->dim != s->dim ||
      !rf__antichain_eq(&b->lower, &s->upper)) {
    rf__batch_unref(b);
    return rf__error(RF_EINVAL, "rf__spine_insert: the batch's shape or lower does not "
                                "continue the spine");
  }
  rf__antichain upper;
  rf__antichain_init(&upper, s->dim);
  if (rf__grow((void **)&s->pending, &s->pending_cap, s->n_pending + 1, sizeof *s->pending) < 0 ||
      rf__antichain_copy(&upper, &b->upper) < 0) {
    rf__antichain_free(&upper);
    rf__batch_unref(b);
    return rf__error(RF_ENOMEM, "rf__spine_insert: out of memory");
  }
  s->pending[s->n_pending++] = b;
  size_t credit = IDLE_CREDIT * b->n_upds;
  s->idle_credit = SIZE_MAX - s->idle_credit < credit ? SIZE_MAX : s->idle_credit + credit;
  rf__antichain_free(&s->upper);
  s->upper = upper;
  RF_FORWARD_IF_ERROR(refresh_frontiers(s));
  return publish(s);
}

const rf__antichain *rf__spine_upper(const rf__spine *s) { return &s->upper; }
const rf__antichain *rf__spine_since(const rf__spine *s) { return &s->since; }

/* Calls fn on every batch held, in time order (merge inputs included). */
static void each_batch(const rf__spine *s, void (*fn)(void *, rf__batch *), void *ctx) {
  for (uint32_t i = s->n_levels; i-- > 0;) {
    const level *L = &s->levels[i];
    if (L->a) fn(ctx, L->a);
    if (L->b) fn(ctx, L->b);
  }
  for (size_t i = 0; i < s->n_pending; i++) fn(ctx, s->pending[i]);
}

static void count_updates(void *ctx, rf__batch *b) { *(size_t *)ctx += b->n_upds; }
static void count_batch(void *ctx, rf__batch *b) { ++*(size_t *)ctx; }
static void count_bytes(void *ctx, rf__batch *b) { *(size_t *)ctx += rf__batch_bytes(b); }

size_t rf__spine_updates(const rf__spine *s) {
  size_t n = 0;
  each_batch(s, count_updates, &n);
  return n;
}

size_t rf__spine_batches(const rf__spine *s) {
  size_t n = 0;
  each_batch(s, count_batch, &n);
  return n;
}

/* Batch arrays, plus the arrays merges in progress have reserved. */
size_t rf__spine_bytes(const rf__spine *s) {
  size_t n = 0;
  each_batch(s, count_bytes, &n);
  for (uint32_t i = 0; i < s->n_levels; i++)
    if (s->levels[i].m) n += rf__merge_bytes(s->levels[i].m);
  return n;
}

rf__reader *rf__spine_reader_new(rf__spine *s) {
  rf__reader *r = rf__calloc(1, sizeof *r);
  if (!r) return NULL;
  r->s = s;
  rf__antichain_init(&r->logical, s->dim);
  rf__antichain_init(&r->physical, s->dim);
  /* The spine's physical frontier must take the new reader in before it
   * is handed out, or later batches could merge past it. */
  rf__antichain phys;
  rf__antichain_init(&phys, s->dim);
  if (rf__antichain_copy(&r->logical, &s->since) < 0 ||
      rf__antichain_copy(&r->physical, &s->since) < 0 ||
      rf__grow((void **)&s->readers, &s->readers_cap, s->n_readers + 1, sizeof *s->readers) < 0 ||
      rf__antichain_meet(s->n_readers ? &s->physical : &s->since, &s->since, &phys) < 0) {
    rf__antichain_free(&phys);
    rf__antichain_free(&r->logical);
    rf__antichain_free(&r->physical);
    rf__free(r);
    return NULL;
  }
  s->readers[s->n_readers++] = r;
  rf__antichain_free(&s->physical);
  s->physical = phys;
  return r;
}

void rf__reader_free(rf__reader *r) {
  if (!r) return;
  rf__spine *s = r->s;
  for (size_t i = 0; i < s->n_readers; i++) {
    if (s->readers[i] != r) continue;
    s->readers[i] = s->readers[--s->n_readers];
    break;
  }
  rf__antichain_free(&r->logical);
  rf__antichain_free(&r->physical);
  rf__free(r);
  /* Dropping a reader only lets the frontiers advance; if that fails for
   * lack of memory they stay where they were, which is safe, and the next
   * refresh retries. */
  (void)refresh_frontiers(s);
}

rf__spine *rf__reader_spine(const rf__reader *r) { return r->s; }

static int set_frontier(rf__reader *r, rf__antichain *cur, const rf__antichain *f,
                        const char *what) {
  RF_RETURN_ERROR_IF(f->dim != cur->dim || !rf__antichain_dominates(cur, f), RF_EINVAL,
                     "rf__reader_set_%s: the new frontier is not in advance of the old", what);
  RF_RETURN_ERROR_IF(rf__antichain_copy(cur, f) < 0, RF_ENOMEM,
                     "rf__reader_set_%s: out of memory", what);
  RF_FORWARD_IF_ERROR(refresh_frontiers(r->s));
  return publish(r->s);
}

int rf__reader_set_logical(rf__reader *r, const rf__antichain *f) {
  return set_frontier(r, &r->logical, f, "logical");
}

int rf__reader_set_physical(rf__reader *r, const rf__antichain *f) {
  return set_frontier(r, &r->physical, f, "physical");
}

/* ---- cursors ------------------------------------------------------------ */

typedef struct through_ctx {
  const rf__antichain *through;
  rf__batch **out;
  uint32_t n;
  bool straddles;
} through_ctx;

/* Keeps b if it lies before `through`; notes a non-empty b cut by it. */
static void pick_through(void *ctx, rf__batch *b) {
  through_ctx *t = ctx;
  if (!t->through || rf__antichain_dominates(&b->upper, t->through)) {
    if (b->n_upds > 0) t->out[t->n++] = b;
  } else if (!rf__antichain_dominates(t->through, &b->lower) && b->n_upds > 0) {
    t->straddles = true;
  }
}

/* The batches a cursor or seeker through `through` reads (see
 * rf__reader_cursor), into a new array *out (the caller frees it). */
static int batches_through(rf__reader *r, const rf__antichain *through, rf__batch ***out,
                           uint32_t *n) {
  rf__spine *s = r->s;
  through_ctx t = {through, rf__malloc((rf__spine_batches(s) + 1) * sizeof(rf__batch *)), 0,
                   false};
  RF_CHECK_ALLOC(t.out);
  each_batch(s, pick_through, &t);
  if (t.straddles) {
    rf__free(t.out);
    return rf__error(RF_ESTATE, "rf__reader_cursor: `through` falls inside a batch (is it "
                                "before the reader's physical frontier?)");
  }
  *out = t.out;
  *n = t.n;
  return 0;
}

int rf__reader_cursor(rf__reader *r, const rf__antichain *through, rf__cursor *out) {
  rf__batch **list;
  uint32_t n;
  RF_FORWARD_IF_ERROR(batches_through(r, through, &list, &n));
  int rc = rf__cursor_init(out, list, n);
  rf__free(list);
  return rc;
}

int rf__reader_seeker(rf__reader *r, const rf__antichain *through, rf__seeker *out) {
  rf__batch **list;
  uint32_t n;
  RF_FORWARD_IF_ERROR(batches_through(r, through, &list, &n));
  int rc = rf__seeker_init(out, list, n);
  rf__free(list);
  return rc;
}

/*
 * merge_board.c: the slots through which workers hand merges to idle
 * workers (see merge_board.h).
 *
 * Design
 *
 *   Offering scans for an empty slot and claims it with a compare-and-swap
 *   (release: the merge's setup is visible to the taker). The merge notes
 *   the slot first, so that its owner can withdraw it once it finished it
 *   itself, and the board does not fill up with merges nobody needs.
 *
 *   Taking scans every slot for the least work left (a hint stored beside
 *   the slot) and exchanges that slot with NULL (acquire): exactly one
 *   taker gets each offer, with the board's reference; one that finds the
 *   slot already emptied looks again. A taker never reads a merge before
 *   it owns that reference, so a slot reused for a new merge at the same
 *   address is harmless, and a stale hint only picks a worse merge.
 */
#include "arrangements/merge_board.h"

#include "common/alloc.h"
#include "common/atomic.h"
#include "common/error.h"

struct rf__merge_board {
  uint32_t n;
  rf__merge **slot; /* atomic: NULL or an offered merge's reference */
  /* Atomic, relaxed: the updates the slot's merge had left when it was
   * placed (rf__merge_left); a hint for picking the smallest, which may
   * belong to the slot's previous merge. */
  uint64_t *left;
};

rf__merge_board *rf__merge_board_new(uint32_t slots) {
  if (slots == 0) slots = 1;
  rf__merge_board *b = rf__calloc(1, sizeof *b);
  if (b) b->slot = rf__calloc(slots, sizeof *b->slot);
  if (b) b->left = rf__calloc(slots, sizeof *b->left);
  if (!b || !b->slot || !b->left) {
    rf__merge_board_free(b);
    rf__error(RF_ENOMEM, "merge board: out of memory");
    return NULL;
  }
  b->n = slots;
  return b;
}

void rf__merge_board_free(rf__merge_board *b) {
  if (!b) return;
  for (uint32_t i = 0; b->slot && i < b->n; i++) rf__merge_unref(b->slot[i]);
  rf__free(b->slot);
  rf__free(b->left);
  rf__free(b);
}

/* Puts m (a reference the caller gives up) in an empty slot; false if
 * none is empty. */
static bool place(rf__merge_board *b, rf__merge *m) {
  /* Read before the slot is filled: from then on a taker may finish and
   * free m. */
  uint64_t left = rf__merge_left(m);
  for (uint32_t i = 0; i < b->n; i++) {
    if (rf__atomic_load_relaxed_ptr(&b->slot[i])) continue;
    rf__merge_set_slot(m, i); /* before: once placed, m may be freed */
    if (!rf__atomic_cas_ptr(&b->slot[i], NULL, m)) continue;
    rf__atomic_store_relaxed_64(&b->left[i], left);
    return true;
  }
  return false;
}

void rf__merge_board_withdraw(rf__merge_board *b, rf__merge *m) {
  /* The caller's own reference keeps m alive, so no other merge can be
   * at its address: a slot that still holds m holds the board's
   * reference to this merge. */
  uint32_t i = rf__merge_slot(m);
  if (i < b->n && rf__atomic_cas_ptr(&b->slot[i], m, NULL)) rf__merge_unref(m);
}

bool rf__merge_board_offer(rf__merge_board *b, rf__merge *m) {
  if (place(b, rf__merge_ref(m))) return true;
  rf__merge_unref(m);
  return false;
}

bool rf__merge_board_has_room(const rf__merge_board *b) {
  for (uint32_t i = 0; i < b->n; i++)
    if (!rf__atomic_load_relaxed_ptr(&b->slot[i])) return true;
  return false;
}

/* Takes the offered merge with the least work left (by the hints), with
 * the board's reference; NULL if none is offered. */
static rf__merge *take_smallest(rf__merge_board *b) {
  for (;;) {
    uint32_t best = b->n;
    uint64_t least = UINT64_MAX;
    for (uint32_t i = 0; i < b->n; i++) {
      if (!rf__atomic_load_relaxed_ptr(&b->slot[i])) continue;
      uint64_t left = rf__atomic_load_relaxed_64(&b->left[i]);
      if (left < least || best == b->n) best = i, least = left;
    }
    if (best == b->n) return NULL;
    rf__merge *m = rf__atomic_fas_ptr(&b->slot[best], NULL);
    if (m) return m;
    /* Another helper took it first: look again. */
  }
}

int rf__merge_board_help(rf__merge_board *b, rf__merge **held, size_t fuel) {
  int worked = 0;
  while (fuel > 0) {
    if (!*held && !(*held = take_smallest(b))) break;
    size_t before = fuel;
    int rc = rf__merge_work(*held, &fuel);
    worked |= fuel < before;
    if (rc == RF_MERGE_MORE) break; /* fuel spent */
    if (rc == RF_MERGE_BUSY) {      /* its owner is in a slice: leave it */
      rf__merge_board_return(b, held);
      break;
    }
    /* Done (by this slice or its owner), or failed: the owner has it. */
    rf__merge_unref(*held);
    *held = NULL;
    if (rc < 0) break;
  }
  return worked;
}

void rf__merge_board_return(rf__merge_board *b, rf__merge **held) {
  if (*held && place(b, *held)) *held = NULL;
}

/*
 * epoch.h: epoch-based reclamation (concurrencykit's ck_epoch) for data that
 * threads read without locks while one thread replaces it: the published
 * batch lists of arrangements that live views read from any thread.
 *
 * One epoch domain for the process. Each thread that reads or retires gets
 * its own ck_epoch record, registered on first use and returned (after its
 * pending frees are done) when the thread exits.
 *
 * Readers: rf__epoch_enter(); load the published pointer and take what you
 * need (e.g. batch references); rf__epoch_exit(). Writers: publish the new
 * pointer, then rf__epoch_retire(old): its free function runs once no
 * reader that could have seen it is still inside.
 *
 * ThreadSanitizer: ck_epoch's own synchronisation (ck_pr, partly inside
 * libck) is invisible to TSan, so it would take a reader's accesses inside
 * a section and the deferred free of what it read for a race. Under
 * __SANITIZE_THREAD__ epoch.c therefore tells TSan about the edge that
 * ck_epoch guarantees: every section's exit releases, and every deferred
 * free function acquires, one synchronisation object just before it runs.
 * Free functions are therefore always run through epoch.c's trampoline
 * (rf__epoch_entry carries the real one).
 */
#ifndef RF_COMMON_EPOCH_H
#define RF_COMMON_EPOCH_H

#include <ck_epoch.h>

/* Embed in an object retired through the epoch domain. */
typedef struct rf__epoch_entry {
  ck_epoch_entry_t ck; /* first: epoch.c converts back */
  void (*fn)(struct rf__epoch_entry *);
} rf__epoch_entry;

typedef struct rf__epoch_section {
  ck_epoch_record_t *record;
  ck_epoch_section_t section;
} rf__epoch_section;

/* Any thread. Returns 0 or RF_ENOMEM (the thread could not get a record). */
int rf__epoch_enter(rf__epoch_section *s);
void rf__epoch_exit(rf__epoch_section *s);
/* Any thread: frees `entry`'s object with fn once it is safe; runs the frees
 * that became safe meanwhile. Returns 0 or RF_ENOMEM. */
int rf__epoch_retire(rf__epoch_entry *entry, void (*fn)(rf__epoch_entry *));
/* Any thread: waits until every reader inside now has left, then runs every
 * free this thread retired. */
int rf__epoch_barrier(void);

#endif

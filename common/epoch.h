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
 */
#ifndef RF_COMMON_EPOCH_H
#define RF_COMMON_EPOCH_H

#include <ck_epoch.h>

typedef struct rf__epoch_section {
  ck_epoch_record_t *record;
  ck_epoch_section_t section;
} rf__epoch_section;

/* Any thread. Returns 0 or RF_ENOMEM (the thread could not get a record). */
int rf__epoch_enter(rf__epoch_section *s);
void rf__epoch_exit(rf__epoch_section *s);
/* Any thread: frees `entry`'s object with fn once it is safe; runs the frees
 * that became safe meanwhile. Returns 0 or RF_ENOMEM. */
int rf__epoch_retire(ck_epoch_entry_t *entry, ck_epoch_cb_t *fn);
/* Any thread: waits until every reader inside now has left, then runs every
 * free this thread retired. */
int rf__epoch_barrier(void);

#endif
